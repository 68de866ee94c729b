/* oauth_http.c — sends one OAuth request through tq_httpc_send and hands the
 * response to the caller; owns the request until the exchange ends. */
#include "oauth_http.h"

#include <stdlib.h>

#include "ssrf.h"
#include "mem.h"

#define TQ_OAUTH_HTTP_TIMEOUT_MS 30000
#define TQ_OAUTH_HTTP_MAX_BYTES (1024 * 1024)

struct tq_oauth_http_t {
    tq_httpc_xfer_t *xfer;
    tq_httpc_request_t *req;
    tq_oauth_http_fn *done;
    void *arg;
};

static tq_ssrf_t *s_guard; /* one per process, from ssrf.allow */

static void on_done(tq_httpc_xfer_t *xfer, void *arg)
{
    tq_oauth_http_t *h = arg;
    h->done(tq_httpc_xfer_response(xfer), h->arg);
    tq_httpc_xfer_destroy(&h->xfer);
    tq_httpc_request_destroy(&h->req);
    free(h);
}

tq_oauth_http_t *tq_oauth_http_send(tq_loop_t *loop, tq_config_t *cfg, tq_httpc_request_t *req,
                                    tq_oauth_http_fn *done, void *arg, tq_error_t *err)
{
    if (!s_guard) s_guard = tq_ssrf_new(tq_config_str(cfg, "ssrf.allow"), err);
    if (!s_guard) {
        tq_httpc_request_destroy(&req);
        return NULL;
    }
    tq_httpc_opts_t o = {.ssrf = s_guard,
                         .connect_timeout_ms =
                             (long)tq_config_int(cfg, "invoke.connect_timeout_ms"),
                         .timeout_ms = TQ_OAUTH_HTTP_TIMEOUT_MS,
                         .max_bytes = TQ_OAUTH_HTTP_MAX_BYTES,
                         .verify_tls = 1,
                         .proxy = tq_config_str(cfg, "invoke.proxy")};
    tq_oauth_http_t *h = tq_xcalloc(1, sizeof *h);
    h->req = req;
    h->done = done;
    h->arg = arg;
    h->xfer = tq_httpc_send(tq_httpc_engine(loop), req, &o, on_done, h, err);
    if (!h->xfer) {
        tq_httpc_request_destroy(&h->req);
        free(h);
        return NULL;
    }
    return h;
}

void tq_oauth_http_cancel(tq_oauth_http_t **self_p)
{
    if (!self_p || !*self_p) return;
    tq_oauth_http_t *h = *self_p;
    tq_httpc_xfer_destroy(&h->xfer);
    tq_httpc_request_destroy(&h->req);
    free(h);
    *self_p = NULL;
}
