/* none.c — the "none" auth plugin: sends the request unchanged. Exists so
 * every provider resolves to a plugin, including public APIs. */
#include "toolq/plugin.h"

static const char *const PROVIDERS[] = {"*", NULL};
static const char *const TYPES[] = {"none", NULL};

static int apply_auth(const tq_plugin_request_t *req, const tq_plugin_credential_t *cred,
                      tq_plugin_request_edit_t *out, char *errbuf, size_t errlen)
{
    (void)req;
    (void)cred;
    (void)out;
    (void)errbuf;
    (void)errlen;
    return 0;
}

static const tq_plugin_t PLUGIN = {
    .abi_version = TQ_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(tq_plugin_t),
    .id = "none",
    .version = "1.0.0",
    .providers = PROVIDERS,
    .credential_types = TYPES,
    .apply_auth = apply_auth,
};

TQ_PLUGIN_EXPORT const tq_plugin_t *toolq_plugin_entry(void)
{
    return &PLUGIN;
}
