/* provider_fetch.h — the importer's fetch_ref: remote `$ref` documents and an
 * OpenAI plugin manifest's api.url, fetched only when
 * import.allow_remote_refs is on, through the same SSRF guard as invoke. */
#ifndef TQ_PROVIDER_FETCH_H
#define TQ_PROVIDER_FETCH_H

#include "config.h"
#include "error.h"

#include <stddef.h>

/* tq_openapi_fetch_fn with ctx = the worker's tq_config_t. A blocking GET
 * (the import itself runs inline in the worker): redirects followed by us and
 * re-checked (invoke.max_redirects), invoke.connect_timeout_ms and
 * invoke.timeout_ms, at most import.max_document_bytes. Errors: ssrf_blocked,
 * invalid_url, document_too_large, remote_ref_failed (HTTP status or
 * transport error). */
int tq_provider_fetch(void *ctx, const char *url, char **body, size_t *len, tq_error_t *err);

#endif
