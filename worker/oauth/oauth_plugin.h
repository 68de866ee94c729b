/* oauth_plugin.h — the host side of the plugins' OAuth hooks
 * (include/toolq/plugin.h): parameters go in as a JSON object of strings,
 * outputs come back as JSON objects or a ready tq_httpc_request_t for the
 * worker's HTTP engine. Pure (no I/O): the callers send the requests.
 * Outputs may hold secrets: callers wipe them (tq_oauth_json_wipe). */
#ifndef TQ_OAUTH_PLUGIN_H
#define TQ_OAUTH_PLUGIN_H

#include <jansson.h>

#include "error.h"
#include "http/httpc.h"
#include "http/httpc_request.h"
#include "toolq/plugin.h"

/* Whether p implements the OAuth flow (authorize URL + token request/parse). */
int tq_oauth_plugin_supported(const tq_plugin_t *p);
/* The plugin's defaults for params (object of strings; new reference, {}
 * when the plugin has no oauth_defaults). */
json_t *tq_oauth_plugin_defaults(const tq_plugin_t *p, const json_t *params, tq_error_t *err);
/* The plugin's own refresh-ahead window ("refresh_ahead_s" in its defaults)
 * when it sets a positive one, else def. p may be NULL (def). */
int tq_oauth_plugin_refresh_ahead_s(const tq_plugin_t *p, int def);
/* The authorization URL (malloc'd). Error oauth_plugin_error. */
char *tq_oauth_plugin_authorize_url(const tq_plugin_t *p, const json_t *params, tq_error_t *err);
/* The token request for params (grant_type set by the caller). */
tq_httpc_request_t *tq_oauth_plugin_token_request(const tq_plugin_t *p, const json_t *params,
                                                  tq_error_t *err);
/* The revocation request, NULL with oauth_revocation_unsupported when the
 * plugin has no hook. */
tq_httpc_request_t *tq_oauth_plugin_revoke_request(const tq_plugin_t *p, const json_t *params,
                                                   tq_error_t *err);
/* Discovery document URLs to try, in order (array of strings). */
json_t *tq_oauth_plugin_discovery_urls(const tq_plugin_t *p, const json_t *params, tq_error_t *err);
/* Parses a token response: {access_token, token_type, expires_in,
 * refresh_token, scope, meta.* ...} or {error, error_description}. */
json_t *tq_oauth_plugin_parse_token(const tq_plugin_t *p, int status, const tq_httpc_header_t *h,
                                    size_t nh, const void *body, size_t len, tq_error_t *err);
json_t *tq_oauth_plugin_parse_discovery(const tq_plugin_t *p, int status, const void *body,
                                        size_t len, tq_error_t *err);

/* Zeroes every string of a JSON object (one level), then decrefs. */
void tq_oauth_json_wipe(json_t *o);

#endif
