/* principal.h — who is asking, on the broker's frontend, and what they may do.
 *
 * The frontend is an ipc socket: every connection carries the peer's
 * SO_PEERCRED (uid, gid, pid), which libzmq exposes as the "Peer-Address"
 * metadata of each message (":uid:gid:pid"). The uid maps to a role through
 * frontend.operators / frontend.integrators / frontend.tenants; the broker's
 * own uid is always operator; the broker's own process and the workers it
 * forked are the principal "broker" (its HTTP listener, scheduler and refresh
 * sweeps), the only one that may use reserved tenants and idempotency keys.
 *
 * On tcp:// endpoints (CURVE only, broker/curve.c) a peer is its CURVE public
 * key instead: the allowlist folder (curve.allow_dir) holds one zcert public
 * file per key, whose metadata `role` is operator, integrator, tenant:<name>
 * or worker — the same roles as the uid map. A key removed from the folder is
 * revoked: refused at the next handshake and of no role on live connections.
 *
 * Owns: the role map (uids built once at start, keys reloaded when the folder
 * changes) and every access decision of the frontend. Must never: trust a role, uid or tenant
 * stated in a message. */
#ifndef TQ_PRINCIPAL_H
#define TQ_PRINCIPAL_H

#include "config.h"
#include "error.h"
#include "opcat.h"

#include <stdbool.h>
#include <sys/types.h>

/* Tenant that system ops (role OPERATOR in ops.def) run under. */
#define TQ_SYSTEM_TENANT "*system*"

typedef struct {
    tq_role_t role;
    bool known; /* credentials were available (uid or CURVE key) */
    bool curve; /* a CURVE key (tcp): uid and pid are not known */
    uid_t uid;
    pid_t pid;
    char name[64];    /* "uid 1000" (tq_principal_display adds the user name) */
    char tenant[256]; /* TQ_ROLE_TENANT: its one tenant */
} tq_principal_t;

typedef struct tq_principals_t tq_principals_t;

/* Reads frontend.operators, .integrators, .tenants (uids or user names;
 * unknown names and reserved tenants are invalid_config). */
tq_principals_t *tq_principals_new(tq_config_t *cfg, tq_error_t *err);
void tq_principals_destroy(tq_principals_t **self_p);

/* The principal behind a message: its User-Id metadata (set by the ZAP
 * handler to the Z85 public key on a CURVE connection) or else its
 * Peer-Address (NULL: unknown, role none). is_broker_pid(pid, arg) tells
 * whether pid is the broker or one of its workers. A CURVE key's role is
 * never TQ_ROLE_BROKER; a worker key has role none on the frontend. */
void tq_principals_identify(const tq_principals_t *self, const char *user_id,
                            const char *peer_address, bool (*is_broker_pid)(pid_t pid, void *arg),
                            void *arg, tq_principal_t *out);

/* CURVE keys. (Re)reads the allowlist folder when its modification time
 * changed (or force): every `*.key` zcert public file with metadata `role`.
 * A file with a bad role is skipped with a warning (its key is refused).
 * Returns the number of keys, or -1 (invalid_config: no such folder). */
int tq_principals_load_keys(tq_principals_t *self, const char *dir, bool force, tq_error_t *err);
/* The key's role and name (file name without .key) when it is allowed.
 * is_worker: the key has the worker role. */
bool tq_principals_key(const tq_principals_t *self, const char *z85, bool *is_worker,
                       const char **name);

/* "uid 1000 (alice)": looks the user name up (only for refusals and WHOAMI,
 * never per message). */
#define TQ_PRINCIPAL_DISPLAY 112
const char *tq_principal_display(const tq_principal_t *p, char buf[TQ_PRINCIPAL_DISPLAY]);

/* A reserved tenant name (`*…*`, anything starting with '*'). */
bool tq_tenant_reserved(const char *tenant);
/* An idempotency key only the broker may use ("sweep:", "refresh:"). */
bool tq_ikey_reserved(const char *key);

/* SUBMIT: may p run op for *tenant? On success *tenant is the tenant the
 * job runs under (the principal's own tenant when the request named none,
 * TQ_SYSTEM_TENANT for a system op; points into p or a constant). Errors:
 * unknown_op, invalid_argument, forbidden (the message names the role that
 * was missing). test_ops: worker.test_ops is on. */
int tq_principal_may_submit(const tq_principal_t *p, const char *op, bool test_ops,
                            const char **tenant, const char *ikey, tq_error_t *err);
/* STATUS / WAIT / CANCEL: the tenant the lookup is scoped to (NULL: any, for
 * operators), or an error (forbidden when an integrator named none). */
int tq_principal_job_scope(const tq_principal_t *p, const char *requested, const char **scope,
                           tq_error_t *err);
/* STATS: operators (and the broker) only. */
int tq_principal_may_stats(const tq_principal_t *p, tq_error_t *err);

/* A request the broker's own process makes for another principal (its
 * HTTP API, for a verified API key; wire fields ob, obt, obn): replaces *p
 * with that principal, so the rules above apply to it as to an ipc peer
 * with its role. Only the principal "broker" from the broker's own process
 * (own_process) may: anyone else is forbidden. A role other than tenant,
 * integrator or operator, or a tenant role without a valid tenant, is
 * invalid_argument. */
int tq_principal_on_behalf(tq_principal_t *p, bool own_process, const char *role,
                           const char *tenant, const char *name, tq_error_t *err);

#endif
