/* buf.h — the byte buffer and encoders the invoker builds requests
 * with: a growable buffer, percent-encoding (RFC 3986), base64.
 * Owns no request logic; never logs (buffers may hold secrets: callers wipe
 * them with tq_buf_wipe). Out of memory aborts (a worker cannot continue). */
#ifndef TQ_INVOKE_BUF_H
#define TQ_INVOKE_BUF_H

#include <stddef.h>

typedef struct {
    char *data; /* always NUL-terminated once anything was added */
    size_t len, cap;
} tq_buf_t;

void tq_buf_add(tq_buf_t *b, const void *p, size_t n);
void tq_buf_adds(tq_buf_t *b, const char *s);
void tq_buf_addc(tq_buf_t *b, char c);
void tq_buf_addf(tq_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Returns the data (malloc'd, NUL-terminated, "" when empty); b is emptied. */
char *tq_buf_take(tq_buf_t *b);
void tq_buf_free(tq_buf_t *b);
/* Zeroes, then frees. */
void tq_buf_wipe(tq_buf_t *b);

/* Percent-encodes s[0..n): unreserved characters (A-Z a-z 0-9 - . _ ~) stay,
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
