/* oauth_http.h — one OAuth exchange (token, discovery, revocation) on the
 * worker's HTTP engine (http/httpc.h): the same curl multi handle
 * and SSRF guard as tool calls, no second HTTP path. Exactly one exchange,
 * never retried here (a code exchange must not be replayed; refresh retries
 * are the broker's, with backoff). Never logs (requests hold secrets). */
#ifndef TQ_OAUTH_HTTP_H
#define TQ_OAUTH_HTTP_H

#include "config.h"
#include "loop.h"
#include "http/httpc.h"

typedef struct tq_oauth_http_t tq_oauth_http_t;

/* Called once from the loop with the response (status 0 and r->error set on
 * a transport error). The handle is freed right after the callback. */
typedef void(tq_oauth_http_fn)(const tq_httpc_response_t *r, void *arg);

/* Sends req (taken) with the guard of ssrf.allow, invoke.connect_timeout_ms,
 * a 30 s total budget and a 1 MiB response cap. NULL with err when it
 * cannot start (ssrf_blocked, invalid_url). */
tq_oauth_http_t *tq_oauth_http_send(tq_loop_t *loop, tq_config_t *cfg, tq_httpc_request_t *req,
                                    tq_oauth_http_fn *done, void *arg, tq_error_t *err);
/* Cancels an exchange in flight (the callback will not run). */
void tq_oauth_http_cancel(tq_oauth_http_t **self_p);

#endif
