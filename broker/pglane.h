/* pglane.h — one non-blocking PostgreSQL connection driven by the broker's
 * event loop (PQsocket in the poll set). Requests run one at a time in FIFO
 * order; each has a completion callback. When the lane becomes idle it asks
 * its owner for more work (the group-commit hook). On a lost connection the
 * failing request completes with res == NULL and the lane reconnects
 * (non-blocking) before the next one. Never blocks the loop. */
#ifndef TQ_PGLANE_H
#define TQ_PGLANE_H

#include "loop.h"
#include <libpq-fe.h>
#include <stdbool.h>

typedef struct tq_pglane_t tq_pglane_t;

/* res is NULL on failure (errmsg says why); the lane PQclear()s res after. */
typedef void(tq_pglane_cb)(tq_pglane_t *lane, PGresult *res, const char *errmsg, void *arg);
/* Called when the lane has nothing to do; may submit a request. */
typedef void(tq_pglane_idle_cb)(tq_pglane_t *lane, void *arg);

/* Connects (blocking, at start-up only). NULL with errmsg on failure.
 * setup: SQL run on every (re)connection before any request, e.g. the
 * session's planner settings (NULL: none). */
tq_pglane_t *tq_pglane_new(tq_loop_t *loop, const char *name, const char *conninfo,
                           const char *setup, char *errmsg, size_t errlen);
void tq_pglane_destroy(tq_pglane_t **self_p);

void tq_pglane_on_idle(tq_pglane_t *self, tq_pglane_idle_cb *fn, void *arg);

/* Queues a parameterized statement (text params, copied). */
int tq_pglane_query(tq_pglane_t *self, const char *sql, int nparams, const char *const *params,
                    tq_pglane_cb *cb, void *arg);
/* Same, as a named prepared statement: prepared once per connection (again
 * after a reconnect), then executed without parse and plan costs. */
int tq_pglane_query_prepared(tq_pglane_t *self, const char *name, const char *sql, int nparams,
                             const char *const *params, tq_pglane_cb *cb, void *arg);
bool tq_pglane_busy(const tq_pglane_t *self);
/* When idle, asks the idle hook for work now. */
void tq_pglane_kick(tq_pglane_t *self);
/* Runs queued work synchronously until the lane is idle (shutdown drain). */
void tq_pglane_drain(tq_pglane_t *self, int timeout_ms);

#endif
