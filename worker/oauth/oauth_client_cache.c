/* oauth_client_cache.c — see oauth_client_cache.h. Owns the per-process
 * cache object and its NOTIFY subscription. Never logs. */
#include "oauth_client_cache.h"

#include <stdio.h>
#include <string.h>

#include "oauth/oauth_client.h"
#include "oauth/oauth_plugin.h"

#define TQ_OAUTH_CLIENT_CACHE_MAX 4096 /* entries; emptied when full */

/* "tenant|plugin|provider" -> {"params": {...}, "tier": s, "at": ms} */
static json_t *s_cache;

static void drop_all(const char *payload)
{
    (void)payload;
    tq_oauth_json_wipe(s_cache);
    json_decref(s_cache);
    s_cache = NULL;
}

json_t *tq_oauth_client_cached(tq_job_t *job, const char *tenant, const tq_plugin_t *plugin,
                               const char *provider, const char **tier, tq_error_t *err)
{
    int64_t ttl_ms = tq_config_int(tq_job_config(job), "oauth.client_cache_ttl_s") * 1000;
    tq_job_listen(job, TQ_OAUTH_CLIENTS_CHANNEL, drop_all);
    PGconn *db = tq_job_db(job, err); /* delivers pending notifications first */
    tq_vault_t *vault = db ? tq_job_vault(job, err) : NULL;
    if (!vault) return NULL;
    char key[600];
    snprintf(key, sizeof key, "%s|%s|%s", tenant, plugin->id, provider);
    json_t *e = json_object_get(s_cache, key);
    if (e && tq_now_ms() - json_integer_value(json_object_get(e, "at")) <= ttl_ms) {
        *tier =
            strcmp(json_string_value(json_object_get(e, "tier")), "tenant") ? "system" : "tenant";
        return json_deep_copy(json_object_get(e, "params"));
    }
    json_t *params =
        tq_oauth_client_resolve(db, vault, tq_job_config(job), tenant, plugin, provider, tier, err);
    if (!params || ttl_ms <= 0) return params;
    if (!s_cache || json_object_size(s_cache) >= TQ_OAUTH_CLIENT_CACHE_MAX) {
        drop_all(NULL);
        s_cache = json_object();
    }
    json_object_set_new(
        s_cache, key,
        json_pack("{s:O,s:s,s:I}", "params", params, "tier", *tier, "at", (json_int_t)tq_now_ms()));
    json_t *copy = json_deep_copy(params);
    json_decref(params); /* still referenced by the cache: not wiped */
    return copy;
}
