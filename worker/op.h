/* op.h — the contract between the worker core and its op handlers.
 *
 * An op handler is a tq_op_t in the table of worker/ops.c. The worker calls
 * start() once per job attempt, in its event loop thread. The handler must,
 * sooner or later, call exactly one of tq_job_done() / tq_job_fail(); it may
 * do so inside start() (CPU work, e.g. an import) or later from a loop
 * callback (timers, fds, libcurl). After that call the job pointer is gone.
 * Handlers never see other tenants' data: every read they make is scoped by
 * tq_job_tenant(). Results and error messages must never contain a secret. */
#ifndef TQ_OP_H
#define TQ_OP_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "config.h"
#include "error.h"
#include "loop.h"
#include "vault.h"

typedef struct tq_job_t tq_job_t;
struct tq_plugin_host_t;

typedef struct {
    const char *name;             /* "ping", "provider.import", ... */
    void (*start)(tq_job_t *job); /* begin the work */
} tq_op_t;

const char *tq_job_id(const tq_job_t *job);     /* uuid text */
const char *tq_job_tenant(const tq_job_t *job); /* as submitted ("acme" or a uuid) */
/* The tenant as a uuid (ids.h: a name maps to a stable UUIDv5): the value of
 * every tenant_id column and the vault tenant for the tenant's secrets. */
const char *tq_job_tenant_uuid(const tq_job_t *job);
const char *tq_job_op(const tq_job_t *job);
int tq_job_attempt(const tq_job_t *job);    /* 1 on the first run */
int tq_job_timeout_ms(const tq_job_t *job); /* the job's own budget */
/* The payload, parsed (always a JSON object; {} when empty). Borrowed. */
json_t *tq_job_payload(const tq_job_t *job);

/* Typed payload fields. The worker checked the payload against the op's
 * schema (common/ops/<op>.json) before start(), so a field the schema
 * declares has its declared type; a field given as null reads as absent.
 * Borrowed values, valid while the job lives. */
/* The field, or NULL when absent or null. */
json_t *tq_job_arg(const tq_job_t *job, const char *key);
/* A string field, or NULL when absent, null, empty or not a string. */
const char *tq_job_arg_str(const tq_job_t *job, const char *key);
/* A string field of at most max bytes: 0 with *out NULL when absent or null
 * (and, with required, -1 "KEY is required" when absent or empty); -1 with
 * invalid_argument when longer than max bytes or holding a NUL. */
int tq_job_arg_text(const tq_job_t *job, const char *key, size_t max, bool required,
                    const char **out, tq_error_t *err);
/* A boolean field; def when absent or null. */
bool tq_job_arg_bool(const tq_job_t *job, const char *key, bool def);
/* An integer field; def when absent or null. */
json_int_t tq_job_arg_int(const tq_job_t *job, const char *key, json_int_t def);

/* Services of the worker process. */
tq_loop_t *tq_job_loop(const tq_job_t *job);
tq_config_t *tq_job_config(const tq_job_t *job);
/* The worker's PostgreSQL connection (blocking libpq; connected lazily, NULL
 * with err set when the database is unreachable). Keep statements short:
 * other jobs wait while it runs. */
PGconn *tq_job_db(tq_job_t *job, tq_error_t *err);
/* Process-wide subscription to a PostgreSQL NOTIFY channel on the worker's
 * database connection: fn(payload) for each notification, fn(NULL) after the
 * connection was re-established (notifications may have been missed: drop
 * everything cached). Subscribing twice to one channel is a no-op.
 * Notifications are delivered from the loop and at every tq_job_db() call. */
void tq_job_listen(tq_job_t *job, const char *channel, void (*fn)(const char *payload));

/* The vault with the job tenant's keys installed (created on first use);
 * seal tenant data with aad.tenant_id = tq_job_tenant_uuid(job). */
tq_vault_t *tq_job_vault(tq_job_t *job, tq_error_t *err);

/* The auth plugins this worker loaded at start (plugins.path). */
struct tq_plugin_host_t *tq_job_plugins(const tq_job_t *job);

/* Handler state to release if the worker drops the job without an outcome
 * (shutdown with the job in flight; the broker re-queues it). */
void tq_job_on_drop(tq_job_t *job, void (*fn)(tq_job_t *job, void *arg), void *arg);

/* Success: result is any JSON value, stolen (the worker decrefs it). */
void tq_job_done(tq_job_t *job, json_t *result);
/* Failure with a stable code and a human message. retryable: the broker
 * retries with backoff (transient: network, 5xx, database unavailable);
 * otherwise the job is `failed` at once (bad input). */
void tq_job_fail(tq_job_t *job, const char *code, const char *message, bool retryable);
/* Convenience: fail from a tq_error_t. */
void tq_job_fail_err(tq_job_t *job, const tq_error_t *err, bool retryable);

#endif
