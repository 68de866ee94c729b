/* pg.c — blocking libpq helpers (see pg.h). */
#include "pg.h"

#include <string.h>

static void set_db_error(PGconn *db, PGresult *res, tq_error_t *err)
{
    const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(db);
    size_t n = strcspn(msg, "\n");
    int lost = PQstatus(db) != CONNECTION_OK;
    tq_error_set(err, lost ? "db_unavailable" : "db_error", "%.*s", (int)n, msg);
}

PGconn *tq_pg_connect(const char *conninfo, tq_error_t *err)
{
    PGconn *db = PQconnectdb(conninfo);
    if (!db) {
        tq_error_set(err, "db_unavailable", "out of memory connecting to PostgreSQL");
        return NULL;
    }
    if (PQstatus(db) != CONNECTION_OK) {
        const char *msg = PQerrorMessage(db);
        tq_error_set(err, "db_unavailable", "cannot connect to PostgreSQL: %.*s",
                     (int)strcspn(msg, "\n"), msg);
        PQfinish(db);
        return NULL;
    }
    PGresult *r = PQexec(db, "SET client_min_messages = warning");
    PQclear(r);
    return db;
}

PGresult *tq_pg_exec(PGconn *db, tq_error_t *err, const char *sql, int nparams,
                     const char *const *params)
{
    PGresult *res = PQexecParams(db, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return res;
    set_db_error(db, res, err);
    PQclear(res);
    return NULL;
}

int tq_pg_run(PGconn *db, tq_error_t *err, const char *sql, int nparams, const char *const *params)
{
    PGresult *res = tq_pg_exec(db, err, sql, nparams, params);
    PQclear(res);
    return res ? 0 : -1;
}
