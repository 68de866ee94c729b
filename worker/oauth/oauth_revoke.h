/* oauth_revoke.h — revoking the tokens of a deleted oauth2 credential at
 * its provider (RFC 7009). The refresh token is revoked when there is one
 * (RFC 7009 §2.1: the server then also invalidates the grant's access
 * tokens), else the access token; a plugin that refuses the refresh token
 * (GitHub revokes through the access token) gets the access token. The
 * endpoint comes from the resolved client configuration (revocation_url)
 * or discovery (revocation_endpoint). Best effort by design: the caller
 * has already deleted the row; a failure is reported, never retried.
 * Never logs; no token in an error. */
#ifndef TQ_OAUTH_REVOKE_H
#define TQ_OAUTH_REVOKE_H

#include <stdbool.h>

#include "error.h"
#include "op.h"

typedef struct tq_oauth_revoke_t tq_oauth_revoke_t;

/* revoked: the server accepted the revocation; else err says why
 * (oauth_revocation_unsupported, oauth_client_not_configured,
 * oauth_revocation_failed, a transport error ...). */
typedef void(tq_oauth_revoke_fn)(bool revoked, const tq_error_t *err, void *arg);

/* fields: the credential's decrypted token set (read during this call
 * only); meta: its clear metadata (provider). done runs exactly once,
 * later, from the loop. */
tq_oauth_revoke_t *tq_oauth_revoke_start(tq_job_t *job, const char *plugin_id, const json_t *meta,
                                         const json_t *fields, tq_oauth_revoke_fn *done, void *arg);
void tq_oauth_revoke_cancel(tq_oauth_revoke_t **self_p);

#endif
