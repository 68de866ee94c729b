/* op_refresh.c — the `refresh` op ({credential | credential_id, force?,
 * expires_at_ms?} -> {credential_id, credential, outcome, expires_at}) over
 * the single-flight engine (oauth_refresh.h), and `refresh.sweep` ({} ->
 * counts): finds oauth2 credentials due by the refresh rule (expiring within
 * min(oauth.refresh_ahead_s or the plugin's override, lifetime ×
 * oauth.refresh_fraction), oauth_refresh.h), in every tenant, and submits
 * one `refresh` job per credential to the broker frontend through libtoolq,
 * with idempotency key "refresh:<credential id>:<expires_at ms>" (":expired"
 * appended once it has expired, so an expired token without a refresh
 * token is marked reauth_required by a later sweep) so overlapping sweeps and
 * on-demand refreshes never refresh twice; at most
 * oauth.sweep_max_in_flight jobs in flight; the client is polled from loop
 * timers, never blocking the worker. Never reads or returns a token. */
#include "op.h"

#include <stdlib.h>
#include <string.h>

#include "credstore/credstore_oauth.h"
#include "ids.h"
#include "log.h"
#include "oauth/oauth_plugin.h"
#include "oauth/oauth_refresh.h"
#include "plugin/plugin_host.h"
#include "toolq/client.h"
#include "mem.h"

#define TQ_SWEEP_MAX_ROWS 200000
#define TQ_SWEEP_POLL_MS 2

/* --- refresh ------------------------------------------------------------------------- */

static void refresh_drop(tq_job_t *job, void *arg)
{
    (void)job;
    tq_oauth_refresh_t *r = arg;
    tq_oauth_refresh_cancel(&r);
}

static void refresh_done(const tq_oauth_refresh_result_t *res, void *arg)
{
    tq_job_t *job = arg;
    tq_job_on_drop(job, NULL, NULL);
    if (res->outcome)
        tq_job_done(job, json_incref(res->summary));
    else
        tq_job_fail_err(job, &res->err, res->retryable);
}

static void refresh_start(tq_job_t *job)
{
    tq_oauth_refresh_req_t req = {.window_s = -1};
    req.name = tq_job_arg_str(job, "credential");
    req.id = tq_job_arg_str(job, "credential_id");
    req.force = tq_job_arg_bool(job, "force", false);
    req.expect_expires_ms = tq_job_arg_int(job, "expires_at_ms", req.expect_expires_ms);
    if ((!req.name && !req.id) || (req.id && !tq_uuid_valid(req.id))) {
        tq_job_fail(job, "invalid_argument",
                    "refresh needs {\"credential\": NAME} or "
                    "{\"credential_id\": UUID}",
                    false);
        return;
    }
    /* renewed after this job was submitted = already renewed (job ids are UUIDv7) */
    req.not_before_ms = tq_oauth_uuid7_ms(tq_job_id(job));
    tq_oauth_refresh_t *r = tq_oauth_refresh_start(job, &req, refresh_done, job);
    tq_job_on_drop(job, refresh_drop, r);
}

/* --- refresh.sweep -------------------------------------------------------------------- */

typedef struct {
    tq_job_t *job;
    tq_client_t *client;
    tq_credstore_oauth_due_t *due; /* the credentials due, total of them */
    size_t ndue;                   /* as read (due's length for its free) */
    int next, total, in_flight, max_in_flight;
    int submitted, duplicates, refreshed, skipped, failed, rejected;
    uint64_t timer;
    int64_t deadline_ms;
} sweep_t;

static void sweep_free(sweep_t *s)
{
    if (s->timer) tq_loop_cancel(tq_job_loop(s->job), s->timer);
    tq_client_destroy(&s->client);
    tq_credstore_oauth_due_free(&s->due, s->ndue);
    free(s);
}

static void sweep_drop(tq_job_t *job, void *arg)
{
    (void)job;
    sweep_free(arg);
}

static void sweep_finish(sweep_t *s, bool timed_out)
{
    tq_job_t *job = s->job;
    tq_job_on_drop(job, NULL, NULL);
    json_t *res = json_pack("{s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:b}", "due", s->total, "submitted",
                            s->submitted, "duplicates", s->duplicates, "refreshed", s->refreshed,
                            "skipped", s->skipped, "failed", s->failed, "rejected", s->rejected,
                            "pending", s->in_flight, "timed_out", timed_out);
    sweep_free(s);
    tq_job_done(job, res);
}

static void count_result(sweep_t *s, const tq_job_info_t *j)
{
    if (j->state && !strcmp(j->state, "succeeded")) {
        json_t *r = j->result ? json_loads(j->result, 0, NULL) : NULL;
        const char *o = json_string_value(json_object_get(r, "outcome"));
        if (o && !strcmp(o, "refreshed"))
            s->refreshed++;
        else
            s->skipped++;
        json_decref(r);
    } else {
        s->failed++;
    }
}

static void sweep_pump(tq_loop_t *loop, void *arg)
{
    (void)loop;
    sweep_t *s = arg;
    s->timer = 0;
    /* drain what arrived */
    tq_client_event_t ev;
    while (s->in_flight > 0 && tq_client_recv(s->client, 0, &ev) == 0) {
        if (ev.type == TQ_EVENT_ACCEPTED) {
            if (ev.dup) s->duplicates++;
        } else if (ev.type == TQ_EVENT_RESULT) {
            s->in_flight--;
            count_result(s, &ev.job);
        } else {
            s->in_flight--;
            s->rejected++;
        }
        tq_job_info_reset(&ev.job);
    }
    /* top up */
    while (s->next < s->total && s->in_flight < s->max_in_flight) {
        const tq_credstore_oauth_due_t *d = &s->due[s->next++];
        char key[128], payload[160];
        snprintf(key, sizeof key, "refresh:%s:%lld%s", d->id, d->expires_ms,
                 d->remaining_ms <= 0 ? ":expired" : "");
        snprintf(payload, sizeof payload, "{\"credential_id\":\"%s\",\"expires_at_ms\":%lld}",
                 d->id, d->expires_ms);
        tq_submit_opts_t o = {.idempotency_key = key};
        if (tq_client_send_submit(s->client, d->tenant, "refresh", payload, &o, true) == 0) {
            s->rejected++;
            continue;
        }
        s->submitted++;
        s->in_flight++;
    }
    if (s->next >= s->total && s->in_flight == 0) {
        sweep_finish(s, false);
        return;
    }
    if (s->deadline_ms && tq_now_ms() > s->deadline_ms) {
        sweep_finish(s, true);
        return;
    }
    s->timer = tq_loop_timer(tq_job_loop(s->job), TQ_SWEEP_POLL_MS, sweep_pump, s);
}

/* The largest refresh-ahead window of any loaded plugin (or the config). */
static int max_window(tq_job_t *job, int def)
{
    int w = def;
    struct tq_plugin_host_t *h = tq_job_plugins(job);
    for (size_t i = 0; i < tq_plugin_host_count(h); i++) {
        int p = tq_oauth_plugin_refresh_ahead_s(tq_plugin_host_at(h, i), def);
        if (p > w) w = p;
    }
    return w;
}

static int plugin_window(tq_job_t *job, const char *plugin_id, int def)
{
    return tq_oauth_plugin_refresh_ahead_s(tq_plugin_host_find(tq_job_plugins(job), plugin_id),
                                           def);
}

static void sweep_start(tq_job_t *job)
{
    tq_config_t *cfg = tq_job_config(job);
    tq_error_t err = {0};
    PGconn *db = tq_job_db(job, &err);
    if (!db) {
        tq_job_fail_err(job, &err, true);
        return;
    }
    int def = (int)tq_config_int(cfg, "oauth.refresh_ahead_s");
    size_t n = 0;
    tq_credstore_oauth_due_t *due =
        tq_credstore_oauth_due(db, max_window(job, def), TQ_SWEEP_MAX_ROWS, &n, &err);
    if (!due) {
        tq_job_fail_err(job, &err, tq_error_retryable(err.code));
        return;
    }
    sweep_t *s = tq_xcalloc(1, sizeof *s);
    s->job = job;
    s->due = due;
    s->ndue = n;
    /* per-plugin windows: keep only what is due for its plugin, in order
     * (the ones dropped move to the tail, still freed with the array) */
    for (size_t i = 0; i < n; i++) {
        if (due[i].remaining_ms <
            tq_oauth_refresh_window_ms(cfg, plugin_window(job, due[i].plugin_id, def),
                                       due[i].lifetime_s)) {
            tq_credstore_oauth_due_t kept = due[i];
            due[i] = due[s->total];
            due[s->total++] = kept;
        }
    }
    s->max_in_flight = (int)tq_config_int(cfg, "oauth.sweep_max_in_flight");
    if (s->max_in_flight < 1) s->max_in_flight = 1;
    int budget = tq_job_timeout_ms(job);
    if (budget > 0) s->deadline_ms = tq_now_ms() + (budget > 2000 ? budget - 1000 : budget);
    if (s->total == 0) {
        sweep_finish(s, false);
        return;
    }
    s->client = tq_client_new(tq_config_str(cfg, "broker.frontend"));
    if (!s->client) {
        sweep_free(s);
        tq_job_fail(job, "sweep_failed", "cannot create a client for the broker frontend", true);
        return;
    }
    tq_job_on_drop(job, sweep_drop, s);
    s->timer = tq_loop_timer(tq_job_loop(job), 0, sweep_pump, s);
}

const tq_op_t tq_op_refresh = {"refresh", refresh_start};
const tq_op_t tq_op_refresh_sweep = {"refresh.sweep", sweep_start};
