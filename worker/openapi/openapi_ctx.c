/* openapi_ctx.c — lifetime of the import state: documents, warnings, definitions.
 * Must never read files or fetch anything (openapi_ref.c asks for documents). */
#include "openapi_ctx.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void tq_oa_ctx_init(tq_oa_ctx_t *ctx, const tq_openapi_opts_t *opts, json_t *root, const char *name)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->opts = opts;
    ctx->warnings = json_array();
    ctx->defs = json_object();
    ctx->def_names = json_object();
    ctx->checked = json_object();
    tq_oa_ctx_add_doc(ctx, name ? name : "", root);
}

void tq_oa_ctx_clear(tq_oa_ctx_t *ctx)
{
    tq_oa_doc_t *d = ctx->docs;
    while (d) {
        tq_oa_doc_t *next = d->next;
        free(d->name);
        json_decref(d->root);
        free(d);
        d = next;
    }
    json_decref(ctx->warnings);
    json_decref(ctx->defs);
    json_decref(ctx->def_names);
    json_decref(ctx->checked);
    memset(ctx, 0, sizeof *ctx);
}

tq_oa_doc_t *tq_oa_ctx_add_doc(tq_oa_ctx_t *ctx, const char *name, json_t *root)
{
    tq_oa_doc_t *d = calloc(1, sizeof *d);
    if (!d) {
        json_decref(root);
        return NULL;
    }
    d->name = strdup(name);
    d->root = root;
    /* Keep the entry document first: append. */
    tq_oa_doc_t **p = &ctx->docs;
    while (*p)
        p = &(*p)->next;
    *p = d;
    ctx->ndocs++;
    return d;
}

tq_oa_doc_t *tq_oa_ctx_find_doc(tq_oa_ctx_t *ctx, const char *name)
{
    for (tq_oa_doc_t *d = ctx->docs; d; d = d->next)
        if (!strcmp(d->name, name)) return d;
    return NULL;
}

void tq_oa_warn(tq_oa_ctx_t *ctx, const char *code, const char *fmt, ...)
{
    if (json_array_size(ctx->warnings) >= TQ_OA_MAX_WARNINGS) {
        ctx->dropped++;
        return;
    }
    char msg[TQ_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *w = json_pack("{s:s,s:s}", "code", code, "message", msg);
    if (ctx->op) json_object_set_new(w, "operation", json_string(ctx->op));
    json_array_append_new(ctx->warnings, w);
}

const char *tq_oa_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

const char *tq_oa_scalar_text(const json_t *v, char *buf, size_t size)
{
    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_STRING:
        return json_string_value(v);
    case JSON_INTEGER:
        snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return buf;
    case JSON_REAL: {
        /* 1.0 stays "1.0", as the author wrote it unquoted. */
        double d = json_real_value(v);
        snprintf(buf, size, "%.15g", d);
        if (!strpbrk(buf, ".eEn") && strlen(buf) + 2 < size) strcat(buf, ".0");
        return buf;
    }
    case JSON_TRUE:
        return "true";
    case JSON_FALSE:
        return "false";
    default:
        return NULL;
    }
}

int tq_oa_should_stop(tq_oa_ctx_t *ctx)
{
    if (ctx->stop) return 1;
    const tq_openapi_opts_t *o = ctx->opts;
    if (o->cancel && *o->cancel) {
        ctx->stop = "cancelled";
    } else if (o->deadline_ms) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        if ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 > o->deadline_ms)
            ctx->stop = "timeout";
    }
    return ctx->stop != NULL;
}
