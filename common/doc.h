/* doc.h — loading a JSON or YAML document into one jansson tree, within bounds.
 * Owns format detection, the size/depth/alias bounds and position-carrying
 * load errors. It never touches the filesystem or the network and never
 * interprets what the document means (that is the OpenAPI parser's job). */
#ifndef TQ_DOC_H
#define TQ_DOC_H

#include <jansson.h>
#include <stddef.h>

#include "error.h"

/* Each bound has a config name (docs/importing.md). */
typedef struct {
    size_t max_bytes;       /* import.max_document_bytes, default 32 MiB */
    size_t max_depth;       /* import.max_depth, default 256 */
    size_t max_alias_nodes; /* import.max_alias_nodes, default 100000 */
    size_t max_ref_hops;    /* import.max_ref_hops, default 64 (used by the OpenAPI parser) */
} tq_doc_limits_t;

#define TQ_DOC_DEFAULT_MAX_BYTES ((size_t)32 * 1024 * 1024)
#define TQ_DOC_DEFAULT_MAX_DEPTH 256
#define TQ_DOC_DEFAULT_MAX_ALIAS_NODES 100000
#define TQ_DOC_DEFAULT_MAX_REF_HOPS 64

typedef enum { TQ_DOC_JSON, TQ_DOC_YAML } tq_doc_format_t;

void tq_doc_limits_default(tq_doc_limits_t *limits);

/* Parses buf (JSON or YAML, detected from content; a UTF-8 BOM is skipped)
 * into *out (a new reference). limits may be NULL for the defaults.
 * Duplicate mapping keys: the last one wins and a {"code":"duplicate_key",
 * "message":...} object is appended to warnings when warnings is an array.
 * format, when not NULL, receives the detected format.
 * Errors: invalid_document (with line and column), document_too_large,
 * document_too_deep, document_alias_bomb. Returns 0 or -1. */
int tq_doc_load(const char *buf, size_t len, const tq_doc_limits_t *limits, json_t **out,
                json_t *warnings, tq_doc_format_t *format, tq_error_t *err);

/* "an object", "an array", "a string", "a number", "a boolean", "null". */
const char *tq_doc_kind(const json_t *node);

#endif
