/* invoke_oauth.h — OAuth in the invoke op: an oauth2 credential expiring
 * within min(oauth.refresh_before_use_s, lifetime × oauth.refresh_fraction)
 * is refreshed before the call (one without a refresh token is used until
 * it expires, then fails with oauth_reauth_required); a 401
 * (WWW-Authenticate: Bearer error="invalid_token", or no error at all)
 * triggers one refresh and one retry; 403 insufficient_scope never does.
 * Refreshes go through the single-flight engine (oauth/oauth_refresh.h);
 * the invoke then restarts from the top with the stored tokens. */
#ifndef TQ_INVOKE_OAUTH_H
#define TQ_INVOKE_OAUTH_H

#include "credstore/credstore.h"
#include "http/httpc.h"
#include "op.h"

#define TQ_INVOKE_OAUTH_PRE 1   /* the pre-use refresh ran */
#define TQ_INVOKE_OAUTH_RETRY 2 /* the 401 refresh + retry ran */

typedef void(tq_invoke_restart_fn)(tq_job_t *job, int flags);

/* 1 when c is an oauth2 credential due for a pre-use refresh and the
 * refresh was started (the caller stops; restart(job, flags|PRE) follows). */
int tq_invoke_oauth_before_use(tq_job_t *job, const tq_credstore_cred_t *c, int flags,
                               tq_invoke_restart_fn *restart);
/* Whether a response asks for a refresh + retry (RFC 6750 §3.1). */
int tq_invoke_oauth_wants_retry(const tq_httpc_response_t *r);
/* Starts the forced refresh of credential name (renewed after loaded_ms
 * counts as done) and then restart(job, flags|RETRY). */
void tq_invoke_oauth_retry(tq_job_t *job, const char *name, long long loaded_ms, int flags,
                           tq_invoke_restart_fn *restart);

#endif
