/* openapi_schema.h — turning an OpenAPI/Swagger schema into a self-contained
 * JSON Schema for tool input: refs inlined (memoized per target), allOf
 * merged, nullable folded into type, readOnly properties dropped, Swagger
 * "type: file" made a binary string, recursion cut with a marker. */
#ifndef TQ_OPENAPI_SCHEMA_H
#define TQ_OPENAPI_SCHEMA_H

#include "openapi_ctx.h"

/* Returns a new reference to a JSON Schema built from n, or NULL with err
 * (ref_not_found, ref_cycle, remote_ref_refused...). The result may share
 * sub-trees with other results: treat it as read-only (json_copy before
 * changing a key). */
json_t *tq_oa_schema_build(tq_oa_ctx_t *ctx, tq_oa_node_t n, tq_error_t *err);

#endif
