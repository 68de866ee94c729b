/* pg.h — small helpers over blocking libpq for start-up work, workers and
 * tools (the broker's hot path uses journal.c's non-blocking connection).
 * Parameterized statements only; never formats values into SQL text. */
#ifndef TQ_PG_H
#define TQ_PG_H

#include "error.h"
#include <libpq-fe.h>

/* Connects; error "db_unavailable" with libpq's message on failure. */
PGconn *tq_pg_connect(const char *conninfo, tq_error_t *err);
/* Runs a parameterized statement (text params); returns the result when its
 * status is COMMAND_OK or TUPLES_OK, else NULL with err ("db_error", or
 * "db_unavailable" when the connection is gone). Caller PQclear()s. */
PGresult *tq_pg_exec(PGconn *db, tq_error_t *err, const char *sql, int nparams,
                     const char *const *params);
/* Same, discarding the result: 0 or -1. */
int tq_pg_run(PGconn *db, tq_error_t *err, const char *sql, int nparams, const char *const *params);

#endif
