/* oauth_state.h — the OAuth `state` (RFC 6749 §10.12, RFC 9700 §4.7) and
 * PKCE (RFC 7636) of authorizations in progress, table tq_oauth_states
 * (schemas/004_oauth.sql). A state is 256 random bits (base64url), stored
 * only as its SHA-256, single use (consumed by one conditional UPDATE),
 * expiring (oauth.state_ttl_s). The PKCE verifier is 256 random bits,
 * sealed with the tenant's vault key. Never logs a state or verifier. */
#ifndef TQ_OAUTH_STATE_H
#define TQ_OAUTH_STATE_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "error.h"
#include "vault.h"

#define TQ_OAUTH_B64_256 44 /* 43 base64url characters + NUL */

typedef struct {
    const char *tenant_id, *plugin_id, *provider, *redirect_uri, *scopes, *credential_name;
    const char *issuer; /* expected `iss` (RFC 9207) or NULL */
    bool iss_required;  /* the server advertises authorization_response_iss_parameter_supported */
    bool pkce;
    int ttl_s;
} tq_oauth_state_new_t;

/* Creates a state; fills state (and challenge when pkce). */
int tq_oauth_state_create(PGconn *db, tq_vault_t *vault, const tq_oauth_state_new_t *in,
                          char state[TQ_OAUTH_B64_256], char challenge[TQ_OAUTH_B64_256],
                          tq_error_t *err);

/* A consumed state. Strings owned; free with tq_oauth_state_free. */
typedef struct {
    char tenant_id[37];
    char *plugin_id, *provider, *redirect_uri, *scopes, *credential_name, *issuer;
    char *code_verifier; /* NULL without PKCE; wiped on free */
    bool iss_required;
} tq_oauth_state_t;

/* Consumes state: errors oauth_state_invalid (unknown: mismatch or
 * forged), oauth_state_used (replay), oauth_state_expired. */
tq_oauth_state_t *tq_oauth_state_consume(PGconn *db, tq_vault_t *vault, const char *state,
                                         tq_error_t *err);
void tq_oauth_state_free(tq_oauth_state_t **self_p);

/* base64url without padding of n bytes (out must hold 4*ceil(n/3)+1). */
void tq_oauth_b64url(const unsigned char *p, size_t n, char *out);

#endif
