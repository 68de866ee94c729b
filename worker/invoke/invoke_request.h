/* invoke_request.h — the exact HTTP request a tool bundle
 * (docs/tool-bundle.md) defines for a set of (checked, coerced) arguments:
 * URL with path parameters serialised and percent-encoded per style, query
 * string, header and cookie parameters, and the body encoded for its media
 * type; then the auth plugin's edits applied on top.
 * Pure: no I/O, no logging. Header values and the URL may hold secrets once
 * auth edits are applied: tq_invoke_request_destroy wipes them. */
#ifndef TQ_INVOKE_REQUEST_H
#define TQ_INVOKE_REQUEST_H

#include <jansson.h>
#include <stddef.h>

#include "error.h"
#include "plugin/plugin_edits.h"
#include "toolq/plugin.h"

typedef struct {
    char *name;
    char *value;
    int from_auth; /* set by the auth plugin: dropped on a cross-origin redirect */
} tq_invoke_header_t;

typedef struct {
    char method[16]; /* upper case */
    char *url;       /* absolute, encoded as sent (auth query parameters included) */
    tq_invoke_header_t *headers;
    size_t nheaders, cap;
    char *cookie; /* "a=1; b=2" or NULL: sent as the Cookie header */
    int cookie_from_auth;
    unsigned char *body; /* NULL when the request has no body */
    size_t body_len;
    int has_body;
} tq_invoke_request_t;

typedef struct {
    const char *boundary; /* multipart boundary; NULL = random */
} tq_invoke_build_opts_t;

/* Builds the request for bundle with args (the output of
 * tq_invoke_args_check). Errors: invalid_argument (unfilled placeholder,
 * a header that arguments may not set, CR/LF in a header value, a bad file
 * argument), unsupported_method, invalid_url (no absolute server URL, or a
 * built URL whose scheme, host or port differ from the server URL's). Path
 * values made of dots only ("." "..") are sent as %2E. */
tq_invoke_request_t *tq_invoke_request_build(const json_t *bundle, const json_t *args,
                                             const tq_invoke_build_opts_t *opts, tq_error_t *err);
void tq_invoke_request_destroy(tq_invoke_request_t **self_p);

/* Header value by name (case-insensitive), or NULL. */
const char *tq_invoke_request_header(const tq_invoke_request_t *self, const char *name);
/* Sets (replacing all of that name) or, with value NULL, removes a header. */
void tq_invoke_request_set_header(tq_invoke_request_t *self, const char *name, const char *value,
                                  int from_auth);

/* The plugin's view of the request (valid until self changes). kv must hold
 * nheaders + 1 entries. now: Unix seconds. */
void tq_invoke_request_view(const tq_invoke_request_t *self, tq_plugin_kv_t *kv, long long now,
                            tq_plugin_request_t *out);
/* Applies recorded plugin edits: headers set, query parameters appended
 * (encoded), cookies appended (encoded). */
void tq_invoke_request_apply_edits(tq_invoke_request_t *self, const tq_plugin_edits_t *edits);

/* The whole request as text (request line with path+query, headers, blank
 * line, body) for tests and debugging; never log it (it holds secrets). */
char *tq_invoke_request_dump(const tq_invoke_request_t *self);

/* "get" -> "GET" for the methods invoke supports (GET HEAD POST PUT PATCH
 * DELETE OPTIONS); NULL otherwise. */
const char *tq_invoke_method(const char *m);

#endif
