/* oauth_cred.c — token sets of oauth2 credentials: the fields and
 * metadata kept from a token response, create-or-replace (its statements
 * and sealing are the credential store's, credstore/credstore_oauth.h),
 * and the rule for a token without a refresh token. The refresh path
 * (oauth_refresh.c) updates rows under its lease; this file owns the first
 * write. Never logs. */
#include "oauth_cred.h"
#include "vault.h"

#include <stdlib.h>
#include <string.h>

#include "credstore/credstore_oauth.h"
#include "keystore.h"
#include "oauth/oauth_plugin.h"

int tq_oauth_tenant_vault(PGconn *db, tq_vault_t *vault, const char *tenant, tq_error_t *err)
{
    int v;
    if (tq_vault_has_tenant(vault, tenant, &v)) return 0;
    return tq_keystore_ensure_tenant(db, vault, tenant, err);
}

json_t *tq_oauth_cred_fields(const json_t *tokens, const json_t *old)
{
    json_t *f = json_object();
    static const char *const keep[] = {"access_token", "refresh_token", "token_type", "scope",
                                       NULL};
    for (int i = 0; keep[i]; i++) {
        const json_t *v = json_object_get(tokens, keep[i]);
        if (!json_is_string(v) || !json_string_length(v)) v = json_object_get(old, keep[i]);
        if (json_is_string(v) && json_string_length(v))
            json_object_set_new(f, keep[i], json_string(json_string_value(v)));
    }
    if (!json_object_get(f, "token_type"))
        json_object_set_new(f, "token_type", json_string("Bearer"));
    return f;
}

json_t *tq_oauth_cred_metadata(const char *plugin_id, const char *provider, const char *grant,
                               const json_t *tokens)
{
    json_t *m =
        json_pack("{s:s,s:s,s:s}", "plugin", plugin_id, "provider", provider, "grant", grant);
    json_t *pm = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)tokens, k, v)
    {
        if (!strncmp(k, "meta.", 5)) json_object_set(pm, k + 5, v);
    }
    json_object_set_new(m, "provider_metadata", pm);
    const json_t *scope = json_object_get(tokens, "scope");
    if (json_is_string(scope)) json_object_set(m, "scope", (json_t *)scope);
    const json_t *rte = json_object_get(tokens, "refresh_token_expires_in");
    if (json_is_string(rte)) json_object_set(m, "refresh_token_expires_in", (json_t *)rte);
    const char *life = tq_oauth_cred_expires_in(tokens);
    double d = life ? atof(life) : 0;
    if (life)
        json_object_set_new(m, "expires_in",
                            d == (double)(json_int_t)d ? json_integer((json_int_t)d)
                                                       : json_real(d));
    return m;
}

const char *tq_oauth_cred_expires_in(const json_t *tokens)
{
    const char *e = json_string_value(json_object_get(tokens, "expires_in"));
    if (!e || !*e) return NULL;
    for (const char *p = e; *p; p++)
        if ((*p < '0' || *p > '9') && *p != '.') return NULL;
    return atof(e) > 0 ? e : NULL;
}

bool tq_oauth_cred_use_until_expiry(const json_t *fields, const json_t *meta, int64_t expires_ms,
                                    int64_t now_ms)
{
    const char *grant = json_string_value(json_object_get(meta, "grant"));
    const char *rt = json_string_value(json_object_get(fields, "refresh_token"));
    return (!rt || !*rt) && !(grant && !strcmp(grant, "client_credentials")) && expires_ms > now_ms;
}

int tq_oauth_cred_save(PGconn *db, tq_vault_t *vault, const char *tenant, const char *name,
                       const char *plugin_id, const char *provider, const char *grant,
                       const json_t *client, const json_t *tokens, char id_out[37],
                       json_t **summary, tq_error_t *err)
{
    if (tq_oauth_tenant_vault(db, vault, tenant, err)) return -1;
    char id[37];
    char *expires_at = NULL;
    json_t *fields = tq_oauth_cred_fields(tokens, NULL);
    json_t *meta = tq_oauth_cred_metadata(plugin_id, provider, grant, tokens);
    if (client) json_object_set(meta, "client", (json_t *)client);
    int rc = tq_credstore_oauth_save(db, vault, tenant, name, plugin_id, fields, meta,
                                     tq_oauth_cred_expires_in(tokens), id, &expires_at, err);
    tq_oauth_json_wipe(fields);
    json_decref(fields);
    json_decref(meta);
    if (rc) return -1;
    if (id_out) memcpy(id_out, id, sizeof id);
    if (summary) {
        *summary = json_pack("{s:s,s:s,s:s,s:s,s:s}", "credential_id", id, "credential", name,
                             "plugin", plugin_id, "provider", provider, "status", "active");
        json_object_set_new(*summary, "expires_at",
                            expires_at ? json_string(expires_at) : json_null());
        const json_t *scope = json_object_get(tokens, "scope");
        if (json_is_string(scope)) json_object_set(*summary, "scope", (json_t *)scope);
        json_object_set_new(*summary, "refresh_token",
                            json_boolean(json_is_string(json_object_get(tokens, "refresh_token"))));
    }
    free(expires_at);
    return 0;
}
