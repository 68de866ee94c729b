/* worker.h — one toolq-worker process: a DEALER connection to the broker's
 * backend, READY with credit, heartbeats both ways, and the op dispatch that
 * runs many jobs at once in one event loop (see op.h for handlers). */
#ifndef TQ_WORKER_H
#define TQ_WORKER_H

#include "config.h"
#include "error.h"

typedef struct tq_worker_t tq_worker_t;

/* Loads the master key (a missing or wrong key is a start-up error) and
 * prepares the loop; connects nothing yet. */
tq_worker_t *tq_worker_new(tq_config_t *cfg, tq_error_t *err);
void tq_worker_destroy(tq_worker_t **self_p);
/* Connects and runs until the broker says DISCONNECT(shutdown) or a signal
 * (SIGTERM/SIGINT) asks to stop. Returns the process exit code. */
int tq_worker_run(tq_worker_t *self);

#endif
