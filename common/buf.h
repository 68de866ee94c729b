/* buf.h — the one growable byte buffer of the broker, the worker and the CLI
 * (plugins have their own, include/toolq/plugin_buf.h), with an optional
 * size cap and wipe-on-free for secrets; plus the encoders that write into
 * it: percent-encoding (RFC 3986) and base64.
 * Owns no protocol logic; never logs (buffers may hold secrets). Out of
 * memory aborts (CONVENTIONS.md "Out of memory"); input over the cap is an
 * input error the caller reports, never an allocation. */
#ifndef TQ_BUF_H
#define TQ_BUF_H

#include <stdbool.h>
#include <stddef.h>

/* Zero-initialise: tq_buf_t b = {0}; or with options, e.g.
 * {.max = limit} or {.secret = true}. */
typedef struct {
    char *data; /* always NUL-terminated once anything was added */
    size_t len, cap;
    size_t max;     /* 0 = no cap; else an add that would make len > max is dropped */
    bool too_large; /* set (and stays set) when an add was dropped for max */
    bool secret;    /* growth and free zero the old memory (tq_buf_wipe forces it) */
} tq_buf_t;

void tq_buf_add(tq_buf_t *b, const void *p, size_t n);
void tq_buf_adds(tq_buf_t *b, const char *s);
void tq_buf_addc(tq_buf_t *b, char c);
void tq_buf_addf(tq_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* New: the data (malloc'd, NUL-terminated, "" when empty; free() it); b is
 * emptied (its options stay). */
char *tq_buf_take(tq_buf_t *b);
/* Frees the data (zeroing it first for a secret buffer); b is emptied. */
void tq_buf_free(tq_buf_t *b);
/* Zeroes, then frees, whatever the secret flag. */
void tq_buf_wipe(tq_buf_t *b);

/* Percent-encodes s[0..n) (under a cap, the worst case of 3 bytes per byte
 * must fit): unreserved characters (A-Z a-z 0-9 - . _ ~) stay,
 * plus every character of keep (e.g. ",", or the reserved set). */
void tq_buf_pct(tq_buf_t *b, const char *s, size_t n, const char *keep);

/* RFC 3986 reserved characters minus '#' and '&' (allowReserved; '#' would
 * end the URL and '&' would split the parameter). */
#define TQ_PCT_RESERVED ":/?[]@!$'()*+,;="

/* Base64 (standard alphabet, padded). decode accepts whitespace and missing
 * padding; returns -1 on invalid input. Outputs are malloc'd. */
char *tq_base64_encode(const unsigned char *p, size_t n);
int tq_base64_decode(const char *s, unsigned char **out, size_t *out_len);

#endif
