/* provider_store.c — SQL over tool_api_providers and the sealing of
 * credentials_str (provider_store.h). Owns every statement on that table for
 * the provider ops. Parameterized statements only; tenant_id in every WHERE;
 * never logs, never returns a plaintext secret except to the caller that
 * opened it. */
#include "provider_store.h"
#include "vault.h"

#include <stdlib.h>
#include <string.h>

#include "pg.h"

#define TQ_PROVIDERS_TABLE "tool_api_providers"
#define TQ_PROVIDERS_CREDS_COLUMN "credentials_str"

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

static tq_aad_t creds_aad(const char *tenant_id, const char *id)
{
    return (tq_aad_t){tenant_id, TQ_PROVIDERS_TABLE, TQ_PROVIDERS_CREDS_COLUMN, id};
}

char *tq_provider_seal_creds(tq_vault_t *vault, const char *tenant_id, const char *id,
                             const json_t *creds, tq_error_t *err)
{
    char *plain = json_dumps(creds, JSON_COMPACT | JSON_SORT_KEYS);
    if (!plain) {
        tq_error_set(err, "internal", "credentials could not be encoded");
        return NULL;
    }
    tq_aad_t aad = creds_aad(tenant_id, id);
    char *sealed = tq_vault_seal_text(vault, &aad, plain, err);
    size_t n = strlen(plain);
    tq_secure_wipe(plain, n); /* the plaintext does not linger in freed memory */
    free(plain);
    return sealed;
}

json_t *tq_provider_open_creds(tq_vault_t *vault, const char *tenant_id, const char *id,
                               const char *sealed, tq_error_t *err)
{
    tq_aad_t aad = creds_aad(tenant_id, id);
    return tq_vault_open_json(vault, &aad, sealed, "internal", err);
}

int tq_provider_store_insert(PGconn *db, const tq_provider_row_t *r, tq_error_t *err)
{
    const char *p[13] = {r->id,
                         r->name,
                         r->tenant_id,
                         r->user_id,
                         r->icon ? r->icon : "",
                         r->schema,
                         r->schema_type,
                         r->tools,
                         r->credentials,
                         r->description ? r->description : "",
                         r->privacy_policy,
                         r->custom_disclaimer ? r->custom_disclaimer : "",
                         r->defs ? r->defs : "{}"};
    PGresult *res = tq_pg_exec(
        db, err,
        "INSERT INTO tool_api_providers (id, name, tenant_id, user_id, icon, schema, "
        "schema_type_str, tools_str, credentials_str, description, privacy_policy, "
        "custom_disclaimer, defs_str) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, "
        "$13) ON CONFLICT (name, tenant_id) DO NOTHING RETURNING id",
        13, p);
    if (!res) return -1;
    int inserted = PQntuples(res);
    PQclear(res);
    return inserted ? 0 : 1;
}

/* Runs sql ($1 tenant, $2 name) returning one id: 0 with id, or -1 with
 * provider_not_found when no row came back (or the statement's error). */
static int id_by_name(PGconn *db, const char *sql, const char *tenant_id, const char *name,
                      char id[TQ_UUID_STR_LEN + 1], tq_error_t *err)
{
    const char *p[2] = {tenant_id, name};
    PGresult *res = tq_pg_exec(db, err, sql, 2, p);
    if (!res) return -1;
    int n = PQntuples(res);
    if (n) snprintf(id, TQ_UUID_STR_LEN + 1, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    if (!n)
        return tq_error_set(err, "provider_not_found", "no provider named '%.255s' in this tenant",
                            name);
    return 0;
}

int tq_provider_store_id(PGconn *db, const char *tenant_id, const char *name,
                         char id[TQ_UUID_STR_LEN + 1], tq_error_t *err)
{
    return id_by_name(db,
                      "SELECT id::text FROM tool_api_providers WHERE tenant_id = $1 AND name = $2",
                      tenant_id, name, id, err);
}

int tq_provider_store_update(PGconn *db, const tq_provider_row_t *r, tq_error_t *err)
{
    /* $n IS NULL keeps the column: one statement for every combination. */
    const char *p[11] = {r->id,
                         r->tenant_id,
                         r->schema,
                         r->schema_type,
                         r->tools,
                         r->description,
                         r->privacy_policy,
                         r->custom_disclaimer,
                         r->credentials,
                         r->icon,
                         r->defs};
    PGresult *res = tq_pg_exec(db, err,
                               "UPDATE tool_api_providers SET "
                               "schema = coalesce($3, schema), "
                               "schema_type_str = coalesce($4, schema_type_str), "
                               "tools_str = coalesce($5, tools_str), "
                               "description = coalesce($6, description), "
                               "privacy_policy = coalesce($7, privacy_policy), "
                               "custom_disclaimer = coalesce($8, custom_disclaimer), "
                               "credentials_str = coalesce($9, credentials_str), "
                               "icon = coalesce($10, icon), "
                               "defs_str = coalesce($11, defs_str), updated_at = now() "
                               "WHERE id = $1 AND tenant_id = $2 RETURNING id",
                               11, p);
    if (!res) return -1;
    int n = PQntuples(res);
    PQclear(res);
    if (!n) return tq_error_set(err, "provider_not_found", "the provider was deleted meanwhile");
    return 0;
}

PGresult *tq_provider_store_get(PGconn *db, const char *tenant_id, const char *name,
                                bool with_schema, bool for_update, tq_error_t *err)
{
    const char *p[2] = {tenant_id, name};
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT id::text, name, user_id::text, icon, schema_type_str, tools_str, "
             "credentials_str, description, privacy_policy, custom_disclaimer, defs_str, " TS(
                 "created_at") ", " TS("updated_at") "%s FROM tool_api_providers "
                                                     "WHERE tenant_id = $1 AND name = $2%s",
             with_schema ? ", schema" : "", for_update ? " FOR UPDATE" : "");
    PGresult *res = tq_pg_exec(db, err, sql, 2, p);
    if (res && PQntuples(res) == 0) {
        PQclear(res);
        tq_error_set(err, "provider_not_found", "no provider named '%.255s' in this tenant", name);
        return NULL;
    }
    return res;
}

int tq_provider_store_delete(PGconn *db, const char *tenant_id, const char *name,
                             char id[TQ_UUID_STR_LEN + 1], tq_error_t *err)
{
    return id_by_name(
        db, "DELETE FROM tool_api_providers WHERE tenant_id = $1 AND name = $2 RETURNING id",
        tenant_id, name, id, err);
}

PGresult *tq_provider_store_list(PGconn *db, const char *tenant_id, tq_error_t *err)
{
    const char *p[1] = {tenant_id};
    return tq_pg_exec(
        db, err,
        "SELECT id::text, name, schema_type_str, "
        "json_array_length(tools_str::json), description, " TS(
            "updated_at") " "
                          "FROM tool_api_providers WHERE tenant_id = $1 ORDER BY name",
        1, p);
}

PGresult *tq_provider_store_tools(PGconn *db, const char *tenant_id, const char *name,
                                  tq_error_t *err)
{
    const char *p[2] = {tenant_id, name};
    if (!name)
        return tq_pg_exec(db, err,
                          "SELECT id::text, name, tools_str, defs_str FROM tool_api_providers "
                          "WHERE tenant_id = $1 ORDER BY name",
                          1, p);
    PGresult *res = tq_pg_exec(db, err,
                               "SELECT id::text, name, tools_str, defs_str FROM tool_api_providers "
                               "WHERE tenant_id = $1 AND name = $2",
                               2, p);
    if (res && PQntuples(res) == 0) {
        PQclear(res);
        tq_error_set(err, "provider_not_found", "no provider named '%.255s' in this tenant", name);
        return NULL;
    }
    return res;
}

PGresult *tq_provider_store_operation_ids(PGconn *db, const char *tenant_id, const char *ids,
                                          tq_error_t *err)
{
    const char *p[2] = {tenant_id, ids};
    return tq_pg_exec(db, err,
                      "SELECT p.id::text, (SELECT coalesce(json_agg(t->>'operation_id'), '[]') "
                      "FROM json_array_elements(p.tools_str::json) t)::text "
                      "FROM tool_api_providers p WHERE p.tenant_id = $1 AND p.id = ANY($2::uuid[])",
                      2, p);
}

int tq_provider_store_begin(PGconn *db, tq_error_t *err)
{
    return tq_pg_run(db, err, "BEGIN", 0, NULL);
}

int tq_provider_store_commit(PGconn *db, tq_error_t *err)
{
    return tq_pg_run(db, err, "COMMIT", 0, NULL);
}

void tq_provider_store_rollback(PGconn *db)
{
    tq_error_t ignored = {0};
    tq_pg_run(db, &ignored, "ROLLBACK", 0, NULL);
}
