/* credstore.c — SQL and sealing for tq_credentials: the op
 * handlers' statements, and the one seal and open of encrypted_data
 * (credstore_oauth.c has the OAuth statements and seals through here).
 * Must never log, never return clear secrets except through
 * tq_credstore_load (for a call in progress). */
#include "credstore.h"
#include "vault.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "ids.h"
#include "pg.h"
#include "mem.h"

#define TABLE "tq_credentials"
#define COLUMN "encrypted_data"
#define TQ_CREDENTIAL_SHOW_REFRESHES 20 /* refresh attempts shown by credential.get */

static const char *const PUBLIC_FIELDS[] = {"username",
                                            "location",
                                            "name",
                                            "prefix",
                                            "custom_prefix",
                                            "region",
                                            "service",
                                            "content_sha256",
                                            "api_key_header",
                                            "api_key_query_param",
                                            "api_key_header_prefix",
                                            "api_key_custom_prefix",
                                            "token_type",
                                            "scope",
                                            NULL};

int tq_credstore_field_is_public(const char *name)
{
    for (int i = 0; PUBLIC_FIELDS[i]; i++)
        if (!strcasecmp(name, PUBLIC_FIELDS[i])) return 1;
    return 0;
}

static int is_secret_field(const char *name)
{
    return !tq_credstore_field_is_public(name);
}

json_t *tq_credstore_mask_fields(const json_t *fields)
{
    return tq_mask_object(fields, is_secret_field);
}

char *tq_credstore_seal(tq_vault_t *vault, const char *tenant_id, const char *id,
                        const json_t *fields, tq_error_t *err)
{
    tq_aad_t aad = {tenant_id, TABLE, COLUMN, id};
    char *plain = json_dumps(fields, JSON_COMPACT | JSON_SORT_KEYS);
    if (!plain) tq_oom();
    char *sealed = tq_vault_seal_text(vault, &aad, plain, err);
    tq_secure_free_str(plain);
    return sealed;
}

json_t *tq_credstore_open(tq_vault_t *vault, const char *tenant_id, const char *id,
                          const char *sealed, tq_error_t *err)
{
    tq_aad_t aad = {tenant_id, TABLE, COLUMN, id};
    return tq_vault_open_json(vault, &aad, sealed, "credential_corrupt", err);
}

int tq_credstore_create(PGconn *db, tq_vault_t *vault, const char *tenant_id, const char *name,
                        const char *type, const char *plugin_id, const json_t *fields,
                        const json_t *metadata, char id_out[37], tq_error_t *err)
{
    char id[TQ_UUID_STR_LEN + 1];
    tq_uuid_v7(id);
    char *sealed = tq_credstore_seal(vault, tenant_id, id, fields, err);
    if (!sealed) return -1;
    char *meta = json_is_object(metadata) ? json_dumps(metadata, JSON_COMPACT) : strdup("{}");
    const char *p[] = {id, tenant_id, name, type, plugin_id, sealed, meta};
    PGresult *r = tq_pg_exec(db, err,
                             "INSERT INTO tq_credentials (id, tenant_id, name, type, plugin_id, "
                             "encrypted_data, metadata) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb) "
                             "ON CONFLICT (tenant_id, name) DO NOTHING RETURNING id",
                             7, p);
    free(sealed);
    free(meta);
    if (!r) return -1;
    int inserted = PQntuples(r) == 1;
    PQclear(r);
    if (!inserted)
        return tq_error_set(err, "credential_exists", "a credential named %s already exists", name);
    if (id_out) memcpy(id_out, id, sizeof id);
    return 0;
}

json_t *tq_credstore_bind_origins(PGconn *db, const char *tenant_id, const char *name,
                                  const json_t *origins, tq_error_t *err)
{
    char *o = json_dumps(origins, JSON_COMPACT);
    const char *p[] = {tenant_id, name, o ? o : "[]"};
    PGresult *r = tq_pg_exec(db, err,
                             "UPDATE tq_credentials SET metadata = CASE WHEN metadata ? 'origins' "
                             "THEN metadata ELSE jsonb_set(metadata, '{origins}', $3::jsonb) END, "
                             "updated_at = now() WHERE tenant_id = $1 AND name = $2 "
                             "RETURNING (metadata->'origins')::text",
                             3, p);
    free(o);
    if (!r) return NULL;
    json_t *out = PQntuples(r) == 1 ? json_loads(PQgetvalue(r, 0, 0), 0, NULL) : NULL;
    PQclear(r);
    if (!out) tq_error_set(err, "credential_not_found", "no credential named %s", name);
    return out;
}

/* The columns both readers select, in this order. */
#define CRED_COLUMNS                                                                               \
    "id, type, plugin_id, status, encrypted_data, "                                                \
    "(extract(epoch from expires_at) * 1000)::bigint, metadata::text"

/* One row of CRED_COLUMNS, opened: NULL with err when absent or unreadable. */
static tq_credstore_cred_t *from_row(PGresult *r, tq_vault_t *vault, const char *tenant_id,
                                     const char *name, tq_error_t *err)
{
    if (PQntuples(r) != 1) {
        PQclear(r);
        tq_error_set(err, "credential_not_found", "no credential named %s", name);
        return NULL;
    }
    tq_credstore_cred_t *c = tq_xcalloc(1, sizeof *c);
    snprintf(c->id, sizeof c->id, "%s", PQgetvalue(r, 0, 0));
    c->name = tq_xstrdup(name);
    c->type = tq_xstrdup(PQgetvalue(r, 0, 1));
    c->plugin_id = tq_xstrdup(PQgetvalue(r, 0, 2));
    c->status = tq_xstrdup(PQgetvalue(r, 0, 3));
    c->expires_at_ms = PQgetisnull(r, 0, 5) ? 0 : atoll(PQgetvalue(r, 0, 5));
    c->metadata = json_loads(PQgetvalue(r, 0, 6), 0, NULL);
    c->fields = tq_credstore_open(vault, tenant_id, c->id, PQgetvalue(r, 0, 4), err);
    PQclear(r);
    if (!c->fields) tq_credstore_free(&c);
    return c;
}

tq_credstore_cred_t *tq_credstore_load(PGconn *db, tq_vault_t *vault, const char *tenant_id,
                                       const char *name, tq_error_t *err)
{
    const char *p[] = {tenant_id, name};
    PGresult *r = tq_pg_exec(db, err,
                             "SELECT " CRED_COLUMNS " FROM tq_credentials"
                             " WHERE tenant_id = $1 AND name = $2",
                             2, p);
    return r ? from_row(r, vault, tenant_id, name, err) : NULL;
}

void tq_credstore_free(tq_credstore_cred_t **cred_p)
{
    if (!cred_p || !*cred_p) return;
    tq_credstore_cred_t *c = *cred_p;
    if (c->fields) {
        const char *k;
        json_t *v;
        json_object_foreach(c->fields, k, v)
        {
            if (json_is_string(v))
                tq_secure_wipe((char *)json_string_value(v), json_string_length(v));
        }
        json_decref(c->fields);
    }
    json_decref(c->metadata);
    free(c->name);
    free(c->type);
    free(c->plugin_id);
    free(c->status);
    free(c);
    *cred_p = NULL;
}

static json_t *row_json(PGresult *r, int i)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", PQgetvalue(r, i, 0), "name",
                          PQgetvalue(r, i, 1), "type", PQgetvalue(r, i, 2), "plugin",
                          PQgetvalue(r, i, 3), "status", PQgetvalue(r, i, 4));
    json_object_set_new(o, "expires_at",
                        PQgetisnull(r, i, 5) ? json_null() : json_string(PQgetvalue(r, i, 5)));
    json_object_set_new(o, "metadata", json_loads(PQgetvalue(r, i, 6), 0, NULL));
    json_object_set_new(o, "created_at", json_string(PQgetvalue(r, i, 7)));
    json_object_set_new(o, "updated_at", json_string(PQgetvalue(r, i, 8)));
    return o;
}

#define ROW_COLS                                                                                   \
    "id, name, type, plugin_id, status, "                                                          \
    "to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), metadata::text, "   \
    "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "                   \
    "to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

json_t *tq_credstore_list(PGconn *db, const char *tenant_id, tq_error_t *err)
{
    const char *p[] = {tenant_id};
    PGresult *r = tq_pg_exec(
        db, err, "SELECT " ROW_COLS " FROM tq_credentials WHERE tenant_id = $1 ORDER BY name", 1,
        p);
    if (!r) return NULL;
    json_t *a = json_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(a, row_json(r, i));
    PQclear(r);
    return a;
}

/* The last TQ_CREDENTIAL_SHOW_REFRESHES refresh attempts, newest first:
 * [{at, outcome, error_code}] (error codes only: never a message). */
static json_t *refresh_attempts(PGconn *db, const char *tenant_id, const char *id, tq_error_t *err)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", TQ_CREDENTIAL_SHOW_REFRESHES);
    const char *p[] = {tenant_id, id, lim};
    PGresult *r = tq_pg_exec(
        db, err,
        "SELECT to_char(attempted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
        "outcome, error_code FROM tq_credential_refreshes WHERE tenant_id = $1 AND "
        "credential_id = $2 ORDER BY attempted_at DESC, id DESC LIMIT $3::int",
        3, p);
    if (!r) return NULL;
    json_t *a = json_array();
    for (int i = 0; i < PQntuples(r); i++) {
        json_t *e =
            json_pack("{s:s,s:s}", "at", PQgetvalue(r, i, 0), "outcome", PQgetvalue(r, i, 1));
        json_object_set_new(e, "error_code",
                            PQgetisnull(r, i, 2) ? json_null() : json_string(PQgetvalue(r, i, 2)));
        json_array_append_new(a, e);
    }
    PQclear(r);
    return a;
}

json_t *tq_credstore_show(PGconn *db, tq_vault_t *vault, const char *tenant_id, const char *name,
                          tq_error_t *err)
{
    const char *p[] = {tenant_id, name};
    PGresult *r = tq_pg_exec(
        db, err, "SELECT " ROW_COLS " FROM tq_credentials WHERE tenant_id = $1 AND name = $2", 2,
        p);
    if (!r) return NULL;
    if (PQntuples(r) != 1) {
        PQclear(r);
        tq_error_set(err, "credential_not_found", "no credential named %s", name);
        return NULL;
    }
    json_t *o = row_json(r, 0);
    PQclear(r);
    tq_credstore_cred_t *c = tq_credstore_load(db, vault, tenant_id, name, err);
    if (!c) {
        json_decref(o);
        return NULL;
    }
    json_object_set_new(o, "fields", tq_credstore_mask_fields(c->fields));
    if (!strcmp(c->type, "oauth2")) {
        json_t *a = refresh_attempts(db, tenant_id, c->id, err);
        if (!a) {
            tq_credstore_free(&c);
            json_decref(o);
            return NULL;
        }
        json_object_set_new(o, "refresh_attempts", a);
    }
    tq_credstore_free(&c);
    return o;
}

int tq_credstore_delete(PGconn *db, const char *tenant_id, const char *name, tq_error_t *err)
{
    const char *p[] = {tenant_id, name};
    PGresult *r = tq_pg_exec(db, err,
                             "DELETE FROM tq_credentials WHERE tenant_id = $1 AND name = $2 "
                             "RETURNING id",
                             2, p);
    if (!r) return -1;
    int n = PQntuples(r);
    PQclear(r);
    if (n != 1) return tq_error_set(err, "credential_not_found", "no credential named %s", name);
    return 0;
}

tq_credstore_cred_t *tq_credstore_take(PGconn *db, tq_vault_t *vault, const char *tenant_id,
                                       const char *name, int *deleted, tq_error_t *err)
{
    *deleted = 0;
    const char *p[] = {tenant_id, name};
    PGresult *r = tq_pg_exec(db, err,
                             "DELETE FROM tq_credentials WHERE tenant_id = $1 AND name = $2"
                             " RETURNING " CRED_COLUMNS,
                             2, p);
    if (!r) return NULL;
    *deleted = PQntuples(r) == 1;
    return from_row(r, vault, tenant_id, name, err);
}
