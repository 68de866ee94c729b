/* oauth_client.c — SQL, sealing and resolution of OAuth client
 * configurations. Owns every statement on tool_oauth_system_clients and
 * tool_oauth_tenant_clients. Never logs, never returns clear params except
 * to worker code that needs them for a request. */
#include "oauth_client.h"
#include "vault.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "ids.h"
#include "keystore.h"
#include "oauth/oauth_plugin.h"
#include "pg.h"
#include "mem.h"

#define SYS_TABLE "tool_oauth_system_clients"
#define TEN_TABLE "tool_oauth_tenant_clients"
#define COLUMN "encrypted_oauth_params"
#define HIDDEN "[__HIDDEN__]"

int tq_oauth_system_vault(PGconn *db, tq_vault_t *vault, tq_error_t *err)
{
    int v;
    if (tq_vault_has_tenant(vault, TQ_OAUTH_SYSTEM_TENANT, &v)) return 0;
    return tq_keystore_ensure_tenant(db, vault, TQ_OAUTH_SYSTEM_TENANT, err);
}

/* The documented parameter names (docs/oauth.md, "Client configuration"). */
static const char *const s_names[] = {"client_id",      "client_secret",   "authorization_url",
                                      "token_url",      "scopes",          "redirect_uri",
                                      "revocation_url", "issuer",          "token_auth_method",
                                      "body_format",    "scope_separator", "pkce",
                                      "tenant",         "user_scope",      NULL};
#define ALIAS_AUTHORIZE "authorize_url" /* the old name of authorization_url */
#define ALLOW_CC "allow_client_credentials"

static int known_name(const char *k, const json_t *defaults, int system)
{
    if (!strncmp(k, "authorize.", 10) || !strncmp(k, "token.", 6)) return k[strlen(k) - 1] != '.';
    if (!strcmp(k, ALIAS_AUTHORIZE) || (system && !strcmp(k, ALLOW_CC))) return 1;
    for (int i = 0; s_names[i]; i++)
        if (!strcmp(k, s_names[i])) return 1;
    return json_object_get(defaults, k) != NULL;
}

int tq_oauth_client_check_params(const tq_plugin_t *p, int system, const json_t *update,
                                 tq_error_t *err)
{
    json_t *defaults = tq_oauth_plugin_defaults(p, NULL, NULL);
    char bad[1024] = "";
    size_t nbad = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)update, k, v)
    {
        if (json_is_null(v) || known_name(k, defaults, system)) continue;
        size_t len = strlen(bad);
        snprintf(bad + len, sizeof bad - len, "%s%.64s", nbad++ ? ", " : "", k);
    }
    if (!nbad) {
        json_decref(defaults);
        return 0;
    }
    char names[1024] = "";
    for (int i = 0; s_names[i]; i++) {
        size_t len = strlen(names);
        snprintf(names + len, sizeof names - len, "%s%s", i ? ", " : "", s_names[i]);
    }
    json_object_foreach(defaults, k, v)
    {
        if (strncmp(k, "authorize.", 10) && strncmp(k, "token.", 6) && !strstr(names, k)) {
            size_t len = strlen(names);
            snprintf(names + len, sizeof names - len, ", %s", k);
        }
    }
    json_decref(defaults);
    return tq_error_set(err, "invalid_params",
                        "unknown OAuth client parameter%s %s for plugin %s. Accepted: %s%s, "
                        "authorize.<name> (an extra authorization-URL parameter, e.g. "
                        "authorize.prompt=consent), token.<name> (an extra token-request "
                        "parameter); authorize_url is an alias of authorization_url",
                        nbad > 1 ? "s" : "", bad, p->id, names, system ? ", " ALLOW_CC : "");
}

json_t *tq_oauth_client_origin(const char *tier, const json_t *params)
{
    json_t *o = json_pack("{s:s}", "tier", tier ? tier : "");
    static const char *const keys[] = {"client_id", "token_url", NULL};
    for (int i = 0; keys[i]; i++) {
        const char *v = json_string_value(json_object_get(params, keys[i]));
        if (v) json_object_set_new(o, keys[i], json_string(v));
    }
    return o;
}

int tq_oauth_client_same_endpoint(const json_t *meta, const json_t *params, const char *cred,
                                  tq_error_t *err)
{
    const char *was =
        json_string_value(json_object_get(json_object_get(meta, "client"), "token_url"));
    const char *now = json_string_value(json_object_get(params, "token_url"));
    if (!was || (now && !strcmp(was, now))) return 0;
    return tq_error_set(err, "oauth_client_changed",
                        "the token endpoint of the OAuth client changed since credential %s was "
                        "issued (it was issued by %.200s): its tokens are not sent elsewhere; "
                        "restore the client's token_url or re-authorize the credential",
                        cred, was);
}

int tq_oauth_client_cc_allowed(const char *tier, const json_t *params, tq_error_t *err)
{
    const char *a = json_string_value(json_object_get(params, ALLOW_CC));
    if (strcmp(tier, "system") || (a && (!strcmp(a, "true") || !strcmp(a, "1")))) return 0;
    return tq_error_set(err, "oauth_client_credentials_not_allowed",
                        "the client_credentials grant with the shared system client needs the "
                        "operator's opt-in (system client parameter " ALLOW_CC "=true), or a "
                        "tenant client");
}

static int is_secret_name(const char *k)
{
    return tq_mask_name_is_secret(k, strlen(k));
}

json_t *tq_oauth_params_mask(const json_t *params)
{
    return tq_mask_object(params, is_secret_name);
}

/* Reads (id, ciphertext[, enabled]) of one row; NULL result with no error
 * when absent. */
static PGresult *read_row(PGconn *db, const char *tenant, const char *plugin, const char *provider,
                          tq_error_t *err)
{
    if (tenant) {
        const char *p[] = {tenant, plugin, provider};
        return tq_pg_exec(db, err,
                          "SELECT id, " COLUMN ", enabled FROM " TEN_TABLE
                          " WHERE tenant_id = $1 AND plugin_id = $2 AND provider = $3",
                          3, p);
    }
    const char *p[] = {plugin, provider};
    return tq_pg_exec(db, err,
                      "SELECT id, " COLUMN ", true FROM " SYS_TABLE
                      " WHERE plugin_id = $1 AND provider = $2",
                      2, p);
}

/* Every worker drops its cached resolutions (oauth_client_cache.h). */
static void notify_change(PGconn *db)
{
    tq_pg_run(db, NULL, "SELECT pg_notify('" TQ_OAUTH_CLIENTS_CHANNEL "', '')", 0, NULL);
}

static json_t *open_params(tq_vault_t *vault, const char *tenant, const char *id,
                           const char *sealed, tq_error_t *err)
{
    tq_aad_t aad = {tenant ? tenant : TQ_OAUTH_SYSTEM_TENANT, tenant ? TEN_TABLE : SYS_TABLE,
                    COLUMN, id};
    return tq_vault_open_json(vault, &aad, sealed, "oauth_client_corrupt", err);
}

static char *seal_params(tq_vault_t *vault, const char *tenant, const char *id,
                         const json_t *params, tq_error_t *err)
{
    tq_aad_t aad = {tenant ? tenant : TQ_OAUTH_SYSTEM_TENANT, tenant ? TEN_TABLE : SYS_TABLE,
                    COLUMN, id};
    char *plain = json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS);
    if (!plain) tq_oom();
    char *sealed = tq_vault_seal_text(vault, &aad, plain, err);
    tq_secure_wipe_str(plain);
    free(plain);
    return sealed;
}

json_t *tq_oauth_client_get(PGconn *db, tq_vault_t *vault, const char *tenant, const char *plugin,
                            const char *provider, int *enabled, tq_error_t *err)
{
    if (!tenant && tq_oauth_system_vault(db, vault, err)) return NULL;
    PGresult *r = read_row(db, tenant, plugin, provider, err);
    if (!r) return NULL;
    if (PQntuples(r) != 1) {
        PQclear(r);
        tq_error_set(err, "oauth_client_not_found", "no %s OAuth client for plugin %s provider %s",
                     tenant ? "tenant" : "system", plugin, provider);
        return NULL;
    }
    if (enabled) *enabled = PQgetvalue(r, 0, 2)[0] == 't';
    json_t *o = open_params(vault, tenant, PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), err);
    PQclear(r);
    return o;
}

json_t *tq_oauth_client_set(PGconn *db, tq_vault_t *vault, const char *tenant, const char *plugin,
                            const char *provider, const json_t *update, int enabled,
                            tq_error_t *err)
{
    if (!tenant && tq_oauth_system_vault(db, vault, err)) return NULL;
    for (int tries = 0; tries < 3; tries++) {
        PGresult *r = read_row(db, tenant, plugin, provider, err);
        if (!r) return NULL;
        char id[TQ_UUID_STR_LEN + 1];
        json_t *params = NULL;
        int exists = PQntuples(r) == 1;
        if (exists) {
            snprintf(id, sizeof id, "%s", PQgetvalue(r, 0, 0));
            params = open_params(vault, tenant, id, PQgetvalue(r, 0, 1), err);
        } else {
            tq_uuid_v7(id);
            params = json_object();
        }
        PQclear(r);
        if (!params) return NULL;
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)update, k, v)
        {
            if (json_is_null(v))
                json_object_del(params, k);
            else if (json_is_string(v) && strcmp(json_string_value(v), HIDDEN))
                json_object_set_new(params, k, json_string(json_string_value(v)));
        }
        /* stored under the documented name: authorize_url is its alias */
        json_t *alias = json_object_get(params, ALIAS_AUTHORIZE);
        if (json_is_null(json_object_get(update, ALIAS_AUTHORIZE)))
            json_object_del(params, "authorization_url");
        else if (alias && !json_object_get(update, "authorization_url"))
            json_object_set(params, "authorization_url", alias);
        json_object_del(params, ALIAS_AUTHORIZE);
        char *sealed = seal_params(vault, tenant, id, params, err);
        if (!sealed) {
            tq_oauth_json_wipe(params);
            json_decref(params);
            return NULL;
        }
        const char *en = enabled < 0 ? NULL : enabled ? "true" : "false";
        PGresult *w;
        if (tenant) {
            const char *p[] = {id, tenant, plugin, provider, sealed, en};
            w = exists ? tq_pg_exec(db, err,
                                    "UPDATE " TEN_TABLE " SET " COLUMN " = $5, enabled = "
                                    "COALESCE($6::boolean, enabled) WHERE id = $1 AND tenant_id "
                                    "= $2 AND plugin_id = $3 AND provider = $4 RETURNING id",
                                    6, p)
                       : tq_pg_exec(db, err,
                                    "INSERT INTO " TEN_TABLE " (id, tenant_id, plugin_id, "
                                    "provider, " COLUMN ", enabled) VALUES ($1, $2, $3, $4, $5, "
                                    "COALESCE($6::boolean, true)) ON CONFLICT DO NOTHING "
                                    "RETURNING id",
                                    6, p);
        } else {
            const char *p[] = {id, plugin, provider, sealed};
            w = exists ? tq_pg_exec(db, err,
                                    "UPDATE " SYS_TABLE " SET " COLUMN " = $4 WHERE id = $1 AND "
                                    "plugin_id = $2 AND provider = $3 RETURNING id",
                                    4, p)
                       : tq_pg_exec(db, err,
                                    "INSERT INTO " SYS_TABLE " (id, plugin_id, provider, " COLUMN
                                    ") VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING id",
                                    4, p);
        }
        free(sealed);
        int done = w && PQntuples(w) == 1;
        PQclear(w);
        if (done) {
            notify_change(db);
            return params;
        }
        tq_oauth_json_wipe(params);
        json_decref(params);
        if (tq_error_is_set(err)) return NULL;
        /* raced with another writer: read again */
    }
    tq_error_set(err, "oauth_client_conflict", "the OAuth client changed concurrently; try again");
    return NULL;
}

int tq_oauth_client_set_enabled(PGconn *db, const char *tenant, const char *plugin,
                                const char *provider, int enabled, tq_error_t *err)
{
    const char *p[] = {tenant, plugin, provider, enabled ? "true" : "false"};
    PGresult *r = tq_pg_exec(db, err,
                             "UPDATE " TEN_TABLE " SET enabled = $4::boolean WHERE tenant_id = $1 "
                             "AND plugin_id = $2 AND provider = $3 RETURNING id",
                             4, p);
    if (!r) return -1;
    int n = PQntuples(r);
    PQclear(r);
    if (n != 1)
        return tq_error_set(err, "oauth_client_not_found",
                            "no tenant OAuth client for plugin %s provider %s", plugin, provider);
    notify_change(db);
    return 0;
}

int tq_oauth_client_delete(PGconn *db, const char *tenant, const char *plugin, const char *provider,
                           tq_error_t *err)
{
    PGresult *r;
    if (tenant) {
        const char *p[] = {tenant, plugin, provider};
        r = tq_pg_exec(db, err,
                       "DELETE FROM " TEN_TABLE " WHERE tenant_id = $1 AND plugin_id = $2 AND "
                       "provider = $3 RETURNING id",
                       3, p);
    } else {
        const char *p[] = {plugin, provider};
        r = tq_pg_exec(db, err,
                       "DELETE FROM " SYS_TABLE " WHERE plugin_id = $1 AND provider = $2 "
                       "RETURNING id",
                       2, p);
    }
    if (!r) return -1;
    int n = PQntuples(r);
    PQclear(r);
    if (n != 1)
        return tq_error_set(err, "oauth_client_not_found",
                            "no %s OAuth client for plugin %s "
                            "provider %s",
                            tenant ? "tenant" : "system", plugin, provider);
    notify_change(db);
    return 0;
}

json_t *tq_oauth_client_resolve(PGconn *db, tq_vault_t *vault, tq_config_t *cfg, const char *tenant,
                                const tq_plugin_t *plugin, const char *provider, const char **tier,
                                tq_error_t *err)
{
    int enabled = 0;
    tq_error_t e2 = {0};
    json_t *params = tq_oauth_client_get(db, vault, tenant, plugin->id, provider, &enabled, &e2);
    if (params && !enabled) {
        tq_oauth_json_wipe(params);
        json_decref(params);
        params = NULL;
    } else if (!params && strcmp(e2.code, "oauth_client_not_found")) {
        *err = e2;
        return NULL;
    }
    *tier = "tenant";
    if (!params) {
        tq_error_clear(&e2);
        params = tq_oauth_client_get(db, vault, NULL, plugin->id, provider, NULL, &e2);
        *tier = "system";
        if (!params) {
            if (strcmp(e2.code, "oauth_client_not_found")) {
                *err = e2;
                return NULL;
            }
            tq_error_set(err, "oauth_client_not_configured",
                         "no OAuth client is configured for plugin %s provider %s (neither an "
                         "enabled tenant client nor a system client)",
                         plugin->id, provider);
            return NULL;
        }
    }
    json_t *merged = tq_oauth_plugin_defaults(plugin, params, err);
    if (!merged) {
        tq_oauth_json_wipe(params);
        json_decref(params);
        return NULL;
    }
    /* "scopes" is the configured name; the hooks take "scope". */
    json_t *scopes = json_object_get(params, "scopes");
    if (json_is_string(scopes) && !json_object_get(params, "scope"))
        json_object_set_new(params, "scope", json_string(json_string_value(scopes)));
    /* and "authorization_url" is "authorize_url" for the hooks (rows stored
     * before the rename may hold the alias) */
    json_t *au = json_object_get(params, "authorization_url");
    if (json_is_string(au)) json_object_set(params, ALIAS_AUTHORIZE, au);
    json_object_del(params, "authorization_url");
    json_object_update(merged, params);
    json_object_del(merged, "scopes");
    json_decref(params); /* its strings are shared with merged now: not wiped here */
    if (!json_object_get(merged, "redirect_uri"))
        json_object_set_new(merged, "redirect_uri",
                            json_string(tq_config_str(cfg, "oauth.redirect_uri")));
    return merged;
}
