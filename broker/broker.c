/* broker.c — the broker's event loop: client protocol (SUBMIT, STATUS, WAIT,
 * CANCEL, STATS), worker protocol (READY, JOB, RESULT, HEARTBEAT,
 * DISCONNECT), group commit of submissions and outcomes, credit-based
 * dispatch, leases, retries with backoff, crash rescue and shutdown drain.
 * Guarantee: at-least-once execution, exactly-once recorded outcome: a job is
 * ACCEPTED only after its INSERT commits, and its RESULT is sent only after
 * its outcome commits. Never blocks on PostgreSQL after start-up. */
#include "broker.h"

#include "curve.h"
#include "http.h"
#include "ids.h"
#include "jobs.h"
#include "journal.h"
#include "keystore.h"
#include "log.h"
#include "migrations.h"
#include "opstats.h"
#include "outbox.h"
#include "pg.h"
#include "rng.h"
#include "opcat.h"
#include "pglane.h"
#include "principal.h"
#include "scheduler.h"
#include "supervisor.h"
#include "vault.h"
#include "msg.h"
#include "mem.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <czmq.h>
#include <errno.h>
#include <grp.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

typedef struct tq_bworker_t {
    unsigned char ident[256];
    size_t ident_len;
    char key[520]; /* hex of ident: the registry key */
    pid_t pid;
    bool remote;     /* admitted by its CURVE worker key (tcp), not forked by us */
    bool batch;      /* its READY said it reads batches: JOBs go through the outbox */
    char where[160]; /* "local" or "tcp <address> key <name>" */
    int credit;
    int64_t last_heard_ms;
    tq_bjob_t **running; /* jobs in flight on this worker */
    int nrunning, caprunning;
} tq_bworker_t;

typedef struct {
    tq_bjob_t *job;
    tq_job_state_t state; /* snapshot written by the batch */
    int attempts;
} update_row_t;

typedef struct {
    tq_bjob_t **v;
    size_t n, cap;
} jobvec_t;

typedef struct {
    uint64_t submitted, succeeded, failed, dead, cancelled, retried, rescued;
} counters_t;

/* Where a job's time goes (STATS "profile", scripts/bench profile): sums of
 * µs over the jobs answered, per class (unjournaled read, sync, async). */
typedef struct {
    uint64_t jobs;
    double journal, dispatch, worker, outcome, total;
} profile_t;
enum { PROF_READ, PROF_SYNC, PROF_ASYNC, PROF_N };

struct tq_broker_t {
    tq_config_t *cfg;
    tq_loop_t *loop;
    void *ctx, *front, *back;
    tq_outbox_t *front_out, *back_out; /* batches, sent at the end of each loop turn */
    int sigfd;
    tq_vault_t *vault;
    tq_pglane_t *ingest, *update, *misc;
    PGconn *lockdb;             /* the one-broker-per-database advisory lock */
    long long epoch;            /* tq_broker_epoch.epoch this broker took with the lock */
    int64_t relock_deadline_ms; /* lock connection lost: give up after this */
    bool beat_inflight;
    tq_jobs_t *jobs;
    tq_supervisor_t *sup;
    zhashx_t *workers; /* key -> tq_bworker_t */
    jobvec_t staged_inserts, inflight_inserts;
    update_row_t *inflight_insert_rows; /* the state each in-flight INSERT row holds */
    jobvec_t staged_updates;
    update_row_t *inflight_updates;
    size_t ninflight_updates;
    uint64_t promote_timer;
    uint64_t linger_timer; /* kicks the ingest lane when a staged INSERT stops lingering */
    int linger_ms;         /* broker.commit_linger_ms */
    counters_t count;
    profile_t prof[PROF_N];
    bool journal_reads;  /* jobs.journal_reads */
    pid_t self_pid;      /* getpid() once: asked for every client frame */
    bool *async_default; /* per catalogue entry (tq_opcat_all order): in jobs.async_ops */
    /* STATS journal counts run (what http.stats_cache_ms saves) */
    uint64_t journal_counts;
    tq_opstats_t *opstats;       /* per-op outcomes and latency, for STATS */
    tq_http_t *http;             /* HTTP listener (a frontend client), NULL when off */
    tq_scheduler_t *sched;       /* periodic refresh.sweep (a frontend client), NULL when off */
    tq_principals_t *principals; /* who may do what on the frontend */
    tq_curve_t *curve;           /* tcp:// endpoints (CURVE), NULL when none */
    bool test_ops;               /* worker.test_ops: test.* ops are known */
    int max_credit;              /* worker.concurrency: the most a READY may claim */
    bool stopping;
    int64_t stop_deadline_ms;
    /* cached settings */
    size_t max_frame, batch_max, max_queued, max_batch_frames;
    int heartbeat_ms, liveness, max_attempts, max_rescues, timeout_ms;
    int backoff_base_ms, backoff_max_ms, grace_ms, retention_hours, purge_interval_s;
    /* per-tenant quotas (F11) */
    size_t quota_jobs, quota_bytes;
    int64_t quota_sleep_ms;
};

/* Journal statements a job may fail in before it is given up. */
#define JOURNAL_TRIES 5

/* --- small helpers --------------------------------------------------------------- */

static void vec_push(jobvec_t *v, tq_bjob_t *j);

/* Puts jobs back at the head (a failed batch is retried first). */
static void vec_unshift(jobvec_t *v, tq_bjob_t *const *jobs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        vec_push(v, NULL); /* grow */
    memmove(v->v + n, v->v, (v->n - n) * sizeof *v->v);
    memcpy(v->v, jobs, n * sizeof *v->v);
}

static void vec_push(jobvec_t *v, tq_bjob_t *j)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 256;
        v->v = tq_xrealloc(v->v, v->cap * sizeof *v->v);
    }
    v->v[v->n++] = j;
}

static void send_to(tq_broker_t *b, void *sock, const void *ident, size_t ident_len,
                    const tq_msg_t *m)
{
    if (tq_msg_send(sock, ident, ident_len, m, ZMQ_DONTWAIT) < 0 && errno != EHOSTUNREACH)
        tq_warn("cannot send %s: %s", tq_msg_type_name(m->type), zmq_strerror(errno));
    (void)b;
}

/* To a peer of sock that reads batches: into this turn's batch for it (sent
 * by on_turn); otherwise, or when it cannot be queued, at once. */
static void send_or_batch(tq_broker_t *b, void *sock, const void *ident, size_t ident_len,
                          bool batch, const tq_msg_t *m)
{
    tq_outbox_t *out = sock == b->front ? b->front_out : b->back_out;
    if (batch && tq_outbox_add(out, ident, ident_len, m) == 0) return;
    send_to(b, sock, ident, ident_len, m);
}

static void reject(tq_broker_t *b, const void *ident, size_t ident_len, uint64_t rid,
                   const char *code, const char *msg)
{
    tq_msg_t m;
    tq_msg_init(&m, TQ_MSG_REJECTED);
    m.rid = rid;
    m.err_code = (char *)code;
    m.err_msg = (char *)msg;
    send_to(b, b->front, ident, ident_len, &m);
}

/* A job as the journal has it: an outcome not yet committed is reported as
 * the last committed state, never ahead of the journal. */
static void job_to_result(const tq_bjob_t *j, tq_msg_t *m, uint64_t rid)
{
    tq_msg_init(m, TQ_MSG_RESULT);
    m->rid = rid;
    memcpy(m->id, j->id, sizeof m->id);
    m->op = j->op;
    tq_job_state_t shown = j->state;
    if (tq_job_state_final(j->state) && j->committed != j->state && j->journaled && !j->async)
        shown = TQ_JOB_RUNNING; /* it ran; its (sync) outcome is still being written */
    m->state = (char *)tq_job_state_name(shown);
    m->attempt = j->attempts;
    if (shown == TQ_JOB_SUCCEEDED) {
        m->result = j->result;
        m->result_len = j->result_len;
    } else if (tq_job_state_final(shown)) {
        m->err_code = j->err_code;
        m->err_msg = j->err_msg;
    }
}

/* Whether list holds a waiter for the same connection and request as w. */
static bool has_waiter(const tq_waiter_t *list, const tq_waiter_t *w)
{
    for (; list; list = list->next)
        if (list->rid == w->rid && list->ident_len == w->ident_len &&
            memcmp(list->ident, w->ident, w->ident_len) == 0)
            return true;
    return false;
}

/* The job is stored (or needs no store): ACCEPTED to its waiters. With
 * result_follows (the job's RESULT goes out in the same step), a waiter that
 * also waits for the RESULT of the same request gets the RESULT alone: it
 * carries the id, and one message is one wake-up less on both sides. */
static void send_accepted(tq_broker_t *b, tq_bjob_t *j, bool result_follows)
{
    for (tq_waiter_t *w = j->accept_waiters; w; w = w->next) {
        if (result_follows && has_waiter(j->result_waiters, w)) continue;
        tq_msg_t m;
        tq_msg_init(&m, TQ_MSG_ACCEPTED);
        m.rid = w->rid;
        m.dup = w->dup;
        memcpy(m.id, j->id, sizeof m.id);
        send_or_batch(b, b->front, w->ident, w->ident_len, w->batch, &m);
    }
    tq_bjob_free_waiters(&j->accept_waiters);
    j->persisted = true;
    if (!j->accepted_us) j->accepted_us = tq_now_us();
}

/* Sends the final state to its waiters, once, and adds the job's stages to
 * the profile. */
static void answer_result(tq_broker_t *b, tq_bjob_t *j)
{
    if (j->answered) return;
    j->answered = true;
    for (tq_waiter_t *w = j->result_waiters; w; w = w->next) {
        tq_msg_t m;
        job_to_result(j, &m, w->rid);
        send_or_batch(b, b->front, w->ident, w->ident_len, w->batch, &m);
    }
    tq_bjob_free_waiters(&j->result_waiters);
    if (!j->submitted_us || !j->dispatched_us || !j->finished_us) return; /* recovered, cancelled */
    profile_t *p = &b->prof[!j->journaled ? PROF_READ : j->async ? PROF_ASYNC : PROF_SYNC];
    int64_t now = tq_now_us();
    p->jobs++;
    p->journal += (double)((j->accepted_us ? j->accepted_us : now) - j->submitted_us);
    p->dispatch += (double)(j->dispatched_us - j->submitted_us);
    p->worker += (double)(j->finished_us - j->dispatched_us);
    p->outcome += (double)(now - j->finished_us);
    p->total += (double)(now - j->submitted_us);
}

/* A client waits for the job's RESULT: at once when it was answered. */
static void add_result_waiter(tq_broker_t *b, tq_bjob_t *j, const unsigned char *ident, size_t ilen,
                              uint64_t rid, bool batch)
{
    if (!j->answered) {
        tq_bjob_add_waiter(&j->result_waiters, ident, ilen, rid, batch);
        return;
    }
    tq_msg_t m;
    job_to_result(j, &m, rid);
    send_or_batch(b, b->front, ident, ilen, batch, &m);
}

/* The job leaves memory: its outcome is answered and written (or it is
 * never written: an unjournaled read). */
static void job_done(tq_broker_t *b, tq_bjob_t *j)
{
    answer_result(b, j);
    tq_opstats_record(b->opstats, j->op, tq_job_state_name(j->state), j->err_code,
                      j->submitted_us ? (double)(tq_now_us() - j->submitted_us) / 1e6 : -1);
    tq_jobs_remove(b->jobs, j);
    tq_bjob_free(j);
}

static int64_t backoff_ms(tq_broker_t *b, int attempt)
{
    int64_t d = b->backoff_base_ms;
    for (int i = 1; i < attempt && d < b->backoff_max_ms; i++)
        d *= 2;
    if (d > b->backoff_max_ms) d = b->backoff_max_ms;
    uint32_t r;
    tq_rng_public(&r, sizeof r);
    return d / 2 + (d > 1 ? (int64_t)(r % (uint32_t)(d / 2 + 1)) : 0); /* jitter: [d/2, d] */
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes the job's new state in the next UPDATE batch. A job whose INSERT
 * has not committed yet gets nothing here: a staged INSERT takes the state
 * the job has when the batch is built, and on_inserted stages whatever
 * changed after an in-flight one. An unjournaled read is never written. */
static void stage_update(tq_broker_t *b, tq_bjob_t *j)
{
    if (j->state == TQ_JOB_RUNNING) j->running_logged = true;
    if (!j->journaled || !j->row_written || j->in_update) return;
    j->in_update = true;
    vec_push(&b->staged_updates, j); /* written at the end of this loop turn */
}

static void dispatch(tq_broker_t *b);
static void beat(tq_broker_t *b);
static void schedule_promote(tq_broker_t *b);

/* A final state reached in memory: unjournaled reads and async jobs are
 * answered now (an async job stays in memory until its row is written);
 * sync jobs are answered after the commit (on_inserted, on_updated). */
static void outcome_known(tq_broker_t *b, tq_bjob_t *j)
{
    if (!tq_job_state_final(j->state)) return;
    j->finished_us = tq_now_us();
    if (!j->journaled)
        job_done(b, j);
    else if (j->async && !j->accept_waiters)
        answer_result(b, j);
}

static void requeue(tq_broker_t *b, tq_bjob_t *j, int64_t delay_ms, const char *why)
{
    tq_bjob_set_state(j, TQ_JOB_QUEUED, why);
    j->worker = NULL;
    j->run_after_ms = tq_now_ms() + delay_ms;
    tq_jobs_enqueue(b->jobs, j, tq_now_ms());
    if (delay_ms > 0) schedule_promote(b);
}

/* A transient failure: retry with backoff, or `dead` once the attempts that
 * were not crash rescues reach max_attempts. */
static void retry_or_die(tq_broker_t *b, tq_bjob_t *j)
{
    if (j->attempts - j->rescues >= j->max_attempts) {
        tq_bjob_set_state(j, TQ_JOB_DEAD, "attempts used up");
        b->count.dead++;
    } else {
        b->count.retried++;
        requeue(b, j, backoff_ms(b, j->attempts - j->rescues), "retry after backoff");
    }
}

/* --- workers ------------------------------------------------------------------------ */

static void worker_take(tq_broker_t *b, tq_bworker_t *w, tq_bjob_t *j)
{
    tq_jobs_set_running(b->jobs, j, false);
    for (int i = 0; i < w->nrunning; i++)
        if (w->running[i] == j) {
            w->running[i] = w->running[--w->nrunning];
            return;
        }
}

static void worker_gone(tq_broker_t *b, tq_bworker_t *w, const char *why)
{
    if (w->nrunning)
        tq_warn("worker pid %d %s with %d jobs in flight: re-queueing them", (int)w->pid, why,
                w->nrunning);
    else
        tq_info("worker pid %d %s", (int)w->pid, why);
    for (int i = 0; i < w->nrunning; i++) {
        tq_bjob_t *j = w->running[i];
        j->worker = NULL;
        tq_jobs_set_running(b->jobs, j, false);
        j->rescues++;
        b->count.rescued++;
        if (j->rescues > b->max_rescues) {
            char msg[200];
            snprintf(msg, sizeof msg,
                     "the job's worker died %d times while running it (a poison job?)", j->rescues);
            tq_bjob_set_error(j, "worker_crashed", msg);
            tq_bjob_set_state(j, TQ_JOB_DEAD, "worker_crashed");
            b->count.dead++;
        } else {
            tq_bjob_set_error(j, "worker_lost", "the worker running this job died; re-queued");
            requeue(b, j, 0, "rescue: worker_lost");
        }
        stage_update(b, j);
        outcome_known(b, j);
    }
    zhashx_delete(b->workers, w->key);
    free(w->running);
    free(w);
    dispatch(b);
}

static tq_bworker_t *worker_find(tq_broker_t *b, const unsigned char *ident, size_t n,
                                 char key[520])
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        key[2 * i] = hex[ident[i] >> 4];
        key[2 * i + 1] = hex[ident[i] & 15];
    }
    key[2 * n] = '\0';
    return zhashx_lookup(b->workers, key);
}

/* --- dispatch ----------------------------------------------------------------------- */

static tq_bworker_t *pick_worker(tq_broker_t *b)
{
    tq_bworker_t *best = NULL;
    for (tq_bworker_t *w = zhashx_first(b->workers); w; w = zhashx_next(b->workers))
        if (w->nrunning < w->credit &&
            (!best || w->credit - w->nrunning > best->credit - best->nrunning))
            best = w;
    return best;
}

static void dispatch(tq_broker_t *b)
{
    if (b->stopping) return;
    for (;;) {
        tq_bworker_t *w = pick_worker(b);
        if (!w) return;
        tq_bjob_t *j = tq_jobs_pop_ready(b->jobs);
        if (!j) return;
        tq_bjob_set_state(j, TQ_JOB_RUNNING, "dispatch");
        j->dispatched_us = tq_now_us();
        j->attempts++;
        j->running_logged = false;
        if (!j->started_wall_ms) j->started_wall_ms = wall_ms();
        j->worker = w;
        tq_jobs_set_running(b->jobs, j, true);
        j->lease_until_ms = tq_now_ms() + j->timeout_ms + (int64_t)b->heartbeat_ms * b->liveness;
        if (w->nrunning == w->caprunning) {
            w->caprunning = w->caprunning ? w->caprunning * 2 : 16;
            w->running = tq_xrealloc(w->running, (size_t)w->caprunning * sizeof *w->running);
        }
        w->running[w->nrunning++] = j;
        tq_msg_t m;
        tq_msg_init(&m, TQ_MSG_JOB);
        memcpy(m.id, j->id, sizeof m.id);
        m.tenant = j->tenant;
        m.op = j->op;
        m.payload = j->payload;
        m.payload_len = j->payload_len;
        m.attempt = j->attempts;
        m.timeout_ms = j->timeout_ms;
        m.batch = true; /* the worker may answer in batches */
        send_or_batch(b, b->back, w->ident, w->ident_len, w->batch, &m);
        /* The 'running' state is journaled lazily (heartbeat tick): a fast job
         * ends before that, and only its outcome is written. A job is
         * dispatched before its INSERT commits when it has no idempotency
         * key (handle_submit); if it ends before the INSERT is built, the
         * INSERT holds its outcome: one commit for the whole job. Recovery
         * treats queued and running alike, so nothing is lost by the delay. */
    }
}

static void on_promote(tq_loop_t *loop, void *arg)
{
    (void)loop;
    tq_broker_t *b = arg;
    b->promote_timer = 0;
    schedule_promote(b);
    dispatch(b);
}

static void schedule_promote(tq_broker_t *b)
{
    if (b->promote_timer) tq_loop_cancel(b->loop, b->promote_timer);
    b->promote_timer = 0;
    int64_t next = tq_jobs_promote(b->jobs, tq_now_ms());
    if (next >= 0) b->promote_timer = tq_loop_timer(b->loop, next, on_promote, b);
}

/* --- journal: group commit ------------------------------------------------------------ */

/* The job's INSERT is given up. A sync submitter is refused; an async job
 * was already answered, and is lost (logged). A job dispatched early is
 * taken off its worker (its late RESULT is ignored). */
static void fail_unaccepted(tq_broker_t *b, tq_bjob_t *j, const char *code, const char *msg)
{
    for (tq_waiter_t *w = j->accept_waiters; w; w = w->next)
        reject(b, w->ident, w->ident_len, w->rid, code, msg);
    if (j->async) tq_err("async job %s was never written: %s", j->id, msg);
    if (j->worker) worker_take(b, j->worker, j);
    tq_jobs_remove(b->jobs, j);
    tq_bjob_free(j);
}

typedef struct {
    tq_broker_t *b;
    tq_bjob_t *phantom; /* holds the waiters of a submit that hit a stored key */
} ikey_lookup_t;

static void on_ikey_lookup(tq_pglane_t *lane, PGresult *res, const char *errmsg, void *arg)
{
    (void)lane;
    ikey_lookup_t *ctx = arg;
    tq_broker_t *b = ctx->b;
    tq_bjob_t *p = ctx->phantom;
    free(ctx);
    tq_msg_t m = {0};
    tq_error_t err = {0};
    if (!res || PQntuples(res) == 0 || tq_journal_row_to_msg(b->vault, res, 0, &m, &err)) {
        for (tq_waiter_t *w = p->accept_waiters; w; w = w->next)
            reject(b, w->ident, w->ident_len, w->rid, "db_unavailable",
                   errmsg ? errmsg : "idempotency key lookup failed");
        tq_bjob_free(p);
        return;
    }
    for (tq_waiter_t *w = p->accept_waiters; w; w = w->next) {
        tq_msg_t a;
        tq_msg_init(&a, TQ_MSG_ACCEPTED);
        a.rid = w->rid;
        a.dup = true;
        memcpy(a.id, m.id, sizeof a.id);
        send_to(b, b->front, w->ident, w->ident_len, &a);
    }
    for (tq_waiter_t *w = p->result_waiters; w; w = w->next) {
        m.rid = w->rid;
        send_to(b, b->front, w->ident, w->ident_len, &m);
    }
    tq_msg_reset(&m);
    tq_bjob_free(p);
}

static void on_inserted(tq_pglane_t *lane, PGresult *res, const char *errmsg, void *arg)
{
    (void)lane;
    tq_broker_t *b = arg;
    jobvec_t *batch = &b->inflight_inserts;
    if (!res) {
        /* Retried (alone, to isolate a bad row) before giving up: a lost
         * connection or an answer lost after COMMIT must not turn into a
         * refusal; the statement is safe to repeat (see journal.c). */
        tq_err("journal insert of %zu jobs failed: %s", batch->n, errmsg);
        size_t keep = 0;
        for (size_t i = 0; i < batch->n; i++) {
            tq_bjob_t *j = batch->v[i];
            if (++j->journal_failures < JOURNAL_TRIES)
                batch->v[keep++] = j;
            else
                fail_unaccepted(b, j, "db_unavailable",
                                "the job could not be stored; nothing was accepted");
        }
        vec_unshift(&b->staged_inserts, batch->v, keep);
        batch->n = 0;
        return;
    }
    zhashx_t *ok = zhashx_new();
    for (int r = 0; r < PQntuples(res); r++)
        zhashx_insert(ok, PQgetvalue(res, r, 0), (void *)1);
    int64_t now = tq_now_ms();
    for (size_t i = 0; i < batch->n; i++) {
        tq_bjob_t *j = batch->v[i];
        if (!zhashx_lookup(ok, j->id)) {
            /* The idempotency key exists in the journal (an older job): answer
             * with that job instead. */
            tq_jobs_remove(b->jobs, j);
            ikey_lookup_t *ctx = malloc(sizeof *ctx);
            ctx->b = b;
            ctx->phantom = j;
            const char *p[2] = {j->tenant, j->ikey ? j->ikey : ""};
            tq_pglane_query(b->misc, TQ_JOURNAL_LOOKUP_IKEY_SQL, 2, p, on_ikey_lookup, ctx);
            continue;
        }
        update_row_t *row = &b->inflight_insert_rows[i];
        /* After a failed try the row may hold an older state (an answer
         * lost after COMMIT): the fenced UPDATE makes it current. */
        bool uncertain = j->journal_failures > 0;
        j->row_written = true;
        j->committed = row->state;
        j->journal_failures = 0;
        if (row->state == TQ_JOB_RUNNING) j->running_logged = true;
        bool changed = uncertain || j->state != row->state || j->attempts != row->attempts;
        send_accepted(b, j, !changed && tq_job_state_final(row->state));
        if (j->ikey && j->state == TQ_JOB_QUEUED && j->attempts == 0)
            tq_jobs_enqueue(b->jobs, j, now); /* keyed jobs run only once stored */
        if (changed) {
            stage_update(b, j); /* changed while the INSERT was in flight */
            if (j->async && tq_job_state_final(j->state)) answer_result(b, j);
        } else if (tq_job_state_final(row->state)) {
            job_done(b, j); /* one commit held the job and its outcome */
        }
    }
    zhashx_destroy(&ok);
    batch->n = 0;
    dispatch(b);
}

/* The planner settings of the lanes. The ingest and update lanes run only
 * tq_insert and tq_update, which touch tq_jobs by primary key: generic plans
 * (planned once per connection: a custom plan of these statements costs
 * ~0.3 ms, as much as the commit) with sequential scans off, so that a plan
 * made while the journal was empty still uses the primary key when it has
 * millions of rows (a generic plan made then would scan the table). The misc
 * lane's statements (counts, purge, lookups) get a plan for their values. */
#define JOURNAL_LANE_SETUP "SET plan_cache_mode = force_generic_plan; SET enable_seqscan = off"
#define MISC_LANE_SETUP "SET plan_cache_mode = force_custom_plan"

static void on_linger(tq_loop_t *loop, void *arg)
{
    (void)loop;
    tq_broker_t *b = arg;
    b->linger_timer = 0;
    tq_pglane_kick(b->ingest);
}

/* A staged INSERT may wait for its job's outcome for broker.commit_linger_ms
 * after the submit: a job dispatched before its INSERT that ends by then is
 * written once, in its final state (one row write and one commit instead of
 * an INSERT and an UPDATE). Per job and at any load: under load most short
 * jobs end while the batches before theirs commit. Only a running job waits:
 * keyed jobs (they run only once stored), jobs queued for a worker, retries
 * and ended jobs are written at once, and nothing waits once the broker
 * stops. Returns the µs left to wait (0: write now). */
static int64_t insert_wait_us(const tq_broker_t *b, const tq_bjob_t *j, int64_t now_us)
{
    if (!b->linger_ms || b->stopping || j->ikey || j->journal_failures ||
        j->state != TQ_JOB_RUNNING)
        return 0;
    int64_t left = j->submitted_us + (int64_t)b->linger_ms * 1000 - now_us;
    return left > 0 ? left : 0;
}

/* Waiting jobs looked past per idle turn of the ingest lane (beyond the
 * batch): the staged jobs after them wait for a later turn (at most
 * commit_linger_ms), so a long backlog costs no more than this per turn. */
#define LINGER_SCAN_MAX 4096

static void on_ingest_idle(tq_pglane_t *lane, void *arg)
{
    tq_broker_t *b = arg;
    if (b->staged_inserts.n == 0 || b->inflight_inserts.n) return;
    /* The batch: the staged jobs that need not wait, oldest first, up to
     * batch_max; a retry goes alone. The rest stay staged, in order. */
    int64_t now = tq_now_us(), wait = 0;
    size_t n = 0, keep = 0, i = 0,
           max = b->staged_inserts.v[0]->journal_failures ? 1 : b->batch_max;
    for (; i < b->staged_inserts.n && n < max && keep < LINGER_SCAN_MAX; i++) {
        tq_bjob_t *j = b->staged_inserts.v[i];
        int64_t left = insert_wait_us(b, j, now);
        if (left == 0) {
            vec_push(&b->inflight_inserts, j);
            b->inflight_insert_rows[n++] = (update_row_t){j, j->state, j->attempts};
            continue;
        }
        if (!wait || left < wait) wait = left;
        b->staged_inserts.v[keep++] = j;
    }
    memmove(b->staged_inserts.v + keep, b->staged_inserts.v + i,
            (b->staged_inserts.n - i) * sizeof *b->staged_inserts.v);
    b->staged_inserts.n = keep + (b->staged_inserts.n - i);
    if (!n) {
        if (wait && !b->linger_timer)
            b->linger_timer = tq_loop_timer(b->loop, (wait + 999) / 1000, on_linger, b);
        return;
    }
    char *params[TQ_JOURNAL_INSERT_NPARAMS];
    tq_error_t err = {0};
    if (tq_journal_insert_params(b->vault, b->inflight_inserts.v, n, params, &err)) {
        tq_err("cannot build a journal batch: %s", err.message);
        on_inserted(lane, NULL, err.message, b);
        return;
    }
    bool retry = b->inflight_inserts.v[0]->journal_failures > 0; /* then it went alone */
    tq_pglane_query_prepared(lane, retry ? "tq_insert_retry" : "tq_insert",
                             retry ? TQ_JOURNAL_INSERT_RETRY_SQL : TQ_JOURNAL_INSERT_SQL,
                             TQ_JOURNAL_INSERT_NPARAMS, (const char *const *)params, on_inserted,
                             b);
    tq_journal_free_params(params, TQ_JOURNAL_INSERT_NPARAMS);
}

static void on_updated(tq_pglane_t *lane, PGresult *res, const char *errmsg, void *arg)
{
    (void)lane;
    tq_broker_t *b = arg;
    size_t n = b->ninflight_updates;
    b->ninflight_updates = 0;
    if (!res) {
        /* Retried alone; a row that keeps failing on its own is given up
         * here (its waiters are told; the journal keeps its last committed
         * state and the next start runs it again). */
        tq_err("journal update of %zu jobs failed (will retry): %s", n, errmsg);
        tq_bjob_t *retry[n ? n : 1];
        size_t keep = 0;
        for (size_t i = 0; i < n; i++) {
            tq_bjob_t *j = b->inflight_updates[i].job;
            if (j->in_update) continue; /* already staged again with a newer state */
            if (++j->journal_failures < JOURNAL_TRIES) {
                j->in_update = true;
                retry[keep++] = j;
            } else if (tq_job_state_final(j->state)) {
                for (tq_waiter_t *w = j->result_waiters; w; w = w->next)
                    reject(b, w->ident, w->ident_len, w->rid, "db_error",
                           "the job's outcome could not be stored");
                if (j->async) tq_err("async job %s: its answered outcome is not stored", j->id);
                tq_err("job %s: outcome not stored after %d tries; dropped (%s)", j->id,
                       JOURNAL_TRIES, errmsg);
                tq_jobs_remove(b->jobs, j);
                tq_bjob_free(j);
            }
        }
        vec_unshift(&b->staged_updates, retry, keep);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        tq_bjob_t *j = b->inflight_updates[i].job;
        j->committed = b->inflight_updates[i].state;
        j->journal_failures = 0;
        if (!tq_job_state_final(b->inflight_updates[i].state)) continue;
        job_done(b, j);
    }
}

static void on_update_idle(tq_pglane_t *lane, void *arg)
{
    tq_broker_t *b = arg;
    if (b->staged_updates.n == 0 || b->ninflight_updates) return;
    size_t n = b->staged_updates.n < b->batch_max ? b->staged_updates.n : b->batch_max;
    if (b->staged_updates.v[0]->journal_failures) n = 1; /* a retry goes alone */
    for (size_t i = 0; i < n; i++) {
        tq_bjob_t *j = b->staged_updates.v[i];
        j->in_update = false;
        b->inflight_updates[i] = (update_row_t){j, j->state, j->attempts};
    }
    char *params[TQ_JOURNAL_UPDATE_NPARAMS];
    tq_error_t err = {0};
    int rc = tq_journal_update_params(b->vault, b->staged_updates.v, n, params, &err);
    memmove(b->staged_updates.v, b->staged_updates.v + n,
            (b->staged_updates.n - n) * sizeof *b->staged_updates.v);
    b->staged_updates.n -= n;
    b->ninflight_updates = n;
    if (rc) {
        tq_err("cannot build a journal batch: %s", err.message);
        on_updated(lane, NULL, err.message, b);
        return;
    }
    tq_pglane_query_prepared(lane, "tq_update", TQ_JOURNAL_UPDATE_SQL, TQ_JOURNAL_UPDATE_NPARAMS,
                             (const char *const *)params, on_updated, b);
    tq_journal_free_params(params, TQ_JOURNAL_UPDATE_NPARAMS);
}

/* --- client requests ---------------------------------------------------------------- */

static bool printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) return false;
    return true;
}

/* jobs.async_ops (a comma-separated list of ops whose default durability is
 * async), read once: one flag per catalogue entry. NULL with invalid_config
 * naming an op the catalogue does not know. */
static bool *async_defaults(const char *list, tq_error_t *err)
{
    size_t n;
    const tq_opinfo_t *all = tq_opcat_all(&n);
    bool *flags = calloc(n ? n : 1, sizeof *flags);
    if (!flags) {
        tq_error_set(err, "internal", "out of memory");
        return NULL;
    }
    for (const char *p = list; p && *p;) {
        while (*p == ',' || *p == ' ')
            p++;
        size_t k = strcspn(p, ", ");
        if (!k) break;
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)(k < sizeof name ? k : sizeof name - 1), p);
        const tq_opinfo_t *info = tq_opcat_find(name);
        if (!info) {
            free(flags);
            tq_error_set(err, "invalid_config", "jobs.async_ops: '%s' is not an op", name);
            return NULL;
        }
        flags[info - all] = true;
        p += k;
    }
    return flags;
}

static void handle_submit(tq_broker_t *b, const unsigned char *ident, size_t ilen, tq_msg_t *m)
{
    if (b->stopping)
        return reject(b, ident, ilen, m->rid, "shutting_down", "the broker is shutting down");
    if (!m->tenant || !*m->tenant || !printable(m->tenant))
        return reject(b, ident, ilen, m->rid, "invalid_argument",
                      "tenant is required (1-255 printable characters)");
    /* m->op is a catalogue op: tq_principal_may_submit refused any other */
    if (m->ikey && (!*m->ikey || !printable(m->ikey)))
        return reject(b, ident, ilen, m->rid, "invalid_argument",
                      "idempotency key must be 1-255 printable characters");
    if (m->max_attempts < 0 || m->max_attempts > 100)
        return reject(b, ident, ilen, m->rid, "invalid_argument",
                      "max_attempts must be between 1 and 100");
    if (m->timeout_ms < 0 || m->timeout_ms > 24 * 3600 * 1000)
        return reject(b, ident, ilen, m->rid, "invalid_argument",
                      "timeout must be between 1 ms and 24 h");
    if (m->priority < -1000 || m->priority > 1000)
        return reject(b, ident, ilen, m->rid, "invalid_argument",
                      "priority must be between -1000 and 1000");
    if (m->durability < TQ_DURABILITY_DEFAULT || m->durability > TQ_DURABILITY_ASYNC)
        return reject(b, ident, ilen, m->rid, "invalid_argument",
                      "durability must be sync (1) or async (2)");
    if (m->payload) {
        json_error_t jerr;
        json_t *p = json_loadb(m->payload, m->payload_len, 0, &jerr);
        bool ok = json_is_object(p);
        json_t *ms = strcmp(m->op, TQ_OP_sleep) == 0 ? json_object_get(p, "ms") : NULL;
        bool too_long = json_is_integer(ms) && json_integer_value(ms) > b->quota_sleep_ms;
        json_decref(p);
        if (too_long) {
            char msg[160];
            snprintf(msg, sizeof msg, "sleep may last at most %lld ms (quota.max_sleep_ms)",
                     (long long)b->quota_sleep_ms);
            return reject(b, ident, ilen, m->rid, "quota_exceeded", msg);
        }
        if (!ok) {
            char msg[300];
            snprintf(msg, sizeof msg, "payload must be a JSON object%s%.200s", p ? "" : ": ",
                     p ? "" : jerr.text);
            return reject(b, ident, ilen, m->rid, "invalid_payload", msg);
        }
    }
    if (m->ikey) {
        tq_bjob_t *old = tq_jobs_by_ikey(b->jobs, m->tenant, m->ikey);
        if (old) {
            if (old->persisted) {
                tq_msg_t a;
                tq_msg_init(&a, TQ_MSG_ACCEPTED);
                a.rid = m->rid;
                a.dup = true;
                memcpy(a.id, old->id, sizeof a.id);
                send_or_batch(b, b->front, ident, ilen, m->batch, &a);
            } else {
                tq_waiter_t *w =
                    tq_bjob_add_waiter(&old->accept_waiters, ident, ilen, m->rid, m->batch);
                if (w) w->dup = true;
            }
            if (m->wait) add_result_waiter(b, old, ident, ilen, m->rid, m->batch);
            return;
        }
    }
    size_t open = 0, bytes = 0;
    int running = 0;
    tq_jobs_usage(b->jobs, m->tenant, &open, &bytes, &running);
    if (open >= b->quota_jobs || bytes + m->payload_len > b->quota_bytes) {
        char msg[400];
        snprintf(msg, sizeof msg,
                 "tenant '%.200s' holds %zu open jobs of %zu bytes "
                 "(quota.queued_jobs %zu, quota.payload_bytes %zu); try again later",
                 m->tenant, open, bytes, b->quota_jobs, b->quota_bytes);
        return reject(b, ident, ilen, m->rid, "quota_exceeded", msg);
    }
    if (tq_jobs_count(b->jobs) >= b->max_queued)
        return reject(b, ident, ilen, m->rid, "queue_full",
                      "too many open jobs (broker.max_queued); try again later");
    tq_bjob_t *j = tq_bjob_new();
    tq_uuid_v7(j->id);
    j->tenant = m->tenant;
    j->op = m->op;
    j->ikey = m->ikey;
    m->tenant = m->op = m->ikey = NULL;
    if (m->payload) {
        j->payload = m->payload;
        j->payload_len = m->payload_len;
        m->payload = NULL;
    } else {
        j->payload = strdup("{}");
        j->payload_len = 2;
    }
    j->max_attempts = m->max_attempts ? (int)m->max_attempts : b->max_attempts;
    j->timeout_ms = m->timeout_ms ? (int)m->timeout_ms : b->timeout_ms;
    j->priority = (int)m->priority;
    j->submitted_us = tq_now_us();
    /* Reads are answered from memory unless asked (or keyed: a key needs
     * the journal's unique index); the durability class comes from the
     * submit, else from jobs.async_ops. */
    const tq_opinfo_t *info = tq_opcat_find(j->op);
    bool read_only = info && (info->flags & TQ_OPF_READ_ONLY);
    j->journaled = !read_only || m->journal || j->ikey || b->journal_reads;
    size_t nops;
    j->async =
        m->durability == TQ_DURABILITY_ASYNC || (m->durability == TQ_DURABILITY_DEFAULT && info &&
                                                 b->async_default[info - tq_opcat_all(&nops)]);
    /* A waiting submit of an unjournaled read gets its RESULT alone. */
    if (j->journaled || !m->wait)
        tq_bjob_add_waiter(&j->accept_waiters, ident, ilen, m->rid, m->batch);
    if (m->wait) tq_bjob_add_waiter(&j->result_waiters, ident, ilen, m->rid, m->batch);
    tq_jobs_add(b->jobs, j);
    b->count.submitted++;
    if (j->journaled) vec_push(&b->staged_inserts, j); /* inserted at the end of this loop turn */
    if (j->ikey) return; /* runs once stored: a stored key may name an older job */
    /* Dispatched now, before its INSERT commits: a job that ends before its
     * INSERT is built is written once, in its final state. */
    if (!j->journaled || j->async) send_accepted(b, j, false);
    tq_jobs_enqueue(b->jobs, j, tq_now_ms());
    dispatch(b);
}

typedef struct {
    tq_broker_t *b;
    tq_msg_type_t type;
    uint64_t rid;
    size_t ilen;
    unsigned char ident[256];
} lookup_t;

static void on_lookup(tq_pglane_t *lane, PGresult *res, const char *errmsg, void *arg)
{
    (void)lane;
    lookup_t *q = arg;
    tq_broker_t *b = q->b;
    if (!res) {
        reject(b, q->ident, q->ilen, q->rid, "db_unavailable", errmsg);
    } else if (PQntuples(res) == 0) {
        reject(b, q->ident, q->ilen, q->rid, "not_found", "no job with that id");
    } else {
        tq_msg_t m;
        tq_error_t err = {0};
        if (tq_journal_row_to_msg(b->vault, res, 0, &m, &err)) {
            reject(b, q->ident, q->ilen, q->rid, err.code, err.message);
        } else if (q->type == TQ_MSG_CANCEL) {
            char msg[128];
            snprintf(msg, sizeof msg, "the job already ended (%s)", m.state);
            reject(b, q->ident, q->ilen, q->rid, "not_cancellable", msg);
        } else {
            m.rid = q->rid;
            send_to(b, b->front, q->ident, q->ilen, &m);
        }
        tq_msg_reset(&m);
    }
    free(q);
}

static void handle_job_request(tq_broker_t *b, const unsigned char *ident, size_t ilen, tq_msg_t *m)
{
    if (!tq_uuid_valid(m->id))
        return reject(b, ident, ilen, m->rid, "invalid_argument", "a job id (uuid) is required");
    for (char *p = m->id; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    tq_bjob_t *j = tq_jobs_get(b->jobs, m->id);
    if (j && m->tenant && strcmp(m->tenant, j->tenant) != 0)
        return reject(b, ident, ilen, m->rid, "not_found", "no job with that id");
    if (j) {
        if (!j->persisted) {
            reject(b, ident, ilen, m->rid, "not_found", "the job is not accepted yet");
        } else if (m->type == TQ_MSG_STATUS) {
            tq_msg_t r;
            job_to_result(j, &r, m->rid);
            send_to(b, b->front, ident, ilen, &r);
        } else if (m->type == TQ_MSG_WAIT) {
            add_result_waiter(b, j, ident, ilen, m->rid, m->batch);
        } else if (tq_job_state_final(j->state)) {
            reject(b, ident, ilen, m->rid, "not_cancellable", "the job already ended");
        } else {
            if (j->state == TQ_JOB_RUNNING && j->worker)
                worker_take(b, j->worker, j); /* its late RESULT will be fenced out */
            tq_jobs_unqueue(b->jobs, j);
            j->worker = NULL;
            tq_bjob_set_state(j, TQ_JOB_CANCELLED, "CANCEL");
            tq_bjob_set_error(j, "cancelled", "cancelled by a client");
            b->count.cancelled++;
            tq_bjob_add_waiter(&j->result_waiters, ident, ilen, m->rid, m->batch);
            stage_update(b, j);
            outcome_known(b, j);
            dispatch(b);
        }
        return;
    }
    lookup_t *q = malloc(sizeof *q);
    if (!q || ilen > sizeof q->ident) {
        free(q);
        return;
    }
    *q = (lookup_t){b, m->type, m->rid, ilen, {0}};
    memcpy(q->ident, ident, ilen);
    const char *p[2] = {m->id, m->tenant};
    tq_pglane_query(b->misc, TQ_JOURNAL_LOOKUP_SQL, 2, p, on_lookup, q);
}

static void on_counts(tq_pglane_t *lane, PGresult *res, const char *errmsg, void *arg)
{
    (void)lane;
    lookup_t *q = arg;
    tq_broker_t *b = q->b;
    json_t *by_state = json_object();
    if (res)
        for (int r = 0; r < PQntuples(res); r++)
            json_object_set_new(by_state, PQgetvalue(res, r, 0),
                                json_integer(atoll(PQgetvalue(res, r, 1))));
    json_t *workers = json_array();
    int running = 0;
    for (tq_bworker_t *w = zhashx_first(b->workers); w; w = zhashx_next(b->workers)) {
        running += w->nrunning;
        json_array_append_new(workers, json_pack("{s:i,s:s,s:i,s:i,s:I}", "pid", (int)w->pid,
                                                 "where", w->where, "credit", w->credit,
                                                 "in_flight", w->nrunning, "last_heard_ms_ago",
                                                 (json_int_t)(tq_now_ms() - w->last_heard_ms)));
    }
    json_t *stats = json_pack(
        "{s:I,s:I,s:i,s:I,s:o,s:o,s:i,s:i,s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I}}", "queue_depth",
        (json_int_t)(tq_jobs_ready_count(b->jobs) + tq_jobs_delayed_count(b->jobs)), "delayed",
        (json_int_t)tq_jobs_delayed_count(b->jobs), "running", running, "open_jobs",
        (json_int_t)tq_jobs_count(b->jobs), "jobs_by_state", by_state, "workers", workers,
        "workers_alive", b->sup ? tq_supervisor_alive(b->sup) : 0, "worker_restarts",
        b->sup ? tq_supervisor_restarts(b->sup) : 0, "since_start", "submitted",
        (json_int_t)b->count.submitted, "succeeded", (json_int_t)b->count.succeeded, "failed",
        (json_int_t)b->count.failed, "dead", (json_int_t)b->count.dead, "cancelled",
        (json_int_t)b->count.cancelled, "retried", (json_int_t)b->count.retried, "rescued",
        (json_int_t)b->count.rescued);
    if (!res) json_object_set_new(stats, "db_error", json_string(errmsg));
    json_object_set_new(stats, "journal_counts", json_integer((json_int_t)++b->journal_counts));
    tq_opstats_to_json(b->opstats, stats);
    json_t *prof = json_object();
    static const char *const classes[PROF_N] = {"read", "sync", "async"};
    for (int c = 0; c < PROF_N; c++) {
        const profile_t *p = &b->prof[c];
        double n = p->jobs ? (double)p->jobs : 1;
        json_object_set_new(prof, classes[c],
                            json_pack("{s:I,s:f,s:f,s:f,s:f,s:f}", "jobs", (json_int_t)p->jobs,
                                      "journal_us", p->journal / n, "dispatch_us", p->dispatch / n,
                                      "worker_us", p->worker / n, "outcome_us", p->outcome / n,
                                      "broker_us", p->total / n));
    }
    json_object_set_new(stats, "profile", prof);
    char *text = json_dumps(stats, JSON_COMPACT);
    json_decref(stats);
    tq_msg_t m;
    tq_msg_init(&m, TQ_MSG_STATS_REPLY);
    m.rid = q->rid;
    m.result = text;
    send_to(b, b->front, q->ident, q->ilen, &m);
    free(text);
    free(q);
}

static bool is_broker_pid(pid_t pid, void *arg)
{
    tq_broker_t *b = arg;
    return pid == b->self_pid || (b->sup && tq_supervisor_is_child(b->sup, pid));
}

static void answer_whoami(tq_broker_t *b, const unsigned char *ident, size_t ilen, uint64_t rid,
                          const tq_principal_t *p)
{
    char who[TQ_PRINCIPAL_DISPLAY];
    json_t *o = json_pack("{s:s,s:s}", "principal", tq_principal_display(p, who), "role",
                          tq_role_name(p->role));
    if (p->known) {
        json_object_set_new(o, "uid", json_integer((json_int_t)p->uid));
        json_object_set_new(o, "pid", json_integer((json_int_t)p->pid));
    }
    json_object_set_new(o, "tenant",
                        p->role == TQ_ROLE_TENANT ? json_string(p->tenant)
                        : p->role == TQ_ROLE_NONE ? json_null()
                                                  : json_string("*"));
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    tq_msg_t r;
    tq_msg_init(&r, TQ_MSG_WHOAMI_REPLY);
    r.rid = rid;
    r.result = text;
    send_to(b, b->front, ident, ilen, &r);
    free(text);
}

static void handle_client_frame(tq_broker_t *b, const unsigned char *ident, size_t ilen,
                                const void *data, size_t len, const char *user_id, const char *peer)
{
    tq_msg_t m;
    tq_error_t err = {0};
    if (tq_msg_decode(data, len, b->max_frame, &m, &err)) {
        tq_debug("rejecting a bad client frame: %s: %s", err.code, err.message);
        reject(b, ident, ilen, 0, err.code, err.message);
        return;
    }
    tq_principal_t who;
    tq_principals_identify(b->principals, user_id, peer, is_broker_pid, b, &who);
    if (m.ob_role && tq_principal_on_behalf(&who, who.pid == b->self_pid, m.ob_role, m.ob_tenant,
                                            m.ob_name, &err)) {
        tq_info("refused a request on behalf of another principal from %s", who.name);
        reject(b, ident, ilen, m.rid, err.code, err.message);
        tq_msg_reset(&m);
        return;
    }
    switch (m.type) {
    case TQ_MSG_WHOAMI:
        answer_whoami(b, ident, ilen, m.rid, &who);
        break;
    case TQ_MSG_SUBMIT: {
        const char *tenant = m.tenant;
        if (tq_principal_may_submit(&who, m.op, b->test_ops, &tenant, m.ikey, &err)) {
            if (strcmp(err.code, "forbidden") == 0) tq_info("refused %s: %s", m.op, err.message);
            reject(b, ident, ilen, m.rid, err.code, err.message);
            break;
        }
        if (tenant != m.tenant) tq_msg_set(&m.tenant, tenant);
        handle_submit(b, ident, ilen, &m);
        break;
    }
    case TQ_MSG_STATUS:
    case TQ_MSG_WAIT:
    case TQ_MSG_CANCEL: {
        const char *scope = NULL;
        if (tq_principal_job_scope(&who, m.tenant, &scope, &err)) {
            reject(b, ident, ilen, m.rid, err.code, err.message);
            break;
        }
        if (scope != m.tenant) tq_msg_set(&m.tenant, scope);
        handle_job_request(b, ident, ilen, &m);
        break;
    }
    case TQ_MSG_STATS: {
        if (tq_principal_may_stats(&who, &err)) {
            reject(b, ident, ilen, m.rid, err.code, err.message);
            break;
        }
        lookup_t *q = malloc(sizeof *q);
        if (q && ilen <= sizeof q->ident) {
            *q = (lookup_t){b, m.type, m.rid, ilen, {0}};
            memcpy(q->ident, ident, ilen);
            tq_pglane_query(b->misc, TQ_JOURNAL_COUNTS_SQL, 0, NULL, on_counts, q);
        } else {
            free(q);
        }
        break;
    }
    default:
        reject(b, ident, ilen, m.rid, "unexpected_message", "clients may not send this message");
    }
    tq_msg_reset(&m);
}

/* Reads [identity][frame][frame...] messages: each frame is one message (a
 * batch, common/outbox.h); an identity without a frame is dropped, and so
 * are the frames past broker.max_batch_frames (a client is told once).
 * The handler gets the connection's User-Id (CURVE: the Z85 key the ZAP
 * handler admitted, curve.c) and Peer-Address metadata (ipc: ":uid:gid:pid"
 * from SO_PEERCRED, see principal.h; tcp: the peer's IP), or NULL: the first
 * frame's, which holds for the whole message. */
static void read_router(tq_broker_t *b, void *sock,
                        void (*handle)(tq_broker_t *, const unsigned char *, size_t, const void *,
                                       size_t, const char *, const char *))
{
    for (int budget = 0; budget < 2048;) {
        zmq_msg_t id, first, body;
        zmq_msg_init(&id);
        if (zmq_msg_recv(&id, sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&id);
            return;
        }
        if (!zmq_msg_more(&id)) { /* identity without a body: not ours */
            zmq_msg_close(&id);
            budget++;
            continue;
        }
        zmq_msg_init(&first);
        zmq_msg_recv(&first, sock, 0);
        const char *user_id = zmq_msg_gets(&first, "User-Id");
        const char *peer = zmq_msg_gets(&first, "Peer-Address");
        bool more = true;
        size_t frames = 0;
        for (zmq_msg_t *f = &first; more; f = &body) {
            if (f == &body) {
                zmq_msg_init(&body);
                zmq_msg_recv(&body, sock, 0);
            }
            more = zmq_msg_more(f);
            budget++;
            if (++frames <= b->max_batch_frames && zmq_msg_size(&id) <= 255)
                handle(b, zmq_msg_data(&id), zmq_msg_size(&id), zmq_msg_data(f), zmq_msg_size(f),
                       user_id, peer);
            if (f == &body) zmq_msg_close(&body);
        }
        if (frames > b->max_batch_frames) {
            char msg[160];
            snprintf(msg, sizeof msg,
                     "a message carried %zu frames; the %zu past broker.max_batch_frames (%zu) "
                     "were dropped",
                     frames, frames - b->max_batch_frames, b->max_batch_frames);
            if (sock == b->front && zmq_msg_size(&id) <= 255)
                reject(b, zmq_msg_data(&id), zmq_msg_size(&id), 0, "batch_too_large", msg);
            else
                tq_warn("%s", msg);
        }
        zmq_msg_close(&id);
        zmq_msg_close(&first);
    }
}

static void on_front(tq_loop_t *loop, int revents, void *arg)
{
    (void)loop;
    (void)revents;
    read_router(arg, ((tq_broker_t *)arg)->front, handle_client_frame);
}

/* --- worker messages ------------------------------------------------------------------ */

static void handle_result(tq_broker_t *b, tq_bworker_t *w, tq_msg_t *m)
{
    tq_bjob_t *j = tq_jobs_get(b->jobs, m->id);
    if (!j || j->state != TQ_JOB_RUNNING || j->worker != w || j->attempts != m->attempt) {
        tq_debug("ignoring a late or unknown RESULT for job %s attempt %lld", m->id,
                 (long long)m->attempt);
        return;
    }
    worker_take(b, w, j);
    j->worker = NULL;
    if (m->ok) {
        tq_bjob_set_state(j, TQ_JOB_SUCCEEDED, "RESULT ok");
        free(j->result);
        j->result = m->result ? m->result : strdup("null");
        j->result_len = m->result ? m->result_len : 4;
        m->result = NULL;
        tq_bjob_set_error(j, NULL, NULL);
        b->count.succeeded++;
    } else {
        tq_bjob_set_error(j, m->err_code ? m->err_code : "internal",
                          m->err_msg ? m->err_msg : "the worker gave no reason");
        if (!m->retryable) {
            tq_bjob_set_state(j, TQ_JOB_FAILED, "RESULT not retryable");
            b->count.failed++;
        } else {
            retry_or_die(b, j);
        }
    }
    stage_update(b, j);
    outcome_known(b, j);
}

/* On ipc, only a process this broker forked may register: the peer's pid
 * (from SO_PEERCRED) must be the pid its READY claims, a live child, holding
 * that child's one-time secret. On tcp, the ZAP handler admitted the
 * connection by its CURVE key; the key must still have the worker role. */
static bool worker_admitted(tq_broker_t *b, const tq_msg_t *m, const char *user_id,
                            const char *peer)
{
    if (user_id && *user_id) {
        bool is_worker = false;
        return tq_principals_key(b->principals, user_id, &is_worker, NULL) && is_worker;
    }
    pid_t peer_pid = 0;
    const char *last = peer ? strrchr(peer, ':') : NULL;
    if (last) peer_pid = (pid_t)atol(last + 1);
    return b->sup && peer_pid > 0 && peer_pid == (pid_t)m->pid &&
           tq_supervisor_check_secret(b->sup, peer_pid, m->secret);
}

static void handle_worker_frame(tq_broker_t *b, const unsigned char *ident, size_t ilen,
                                const void *data, size_t len, const char *user_id, const char *peer)
{
    tq_msg_t m;
    tq_error_t err = {0};
    if (tq_msg_decode(data, len, b->max_frame, &m, &err)) {
        tq_warn("dropping a bad frame on the backend: %s: %s", err.code, err.message);
        return;
    }
    char key[520];
    tq_bworker_t *w = worker_find(b, ident, ilen, key);
    if (m.type == TQ_MSG_READY && !worker_admitted(b, &m, user_id, peer)) {
        if (user_id && *user_id)
            tq_warn("refused a READY from key %s: not (or no longer) a worker key", user_id);
        else
            tq_warn("refused a READY from a process the broker did not fork (claimed pid %lld)",
                    (long long)m.pid);
        if (w) worker_gone(b, w, "failed to authenticate");
        tq_msg_reset(&m);
        return; /* no answer: nothing to learn */
    }
    if (!w && m.type == TQ_MSG_READY) {
        w = calloc(1, sizeof *w);
        memcpy(w->ident, ident, ilen);
        w->ident_len = ilen;
        memcpy(w->key, key, sizeof w->key);
        zhashx_insert(b->workers, key, w);
        w->remote = user_id && *user_id;
        const char *name = NULL;
        if (w->remote) tq_principals_key(b->principals, user_id, NULL, &name);
        if (w->remote)
            snprintf(w->where, sizeof w->where, "tcp %.64s key %.48s", peer ? peer : "?",
                     name ? name : "?");
        else
            snprintf(w->where, sizeof w->where, "local");
        tq_info("worker pid %lld registered (credit %lld, %s)", (long long)m.pid,
                (long long)m.credit, w->where);
    }
    if (!w) {
        if (m.type != TQ_MSG_DISCONNECT) {
            tq_msg_t d;
            tq_msg_init(&d, TQ_MSG_DISCONNECT); /* unknown: ask it to register again */
            send_to(b, b->back, ident, ilen, &d);
        }
        tq_msg_reset(&m);
        return;
    }
    w->last_heard_ms = tq_now_ms();
    switch (m.type) {
    case TQ_MSG_READY:
        w->pid = (pid_t)m.pid;
        w->batch = m.batch;
        w->credit = m.credit < 1 ? 1 : (m.credit > b->max_credit ? b->max_credit : (int)m.credit);
        dispatch(b);
        break;
    case TQ_MSG_HEARTBEAT:
        break;
    case TQ_MSG_RESULT:
        handle_result(b, w, &m);
        dispatch(b);
        break;
    case TQ_MSG_DISCONNECT:
        worker_gone(b, w, "disconnected");
        break;
    default:
        tq_warn("unexpected %s from worker pid %d", tq_msg_type_name(m.type), (int)w->pid);
    }
    tq_msg_reset(&m);
}

static void on_back(tq_loop_t *loop, int revents, void *arg)
{
    (void)loop;
    (void)revents;
    read_router(arg, ((tq_broker_t *)arg)->back, handle_worker_frame);
}

/* --- timers and signals ----------------------------------------------------------------- */

static void on_heartbeat(tq_loop_t *loop, void *arg)
{
    tq_broker_t *b = arg;
    int64_t now = tq_now_ms();
    int64_t dead_after = (int64_t)b->heartbeat_ms * b->liveness;
    tq_curve_refresh(b->curve);
    beat(b);
    tq_bworker_t *w = zhashx_first(b->workers);
    while (w) {
        tq_bworker_t *next = zhashx_next(b->workers);
        if (now - w->last_heard_ms > dead_after) {
            /* zhashx iteration is invalidated by delete: restart after. */
            worker_gone(b, w, "went silent");
            w = zhashx_first(b->workers);
            continue;
        }
        for (int i = 0; i < w->nrunning; i++) {
            tq_bjob_t *j = w->running[i];
            if (!j->running_logged) stage_update(b, j);
            if (now > j->lease_until_ms) {
                worker_take(b, w, j);
                i--;
                j->worker = NULL;
                tq_bjob_set_error(j, "lease_expired", "the job ran past its timeout");
                retry_or_die(b, j);
                stage_update(b, j);
                outcome_known(b, j);
            }
        }
        tq_msg_t m;
        tq_msg_init(&m, TQ_MSG_HEARTBEAT);
        send_to(b, b->back, w->ident, w->ident_len, &m);
        w = next;
    }
    dispatch(b);
    tq_loop_timer(loop, b->heartbeat_ms, on_heartbeat, b);
}

static void purge_slice(tq_broker_t *b);

static void on_purged(tq_pglane_t *lane, PGresult *res, const char *errmsg, void *arg)
{
    (void)lane;
    if (!res) {
        tq_warn("purging old jobs failed: %s", errmsg);
    } else if (atoll(PQcmdTuples(res)) > 0) {
        tq_info("purged %s finished jobs past retention", PQcmdTuples(res));
        purge_slice(arg); /* more may be due: next slice, behind other lookups */
    }
}

static void purge_slice(tq_broker_t *b)
{
    char hours[32];
    snprintf(hours, sizeof hours, "%d", b->retention_hours);
    const char *p[1] = {hours};
    tq_pglane_query(b->misc, TQ_JOURNAL_PURGE_SQL, 1, p, on_purged, b);
}

static void on_purge(tq_loop_t *loop, void *arg)
{
    tq_broker_t *b = arg;
    purge_slice(b);
    tq_loop_timer(loop, (int64_t)b->purge_interval_s * 1000, on_purge, b);
}

static bool drained(tq_broker_t *b)
{
    for (tq_bworker_t *w = zhashx_first(b->workers); w; w = zhashx_next(b->workers))
        if (w->nrunning) return false;
    return !b->staged_inserts.n && !b->inflight_inserts.n && !b->staged_updates.n &&
           !b->ninflight_updates && !tq_pglane_busy(b->ingest) && !tq_pglane_busy(b->update);
}

static void on_drain_check(tq_loop_t *loop, void *arg)
{
    tq_broker_t *b = arg;
    if (drained(b) || tq_now_ms() > b->stop_deadline_ms) {
        if (!drained(b))
            tq_warn("shutdown grace period over with work in flight: the next start resumes it");
        tq_loop_stop(loop);
        return;
    }
    tq_loop_timer(loop, 20, on_drain_check, b);
}

static void on_child_exit(pid_t pid, int status, void *arg)
{
    (void)status;
    tq_broker_t *b = arg;
    for (tq_bworker_t *w = zhashx_first(b->workers); w; w = zhashx_next(b->workers))
        if (w->pid == pid) {
            worker_gone(b, w, "exited");
            return;
        }
}

static void on_signal(tq_loop_t *loop, int revents, void *arg)
{
    (void)revents;
    tq_broker_t *b = arg;
    struct signalfd_siginfo si;
    while (read(b->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGCHLD) {
            if (b->sup) tq_supervisor_reap(b->sup);
        } else if (!b->stopping) {
            tq_info("signal %d: no new jobs; draining %d ms at most", (int)si.ssi_signo,
                    b->grace_ms);
            b->stopping = true;
            b->stop_deadline_ms = tq_now_ms() + b->grace_ms;
            if (b->sup) tq_supervisor_stop_restarts(b->sup);
            tq_loop_timer(loop, 0, on_drain_check, b);
        } else {
            tq_info("second signal: stopping now");
            tq_loop_stop(loop);
        }
    }
}

/* End of a loop turn: its batches go out first (JOBs to the workers, replies
 * to the clients: nobody waits while a journal batch is built), then
 * whatever this turn staged goes out in one statement per lane as soon as
 * the lane is free (group commit). A kick answers nobody through the
 * outbox: a batch that fails at once is retried or refused with an
 * immediate REJECTED. */
static void on_turn(tq_loop_t *loop, void *arg)
{
    (void)loop;
    tq_broker_t *b = arg;
    tq_outbox_flush(b->back_out);
    tq_outbox_flush(b->front_out);
    if (b->staged_inserts.n) tq_pglane_kick(b->ingest);
    if (b->staged_updates.n) tq_pglane_kick(b->update);
}

/* --- lifecycle ---------------------------------------------------------------------- */

/* The owner of an entry of dir that is not the broker's user, or (uid_t)-1. */
static uid_t foreign_owner(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return (uid_t)-1;
    uid_t found = (uid_t)-1;
    struct dirent *e;
    while (found == (uid_t)-1 && (e = readdir(d)) != NULL) {
        struct stat st;
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
            fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_uid != geteuid())
            found = st.st_uid;
    }
    closedir(d);
    return found;
}

/* Binds an ipc:// endpoint (tcp is refused: without CURVE it would carry no
 * peer identity). The socket's folder must belong to the broker's user and
 * is made 0700; with `group` (frontend.group) the folder becomes 0710 and the
 * socket 0660 of that group, which admits that group's users to connect (what
 * they may do is still decided per uid, principal.c). */
static int bind_socket(void *sock, const char *endpoint, const char *group, tq_error_t *err)
{
    if (strncmp(endpoint, "ipc://", 6) != 0 || endpoint[6] == '@')
        return tq_error_set(err, "invalid_config",
                            "%s: only ipc:// endpoints in a folder are supported here (tcp:// "
                            "goes in broker.frontend_tcp / broker.backend_tcp, CURVE only)",
                            endpoint);
    const char *path = endpoint + 6;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    gid_t gid = (gid_t)-1;
    if (group && *group) {
        char buf[4096];
        struct group gr, *res = NULL;
        char *end = NULL;
        unsigned long v = strtoul(group, &end, 10);
        if (end && *end == '\0')
            gid = (gid_t)v;
        else if (getgrnam_r(group, &gr, buf, sizeof buf, &res) == 0 && res)
            gid = res->gr_gid;
        else
            return tq_error_set(err, "invalid_config", "frontend.group: no such group '%.64s'",
                                group);
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return tq_error_set(err, "invalid_config", "%s: the socket folder %s does not exist",
                            endpoint, dir);
    if (st.st_uid != geteuid())
        return tq_error_set(err, "invalid_config",
                            "%s: the socket folder %s must belong to the broker's user (uid %u)",
                            endpoint, dir, (unsigned)geteuid());
    if ((st.st_mode & 0022) || strcmp(dir, ".") == 0 || strcmp(dir, "/") == 0)
        return tq_error_set(err, "invalid_config",
                            "%s: the socket folder %s must be a folder of the broker's own that "
                            "no one else can write to (e.g. TOOLQ_HOME)",
                            endpoint, dir);
    /* A folder that also holds another user's files (scripts/run as root
     * puts the postgres user's cluster in TOOLQ_HOME) keeps its other bits:
     * closing it would lock that user out; the sockets stay 0600. */
    uid_t other = foreign_owner(dir);
    mode_t want = gid != (gid_t)-1 ? 0710 : 0700;
    if (other != (uid_t)-1) {
        want = (st.st_mode & 07777) | (gid != (gid_t)-1 ? 0010 : 0);
        tq_warn("%s: the socket folder %s also holds files of uid %u: left at mode %o (the "
                "socket itself is owner-only)",
                endpoint, dir, (unsigned)other, (unsigned)want);
    }
    if ((gid != (gid_t)-1 && chown(dir, (uid_t)-1, gid) != 0) || chmod(dir, want) != 0)
        return tq_error_set(err, "invalid_config", "%s: cannot restrict the folder %s: %s",
                            endpoint, dir, strerror(errno));
    mode_t old = umask(077); /* ipc:// socket files: owner only */
    int rc = zmq_bind(sock, endpoint);
    umask(old);
    if (rc != 0)
        return tq_error_set(err, "bind_failed", "cannot bind %s: %s", endpoint,
                            zmq_strerror(errno));
    if (gid != (gid_t)-1 && (chown(path, (uid_t)-1, gid) != 0 || chmod(path, 0660) != 0))
        return tq_error_set(err, "invalid_config", "%s: cannot open the socket to group %s: %s",
                            endpoint, group, strerror(errno));
    return 0;
}

/* A ROUTER that refuses frames over max_frame before buffering them, keeps
 * at most sndhwm replies queued for a slow peer (then drops, logged), and
 * gives replies a second to leave at shutdown. */
static void *router(void *ctx, size_t max_frame, int sndhwm)
{
    void *s = zmq_socket(ctx, ZMQ_ROUTER);
    int one = 1, zero = 0, linger = 1000;
    int64_t maxmsg = (int64_t)max_frame + 1024;
    zmq_setsockopt(s, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    zmq_setsockopt(s, ZMQ_SNDHWM, &sndhwm, sizeof sndhwm);
    zmq_setsockopt(s, ZMQ_RCVHWM, &zero, sizeof zero);
    return s;
}

/* One active broker per database: its in-memory queue owns the open jobs, so
 * a second broker would run them again. The lock lives as long as b->lockdb.
 * A second broker is a standby: it waits for the lock (broker.takeover_ms;
 * 0 = refuse with broker_running), and ends the holder's session when the
 * holder has not beaten for that long. Taking the lock bumps the epoch that
 * every journal write is checked against in the database
 * (schemas/010_broker_epoch.sql). */
#define BROKER_LOCK_KEY "7214530124"

static int take_lock(tq_broker_t *b, PGconn *db, tq_error_t *err)
{
    int takeover_ms = (int)tq_config_int(b->cfg, "broker.takeover_ms");
    int poll_ms = takeover_ms / 10 < 50 ? 50 : takeover_ms / 10;
    bool told = false;
    for (;;) {
        PGresult *lock =
            tq_pg_exec(db, err, "SELECT pg_try_advisory_lock(" BROKER_LOCK_KEY ")", 0, NULL);
        if (!lock) return -1;
        bool locked = strcmp(PQgetvalue(lock, 0, 0), "t") == 0;
        PQclear(lock);
        if (locked) return 0;
        if (takeover_ms <= 0)
            return tq_error_set(err, "broker_running",
                                "another toolq-broker already uses this database "
                                "(broker.takeover_ms is 0: no standby)");
        if (!told) {
            tq_info("standby: another broker holds the database; taking over when it stops "
                    "(broker.takeover_ms %d)",
                    takeover_ms);
            told = true;
        }
        /* A holder silent for takeover_ms (hung, partitioned) loses its
         * session, hence the lock; its late writes fail on the epoch. The
         * table exists only once the first broker migrated. */
        char ms[32];
        snprintf(ms, sizeof ms, "%d", takeover_ms);
        const char *p[1] = {ms};
        PGresult *r = PQexecParams(
            db,
            "SELECT pg_terminate_backend(holder_pid) FROM tq_broker_epoch "
            "WHERE to_regclass('tq_broker_epoch') IS NOT NULL AND holder_pid IS NOT NULL "
            "AND beat_at < now() - $1::int * interval '1 millisecond'",
            1, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
            tq_warn("standby: the active broker has not beaten for %d ms: ending its session",
                    takeover_ms);
        PQclear(r);
        usleep((useconds_t)poll_ms * 1000);
    }
}

/* Sets toolq.epoch on every later connection of this process (lanes and
 * their reconnects) through PGOPTIONS; the forked workers inherit it, which
 * fences their writes to tq_jobs (none today) with ours. */
static int bump_epoch(tq_broker_t *b, PGconn *db, tq_error_t *err)
{
    PGresult *r = tq_pg_exec(db, err,
                             "UPDATE tq_broker_epoch SET epoch = epoch + 1, "
                             "holder_pid = pg_backend_pid(), beat_at = now() RETURNING epoch",
                             0, NULL);
    if (!r) return -1;
    b->epoch = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    const char *old = getenv("PGOPTIONS");
    char opts[1024];
    snprintf(opts, sizeof opts, "%s%s-c toolq.epoch=%lld", old ? old : "", old && *old ? " " : "",
             (long long)b->epoch);
    setenv("PGOPTIONS", opts, 1);
    tq_info("holding the database lock at epoch %lld", (long long)b->epoch);
    return 0;
}

static int startup_db(tq_broker_t *b, tq_error_t *err)
{
    PGconn *db = tq_pg_connect(tq_config_str(b->cfg, "database.url"), err);
    if (!db) return -1;
    int rc = -1;
    unsigned char key[TQ_MASTER_KEY_LEN];
    if (take_lock(b, db, err)) goto out;
    if (tq_migrate(db, err) < 0 || bump_epoch(b, db, err)) goto out;
    if (tq_master_key_load(tq_config_str(b->cfg, "master_key_file"), key, err)) goto out;
    b->vault = tq_vault_new(key);
    tq_secure_wipe(key, sizeof key);
    if (!b->vault || tq_keystore_check_master(db, b->vault, err) ||
        tq_keystore_ensure_tenant(db, b->vault, TQ_JOURNAL_SCOPE, err))
        goto out;
    long n = tq_journal_recover(db, b->vault, b->jobs, tq_now_ms(), err);
    if (n < 0) goto out;
    if (n > 0) tq_info("recovered %ld open jobs from the journal", n);
    rc = 0;
out:
    if (rc == 0)
        b->lockdb = db; /* holds the broker lock until exit */
    else
        PQfinish(db);
    return rc;
}

/* Another broker may own the jobs now: stop writing at once (no drain, no
 * further statement; the workers die with us through PR_SET_PDEATHSIG). */
static void lock_lost(tq_broker_t *b, const char *why)
{
    tq_err("lost the database lock (epoch %lld): %s; stopping at once", (long long)b->epoch, why);
    _exit(1);
}

static void on_lockdb(tq_loop_t *loop, int revents, void *arg);

/* One attempt to take the lock again on a new session: only while the epoch
 * is still ours (a standby that took over bumped it). 1: retry later. */
static int relock_once(tq_broker_t *b, char *why, size_t whylen)
{
    tq_error_t err = {0};
    PGconn *db = tq_pg_connect(tq_config_str(b->cfg, "database.url"), &err);
    if (!db) {
        snprintf(why, whylen, "%s", err.message);
        return 1;
    }
    char e[32];
    snprintf(e, sizeof e, "%lld", (long long)b->epoch);
    const char *p[1] = {e};
    PGresult *r = PQexecParams(db,
                               "SELECT pg_try_advisory_lock(" BROKER_LOCK_KEY "), "
                               "(SELECT epoch = $1::bigint FROM tq_broker_epoch)",
                               1, NULL, p, NULL, NULL, 0);
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    bool locked = ok && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    bool ours = ok && strcmp(PQgetvalue(r, 0, 1), "t") == 0;
    PQclear(r);
    if (!ok) {
        snprintf(why, whylen, "%s", PQerrorMessage(db));
        PQfinish(db);
        return 1;
    }
    if (!locked || !ours) {
        PQfinish(db); /* ends the session: an advisory lock taken here goes with it */
        snprintf(why, whylen, "%s",
                 locked ? "a newer epoch holds the database" : "another broker holds the lock");
        return -1;
    }
    PQclear(PQexecParams(db,
                         "UPDATE tq_broker_epoch SET holder_pid = pg_backend_pid() "
                         "WHERE epoch = $1::bigint",
                         1, NULL, p, NULL, NULL, 0));
    b->lockdb = db;
    tq_loop_add_fd(b->loop, PQsocket(db), ZMQ_POLLIN, on_lockdb, b);
    tq_warn("took the database lock again at epoch %lld", (long long)b->epoch);
    return 0;
}

static void on_relock(tq_loop_t *loop, void *arg)
{
    tq_broker_t *b = arg;
    char why[512] = "";
    int rc = relock_once(b, why, sizeof why);
    if (rc < 0 || (rc > 0 && tq_now_ms() > b->relock_deadline_ms)) lock_lost(b, why);
    if (rc > 0) tq_loop_timer(loop, 100, on_relock, b);
}

/* The lock session ended (the database restarted, a connection was cut, or
 * a standby ended it). Until the lock is ours again the journal writes are
 * still fenced by the epoch in the database; the lock is taken again only if
 * no standby took over (the epoch is unchanged), within broker.takeover_ms,
 * else the broker stops. */
static void on_lockdb(tq_loop_t *loop, int revents, void *arg)
{
    (void)revents;
    tq_broker_t *b = arg;
    if (PQconsumeInput(b->lockdb) && PQstatus(b->lockdb) == CONNECTION_OK) {
        PGnotify *n;
        while ((n = PQnotifies(b->lockdb)) != NULL)
            PQfreemem(n);
        return;
    }
    tq_warn("the database lock connection was lost (%s): taking the lock again",
            PQerrorMessage(b->lockdb));
    tq_loop_remove_fd(loop, PQsocket(b->lockdb));
    PQfinish(b->lockdb);
    b->lockdb = NULL;
    b->relock_deadline_ms = tq_now_ms() + tq_config_int(b->cfg, "broker.takeover_ms");
    tq_loop_timer(loop, 0, on_relock, b);
}

static void on_beat(tq_pglane_t *lane, PGresult *res, const char *errmsg, void *arg)
{
    (void)lane;
    tq_broker_t *b = arg;
    b->beat_inflight = false;
    if (res && atoll(PQcmdTuples(res)) == 0) lock_lost(b, "a newer epoch holds the database");
    if (!res) tq_warn("cannot record the broker's beat: %s", errmsg);
}

/* Tells standbys this broker lives (tq_broker_epoch.beat_at); 0 rows: a
 * newer broker took the epoch. */
static void beat(tq_broker_t *b)
{
    if (b->beat_inflight) return;
    char e[32];
    snprintf(e, sizeof e, "%lld", (long long)b->epoch);
    const char *p[1] = {e};
    b->beat_inflight = true;
    tq_pglane_query(b->misc, "UPDATE tq_broker_epoch SET beat_at = now() WHERE epoch = $1", 1, p,
                    on_beat, b);
}

tq_broker_t *tq_broker_new(tq_config_t *cfg, char *const *worker_argv, tq_error_t *err)
{
    tq_broker_t *b = calloc(1, sizeof *b);
    if (!b) {
        tq_error_set(err, "internal", "out of memory");
        return NULL;
    }
    b->cfg = cfg;
    b->sigfd = -1;
    b->self_pid = getpid();
    b->max_frame = (size_t)tq_config_int(cfg, "broker.max_frame_bytes");
    b->max_batch_frames = (size_t)tq_config_int(cfg, "broker.max_batch_frames");
    b->batch_max = (size_t)tq_config_int(cfg, "broker.batch_max");
    b->linger_ms = (int)tq_config_int(cfg, "broker.commit_linger_ms");
    b->max_queued = (size_t)tq_config_int(cfg, "broker.max_queued");
    b->heartbeat_ms = (int)tq_config_int(cfg, "broker.heartbeat_ms");
    b->liveness = (int)tq_config_int(cfg, "broker.heartbeat_liveness");
    b->grace_ms = (int)tq_config_int(cfg, "broker.shutdown_grace_ms");
    b->max_attempts = (int)tq_config_int(cfg, "jobs.max_attempts");
    b->max_rescues = (int)tq_config_int(cfg, "jobs.max_rescues");
    b->timeout_ms = (int)tq_config_int(cfg, "jobs.timeout_ms");
    b->backoff_base_ms = (int)tq_config_int(cfg, "jobs.backoff_base_ms");
    b->backoff_max_ms = (int)tq_config_int(cfg, "jobs.backoff_max_ms");
    b->retention_hours = (int)tq_config_int(cfg, "jobs.retention_hours");
    b->purge_interval_s = (int)tq_config_int(cfg, "jobs.purge_interval_s");
    b->test_ops = tq_config_bool(cfg, "worker.test_ops");
    b->max_credit = (int)tq_config_int(cfg, "worker.concurrency");
    b->quota_jobs = (size_t)tq_config_int(cfg, "quota.queued_jobs");
    b->quota_bytes = (size_t)tq_config_int(cfg, "quota.payload_bytes");
    b->quota_sleep_ms = tq_config_int(cfg, "quota.max_sleep_ms");
    b->inflight_updates = calloc(b->batch_max, sizeof *b->inflight_updates);
    b->inflight_insert_rows = calloc(b->batch_max, sizeof *b->inflight_insert_rows);
    b->journal_reads = tq_config_bool(cfg, "jobs.journal_reads");
    if (!(b->async_default = async_defaults(tq_config_str(cfg, "jobs.async_ops"), err))) {
        tq_broker_destroy(&b);
        return NULL;
    }
    b->loop = tq_loop_new();
    b->jobs = tq_jobs_new();
    tq_jobs_set_max_running(b->jobs, (int)tq_config_int(cfg, "quota.running"));
    b->opstats = tq_opstats_new();
    b->workers = zhashx_new();
    if (startup_db(b, err)) {
        tq_broker_destroy(&b);
        return NULL;
    }
    char msg[256];
    const char *url = tq_config_str(cfg, "database.url");
    if (!(b->ingest = tq_pglane_new(b->loop, "ingest", url, JOURNAL_LANE_SETUP, msg, sizeof msg)) ||
        !(b->update = tq_pglane_new(b->loop, "update", url, JOURNAL_LANE_SETUP, msg, sizeof msg)) ||
        !(b->misc = tq_pglane_new(b->loop, "misc", url, MISC_LANE_SETUP, msg, sizeof msg))) {
        tq_error_set(err, "db_unavailable", "%s", msg);
        tq_broker_destroy(&b);
        return NULL;
    }
    tq_pglane_on_idle(b->ingest, on_ingest_idle, b);
    tq_pglane_on_idle(b->update, on_update_idle, b);
    b->ctx = zmq_ctx_new();
    b->front = router(b->ctx, b->max_frame, 100000);
    b->back = router(b->ctx, b->max_frame, 0);
    b->front_out = tq_outbox_new(b->front, ZMQ_DONTWAIT);
    b->back_out = tq_outbox_new(b->back, ZMQ_DONTWAIT);
    if (!(b->principals = tq_principals_new(cfg, err)) ||
        /* backend first: a shared folder ends with the frontend's mode */
        bind_socket(b->back, tq_config_str(cfg, "broker.backend"), NULL, err) ||
        bind_socket(b->front, tq_config_str(cfg, "broker.frontend"),
                    tq_config_str(cfg, "frontend.group"), err)) {
        tq_broker_destroy(&b);
        return NULL;
    }
    /* tcp:// endpoints after the ipc ones: each listener keeps the CURVE
     * options set when it was bound, so ipc stays on the uid rule. */
    const char *ftcp = tq_config_str(cfg, "broker.frontend_tcp");
    const char *btcp = tq_config_str(cfg, "broker.backend_tcp");
    if ((*ftcp || *btcp) && (!(b->curve = tq_curve_new(b->ctx, b->loop, b->principals, cfg, err)) ||
                             (*btcp && tq_curve_bind(b->curve, b->back, btcp, true, err)) ||
                             (*ftcp && tq_curve_bind(b->curve, b->front, ftcp, false, err)))) {
        tq_broker_destroy(&b);
        return NULL;
    }
    /* HTTP listener and scheduler: clients of the frontend just bound. */
    if ((!(b->http = tq_http_new(cfg, err)) && tq_error_is_set(err)) ||
        (!(b->sched = tq_scheduler_new(cfg, err)) && tq_error_is_set(err))) {
        tq_broker_destroy(&b);
        return NULL;
    }
    int nworkers = (int)tq_config_int(cfg, "broker.workers");
    if (nworkers <= 0) nworkers = (int)sysconf(_SC_NPROCESSORS_ONLN);
    const char *bin = tq_config_str(cfg, "broker.worker_binary");
    char path[4096];
    if (!bin || !*bin) {
        ssize_t n = readlink("/proc/self/exe", path, sizeof path - 32);
        path[n > 0 ? n : 0] = '\0';
        char *slash = strrchr(path, '/');
        snprintf(slash ? slash + 1 : path, 32, "toolq-worker");
        bin = path;
    }
    if (access(bin, X_OK) != 0) {
        tq_error_set(err, "invalid_config",
                     "worker binary %s is not executable "
                     "(set broker.worker_binary)",
                     bin);
        tq_broker_destroy(&b);
        return NULL;
    }
    b->sup =
        tq_supervisor_new(b->loop, bin, worker_argv, nworkers,
                          (int)tq_config_int(cfg, "broker.restart_backoff_max_ms"),
                          (int)tq_config_int(cfg, "broker.crash_loop_restarts"), on_child_exit, b);
    return b;
}

void tq_broker_destroy(tq_broker_t **self_p)
{
    if (!self_p || !*self_p) return;
    tq_broker_t *b = *self_p;
    tq_scheduler_destroy(&b->sched);
    tq_http_destroy(&b->http);
    if (b->sup) tq_supervisor_destroy(&b->sup, 5000);
    if (b->workers) {
        for (tq_bworker_t *w = zhashx_first(b->workers); w; w = zhashx_next(b->workers)) {
            free(w->running);
            free(w);
        }
        zhashx_destroy(&b->workers);
    }
    tq_curve_destroy(&b->curve);
    tq_outbox_destroy(&b->back_out);
    tq_outbox_destroy(&b->front_out);
    if (b->front) zmq_close(b->front);
    if (b->back) zmq_close(b->back);
    if (b->ctx) zmq_ctx_term(b->ctx);
    if (b->lockdb) PQfinish(b->lockdb);
    tq_pglane_destroy(&b->ingest);
    tq_pglane_destroy(&b->update);
    tq_pglane_destroy(&b->misc);
    /* Jobs in the staged/in-flight vectors are owned by the table. */
    tq_jobs_destroy(&b->jobs);
    tq_opstats_destroy(&b->opstats);
    tq_principals_destroy(&b->principals);
    free(b->staged_inserts.v);
    free(b->inflight_inserts.v);
    free(b->staged_updates.v);
    free(b->inflight_updates);
    free(b->inflight_insert_rows);
    free(b->async_default);
    tq_vault_destroy(&b->vault);
    if (b->sigfd >= 0) close(b->sigfd);
    tq_loop_destroy(&b->loop);
    free(b);
    *self_p = NULL;
}

int tq_broker_run(tq_broker_t *b)
{
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGCHLD);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    b->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    tq_loop_add_fd(b->loop, b->sigfd, ZMQ_POLLIN, on_signal, b);
    tq_loop_add_fd(b->loop, PQsocket(b->lockdb), ZMQ_POLLIN, on_lockdb, b);
    tq_loop_add_socket(b->loop, b->front, ZMQ_POLLIN, on_front, b);
    tq_loop_add_socket(b->loop, b->back, ZMQ_POLLIN, on_back, b);
    tq_loop_on_turn(b->loop, on_turn, b);
    tq_loop_timer(b->loop, b->heartbeat_ms, on_heartbeat, b);
    tq_loop_timer(b->loop, 0, on_purge, b);
    schedule_promote(b);
    if (tq_supervisor_start(b->sup)) return 1;
    tq_info("broker ready: clients on %s, workers on %s", tq_config_str(b->cfg, "broker.frontend"),
            tq_config_str(b->cfg, "broker.backend"));
    if (tq_loop_run(b->loop)) return 1;
    /* Tell the workers to leave, then finish what the database still owes. */
    for (tq_bworker_t *w = zhashx_first(b->workers); w; w = zhashx_next(b->workers)) {
        tq_msg_t m;
        tq_msg_init(&m, TQ_MSG_DISCONNECT);
        m.err_code = "shutdown";
        send_to(b, b->back, w->ident, w->ident_len, &m);
    }
    tq_pglane_drain(b->ingest, 2000);
    tq_pglane_drain(b->update, 2000);
    tq_info("broker stopped");
    return 0;
}
