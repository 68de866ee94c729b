/* httpc_request.c — the HTTP request object the engine sends: headers set
 * and replaced by name, wiped on destroy (values, URL, cookie and body may
 * hold secrets), and a text dump for tests.
 * Owns the request's memory. Must never log or do I/O. */
#include "httpc_request.h"
#include "vault.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "mem.h"

void tq_httpc_request_set_header(tq_httpc_request_t *self, const char *name, const char *value,
                                 int from_auth)
{
    size_t j = 0;
    for (size_t i = 0; i < self->nheaders; i++) {
        if (!strcasecmp(self->headers[i].name, name)) {
            free(self->headers[i].name);
            if (self->headers[i].value) {
                tq_secure_wipe_str(self->headers[i].value);
                free(self->headers[i].value);
            }
            continue;
        }
        self->headers[j++] = self->headers[i];
    }
    self->nheaders = j;
    if (!value) return;
    if (self->nheaders == self->cap) {
        self->cap = self->cap ? self->cap * 2 : 8;
        self->headers = tq_xrealloc(self->headers, self->cap * sizeof *self->headers);
    }
    self->headers[self->nheaders++] =
        (tq_httpc_request_header_t){tq_xstrdup(name), tq_xstrdup(value), from_auth};
}

const char *tq_httpc_request_header(const tq_httpc_request_t *self, const char *name)
{
    if (!strcasecmp(name, "cookie")) return self->cookie;
    for (size_t i = 0; i < self->nheaders; i++)
        if (!strcasecmp(self->headers[i].name, name)) return self->headers[i].value;
    return NULL;
}

void tq_httpc_request_destroy(tq_httpc_request_t **self_p)
{
    if (!self_p || !*self_p) return;
    tq_httpc_request_t *r = *self_p;
    for (size_t i = 0; i < r->nheaders; i++) {
        free(r->headers[i].name);
        tq_secure_free_str(r->headers[i].value);
    }
    free(r->headers);
    tq_secure_free_str(r->url);
    tq_secure_free_str(r->cookie);
    if (r->body) tq_secure_wipe(r->body, r->body_len);
    free(r->body);
    free(r);
    *self_p = NULL;
}

char *tq_httpc_request_dump(const tq_httpc_request_t *self)
{
    tq_buf_t b = {0};
    const char *u = self->url;
    const char *p = strstr(u, "://");
    p = p ? strchr(p + 3, '/') : NULL;
    const char *q = p ? NULL : strchr(strstr(u, "://") ? strstr(u, "://") + 3 : u, '?');
    tq_buf_addf(&b, "%s %s%s\n", self->method, p ? "" : "/", p ? p : q ? q : "");
    for (size_t i = 0; i < self->nheaders; i++)
        tq_buf_addf(&b, "%s: %s\n", self->headers[i].name, self->headers[i].value);
    if (self->cookie) tq_buf_addf(&b, "Cookie: %s\n", self->cookie);
    tq_buf_addc(&b, '\n');
    if (self->body) tq_buf_add(&b, self->body, self->body_len);
    return tq_buf_take(&b);
}
