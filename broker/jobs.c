/* jobs.c — in-memory job table, idempotency index, queues and per-tenant
 * usage (see jobs.h). Hash tables are czmq zhashx; the two queues are binary
 * heaps of job pointers that record each job's index for O(log n) removal;
 * jobs of a tenant at its running limit wait in that tenant's parked list. */
#include "jobs.h"

#include "log.h"
#include "mem.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    tq_bjob_t **v;
    size_t n, cap;
    bool (*less)(const tq_bjob_t *a, const tq_bjob_t *b);
} heap_t;

/* One tenant's usage; dropped when it holds nothing. */
typedef struct {
    size_t open, bytes;
    int running;
    tq_bjob_t *park_head, *park_tail;
} tenant_use_t;

struct tq_jobs_t {
    zhashx_t *by_id;
    zhashx_t *by_ikey;
    zhashx_t *tenants; /* tenant -> tenant_use_t */
    heap_t ready, delayed;
    uint64_t next_seq;
    int max_running;
    size_t nparked;
};

const char *tq_job_state_name(tq_job_state_t s)
{
    static const char *names[] = {"queued", "running", "succeeded", "failed", "dead", "cancelled"};
    return (unsigned)s < 6 ? names[s] : "?";
}

/* Legal moves: queued -> running (dispatch) or cancelled; running -> queued
 * (retry, rescue), succeeded, failed, dead or cancelled. Final states never
 * move. Modelled on curl's mstate(): one function, one table, one trace. */
bool tq_job_transition_legal(tq_job_state_t from, tq_job_state_t to)
{
    static const unsigned char legal[6] = {
        [TQ_JOB_QUEUED] = 1u << TQ_JOB_RUNNING | 1u << TQ_JOB_CANCELLED,
        [TQ_JOB_RUNNING] = 1u << TQ_JOB_QUEUED | 1u << TQ_JOB_SUCCEEDED | 1u << TQ_JOB_FAILED |
                           1u << TQ_JOB_DEAD | 1u << TQ_JOB_CANCELLED,
    };
    return (unsigned)from < 6 && (unsigned)to < 6 && (legal[from] >> to & 1u);
}

void tq_bjob_set_state(tq_bjob_t *j, tq_job_state_t to, const char *why)
{
    if (!tq_job_transition_legal(j->state, to)) {
        tq_err("job %s: illegal state change %s -> %s (%s)", j->id, tq_job_state_name(j->state),
               tq_job_state_name(to), why);
        abort(); /* a broker bug: the journal must never see it */
    }
    tq_debug("job %s: %s -> %s (%s)", j->id, tq_job_state_name(j->state), tq_job_state_name(to),
             why);
    j->state = to;
}

/* --- heaps ------------------------------------------------------------------- */

static bool ready_less(const tq_bjob_t *a, const tq_bjob_t *b)
{
    if (a->priority != b->priority) return a->priority > b->priority;
    return a->seq < b->seq;
}

static bool delayed_less(const tq_bjob_t *a, const tq_bjob_t *b)
{
    if (a->run_after_ms != b->run_after_ms) return a->run_after_ms < b->run_after_ms;
    return a->seq < b->seq;
}

static void heap_swap(heap_t *h, size_t i, size_t j)
{
    tq_bjob_t *t = h->v[i];
    h->v[i] = h->v[j];
    h->v[j] = t;
    h->v[i]->heap_index = i;
    h->v[j]->heap_index = j;
}

static void heap_up(heap_t *h, size_t i)
{
    while (i > 0 && h->less(h->v[i], h->v[(i - 1) / 2])) {
        heap_swap(h, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void heap_down(heap_t *h, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && h->less(h->v[l], h->v[m])) m = l;
        if (r < h->n && h->less(h->v[r], h->v[m])) m = r;
        if (m == i) return;
        heap_swap(h, i, m);
        i = m;
    }
}

static void heap_push(heap_t *h, tq_bjob_t *job)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 1024;
        tq_bjob_t **v = tq_xrealloc(h->v, cap * sizeof *v);
        h->v = v;
        h->cap = cap;
    }
    h->v[h->n] = job;
    job->heap_index = h->n;
    heap_up(h, h->n++);
}

static void heap_remove(heap_t *h, size_t i)
{
    h->v[i]->heap_index = SIZE_MAX;
    h->n--;
    if (i == h->n) return;
    h->v[i] = h->v[h->n];
    h->v[i]->heap_index = i;
    heap_down(h, i);
    heap_up(h, i);
}

/* --- jobs -------------------------------------------------------------------- */

tq_bjob_t *tq_bjob_new(void)
{
    tq_bjob_t *j = calloc(1, sizeof *j);
    if (j) j->heap_index = SIZE_MAX;
    return j;
}

void tq_bjob_free_waiters(tq_waiter_t **list)
{
    while (*list) {
        tq_waiter_t *n = (*list)->next;
        free(*list);
        *list = n;
    }
}

void tq_bjob_free(tq_bjob_t *j)
{
    if (!j) return;
    free(j->tenant);
    free(j->op);
    free(j->ikey);
    free(j->payload);
    free(j->result);
    free(j->err_code);
    free(j->err_msg);
    tq_bjob_free_waiters(&j->accept_waiters);
    tq_bjob_free_waiters(&j->result_waiters);
    free(j);
}

void tq_bjob_set_error(tq_bjob_t *j, const char *code, const char *msg)
{
    tq_msg_set(&j->err_code, code);
    tq_msg_set(&j->err_msg, msg);
}

tq_waiter_t *tq_bjob_add_waiter(tq_waiter_t **list, const void *ident, size_t ident_len,
                                uint64_t rid, bool batch)
{
    if (ident_len > sizeof((tq_waiter_t *)0)->ident) return NULL;
    tq_waiter_t *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    memcpy(w->ident, ident, ident_len);
    w->ident_len = ident_len;
    w->rid = rid;
    w->batch = batch;
    w->next = *list;
    *list = w;
    return w;
}

static char *ikey_of(const char *tenant, const char *ikey)
{
    size_t a = strlen(tenant), b = strlen(ikey);
    char *k = tq_xmalloc(a + b + 2);
    memcpy(k, tenant, a);
    k[a] = '\x1f';
    memcpy(k + a + 1, ikey, b + 1);
    return k;
}

/* --- per-tenant usage ------------------------------------------------------------ */

static void free_use(void **item)
{
    free(*item);
    *item = NULL;
}

static tenant_use_t *use_of(tq_jobs_t *self, const char *tenant, bool create)
{
    tenant_use_t *u = zhashx_lookup(self->tenants, tenant);
    if (!u && create) {
        u = tq_xcalloc(1, sizeof *u);
        zhashx_insert(self->tenants, tenant, u);
    }
    return u;
}

static void use_release(tq_jobs_t *self, const char *tenant, tenant_use_t *u)
{
    if (!u->open && !u->running && !u->park_head) zhashx_delete(self->tenants, tenant);
}

static void park(tq_jobs_t *self, tenant_use_t *u, tq_bjob_t *j)
{
    j->parked = true;
    j->park_next = NULL;
    if (u->park_tail)
        u->park_tail->park_next = j;
    else
        u->park_head = j;
    u->park_tail = j;
    self->nparked++;
}

static void unpark(tq_jobs_t *self, tenant_use_t *u, tq_bjob_t *j)
{
    tq_bjob_t **pp = &u->park_head, *prev = NULL;
    while (*pp && *pp != j) {
        prev = *pp;
        pp = &(*pp)->park_next;
    }
    if (!*pp) return;
    *pp = j->park_next;
    if (u->park_tail == j) u->park_tail = prev;
    j->parked = false;
    j->park_next = NULL;
    self->nparked--;
}

void tq_jobs_usage(tq_jobs_t *self, const char *tenant, size_t *open, size_t *bytes, int *running)
{
    tenant_use_t *u = use_of(self, tenant, false);
    *open = u ? u->open : 0;
    *bytes = u ? u->bytes : 0;
    *running = u ? u->running : 0;
}

void tq_jobs_set_max_running(tq_jobs_t *self, int max_running)
{
    self->max_running = max_running > 0 ? max_running : 0;
}

void tq_jobs_set_running(tq_jobs_t *self, tq_bjob_t *job, bool on)
{
    if (job->counted_running == on) return;
    tenant_use_t *u = use_of(self, job->tenant, true);
    job->counted_running = on;
    u->running += on ? 1 : -1;
    if (!on && u->park_head && (!self->max_running || u->running < self->max_running)) {
        tq_bjob_t *next = u->park_head;
        unpark(self, u, next);
        heap_push(&self->ready, next);
    }
    if (!on) use_release(self, job->tenant, u);
}

tq_jobs_t *tq_jobs_new(void)
{
    tq_jobs_t *self = calloc(1, sizeof *self);
    if (!self) return NULL;
    self->by_id = zhashx_new();
    self->by_ikey = zhashx_new();
    self->tenants = zhashx_new();
    zhashx_set_destructor(self->tenants, free_use);
    self->ready.less = ready_less;
    self->delayed.less = delayed_less;
    return self;
}

void tq_jobs_destroy(tq_jobs_t **self_p)
{
    if (!self_p || !*self_p) return;
    tq_jobs_t *self = *self_p;
    for (tq_bjob_t *j = zhashx_first(self->by_id); j; j = zhashx_next(self->by_id))
        tq_bjob_free(j);
    zhashx_destroy(&self->by_id);
    zhashx_destroy(&self->by_ikey);
    zhashx_destroy(&self->tenants);
    free(self->ready.v);
    free(self->delayed.v);
    free(self);
    *self_p = NULL;
}

void tq_jobs_add(tq_jobs_t *self, tq_bjob_t *job)
{
    job->seq = ++self->next_seq;
    if (!job->in_table) {
        tenant_use_t *u = use_of(self, job->tenant, true);
        u->open++;
        u->bytes += job->payload_len;
        job->in_table = true;
    }
    zhashx_insert(self->by_id, job->id, job);
    if (job->ikey) {
        char *k = ikey_of(job->tenant, job->ikey);
        zhashx_insert(self->by_ikey, k, job);
        free(k);
    }
}

tq_bjob_t *tq_jobs_get(tq_jobs_t *self, const char *id)
{
    return zhashx_lookup(self->by_id, id);
}

tq_bjob_t *tq_jobs_by_ikey(tq_jobs_t *self, const char *tenant, const char *ikey)
{
    char *k = ikey_of(tenant, ikey);
    tq_bjob_t *j = zhashx_lookup(self->by_ikey, k);
    free(k);
    return j;
}

void tq_jobs_remove(tq_jobs_t *self, tq_bjob_t *job)
{
    tq_jobs_unqueue(self, job);
    tq_jobs_set_running(self, job, false);
    if (job->in_table) {
        tenant_use_t *u = use_of(self, job->tenant, true);
        u->open--;
        u->bytes -= job->payload_len;
        job->in_table = false;
        use_release(self, job->tenant, u);
    }
    zhashx_delete(self->by_id, job->id);
    if (job->ikey) {
        char *k = ikey_of(job->tenant, job->ikey);
        if (zhashx_lookup(self->by_ikey, k) == job) zhashx_delete(self->by_ikey, k);
        free(k);
    }
}

size_t tq_jobs_count(const tq_jobs_t *self)
{
    return zhashx_size(self->by_id);
}

void tq_jobs_each(tq_jobs_t *self, void (*fn)(tq_bjob_t *job, void *arg), void *arg)
{
    for (tq_bjob_t *j = zhashx_first(self->by_id); j; j = zhashx_next(self->by_id))
        fn(j, arg);
}

void tq_jobs_enqueue(tq_jobs_t *self, tq_bjob_t *job, int64_t now_ms)
{
    tq_jobs_unqueue(self, job);
    heap_push(job->run_after_ms > now_ms ? &self->delayed : &self->ready, job);
}

tq_bjob_t *tq_jobs_pop_ready(tq_jobs_t *self)
{
    while (self->ready.n > 0) {
        tq_bjob_t *j = self->ready.v[0];
        heap_remove(&self->ready, 0);
        tenant_use_t *u = self->max_running ? use_of(self, j->tenant, true) : NULL;
        if (!u || u->running < self->max_running) return j;
        park(self, u, j); /* back in the queue when one of its tenant's jobs stops */
    }
    return NULL;
}

int64_t tq_jobs_promote(tq_jobs_t *self, int64_t now_ms)
{
    while (self->delayed.n > 0 && self->delayed.v[0]->run_after_ms <= now_ms) {
        tq_bjob_t *j = self->delayed.v[0];
        heap_remove(&self->delayed, 0);
        heap_push(&self->ready, j);
    }
    return self->delayed.n ? self->delayed.v[0]->run_after_ms - now_ms : -1;
}

void tq_jobs_unqueue(tq_jobs_t *self, tq_bjob_t *job)
{
    if (job->parked) {
        tenant_use_t *u = use_of(self, job->tenant, true);
        unpark(self, u, job);
        use_release(self, job->tenant, u);
        return;
    }
    size_t i = job->heap_index;
    if (i == SIZE_MAX) return;
    if (i < self->ready.n && self->ready.v[i] == job)
        heap_remove(&self->ready, i);
    else if (i < self->delayed.n && self->delayed.v[i] == job)
        heap_remove(&self->delayed, i);
}

size_t tq_jobs_ready_count(const tq_jobs_t *self)
{
    return self->ready.n + self->nparked;
}

size_t tq_jobs_delayed_count(const tq_jobs_t *self)
{
    return self->delayed.n;
}
