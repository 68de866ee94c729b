/* keystore.c — persistence of the vault's wrapped tenant keys and of the
 * master key check value in PostgreSQL (tq_tenant_keys, tq_vault_meta), with
 * blocking libpq calls and parameterized statements only.
 *
 * Owns: the SQL for those two tables. Must never: store or log a key
 * unwrapped, build SQL from values, leave a transaction open on error, or
 * replace a stored key version (a version's key bytes never change; only the
 * master rotation re-wraps them). */
#include "keystore.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define CHECK_LEN 32
#define ADD_VERSION_ATTEMPTS 8

/* --- libpq helpers ---------------------------------------------------------- */

/* Sets err from a failed result (primary message only: DETAIL lines may
 * quote row values). Clears res. Returns -1. */
static int db_fail(PGconn *db, PGresult *res, const char *what, tq_error_t *err)
{
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!msg) msg = PQerrorMessage(db);
    char buf[256];
    snprintf(buf, sizeof buf, "%s", msg && msg[0] ? msg : "unknown error");
    buf[strcspn(buf, "\r\n")] = '\0';
    PQclear(res);
    return tq_error_set(err, "db_error", "keystore: %s: %s", what, buf);
}

/* Runs a statement; results (when wanted) come back in binary. NULL on
 * failure, with err set. */
static PGresult *db_exec(PGconn *db, const char *sql, int nparams, const char *const *values,
                         const int *lengths, const int *formats, const char *what, tq_error_t *err)
{
    PGresult *res = PQexecParams(db, sql, nparams, NULL, values, lengths, formats, 1);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        db_fail(db, res, what, err);
        return NULL;
    }
    return res;
}

static int db_command(PGconn *db, const char *sql, tq_error_t *err)
{
    PGresult *res = db_exec(db, sql, 0, NULL, NULL, NULL, sql, err);
    PQclear(res);
    return res ? 0 : -1;
}

static void db_rollback(PGconn *db)
{
    PQclear(PQexec(db, "ROLLBACK"));
}

/* Reads a binary int4 column. */
static int get_int4(const PGresult *res, int row, int col, int *out)
{
    if (PQgetisnull(res, row, col) || PQgetlength(res, row, col) != 4) return -1;
    const unsigned char *p = (const unsigned char *)PQgetvalue(res, row, col);
    uint32_t v = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
    if (v > INT_MAX) return -1;
    *out = (int)v;
    return 0;
}

/* --- master key check --------------------------------------------------------- */

/* 1 = check value found (copied into out), 0 = none, -1 = error. */
static int read_check(PGconn *db, int for_update, unsigned char out[CHECK_LEN], tq_error_t *err)
{
    const char *sql = for_update ? "SELECT master_check FROM tq_vault_meta WHERE id = 1 FOR UPDATE"
                                 : "SELECT master_check FROM tq_vault_meta WHERE id = 1";
    PGresult *res = db_exec(db, sql, 0, NULL, NULL, NULL, "reading the master key check", err);
    if (!res) return -1;
    int found = PQntuples(res) == 1;
    if (found && PQgetlength(res, 0, 0) != CHECK_LEN) {
        PQclear(res);
        return tq_error_set(err, "master_key_mismatch",
                            "the stored master key check value is malformed");
    }
    if (found) memcpy(out, PQgetvalue(res, 0, 0), CHECK_LEN);
    PQclear(res);
    return found;
}

static int mismatch(tq_error_t *err)
{
    return tq_error_set(err, "master_key_mismatch",
                        "the master key does not match this database; a new key would orphan "
                        "every stored secret");
}

/* 1 when any tenant key is stored, 0 when none, -1 on error. */
static int any_tenant_keys(PGconn *db, tq_error_t *err)
{
    PGresult *res = db_exec(db, "SELECT 1 FROM tq_tenant_keys LIMIT 1", 0, NULL, NULL, NULL,
                            "looking for tenant keys", err);
    if (!res) return -1;
    int any = PQntuples(res) > 0;
    PQclear(res);
    return any;
}

static int record_check(PGconn *db, const unsigned char check[CHECK_LEN], tq_error_t *err)
{
    const char *values[] = {(const char *)check};
    const int lengths[] = {CHECK_LEN}, formats[] = {1};
    PGresult *res = db_exec(db,
                            "INSERT INTO tq_vault_meta (id, master_check) VALUES (1, $1) "
                            "ON CONFLICT (id) DO NOTHING",
                            1, values, lengths, formats, "recording the master key check", err);
    PQclear(res);
    return res ? 0 : -1;
}

static int all_zero(const unsigned char *p, size_t n)
{
    unsigned char acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

int tq_keystore_check_master(PGconn *db, const tq_vault_t *vault, tq_error_t *err)
{
    unsigned char mine[CHECK_LEN], stored[CHECK_LEN];
    tq_vault_master_check(vault, mine);
    if (all_zero(mine, CHECK_LEN))
        return tq_error_set(err, "internal", "cannot compute the master key check value");
    int found = read_check(db, 0, stored, err);
    if (found < 0) return -1;
    if (!found) {
        int any = any_tenant_keys(db, err);
        if (any < 0) return -1;
        if (any)
            return tq_error_set(err, "master_key_mismatch",
                                "this database holds tenant keys but no master key check value; "
                                "refusing to guess which master key wrapped them");
        /* Fresh database. Two processes may race here: the first insert
         * wins, and the re-read below compares against the winner. */
        if (record_check(db, mine, err) != 0 || (found = read_check(db, 0, stored, err)) < 0)
            return -1;
        if (!found) return tq_error_set(err, "db_error", "keystore: the master key check vanished");
    }
    return CRYPTO_memcmp(mine, stored, CHECK_LEN) == 0 ? 0 : mismatch(err);
}

/* --- tenant keys ---------------------------------------------------------------- */

/* Installs every stored version of the tenant; returns how many, or -1. */
static int load_tenant(PGconn *db, tq_vault_t *vault, const char *tenant_id, tq_error_t *err)
{
    const char *values[] = {tenant_id};
    PGresult *res = db_exec(db,
                            "SELECT version, wrapped_key FROM tq_tenant_keys WHERE tenant_id = $1 "
                            "ORDER BY version",
                            1, values, NULL, NULL, "loading tenant keys", err);
    if (!res) return -1;
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        int version = 0;
        if (get_int4(res, i, 0, &version) != 0) {
            PQclear(res);
            return tq_error_set(err, "db_error", "keystore: bad version for tenant %s", tenant_id);
        }
        const unsigned char *wrapped = (const unsigned char *)PQgetvalue(res, i, 1);
        size_t len = (size_t)PQgetlength(res, i, 1);
        if (tq_vault_add_key(vault, tenant_id, version, wrapped, len, err) != 0) {
            PQclear(res);
            return -1;
        }
    }
    PQclear(res);
    return n;
}

/* Generates and stores a key for (tenant, version) unless that version
 * exists. Returns 1 when this call inserted it, 0 when another did, -1. */
static int insert_version(PGconn *db, tq_vault_t *vault, const char *tenant_id, int version,
                          tq_error_t *err)
{
    unsigned char *wrapped = NULL;
    size_t wrapped_len = 0;
    if (tq_vault_generate_key(vault, tenant_id, version, &wrapped, &wrapped_len, err) != 0)
        return -1;
    char vbuf[16];
    snprintf(vbuf, sizeof vbuf, "%d", version);
    const char *values[] = {tenant_id, vbuf, (const char *)wrapped};
    const int lengths[] = {0, 0, (int)wrapped_len}, formats[] = {0, 0, 1};
    PGresult *res = db_exec(db,
                            "INSERT INTO tq_tenant_keys (tenant_id, version, wrapped_key) "
                            "VALUES ($1, $2, $3) ON CONFLICT (tenant_id, version) DO NOTHING",
                            3, values, lengths, formats, "storing a tenant key", err);
    free(wrapped);
    if (!res) return -1;
    int inserted = atoi(PQcmdTuples(res)) == 1;
    PQclear(res);
    return inserted;
}

static int check_tenant(const char *tenant_id, tq_error_t *err)
{
    if (!tenant_id || !tenant_id[0])
        return tq_error_set(err, "invalid_argument", "keystore: tenant id missing");
    return 0;
}

int tq_keystore_ensure_tenant(PGconn *db, tq_vault_t *vault, const char *tenant_id, tq_error_t *err)
{
    if (check_tenant(tenant_id, err) != 0) return -1;
    int n = load_tenant(db, vault, tenant_id, err);
    if (n != 0) return n > 0 ? 0 : -1;
    /* None stored: create version 1. A racing process may win the insert;
     * either way the stored row is what everyone loads. */
    if (insert_version(db, vault, tenant_id, 1, err) < 0) return -1;
    n = load_tenant(db, vault, tenant_id, err);
    if (n < 0) return -1;
    if (n == 0)
        return tq_error_set(err, "db_error", "keystore: tenant %s has no key after creating one",
                            tenant_id);
    return 0;
}

/* Highest stored version of the tenant (0 when none), or -1. */
static int max_version(PGconn *db, const char *tenant_id, tq_error_t *err)
{
    const char *values[] = {tenant_id};
    PGresult *res = db_exec(db,
                            "SELECT COALESCE(max(version), 0) FROM tq_tenant_keys "
                            "WHERE tenant_id = $1",
                            1, values, NULL, NULL, "reading the tenant key version", err);
    if (!res) return -1;
    int v = -1;
    if (PQntuples(res) != 1 || get_int4(res, 0, 0, &v) != 0)
        tq_error_set(err, "db_error", "keystore: bad key version for tenant %s", tenant_id);
    PQclear(res);
    return v;
}

int tq_keystore_add_version(PGconn *db, tq_vault_t *vault, const char *tenant_id, tq_error_t *err)
{
    if (check_tenant(tenant_id, err) != 0) return -1;
    /* Another process may take the same next number; then try the one after. */
    for (int attempt = 0; attempt < ADD_VERSION_ATTEMPTS; attempt++) {
        int top = max_version(db, tenant_id, err);
        if (top < 0) return -1;
        if (top == INT_MAX)
            return tq_error_set(err, "invalid_argument", "tenant %s has no key version left",
                                tenant_id);
        int inserted = insert_version(db, vault, tenant_id, top + 1, err);
        if (inserted < 0) return -1;
        if (inserted) {
            const char *values[] = {TQ_KEYS_CHANNEL, tenant_id};
            PGresult *res = db_exec(db, "SELECT pg_notify($1, $2)", 2, values, NULL, NULL,
                                    "announcing a key version", err);
            if (!res) return -1;
            PQclear(res);
            return load_tenant(db, vault, tenant_id, err) < 0 ? -1 : top + 1;
        }
    }
    return tq_error_set(err, "db_error",
                        "keystore: could not add a key version for tenant %s (too much contention)",
                        tenant_id);
}

/* --- master key rotation ---------------------------------------------------------- */

static int update_wrapped(PGconn *db, const char *tenant_id, int version,
                          const unsigned char *wrapped, size_t wrapped_len, tq_error_t *err)
{
    char vbuf[16];
    snprintf(vbuf, sizeof vbuf, "%d", version);
    const char *values[] = {tenant_id, vbuf, (const char *)wrapped};
    const int lengths[] = {0, 0, (int)wrapped_len}, formats[] = {0, 0, 1};
    PGresult *res = db_exec(db,
                            "UPDATE tq_tenant_keys SET wrapped_key = $3 "
                            "WHERE tenant_id = $1 AND version = $2",
                            3, values, lengths, formats, "re-wrapping a tenant key", err);
    if (!res) return -1;
    int updated = atoi(PQcmdTuples(res)) == 1;
    PQclear(res);
    if (!updated)
        return tq_error_set(err, "db_error", "keystore: key of tenant %s version %d vanished",
                            tenant_id, version);
    return 0;
}

/* Re-wraps every row of a locked SELECT; returns the count or -1. */
static int rewrap_rows(PGconn *db, const PGresult *rows, const tq_vault_t *old_master,
                       const tq_vault_t *new_master, tq_error_t *err)
{
    int n = PQntuples(rows);
    for (int i = 0; i < n; i++) {
        const char *tenant_id = PQgetvalue(rows, i, 0);
        int version = 0;
        if (get_int4(rows, i, 1, &version) != 0)
            return tq_error_set(err, "db_error", "keystore: bad version for tenant %s", tenant_id);
        unsigned char *wrapped = NULL;
        size_t wrapped_len = 0;
        if (tq_vault_rewrap_stored(old_master, new_master, tenant_id, version,
                                   (const unsigned char *)PQgetvalue(rows, i, 2),
                                   (size_t)PQgetlength(rows, i, 2), &wrapped, &wrapped_len,
                                   err) != 0)
            return -1;
        int rc = update_wrapped(db, tenant_id, version, wrapped, wrapped_len, err);
        free(wrapped);
        if (rc != 0) return -1;
    }
    return n;
}

static int replace_check(PGconn *db, const tq_vault_t *new_master, tq_error_t *err)
{
    unsigned char check[CHECK_LEN];
    tq_vault_master_check(new_master, check);
    if (all_zero(check, CHECK_LEN))
        return tq_error_set(err, "internal", "cannot compute the master key check value");
    const char *values[] = {(const char *)check};
    const int lengths[] = {CHECK_LEN}, formats[] = {1};
    PGresult *res = db_exec(db,
                            "UPDATE tq_vault_meta SET master_check = $1, rotated_at = now() "
                            "WHERE id = 1",
                            1, values, lengths, formats, "replacing the master key check", err);
    PQclear(res);
    return res ? 0 : -1;
}

/* The body of the rotation transaction; the caller commits or rolls back. */
static int rotate_locked(PGconn *db, const tq_vault_t *old_master, const tq_vault_t *new_master,
                         tq_error_t *err)
{
    unsigned char stored[CHECK_LEN], mine[CHECK_LEN];
    int found = read_check(db, 1, stored, err);
    if (found < 0) return -1;
    if (!found)
        return tq_error_set(err, "master_key_mismatch",
                            "this database has no master key check value to rotate from");
    tq_vault_master_check(old_master, mine);
    if (CRYPTO_memcmp(mine, stored, CHECK_LEN) != 0) return mismatch(err);

    PGresult *rows = db_exec(db,
                             "SELECT tenant_id, version, wrapped_key FROM tq_tenant_keys "
                             "ORDER BY tenant_id, version FOR UPDATE",
                             0, NULL, NULL, NULL, "locking tenant keys", err);
    if (!rows) return -1;
    int n = rewrap_rows(db, rows, old_master, new_master, err);
    PQclear(rows);
    if (n < 0 || replace_check(db, new_master, err) != 0) return -1;
    return n;
}

int tq_keystore_rotate_master(PGconn *db, const tq_vault_t *old_master,
                              const tq_vault_t *new_master, tq_error_t *err)
{
    if (PQtransactionStatus(db) != PQTRANS_IDLE)
        return tq_error_set(err, "invalid_argument",
                            "keystore: master rotation needs a connection outside a transaction");
    if (db_command(db, "BEGIN", err) != 0) return -1;
    int n = rotate_locked(db, old_master, new_master, err);
    if (n < 0 || db_command(db, "COMMIT", err) != 0) {
        db_rollback(db);
        return -1;
    }
    return n;
}
