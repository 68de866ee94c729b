/* openapi_schema.h — turning an OpenAPI/Swagger schema into a JSON Schema
 * (2020-12) for tool input: every $ref target becomes a shared definition in
 * ctx->defs, referred to as {"$ref": "#/$defs/NAME"} (cycles stay cycles);
 * allOf merged, nullable folded into type, readOnly properties dropped,
 * Swagger "type: file" made a binary string, not and discriminator kept. */
#ifndef TQ_OPENAPI_SCHEMA_H
#define TQ_OPENAPI_SCHEMA_H

#include "openapi_ctx.h"

/* Returns a new reference to a JSON Schema built from n, or NULL with err
 * (ref_not_found, ref_cycle, remote_ref_refused...). The result may share
 * sub-trees with other results: treat it as read-only (json_copy before
 * changing a key). */
json_t *tq_oa_schema_build(tq_oa_ctx_t *ctx, tq_oa_node_t n, tq_error_t *err);

/* s itself, or the definition a {"$ref": "#/$defs/NAME"} schema (chain)
 * names; NULL when that definition is still being built (a cycle). */
const json_t *tq_oa_schema_resolve(tq_oa_ctx_t *ctx, const json_t *s);

#endif
