/* oauth_cred.h — oauth2 credentials in tq_credentials: the token set
 * (access_token, refresh_token, token_type, scope), sealed by the
 * credential store like every credential (credstore/credstore.h);
 * clear metadata (provider, plugin, grant, granted scope, provider
 * metadata such as Slack's team id, "expires_in": the lifetime in seconds
 * the token came with, "client": the client that issued it, see
 * tq_oauth_client_origin); an absolute expires_at computed at receipt.
 * Never logs; never a token in an error. */
#ifndef TQ_OAUTH_CRED_H
#define TQ_OAUTH_CRED_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "vault.h"

/* The sealed fields for a token response (new reference). old: the
 * previous fields, whose refresh token is kept when none was returned. */
json_t *tq_oauth_cred_fields(const json_t *tokens, const json_t *old);
/* Clear metadata for a token response (new reference), "expires_in" (the
 * lifetime, a number) included when the response has one. */
json_t *tq_oauth_cred_metadata(const char *plugin_id, const char *provider, const char *grant,
                               const json_t *tokens);
/* "expires_in" as text seconds, or NULL when the token does not expire. */
const char *tq_oauth_cred_expires_in(const json_t *tokens);

/* Creates the credential, or replaces the tokens of the tenant's oauth2
 * credential of that name (reconnecting reactivates it); client (the
 * issuing client, tq_oauth_client_origin) goes into its metadata. Error
 * credential_exists when the name holds another type. */
int tq_oauth_cred_save(PGconn *db, tq_vault_t *vault, const char *tenant, const char *name,
                       const char *plugin_id, const char *provider, const char *grant,
                       const json_t *client, const json_t *tokens, char id_out[37],
                       json_t **summary, tq_error_t *err);

/* The rule for a token without a refresh token: it is used until it
 * expires, never renewed early. True when fields (the token set) hold no
 * refresh token, the grant (metadata "grant") is not client_credentials
 * (renewed without one), and the token is still valid: expires_ms (Unix
 * ms; 0 = unknown) after now_ms. Invoke's refresh-before-use and the
 * refresh engine share it. */
bool tq_oauth_cred_use_until_expiry(const json_t *fields, const json_t *meta, int64_t expires_ms,
                                    int64_t now_ms);

/* Makes sure the vault holds the tenant's key (tenant of a state or sweep,
 * not necessarily the job's). */
int tq_oauth_tenant_vault(PGconn *db, tq_vault_t *vault, const char *tenant, tq_error_t *err);

#endif
