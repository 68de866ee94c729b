/* invoke_call.h — one tool call as the caller sees it: the exchange, the
 * redirects we follow ourselves (at most max_redirects, each hop through the
 * SSRF guard again; 303 and POST-on-301/302 become GET; credentials set by
 * the auth plugin are dropped when the origin changes) and the retries
 * (idempotent methods, or POST/PATCH when allowed, on transient transport
 * errors and 429/502/503/504, with exponential backoff, jitter and a
 * bounded Retry-After). Never logs (requests hold secrets). */
#ifndef TQ_INVOKE_CALL_H
#define TQ_INVOKE_CALL_H

#include "http/httpc.h"
#include "invoke_request.h"

typedef struct tq_invoke_call_t tq_invoke_call_t;

typedef struct {
    tq_httpc_opts_t http;   /* per exchange (timeout_ms = the per-attempt budget) */
    int max_redirects;      /* invoke.max_redirects */
    int max_retries;        /* invoke.max_retries: attempts = 1 + retries at most */
    int retry_after_max_ms; /* a longer Retry-After is not waited for */
    int retry_unsafe;       /* POST/PATCH may be retried (idempotency key declared) */
    int64_t deadline_ms;    /* tq_now_ms() after which no new attempt starts; 0 = none */
    int backoff_base_ms;    /* first retry delay (doubles), 0 = 200 */
    const json_t *origins;  /* the credential's origins (borrowed) or NULL: a hop that still
                               carries it elsewhere fails credential_origin_mismatch */
} tq_invoke_call_opts_t;

typedef void(tq_invoke_call_fn)(tq_invoke_call_t *call, void *arg);

/* Starts the call; takes ownership of req. done runs once from the loop
 * (even when the first exchange cannot start: then after a 0 ms timer).
 * NULL only when out of memory. */
tq_invoke_call_t *tq_invoke_call_start(tq_loop_t *loop, tq_httpc_request_t *req,
                                       const tq_invoke_call_opts_t *opts, tq_invoke_call_fn *done,
                                       void *arg);
/* The final exchange's response (status, headers, body, error). */
const tq_httpc_response_t *tq_invoke_call_response(const tq_invoke_call_t *call);
int tq_invoke_call_attempts(const tq_invoke_call_t *call);
int tq_invoke_call_redirects(const tq_invoke_call_t *call);
int64_t tq_invoke_call_elapsed_ms(const tq_invoke_call_t *call);
/* Cancels whatever runs and frees. */
void tq_invoke_call_destroy(tq_invoke_call_t **call_p);

/* origin ("scheme://host:port") is in the JSON array of origins. */
int tq_invoke_origin_listed(const json_t *origins, const char *origin);

/* Exposed for tests: Retry-After (delta seconds or HTTP date) in ms, -1
 * when absent or unparsable. */
int64_t tq_invoke_retry_after_ms(const char *value, int64_t now_unix_ms);

#endif
