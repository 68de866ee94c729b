/* broker.h — toolq-broker: the frontend (clients), the backend (workers), the
 * journal lanes, the in-memory queue and the worker supervisor, all in one
 * event loop that never blocks on PostgreSQL. */
#ifndef TQ_BROKER_H
#define TQ_BROKER_H

#include "config.h"
#include "error.h"

typedef struct tq_broker_t tq_broker_t;

/* Start-up (blocking is fine here): connects, migrates, checks the master
 * key against the database, recovers open jobs, binds the sockets.
 * worker_argv: arguments passed to every forked worker (NULL-terminated). */
tq_broker_t *tq_broker_new(tq_config_t *cfg, char *const *worker_argv, tq_error_t *err);
void tq_broker_destroy(tq_broker_t **self_p);
/* Runs until SIGTERM/SIGINT, then drains and stops the workers. Returns the
 * exit code (0 after a clean shutdown). */
int tq_broker_run(tq_broker_t *self);

#endif
