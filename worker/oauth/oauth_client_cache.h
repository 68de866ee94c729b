/* oauth_client_cache.h — the resolved OAuth client configuration of
 * (tenant, plugin, provider), kept per worker process for
 * oauth.client_cache_ttl_s so that refreshes do not re-read and re-open the
 * client rows each time. Every change made through oauth_client.c
 * (set, enable/disable, delete) sends NOTIFY toolq_oauth_clients, which
 * empties the cache of every worker; so does a reconnect (notifications may
 * have been missed). Holds client secrets in clear in worker memory only,
 * wiped when dropped. Never logs. */
#ifndef TQ_OAUTH_CLIENT_CACHE_H
#define TQ_OAUTH_CLIENT_CACHE_H

#include <jansson.h>

#include "error.h"
#include "op.h"
#include "toolq/plugin.h"

/* Like tq_oauth_client_resolve (a copy the caller wipes; *tier "tenant" or
 * "system"), answered from the cache when fresh. */
json_t *tq_oauth_client_cached(tq_job_t *job, const char *tenant, const tq_plugin_t *plugin,
                               const char *provider, const char **tier, tq_error_t *err);

#endif
