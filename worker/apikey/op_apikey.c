/* op_apikey.c — the API key ops (common/ops.def; keys: docs/api.md):
 *
 *   apikey.create {"hash": H, "name": N?, "expires_in_s": S?, "tools": P?}
 *       stores a key with role tenant for the job's tenant; P limits what
 *       the key reaches over MCP ("provider/operation" globs, comma-separated,
 *       schemas/009_apikey_tools.sql). H is the SHA-256 hex of a key
 *       the caller drew (the toolq command: common/apitoken.h), so the key
 *       itself never reaches a payload, a result or the journal.
 *   apikey.grant {"tenant": T, "role": R, "hash": H, "name": N?,
 *       "expires_in_s": S?, "tools": P?}  (operators only) the same with any role.
 *   apikey.list {}  the tenant's keys: id, name, role, created_at,
 *       expires_at, revoked_at — never a hash.
 *   apikey.revoke {"key": ID-or-NAME}  marks a live key revoked.
 *
 * Owns the SQL on tq_api_keys (the broker's HTTP listener only reads it,
 * broker/apikey.c). Must never: accept a key in clear, return a hash, touch
 * another tenant's keys. */
#include "op.h"

#include "apitoken.h"
#include "ids.h"
#include "opcat.h"
#include "pg.h"

#include <stdio.h>
#include <string.h>

#define MAX_NAME 127
#define MAX_EXPIRES_S (10LL * 366 * 86400)
#define MAX_TOOLS 1000

/* "provider/operation" globs separated by commas, each part non-empty and
 * without '/' or ',' (the CHECK of schemas/009_apikey_tools.sql). */
static bool tools_ok(const char *t)
{
    size_t n = strlen(t);
    if (n < 3 || n > MAX_TOOLS) return false;
    for (const char *p = t;;) {
        size_t len = strcspn(p, ","), a = strcspn(p, "/,");
        if (!a || a >= len || p[a + 1] == ',' || a + 1 == len ||
            memchr(p + a + 1, '/', len - a - 1))
            return false;
        if (!p[len]) return true;
        p += len + 1;
    }
}

static void fail_db(tq_job_t *job, const tq_error_t *err)
{
    tq_job_fail_err(job, err, tq_error_retryable(err->code));
}

/* Stores a key for tenant with role; the payload gives hash, name, expiry. */
static void store(tq_job_t *job, const char *tenant, const char *role)
{
    json_t *pl = tq_job_payload(job);
    const char *hash = json_string_value(json_object_get(pl, "hash"));
    json_t *jname = json_object_get(pl, "name"), *jexp = json_object_get(pl, "expires_in_s");
    json_t *jtools = json_object_get(pl, "tools");
    const char *name = jname ? json_string_value(jname) : "";
    const char *tools = jtools ? json_string_value(jtools) : NULL;
    if (jtools && (!tools || !tools_ok(tools))) {
        tq_job_fail(job, "invalid_payload",
                    "tools: \"provider/operation\" globs separated by commas, at most 1000 "
                    "characters (e.g. \"github/*,petstore/getPetById\")",
                    false);
        return;
    }
    char uuid[TQ_UUID_STR_LEN + 1], id[TQ_UUID_STR_LEN + 1], exp[32] = "";
    bool printable = name != NULL;
    for (const char *c = name; c && *c; c++)
        printable &= (unsigned char)*c >= 0x20 && *c != 0x7f; /* names reach log lines */
    if (!tq_apitoken_hash_ok(hash) || !printable || strlen(name) > MAX_NAME ||
        (jexp && (!json_is_integer(jexp) || json_integer_value(jexp) < 1 ||
                  json_integer_value(jexp) > MAX_EXPIRES_S))) {
        tq_job_fail(job, "invalid_payload",
                    "needs {\"hash\": SHA-256 hex of the key, \"name\": up to 127 printable "
                    "characters, "
                    "\"expires_in_s\": 1..316224000}",
                    false);
        return;
    }
    if (!tenant || !*tenant || tenant[0] == '*' || tq_tenant_uuid(tenant, uuid) != 0) {
        tq_job_fail(job, "invalid_payload",
                    "an API key needs a tenant (1-255 characters, not *...*)", false);
        return;
    }
    if (!*name) name = NULL;
    if (jexp) snprintf(exp, sizeof exp, "%lld", (long long)json_integer_value(jexp));
    tq_uuid_v7(id);
    tq_error_t err = {0};
    PGconn *db = tq_job_db(job, &err);
    if (!db) {
        fail_db(job, &err);
        return;
    }
    char gen_name[48];
    if (!name) { /* unnamed keys are named after their id, so names stay unique */
        snprintf(gen_name, sizeof gen_name, "key-%.8s", id + 28);
        name = gen_name;
    }
    const char *p[] = {id, hash, tenant, uuid, name, role, exp[0] ? exp : NULL, tools};
    PGresult *r =
        tq_pg_exec(db, &err,
                   "INSERT INTO tq_api_keys (id, key_hash, tenant, tenant_id, name, role, "
                   "expires_at, tools) VALUES ($1, $2, $3, $4, $5, $6, "
                   "now() + make_interval(secs => $7::bigint), $8) "
                   "ON CONFLICT DO NOTHING RETURNING created_at, expires_at",
                   8, p);
    if (!r) {
        fail_db(job, &err);
        return;
    }
    if (PQntuples(r) != 1) {
        PQclear(r);
        tq_job_fail(job, "apikey_exists",
                    "the tenant already has a live API key with this name (or this key)", false);
        return;
    }
    json_t *out = json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", id, "name", name, "tenant", tenant,
                            "role", role, "created_at", PQgetvalue(r, 0, 0));
    json_object_set_new(out, "expires_at",
                        PQgetisnull(r, 0, 1) ? json_null() : json_string(PQgetvalue(r, 0, 1)));
    json_object_set_new(out, "tools", tools ? json_string(tools) : json_null());
    PQclear(r);
    tq_job_done(job, out);
}

static void create_start(tq_job_t *job)
{
    store(job, tq_job_tenant(job), "tenant");
}

static void grant_start(tq_job_t *job)
{
    json_t *pl = tq_job_payload(job);
    const char *tenant = json_string_value(json_object_get(pl, "tenant"));
    const char *role = json_string_value(json_object_get(pl, "role"));
    if (tq_role_parse(role) == TQ_ROLE_NONE) {
        tq_job_fail(job, "invalid_payload",
                    "apikey.grant needs \"role\": tenant, integrator or operator", false);
        return;
    }
    store(job, tenant, role);
}

static void list_start(tq_job_t *job)
{
    tq_error_t err = {0};
    PGconn *db = tq_job_db(job, &err);
    const char *p[] = {tq_job_tenant_uuid(job)};
    PGresult *r = db ? tq_pg_exec(db, &err,
                                  "SELECT id, name, role, created_at, expires_at, revoked_at, "
                                  "expires_at IS NOT NULL AND expires_at <= now() "
                                  "FROM tq_api_keys WHERE tenant_id = $1 ORDER BY created_at, id",
                                  1, p)
                     : NULL;
    if (!r) {
        fail_db(job, &err);
        return;
    }
    json_t *keys = json_array();
    for (int i = 0; i < PQntuples(r); i++) {
        json_t *k =
            json_pack("{s:s,s:s,s:s,s:s}", "id", PQgetvalue(r, i, 0), "name", PQgetvalue(r, i, 1),
                      "role", PQgetvalue(r, i, 2), "created_at", PQgetvalue(r, i, 3));
        json_object_set_new(k, "expires_at",
                            PQgetisnull(r, i, 4) ? json_null() : json_string(PQgetvalue(r, i, 4)));
        json_object_set_new(k, "revoked_at",
                            PQgetisnull(r, i, 5) ? json_null() : json_string(PQgetvalue(r, i, 5)));
        json_object_set_new(k, "state",
                            json_string(!PQgetisnull(r, i, 5)           ? "revoked"
                                        : PQgetvalue(r, i, 6)[0] == 't' ? "expired"
                                                                        : "live"));
        json_array_append_new(keys, k);
    }
    PQclear(r);
    tq_job_done(job, json_pack("{s:o}", "keys", keys));
}

static void revoke_start(tq_job_t *job)
{
    const char *key = json_string_value(json_object_get(tq_job_payload(job), "key"));
    if (!key || !*key || strlen(key) > MAX_NAME) {
        tq_job_fail(job, "invalid_payload", "apikey.revoke needs {\"key\": ID or NAME}", false);
        return;
    }
    tq_error_t err = {0};
    PGconn *db = tq_job_db(job, &err);
    const char *p[] = {tq_job_tenant_uuid(job), key, tq_uuid_valid(key) ? key : NULL};
    PGresult *r = db ? tq_pg_exec(db, &err,
                                  "UPDATE tq_api_keys SET revoked_at = now() WHERE tenant_id = $1 "
                                  "AND revoked_at IS NULL AND (name = $2 OR id = $3::uuid) "
                                  "RETURNING id, name",
                                  3, p)
                     : NULL;
    if (!r) {
        fail_db(job, &err);
        return;
    }
    if (PQntuples(r) != 1) {
        PQclear(r);
        tq_job_fail(job, "apikey_not_found", "the tenant has no live API key with this id or name",
                    false);
        return;
    }
    json_t *out = json_pack("{s:s,s:s,s:b}", "id", PQgetvalue(r, 0, 0), "name", PQgetvalue(r, 0, 1),
                            "revoked", 1);
    PQclear(r);
    tq_job_done(job, out);
}

const tq_op_t tq_op_apikey_create = {"apikey.create", create_start};
const tq_op_t tq_op_apikey_grant = {"apikey.grant", grant_start};
const tq_op_t tq_op_apikey_list = {"apikey.list", list_start};
const tq_op_t tq_op_apikey_revoke = {"apikey.revoke", revoke_start};
