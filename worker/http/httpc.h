/* httpc.h — the worker's HTTP engine: one libcurl multi handle per
 * worker process, driven by the worker's event loop (socket and timer
 * callbacks -> tq_loop_add_fd / tq_loop_timer), so hundreds of exchanges run
 * at once with connection reuse, HTTP/1.1 and HTTP/2. One tq_httpc_xfer_t is
 * ONE exchange (no redirect following: the caller decides, see
 * invoke_call.h), through the SSRF guard (common/ssrf.h), with connect and
 * total timeouts, a response size cap and decompression.
 * Never blocks the loop (threaded resolver), never logs a URL or a header
 * (they may hold secrets). */
#ifndef TQ_INVOKE_HTTP_H
#define TQ_INVOKE_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "loop.h"
#include "buf.h"
#include "httpc_request.h"
#include "ssrf.h"

typedef struct tq_httpc_t tq_httpc_t;
typedef struct tq_httpc_xfer_t tq_httpc_xfer_t;

/* The engine of this process for loop (created on first use). */
tq_httpc_t *tq_httpc_engine(tq_loop_t *loop);

typedef struct {
    const tq_ssrf_t *ssrf;   /* required */
    long connect_timeout_ms; /* 0 = libcurl default */
    long timeout_ms;         /* whole exchange; 0 = none */
    size_t max_bytes;        /* response body cap (decoded); 0 = none */
    int verify_tls;          /* 1 normally */
    const char *proxy;       /* "" or NULL = direct */
} tq_httpc_opts_t;

typedef struct {
    char *name; /* lower case */
    char *value;
} tq_httpc_header_t;

/* What an exchange produced. */
typedef struct {
    int status; /* 0 when no response */
    tq_httpc_header_t *headers;
    size_t nheaders;
    tq_buf_t body;    /* decoded body */
    tq_error_t error; /* set on a transport error: timeout, connect_failed, tls_error,
                         dns_failed, ssrf_blocked, response_too_large, network_error,
                         invalid_url */
    int64_t elapsed_us;
    char http_version[8]; /* "1.1", "2" */
} tq_httpc_response_t;

typedef void(tq_httpc_done_fn)(tq_httpc_xfer_t *xfer, void *arg);

/* Starts one exchange of req (borrowed: must outlive the transfer). done is
 * called from the loop, exactly once, unless the transfer is destroyed
 * first. Returns NULL with err when it cannot even start (ssrf_blocked or
 * invalid_url for the URL). */
tq_httpc_xfer_t *tq_httpc_send(tq_httpc_t *self, const tq_httpc_request_t *req,
                               const tq_httpc_opts_t *opts, tq_httpc_done_fn *done, void *arg,
                               tq_error_t *err);
const tq_httpc_response_t *tq_httpc_xfer_response(const tq_httpc_xfer_t *xfer);
/* Value of the first response header name (lower case), or NULL. */
const char *tq_httpc_xfer_header(const tq_httpc_xfer_t *xfer, const char *name);
/* Cancels (if running) and frees. */
void tq_httpc_xfer_destroy(tq_httpc_xfer_t **xfer_p);

#endif
