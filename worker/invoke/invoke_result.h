/* invoke_result.h — the job result of an invoke:
 *   {"ok", "status", "headers": {name: value | [values...]}, "content_type",
 *    "body", "body_encoding": "json"|"text"|"base64"|"none", "size",
 *    "elapsed_ms", "attempts", "redirects", "http_version",
 *    "error"?: {"code": "http_error", "status", "message", "body_excerpt"}}
 * Header names lower case; a repeated header keeps every value (array).
 * Secrets given in `secrets` (the credential values and the auth edits) are
 * replaced by "[REDACTED]" wherever the server reflected them (body text,
 * JSON strings, header values), so a result never carries a credential.
 * Pure: no I/O, no logging. */
#ifndef TQ_INVOKE_RESULT_H
#define TQ_INVOKE_RESULT_H

#include <jansson.h>
#include <stddef.h>

#include "invoke_http.h"

#define TQ_INVOKE_REDACTED "[REDACTED]"

/* secrets: NULL-terminated list (may be NULL); strings shorter than 4 bytes
 * are ignored. excerpt_bytes bounds error.body_excerpt. New reference. */
json_t *tq_invoke_result_new(const tq_http_response_t *resp, int attempts, int redirects,
                             int64_t elapsed_ms, const char *const *secrets, size_t excerpt_bytes);

/* Media type classes. */
int tq_invoke_media_is_json(const char *content_type);
int tq_invoke_media_is_text(const char *content_type);

/* Replaces every secret in s (malloc'd result, or NULL when nothing changed). */
char *tq_invoke_redact(const char *s, size_t len, const char *const *secrets, size_t *out_len);

#endif
