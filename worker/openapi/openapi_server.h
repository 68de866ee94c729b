/* openapi_server.h — the base URL of an operation: the first entry of the
 * nearest `servers` list with {variables} replaced by their defaults, or the
 * Swagger 2.0 schemes/host/basePath; resolved against the document URL when
 * relative; overridden by opts.server_url. */
#ifndef TQ_OPENAPI_SERVER_H
#define TQ_OPENAPI_SERVER_H

#include "openapi_ctx.h"

/* servers: an OpenAPI `servers` array (may be NULL or empty: "/" then).
 * Returns a new malloc'ed URL without a trailing slash. */
char *tq_oa_server_from_list(tq_oa_ctx_t *ctx, const json_t *servers);

/* Swagger 2.0: scheme (https preferred) + host + basePath. */
char *tq_oa_server_from_swagger(tq_oa_ctx_t *ctx, const json_t *root);

#endif
