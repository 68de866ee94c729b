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
 * Owns: the role map (built once at start) and every access decision of the
 * frontend. Must never: trust a role, uid or tenant stated in a message. */
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
    bool known; /* credentials were available */
    uid_t uid;
    pid_t pid;
    char name[64];    /* "uid 1000 (alice)" */
    char tenant[256]; /* TQ_ROLE_TENANT: its one tenant */
} tq_principal_t;

typedef struct tq_principals_t tq_principals_t;

/* Reads frontend.operators, .integrators, .tenants (uids or user names;
 * unknown names and reserved tenants are invalid_config). */
tq_principals_t *tq_principals_new(tq_config_t *cfg, tq_error_t *err);
void tq_principals_destroy(tq_principals_t **self_p);

/* The principal behind a message's Peer-Address metadata (NULL: unknown,
 * role none). is_broker_pid(pid, arg) tells whether pid is the broker or
 * one of its workers. */
void tq_principals_identify(const tq_principals_t *self, const char *peer_address,
                            bool (*is_broker_pid)(pid_t pid, void *arg), void *arg,
                            tq_principal_t *out);

/* A request the broker's own process makes for another principal (its
 * HTTP API, for a verified API key; wire fields ob, obt, obn): replaces *p
 * with that principal, so the rules below apply to it as to an ipc peer
 * with its role. Only the principal "broker" from the broker's own process
 * (own_process) may: anyone else is forbidden. A role other than tenant,
 * integrator or operator, or a tenant role without a valid tenant, is
 * invalid_argument. */
int tq_principal_on_behalf(tq_principal_t *p, bool own_process, const char *role,
                           const char *tenant, const char *name, tq_error_t *err);

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

#endif
