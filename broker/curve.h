/* curve.h — the broker's tcp:// endpoints: CURVE only, admitted by key.
 *
 * The broker's key pair (curve.secret_key_file, a zcert .key_secret file,
 * 0600) makes its ROUTERs CURVE servers on broker.frontend_tcp and
 * broker.backend_tcp; a ZAP handler (inproc://zeromq.zap.01, served on the
 * broker's loop) admits a peer only when its public key is in the allowlist
 * folder (curve.allow_dir) with a role that fits the socket: worker keys on
 * the backend, every other role on the frontend. An admitted connection's
 * messages carry the key (Z85) as their User-Id; principal.c maps it to a
 * role. ipc:// endpoints never reach this code.
 *
 * Owns: the ZAP socket, the broker's secret key while binding. Must never:
 * admit a peer without a CURVE key, log a secret key. */
#ifndef TQ_CURVE_H
#define TQ_CURVE_H

#include "config.h"
#include "error.h"
#include "loop.h"
#include "principal.h"

typedef struct tq_curve_t tq_curve_t;

/* Starts the ZAP handler on ctx (before any CURVE bind) and loads the
 * allowlist. invalid_config: missing or readable-by-others secret key,
 * missing folder. */
tq_curve_t *tq_curve_new(void *ctx, tq_loop_t *loop, tq_principals_t *principals, tq_config_t *cfg,
                         tq_error_t *err);
void tq_curve_destroy(tq_curve_t **self_p);

/* Binds every tcp:// endpoint of the comma-separated list as a CURVE
 * server; role_worker: the backend (worker keys only). Anything but tcp:// is
 * invalid_config; a failed bind is bind_failed. */
int tq_curve_bind(tq_curve_t *self, void *sock, const char *endpoints, bool role_worker,
                  tq_error_t *err);

/* Re-reads the allowlist folder if it changed (revocations reach live
 * connections: a removed key has no role from then on). */
void tq_curve_refresh(tq_curve_t *self);

#endif
