/* migrations.c — applies the embedded schemas/NNN_*.sql files in order under
 * a session advisory lock, recording each in tq_migrations with the SHA-256
 * of its text. Never edits or re-runs an applied migration; refuses to start
 * (migration_changed) when an applied migration's text has changed since. */
#include "migrations.h"

#include "log.h"
#include "pg.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Arbitrary constant: the advisory lock key for migrations. */
#define MIGRATION_LOCK_KEY "7214530123"
#define CHECKSUM_LEN 64 /* hex SHA-256 */

static int checksum(const tq_migration_t *m, char out[CHECKSUM_LEN + 1], tq_error_t *err)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!EVP_Digest(m->sql, strlen(m->sql), md, &n, EVP_sha256(), NULL) || n * 2 != CHECKSUM_LEN)
        return tq_error_set(err, "crypto_error", "cannot hash migration %s", m->name);
    for (unsigned i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return 0;
}

static int apply_one(PGconn *db, const tq_migration_t *m, const char *sum, tq_error_t *err)
{
    const char *p[2] = {m->name, sum};
    if (tq_pg_run(db, err, "BEGIN", 0, NULL)) return -1;
    PGresult *r = PQexec(db, m->sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        tq_error_set(err, "migration_failed", "%s: %s", m->name, PQresultErrorMessage(r));
        PQclear(r);
        PQclear(PQexec(db, "ROLLBACK"));
        return -1;
    }
    PQclear(r);
    if (tq_pg_run(db, err, "INSERT INTO tq_migrations (name, checksum) VALUES ($1, $2)", 2, p) ||
        tq_pg_run(db, err, "COMMIT", 0, NULL)) {
        PQclear(PQexec(db, "ROLLBACK"));
        return -1;
    }
    tq_info("applied migration %s", m->name);
    return 0;
}

/* An applied migration: its recorded checksum must match the embedded text.
 * A row from before checksums were recorded (NULL) takes today's. */
static int verify_one(PGconn *db, const tq_migration_t *m, const char *sum, const char *recorded,
                      tq_error_t *err)
{
    if (recorded) {
        if (strcmp(recorded, sum) == 0) return 0;
        return tq_error_set(err, "migration_changed",
                            "schemas/%s was edited after it was applied to this database "
                            "(checksum %.12s..., applied %.12s...); never edit an applied "
                            "migration: restore it and add a new one",
                            m->name, sum, recorded);
    }
    const char *p[2] = {m->name, sum};
    if (tq_pg_run(db, err,
                  "UPDATE tq_migrations SET checksum = $2 WHERE name = $1 AND checksum IS NULL", 2,
                  p))
        return -1;
    tq_info("recorded the checksum of applied migration %s", m->name);
    return 0;
}

int tq_migrate_list(PGconn *db, const tq_migration_t *list, tq_error_t *err)
{
    if (tq_pg_run(db, err, "SELECT pg_advisory_lock(" MIGRATION_LOCK_KEY ")", 0, NULL)) return -1;
    int applied = -1;
    /* checksum came later: databases made before it gain the column here */
    if (tq_pg_run(db, err,
                  "CREATE TABLE IF NOT EXISTS tq_migrations ("
                  " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now(),"
                  " checksum text)",
                  0, NULL) ||
        tq_pg_run(db, err, "ALTER TABLE tq_migrations ADD COLUMN IF NOT EXISTS checksum text", 0,
                  NULL))
        goto unlock;
    applied = 0;
    for (const tq_migration_t *m = list; m->name; m++) {
        char sum[CHECKSUM_LEN + 1];
        if (checksum(m, sum, err)) {
            applied = -1;
            break;
        }
        const char *p[1] = {m->name};
        PGresult *r =
            tq_pg_exec(db, err, "SELECT checksum FROM tq_migrations WHERE name = $1", 1, p);
        if (!r) {
            applied = -1;
            break;
        }
        int rc;
        if (PQntuples(r) > 0)
            rc = verify_one(db, m, sum, PQgetisnull(r, 0, 0) ? NULL : PQgetvalue(r, 0, 0), err);
        else if ((rc = apply_one(db, m, sum, err)) == 0)
            applied++;
        PQclear(r);
        if (rc) {
            applied = -1;
            break;
        }
    }
unlock:
    PQclear(PQexec(db, "SELECT pg_advisory_unlock(" MIGRATION_LOCK_KEY ")"));
    return applied;
}

int tq_migrate(PGconn *db, tq_error_t *err)
{
    return tq_migrate_list(db, tq_migrations, err);
}
