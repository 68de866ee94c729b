/* test_broker_jobs.c — the broker's in-memory queues (broker/jobs.c): the
 * ready heap orders by priority then submit order, the delayed heap by
 * run_after, every job's heap_index stays true through pushes, pops,
 * removals from the middle and moves between heaps (checked against a
 * plain model under random operations), and the idempotency index is per
 * tenant and survives the removal of a later job that reused a key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "jobs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static tq_bjob_t *job(tq_jobs_t *jobs, int n, const char *tenant, const char *ikey, int priority)
{
    tq_bjob_t *j = tq_bjob_new();
    assert_non_null(j);
    snprintf(j->id, sizeof j->id, "00000000-0000-7000-8000-%012d", n);
    j->tenant = strdup(tenant);
    j->ikey = ikey ? strdup(ikey) : NULL;
    j->priority = priority;
    tq_jobs_add(jobs, j);
    return j;
}

static void ready_order(void **state)
{
    (void)state;
    tq_jobs_t *jobs = tq_jobs_new();
    tq_bjob_t *a = job(jobs, 1, "t", NULL, 0), *b = job(jobs, 2, "t", NULL, 5),
              *c = job(jobs, 3, "t", NULL, 0), *d = job(jobs, 4, "t", NULL, -3),
              *e = job(jobs, 5, "t", NULL, 5);
    tq_bjob_t *in[] = {d, c, e, a, b}; /* enqueue order does not matter, submit order does */
    for (int i = 0; i < 5; i++)
        tq_jobs_enqueue(jobs, in[i], 0);
    assert_int_equal(tq_jobs_ready_count(jobs), 5);
    tq_bjob_t *want[] = {b, e, a, c, d};
    for (int i = 0; i < 5; i++) {
        tq_bjob_t *j = tq_jobs_pop_ready(jobs);
        assert_ptr_equal(j, want[i]);
        assert_true(j->heap_index == SIZE_MAX);
    }
    assert_null(tq_jobs_pop_ready(jobs));
    assert_int_equal(tq_jobs_count(jobs), 5); /* popping does not forget the job */
    tq_jobs_destroy(&jobs);
    assert_null(jobs);
}

static void delayed_and_promote(void **state)
{
    (void)state;
    tq_jobs_t *jobs = tq_jobs_new();
    tq_bjob_t *a = job(jobs, 1, "t", NULL, 0), *b = job(jobs, 2, "t", NULL, 9),
              *c = job(jobs, 3, "t", NULL, 0);
    a->run_after_ms = 1500;
    b->run_after_ms = 1200;
    c->run_after_ms = 1000; /* not in the future at now = 1000: ready at once */
    tq_jobs_enqueue(jobs, a, 1000);
    tq_jobs_enqueue(jobs, b, 1000);
    tq_jobs_enqueue(jobs, c, 1000);
    assert_int_equal(tq_jobs_ready_count(jobs), 1);
    assert_int_equal(tq_jobs_delayed_count(jobs), 2);
    assert_int_equal(tq_jobs_promote(jobs, 1000), 200); /* b is due first */
    assert_int_equal(tq_jobs_promote(jobs, 1199), 1);
    assert_int_equal(tq_jobs_promote(jobs, 1300), 200); /* b moved; a due at 1500 */
    assert_int_equal(tq_jobs_ready_count(jobs), 2);
    assert_ptr_equal(tq_jobs_pop_ready(jobs), b); /* priority 9 before the older c */
    assert_int_equal(tq_jobs_promote(jobs, 5000), -1);
    assert_ptr_equal(tq_jobs_pop_ready(jobs), a); /* submitted before c: a retry keeps its place */
    assert_ptr_equal(tq_jobs_pop_ready(jobs), c);
    assert_null(tq_jobs_pop_ready(jobs));
    tq_jobs_destroy(&jobs);
}

static void unqueue_and_move(void **state)
{
    (void)state;
    tq_jobs_t *jobs = tq_jobs_new();
    tq_bjob_t *j[8];
    for (int i = 0; i < 8; i++) {
        j[i] = job(jobs, i, "t", NULL, i % 3);
        tq_jobs_enqueue(jobs, j[i], 0);
    }
    tq_jobs_unqueue(jobs, j[4]); /* from the middle */
    assert_true(j[4]->heap_index == SIZE_MAX);
    tq_jobs_unqueue(jobs, j[4]); /* twice: a no-op */
    assert_int_equal(tq_jobs_ready_count(jobs), 7);
    /* A retry: the same job re-enqueued with a run_after moves to the delayed heap. */
    j[2]->run_after_ms = 100;
    tq_jobs_enqueue(jobs, j[2], 0);
    assert_int_equal(tq_jobs_ready_count(jobs), 6);
    assert_int_equal(tq_jobs_delayed_count(jobs), 1);
    tq_jobs_unqueue(jobs, j[2]); /* cancel a delayed job */
    assert_int_equal(tq_jobs_delayed_count(jobs), 0);
    /* remove() takes the job out of its heap too; the caller frees it */
    tq_jobs_remove(jobs, j[7]);
    tq_bjob_free(j[7]);
    assert_int_equal(tq_jobs_ready_count(jobs), 5);
    assert_null(tq_jobs_get(jobs, "00000000-0000-7000-8000-000000000007"));
    assert_ptr_equal(tq_jobs_get(jobs, "00000000-0000-7000-8000-000000000006"), j[6]);
    int last_prio = 1000;
    for (tq_bjob_t *p; (p = tq_jobs_pop_ready(jobs));) {
        assert_true(p != j[4] && p != j[2] && p != j[7]);
        assert_true(p->priority <= last_prio);
        last_prio = p->priority;
    }
    tq_jobs_destroy(&jobs);
}

/* Random operations against a model: the popped job is always the model's
 * best, and every queued job's heap_index points at itself. */
#define N 400
static void random_against_model(void **state)
{
    (void)state;
    srand(7);
    tq_jobs_t *jobs = tq_jobs_new();
    tq_bjob_t *j[N];
    int where[N]; /* 0 none, 1 ready, 2 delayed */
    int64_t now = 0;
    for (int i = 0; i < N; i++) {
        j[i] = job(jobs, i, "t", NULL, rand() % 7 - 3);
        where[i] = 0;
    }
    for (int step = 0; step < 20000; step++) {
        int i = rand() % N, op = rand() % 5;
        if (op <= 1) {
            j[i]->run_after_ms = rand() % 2 ? now + 1 + rand() % 50 : now;
            tq_jobs_enqueue(jobs, j[i], now);
            where[i] = j[i]->run_after_ms > now ? 2 : 1;
        } else if (op == 2) {
            tq_jobs_unqueue(jobs, j[i]);
            where[i] = 0;
        } else if (op == 3) {
            now += rand() % 20;
            int64_t next = tq_jobs_promote(jobs, now), want = -1;
            for (int k = 0; k < N; k++) {
                if (where[k] == 2 && j[k]->run_after_ms <= now) where[k] = 1;
                if (where[k] == 2 && (want < 0 || j[k]->run_after_ms - now < want))
                    want = j[k]->run_after_ms - now;
            }
            assert_int_equal(next, want);
        } else {
            int best = -1;
            for (int k = 0; k < N; k++)
                if (where[k] == 1 &&
                    (best < 0 || j[k]->priority > j[best]->priority ||
                     (j[k]->priority == j[best]->priority && j[k]->seq < j[best]->seq)))
                    best = k;
            tq_bjob_t *p = tq_jobs_pop_ready(jobs);
            assert_ptr_equal(p, best < 0 ? NULL : j[best]);
            if (best >= 0) where[best] = 0;
        }
        size_t nr = 0, nd = 0;
        for (int k = 0; k < N; k++) {
            nr += where[k] == 1;
            nd += where[k] == 2;
            if (where[k] == 0)
                assert_true(j[k]->heap_index == SIZE_MAX);
            else
                assert_true(j[k]->heap_index < N);
        }
        assert_int_equal(tq_jobs_ready_count(jobs), nr);
        assert_int_equal(tq_jobs_delayed_count(jobs), nd);
    }
    tq_jobs_destroy(&jobs); /* frees queued and unqueued jobs alike (ASan: no leak) */
}

static void idempotency_index(void **state)
{
    (void)state;
    tq_jobs_t *jobs = tq_jobs_new();
    tq_bjob_t *a = job(jobs, 1, "acme", "k1", 0), *b = job(jobs, 2, "other", "k1", 0);
    job(jobs, 3, "acme", NULL, 0);
    assert_ptr_equal(tq_jobs_by_ikey(jobs, "acme", "k1"), a);
    assert_ptr_equal(tq_jobs_by_ikey(jobs, "other", "k1"), b); /* keys are per tenant */
    assert_null(tq_jobs_by_ikey(jobs, "acme", "k2"));
    assert_null(tq_jobs_by_ikey(jobs, "acmek", "1"));
    assert_null(tq_jobs_by_ikey(jobs, "acm", "ek1"));
    /* A second job with a key already indexed does not take it over, and its
     * removal leaves the first job's entry alone. */
    tq_bjob_t *c = job(jobs, 4, "acme", "k1", 0);
    assert_ptr_equal(tq_jobs_by_ikey(jobs, "acme", "k1"), a);
    tq_jobs_remove(jobs, c);
    tq_bjob_free(c);
    assert_ptr_equal(tq_jobs_by_ikey(jobs, "acme", "k1"), a);
    /* Removing the owner frees the key for a new job. */
    tq_jobs_remove(jobs, a);
    tq_bjob_free(a);
    assert_null(tq_jobs_by_ikey(jobs, "acme", "k1"));
    assert_ptr_equal(tq_jobs_by_ikey(jobs, "other", "k1"), b);
    tq_bjob_t *d = job(jobs, 5, "acme", "k1", 0);
    assert_ptr_equal(tq_jobs_by_ikey(jobs, "acme", "k1"), d);
    assert_int_equal(tq_jobs_count(jobs), 3);
    tq_jobs_destroy(&jobs);
}

static void count_each(tq_bjob_t *j, void *arg)
{
    (void)j;
    (*(int *)arg)++;
}

static void table_and_names(void **state)
{
    (void)state;
    tq_jobs_t *jobs = tq_jobs_new();
    for (int i = 0; i < 3000; i++) /* past the heaps' first growth (1024) */
        tq_jobs_enqueue(jobs, job(jobs, i, "t", NULL, 0), 0);
    int n = 0;
    tq_jobs_each(jobs, count_each, &n);
    assert_int_equal(n, 3000);
    assert_int_equal(tq_jobs_ready_count(jobs), 3000);
    for (int i = 0; i < 3000; i++) /* equal priority: strict submit order */
        assert_int_equal(tq_jobs_pop_ready(jobs)->seq, (uint64_t)i + 1);
    tq_jobs_destroy(&jobs);
    tq_jobs_destroy(&jobs); /* NULL: a no-op */
    assert_string_equal(tq_job_state_name(TQ_JOB_QUEUED), "queued");
    assert_string_equal(tq_job_state_name(TQ_JOB_CANCELLED), "cancelled");
    assert_string_equal(tq_job_state_name((tq_job_state_t)42), "?");
    assert_false(tq_job_state_final(TQ_JOB_RUNNING));
    assert_true(tq_job_state_final(TQ_JOB_DEAD));
    tq_bjob_t *j = tq_bjob_new();
    tq_bjob_set_error(j, "worker_lost", "re-queued");
    assert_string_equal(j->err_code, "worker_lost");
    tq_bjob_set_error(j, NULL, NULL);
    assert_null(j->err_code);
    assert_non_null(tq_bjob_add_waiter(&j->result_waiters, "id", 2, 7, false));
    unsigned char big[300] = {0};
    assert_null(tq_bjob_add_waiter(&j->result_waiters, big, sizeof big, 8, false));
    tq_bjob_free(j);
}

/* The one transition function (issue 12): the legal moves pass, every
 * other move aborts the broker (a bug must never reach the journal). */
static void transitions(void **state)
{
    (void)state;
    enum {
        Q = TQ_JOB_QUEUED,
        R = TQ_JOB_RUNNING,
        S = TQ_JOB_SUCCEEDED,
        F = TQ_JOB_FAILED,
        D = TQ_JOB_DEAD,
        C = TQ_JOB_CANCELLED
    };
    const char *legal[] = {"QR", "QC", "RQ", "RS", "RF", "RD", "RC"};
    const char *names = "QRSFDC";
    int n = 0;
    for (int from = Q; from <= C; from++)
        for (int to = Q; to <= C; to++) {
            char pair[3] = {names[from], names[to], 0};
            bool want = false;
            for (size_t i = 0; i < sizeof legal / sizeof *legal; i++)
                if (strcmp(legal[i], pair) == 0) want = true;
            assert_int_equal(tq_job_transition_legal((tq_job_state_t)from, (tq_job_state_t)to),
                             want);
            n += want;
        }
    assert_int_equal(n, 7);
    assert_false(tq_job_transition_legal(TQ_JOB_QUEUED, (tq_job_state_t)9));
    tq_bjob_t *j = tq_bjob_new();
    assert_int_equal(j->state, TQ_JOB_QUEUED); /* a new job starts queued */
    tq_bjob_set_state(j, TQ_JOB_RUNNING, "dispatch");
    tq_bjob_set_state(j, TQ_JOB_QUEUED, "retry");
    tq_bjob_set_state(j, TQ_JOB_RUNNING, "dispatch");
    tq_bjob_set_state(j, TQ_JOB_SUCCEEDED, "RESULT ok");
    assert_int_equal(j->state, TQ_JOB_SUCCEEDED);
    tq_bjob_free(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ready_order),       cmocka_unit_test(delayed_and_promote),
        cmocka_unit_test(unqueue_and_move),  cmocka_unit_test(random_against_model),
        cmocka_unit_test(idempotency_index), cmocka_unit_test(table_and_names),
        cmocka_unit_test(transitions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
