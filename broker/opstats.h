/* opstats.h — the broker's per-op outcome counters and submit→outcome latency
 * histograms, reported in STATS (and so in /metrics). Owns only counters in
 * memory: O(1) per recorded outcome, bounded in size (a client can submit any
 * op name, so past TQ_OPSTATS_MAX_OPS distinct ops the rest are counted under
 * "_other", and past TQ_OPSTATS_MAX_CODES error codes per op under "_other").
 * Never does I/O, never sees payloads or results. Not thread-safe: the broker
 * loop is its one owner. */
#ifndef TQ_OPSTATS_H
#define TQ_OPSTATS_H

#include <jansson.h>

#define TQ_OPSTATS_MAX_OPS 256
#define TQ_OPSTATS_MAX_CODES 32
/* Upper bounds (seconds) of the latency buckets; a last +Inf bucket follows. */
#define TQ_OPSTATS_BUCKETS                                                                         \
    {                                                                                              \
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0               \
    }
#define TQ_OPSTATS_NBUCKETS 13

typedef struct tq_opstats_t tq_opstats_t;

tq_opstats_t *tq_opstats_new(void);
void tq_opstats_destroy(tq_opstats_t **self_p);

/* Records one final outcome of a job: its op, final state name ("succeeded",
 * "failed", "dead", "cancelled"), error code (NULL when it succeeded) and the
 * seconds from submit to the committed outcome (< 0 when unknown, e.g. a job
 * recovered from the journal after a restart: counted, not timed). */
void tq_opstats_record(tq_opstats_t *self, const char *op, const char *state, const char *err_code,
                       double seconds);

/* Adds to a STATS object:
 *   "latency_buckets_s": [0.001, ...]          upper bounds, +Inf implied
 *   "by_op": {"<op>": {"succeeded": n, "failed": n, "dead": n, "cancelled": n,
 *                      "errors": {"<code>": n, ...},
 *                      "latency": {"counts": [per bucket, last = +Inf],
 *                                  "sum_s": s, "count": n}}} */
void tq_opstats_to_json(const tq_opstats_t *self, json_t *stats);

#endif
