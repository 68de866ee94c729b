/* supervisor.h — forks and execs the local toolq-worker processes, restarts
 * one that dies (exponential backoff) and reports crash loops. The broker
 * feeds it SIGCHLD (tq_supervisor_reap); it tells the broker which pid died
 * so that worker's jobs are re-queued at once. Each child gets a one-time
 * registration secret (environment) that its READY must present, so only
 * processes it forked can register. Never touches jobs itself. */
#ifndef TQ_SUPERVISOR_H
#define TQ_SUPERVISOR_H

#include "loop.h"
#include <stdbool.h>
#include <sys/types.h>
#include "msg.h" /* TQ_WORKER_SECRET_ENV, TQ_WORKER_SECRET_LEN */

typedef struct tq_supervisor_t tq_supervisor_t;
typedef void(tq_child_exit_fn)(pid_t pid, int status, void *arg);

/* argv: the worker's arguments after argv[0] (NULL-terminated, copied). */
tq_supervisor_t *tq_supervisor_new(tq_loop_t *loop, const char *binary, char *const *argv,
                                   int count, int backoff_max_ms, int crash_loop_restarts,
                                   tq_child_exit_fn *on_exit, void *arg);
/* Stops every child (SIGTERM, then SIGKILL after grace_ms) and frees. */
void tq_supervisor_destroy(tq_supervisor_t **self_p, int grace_ms);

int tq_supervisor_start(tq_supervisor_t *self);
/* Call on SIGCHLD: reaps exited children and schedules restarts. */
void tq_supervisor_reap(tq_supervisor_t *self);
/* No more restarts (shutdown). */
void tq_supervisor_stop_restarts(tq_supervisor_t *self);
int tq_supervisor_alive(const tq_supervisor_t *self);
int tq_supervisor_restarts(const tq_supervisor_t *self);
/* pid is a live child of this supervisor. */
bool tq_supervisor_is_child(const tq_supervisor_t *self, pid_t pid);
/* secret is the one handed to the live child pid (constant-time compare). */
bool tq_supervisor_check_secret(const tq_supervisor_t *self, pid_t pid, const char *secret);

#endif
