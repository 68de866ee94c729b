/* openapi_opid.h — tool names: sanitising to [A-Za-z0-9_-], stable
 * truncation to 64 characters, generation from method and path, and
 * de-duplication with numeric suffixes (docs/importing.md has the rule). */
#ifndef TQ_OPENAPI_OPID_H
#define TQ_OPENAPI_OPID_H

#include "openapi_ctx.h"

#define TQ_OA_NAME_MAX 64

/* Writes into out (TQ_OA_NAME_MAX + 1 bytes) the name s sanitised (each
 * character outside [A-Za-z0-9_-] becomes "_", runs of "_" so made collapse,
 * "_" trimmed at the ends; "op" when nothing is left) and fitted to max
 * characters: a longer name keeps its first max-9 characters plus "_" and 8
 * hex digits of a hash of the whole name. */
void tq_oa_name_fit(const char *s, size_t max, char *out);

/* "<method>_<path words>", e.g. get /api/resources → "get_api_resources",
 * get / → "get_root", get /pets/{petId} → "get_pets_petId"; fitted to 64. */
void tq_oa_opid_generate(const char *method, const char *path, char *out);

/* Makes name unique in taken (an object used as a set): name, name_2,
 * name_3 ... each fitted to 64 characters. Adds the result to taken. */
void tq_oa_name_unique(json_t *taken, const char *name, char *out);

/* Sets "operation_id" on every model: the document's id (sanitised) or a
 * generated one, unique across models. The document's id, when it had to
 * change, is kept as "original_operation_id". */
void tq_oa_opid_assign(tq_oa_ctx_t *ctx, json_t *models);

#endif
