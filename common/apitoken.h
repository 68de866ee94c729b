/* apitoken.h — the text of an API key of the HTTP API (docs/api.md): its
 * shape ("tqk_" + 43 base64url characters: 256 random bits), drawing one, and
 * the SHA-256 hex that is all the database holds of it. Shared by the toolq
 * command (which draws and prints a key once), the apikey ops (which check
 * the hash they store) and the broker's key check (broker/apikey.c).
 * Owns no state. Must never: log or keep a key. */
#ifndef TQ_APITOKEN_H
#define TQ_APITOKEN_H

#include <stdbool.h>

#define TQ_APITOKEN_PREFIX "tqk_"
#define TQ_APITOKEN_LEN 47 /* prefix + 43 */

/* A fresh key (NUL-terminated) from the OS random source; -1 when none. */
int tq_apitoken_new(char out[TQ_APITOKEN_LEN + 1]);
/* A key toolq could have drawn (prefix, length, alphabet). */
bool tq_apitoken_shape_ok(const char *key);
/* SHA-256 of key as 64 lower-case hex digits. */
void tq_apitoken_hash(const char *key, char out[65]);
/* 64 lower-case hex digits (a stored hash). */
bool tq_apitoken_hash_ok(const char *hash);

#endif
