/* openapi_bundle.h — operation model → tool bundle (docs/tool-bundle.md):
 * the argument records that let the invoker rebuild the exact request and
 * the tool's input JSON Schema. */
#ifndef TQ_OPENAPI_BUNDLE_H
#define TQ_OPENAPI_BUNDLE_H

#include "openapi_ctx.h"

/* A new bundle for a model that already has its final operation_id. */
json_t *tq_oa_bundle_new(tq_oa_ctx_t *ctx, const json_t *model);

#endif
