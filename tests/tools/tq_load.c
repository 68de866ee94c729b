/* tq_load.c — load generator and checker used by the integration tests and
 * scripts/bench: keeps C jobs in flight over K client connections (threads),
 * measures submit->result latency, and reports one JSON summary. Modes:
 *   tq-load -n N -c C [-k K] [--op OP] [--tenant T] [--payload JSON]   call mode
 *   tq-load ... --submit-only FILE    submit, write each ACCEPTED id to FILE
 *   tq-load --wait-ids FILE           wait for every id in FILE
 *   --durability sync|async, --journal: passed with every submit
 *   --no-batch: one ZeroMQ message per request (default: each connection
 *   takes every event already there, then sends its next requests as one
 *   message: tq_client_hold)
 * Exit 0 when every job ended in --expect (default succeeded), else 1. */
#include "toolq/client.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    const char *endpoint, *op, *tenant, *payload, *expect, *submit_only, *wait_ids;
    long n;
    int c, k, timeout_ms;
    tq_submit_opts_t submit; /* --durability, --journal */
    bool no_batch;
} opts_t;

typedef struct {
    const opts_t *o;
    long n;       /* jobs for this thread */
    int inflight; /* max in flight for this thread */
    double *lat;  /* ms per completed job */
    long done, ok, rejected;
    FILE *ids;
    pthread_mutex_t *ids_lock;
    char **wait_list;
    long wait_n;
} thread_t;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One event of call mode: counts it and its latency (sent: rid -> send time). */
static void on_event(thread_t *t, const tq_client_event_t *ev, const double *sent,
                     long *outstanding)
{
    const opts_t *o = t->o;
    if (ev->type == TQ_EVENT_REJECTED) {
        fprintf(stderr, "tq-load: rejected: %s: %s\n", ev->job.error_code, ev->job.error_message);
        t->rejected++;
        (*outstanding)--;
    } else if (ev->type == TQ_EVENT_ACCEPTED && o->submit_only) {
        pthread_mutex_lock(t->ids_lock);
        fprintf(t->ids, "%s\n", ev->job.id);
        fflush(t->ids);
        pthread_mutex_unlock(t->ids_lock);
        t->lat[t->done++] = now_ms() - sent[ev->rid];
        t->ok++;
        (*outstanding)--;
    } else if (ev->type == TQ_EVENT_RESULT) {
        t->lat[t->done++] = ev->rid <= (uint64_t)t->n + 1 ? now_ms() - sent[ev->rid] : 0;
        if (strcmp(ev->job.state, o->expect) == 0)
            t->ok++;
        else
            fprintf(stderr, "tq-load: job %s ended %s (%s)\n", ev->job.id, ev->job.state,
                    ev->job.error_code ? ev->job.error_code : "");
        (*outstanding)--;
    }
}

static void *run_calls(void *arg)
{
    thread_t *t = arg;
    const opts_t *o = t->o;
    tq_client_t *c = tq_client_new(o->endpoint);
    if (!o->no_batch) tq_client_hold(c); /* the receive below sends the held submits first */
    bool wait = !o->submit_only;
    /* rid -> send time; rids are sequential per client starting at 1 */
    double *sent = calloc((size_t)t->n + 2, sizeof *sent);
    long submitted = 0, outstanding = 0;
    double last_progress = now_ms();
    while (t->done + t->rejected < t->n) {
        while (submitted < t->n && outstanding < t->inflight) {
            uint64_t rid = tq_client_send_submit(c, o->tenant, o->op, o->payload, &o->submit, wait);
            if (!rid) {
                fprintf(stderr, "tq-load: %s: %s\n", tq_client_error_code(c),
                        tq_client_error_message(c));
                t->rejected += t->n - submitted;
                goto out;
            }
            if (rid <= (uint64_t)t->n + 1) sent[rid] = now_ms();
            submitted++;
            outstanding++;
        }
        tq_client_event_t ev;
        if (tq_client_recv(c, 1000, &ev) != 0) {
            if (strcmp(tq_client_error_code(c), "timeout") !=
                0) { /* the held submits were dropped */
                fprintf(stderr, "tq-load: %s: %s\n", tq_client_error_code(c),
                        tq_client_error_message(c));
                t->rejected += t->n - t->done - t->rejected;
                goto out;
            }
            if (now_ms() - last_progress > o->timeout_ms) {
                fprintf(stderr, "tq-load: no progress for %d ms; giving up\n", o->timeout_ms);
                t->rejected += t->n - t->done - t->rejected;
                goto out;
            }
            continue;
        }
        last_progress = now_ms();
        /* this event, then every one already here, before the next submits:
         * those then leave together (one message when held) */
        do {
            on_event(t, &ev, sent, &outstanding);
            tq_job_info_reset(&ev.job);
        } while (outstanding > 0 && tq_client_recv(c, 0, &ev) == 0);
    }
out:
    free(sent);
    tq_client_destroy(&c);
    return NULL;
}

static void *run_waits(void *arg)
{
    thread_t *t = arg;
    tq_client_t *c = tq_client_new(t->o->endpoint);
    for (long i = 0; i < t->wait_n; i++) {
        tq_job_info_t job;
        double t0 = now_ms();
        int rc = tq_client_wait(c, t->wait_list[i], t->o->timeout_ms, &job);
        if (rc) {
            fprintf(stderr, "tq-load: wait %s: %s\n", t->wait_list[i], tq_client_error_code(c));
            t->rejected++;
            continue;
        }
        t->lat[t->done++] = now_ms() - t0;
        if (strcmp(job.state, t->o->expect) == 0)
            t->ok++;
        else
            fprintf(stderr, "tq-load: job %s ended %s\n", job.id, job.state);
        tq_job_info_reset(&job);
    }
    tq_client_destroy(&c);
    return NULL;
}

int main(int argc, char **argv)
{
    opts_t o = {NULL, "ping", "bench", "{}",   "succeeded", NULL, NULL,
                1000, 1,      0,       120000, {0},         false};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--journal") == 0 || strcmp(a, "--no-batch") == 0) {
            if (a[2] == 'j')
                o.submit.journal = true;
            else
                o.no_batch = true;
            continue;
        }
        if (!v && strcmp(a, "--help") != 0) {
            fprintf(stderr, "tq-load: %s needs a value\n", a);
            return 2;
        }
        if (strcmp(a, "-n") == 0)
            o.n = atol(argv[++i]);
        else if (strcmp(a, "-c") == 0)
            o.c = atoi(argv[++i]);
        else if (strcmp(a, "-k") == 0)
            o.k = atoi(argv[++i]);
        else if (strcmp(a, "--op") == 0)
            o.op = argv[++i];
        else if (strcmp(a, "--tenant") == 0)
            o.tenant = argv[++i];
        else if (strcmp(a, "--payload") == 0)
            o.payload = argv[++i];
        else if (strcmp(a, "--expect") == 0)
            o.expect = argv[++i];
        else if (strcmp(a, "--broker") == 0)
            o.endpoint = argv[++i];
        else if (strcmp(a, "--submit-only") == 0)
            o.submit_only = argv[++i];
        else if (strcmp(a, "--wait-ids") == 0)
            o.wait_ids = argv[++i];
        else if (strcmp(a, "--timeout-ms") == 0)
            o.timeout_ms = atoi(argv[++i]);
        else if (strcmp(a, "--durability") == 0)
            o.submit.durability =
                strcmp(argv[++i], "async") == 0 ? TQ_DURABILITY_ASYNC : TQ_DURABILITY_SYNC;
        else {
            fprintf(stderr, "usage: tq-load [-n N] [-c C] [-k K] [--op OP] [--tenant T] "
                            "[--payload JSON] [--expect STATE] [--broker EP] "
                            "[--submit-only FILE | --wait-ids FILE] [--timeout-ms MS] "
                            "[--durability sync|async] [--journal] [--no-batch]\n");
            return 2;
        }
    }
    char **ids = NULL;
    long nids = 0;
    if (o.wait_ids) {
        FILE *f = fopen(o.wait_ids, "r");
        if (!f) {
            perror(o.wait_ids);
            return 2;
        }
        char line[128];
        while (fgets(line, sizeof line, f)) {
            line[strcspn(line, "\n")] = '\0';
            if (!*line) continue;
            ids = realloc(ids, (size_t)(nids + 1) * sizeof *ids);
            ids[nids++] = strdup(line);
        }
        fclose(f);
        o.n = nids;
    }
    if (o.k <= 0) o.k = o.c < 4 ? o.c : 4;
    if (o.c < 1 || o.n < 1 || o.k > o.c) {
        fprintf(stderr, "tq-load: need -n >= 1, -c >= 1 and -k <= -c\n");
        return 2;
    }
    FILE *idf = o.submit_only ? fopen(o.submit_only, "w") : NULL;
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    thread_t *ts = calloc((size_t)o.k, sizeof *ts);
    pthread_t *th = calloc((size_t)o.k, sizeof *th);
    double t0 = now_ms();
    long given = 0;
    for (int i = 0; i < o.k; i++) {
        ts[i].o = &o;
        ts[i].n = o.n / o.k + (i < o.n % o.k);
        ts[i].inflight = o.c / o.k + (i < o.c % o.k);
        ts[i].lat = calloc((size_t)ts[i].n + 1, sizeof(double));
        ts[i].ids = idf;
        ts[i].ids_lock = &lock;
        ts[i].wait_list = ids ? ids + given : NULL;
        ts[i].wait_n = ts[i].n;
        given += ts[i].n;
        pthread_create(&th[i], NULL, o.wait_ids ? run_waits : run_calls, &ts[i]);
    }
    long done = 0, ok = 0, rejected = 0;
    double *all = calloc((size_t)o.n + 1, sizeof *all);
    for (int i = 0; i < o.k; i++) {
        pthread_join(th[i], NULL);
        memcpy(all + done, ts[i].lat, (size_t)ts[i].done * sizeof *all);
        done += ts[i].done;
        ok += ts[i].ok;
        rejected += ts[i].rejected;
        free(ts[i].lat);
    }
    double elapsed = (now_ms() - t0) / 1000;
    qsort(all, (size_t)done, sizeof *all, cmp_double);
    double p50 = done ? all[(size_t)(done * 0.50)] : 0;
    double p99 = done ? all[(size_t)((done - 1) * 0.99)] : 0;
    double sum = 0;
    for (long i = 0; i < done; i++)
        sum += all[i];
    printf("{\"jobs\":%ld,\"completed\":%ld,\"ok\":%ld,\"rejected\":%ld,\"seconds\":%.3f,"
           "\"per_second\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"mean_ms\":%.4f,"
           "\"in_flight\":%d,\"clients\":%d}\n",
           o.n, done, ok, rejected, elapsed, elapsed > 0 ? done / elapsed : 0, p50, p99,
           done ? sum / (double)done : 0, o.c, o.k);
    if (idf) fclose(idf);
    for (long i = 0; i < nids; i++)
        free(ids[i]);
    free(ids);
    free(all);
    free(ts);
    free(th);
    return ok == o.n ? 0 : 1;
}
