/* slack.c — the "slack" OAuth plugin (OAuth v2, oauth.v2.access): comma-
 * separated scopes (bot scopes in scope, user scopes in user_scope), no
 * PKCE, client_secret_post. Errors come as HTTP 200 {"ok": false, "error"}
 * and are mapped to RFC 6749 codes (invalid_refresh_token -> invalid_grant,
 * bad_client_secret -> invalid_client ...). The bot token (xoxb-) is on top;
 * a user-only install has its token under authed_user. Refresh (token
 * rotation enabled) uses the same endpoint and returns a new refresh token.
 * Keeps team.id, team.name, enterprise.id, bot_user_id, app_id and
 * authed_user.id as metadata (never the incoming webhook URL: a secret).
 * Revocation: auth.revoke with the token. */
#include "../oauth_kit/oauth_kit.h"

static const char *const PROVIDERS[] = {"slack", NULL};
static const char *const META[] = {
    "team.id", "team.name",      "enterprise.id",         "bot_user_id",
    "app_id",  "authed_user.id", "is_enterprise_install", NULL};
static const char *const ERRORS[] = {"invalid_refresh_token",
                                     "invalid_grant",
                                     "invalid_code",
                                     "invalid_grant",
                                     "code_already_used",
                                     "invalid_grant",
                                     "code_expired",
                                     "invalid_grant",
                                     "token_revoked",
                                     "invalid_grant",
                                     "token_expired",
                                     "invalid_grant",
                                     "invalid_client_id",
                                     "invalid_client",
                                     "bad_client_secret",
                                     "invalid_client",
                                     "invalid_grant_type",
                                     "unsupported_grant_type",
                                     "bad_redirect_uri",
                                     "invalid_request",
                                     "ratelimited",
                                     "temporarily_unavailable",
                                     "internal_error",
                                     "temporarily_unavailable",
                                     "fatal_error",
                                     "temporarily_unavailable",
                                     "service_unavailable",
                                     "temporarily_unavailable",
                                     NULL};

static const kit_profile_t PROFILE = {
    .authorize_url = "https://slack.com/oauth/v2/authorize",
    .token_url = "https://slack.com/api/oauth.v2.access",
    .revocation_url = "https://slack.com/api/auth.revoke",
    .scope_separator = ",",
    .token_auth_method = "client_secret_post",
    .body_format = "form",
    .pkce = "none",
    .nested_token_path = "authed_user",
    .meta_paths = META,
    .ok_field = 1,
    .error_map = ERRORS,
};

KIT_PROFILE_HOOKS(PROFILE)

/* user_scope (comma-joined) beside scope. */
static int authorize(const tq_plugin_kv_t *p, size_t n, tq_plugin_output_t *out, char *errbuf,
                     size_t errlen)
{
    const char *us = kit_get_nonempty(p, n, "user_scope");
    if (!us) return kit_build_authorize_url(p, n, out, errbuf, errlen);
    tq_plugin_kv_t *q = calloc(n + 1, sizeof *q);
    if (!q) return kit_fail(errbuf, errlen, "out of memory");
    tq_plugin_buf_t s = {0};
    kit_scope_join(&s, us, ",");
    memcpy(q, p, n * sizeof *q);
    q[n] = (tq_plugin_kv_t){"authorize.user_scope", s.data ? s.data : ""};
    int rc = s.oom ? kit_fail(errbuf, errlen, "out of memory")
                   : kit_build_authorize_url(q, n + 1, out, errbuf, errlen);
    tq_plugin_buf_wipe(&s);
    free(q);
    return rc;
}

/* auth.revoke takes the token itself as the credential. */
static int revoke(const tq_plugin_kv_t *p, size_t n, tq_plugin_output_t *out, char *errbuf,
                  size_t errlen)
{
    const char *url = kit_get_nonempty(p, n, "revocation_url");
    const char *token = kit_get_nonempty(p, n, "token");
    if (!url || !token) return kit_fail(errbuf, errlen, "nothing to revoke");
    json_t *f = json_object();
    json_object_set_new(f, "token", json_string(token));
    int rc = kit_put(out, "method", "POST") || kit_put(out, "url", url) ||
             kit_put_body(f, "form", out, errbuf, errlen);
    kit_wipe_json(f);
    return rc ? -1 : 0;
}

KIT_PLUGIN("slack", "1.0.0", PROVIDERS, kit_apply_bearer, defaults, authorize,
           kit_build_token_request, parse, revoke, NULL, NULL)
