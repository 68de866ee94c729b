/* oauth_cred.c — token sets of oauth2 credentials: sealing, metadata,
 * create-or-replace. The refresh path (oauth_refresh.c) updates rows under
 * its lease; this file owns the first write. Never logs. */
#include "oauth_cred.h"
#include "vault.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ids.h"
#include "keystore.h"
#include "oauth/oauth_plugin.h"
#include "pg.h"

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

char *tq_oauth_cred_seal(tq_vault_t *vault, const char *tenant, const char *id,
                         const json_t *fields, tq_error_t *err)
{
    tq_aad_t aad = {tenant, "tq_credentials", "encrypted_data", id};
    char *plain = json_dumps(fields, JSON_COMPACT | JSON_SORT_KEYS);
    if (!plain) abort();
    char *sealed = tq_vault_seal_text(vault, &aad, plain, err);
    tq_secure_wipe_str(plain);
    free(plain);
    return sealed;
}

json_t *tq_oauth_cred_open(tq_vault_t *vault, const char *tenant, const char *id,
                           const char *sealed, tq_error_t *err)
{
    tq_aad_t aad = {tenant, "tq_credentials", "encrypted_data", id};
    return tq_vault_open_json(vault, &aad, sealed, "credential_corrupt", err);
}

int tq_oauth_cred_save(PGconn *db, tq_vault_t *vault, const char *tenant, const char *name,
                       const char *plugin_id, const char *provider, const char *grant,
                       const json_t *client, const json_t *tokens, char id_out[37],
                       json_t **summary, tq_error_t *err)
{
    if (tq_oauth_tenant_vault(db, vault, tenant, err)) return -1;
    const char *p0[] = {tenant, name};
    PGresult *r = tq_pg_exec(
        db, err, "SELECT id, type FROM tq_credentials WHERE tenant_id = $1 AND name = $2", 2, p0);
    if (!r) return -1;
    char id[TQ_UUID_STR_LEN + 1];
    int exists = PQntuples(r) == 1;
    if (exists && strcmp(PQgetvalue(r, 0, 1), "oauth2")) {
        PQclear(r);
        return tq_error_set(err, "credential_exists",
                            "a credential named %s of another type already exists", name);
    }
    if (exists)
        snprintf(id, sizeof id, "%s", PQgetvalue(r, 0, 0));
    else
        tq_uuid_v7(id);
    PQclear(r);
    json_t *fields = tq_oauth_cred_fields(tokens, NULL);
    json_t *meta = tq_oauth_cred_metadata(plugin_id, provider, grant, tokens);
    if (client) json_object_set(meta, "client", (json_t *)client);
    char *sealed = tq_oauth_cred_seal(vault, tenant, id, fields, err);
    tq_oauth_json_wipe(fields);
    json_decref(fields);
    char *mtext = json_dumps(meta, JSON_COMPACT);
    json_decref(meta);
    if (!sealed) {
        free(mtext);
        return -1;
    }
    const char *p[] = {
        id, tenant, name, plugin_id, sealed, mtext, tq_oauth_cred_expires_in(tokens)};
    r = tq_pg_exec(db, err,
                   exists
                       ? "UPDATE tq_credentials SET encrypted_data = $5, metadata = $6::jsonb "
                         "|| jsonb_strip_nulls(jsonb_build_object('origins', "
                         "metadata->'origins')), "
                         "plugin_id = $4, status = 'active', expires_at = CASE WHEN $7::text IS "
                         "NULL THEN NULL ELSE now() + make_interval(secs => $7::float8) END, "
                         "refreshed_at = now(), refresh_failures = 0, last_refresh_error = "
                         "NULL, updated_at = now() WHERE id = $1 AND tenant_id = $2 AND name = "
                         "$3 RETURNING id, to_char(expires_at AT TIME ZONE 'UTC', "
                         "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
                       : "INSERT INTO tq_credentials (id, tenant_id, name, type, plugin_id, "
                         "encrypted_data, metadata, status, expires_at, refreshed_at) VALUES "
                         "($1, $2, $3, 'oauth2', $4, $5, $6::jsonb, 'active', CASE WHEN $7::text "
                         "IS NULL THEN NULL ELSE now() + make_interval(secs => $7::float8) END, "
                         "now()) ON CONFLICT (tenant_id, name) DO NOTHING RETURNING id, "
                         "to_char(expires_at AT TIME ZONE 'UTC', "
                         "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
                   7, p);
    free(sealed);
    free(mtext);
    if (!r) return -1;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return tq_error_set(err, "credential_exists", "credential %s was created concurrently",
                            name);
    }
    if (id_out) memcpy(id_out, id, sizeof id);
    if (summary) {
        *summary = json_pack("{s:s,s:s,s:s,s:s,s:s}", "credential_id", id, "credential", name,
                             "plugin", plugin_id, "provider", provider, "status", "active");
        json_object_set_new(*summary, "expires_at",
                            PQgetisnull(r, 0, 1) ? json_null() : json_string(PQgetvalue(r, 0, 1)));
        const json_t *scope = json_object_get(tokens, "scope");
        if (json_is_string(scope)) json_object_set(*summary, "scope", (json_t *)scope);
        json_object_set_new(*summary, "refresh_token",
                            json_boolean(json_is_string(json_object_get(tokens, "refresh_token"))));
    }
    PQclear(r);
    return 0;
}
