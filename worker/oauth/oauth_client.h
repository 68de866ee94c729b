/* oauth_client.h — two-tier OAuth client configuration (seed tables
 * tool_oauth_system_clients and tool_oauth_tenant_clients, schemas/001):
 * params (client_id, client_secret, authorization_url, token_url, scopes,
 * redirect_uri, issuer, extra parameters ...; the names of the reference
 * system, authorize_url kept as an alias) as one JSON object sealed
 * with the vault — system rows under vault tenant "*system*", tenant rows
 * under the tenant — bound to (tenant, table, "encrypted_oauth_params", id).
 * Resolution: the tenant's client if present and enabled, else the system
 * client, else oauth_client_not_configured; the plugin's defaults fill the
 * gaps. Every read for display is masked. Parameterized SQL, tenant_id in
 * every tenant WHERE. Never logs; no secret in an error. */
#ifndef TQ_OAUTH_CLIENT_H
#define TQ_OAUTH_CLIENT_H

#include <jansson.h>
#include <libpq-fe.h>

#include "config.h"
#include "error.h"
#include "toolq/plugin.h"
#include "vault.h"

#define TQ_OAUTH_SYSTEM_TENANT "*system*"
/* NOTIFY channel of every client change (oauth_client_cache.h listens). */
#define TQ_OAUTH_CLIENTS_CHANNEL "toolq_oauth_clients"

/* Makes sure the vault has the system scope's key. */
int tq_oauth_system_vault(PGconn *db, tq_vault_t *vault, tq_error_t *err);

/* tenant NULL = the system tier. Merges update (object of strings; a value
 * "[__HIDDEN__]" keeps the stored one, null removes) into the stored params,
 * or creates the row. enabled: -1 keep (new rows: true), 0/1 set (tenant
 * tier only). Returns the stored params (clear; wipe them) or NULL. */
json_t *tq_oauth_client_set(PGconn *db, tq_vault_t *vault, const char *tenant, const char *plugin,
                            const char *provider, const json_t *update, int enabled,
                            tq_error_t *err);
/* Checks the names of an update for plugin p (system: the system tier):
 * the documented names, the authorize.<name> / token.<name> extras, the
 * provider-specific ones (the plugin's defaults, microsoft tenant, slack
 * user_scope) and, on the system tier, allow_client_credentials. null
 * values (removals) pass. Error invalid_params listing the accepted names. */
int tq_oauth_client_check_params(const tq_plugin_t *p, int system, const json_t *update,
                                 tq_error_t *err);

/* The stored params (clear) or NULL (oauth_client_not_found); *enabled set
 * for the tenant tier. */
json_t *tq_oauth_client_get(PGconn *db, tq_vault_t *vault, const char *tenant, const char *plugin,
                            const char *provider, int *enabled, tq_error_t *err);
int tq_oauth_client_set_enabled(PGconn *db, const char *tenant, const char *plugin,
                                const char *provider, int enabled, tq_error_t *err);
int tq_oauth_client_delete(PGconn *db, const char *tenant, const char *plugin, const char *provider,
                           tq_error_t *err);

/* The effective configuration for (tenant, plugin, provider): plugin
 * defaults < the chosen tier's params; redirect_uri from oauth.redirect_uri
 * when the params name none. *tier = "tenant" or "system". */
json_t *tq_oauth_client_resolve(PGconn *db, tq_vault_t *vault, tq_config_t *cfg, const char *tenant,
                                const tq_plugin_t *plugin, const char *provider, const char **tier,
                                tq_error_t *err);

/* Which client issues a credential's tokens, recorded in its metadata
 * ("client"): {tier, client_id, token_url} of resolved (and discovered)
 * params. New reference. */
json_t *tq_oauth_client_origin(const char *tier, const json_t *params);
/* 0 when a token request may go to params' token endpoint for a credential
 * whose metadata is meta: the endpoint it was issued by (meta.client.
 * token_url) or none recorded. Else oauth_client_changed. */
int tq_oauth_client_same_endpoint(const json_t *meta, const json_t *params, const char *cred,
                                  tq_error_t *err);
/* 0 when the client_credentials grant may use this client: always for a
 * tenant client, for a system client only with allow_client_credentials
 * set to true by the operator. Else oauth_client_credentials_not_allowed. */
int tq_oauth_client_cc_allowed(const char *tier, const json_t *params, tq_error_t *err);

/* A copy with secret values masked (client_secret, *secret*, *token*,
 * *password*, private keys). */
json_t *tq_oauth_params_mask(const json_t *params);

#endif
