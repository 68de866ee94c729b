/* oauth_state.h — the OAuth `state` (RFC 6749 §10.12, RFC 9700 §4.7) and
 * PKCE (RFC 7636) of authorizations in progress, table tq_oauth_states
 * (schemas/004_oauth.sql). A state is 256 random bits (base64url), stored
 * only as its SHA-256, single use (consumed by one conditional UPDATE),
 * expiring (oauth.state_ttl_s). The PKCE verifier is 256 random bits,
 * sealed with the tenant's vault key. Never logs a state or verifier.
 * A state is also bound to the browser (or headless client) that started the
 * authorization: binding_hash is the SHA-256 of a binding token, set at
 * creation (headless) or by the broker's GET /oauth/start (broker/oauth_gate.c
 * runs the listener's two statements on this table); consuming needs the
 * token. */
#ifndef TQ_OAUTH_STATE_H
#define TQ_OAUTH_STATE_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "error.h"
#include "vault.h"

#define TQ_OAUTH_B64_256 44 /* 43 base64url characters + NUL */

typedef struct {
    const char *tenant_id, *plugin_id, *provider, *redirect_uri, *scopes, *credential_name;
    const char *tenant_name;  /* as the client named it (shown on the callback page) */
    const char *binding_hash; /* headless: SHA-256 hex of the binding token; NULL: the
                                 browser's first /oauth/start sets it */
    const char *issuer;       /* expected `iss` (RFC 9207) or NULL */
    bool iss_required; /* the server advertises authorization_response_iss_parameter_supported */
    bool pkce;
    int ttl_s;
} tq_oauth_state_new_t;

/* Creates a state; fills state (and challenge when pkce). */
int tq_oauth_state_create(PGconn *db, tq_vault_t *vault, const tq_oauth_state_new_t *in,
                          char state[TQ_OAUTH_B64_256], char challenge[TQ_OAUTH_B64_256],
                          tq_error_t *err);

/* Stores the provider's authorization URL without its state parameter (what
 * GET /oauth/start redirects to, with the state appended). */
int tq_oauth_state_set_authorize_url(PGconn *db, const char *state, const char *url,
                                     tq_error_t *err);

/* A new binding token (256 random bits, base64url) and its SHA-256 hex. */
int tq_oauth_binding_new(char token[TQ_OAUTH_B64_256], char hash[65], tq_error_t *err);

/* A consumed state. Strings owned; free with tq_oauth_state_free. */
typedef struct {
    char tenant_id[37];
    char *plugin_id, *provider, *redirect_uri, *scopes, *credential_name, *issuer;
    char *tenant_name;   /* NULL for rows made before 006_oauth_binding.sql */
    char *code_verifier; /* NULL without PKCE; wiped on free */
    bool iss_required;
} tq_oauth_state_t;

/* Consumes state when binding (the token) matches its binding_hash: errors
 * oauth_state_invalid (unknown: mismatch or forged), oauth_state_used
 * (replay), oauth_browser_mismatch (no or another binding token: the state
 * is NOT consumed), oauth_state_expired (consumed). */
tq_oauth_state_t *tq_oauth_state_consume(PGconn *db, tq_vault_t *vault, const char *state,
                                         const char *binding, tq_error_t *err);
void tq_oauth_state_free(tq_oauth_state_t **self_p);

/* base64url without padding of n bytes (out must hold 4*ceil(n/3)+1). */
void tq_oauth_b64url(const unsigned char *p, size_t n, char *out);

#endif
