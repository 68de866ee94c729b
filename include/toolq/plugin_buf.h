/* toolq/plugin_buf.h — the one growable buffer of the auth plugins,
 * header-only. Plugins stay independent of the host (no link against any
 * toolq library), so they cannot use the host's buffer (common/buf.h); this
 * is its plugin-side twin, and the only one: oauth_kit and aws_sigv4 build
 * their strings with it. Every function is static, so each plugin .so
 * compiles a private copy.
 *
 * Owns only the buffer's memory. Plugins never abort: an allocation failure
 * sets oom, later adds do nothing, and the plugin returns -1. Buffers may
 * hold secrets, so growth copies and wipes the old memory (never realloc),
 * and tq_plugin_buf_wipe zeroes before it frees. Never logs. */
#ifndef TOOLQ_PLUGIN_BUF_H
#define TOOLQ_PLUGIN_BUF_H

#include <openssl/crypto.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define TQ_PLUGIN_BUF_UNUSED __attribute__((unused))

typedef struct {
    char *data; /* NUL-terminated once anything was added; NULL before */
    size_t len, cap;
    int oom; /* an allocation failed: the content is incomplete */
} tq_plugin_buf_t;

static TQ_PLUGIN_BUF_UNUSED void tq_plugin_buf_add(tq_plugin_buf_t *b, const char *s, size_t n)
{
    if (b->oom) return;
    if (n > ((size_t)-1) / 4 - b->len) {
        b->oom = 1;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 128;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *g = malloc(cap);
        if (!g) {
            b->oom = 1;
            return;
        }
        if (b->data) {
            memcpy(g, b->data, b->len);
            OPENSSL_cleanse(b->data, b->cap);
            free(b->data);
        }
        b->data = g;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static TQ_PLUGIN_BUF_UNUSED void tq_plugin_buf_adds(tq_plugin_buf_t *b, const char *s)
{
    tq_plugin_buf_add(b, s, strlen(s));
}

/* Zeroes, then frees; b is empty again (oom cleared). */
static TQ_PLUGIN_BUF_UNUSED void tq_plugin_buf_wipe(tq_plugin_buf_t *b)
{
    if (b->data) {
        OPENSSL_cleanse(b->data, b->cap);
        free(b->data);
    }
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}

#endif
