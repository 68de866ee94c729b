/* ops.c — the table of op handlers a worker knows. Adding an op = one line
 * here plus its handler file. Never contains handler logic itself. */
#include "ops.h"

#include <string.h>

extern const tq_op_t tq_op_ping;
extern const tq_op_t tq_op_sleep;
extern const tq_op_t tq_op_provider_import;
extern const tq_op_t tq_op_provider_update;
extern const tq_op_t tq_op_provider_delete;
extern const tq_op_t tq_op_provider_get;
extern const tq_op_t tq_op_provider_list;
extern const tq_op_t tq_op_tools_list;
extern const tq_op_t tq_op_app_check_tools;
extern const tq_op_t tq_op_test_crash;
extern const tq_op_t tq_op_invoke;
extern const tq_op_t tq_op_credential_create;
extern const tq_op_t tq_op_credential_list;
extern const tq_op_t tq_op_credential_get;
extern const tq_op_t tq_op_credential_delete;
extern const tq_op_t tq_op_plugins_list;
extern const tq_op_t tq_op_oauth_system_client_set;
extern const tq_op_t tq_op_oauth_system_client_show;
extern const tq_op_t tq_op_oauth_system_client_delete;
extern const tq_op_t tq_op_oauth_tenant_client_set;
extern const tq_op_t tq_op_oauth_tenant_client_show;
extern const tq_op_t tq_op_oauth_tenant_client_enable;
extern const tq_op_t tq_op_oauth_tenant_client_disable;
extern const tq_op_t tq_op_oauth_tenant_client_delete;
extern const tq_op_t tq_op_oauth_client;
extern const tq_op_t tq_op_oauth_authorize;
extern const tq_op_t tq_op_oauth_exchange;
extern const tq_op_t tq_op_oauth_client_credentials;
extern const tq_op_t tq_op_refresh;
extern const tq_op_t tq_op_refresh_sweep;
extern const tq_op_t tq_op_test_fail;

static const tq_op_t *const s_ops[] = {
    &tq_op_ping,
    &tq_op_sleep,
    &tq_op_provider_import,
    &tq_op_provider_update,
    &tq_op_provider_delete,
    &tq_op_provider_get,
    &tq_op_provider_list,
    &tq_op_tools_list,
    &tq_op_app_check_tools,
    &tq_op_test_crash,
    &tq_op_invoke,
    &tq_op_credential_create,
    &tq_op_credential_list,
    &tq_op_credential_get,
    &tq_op_credential_delete,
    &tq_op_plugins_list,
    &tq_op_oauth_system_client_set,
    &tq_op_oauth_system_client_show,
    &tq_op_oauth_system_client_delete,
    &tq_op_oauth_tenant_client_set,
    &tq_op_oauth_tenant_client_show,
    &tq_op_oauth_tenant_client_enable,
    &tq_op_oauth_tenant_client_disable,
    &tq_op_oauth_tenant_client_delete,
    &tq_op_oauth_client,
    &tq_op_oauth_authorize,
    &tq_op_oauth_exchange,
    &tq_op_oauth_client_credentials,
    &tq_op_refresh,
    &tq_op_refresh_sweep,
    &tq_op_test_fail,
    NULL,
};

const tq_op_t *tq_ops_find(const char *name)
{
    for (size_t i = 0; s_ops[i]; i++)
        if (strcmp(s_ops[i]->name, name) == 0) return s_ops[i];
    return NULL;
}
