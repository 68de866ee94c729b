/* oauth_refresh.h — refreshing one oauth2 credential, single-flight across
 * every worker and broker sharing the database.
 *
 * The lock is a lease on the credential row (refresh_owner,
 * refresh_lease_until), taken by ONE conditional UPDATE (row-locked and
 * re-evaluated by PostgreSQL, so exactly one taker wins) and released by the
 * fenced UPDATE that stores the result (WHERE refresh_owner = us). The read,
 * lease and result statements of the refreshes of one loop turn are run as
 * one statement each (oauth_batch.h; the statements are the credential
 * store's, credstore/credstore_oauth.h). No transaction is held open
 * across the HTTP call, so the worker's single blocking connection is never
 * parked inside a lock and its event loop keeps running; a crashed
 * holder's lease simply expires (60 s, twice the token-request budget).
 * Losers poll the row (20 ms growing to 250 ms) and,
 * once the lease is gone, re-read: renewed after their request was
 * submitted → "already_renewed", no second token request.
 * New access and refresh tokens are written in the same statement (the old
 * refresh token kept when none is returned). invalid_grant, invalid_client,
 * unauthorized_client → status reauth_required (terminal); network, 5xx,
 * 429 → refresh_failing, retryable; every token request is recorded in
 * tq_credential_refreshes.
 * Due: the remaining lifetime is below min(window, lifetime ×
 * oauth.refresh_fraction), lifetime = the expires_in the token came with
 * (metadata "expires_in"); invoke, `refresh` and sweeps share the rule.
 * Without a refresh token a valid token is left alone (not_due, the rule
 * invoke shares: tq_oauth_cred_use_until_expiry) and an expired one is
 * marked reauth_required without a token request. Tokens
 * are only sent to the token endpoint that issued them (metadata
 * "client"), else oauth_client_changed (status client_changed).
 * Never logs a token. */
#ifndef TQ_OAUTH_REFRESH_H
#define TQ_OAUTH_REFRESH_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "oauth/oauth_token.h"
#include "op.h"

typedef struct {
    const char *name; /* the credential by name ... */
    const char *id;   /* ... or by id */
    bool force;       /* refresh even when not due */
    int window_s; /* due when expiring within (capped by the lifetime rule); -1 = refresh_ahead */
    int64_t not_before_ms;     /* renewed at or after this (Unix ms) = already renewed; 0 = off */
    int64_t expect_expires_ms; /* set and different from the row = already renewed; 0 = off */
} tq_oauth_refresh_req_t;

typedef struct {
    const char *outcome; /* refreshed, already_renewed, not_due; NULL on failure */
    tq_oauth_kind_t kind;
    tq_error_t err;
    bool retryable;
    json_t *summary; /* {credential_id, credential, outcome, expires_at}; borrowed */
} tq_oauth_refresh_result_t;

typedef struct tq_oauth_refresh_t tq_oauth_refresh_t;
typedef void(tq_oauth_refresh_fn)(const tq_oauth_refresh_result_t *res, void *arg);

/* Starts; done runs exactly once, later, from the loop. */
tq_oauth_refresh_t *tq_oauth_refresh_start(tq_job_t *job, const tq_oauth_refresh_req_t *req,
                                           tq_oauth_refresh_fn *done, void *arg);
void tq_oauth_refresh_cancel(tq_oauth_refresh_t **self_p);

/* The refresh window in ms for a token: min(window_s, lifetime_s ×
 * oauth.refresh_fraction); window_s alone when the lifetime is unknown. */
int64_t tq_oauth_refresh_window_ms(tq_config_t *cfg, int64_t window_s, double lifetime_s);
/* The lifetime (s) in a credential's metadata ("expires_in"), 0 if none. */
double tq_oauth_lifetime_s(const json_t *meta);

/* Unix ms embedded in a UUIDv7 (the broker's job ids), 0 if not one. */
int64_t tq_oauth_uuid7_ms(const char *uuid);

#endif
