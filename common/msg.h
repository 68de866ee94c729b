/* msg.h — toolq's wire protocol: one msgpack map per ZeroMQ frame (after the
 * ROUTER identity frame), protocol version 1. See schemas/wire-protocol.md.
 * This module only encodes and decodes; it never touches a socket beyond the
 * send helpers and never trusts input: every field is type- and size-checked,
 * unknown keys are ignored (forward compatibility). */
#ifndef TQ_MSG_H
#define TQ_MSG_H

#include "error.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TQ_WIRE_VERSION 1
#define TQ_JOB_ID_LEN 36      /* uuid text */
#define TQ_WIRE_STR_MAX 255   /* tenant, op, idempotency key, codes */
#define TQ_WIRE_MAX_KEYS 64   /* map entries in one frame (the protocol has 28 keys) */
#define TQ_WIRE_SECRET_MAX 64 /* worker registration secret (hex) */
/* The broker hands each worker it forks a fresh random secret (hex) in this
 * environment variable; the worker's READY carries it (field "sk"). */
#define TQ_WORKER_SECRET_ENV "TOOLQ_WORKER_SECRET"
#define TQ_WORKER_SECRET_LEN 64

typedef enum {
    TQ_MSG_NONE = 0,
    /* client -> broker */
    TQ_MSG_SUBMIT = 1,
    TQ_MSG_STATUS = 2,
    TQ_MSG_WAIT = 3,
    TQ_MSG_CANCEL = 4,
    TQ_MSG_STATS = 5,
    TQ_MSG_WHOAMI = 6,
    /* broker -> client */
    TQ_MSG_ACCEPTED = 10,
    TQ_MSG_RESULT = 11, /* also worker -> broker: the outcome of one attempt */
    TQ_MSG_REJECTED = 12,
    TQ_MSG_STATS_REPLY = 13,
    TQ_MSG_WHOAMI_REPLY = 14,
    /* broker <-> worker */
    TQ_MSG_READY = 20,
    TQ_MSG_JOB = 21,
    TQ_MSG_HEARTBEAT = 22,
    TQ_MSG_DISCONNECT = 23,
} tq_msg_type_t;

/* Decoded message. Strings are NUL-terminated copies owned by the message
 * (freed by tq_msg_reset); absent fields are NULL / 0. */
typedef struct {
    int version;
    tq_msg_type_t type;
    uint64_t rid;               /* client request id, echoed in replies */
    char id[TQ_JOB_ID_LEN + 1]; /* job id, "" when absent */
    char *tenant;
    char *op;
    char *ikey;    /* idempotency key */
    char *payload; /* JSON text (SUBMIT, JOB) */
    size_t payload_len;
    char *result; /* JSON text (RESULT); stats / principal JSON (STATS_REPLY, WHOAMI_REPLY) */
    size_t result_len;
    char *state; /* job state (RESULT to clients) */
    char *err_code;
    char *err_msg;
    int64_t max_attempts;
    int64_t timeout_ms;
    int64_t priority;
    int64_t attempt; /* attempt number (JOB, worker RESULT); attempts (client RESULT) */
    int64_t credit;  /* READY */
    int64_t pid;     /* READY */
    char *secret;    /* READY: the registration secret the broker gave the worker */
    /* client requests from the broker's own process only (its HTTP API):
     * the principal the request is made for (principal.h) */
    char *ob_role;      /* "tenant", "integrator" or "operator" */
    char *ob_tenant;    /* its tenant */
    char *ob_name;      /* its name, for logs and WHOAMI */
    bool retryable;     /* worker RESULT */
    bool dup;           /* ACCEPTED: an earlier job with the same idempotency key */
    bool wait;          /* SUBMIT: also send RESULT when the job ends */
    bool ok;            /* worker RESULT: success */
    bool journal;       /* SUBMIT: journal a read-only op too (see broker/README.md) */
    bool batch;         /* "bt": the sender reads batches (common/outbox.h) */
    int64_t durability; /* SUBMIT: TQ_DURABILITY_* (0: the op's default from config) */
} tq_msg_t;

/* SUBMIT "du": when a job's row and outcome must be on disk (broker/README.md). */
#define TQ_DURABILITY_DEFAULT 0 /* the op's default (jobs.async_ops) */
#define TQ_DURABILITY_SYNC 1    /* ACCEPTED / RESULT only after the commit holds them */
#define TQ_DURABILITY_ASYNC 2   /* answered at once; written with synchronous_commit=off */

void tq_msg_init(tq_msg_t *msg, tq_msg_type_t type);
void tq_msg_reset(tq_msg_t *msg);
/* Copies a string field; NULL clears it. */
void tq_msg_set(char **field, const char *value);
void tq_msg_setn(char **field, size_t *len_field, const char *value, size_t len);

/* Encodes into a malloc'd buffer. */
int tq_msg_encode(const tq_msg_t *msg, unsigned char **out, size_t *out_len);
/* Decodes one frame. Errors (code, never a crash): "frame_too_large",
 * "malformed_frame" (not msgpack, not a map, trailing bytes, wrong field type,
 * string too long), "unsupported_version", "unknown_type". On error msg is
 * reset. */
int tq_msg_decode(const void *data, size_t len, size_t max_len, tq_msg_t *msg, tq_error_t *err);

/* Sends [identity?][frame] on a ZeroMQ socket (identity NULL for DEALER).
 * Returns 0, or -1 with errno (EHOSTUNREACH for a gone ROUTER peer, EAGAIN). */
int tq_msg_send(void *socket, const void *identity, size_t identity_len, const tq_msg_t *msg,
                int flags);

const char *tq_msg_type_name(tq_msg_type_t type);

#endif
