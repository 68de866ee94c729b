/* migrations.c — applies the embedded schemas/NNN_*.sql files in order under
 * a session advisory lock, recording each in tq_migrations. Never edits or
 * re-runs an applied migration. */
#include "migrations.h"

#include "log.h"
#include "pg.h"

#include <stdio.h>
#include <stdlib.h>

/* Arbitrary constant: the advisory lock key for migrations. */
#define MIGRATION_LOCK_KEY "7214530123"

static int apply_one(PGconn *db, const tq_migration_t *m, tq_error_t *err)
{
    const char *p[1] = {m->name};
    if (tq_pg_run(db, err, "BEGIN", 0, NULL)) return -1;
    PGresult *r = PQexec(db, m->sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        tq_error_set(err, "migration_failed", "%s: %s", m->name, PQresultErrorMessage(r));
        PQclear(r);
        PQclear(PQexec(db, "ROLLBACK"));
        return -1;
    }
    PQclear(r);
    if (tq_pg_run(db, err, "INSERT INTO tq_migrations (name) VALUES ($1)", 1, p) ||
        tq_pg_run(db, err, "COMMIT", 0, NULL)) {
        PQclear(PQexec(db, "ROLLBACK"));
        return -1;
    }
    tq_info("applied migration %s", m->name);
    return 0;
}

int tq_migrate(PGconn *db, tq_error_t *err)
{
    if (tq_pg_run(db, err, "SELECT pg_advisory_lock(" MIGRATION_LOCK_KEY ")", 0, NULL)) return -1;
    int applied = -1;
    if (tq_pg_run(db, err,
                  "CREATE TABLE IF NOT EXISTS tq_migrations ("
                  " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
                  0, NULL))
        goto unlock;
    applied = 0;
    for (const tq_migration_t *m = tq_migrations; m->name; m++) {
        const char *p[1] = {m->name};
        PGresult *r = tq_pg_exec(db, err, "SELECT 1 FROM tq_migrations WHERE name = $1", 1, p);
        if (!r) {
            applied = -1;
            break;
        }
        int done = PQntuples(r) > 0;
        PQclear(r);
        if (done) continue;
        if (apply_one(db, m, err)) {
            applied = -1;
            break;
        }
        applied++;
    }
unlock:
    PQclear(PQexec(db, "SELECT pg_advisory_unlock(" MIGRATION_LOCK_KEY ")"));
    return applied;
}
