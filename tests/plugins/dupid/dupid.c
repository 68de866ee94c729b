/* dupid.c — test plugin reusing the id "apikey"; loaded after the real one,
 * the host must skip it. Compiled at run time by tests/unit/test_plugins.c. */
#include "toolq/plugin.h"

static const char *const LIST[] = {"dup_type", NULL};

static int apply_auth(const tq_plugin_request_t *req, const tq_plugin_credential_t *cred,
                      tq_plugin_request_edit_t *out, char *errbuf, size_t errlen)
{
    (void)req, (void)cred, (void)out, (void)errbuf, (void)errlen;
    return 0;
}

static const tq_plugin_t PLUGIN = {
    .abi_version = TQ_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(tq_plugin_t),
    .id = "apikey",
    .version = "0",
    .providers = LIST,
    .credential_types = LIST,
    .apply_auth = apply_auth,
};

TQ_PLUGIN_EXPORT const tq_plugin_t *toolq_plugin_entry(void)
{
    return &PLUGIN;
}
