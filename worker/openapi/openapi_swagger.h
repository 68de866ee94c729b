/* openapi_swagger.h — the Swagger 2.0 front end: paths → the same operation
 * models as OpenAPI 3 (openapi_model.h), so both editions of one API give the
 * same tools. */
#ifndef TQ_OPENAPI_SWAGGER_H
#define TQ_OPENAPI_SWAGGER_H

#include "openapi_ctx.h"

/* Like tq_oa_v3_operations, for a Swagger 2.0 document. */
int tq_oa_swagger_operations(tq_oa_ctx_t *ctx, json_t *models, tq_error_t *err);

/* securityDefinitions converted to OpenAPI 3 security schemes; a new object. */
json_t *tq_oa_swagger_security_schemes(tq_oa_ctx_t *ctx);

#endif
