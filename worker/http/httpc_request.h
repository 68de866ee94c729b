/* httpc_request.h — one HTTP request as the engine (httpc.h) sends it:
 * method, absolute URL, headers, cookie and body. invoke/ builds it from a
 * tool bundle (invoke_request.h); oauth/ builds token and revocation
 * requests. Header values, the URL, the cookie and the body may hold
 * secrets: tq_httpc_request_destroy wipes them. Never logs. */
#ifndef TQ_HTTPC_REQUEST_H
#define TQ_HTTPC_REQUEST_H

#include <stddef.h>

typedef struct {
    char *name;
    char *value;
    int from_auth; /* set by the auth plugin: dropped on a cross-origin redirect */
} tq_httpc_request_header_t;

typedef struct {
    char method[16]; /* upper case */
    char *url;       /* absolute, encoded as sent (auth query parameters included) */
    tq_httpc_request_header_t *headers;
    size_t nheaders, cap;
    char *cookie; /* "a=1; b=2" or NULL: sent as the Cookie header */
    int cookie_from_auth;
    unsigned char *body; /* NULL when the request has no body */
    size_t body_len;
    int has_body;
} tq_httpc_request_t;

/* Frees self (wiping its secrets) and sets *self_p to NULL; NULL is a no-op. */
void tq_httpc_request_destroy(tq_httpc_request_t **self_p);

/* Header value by name (case-insensitive), or NULL. Borrowed: valid until
 * the header changes. */
const char *tq_httpc_request_header(const tq_httpc_request_t *self, const char *name);
/* Sets (replacing all of that name) or, with value NULL, removes a header. */
void tq_httpc_request_set_header(tq_httpc_request_t *self, const char *name, const char *value,
                                 int from_auth);

/* New: the whole request as text (request line with path+query, headers,
 * blank line, body) for tests and debugging; free() it. Never log it (it
 * holds secrets). */
char *tq_httpc_request_dump(const tq_httpc_request_t *self);

#endif
