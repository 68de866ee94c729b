/* scheduler.h — the broker's periodic jobs: every oauth.sweep_interval_s (0
 * disables) it submits one `refresh.sweep` job (tenant "*system*") through the
 * broker's own frontend, like any client. Runs on its own thread. */
#ifndef TQ_SCHEDULER_H
#define TQ_SCHEDULER_H

#include "config.h"
#include "error.h"

#include <stdint.h>

typedef struct tq_scheduler_t tq_scheduler_t;

/* Reads oauth.sweep_interval_s and broker.frontend and starts the thread.
 * NULL with err cleared when the interval is 0 (disabled); NULL with err set
 * on a bad setting. Call from the thread that owns cfg. */
tq_scheduler_t *tq_scheduler_new(tq_config_t *cfg, tq_error_t *err);
/* Stops the thread (promptly: it never waits long on the broker) and frees. */
void tq_scheduler_destroy(tq_scheduler_t **self_p);

/* The idempotency key of the sweep due at unix time now: "sweep:" followed by
 * the start (unix seconds) of the interval bucket now falls in, so two
 * brokers, or a timer that fires twice, submit one sweep per bucket. */
void tq_scheduler_sweep_key(int64_t now_s, int64_t interval_s, char out[48]);

#endif
