/* error.c — filling tq_error_t values, and the lookups into the error-code
 * registry (errcodes.txt -> errcodes.h). Owns nothing else; never decides a
 * code's retry class itself. */
#include "error.h"

#include <stdio.h>
#include <stdlib.h>
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

typedef struct {
    const char *code; /* a family ends in '*' */
    const char *cls;
    bool retryable;
    int exit_code;
} errcode_t;

static const errcode_t REGISTRY[] = {
#define X(code, cls, retryable, exit_code) {code, cls, retryable, exit_code},
    TQ_ERRCODES(X)
#undef X
};
#define NREGISTRY (sizeof REGISTRY / sizeof REGISTRY[0])

static int by_code(const void *key, const void *elem)
{
    return strcmp(key, ((const errcode_t *)elem)->code);
}

static const errcode_t *lookup(const char *code)
{
    if (!code) return NULL;
    /* errcodes.h is sorted by code in byte order, as strcmp compares. */
    const errcode_t *e = bsearch(code, REGISTRY, NREGISTRY, sizeof REGISTRY[0], by_code);
    if (e) return e;
    for (size_t i = 0; i < NREGISTRY; i++) {
        size_t n = strlen(REGISTRY[i].code);
        if (REGISTRY[i].code[n - 1] == '*' && strncmp(code, REGISTRY[i].code, n - 1) == 0)
            return &REGISTRY[i];
    }
    return NULL;
}

bool tq_error_retryable(const char *code)
{
    const errcode_t *e = lookup(code);
    return e && e->retryable;
}

const char *tq_error_class(const char *code)
{
    const errcode_t *e = lookup(code);
    return e ? e->cls : NULL;
}

int tq_error_exit_code(const char *code)
{
    const errcode_t *e = lookup(code);
    return e ? e->exit_code : 1;
}
