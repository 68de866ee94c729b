/* error.h — the error value every module returns: a stable machine code
 * (e.g. "invalid_schema", "ssrf_blocked") plus a human message.
 * Codes are part of the public contract; messages may change. Every code is
 * declared once in common/errcodes.txt (its class, whether it is retryable,
 * its exit status), generated into errcodes.h (TQ_E_* names) and
 * docs/errors.md; scripts/check-errcodes finds codes used but not declared.
 * Never put a secret into a message. */
#ifndef TQ_ERROR_H
#define TQ_ERROR_H

#include <stdarg.h>
#include <stdbool.h>

#include "errcodes.h" /* generated from errcodes.txt */

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

/* The registry's answers for a code (a family such as oauth_* matches by
 * prefix). retryable: the condition is transient, a later attempt may
 * succeed; ops pass it as tq_job_fail_err(job, &err, tq_error_retryable(...))
 * for errors from the database, the vault and the stores. class: "input",
 * "transient", ... (errcodes.txt lists them). exit code: the toolq command's
 * exit status when it stops on the code. A code missing from the registry is
 * not retryable, has class NULL and exit code 1. */
bool tq_error_retryable(const char *code);
const char *tq_error_class(const char *code);
int tq_error_exit_code(const char *code);

#endif
