/* invoke_request.h — the exact HTTP request a tool bundle
 * (docs/tool-bundle.md) defines for a set of (checked, coerced) arguments:
 * URL with path parameters serialised and percent-encoded per style, query
 * string, header and cookie parameters, and the body encoded for its media
 * type; then the auth plugin's edits applied on top.
 * Pure: no I/O, no logging. Header values and the URL may hold secrets once
 * auth edits are applied: tq_httpc_request_destroy wipes them. */
#ifndef TQ_INVOKE_REQUEST_H
#define TQ_INVOKE_REQUEST_H

#include <jansson.h>
#include <stddef.h>

#include "error.h"
#include "http/httpc_request.h"
#include "plugin/plugin_edits.h"
#include "toolq/plugin.h"

typedef struct {
    const char *boundary; /* multipart boundary; NULL = random */
} tq_invoke_build_opts_t;

/* Builds the request for bundle with args (the output of
 * tq_invoke_args_check). Errors: invalid_argument (unfilled placeholder,
 * a header that arguments may not set, CR/LF in a header value, a bad file
 * argument), unsupported_method, invalid_url (no absolute server URL, or a
 * built URL whose scheme, host or port differ from the server URL's). Path
 * values made of dots only ("." "..") are sent as %2E. */
tq_httpc_request_t *tq_invoke_request_build(const json_t *bundle, const json_t *args,
                                            const tq_invoke_build_opts_t *opts, tq_error_t *err);

/* The plugin's view of the request (valid until self changes). kv must hold
 * nheaders + 1 entries. now: Unix seconds. */
void tq_invoke_request_view(const tq_httpc_request_t *self, tq_plugin_kv_t *kv, long long now,
                            tq_plugin_request_t *out);
/* Applies recorded plugin edits: headers set, query parameters appended
 * (encoded), cookies appended (encoded). */
void tq_invoke_request_apply_edits(tq_httpc_request_t *self, const tq_plugin_edits_t *edits);

/* "get" -> "GET" for the methods invoke supports (GET HEAD POST PUT PATCH
 * DELETE OPTIONS); NULL otherwise. */
const char *tq_invoke_method(const char *m);

#endif
