/* jobs.h — the broker's in-memory view of open jobs: a table by id, the
 * idempotency index, the ready queue (priority, then submit order) and the
 * delayed set (retries waiting for run_after). PostgreSQL holds the truth;
 * this holds what the dispatcher needs to be fast. Never does I/O. */
#ifndef TQ_JOBS_H
#define TQ_JOBS_H

#include "msg.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    TQ_JOB_QUEUED,
    TQ_JOB_RUNNING,
    TQ_JOB_SUCCEEDED,
    TQ_JOB_FAILED,
    TQ_JOB_DEAD,
    TQ_JOB_CANCELLED,
} tq_job_state_t;

const char *tq_job_state_name(tq_job_state_t s);
/* Whether a job may go from one state to the other (the table in jobs.c). */
bool tq_job_transition_legal(tq_job_state_t from, tq_job_state_t to);
static inline bool tq_job_state_final(tq_job_state_t s)
{
    return s >= TQ_JOB_SUCCEEDED;
}

/* A client waiting for ACCEPTED or RESULT: ROUTER identity + request id. */
typedef struct tq_waiter_t {
    unsigned char ident[256];
    size_t ident_len;
    uint64_t rid;
    bool dup;   /* ACCEPTED for an earlier job with the same idempotency key */
    bool batch; /* the request said its sender reads batches (common/outbox.h) */
    struct tq_waiter_t *next;
} tq_waiter_t;

struct tq_bworker_t;

typedef struct tq_bjob_t {
    char id[TQ_JOB_ID_LEN + 1];
    char *tenant, *op, *ikey;
    char *payload; /* JSON text */
    size_t payload_len;
    char *result; /* JSON text, when succeeded */
    size_t result_len;
    char *err_code, *err_msg;
    int priority, max_attempts, attempts, rescues, timeout_ms;
    tq_job_state_t state;
    tq_job_state_t committed;    /* the state the journal holds (what STATUS reports) */
    bool persisted;              /* ACCEPTED was sent: STATUS, WAIT and CANCEL may see it */
    bool row_written;            /* its INSERT has committed: state changes go in UPDATEs */
    bool journaled;              /* false: a read-only op answered from memory, never written */
    bool async;                  /* durability async: answered at once, written lazily */
    bool answered;               /* async: its RESULT waiters were answered before the commit */
    bool in_update;              /* queued for the next journal UPDATE */
    int journal_failures;        /* failed INSERT/UPDATE batches it was in: then written alone */
    int64_t started_wall_ms;     /* wall-clock ms of the first dispatch; 0 before */
    bool running_logged;         /* the journal knows it is running (this attempt) */
    int64_t run_after_ms;        /* monotonic */
    int64_t lease_until_ms;      /* monotonic, while running */
    int64_t submitted_us;        /* monotonic µs: SUBMIT read (profile, latency) */
    int64_t accepted_us;         /* ... its ACCEPTED sent */
    int64_t dispatched_us;       /* ... the last attempt handed to a worker */
    int64_t finished_us;         /* ... the outcome came back */
    struct tq_bworker_t *worker; /* while running */
    tq_waiter_t *accept_waiters; /* want ACCEPTED (after the insert commits) */
    tq_waiter_t *result_waiters; /* want RESULT (after the outcome commits) */
    uint64_t seq;                /* submit order */
    size_t heap_index;           /* in ready or delayed heap; SIZE_MAX when in none */
    bool in_table;               /* counted in its tenant's usage (tq_jobs_add .. _remove) */
    bool counted_running;        /* counted in its tenant's running jobs */
    bool parked;                 /* ready, but its tenant is at quota.running */
    struct tq_bjob_t *park_next; /* its tenant's parked jobs, oldest first */
} tq_bjob_t;

typedef struct tq_jobs_t tq_jobs_t;

tq_jobs_t *tq_jobs_new(void);
/* Frees every job still held. */
void tq_jobs_destroy(tq_jobs_t **self_p);

tq_bjob_t *tq_bjob_new(void);
void tq_bjob_free(tq_bjob_t *job);
void tq_bjob_set_error(tq_bjob_t *job, const char *code, const char *msg);
/* The one place a job's state changes: checks the move against the table
 * of legal transitions (abort on an illegal one: a broker bug) and traces
 * it at debug level with why. A new job starts queued. */
void tq_bjob_set_state(tq_bjob_t *job, tq_job_state_t to, const char *why);
/* batch: the request said its sender reads batches. */
tq_waiter_t *tq_bjob_add_waiter(tq_waiter_t **list, const void *ident, size_t ident_len,
                                uint64_t rid, bool batch);
void tq_bjob_free_waiters(tq_waiter_t **list);

/* Table: insert (takes ownership), lookup, remove (does not free). */
void tq_jobs_add(tq_jobs_t *self, tq_bjob_t *job);
tq_bjob_t *tq_jobs_get(tq_jobs_t *self, const char *id);
tq_bjob_t *tq_jobs_by_ikey(tq_jobs_t *self, const char *tenant, const char *ikey);
void tq_jobs_remove(tq_jobs_t *self, tq_bjob_t *job);
size_t tq_jobs_count(const tq_jobs_t *self);
/* Calls fn for every job (fn must not add or remove). */
void tq_jobs_each(tq_jobs_t *self, void (*fn)(tq_bjob_t *job, void *arg), void *arg);

/* Per-tenant usage (quotas, see broker.c): open jobs (queued or running, not
 * yet removed), their payload bytes, and jobs running now. */
void tq_jobs_usage(tq_jobs_t *self, const char *tenant, size_t *open, size_t *bytes, int *running);
/* At most max_running jobs of one tenant run at once (0: no limit); a ready
 * job over the limit is parked until one of its tenant's jobs stops running. */
void tq_jobs_set_max_running(tq_jobs_t *self, int max_running);
/* The job starts (on=true) or stops running; stopping may move one of its
 * tenant's parked jobs back to the ready queue. */
void tq_jobs_set_running(tq_jobs_t *self, tq_bjob_t *job, bool on);

/* Ready queue: highest priority first, then oldest. A job whose
 * run_after_ms is in the future goes to the delayed heap instead. */
void tq_jobs_enqueue(tq_jobs_t *self, tq_bjob_t *job, int64_t now_ms);
tq_bjob_t *tq_jobs_pop_ready(tq_jobs_t *self);
/* Moves due delayed jobs to the ready queue; returns ms until the next one
 * is due (-1 when none). */
int64_t tq_jobs_promote(tq_jobs_t *self, int64_t now_ms);
/* Takes a job out of whichever heap (or parked list) holds it (cancel). */
void tq_jobs_unqueue(tq_jobs_t *self, tq_bjob_t *job);
size_t tq_jobs_ready_count(const tq_jobs_t *self); /* parked jobs included */
size_t tq_jobs_delayed_count(const tq_jobs_t *self);

#endif
