/* basic.c — the "basic" auth plugin: Authorization: Basic
 * base64(username:password) (RFC 7617). Credential fields: username,
 * password (may be empty). A username containing ':' is refused. */
#include "toolq/plugin.h"

#include <openssl/evp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const PROVIDERS[] = {"*", NULL};
static const char *const TYPES[] = {"basic", NULL};

static int apply_auth(const tq_plugin_request_t *req, const tq_plugin_credential_t *cred,
                      tq_plugin_request_edit_t *out, char *errbuf, size_t errlen)
{
    (void)req;
    const char *user = tq_plugin_field(cred, "username");
    const char *pass = tq_plugin_field(cred, "password");
    if (!user || !*user) {
        snprintf(errbuf, errlen, "credential field 'username' is missing or empty");
        return -1;
    }
    if (strchr(user, ':')) {
        snprintf(errbuf, errlen, "credential field 'username' must not contain ':'");
        return -1;
    }
    pass = pass ? pass : "";
    size_t plain_len = strlen(user) + 1 + strlen(pass);
    size_t value_len = sizeof "Basic " + 4 * ((plain_len + 2) / 3);
    char *plain = malloc(plain_len + 1), *value = malloc(value_len);
    int rc = -1;
    if (!plain || !value || plain_len > 0x3fffffff) {
        snprintf(errbuf, errlen, "out of memory");
        goto done;
    }
    snprintf(plain, plain_len + 1, "%s:%s", user, pass);
    memcpy(value, "Basic ", 6);
    EVP_EncodeBlock((unsigned char *)value + 6, (const unsigned char *)plain, (int)plain_len);
    rc = out->set_header(out, "Authorization", value);
    if (rc != 0) snprintf(errbuf, errlen, "cannot set the Authorization header");
done:
    if (plain) explicit_bzero(plain, plain_len);
    if (value) explicit_bzero(value, value_len);
    free(plain);
    free(value);
    return rc;
}

static const tq_plugin_t PLUGIN = {
    .abi_version = TQ_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(tq_plugin_t),
    .id = "basic",
    .version = "1.0.0",
    .providers = PROVIDERS,
    .credential_types = TYPES,
    .apply_auth = apply_auth,
};

TQ_PLUGIN_EXPORT const tq_plugin_t *toolq_plugin_entry(void)
{
    return &PLUGIN;
}
