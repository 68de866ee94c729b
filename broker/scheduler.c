/* scheduler.c — periodic refresh sweeps (see scheduler.h).
 *
 * Time is cut into buckets of oauth.sweep_interval_s aligned on the unix
 * epoch; the thread wakes once per bucket, at its start plus a random jitter
 * (up to a quarter of the interval, at most 10 s, so brokers sharing a
 * database do not all knock at once), and submits `refresh.sweep` with the
 * bucket's idempotency key and max_attempts 1 (a missed sweep is simply
 * replaced by the next one). It only submits: choosing what is due, bounding
 * in-flight refreshes and single-flight are the op's business.
 *
 * Owns: its thread and its tq_client_t. Must never: touch broker state other
 * than through the frontend, wait on the broker for long (shutdown must stay
 * prompt), or log a payload. */
#include "scheduler.h"

#include "log.h"
#include "opcat.h"
#include "rng.h"
#include "toolq/client.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SWEEP_TENANT "*system*"
#define SUBMIT_TIMEOUT_MS 2000
#define MAX_JITTER_MS 10000

struct tq_scheduler_t {
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool stopping;
    int64_t interval_s;
    char *frontend;
};

void tq_scheduler_sweep_key(int64_t now_s, int64_t interval_s, char out[48])
{
    if (interval_s < 1) interval_s = 1;
    snprintf(out, 48, "sweep:%lld", (long long)(now_s / interval_s * interval_s));
}

static int64_t jitter_ms(int64_t interval_s)
{
    int64_t max = interval_s * 1000 / 4;
    if (max > MAX_JITTER_MS) max = MAX_JITTER_MS;
    if (max < 1) return 0;
    uint32_t r;
    tq_rng_public(&r, sizeof r);
    return (int64_t)(r % (uint32_t)max);
}

/* Sleeps until the wall-clock time at_ms; false when asked to stop. */
static bool sleep_until(tq_scheduler_t *s, int64_t at_ms)
{
    struct timespec ts = {.tv_sec = at_ms / 1000, .tv_nsec = (long)(at_ms % 1000) * 1000000};
    pthread_mutex_lock(&s->mu);
    while (!s->stopping) {
        int rc = pthread_cond_timedwait(&s->cond, &s->mu, &ts);
        if (rc == ETIMEDOUT) break;
    }
    bool go = !s->stopping;
    pthread_mutex_unlock(&s->mu);
    return go;
}

static void *run(void *arg)
{
    tq_scheduler_t *s = arg;
    tq_client_t *c = NULL;
    bool failing = false;
    for (;;) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        int64_t next_bucket_s = (now.tv_sec / s->interval_s + 1) * s->interval_s;
        if (!sleep_until(s, next_bucket_s * 1000 + jitter_ms(s->interval_s))) break;
        char key[48];
        clock_gettime(CLOCK_REALTIME, &now);
        tq_scheduler_sweep_key(now.tv_sec, s->interval_s, key);
        if (!c && !(c = tq_client_new(s->frontend))) {
            tq_warn("scheduler: cannot create a client (out of memory?)");
            continue;
        }
        tq_submit_opts_t opts = {.idempotency_key = key, .max_attempts = 1};
        char id[37] = "";
        bool dup = false;
        int rc = tq_client_submit(c, SWEEP_TENANT, TQ_OP_refresh_sweep, "{}", &opts,
                                  SUBMIT_TIMEOUT_MS, id, &dup);
        if (rc == TQ_CLIENT_OK) {
            if (failing) tq_info("scheduler: sweeps are submitted again");
            failing = false;
            tq_debug("scheduler: %s %s job %s", key, dup ? "already submitted as" : "submitted",
                     id);
        } else {
            if (!failing)
                tq_warn("scheduler: cannot submit %s: %s: %s (will retry next interval)",
                        TQ_OP_refresh_sweep, tq_client_error_code(c), tq_client_error_message(c));
            failing = true;
            if (rc == TQ_CLIENT_TIMEOUT) /* its late reply must not confuse the next call */
                tq_client_destroy(&c);
        }
    }
    tq_client_destroy(&c);
    return NULL;
}

tq_scheduler_t *tq_scheduler_new(tq_config_t *cfg, tq_error_t *err)
{
    int64_t interval = tq_config_int(cfg, "oauth.sweep_interval_s");
    if (interval == 0) {
        tq_error_clear(err);
        return NULL;
    }
    tq_scheduler_t *s = calloc(1, sizeof *s);
    if (!s || !(s->frontend = strdup(tq_config_str(cfg, "broker.frontend")))) {
        free(s);
        tq_error_set(err, "internal", "out of memory");
        return NULL;
    }
    s->interval_s = interval;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cond, NULL);
    /* Signals stay with the broker's signalfd: the thread blocks them all. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&s->thread, NULL, run, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        tq_error_set(err, "internal", "cannot start the scheduler thread: %s", strerror(rc));
        tq_scheduler_destroy(&s);
        return NULL;
    }
    s->started = true;
    tq_info("scheduler: %s every %lld s", TQ_OP_refresh_sweep, (long long)interval);
    return s;
}

void tq_scheduler_destroy(tq_scheduler_t **self_p)
{
    if (!self_p || !*self_p) return;
    tq_scheduler_t *s = *self_p;
    if (s->started) {
        pthread_mutex_lock(&s->mu);
        s->stopping = true;
        pthread_cond_signal(&s->cond);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->thread, NULL);
    }
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->mu);
    free(s->frontend);
    free(s);
    *self_p = NULL;
}
