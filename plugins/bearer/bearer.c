/* bearer.c — the "bearer" auth plugin: Authorization: Bearer <token>
 * (RFC 6750). Credential fields: token. Never echoes the token in errors. */
#include "toolq/plugin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const PROVIDERS[] = {"*", NULL};
static const char *const TYPES[] = {"bearer", NULL};

static int apply_auth(const tq_plugin_request_t *req, const tq_plugin_credential_t *cred,
                      tq_plugin_request_edit_t *out, char *errbuf, size_t errlen)
{
    (void)req;
    const char *token = tq_plugin_field(cred, "token");
    if (!token || !*token) {
        snprintf(errbuf, errlen, "credential field 'token' is missing or empty");
        return -1;
    }
    size_t n = strlen(token) + sizeof "Bearer ";
    char *value = malloc(n);
    if (!value) {
        snprintf(errbuf, errlen, "out of memory");
        return -1;
    }
    snprintf(value, n, "Bearer %s", token);
    int rc = out->set_header(out, "Authorization", value);
    explicit_bzero(value, n);
    free(value);
    if (rc != 0) snprintf(errbuf, errlen, "the token contains characters not allowed in a header");
    return rc;
}

static const tq_plugin_t PLUGIN = {
    .abi_version = TQ_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(tq_plugin_t),
    .id = "bearer",
    .version = "1.0.0",
    .providers = PROVIDERS,
    .credential_types = TYPES,
    .apply_auth = apply_auth,
};

TQ_PLUGIN_EXPORT const tq_plugin_t *toolq_plugin_entry(void)
{
    return &PLUGIN;
}
