/* openapi.h — public API of the importer: an OpenAPI 3.0/3.1, Swagger 2.0 or
 * OpenAI-plugin document in, tool bundles (docs/tool-bundle.md) out; plus the
 * OpenAI function-calling form and the operation filter.
 * Pure library code: it never reads files, never opens sockets and never
 * logs; remote documents come only through the fetch_ref callback. */
#ifndef TQ_OPENAPI_H
#define TQ_OPENAPI_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "doc.h"
#include "error.h"

/* Fetches a remote document (http/https) for a $ref or a plugin manifest's
 * api.url. Returns 0 and a malloc'ed body (*body, *len) or -1 with err. The
 * worker provides it (through its SSRF-guarded HTTP client). */
typedef int (*tq_openapi_fetch_fn)(void *ctx, const char *url, char **body, size_t *len,
                                   tq_error_t *err);

typedef struct {
    tq_doc_limits_t limits;    /* import.max_document_bytes, max_depth, max_alias_nodes,
                                  max_ref_hops */
    size_t max_schema_depth;   /* nesting depth of an input schema before it is cut, 32 */
    const char *server_url;    /* --server-url override; NULL keeps the document's */
    const char *document_url;  /* where the document came from; resolves relative servers */
    const char *document_path; /* the entry document's name among files, e.g. "spec/a.yaml" */
    const json_t *files;       /* {"path": "content"}: documents for relative file $refs and
                                  for a plugin manifest's api.url */
    const json_t *filter;      /* see tq_openapi_filter_match; NULL keeps every operation */
    const char *author;        /* copied into every bundle */
    int allow_remote_refs;     /* import.allow_remote_refs; needs fetch_ref */
    tq_openapi_fetch_fn fetch_ref;
    void *fetch_ctx;
    int64_t deadline_ms;        /* CLOCK_MONOTONIC ms after which the parse fails with
                                   "timeout" (checked between operations); 0: none */
    const volatile int *cancel; /* when it becomes non-zero (another thread), the parse
                                  stops early with "cancelled"; may be NULL */
} tq_openapi_opts_t;

#define TQ_OPENAPI_DEFAULT_MAX_SCHEMA_DEPTH 32
#define TQ_OPENAPI_DEFAULT_MAX_DESCRIPTION 1024

void tq_openapi_opts_default(tq_openapi_opts_t *opts);

/* Parses a document into
 *   {"schema_type": "openapi"|"swagger"|"openai_plugin", "version", "title",
 *    "description", "server_url", "tools": [bundle...], "skipped": ["GET /x"...],
 *    "degraded": ["GET /y"...], "warnings": [{code, message, operation?}...],
 *    "security_schemes": {...}, "defs": {name: schema...}}
 * "defs" holds the definitions the tools' input schemas reach (see below).
 * "skipped" lists the operations that could not become tools (a dangling or
 * refused $ref they need, an unsafe path), each also named in a warning;
 * "degraded" the tools that reach a $ref elsewhere (responses, examples,
 * links, callbacks...) that could not be followed, each named in a warning.
 * opts may be NULL. Errors: the loader's codes (invalid_document,
 * document_too_large, document_too_deep, document_alias_bomb),
 * invalid_schema, timeout (opts.deadline_ms passed) and cancelled.
 * Thread-safe: it touches nothing but its arguments (and fetch_ref). Problems that cost single
 * operations are warnings. Returns 0 or -1. */
int tq_openapi_parse(const char *buf, size_t len, const tq_openapi_opts_t *opts, json_t **out,
                     tq_error_t *err);

/* Shared definitions. A bundle's input_schema refers to its provider's
 * definitions (the parse result's "defs", stored once per provider) with
 * {"$ref": "#/$defs/NAME"}; a tool as delivered carries the ones it reaches
 * in its own "$defs" (JSON Schema 2020-12).
 * tq_openapi_defs_for: the definitions schema reaches, transitively (a new
 * object, name -> definition).
 * tq_openapi_inline: a new schema with those refs replaced by their
 * definitions, at most depth levels deep; deeper refs, cycles and unknown
 * names become {"description": "(...: NAME, not inlined)"}.
 * tq_openapi_tool_view: a new bundle whose input_schema carries its "$defs"
 * (inline_depth < 0) or is inlined to inline_depth levels. */
json_t *tq_openapi_defs_for(const json_t *schema, const json_t *defs);
json_t *tq_openapi_inline(const json_t *schema, const json_t *defs, int depth);
json_t *tq_openapi_tool_view(const json_t *bundle, const json_t *defs, int inline_depth);

/* Operation filter (the same at import and at listing):
 *   {"include_tags":[..], "exclude_tags":[..], "include_paths":[glob..],
 *    "exclude_paths":[glob..], "methods":[..], "exclude_methods":[..],
 *    "operation_ids":[..], "exclude_operation_ids":[..]}
 * A bundle matches when every include list that is present matches and no
 * exclude list matches. Globs use fnmatch(3) without FNM_PATHNAME.
 * Returns 1 (keep) or 0. A NULL or empty filter keeps everything. */
int tq_openapi_filter_match(const json_t *filter, const json_t *bundle);

/* Checks a filter's shape; returns 0 or -1 with invalid_filter. */
int tq_openapi_filter_check(const json_t *filter, tq_error_t *err);

typedef enum {
    TQ_OPENAPI_PREFIX_ON_COLLISION = 0, /* prefix only names that collide across providers */
    TQ_OPENAPI_PREFIX_ALWAYS,
    TQ_OPENAPI_PREFIX_NEVER,
} tq_openapi_prefix_t;

typedef struct {
    size_t max_description; /* import.max_description, 1024 */
    tq_openapi_prefix_t prefix;
    const json_t *filter; /* listing filter, may be NULL */
    int inline_depth;     /* < 0 (default): parameters carry "$defs"; else inlined that deep */
    size_t first, max;    /* only functions first .. first+max-1 of the whole listing are
                             built (max 0: all); names are unique over all of them */
} tq_openapi_fn_opts_t;

void tq_openapi_fn_opts_default(tq_openapi_fn_opts_t *opts);

/* OpenAI function-calling form for bundles of one or more providers:
 * providers = [{"provider": "name", "tools": [bundle...], "defs"?: {...}}...]
 * ("defs": the provider's definitions). Returns a new
 *   {"tools": [{"type":"function","function":{"name","description","parameters"}}...],
 *    "names": {"<function name>": {"provider", "operation_id"}}, "total": N}
 * where names match ^[a-zA-Z0-9_-]{1,64}$ and are unique across the list, and
 * "names" maps a model's call back to its tool (for the functions built) and
 * "total" counts the functions of the whole listing. NULL with err
 * (invalid_argument) on bad input. */
json_t *tq_openapi_functions(const json_t *providers, const tq_openapi_fn_opts_t *opts,
                             tq_error_t *err);

#endif
