/* oauth_client.h — two-tier OAuth client configuration (seed tables
 * tool_oauth_system_clients and tool_oauth_tenant_clients, schemas/001):
 * params (client_id, client_secret, authorize_url, token_url, scopes,
 * redirect_uri, issuer, extra parameters ...) as one JSON object sealed
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

/* Makes sure the vault has the system scope's key. */
int tq_oauth_system_vault(PGconn *db, tq_vault_t *vault, tq_error_t *err);

/* tenant NULL = the system tier. Merges update (object of strings; a value
 * "[__HIDDEN__]" keeps the stored one, null removes) into the stored params,
 * or creates the row. enabled: -1 keep (new rows: true), 0/1 set (tenant
 * tier only). Returns the stored params (clear; wipe them) or NULL. */
json_t *tq_oauth_client_set(PGconn *db, tq_vault_t *vault, const char *tenant, const char *plugin,
                            const char *provider, const json_t *update, int enabled,
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

/* A copy with secret values masked (client_secret, *secret*, *token*,
 * *password*, private keys). */
json_t *tq_oauth_params_mask(const json_t *params);

#endif
