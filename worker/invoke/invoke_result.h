/* invoke_result.h — the job result of an invoke:
 *   {"ok", "status", "headers": {name: value | [values...]}, "content_type",
 *    "body", "body_encoding": "json"|"text"|"base64"|"none", "size",
 *    "elapsed_ms", "attempts", "redirects", "http_version",
 *    "error"?: {"code": "http_error", "status", "message", "body_excerpt"}}
 * Header names lower case; a repeated header keeps every value (array).
 * Secrets given in `secrets` (the credential values and every value the
 * auth plugin set, each also in its percent-encoded, base64 and base64url
 * forms: op_invoke.c) are replaced by "[REDACTED]" wherever the server
 * reflected them: body text, JSON strings and keys, header values and
 * names, and the bytes of a base64 body before it is encoded. Best effort:
 * a server that transforms a secret otherwise (reverses, hashes, splits it)
 * is not caught; the credential-origin binding is what keeps secrets from
 * servers that should not see them. Pure: no I/O, no logging. */
#ifndef TQ_INVOKE_RESULT_H
#define TQ_INVOKE_RESULT_H

#include <jansson.h>
#include <stddef.h>

#include "http/httpc.h"

#define TQ_INVOKE_REDACTED "[REDACTED]"

/* secrets: NULL-terminated list (may be NULL); strings shorter than 4 bytes
 * are ignored. excerpt_bytes bounds error.body_excerpt. New reference. */
json_t *tq_invoke_result_new(const tq_httpc_response_t *resp, int attempts, int redirects,
                             int64_t elapsed_ms, const char *const *secrets, size_t excerpt_bytes);

/* Media type classes. */
int tq_invoke_media_is_json(const char *content_type);
int tq_invoke_media_is_text(const char *content_type);

/* The secrets of one call, each with the forms a server may reflect it in:
 * as is, percent-encoded (as in a URL), and base64 / base64url at each of
 * the 3 alignments it can have inside a longer encoded text (only the
 * characters the secret alone decides). v is NULL-terminated for
 * tq_invoke_redact; secrets shorter than 4 bytes are not kept. */
#define TQ_INVOKE_MAX_SECRETS 256
typedef struct {
    char *v[TQ_INVOKE_MAX_SECRETS + 1];
    size_t n;
} tq_invoke_secrets_t;
void tq_invoke_secrets_add(tq_invoke_secrets_t *self, const char *secret);
/* Wipes and frees every entry. */
void tq_invoke_secrets_wipe(tq_invoke_secrets_t *self);

/* Replaces every secret in s (malloc'd result, or NULL when nothing changed). */
char *tq_invoke_redact(const char *s, size_t len, const char *const *secrets, size_t *out_len);

#endif
