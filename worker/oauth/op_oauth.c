/* op_oauth.c — the OAuth ops (docs/oauth.md):
 *   oauth.system_client.set|show|delete {plugin, provider, client_id?,
 *     client_secret?, params?{}}            (vault scope "*system*")
 *   oauth.tenant_client.set|show|enable|disable|delete {plugin, provider, ...}
 *   oauth.client {plugin, provider}         resolved config (masked) + tier
 *   oauth.authorize {plugin, provider, credential_name?, scopes?, headless?}
 *                                           -> {start_url, expires_in}, or headless
 *                                              {authorization_url, binding, ...}
 *   oauth.exchange {state, binding, code?, iss?, error?, error_description?}
 *                                           -> the stored oauth2 credential
 *   oauth.client_credentials {plugin, provider, credential_name?, scopes?}
 * Params are masked on every read; no token, code, state or secret ever
 * reaches a result, an error or a log line. oauth.exchange takes its tenant
 * from the state (the HTTP listener may submit it under any tenant). */
#include "op.h"

#include <stdlib.h>
#include <string.h>

#include "oauth/oauth_client.h"
#include "oauth/oauth_cred.h"
#include "oauth/oauth_plugin.h"
#include "oauth/oauth_state.h"
#include "oauth/oauth_token.h"
#include "plugin/plugin_host.h"
#include "mem.h"

static void fail_err(tq_job_t *job, const tq_error_t *err)
{
    tq_job_fail_err(job, err, tq_error_retryable(err->code));
}

/* plugin + provider from the payload; provider defaults to the plugin id. */
static const tq_plugin_t *need_plugin(tq_job_t *job, const char **provider)
{
    /* plugin required, both at most 255 characters: the op's schema */
    const char *id = tq_job_arg_str(job, "plugin");
    *provider = tq_job_arg_str(job, "provider");
    if (!*provider) *provider = id;
    const tq_plugin_t *p = tq_plugin_host_find(tq_job_plugins(job), id);
    if (!p || !tq_oauth_plugin_supported(p)) {
        char msg[400];
        snprintf(msg, sizeof msg, "no loaded OAuth plugin %s (see toolq plugins)", id);
        tq_job_fail(job, "unknown_plugin", msg, false);
        return NULL;
    }
    return p;
}

/* client_id, client_secret and params{} of the payload as one update. */
static json_t *client_update(tq_job_t *job)
{
    json_t *u = json_object();
    json_t *params = tq_job_arg(job, "params");
    const char *k;
    json_t *v;
    json_object_foreach(params, k, v)
    {
        if (json_is_string(v) || json_is_null(v)) json_object_set(u, k, v);
    }
    static const char *const top[] = {"client_id",
                                      "client_secret",
                                      "authorization_url",
                                      "authorize_url",
                                      "token_url",
                                      "revocation_url",
                                      "issuer",
                                      "scopes",
                                      "redirect_uri",
                                      NULL};
    for (int i = 0; top[i]; i++) {
        json_t *t = tq_job_arg(job, top[i]);
        if (json_is_string(t)) json_object_set(u, top[i], t);
    }
    return u;
}

static void client_op(tq_job_t *job, int system, const char *action)
{
    const char *provider;
    const tq_plugin_t *p = need_plugin(job, &provider);
    if (!p) return;
    tq_error_t err = {0};
    PGconn *db = tq_job_db(job, &err);
    tq_vault_t *vault = db ? tq_job_vault(job, &err) : NULL;
    if (!vault) {
        fail_err(job, &err);
        return;
    }
    const char *tenant = system ? NULL : tq_job_tenant_uuid(job);
    json_t *params = NULL;
    int enabled = 1;
    if (!strcmp(action, "set")) {
        json_t *u = client_update(job);
        json_t *en = tq_job_arg(job, "enabled");
        if (tq_oauth_client_check_params(p, system, u, &err) == 0)
            params = tq_oauth_client_set(db, vault, tenant, p->id, provider, u,
                                         json_is_boolean(en) ? json_is_true(en) : -1, &err);
        json_decref(u);
        if (params && tenant) { /* only for enabled: the params are the ones above */
            json_t *again = tq_oauth_client_get(db, vault, tenant, p->id, provider, &enabled, NULL);
            tq_oauth_json_wipe(again);
            json_decref(again);
        }
    } else if (!strcmp(action, "show")) {
        params = tq_oauth_client_get(db, vault, tenant, p->id, provider, &enabled, &err);
    } else if (!strcmp(action, "enable") || !strcmp(action, "disable")) {
        enabled = !strcmp(action, "enable");
        if (tq_oauth_client_set_enabled(db, tenant, p->id, provider, enabled, &err) == 0)
            params = tq_oauth_client_get(db, vault, tenant, p->id, provider, &enabled, &err);
    } else { /* delete */
        if (tq_oauth_client_delete(db, tenant, p->id, provider, &err)) {
            fail_err(job, &err);
            return;
        }
        tq_job_done(job, json_pack("{s:s,s:s,s:s,s:b}", "tier", system ? "system" : "tenant",
                                   "plugin", p->id, "provider", provider, "deleted", 1));
        return;
    }
    if (!params) {
        fail_err(job, &err);
        return;
    }
    json_t *res = json_pack("{s:s,s:s,s:s,s:o}", "tier", system ? "system" : "tenant", "plugin",
                            p->id, "provider", provider, "params", tq_oauth_params_mask(params));
    if (!system) json_object_set_new(res, "enabled", json_boolean(enabled));
    tq_oauth_json_wipe(params);
    json_decref(params);
    tq_job_done(job, res);
}

#define CLIENT_OP(fn, sys, act)                                                                    \
    static void fn(tq_job_t *job)                                                                  \
    {                                                                                              \
        client_op(job, sys, act);                                                                  \
    }
CLIENT_OP(sys_set, 1, "set")
CLIENT_OP(sys_show, 1, "show")
CLIENT_OP(sys_delete, 1, "delete")
CLIENT_OP(ten_set, 0, "set")
CLIENT_OP(ten_show, 0, "show")
CLIENT_OP(ten_enable, 0, "enable")
CLIENT_OP(ten_disable, 0, "disable")
CLIENT_OP(ten_delete, 0, "delete")

/* --- oauth.client -------------------------------------------------------------------- */

static void client_resolved(tq_job_t *job)
{
    const char *provider;
    const tq_plugin_t *p = need_plugin(job, &provider);
    if (!p) return;
    tq_error_t err = {0};
    PGconn *db = tq_job_db(job, &err);
    tq_vault_t *vault = db ? tq_job_vault(job, &err) : NULL;
    const char *tier = NULL;
    json_t *params =
        vault ? tq_oauth_client_resolve(db, vault, tq_job_config(job), tq_job_tenant_uuid(job), p,
                                        provider, &tier, &err)
              : NULL;
    if (!params) {
        fail_err(job, &err);
        return;
    }
    tq_job_done(job, json_pack("{s:s,s:s,s:s,s:o}", "tier", tier, "plugin", p->id, "provider",
                               provider, "params", tq_oauth_params_mask(params)));
    tq_oauth_json_wipe(params);
    json_decref(params);
}

/* --- shared: resolve + discovery, then a continuation ------------------------------------ */

typedef struct flow_t flow_t;
typedef void(flow_next_fn)(flow_t *f, json_t *params);

struct flow_t {
    tq_job_t *job;
    const tq_plugin_t *plugin;
    char tenant[37];
    char *provider, *credential, *scopes, *tier;
    tq_oauth_state_t *state; /* exchange */
    json_t *params;
    tq_oauth_call_t *call;
    flow_next_fn *next;
    const char *grant;
};

static void flow_free(flow_t *f)
{
    tq_oauth_call_cancel(&f->call);
    tq_oauth_state_free(&f->state);
    tq_oauth_json_wipe(f->params);
    json_decref(f->params);
    free(f->provider);
    free(f->credential);
    free(f->scopes);
    free(f->tier);
    free(f);
}

static void flow_drop(tq_job_t *job, void *arg)
{
    (void)job;
    flow_free(arg);
}

static void flow_fail(flow_t *f, const tq_error_t *err, bool retry)
{
    tq_job_on_drop(f->job, NULL, NULL);
    tq_job_fail_err(f->job, err, retry);
    flow_free(f);
}

static void flow_done(flow_t *f, json_t *res)
{
    tq_job_on_drop(f->job, NULL, NULL);
    tq_job_done(f->job, res);
    flow_free(f);
}

static void on_prepared(json_t *params, const tq_error_t *err, void *arg)
{
    flow_t *f = arg;
    f->call = NULL;
    if (!params) {
        flow_fail(f, err, false);
        return;
    }
    f->next(f, params);
}

/* Resolves the client for f->tenant and starts discovery; next runs later. */
static void flow_start(flow_t *f, flow_next_fn *next)
{
    tq_error_t err = {0};
    PGconn *db = tq_job_db(f->job, &err);
    tq_vault_t *vault = db ? tq_job_vault(f->job, &err) : NULL;
    const char *tier = NULL;
    if (vault && tq_oauth_tenant_vault(db, vault, f->tenant, &err)) vault = NULL;
    if (vault)
        f->params = tq_oauth_client_resolve(db, vault, tq_job_config(f->job), f->tenant, f->plugin,
                                            f->provider, &tier, &err);
    if (!f->params) {
        flow_fail(f, &err, tq_error_retryable(err.code));
        return;
    }
    f->tier = strdup(tier);
    f->next = next;
    tq_job_on_drop(f->job, flow_drop, f);
    f->call = tq_oauth_prepare(tq_job_loop(f->job), tq_job_config(f->job), f->plugin, f->params,
                               on_prepared, f);
}

static flow_t *flow_new(tq_job_t *job, const tq_plugin_t *p, const char *tenant,
                        const char *provider)
{
    flow_t *f = tq_xcalloc(1, sizeof *f);
    f->job = job;
    f->plugin = p;
    snprintf(f->tenant, sizeof f->tenant, "%s", tenant);
    f->provider = strdup(provider);
    return f;
}

/* "scopes": array or space-separated string -> space-separated (NULL if none). */
static char *payload_scopes(tq_job_t *job)
{
    json_t *s = tq_job_arg(job, "scopes");
    if (!s) s = tq_job_arg(job, "scope");
    if (json_is_string(s)) return json_string_length(s) ? strdup(json_string_value(s)) : NULL;
    if (!json_is_array(s) || !json_array_size(s)) return NULL;
    size_t n = 0, i;
    json_t *e;
    json_array_foreach(s, i, e) n += json_string_length(e) + 1;
    char *out = tq_xcalloc(1, n + 1);
    json_array_foreach(s, i, e) if (json_is_string(e))
    {
        if (*out) strcat(out, " ");
        strcat(out, json_string_value(e));
    }
    return out;
}

/* --- oauth.authorize -------------------------------------------------------------------- */

/* url without its "state=<state>" query parameter (the state is base64url:
 * the plugin's form encoding leaves it as it is); malloc'd. */
static char *url_without_state(const char *url, const char *state)
{
    char pat[TQ_OAUTH_B64_256 + 8];
    snprintf(pat, sizeof pat, "state=%s", state);
    size_t plen = strlen(pat);
    char *out = tq_xstrdup(url);
    for (char *p = strstr(out, pat); p; p = strstr(p + 1, pat)) {
        if (p == out || (p[-1] != '?' && p[-1] != '&') || (p[plen] && p[plen] != '&')) continue;
        char *end = p + plen;
        if (*end == '&')
            end++;
        else if (p[-1] == '&')
            p--; /* last parameter: drop the separator before it */
        memmove(p, end, strlen(end) + 1);
        break;
    }
    return out;
}

/* The listener's start URL for redirect_uri: its ".../callback" path with
 * "start" instead, else <origin>/oauth/start; plus ?state=. malloc'd. */
static char *start_url(const char *redirect_uri, const char *state)
{
    const char *r = redirect_uri ? redirect_uri : "";
    size_t n = strcspn(r, "?#");
    const char *scheme_end = strstr(r, "://");
    size_t origin = n;
    if (scheme_end && (size_t)(scheme_end - r) < n) {
        const char *host = scheme_end + 3;
        origin = (size_t)(host - r) + strcspn(host, "/?#");
    }
    size_t base = origin;
    const char *path = "/oauth/start";
    if (n >= 9 && n > origin && !strncmp(r + n - 9, "/callback", 9)) {
        base = n - 9;
        path = "/start";
    }
    size_t len = base + strlen(path) + 7 + strlen(state) + 1;
    char *out = tq_xmalloc(len);
    snprintf(out, len, "%.*s%s?state=%s", (int)base, r, path, state);
    return out;
}

static void authorize_next(flow_t *f, json_t *params)
{
    tq_error_t err = {0};
    PGconn *db = tq_job_db(f->job, &err);
    tq_vault_t *vault = db ? tq_job_vault(f->job, &err) : NULL;
    if (!vault) {
        flow_fail(f, &err, true);
        return;
    }
    if (f->scopes) json_object_set_new(params, "scope", json_string(f->scopes));
    /* A shared (system-tier) client: the user sees the consent screen even
     * when they authorized the app before (F6), unless the operator set
     * authorize.prompt on the client ("" sends none). */
    if (!strcmp(f->tier, "system") && !json_object_get(params, "authorize.prompt"))
        json_object_set_new(params, "authorize.prompt", json_string("consent"));
    const char *pk = json_string_value(json_object_get(params, "pkce"));
    bool pkce = !pk || strcmp(pk, "none");
    const char *iss = json_string_value(json_object_get(params, "issuer"));
    const char *iss_sup = json_string_value(json_object_get(params, "iss_parameter_supported"));
    int ttl = (int)tq_config_int(tq_job_config(f->job), "oauth.state_ttl_s");
    bool headless = tq_job_arg_bool(f->job, "headless", false);
    char binding[TQ_OAUTH_B64_256] = "", bhash[65] = "";
    if (headless && tq_oauth_binding_new(binding, bhash, &err)) {
        flow_fail(f, &err, false);
        return;
    }
    tq_oauth_state_new_t in = {
        .tenant_id = f->tenant,
        .plugin_id = f->plugin->id,
        .provider = f->provider,
        .redirect_uri = json_string_value(json_object_get(params, "redirect_uri")),
        .scopes = json_string_value(json_object_get(params, "scope")),
        .credential_name = f->credential,
        .tenant_name = tq_job_tenant(f->job),
        .binding_hash = headless ? bhash : NULL,
        .issuer = iss,
        .iss_required = iss_sup && !strcmp(iss_sup, "1"),
        .pkce = pkce,
        .ttl_s = ttl,
    };
    char state[TQ_OAUTH_B64_256], challenge[TQ_OAUTH_B64_256];
    if (tq_oauth_state_create(db, vault, &in, state, challenge, &err)) {
        flow_fail(f, &err, tq_error_retryable(err.code));
        return;
    }
    json_object_set_new(params, "state", json_string(state));
    if (pkce) {
        json_object_set_new(params, "code_challenge", json_string(challenge));
        json_object_set_new(params, "code_challenge_method", json_string("S256"));
    }
    char *url = tq_oauth_plugin_authorize_url(f->plugin, params, &err);
    char *bare = url && !headless ? url_without_state(url, state) : NULL;
    if (bare && strstr(bare, state)) { /* never store a state in clear */
        free(bare);
        bare = NULL;
        free(url);
        url = NULL;
        tq_error_set(&err, "internal",
                     "the plugin's authorization URL carries the state in a form toolq cannot "
                     "take out; use --headless");
    }
    if (!url || (bare && tq_oauth_state_set_authorize_url(db, state, bare, &err))) {
        tq_secure_wipe(state, sizeof state);
        free(url);
        free(bare);
        flow_fail(f, &err, tq_error_retryable(err.code));
        return;
    }
    json_t *res = json_pack("{s:s,s:s,s:s,s:s,s:i,s:b,s:s}", "plugin", f->plugin->id, "provider",
                            f->provider, "credential", f->credential, "tier", f->tier, "expires_in",
                            ttl, "pkce", pkce, "redirect_uri", in.redirect_uri);
    if (headless) { /* the caller finishes with oauth.exchange {state, code, binding} */
        json_object_set_new(res, "authorization_url", json_string(url));
        json_object_set_new(res, "binding", json_string(binding));
    } else { /* the browser goes through the listener's /oauth/start */
        char *start = start_url(in.redirect_uri, state);
        json_object_set_new(res, "start_url", json_string(start));
        free(start);
    }
    tq_secure_wipe(state, sizeof state);
    tq_secure_wipe(binding, sizeof binding);
    free(url);
    free(bare);
    flow_done(f, res);
}

static void authorize_start(tq_job_t *job)
{
    const char *provider;
    const tq_plugin_t *p = need_plugin(job, &provider);
    if (!p) return;
    const char *name = tq_job_arg_str(job, "credential_name"); /* <= 255: the schema */
    flow_t *f = flow_new(job, p, tq_job_tenant_uuid(job), provider);
    f->credential = strdup(name ? name : provider);
    f->scopes = payload_scopes(job);
    flow_start(f, authorize_next);
}

/* --- oauth.exchange ---------------------------------------------------------------------- */

static void exchange_token_done(tq_oauth_kind_t kind, json_t *tokens, const tq_error_t *terr,
                                void *arg)
{
    flow_t *f = arg;
    f->call = NULL;
    if (kind != TQ_OAUTH_OK) {
        /* never retried: an authorization code is single use (RFC 6749 §10.5) */
        flow_fail(f, terr, false);
        return;
    }
    tq_error_t err = {0};
    PGconn *db = tq_job_db(f->job, &err);
    tq_vault_t *vault = db ? tq_job_vault(f->job, &err) : NULL;
    json_t *summary = NULL;
    json_t *client = tq_oauth_client_origin(f->tier, f->params);
    int rc =
        !vault || tq_oauth_cred_save(db, vault, f->tenant, f->credential, f->plugin->id,
                                     f->provider, f->grant, client, tokens, NULL, &summary, &err);
    json_decref(client);
    if (rc) {
        flow_fail(f, &err, false);
        return;
    }
    json_object_set_new(summary, "tier", json_string(f->tier));
    json_object_set_new(summary, "connected", json_true());
    /* the page names who received the account (F6) */
    const char *tn = !f->state               ? tq_job_tenant(f->job)
                     : f->state->tenant_name ? f->state->tenant_name
                                             : f->tenant;
    json_object_set_new(summary, "tenant", json_string(tn));
    const char *ret = tq_config_str(tq_job_config(f->job), "oauth.return_url");
    if (ret && *ret) json_object_set_new(summary, "return_url", json_string(ret));
    flow_done(f, summary);
}

static void exchange_next(flow_t *f, json_t *params)
{
    tq_error_t err = {0};
    const char *iss = tq_job_arg_str(f->job, "iss");
    const char *expected = f->state->issuer;
    /* RFC 9207: check iss when the server advertises it (or sends it) */
    if (iss && expected && strcmp(iss, expected)) {
        tq_error_set(&err, "oauth_iss_mismatch",
                     "the authorization response comes from issuer %.200s, expected %.200s", iss,
                     expected);
        flow_fail(f, &err, false);
        return;
    }
    if (!iss && f->state->iss_required) {
        tq_error_set(&err, "oauth_iss_missing",
                     "the server advertises the iss parameter (RFC 9207) but the response "
                     "has none");
        flow_fail(f, &err, false);
        return;
    }
    json_object_set_new(params, "grant_type", json_string("authorization_code"));
    json_object_set_new(params, "code", json_string(tq_job_arg_str(f->job, "code")));
    json_object_set_new(params, "redirect_uri", json_string(f->state->redirect_uri));
    if (f->state->code_verifier)
        json_object_set_new(params, "code_verifier", json_string(f->state->code_verifier));
    f->grant = "authorization_code";
    f->call = tq_oauth_token(tq_job_loop(f->job), tq_job_config(f->job), f->plugin, params,
                             exchange_token_done, f);
}

static void exchange_start(tq_job_t *job)
{
    tq_error_t err = {0};
    const char *state = tq_job_arg_str(job, "state");
    const char *code = tq_job_arg_str(job, "code");
    const char *error = tq_job_arg_str(job, "error");
    PGconn *db = tq_job_db(job, &err);
    tq_vault_t *vault = db ? tq_job_vault(job, &err) : NULL;
    if (!vault) {
        fail_err(job, &err);
        return;
    }
    /* the state is consumed whatever the outcome: single use */
    tq_oauth_state_t *st =
        tq_oauth_state_consume(db, vault, state, tq_job_arg_str(job, "binding"), &err);
    if (!st) {
        fail_err(job, &err);
        return;
    }
    if (error || !code) {
        char ecode[TQ_ERROR_CODE_MAX], msg[600];
        snprintf(ecode, sizeof ecode, "oauth_%.36s", error ? error : "missing_code");
        for (char *c = ecode; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_')) *c = '_';
        const char *d = tq_job_arg_str(job, "error_description");
        snprintf(msg, sizeof msg, "the authorization at %s was not granted: %.64s%s%.300s",
                 st->provider, error ? error : "the callback carries no code", d ? " — " : "",
                 d ? d : "");
        tq_oauth_state_free(&st);
        tq_job_fail(job, ecode, msg, false);
        return;
    }
    const tq_plugin_t *p = tq_plugin_host_find(tq_job_plugins(job), st->plugin_id);
    if (!p || !tq_oauth_plugin_supported(p)) {
        tq_error_set(&err, "unknown_plugin", "OAuth plugin %s is not loaded", st->plugin_id);
        tq_oauth_state_free(&st);
        fail_err(job, &err);
        return;
    }
    flow_t *f = flow_new(job, p, st->tenant_id, st->provider);
    f->credential = strdup(st->credential_name);
    f->state = st;
    flow_start(f, exchange_next);
}

/* --- oauth.client_credentials ------------------------------------------------------------- */

static void cc_next(flow_t *f, json_t *params)
{
    tq_error_t err = {0};
    if (tq_oauth_client_cc_allowed(f->tier, params, &err)) {
        flow_fail(f, &err, false);
        return;
    }
    if (f->scopes) json_object_set_new(params, "scope", json_string(f->scopes));
    json_object_set_new(params, "grant_type", json_string("client_credentials"));
    f->grant = "client_credentials";
    f->call = tq_oauth_token(tq_job_loop(f->job), tq_job_config(f->job), f->plugin, params,
                             exchange_token_done, f);
}

static void cc_start(tq_job_t *job)
{
    const char *provider;
    const tq_plugin_t *p = need_plugin(job, &provider);
    if (!p) return;
    const char *name = tq_job_arg_str(job, "credential_name");
    flow_t *f = flow_new(job, p, tq_job_tenant_uuid(job), provider);
    f->credential = strdup(name ? name : provider);
    f->scopes = payload_scopes(job);
    flow_start(f, cc_next);
}

const tq_op_t tq_op_oauth_system_client_set = {"oauth.system_client.set", sys_set};
const tq_op_t tq_op_oauth_system_client_show = {"oauth.system_client.show", sys_show};
const tq_op_t tq_op_oauth_system_client_delete = {"oauth.system_client.delete", sys_delete};
const tq_op_t tq_op_oauth_tenant_client_set = {"oauth.tenant_client.set", ten_set};
const tq_op_t tq_op_oauth_tenant_client_show = {"oauth.tenant_client.show", ten_show};
const tq_op_t tq_op_oauth_tenant_client_enable = {"oauth.tenant_client.enable", ten_enable};
const tq_op_t tq_op_oauth_tenant_client_disable = {"oauth.tenant_client.disable", ten_disable};
const tq_op_t tq_op_oauth_tenant_client_delete = {"oauth.tenant_client.delete", ten_delete};
const tq_op_t tq_op_oauth_client = {"oauth.client", client_resolved};
const tq_op_t tq_op_oauth_authorize = {"oauth.authorize", authorize_start};
const tq_op_t tq_op_oauth_exchange = {"oauth.exchange", exchange_start};
const tq_op_t tq_op_oauth_client_credentials = {"oauth.client_credentials", cc_start};
