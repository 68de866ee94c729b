/* github.c — the "github" OAuth plugin: github.com/login/oauth endpoints,
 * Accept: application/json on the token request (else GitHub answers
 * form-encoded, which is parsed too), errors inside HTTP 200
 * (bad_verification_code -> invalid_grant, bad_refresh_token ->
 * invalid_grant, incorrect_client_credentials -> invalid_client ...),
 * comma-separated scopes, client_secret_post, PKCE S256. OAuth App tokens
 * never expire (no expires_in, no refresh token); GitHub App user tokens
 * expire in 8 h with a rotating refresh token (refresh_token_expires_in).
 * Revocation: DELETE api.github.com/applications/{client_id}/grant with
 * Basic client authentication and {"access_token": ...}. */
#include "../oauth_kit/oauth_kit.h"

static const char *const PROVIDERS[] = {"github", NULL};
static const char *const ERRORS[] = {"bad_verification_code",
                                     "invalid_grant",
                                     "bad_refresh_token",
                                     "invalid_grant",
                                     "incorrect_client_credentials",
                                     "invalid_client",
                                     "redirect_uri_mismatch",
                                     "invalid_request",
                                     "unverified_user_email",
                                     "access_denied",
                                     "application_suspended",
                                     "unauthorized_client",
                                     NULL};

static const kit_profile_t PROFILE = {
    .authorize_url = "https://github.com/login/oauth/authorize",
    .token_url = "https://github.com/login/oauth/access_token",
    .revocation_url = "https://api.github.com/applications/{client_id}/grant",
    .scope_separator = ",",
    .token_auth_method = "client_secret_post",
    .body_format = "form",
    .pkce = "S256",
    .error_map = ERRORS,
};

KIT_PROFILE_HOOKS(PROFILE)

static int revoke(const tq_plugin_kv_t *p, size_t n, tq_plugin_output_t *out, char *errbuf,
                  size_t errlen)
{
    const char *url = kit_get_nonempty(p, n, "revocation_url");
    const char *token = kit_get_nonempty(p, n, "token");
    const char *hint = kit_get(p, n, "token_type_hint");
    if (!url || !token) return kit_fail(errbuf, errlen, "nothing to revoke");
    if (hint && !strcmp(hint, "refresh_token"))
        return kit_fail(errbuf, errlen, "GitHub revokes the grant through its access token");
    tq_plugin_kv_t *q = calloc(n + 1, sizeof *q);
    if (!q) return kit_fail(errbuf, errlen, "out of memory");
    memcpy(q, p, n * sizeof *q);
    q[n] = (tq_plugin_kv_t){"token_auth_method", "client_secret_basic"};
    /* first match wins in kit_get: put the override first */
    tq_plugin_kv_t tmp = q[n];
    memmove(q + 1, q, n * sizeof *q);
    q[0] = tmp;
    json_t *f = json_object();
    tq_plugin_buf_t u = {0};
    int rc = kit_url_template(&u, url, q, n + 1, errbuf, errlen);
    if (!rc) rc = kit_client_auth(q, n + 1, f, out, errbuf, errlen);
    json_decref(f);
    free(q);
    json_t *body = json_pack("{s:s}", "access_token", token);
    if (!rc)
        rc = kit_put(out, "method", "DELETE") || kit_put(out, "url", u.data) ||
             kit_put(out, "header", "Accept: application/vnd.github+json") ||
             kit_put_body(body, "json", out, errbuf, errlen);
    kit_wipe_json(body);
    tq_plugin_buf_wipe(&u);
    return rc ? -1 : 0;
}

KIT_PLUGIN("github", "1.0.0", PROVIDERS, kit_apply_bearer, defaults, kit_build_authorize_url,
           kit_build_token_request, parse, revoke, NULL, NULL)
