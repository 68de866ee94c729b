/* oauth_gate.h — what the broker's HTTP listener checks in tq_oauth_states
 * before it submits anything (docs/oauth.md, "The callback's checks"): the
 * state's shape, that it exists, is unused and unexpired, and that the
 * browser holds its binding token; and the one write GET /oauth/start makes
 * (claiming an unclaimed state for a browser). Its own blocking libpq
 * connection, used by one listener thread at a time (mutex), opened on first
 * use and again after a failure; every statement is bounded by a 3 s
 * statement_timeout. */
#ifndef TQ_OAUTH_GATE_H
#define TQ_OAUTH_GATE_H

#include <stdbool.h>

#include "error.h"

typedef struct tq_oauth_gate_t tq_oauth_gate_t;

tq_oauth_gate_t *tq_oauth_gate_new(const char *conninfo);
void tq_oauth_gate_destroy(tq_oauth_gate_t **self_p);

/* A state toolq could have made: 43 base64url characters (256 bits). */
bool tq_oauth_gate_state_shape_ok(const char *state);

/* A callback may go on to oauth.exchange: 0, with *used set when the state
 * was already consumed (a reloaded page: the exchange's idempotency key
 * returns the first outcome without a new job). Else -1 with err:
 * oauth_state_invalid (unknown), oauth_state_used (consumed, and this
 * browser did not start it), oauth_browser_mismatch (no or another binding
 * token), oauth_state_expired, db_unavailable. Never writes. */
int tq_oauth_gate_check(tq_oauth_gate_t *g, const char *state, const char *binding, bool *used,
                        tq_error_t *err);

/* GET /oauth/start: binds the unclaimed, unused, unexpired state to
 * binding_hash (SHA-256 hex of the browser's new token) and returns the
 * provider's authorization URL with the state appended (malloc'd), and in
 * *ttl_s the seconds the state has left. Else NULL with err:
 * oauth_state_invalid, oauth_state_used, oauth_state_expired,
 * oauth_start_used (already opened, by this or another browser),
 * db_unavailable. */
char *tq_oauth_gate_start(tq_oauth_gate_t *g, const char *state, const char *binding_hash,
                          int *ttl_s, tq_error_t *err);

/* SHA-256 hex of s (state and binding hashes, as worker/oauth/oauth_state.c). */
void tq_oauth_gate_sha256_hex(const char *s, char out[65]);

#endif
