/* tq_failover.c — a job stream that survives broker failover, for
 * tests/integration/test_failover.sh and scripts/bench-scale:
 *   tq-failover -n N -c C [--op OP] [--tenant T] [--payload JSON] [--rate JOBS_S]
 *               [--prefix P] [--ids FILE] [--deadline-s S]
 * C threads, each with its own client (TOOLQ_BROKER may list several
 * brokers), submit N jobs in all with idempotency keys P-<i>, keeping up to
 * 32 submits in flight each; a submit that gets no answer in 2 s or a
 * transient refusal (shutting_down, queue_full, db_unavailable) is sent again
 * with the same key. Then every ACCEPTED id is waited for (again until an
 * answer comes). Writes "KEY ID" lines to FILE and one JSON summary line;
 * exits 0 when every job was accepted and every accepted job ended
 * succeeded. */
#include "toolq/client.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    const char *op, *tenant, *payload, *prefix;
    long n;
    int c;
    double rate;
    int deadline_s;
} opts_t;

typedef struct {
    const opts_t *o;
    long first, count;
    char (*ids)[37]; /* per job: the accepted id */
    double *sent_at; /* per job: last send (ms), 0 = not outstanding */
    long *rid_job;   /* rid -> job index + 1 */
    size_t rid_cap;
    long accepted, succeeded, resends, dups, refused, waits_retried;
} thread_t;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static bool transient(const char *code)
{
    return code && (strcmp(code, "shutting_down") == 0 || strcmp(code, "queue_full") == 0 ||
                    strcmp(code, "db_unavailable") == 0 || strcmp(code, "timeout") == 0);
}

static void send_one(thread_t *t, tq_client_t *c, long j)
{
    char key[96];
    snprintf(key, sizeof key, "%s-%ld", t->o->prefix, t->first + j);
    tq_submit_opts_t so = {.idempotency_key = key};
    uint64_t rid = tq_client_send_submit(c, t->o->tenant, t->o->op, t->o->payload, &so, false);
    t->sent_at[j] = now_ms(); /* also when unsent: retried after the same 2 s */
    if (!rid) return;
    if (rid >= t->rid_cap) {
        size_t cap = t->rid_cap * 2 > rid + 1 ? t->rid_cap * 2 : rid + 1024;
        t->rid_job = realloc(t->rid_job, cap * sizeof *t->rid_job);
        memset(t->rid_job + t->rid_cap, 0, (cap - t->rid_cap) * sizeof *t->rid_job);
        t->rid_cap = cap;
    }
    t->rid_job[rid] = j + 1;
}

static void *run(void *arg)
{
    thread_t *t = arg;
    const opts_t *o = t->o;
    tq_client_t *c = tq_client_new(NULL);
    double start = now_ms(), give_up = start + o->deadline_s * 1000.0;
    long next = 0, outstanding = 0;
    double per_ms = o->rate > 0 ? o->rate / o->c / 1000.0 : 0;
    while (t->accepted + t->refused < t->count && now_ms() < give_up) {
        while (next < t->count && outstanding < 32 &&
               (per_ms == 0 || next < (now_ms() - start) * per_ms + 1)) {
            send_one(t, c, next++);
            outstanding++;
        }
        tq_client_event_t ev;
        int rc = tq_client_recv(c, 50, &ev);
        if (rc == 0) {
            long j = ev.rid < t->rid_cap ? t->rid_job[ev.rid] - 1 : -1;
            if (j >= 0 && t->sent_at[j] > 0) {
                if (ev.type == TQ_EVENT_ACCEPTED) {
                    if (t->ids[j][0] && strcmp(t->ids[j], ev.job.id) != 0)
                        fprintf(stderr, "tq-failover: key %ld got two ids %s %s\n", t->first + j,
                                t->ids[j], ev.job.id);
                    memcpy(t->ids[j], ev.job.id, 37);
                    t->accepted++;
                    if (ev.dup) t->dups++;
                    t->sent_at[j] = 0;
                    outstanding--;
                } else if (ev.type == TQ_EVENT_REJECTED && !transient(ev.job.error_code)) {
                    fprintf(stderr, "tq-failover: refused: %s: %s\n", ev.job.error_code,
                            ev.job.error_message);
                    t->refused++;
                    t->sent_at[j] = 0;
                    outstanding--;
                } else if (ev.type == TQ_EVENT_REJECTED) {
                    t->sent_at[j] = 1; /* transient: send again now */
                }
            }
            tq_job_info_reset(&ev.job);
        }
        double now = now_ms();
        for (long j = 0; j < next; j++)
            if (t->sent_at[j] > 0 && now - t->sent_at[j] > 2000) {
                t->resends++;
                send_one(t, c, j);
            }
    }
    /* every accepted job must end succeeded; a wait lost with its broker is
     * asked again */
    for (long j = 0; j < t->count; j++) {
        if (!t->ids[j][0]) continue;
        for (;;) {
            tq_job_info_t job;
            int rc = tq_client_wait(c, t->ids[j], 3000, &job);
            if (rc == 0 && job.state && strcmp(job.state, "succeeded") == 0) t->succeeded++;
            if (rc == 0 && job.state && strcmp(job.state, "succeeded") != 0)
                fprintf(stderr, "tq-failover: job %s ended %s (%s)\n", t->ids[j], job.state,
                        job.error_code ? job.error_code : "");
            bool again = rc == TQ_CLIENT_TIMEOUT ||
                         (rc == TQ_CLIENT_REJECTED && transient(tq_client_error_code(c)));
            tq_job_info_reset(&job);
            if (!again || now_ms() > give_up) break;
            t->waits_retried++;
            usleep(50000);
        }
    }
    tq_client_destroy(&c);
    return NULL;
}

int main(int argc, char **argv)
{
    opts_t o = {.op = "ping",
                .tenant = "failover",
                .payload = "{}",
                .prefix = "fo",
                .n = 1000,
                .c = 8,
                .deadline_s = 300};
    const char *ids_file = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc) goto usage;
        if (strcmp(a, "-n") == 0)
            o.n = atol(argv[++i]);
        else if (strcmp(a, "-c") == 0)
            o.c = atoi(argv[++i]);
        else if (strcmp(a, "--op") == 0)
            o.op = argv[++i];
        else if (strcmp(a, "--tenant") == 0)
            o.tenant = argv[++i];
        else if (strcmp(a, "--payload") == 0)
            o.payload = argv[++i];
        else if (strcmp(a, "--rate") == 0)
            o.rate = atof(argv[++i]);
        else if (strcmp(a, "--prefix") == 0)
            o.prefix = argv[++i];
        else if (strcmp(a, "--ids") == 0)
            ids_file = argv[++i];
        else if (strcmp(a, "--deadline-s") == 0)
            o.deadline_s = atoi(argv[++i]);
        else
            goto usage;
    }
    if (o.n < 1 || o.c < 1) goto usage;
    thread_t *t = calloc((size_t)o.c, sizeof *t);
    pthread_t *th = calloc((size_t)o.c, sizeof *th);
    double start = now_ms();
    for (int i = 0; i < o.c; i++) {
        t[i].o = &o;
        t[i].first = o.n * i / o.c;
        t[i].count = o.n * (i + 1) / o.c - t[i].first;
        t[i].ids = calloc((size_t)t[i].count + 1, 37);
        t[i].sent_at = calloc((size_t)t[i].count + 1, sizeof(double));
        pthread_create(&th[i], NULL, run, &t[i]);
    }
    long acc = 0, ok = 0, resends = 0, dups = 0, refused = 0, wr = 0;
    FILE *f = ids_file ? fopen(ids_file, "w") : NULL;
    for (int i = 0; i < o.c; i++) {
        pthread_join(th[i], NULL);
        acc += t[i].accepted;
        ok += t[i].succeeded;
        resends += t[i].resends;
        dups += t[i].dups;
        refused += t[i].refused;
        wr += t[i].waits_retried;
        for (long j = 0; f && j < t[i].count; j++)
            if (t[i].ids[j][0]) fprintf(f, "%s-%ld %s\n", o.prefix, t[i].first + j, t[i].ids[j]);
        free(t[i].ids);
        free(t[i].sent_at);
        free(t[i].rid_job);
    }
    if (f) fclose(f);
    double secs = (now_ms() - start) / 1000.0;
    printf("{\"jobs\":%ld,\"accepted\":%ld,\"succeeded\":%ld,\"refused\":%ld,\"resends\":%ld,"
           "\"dup_accepts\":%ld,\"waits_retried\":%ld,\"seconds\":%.2f}\n",
           o.n, acc, ok, refused, resends, dups, wr, secs);
    free(t);
    free(th);
    return acc == o.n && ok == acc ? 0 : 1;
usage:
    fprintf(stderr, "usage: tq-failover -n N -c C [--op OP] [--tenant T] [--payload JSON] "
                    "[--rate JOBS_S] [--prefix P] [--ids FILE] [--deadline-s S]\n");
    return 2;
}
