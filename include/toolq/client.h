/* toolq/client.h — libtoolq, the client library of the toolq job broker.
 *
 *   tq_client_t *c = tq_client_new(NULL);      // TOOLQ_BROKER or ./.toolq default
 *   tq_job_info_t job;
 *   if (tq_client_call(c, "acme", "ping", "{\"x\":1}", NULL, 5000, &job) == 0)
 *       printf("%s %s\n", job.state, job.result);
 *   tq_job_info_reset(&job);
 *   tq_client_destroy(&c);
 *
 * Synchronous calls match replies by request id. The pipelined API
 * (tq_client_send_submit + tq_client_recv) keeps many jobs in flight on one
 * connection; do not mix the two on one client. A client is not thread-safe:
 * use one per thread. Link with `pkg-config --libs toolq`. */
#ifndef TOOLQ_CLIENT_H
#define TOOLQ_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TQ_API __attribute__((visibility("default")))

/* Return codes. */
#define TQ_CLIENT_OK 0
#define TQ_CLIENT_ERROR (-1)    /* local error (bad argument, out of memory) */
#define TQ_CLIENT_TIMEOUT (-2)  /* broker unreachable or no answer in time */
#define TQ_CLIENT_REJECTED (-3) /* the broker refused: see tq_client_error_code() */

typedef struct tq_client_t tq_client_t;

typedef struct {
    const char *idempotency_key; /* per tenant; a second submit returns the first job */
    int max_attempts;            /* 0 = broker default */
    int timeout_ms;              /* the job's lease; 0 = broker default */
    int priority;                /* higher first; default 0 */
    int durability;              /* TQ_DURABILITY_SYNC / _ASYNC; 0 = the op's default */
    bool journal;                /* journal a read-only op too (reads are unjournaled) */
} tq_submit_opts_t;

/* Durability classes (see the broker's README): sync answers ACCEPTED and
 * RESULT after the commit that holds them; async answers at once and writes
 * with synchronous_commit=off (a crash may lose the last moments). */
#define TQ_DURABILITY_SYNC 1
#define TQ_DURABILITY_ASYNC 2

/* A job as the broker reports it. Strings are owned (tq_job_info_reset). */
typedef struct {
    char id[37];
    char *op;
    char *state; /* queued running succeeded failed dead cancelled */
    int attempts;
    char *result;     /* JSON text when succeeded, else NULL */
    char *error_code; /* when failed / dead / cancelled */
    char *error_message;
} tq_job_info_t;

typedef enum {
    TQ_EVENT_ACCEPTED = 1, /* job.id set; dup when an earlier job had the key */
    TQ_EVENT_RESULT = 2,   /* job filled */
    TQ_EVENT_REJECTED = 3, /* job.error_code / error_message set */
} tq_event_type_t;

typedef struct {
    tq_event_type_t type;
    uint64_t rid; /* the request id tq_client_send_submit returned */
    bool dup;
    tq_job_info_t job;
} tq_client_event_t;

/* endpoint NULL: $TOOLQ_BROKER, else ipc://$TOOLQ_HOME/broker.sock with
 * TOOLQ_HOME defaulting to ./.toolq, made absolute; that default is used
 * only while its folder and socket belong to the caller (or root) and the
 * folder is writable by nobody else, else calls fail "endpoint_unsafe".
 * Never fails for a down broker: calls time out instead. A comma-separated
 * list (an active broker and its standbys: "tcp://a:5555,tcp://b:5555")
 * connects to all; requests go to whichever broker completed its handshake,
 * and libzmq reconnects by itself. A request in flight when its broker died
 * gets no answer (timeout): repeat a submit with the same idempotency key.
 * tcp:// endpoints are CURVE: the broker's public key file in
 * $TOOLQ_CURVE_SERVER_KEY, this client's secret key file in $TOOLQ_CURVE_KEY
 * (`toolq keygen`); missing: error curve_keys. */
TQ_API tq_client_t *tq_client_new(const char *endpoint);
TQ_API void tq_client_destroy(tq_client_t **self_p);
TQ_API const char *tq_client_endpoint(const tq_client_t *self);
/* The last error: a stable code ("timeout", "broker_not_running",
 * "invalid_payload", ...) and a message. */
TQ_API const char *tq_client_error_code(const tq_client_t *self);
TQ_API const char *tq_client_error_message(const tq_client_t *self);

/* Scopes this client's STATUS / WAIT / CANCEL to one tenant: jobs of other
 * tenants are then not_found. NULL (the default) is unscoped, which only an
 * operator may use (an integrator is refused: forbidden; a tenant principal
 * is always scoped to its own tenant). */
TQ_API void tq_client_set_tenant(tq_client_t *self, const char *tenant);

/* Makes every later request of this client one made for another principal
 * (role "tenant", "integrator" or "operator", its tenant, a name for logs);
 * NULL role: the client's own again. The broker honours it only from its
 * own process (its HTTP API, after checking an API key) and refuses it from
 * anyone else with forbidden. */
TQ_API void tq_client_set_on_behalf(tq_client_t *self, const char *role, const char *tenant,
                                    const char *name);

/* Submits and returns once the job is durable (ACCEPTED). tenant may be NULL
 * for a principal bound to one tenant (the broker fills it in). A request the
 * caller's role does not allow is TQ_CLIENT_REJECTED with code "forbidden";
 * an op the broker does not know is "unknown_op". */
TQ_API int tq_client_submit(tq_client_t *self, const char *tenant, const char *op,
                            const char *payload_json, const tq_submit_opts_t *opts, int timeout_ms,
                            char job_id[37], bool *dup);
/* Submits and waits for the outcome. */
TQ_API int tq_client_call(tq_client_t *self, const char *tenant, const char *op,
                          const char *payload_json, const tq_submit_opts_t *opts, int timeout_ms,
                          tq_job_info_t *out);
/* Waits for a job (submitted by anyone) to end. */
TQ_API int tq_client_wait(tq_client_t *self, const char *job_id, int timeout_ms,
                          tq_job_info_t *out);
/* Current state, without waiting. */
TQ_API int tq_client_status(tq_client_t *self, const char *job_id, int timeout_ms,
                            tq_job_info_t *out);
/* Cancels a queued or running job; out gets its final state. */
TQ_API int tq_client_cancel(tq_client_t *self, const char *job_id, int timeout_ms,
                            tq_job_info_t *out);
/* Broker statistics as JSON text (caller frees); operators only. */
TQ_API int tq_client_stats(tq_client_t *self, int timeout_ms, char **json);
/* Who the broker takes this client for, as JSON text (caller frees):
 * {"principal":"uid 1000 (alice)","role":"tenant","tenant":"acme","uid":..,"pid":..};
 * role is none, tenant, integrator, operator or broker. */
TQ_API int tq_client_whoami(tq_client_t *self, int timeout_ms, char **json);

/* Pipelined: returns the request id (> 0) or 0 on error. With wait, a RESULT
 * event follows the ACCEPTED one. Never waits: with several endpoints and no
 * broker connected at that moment it returns 0 (broker_unreachable). */
TQ_API uint64_t tq_client_send_submit(tq_client_t *self, const char *tenant, const char *op,
                                      const char *payload_json, const tq_submit_opts_t *opts,
                                      bool wait);
/* Pipelined WAIT: returns the request id (> 0) or 0 on error; one RESULT
 * event (or REJECTED) with that id follows when the job has ended — one
 * waiter on the broker however long the caller keeps receiving. */
TQ_API uint64_t tq_client_send_wait(tq_client_t *self, const char *job_id);
/* Next event; TQ_CLIENT_TIMEOUT when none within timeout_ms (0: only an
 * event already here). Held requests are sent first (tq_client_hold). Reset
 * the event's job with tq_job_info_reset. A REJECTED event also sets the
 * client's error (tq_client_error_code). */
TQ_API int tq_client_recv(tq_client_t *self, int timeout_ms, tq_client_event_t *ev);

/* Batches. After tq_client_hold, requests are held in the client and sent
 * together, as ONE ZeroMQ message, by tq_client_flush or by any receive
 * (tq_client_recv and the synchronous calls flush first): one wake-up of
 * the broker for many requests instead of one each (a pipelined client that
 * receives all the events already here, then sends the next requests, sends
 * them in one message). 256 held requests or 1 MiB go out at once; a broker
 * whose broker.max_batch_frames is set lower refuses the rest (REJECTED,
 * request id 0, batch_too_large). Holding lasts for the client's life;
 * destroy flushes, but like any request sent just before destroy, what the
 * connection has not written yet is lost (no linger). tq_client_flush, and a
 * receive that flushes, return TQ_CLIENT_TIMEOUT with the error code
 * broker_unreachable when the held requests could not be sent (several
 * endpoints and no broker connected): all of them since the last flush were
 * dropped, and no event will come for their request ids. */
TQ_API void tq_client_hold(tq_client_t *self);
TQ_API int tq_client_flush(tq_client_t *self);

TQ_API void tq_job_info_reset(tq_job_info_t *job);

#ifdef __cplusplus
}
#endif
#endif
