/* oauth_token.h — the asynchronous OAuth calls of the worker: endpoint
 * discovery (RFC 8414 / OIDC, cached per issuer for an hour, the document's
 * issuer checked for an exact match) and token requests (code exchange,
 * refresh, client credentials) built and parsed by the plugin, sent by
 * oauth_http. Outcomes are classified: terminal (invalid_grant,
 * invalid_client, unauthorized_client: re-authorization needed), transient
 * (network, 5xx, 429, temporarily_unavailable: retry later), failed
 * (anything else). Never logs; no token in an error message. */
#ifndef TQ_OAUTH_TOKEN_H
#define TQ_OAUTH_TOKEN_H

#include <jansson.h>

#include "config.h"
#include "error.h"
#include "loop.h"
#include "toolq/plugin.h"

typedef enum {
    TQ_OAUTH_OK = 0,
    TQ_OAUTH_TERMINAL,  /* the grant or client is no longer valid */
    TQ_OAUTH_TRANSIENT, /* try again later */
    TQ_OAUTH_FAILED,    /* a request error that retrying will not fix */
} tq_oauth_kind_t;

typedef struct tq_oauth_call_t tq_oauth_call_t;

/* Discovery done: params (the same object, endpoints filled where the
 * configuration left them out, "iss_parameter_supported" set) or NULL with
 * err. */
typedef void(tq_oauth_prepared_fn)(json_t *params, const tq_error_t *err, void *arg);
/* Token call done: tokens (plugin outputs, borrowed, wiped after the
 * callback) on TQ_OAUTH_OK, else err. */
typedef void(tq_oauth_token_fn)(tq_oauth_kind_t kind, json_t *tokens, const tq_error_t *err,
                                void *arg);

/* Fills endpoints from the issuer when params has "issuer" and lacks an
 * endpoint or the iss support flag. Every callback of this module runs
 * later from the loop, never inside the starting call; the returned call
 * can be cancelled until then (callers forget it in their callback).
 * params stays the caller's and must live until done. */
tq_oauth_call_t *tq_oauth_prepare(tq_loop_t *loop, tq_config_t *cfg, const tq_plugin_t *plugin,
                                  json_t *params, tq_oauth_prepared_fn *done, void *arg);
/* One token request for params (grant_type set). done runs once. */
tq_oauth_call_t *tq_oauth_token(tq_loop_t *loop, tq_config_t *cfg, const tq_plugin_t *plugin,
                                const json_t *params, tq_oauth_token_fn *done, void *arg);
/* Revocation (RFC 7009): done gets TQ_OAUTH_OK when the server said 200. */
tq_oauth_call_t *tq_oauth_revoke(tq_loop_t *loop, tq_config_t *cfg, const tq_plugin_t *plugin,
                                 const json_t *params, tq_oauth_token_fn *done, void *arg);
void tq_oauth_call_cancel(tq_oauth_call_t **self_p);

/* Classification of a parsed token response / transport error (exposed for
 * tests). */
tq_oauth_kind_t tq_oauth_classify(int status, const json_t *parsed, const tq_error_t *transport,
                                  tq_error_t *err);

#endif
