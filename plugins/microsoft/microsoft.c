/* microsoft.c — the "microsoft" OAuth plugin: Microsoft identity platform
 * v2.0. The directory tenant is part of the URL ({tenant}: common by
 * default, or organizations / consumers / a tenant GUID from the client
 * parameter "tenant"); offline_access is always requested so a refresh
 * token is issued (a new one comes with each refresh); response_mode=query;
 * client_secret_post; PKCE S256. No RFC 7009 revocation endpoint. AADSTS
 * codes stay in error_description. */
#include "../oauth_kit/oauth_kit.h"

static const char *const PROVIDERS[] = {"microsoft", NULL};
static const char *const AUTHZ_EXTRA[] = {"response_mode", "query", NULL};

static const kit_profile_t PROFILE = {
    .authorize_url = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize",
    .token_url = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
    .scope = "offline_access User.Read",
    .scope_separator = " ",
    .token_auth_method = "client_secret_post",
    .body_format = "form",
    .pkce = "S256",
    .tenant = "common",
    .authorize_extra = AUTHZ_EXTRA,
};

KIT_PROFILE_HOOKS(PROFILE)

/* offline_access is added whatever scopes were configured. */
static int authorize(const tq_plugin_kv_t *p, size_t n, tq_plugin_output_t *out, char *errbuf,
                     size_t errlen)
{
    const char *scope = kit_get(p, n, "scope");
    if (scope && strstr(scope, "offline_access"))
        return kit_build_authorize_url(p, n, out, errbuf, errlen);
    tq_plugin_kv_t *q = calloc(n + 1, sizeof *q);
    if (!q) return kit_fail(errbuf, errlen, "out of memory");
    tq_plugin_buf_t s = {0};
    tq_plugin_buf_adds(&s, "offline_access");
    if (scope && *scope) {
        tq_plugin_buf_adds(&s, " ");
        tq_plugin_buf_adds(&s, scope);
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!p[i].name || strcmp(p[i].name, "scope")) q[m++] = p[i];
    q[m++] = (tq_plugin_kv_t){"scope", s.data ? s.data : ""};
    int rc = s.oom ? kit_fail(errbuf, errlen, "out of memory")
                   : kit_build_authorize_url(q, m, out, errbuf, errlen);
    tq_plugin_buf_wipe(&s);
    free(q);
    return rc;
}

KIT_PLUGIN("microsoft", "1.0.0", PROVIDERS, kit_apply_bearer, defaults, authorize,
           kit_build_token_request, parse, NULL, NULL, NULL)
