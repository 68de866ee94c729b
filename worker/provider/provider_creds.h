/* provider_creds.h — the credentials of an API provider (credentials_str):
 * validating what a caller submits into the stored shape, masking for every
 * read, and the update rule "a submitted value equal to the masked stored one
 * means keep it". Pure functions over JSON: no SQL, no vault, no logging. */
#ifndef TQ_PROVIDER_CREDS_H
#define TQ_PROVIDER_CREDS_H

#include <jansson.h>

#include "error.h"

/* Stored shapes (docs/importing.md "Credentials"):
 *   {"auth_type":"none"}
 *   {"auth_type":"api_key_header","api_key_header":"Authorization","api_key_value":"...",
 *    "api_key_header_prefix":"none"|"basic"|"bearer"|"custom","api_key_custom_prefix":"..."}
 *   {"auth_type":"api_key_query","api_key_query_param":"key","api_key_value":"..."}
 *   {"auth_type":"credential","credential":"<named credential>"}
 * auth_type is trimmed and lower-cased; the legacy "api_key" means
 * api_key_header. stored, when not NULL, is the provider's current
 * credentials (update): an api_key_value that is missing, or equal to the
 * masked stored value, takes the stored value. in NULL means
 * {"auth_type":"none"}. Returns a new object or NULL with invalid_argument
 * (the message never quotes a secret). */
json_t *tq_provider_creds_normalize(const json_t *in, const json_t *stored, tq_error_t *err);

/* A copy with every secret (api_key_value) masked by tq_mask_secret. */
json_t *tq_provider_creds_mask(const json_t *creds);

#endif
