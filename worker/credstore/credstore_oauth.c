/* credstore_oauth.c — the OAuth statements on tq_credentials and
 * tq_credential_refreshes (see credstore_oauth.h): their SQL, parameters
 * and row decoding. Seals and opens only through credstore.c. Must
 * never log, never put a clear token in a row or an error. */
#include "credstore_oauth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "credstore/credstore.h"
#include "ids.h"
#include "pg.h"
#include "mem.h"

int tq_credstore_oauth_save(PGconn *db, tq_vault_t *vault, const char *tenant, const char *name,
                            const char *plugin_id, const json_t *fields, const json_t *metadata,
                            const char *expires_in, char id_out[37], char **expires_at,
                            tq_error_t *err)
{
    *expires_at = NULL;
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
    char *sealed = tq_credstore_seal(vault, tenant, id, fields, err);
    if (!sealed) return -1;
    char *mtext = json_dumps(metadata, JSON_COMPACT);
    if (!mtext) tq_oom();
    const char *p[] = {id, tenant, name, plugin_id, sealed, mtext, expires_in};
    r = tq_pg_exec(db, err,
                   exists ? "UPDATE tq_credentials SET encrypted_data = $5, metadata = $6::jsonb "
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
                            "($1, $2, $3, 'oauth2', $4, $5, $6::jsonb, 'active', CASE WHEN "
                            "$7::text IS NULL THEN NULL ELSE now() + make_interval(secs => "
                            "$7::float8) END, now()) ON CONFLICT (tenant_id, name) DO NOTHING "
                            "RETURNING id, to_char(expires_at AT TIME ZONE 'UTC', "
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
    if (!PQgetisnull(r, 0, 1)) *expires_at = tq_xstrdup(PQgetvalue(r, 0, 1));
    PQclear(r);
    return 0;
}

/* Reads a batch of credentials (by id, or by name when id is null), for a
 * JSON array of {ord, tenant, id, name}. Returns (ord, id, name, status,
 * plugin_id, metadata, expires ms, refreshed ms, now ms, leased) per
 * credential found. */
static const char CHECK_SQL[] =
    "WITH r AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(ord int, tenant uuid, id uuid,"
    " name text)) SELECT r.ord, c.id, c.name, c.status, c.plugin_id, c.metadata::text,"
    " (extract(epoch from c.expires_at) * 1000)::bigint,"
    " (extract(epoch from c.refreshed_at) * 1000)::bigint,"
    " (extract(epoch from now()) * 1000)::bigint,"
    " COALESCE(c.refresh_lease_until > now(), false) FROM r, LATERAL (SELECT * FROM"
    " tq_credentials c WHERE r.id IS NOT NULL AND c.tenant_id = r.tenant AND c.id = r.id UNION"
    " ALL SELECT * FROM tq_credentials c WHERE r.id IS NULL AND c.tenant_id = r.tenant AND"
    " c.name = r.name) c WHERE c.type = 'oauth2'";

/* Takes the lease of a batch of credentials, for a JSON array of {ord,
 * tenant, id, owner} (see tq_credstore_oauth_lease_row). Returns (ord,
 * encrypted_data, status, expires ms, refreshed ms, now ms, metadata) per
 * lease taken. */
static const char LEASE_SQL[] =
    "WITH r AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(ord int, tenant uuid, id uuid,"
    " owner text)), l AS (SELECT c.id, r.ord, r.owner FROM r JOIN tq_credentials c ON"
    " c.tenant_id = r.tenant AND c.id = r.id WHERE c.refresh_lease_until IS NULL OR"
    " c.refresh_lease_until < now() FOR UPDATE OF c SKIP LOCKED) UPDATE tq_credentials c SET"
    " refresh_owner = l.owner, refresh_lease_until = now() + interval '60 seconds'"
    " FROM l WHERE c.id = l.id RETURNING l.ord, c.encrypted_data, c.status,"
    " (extract(epoch from c.expires_at) * 1000)::bigint,"
    " (extract(epoch from c.refreshed_at) * 1000)::bigint,"
    " (extract(epoch from now()) * 1000)::bigint, c.metadata::text";

/* The result of a refresh (fenced by the lease) and its attempt record, for
 * a JSON array of {ord, tenant, id, owner, outcome, error_code, job_id,
 * sealed, expires_in, meta}. Returns (ord, new expires_at text) per stored
 * row. */
static const char STORE_SQL[] =
    "WITH r AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(ord int, tenant uuid, id uuid,"
    " owner text, outcome text, error_code text, job_id text, sealed text, expires_in text,"
    " meta jsonb)),"
    " u AS (UPDATE tq_credentials c SET"
    " encrypted_data = COALESCE(r.sealed, c.encrypted_data),"
    " expires_at = CASE WHEN r.outcome <> 'refreshed' THEN c.expires_at WHEN r.expires_in IS NULL"
    "   THEN NULL ELSE now() + make_interval(secs => r.expires_in::float8) END,"
    " refreshed_at = CASE WHEN r.outcome = 'refreshed' THEN now() ELSE c.refreshed_at END,"
    " status = CASE WHEN r.outcome = 'refreshed' THEN 'active' WHEN r.outcome IN"
    "   ('reauth_required', 'client_changed') THEN r.outcome WHEN c.status = 'active' THEN"
    "   'refresh_failing' ELSE c.status END,"
    " refresh_failures = CASE WHEN r.outcome = 'refreshed' THEN 0 ELSE c.refresh_failures + 1 END,"
    " last_refresh_at = now(), last_refresh_outcome = r.outcome,"
    " last_refresh_error = r.error_code,"
    " metadata = c.metadata || COALESCE(r.meta, '{}'::jsonb),"
    " refresh_owner = NULL, refresh_lease_until = NULL, updated_at = now()"
    " FROM r WHERE c.tenant_id = r.tenant AND c.id = r.id AND c.refresh_owner = r.owner"
    " RETURNING r.ord, c.id, c.tenant_id, r.outcome, r.error_code, r.job_id,"
    " to_char(c.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS e),"
    " i AS (INSERT INTO tq_credential_refreshes (credential_id, "
    "tenant_id, outcome, error_code,"
    " job_id) SELECT id, tenant_id, outcome, error_code, job_id FROM u)"
    " SELECT ord, e FROM u";

PGresult *tq_credstore_oauth_run(PGconn *db, tq_credstore_oauth_stmt_t stmt, const json_t *rows,
                                 tq_error_t *err)
{
    const char *sql = stmt == TQ_CREDSTORE_OAUTH_CHECK   ? CHECK_SQL
                      : stmt == TQ_CREDSTORE_OAUTH_LEASE ? LEASE_SQL
                                                         : STORE_SQL;
    char *text = json_dumps(rows, JSON_COMPACT);
    if (!text) tq_oom();
    const char *p[] = {text};
    PGresult *res = tq_pg_exec(db, err, sql, 1, p);
    free(text);
    return res;
}

static json_t *loaded(json_t *j)
{
    if (!j) tq_oom();
    return j;
}

static int64_t ms_at(const PGresult *res, int row, int col)
{
    return atoll(PQgetvalue(res, row, col)); /* "" (NULL) reads as 0 */
}

json_t *tq_credstore_oauth_check_row(const char *tenant, const char *id, const char *name)
{
    return loaded(
        json_pack("{s:s,s:s?,s:s?}", "tenant", tenant, "id", id, "name", id ? NULL : name));
}

void tq_credstore_oauth_check_read(const PGresult *res, int row, tq_credstore_oauth_check_t *out)
{
    *out = (tq_credstore_oauth_check_t){
        .id = PQgetvalue(res, row, 1),
        .name = PQgetvalue(res, row, 2),
        .status = PQgetvalue(res, row, 3),
        .plugin_id = PQgetvalue(res, row, 4),
        .metadata = json_loads(PQgetvalue(res, row, 5), 0, NULL),
        .expires_ms = ms_at(res, row, 6),
        .refreshed_ms = ms_at(res, row, 7),
        .now_ms = ms_at(res, row, 8),
        .leased = PQgetvalue(res, row, 9)[0] == 't',
    };
}

json_t *tq_credstore_oauth_lease_row(const char *tenant, const char *id, const char *owner)
{
    return loaded(json_pack("{s:s,s:s,s:s}", "tenant", tenant, "id", id, "owner", owner));
}

void tq_credstore_oauth_lease_read(const PGresult *res, int row, tq_credstore_oauth_lease_t *out)
{
    *out = (tq_credstore_oauth_lease_t){
        .sealed = PQgetvalue(res, row, 1),
        .status = PQgetvalue(res, row, 2),
        .expires_ms = ms_at(res, row, 3),
        .refreshed_ms = ms_at(res, row, 4),
        .now_ms = ms_at(res, row, 5),
        .metadata = json_loads(PQgetvalue(res, row, 6), 0, NULL),
    };
}

json_t *tq_credstore_oauth_store_row(tq_vault_t *vault, const char *tenant, const char *id,
                                     const char *owner, const char *outcome, const char *error_code,
                                     const char *job_id, const json_t *fields,
                                     const char *expires_in, json_t *meta, tq_error_t *err)
{
    char *sealed = NULL;
    if (fields && !(sealed = tq_credstore_seal(vault, tenant, id, fields, err))) {
        json_decref(meta);
        return NULL;
    }
    json_t *row = json_pack("{s:s,s:s,s:s,s:s,s:s?,s:s,s:s?,s:s?,s:o?}", "tenant", tenant, "id", id,
                            "owner", owner, "outcome", outcome, "error_code", error_code, "job_id",
                            job_id, "sealed", sealed, "expires_in", expires_in, "meta", meta);
    free(sealed);
    return loaded(row);
}

const char *tq_credstore_oauth_store_read(const PGresult *res, int row)
{
    return PQgetvalue(res, row, 1);
}

int tq_credstore_oauth_release(PGconn *db, const char *tenant, const char *id, const char *owner,
                               tq_error_t *err)
{
    const char *p[] = {tenant, id, owner};
    return tq_pg_run(db, err,
                     "UPDATE tq_credentials SET refresh_owner = NULL, refresh_lease_until = NULL "
                     "WHERE tenant_id = $1 AND id = $2 AND refresh_owner = $3",
                     3, p);
}

tq_credstore_oauth_due_t *tq_credstore_oauth_due(PGconn *db, int window_s, int limit, size_t *n,
                                                 tq_error_t *err)
{
    char win[24], lim[24];
    snprintf(win, sizeof win, "%d", window_s);
    snprintf(lim, sizeof lim, "%d", limit);
    const char *p[] = {win, lim};
    /* every tenant; only ids, tenants, expiry and lifetime are read */
    PGresult *r = tq_pg_exec(
        db, err,
        "SELECT id, tenant_id, (extract(epoch from expires_at) * 1000)::bigint, plugin_id, "
        "(extract(epoch from expires_at - now()) * 1000)::bigint, CASE WHEN "
        "jsonb_typeof(metadata->'expires_in') = 'number' THEN metadata->>'expires_in' END "
        "FROM tq_credentials WHERE type = 'oauth2' AND status IN ('active', "
        "'refresh_failing', 'client_changed') AND expires_at IS NOT NULL AND "
        "expires_at < now() + make_interval(secs => $1::int) AND (refresh_lease_until IS NULL "
        "OR refresh_lease_until < now()) ORDER BY expires_at LIMIT $2::int",
        2, p);
    if (!r) return NULL;
    *n = (size_t)PQntuples(r);
    tq_credstore_oauth_due_t *due = tq_xcalloc(*n + 1, sizeof *due);
    for (size_t i = 0; i < *n; i++) {
        tq_credstore_oauth_due_t *d = &due[i];
        snprintf(d->id, sizeof d->id, "%s", PQgetvalue(r, (int)i, 0));
        snprintf(d->tenant, sizeof d->tenant, "%s", PQgetvalue(r, (int)i, 1));
        d->expires_ms = atoll(PQgetvalue(r, (int)i, 2));
        d->plugin_id = tq_xstrdup(PQgetvalue(r, (int)i, 3));
        d->remaining_ms = atoll(PQgetvalue(r, (int)i, 4));
        d->lifetime_s = atof(PQgetvalue(r, (int)i, 5));
    }
    PQclear(r);
    return due;
}

void tq_credstore_oauth_due_free(tq_credstore_oauth_due_t **due_p, size_t n)
{
    if (!due_p || !*due_p) return;
    for (size_t i = 0; i < n; i++)
        free((*due_p)[i].plugin_id);
    free(*due_p);
    *due_p = NULL;
}
