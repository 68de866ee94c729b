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
 * masked stored value, takes the stored value, but only when the secret
 * keeps its origins and placement (header name, prefix, query parameter);
 * else secret_required. origins: the provider's tool origins after this
 * change (tq_provider_tool_origins; NULL: bind later with
 * tq_provider_creds_bind); a key is stored with them ("origins") and invoke
 * sends it nowhere else (credential_origin_mismatch). in NULL
 * means {"auth_type":"none"}. Returns a new object or NULL with
 * invalid_argument or secret_required (the message never quotes a secret). */
json_t *tq_provider_creds_normalize(const json_t *in, const json_t *stored, const json_t *origins,
                                    tq_error_t *err);

/* The sorted, distinct origins ("scheme://host:port") of the server_url of
 * every tool (an array of bundles, or an object of them). New reference. */
json_t *tq_provider_tool_origins(const json_t *tools);

/* Binds the key of creds (if it holds one) to origins; origins NULL: no-op. */
void tq_provider_creds_bind(json_t *creds, const json_t *origins);

/* A new document with the stored credentials kept: 0 when the stored key
 * (if any) is bound to exactly these origins, else secret_required. */
int tq_provider_creds_check_rebind(const json_t *stored, const json_t *origins, tq_error_t *err);

/* A copy with every secret (api_key_value) masked by tq_mask_secret. */
json_t *tq_provider_creds_mask(const json_t *creds);

#endif
