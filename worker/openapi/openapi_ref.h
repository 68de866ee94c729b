/* openapi_ref.h — $ref resolution: local JSON pointers (with ~0/~1 and
 * percent-decoding), relative file refs (from opts.files), remote refs (only
 * through opts.fetch_ref when allowed) and chained refs with a hop bound. */
#ifndef TQ_OPENAPI_REF_H
#define TQ_OPENAPI_REF_H

#include "openapi_ctx.h"

/* Follows in.node's "$ref" chain (in.node itself when it has no $ref).
 * *out receives the target; *key (when key is not NULL) a new string
 * "document#pointer" naming the final target, or NULL when in was no ref.
 * Errors: ref_not_found, ref_cycle, remote_ref_refused, invalid_document
 * (a referenced file does not load). Returns 0 or -1. */
int tq_oa_deref(tq_oa_ctx_t *ctx, tq_oa_node_t in, tq_oa_node_t *out, char **key, tq_error_t *err);

/* Like tq_oa_deref without the key: the node under key of parent (NULL
 * when absent), its $ref chain followed. 0 (out->node NULL when absent) or -1. */
int tq_oa_child(tq_oa_ctx_t *ctx, tq_oa_node_t parent, const char *key, tq_oa_node_t *out,
                tq_error_t *err);

/* Walks n and everything its $refs reach (in every document of the set) and
 * warns once, naming it, for each $ref that cannot be followed; literal
 * values (example, default, enum, const, an Example's value) are not walked.
 * Targets are walked once per import (memo in ctx). Returns how many refs
 * failed (0: everything n reaches resolves). */
size_t tq_oa_refs_check(tq_oa_ctx_t *ctx, tq_oa_node_t n);

/* Resolves the decoded JSON pointer fragment (e.g. "/a/b~1c") in root. */
json_t *tq_oa_pointer_get(json_t *root, const char *fragment);

#endif
