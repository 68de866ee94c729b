/* error.h — the error value every module returns: a stable machine code
 * (e.g. "invalid_schema", "ssrf_blocked") plus a human message.
 * Codes are part of the public contract; messages may change.
 * Never put a secret into a message. */
#ifndef TQ_ERROR_H
#define TQ_ERROR_H

#include <stdarg.h>

#define TQ_ERROR_CODE_MAX 48
#define TQ_ERROR_MSG_MAX 512

typedef struct {
    char code[TQ_ERROR_CODE_MAX];
    char message[TQ_ERROR_MSG_MAX];
} tq_error_t;

/* Sets code and printf-style message; err may be NULL. Returns -1 so callers
 * can write `return tq_error_set(err, ...)`. */
int tq_error_set(tq_error_t *err, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int tq_error_vset(tq_error_t *err, const char *code, const char *fmt, va_list ap);
/* Prefixes the existing message with context ("loading x: <old>"). */
void tq_error_prefix(tq_error_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tq_error_clear(tq_error_t *err);
int tq_error_is_set(const tq_error_t *err);

#endif
