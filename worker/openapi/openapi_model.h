/* openapi_model.h — the normalised operation both front ends (OpenAPI 3.x in
 * openapi_v3.c, Swagger 2.0 in openapi_swagger.c) produce and the bundle
 * builder consumes. A model is a JSON object:
 *   {"method": "get", "path": "/pets/{id}", "operation_id"?: "doc's id",
 *    "summary"?, "description"?, "tags": [..], "deprecated": bool,
 *    "security": [..], "server_url": "...",
 *    "parameters": [{"name","in","required","deprecated","description"?,
 *                    "style","explode","allowReserved","content_type"?,
 *                    "schema"}],
 *    "request_body"?: {"media_type","required","description"?,"schema","encoding"?},
 *    "responses": {"200": {"description", "content_types": [..]}},
 *    "failed"?: true, "degraded"?: true}
 * failed: the operation cannot become a tool (skipped); degraded: it is a
 * tool, but a $ref it reaches elsewhere (responses, examples, links,
 * callbacks...) could not be followed.
 * Schemas in a model are already self-contained (openapi_schema.c). */
#ifndef TQ_OPENAPI_MODEL_H
#define TQ_OPENAPI_MODEL_H

#include "openapi_ctx.h"

typedef enum {
    TQ_OA_MEDIA_JSON,
    TQ_OA_MEDIA_FORM,
    TQ_OA_MEDIA_MULTIPART,
    TQ_OA_MEDIA_RAW,
} tq_oa_media_t;

/* HTTP methods an operation may have, lower case; NULL-terminated. */
extern const char *const TQ_OA_METHODS[];
int tq_oa_is_method(const char *key);

/* Builds the model of one operation (the front end's own rules). */
typedef json_t *(*tq_oa_operation_fn)(tq_oa_ctx_t *ctx, const char *method, const char *path,
                                      tq_oa_node_t item, tq_oa_node_t op, const char *server);

/* Walks paths (of the entry document): dereferences each path item (a bad
 * one costs only its operations, warned) and each operation object, and
 * appends build()'s model of every operation to models, with ctx->op naming
 * it ("GET /pets") for warnings. An operation whose $ref does not resolve or
 * whose path is unsafe (unsafe_path: not starting with one "/", or with a
 * "." / ".." segment, also percent-encoded) is appended failed; one that
 * reaches a $ref that cannot be followed is marked degraded. */
void tq_oa_each_operation(tq_oa_ctx_t *ctx, const json_t *paths, tq_oa_operation_fn build,
                          const char *server, json_t *models);

/* A new model with method, path and the descriptive fields of op. */
json_t *tq_oa_model_new(const char *method, const char *path, const json_t *op);

/* Parameter model from its parts; schema is stolen. Applies the style and
 * explode defaults of the location. */
json_t *tq_oa_param_new(const char *name, const char *in, const json_t *src, json_t *schema);

/* Adds param (stolen) to params, replacing an entry with the same name and
 * location; index maps "in:name" to its position. level is 0 for path-level
 * and 1 for operation-level parameters; a duplicate within one level is
 * warned (duplicate_parameter), across levels the operation's wins. */
void tq_oa_param_put(tq_oa_ctx_t *ctx, json_t *params, json_t *index, json_t *param, int level);

/* Classifies a media type ("application/json; charset=utf-8" and "+json"
 * are JSON). */
tq_oa_media_t tq_oa_media_kind(const char *media_type);

/* Index into types (array of strings) of the preferred request media type:
 * JSON, then urlencoded, then multipart, then the first one. -1 if empty. */
int tq_oa_media_choose(const json_t *types);

/* Warns unsupported_media_type for media types the invoker sends only as an
 * opaque string (XML and the like). */
void tq_oa_media_check(tq_oa_ctx_t *ctx, const char *media_type);

#endif
