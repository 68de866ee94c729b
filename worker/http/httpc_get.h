/* httpc_get.h — one blocking GET exchange, for code that runs off the event
 * loop (the importer's threads fetching remote documents, provider_fetch.c).
 * The same rules as the engine (httpc.h): through the SSRF guard
 * (common/ssrf.h), connect and total timeouts, a body cap, decompression, no
 * redirect following (the caller decides and re-checks the target).
 * Never logs a URL or a header; an error message shows the URL without its
 * userinfo and query (tq_ssrf_url_for_message). */
#ifndef TQ_HTTPC_GET_H
#define TQ_HTTPC_GET_H

#include "buf.h"
#include "error.h"
#include "ssrf.h"

/* One connection cache, reused across the GETs of one fetch (redirect
 * hops). Not thread-safe: one per thread. */
typedef struct tq_httpc_get_t tq_httpc_get_t;

/* New, or NULL when out of memory (libcurl's init); free with
 * tq_httpc_get_destroy. */
tq_httpc_get_t *tq_httpc_get_new(void);
void tq_httpc_get_destroy(tq_httpc_get_t **self_p);

typedef struct {
    const tq_ssrf_t *ssrf;   /* required */
    const char *proxy;       /* "" or NULL = direct */
    long connect_timeout_ms; /* 0 = libcurl default */
    long timeout_ms;         /* whole exchange; 0 = none */
} tq_httpc_get_opts_t;

/* GETs url into body (emptied first; its max is the cap). On success *status
 * is the HTTP status and *location the Location of a 3xx (new: free(), or
 * NULL). Errors: ssrf_blocked, invalid_url (the guard), response_too_large
 * (body->max passed), network_error (any transport failure, with libcurl's
 * reason). */
int tq_httpc_get(tq_httpc_get_t *self, const char *url, const tq_httpc_get_opts_t *opts,
                 tq_buf_t *body, long *status, char **location, tq_error_t *err);

#endif
