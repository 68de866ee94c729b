/* error.c — filling tq_error_t values. Owns nothing else. */
#include "error.h"

#include <stdio.h>
#include <string.h>

int tq_error_vset(tq_error_t *err, const char *code, const char *fmt, va_list ap)
{
    if (!err) return -1;
    snprintf(err->code, sizeof err->code, "%s", code ? code : "internal");
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    return -1;
}

int tq_error_set(tq_error_t *err, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tq_error_vset(err, code, fmt, ap);
    va_end(ap);
    return -1;
}

void tq_error_prefix(tq_error_t *err, const char *fmt, ...)
{
    if (!err) return;
    char prefix[TQ_ERROR_MSG_MAX], old[TQ_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->message, sizeof old);
    size_t n = strnlen(prefix, sizeof prefix - 1);
    memcpy(err->message, prefix, n);
    size_t room = sizeof err->message - n;
    if (room > 3) {
        memcpy(err->message + n, ": ", 2);
        size_t m = strnlen(old, room - 3);
        memcpy(err->message + n + 2, old, m);
        err->message[n + 2 + m] = '\0';
    } else {
        err->message[sizeof err->message - 1] = '\0';
    }
}

void tq_error_clear(tq_error_t *err)
{
    if (err) memset(err, 0, sizeof *err);
}

int tq_error_is_set(const tq_error_t *err)
{
    return err && err->code[0] != '\0';
}
