/* openapi_v3.h — the OpenAPI 3.0/3.1 front end: paths → operation models. */
#ifndef TQ_OPENAPI_V3_H
#define TQ_OPENAPI_V3_H

#include "openapi_ctx.h"

/* Appends one model per operation (openapi_model.h) to models, in document
 * order. Operations that cannot be built are appended with "failed": true
 * after a warning. Returns 0 or -1 (invalid_schema) for document-level
 * problems. */
int tq_oa_v3_operations(tq_oa_ctx_t *ctx, json_t *models, tq_error_t *err);

/* components.securitySchemes, refs resolved; a new object. */
json_t *tq_oa_v3_security_schemes(tq_oa_ctx_t *ctx);

#endif
