/* aws_sigv4.c — the "aws_sigv4" auth plugin: signs requests with AWS
 * Signature Version 4 (sigv4.c). Credential fields: access_key_id,
 * secret_access_key, session_token (optional), region, service,
 * content_sha256 ("true"/"false"; default true for s3 only).
 * Sets X-Amz-Date, X-Amz-Security-Token, X-Amz-Content-Sha256 and
 * Authorization. Also exports toolq_aws_sigv4_explain() so tests can compare
 * the canonical request and string to sign with AWS's published vectors. */
#include "sigv4.h"

#include <stdio.h>
#include <string.h>

static const char *const PROVIDERS[] = {"*", NULL};
static const char *const TYPES[] = {"aws_sigv4", NULL};

static int read_key(const tq_plugin_credential_t *cred, tq_sigv4_key_t *key, char *errbuf,
                    size_t errlen)
{
    static const char *required[] = {"access_key_id", "secret_access_key", "region", "service"};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        const char *v = tq_plugin_field(cred, required[i]);
        if (!v || !*v) {
            snprintf(errbuf, errlen, "credential field '%s' is missing or empty", required[i]);
            return -1;
        }
    }
    key->access_key_id = tq_plugin_field(cred, "access_key_id");
    key->secret_access_key = tq_plugin_field(cred, "secret_access_key");
    key->region = tq_plugin_field(cred, "region");
    key->service = tq_plugin_field(cred, "service");
    key->session_token = tq_plugin_field(cred, "session_token");
    if (key->session_token && !*key->session_token) key->session_token = NULL;
    const char *sha = tq_plugin_field(cred, "content_sha256");
    if (!sha || !*sha)
        key->content_sha256 = strcmp(key->service, "s3") == 0;
    else if (strcmp(sha, "true") == 0 || strcmp(sha, "false") == 0)
        key->content_sha256 = strcmp(sha, "true") == 0;
    else {
        snprintf(errbuf, errlen, "credential field 'content_sha256' must be true or false");
        return -1;
    }
    return 0;
}

static int apply_auth(const tq_plugin_request_t *req, const tq_plugin_credential_t *cred,
                      tq_plugin_request_edit_t *out, char *errbuf, size_t errlen)
{
    tq_sigv4_key_t key;
    tq_sigv4_t sig;
    if (read_key(cred, &key, errbuf, errlen) != 0 ||
        tq_sigv4_sign(req, &key, &sig, errbuf, errlen) != 0)
        return -1;
    int rc = out->set_header(out, "X-Amz-Date", sig.amz_date);
    if (rc == 0 && key.session_token)
        rc = out->set_header(out, "X-Amz-Security-Token", key.session_token);
    if (rc == 0 && key.content_sha256)
        rc = out->set_header(out, "X-Amz-Content-Sha256", sig.payload_hash);
    if (rc == 0) rc = out->set_header(out, "Authorization", sig.authorization);
    if (rc != 0)
        snprintf(errbuf, errlen, "a signed header was refused (CR/LF in a credential field?)");
    tq_sigv4_clear(&sig);
    return rc;
}

/* Test hook: the intermediate strings for cred and req. Returns 0, or -1
 * with errbuf set (also when a buffer is too small). */
TQ_PLUGIN_EXPORT int toolq_aws_sigv4_explain(const tq_plugin_request_t *req,
                                             const tq_plugin_credential_t *cred, char *creq,
                                             size_t creq_len, char *sts, size_t sts_len,
                                             char *authz, size_t authz_len, char *errbuf,
                                             size_t errlen);

int toolq_aws_sigv4_explain(const tq_plugin_request_t *req, const tq_plugin_credential_t *cred,
                            char *creq, size_t creq_len, char *sts, size_t sts_len, char *authz,
                            size_t authz_len, char *errbuf, size_t errlen)
{
    tq_sigv4_key_t key;
    tq_sigv4_t sig;
    if (read_key(cred, &key, errbuf, errlen) != 0 ||
        tq_sigv4_sign(req, &key, &sig, errbuf, errlen) != 0)
        return -1;
    int fits = (size_t)snprintf(creq, creq_len, "%s", sig.canonical_request) < creq_len &&
               (size_t)snprintf(sts, sts_len, "%s", sig.string_to_sign) < sts_len &&
               (size_t)snprintf(authz, authz_len, "%s", sig.authorization) < authz_len;
    tq_sigv4_clear(&sig);
    if (!fits) snprintf(errbuf, errlen, "output buffer too small");
    return fits ? 0 : -1;
}

static const tq_plugin_t PLUGIN = {
    .abi_version = TQ_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(tq_plugin_t),
    .id = "aws_sigv4",
    .version = "1.0.0",
    .providers = PROVIDERS,
    .credential_types = TYPES,
    .apply_auth = apply_auth,
};

TQ_PLUGIN_EXPORT const tq_plugin_t *toolq_plugin_entry(void)
{
    return &PLUGIN;
}
