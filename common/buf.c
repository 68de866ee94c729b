/* buf.c — the growable buffer (size cap, wipe-on-free for secrets),
 * percent-encoding and base64. Owns only the buffer's memory. Never logs;
 * out of memory aborts. */
#include "buf.h"
#include "mem.h"
#include "vault.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void reserve(tq_buf_t *b, size_t extra)
{
    if (extra > SIZE_MAX / 4 - b->len) tq_oom(); /* a size no allocation could satisfy */
    if (b->len + extra + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    if (b->secret && b->data) {
        /* realloc could leave a copy of the secret behind in freed memory */
        char *grown = tq_xrealloc(NULL, cap);
        memcpy(grown, b->data, b->len + 1);
        tq_secure_wipe(b->data, b->cap);
        free(b->data);
        b->data = grown;
    } else {
        b->data = tq_xrealloc(b->data, cap);
    }
    b->cap = cap;
}

/* Whether n more bytes fit under the cap; marks the buffer when not. */
static bool fits(tq_buf_t *b, size_t n)
{
    if (b->max && (n > b->max || b->len > b->max - n)) b->too_large = true;
    return !b->too_large;
}

void tq_buf_add(tq_buf_t *b, const void *p, size_t n)
{
    if (!fits(b, n)) return;
    reserve(b, n);
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void tq_buf_adds(tq_buf_t *b, const char *s)
{
    tq_buf_add(b, s, strlen(s));
}

void tq_buf_addc(tq_buf_t *b, char c)
{
    tq_buf_add(b, &c, 1);
}

void tq_buf_addf(tq_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !fits(b, (size_t)n)) return;
    reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

char *tq_buf_take(tq_buf_t *b)
{
    if (!b->data) reserve(b, 0), b->data[0] = '\0';
    char *d = b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}

void tq_buf_free(tq_buf_t *b)
{
    if (b->secret && b->data) tq_secure_wipe(b->data, b->cap);
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void tq_buf_wipe(tq_buf_t *b)
{
    if (b->data) tq_secure_wipe(b->data, b->cap);
    tq_buf_free(b);
}

void tq_buf_pct(tq_buf_t *b, const char *s, size_t n, const char *keep)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t worst = n > SIZE_MAX / 4 ? SIZE_MAX : n * 3; /* reserve() aborts on overflow */
    if (!fits(b, worst)) return;
    reserve(b, worst);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~' || (keep && c && strchr(keep, c))) {
            b->data[b->len++] = (char)c;
        } else {
            b->data[b->len++] = '%';
            b->data[b->len++] = hex[c >> 4];
            b->data[b->len++] = hex[c & 15];
        }
    }
    b->data[b->len] = '\0';
}

char *tq_base64_encode(const unsigned char *p, size_t n)
{
    char *out = tq_xrealloc(NULL, 4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, p, (int)n);
    return out;
}

int tq_base64_decode(const char *s, unsigned char **out, size_t *out_len)
{
    size_t n = strlen(s);
    char *clean = tq_xrealloc(NULL, n + 4);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
        if (c == '-') c = '+'; /* accept the URL-safe alphabet too */
        if (c == '_') c = '/';
        clean[m++] = c;
    }
    while (m % 4)
        clean[m++] = '=';
    unsigned char *buf = tq_xrealloc(NULL, m / 4 * 3 + 1);
    int r = m ? EVP_DecodeBlock(buf, (unsigned char *)clean, (int)m) : 0;
    if (r < 0) {
        free(clean);
        free(buf);
        return -1;
    }
    size_t len = (size_t)r;
    if (m >= 1 && clean[m - 1] == '=') len--;
    if (m >= 2 && clean[m - 2] == '=') len--;
    free(clean);
    *out = buf;
    *out_len = len;
    return 0;
}
