/* provider_fetch.h — the importer's fetch_ref: remote `$ref` documents and an
 * OpenAI plugin manifest's api.url, fetched only when
 * import.allow_remote_refs is on, through the same SSRF guard as invoke. */
#ifndef TQ_PROVIDER_FETCH_H
#define TQ_PROVIDER_FETCH_H

#include "config.h"
#include "error.h"

#include <stddef.h>
#include <stdint.h>

/* What a fetch needs, read from the configuration in the loop thread (the
 * fetch itself runs in an import thread, provider_parse.c, and must not touch
 * the configuration). */
typedef struct {
    char *ssrf_allow, *proxy; /* ssrf.allow, invoke.proxy (owned) */
    long connect_timeout_ms;  /* invoke.connect_timeout_ms */
    long timeout_ms;          /* invoke.timeout_ms */
    long max_redirects;       /* invoke.max_redirects */
    size_t max_bytes;         /* import.max_document_bytes */
    int64_t deadline_ms;      /* the job's deadline (tq_now_ms clock); 0: none */
} tq_provider_fetch_ctx_t;

void tq_provider_fetch_ctx_init(tq_provider_fetch_ctx_t *fc, tq_config_t *cfg, int64_t deadline_ms);
void tq_provider_fetch_ctx_clear(tq_provider_fetch_ctx_t *fc);

/* tq_openapi_fetch_fn with ctx = a tq_provider_fetch_ctx_t. A blocking GET
 * (run in an import thread, off the loop): redirects followed by us and
 * re-checked (invoke.max_redirects), invoke.connect_timeout_ms and
 * invoke.timeout_ms, never past the job's deadline, at most
 * import.max_document_bytes. Errors: ssrf_blocked, invalid_url,
 * document_too_large, timeout (the job's deadline), remote_ref_failed (HTTP
 * status or transport error). */
int tq_provider_fetch(void *ctx, const char *url, char **body, size_t *len, tq_error_t *err);

#endif
