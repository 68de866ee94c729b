/* worker.h — one toolq-worker process: a DEALER connection to the broker's
 * backend, READY with credit, heartbeats both ways, and the op dispatch that
 * runs many jobs at once in one event loop (see op.h for handlers). */
#ifndef TQ_WORKER_H
#define TQ_WORKER_H

#include "config.h"
#include "error.h"
#include "op.h"

typedef struct tq_worker_t tq_worker_t;

/* Loads the master key (a missing or wrong key is a start-up error) and
 * prepares the loop; connects nothing yet. ops: the op table, NULL-terminated
 * (borrowed: must outlive the worker). The executable owns the table
 * (worker/ops.c), so this core never names the areas' handlers. */
tq_worker_t *tq_worker_new(tq_config_t *cfg, const tq_op_t *const *ops, tq_error_t *err);
void tq_worker_destroy(tq_worker_t **self_p);
/* Connects and runs until the broker says DISCONNECT(shutdown) or a signal
 * (SIGTERM/SIGINT) asks to stop. Returns the process exit code. */
int tq_worker_run(tq_worker_t *self);

#endif
