/* openapi_ctx.h — the state of one import: the documents loaded so far
 * (entry document first, then files and remote documents reached by $ref),
 * the warnings, and the shared definitions ($defs) built so far.
 * Internal to worker/openapi/; it must never outlive one tq_openapi_parse call. */
#ifndef TQ_OPENAPI_CTX_H
#define TQ_OPENAPI_CTX_H

#include <jansson.h>

#include "openapi.h"

/* Bounds that are not configuration: they only guard against pathological input. */
#define TQ_OA_MAX_DOCUMENTS 256
#define TQ_OA_MAX_WARNINGS 1000
#define TQ_OA_MAX_SCHEMA_NODES 20000

typedef struct tq_oa_doc_s {
    char *name;   /* "" for the entry document without a path, a file path or a URL */
    json_t *root; /* owned */
    struct tq_oa_doc_s *next;
} tq_oa_doc_t;

/* A node together with the document it lives in (relative $refs resolve
 * against that document). */
typedef struct {
    json_t *node;
    tq_oa_doc_t *doc;
} tq_oa_node_t;

typedef struct {
    const tq_openapi_opts_t *opts;
    tq_oa_doc_t *docs; /* entry document first */
    size_t ndocs;
    json_t *warnings;  /* array of {code, message, operation?} */
    size_t dropped;    /* warnings past TQ_OA_MAX_WARNINGS */
    json_t *defs;      /* definition name -> built schema (the provider's $defs) */
    json_t *def_names; /* ref key "document#pointer" -> definition name */
    json_t *checked;   /* ref key -> [failure message...] under it (tq_oa_refs_check) */
    const char *op;    /* "GET /pets" while an operation is processed, else NULL */
    const char *stop;  /* "timeout" or "cancelled" once tq_oa_should_stop said so */
    int relative_server_warned;
} tq_oa_ctx_t;

/* root is stolen; name may be NULL (entry document without a path). */
void tq_oa_ctx_init(tq_oa_ctx_t *ctx, const tq_openapi_opts_t *opts, json_t *root,
                    const char *name);
void tq_oa_ctx_clear(tq_oa_ctx_t *ctx);
/* Adds a document (root stolen) and returns it. */
tq_oa_doc_t *tq_oa_ctx_add_doc(tq_oa_ctx_t *ctx, const char *name, json_t *root);
tq_oa_doc_t *tq_oa_ctx_find_doc(tq_oa_ctx_t *ctx, const char *name);

/* 1 (and ctx->stop set) when the deadline passed or the caller cancelled. */
int tq_oa_should_stop(tq_oa_ctx_t *ctx);

/* Appends a warning, tagged with the current operation (ctx->op) if any. */
void tq_oa_warn(tq_oa_ctx_t *ctx, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Small helpers on possibly-wrong-typed input: NULL unless node[key] is a
 * string (numbers are accepted and formatted where strings are expected). */
const char *tq_oa_str(const json_t *obj, const char *key);
/* Text of a scalar, formatted into buf for numbers and booleans; NULL for others. */
const char *tq_oa_scalar_text(const json_t *v, char *buf, size_t size);

#endif
