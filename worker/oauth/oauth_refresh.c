/* oauth_refresh.c — the refresh engine (see oauth_refresh.h for the
 * locking design): the steps of one refresh and their outcomes. Its check,
 * lease, result and release statements are the credential store's
 * (credstore/credstore_oauth.h), batched through oauth_batch.h. Never logs
 * a token. */
#include "oauth_refresh.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "credstore/credstore.h"
#include "credstore/credstore_oauth.h"
#include "oauth/oauth_batch.h"
#include "oauth/oauth_client.h"
#include "oauth/oauth_client_cache.h"
#include "oauth/oauth_cred.h"
#include "oauth/oauth_plugin.h"
#include "plugin/plugin_host.h"
#include "mem.h"

#define WAIT_FIRST_MS 20
#define WAIT_MAX_MS 250
#define WAIT_TOTAL_MS 45000

struct tq_oauth_refresh_t {
    tq_job_t *job;
    tq_oauth_refresh_req_t req;
    char *name, *id_arg;
    tq_oauth_refresh_fn *done;
    void *arg;
    char owner[80];
    char id[37];
    char cname[256];
    char plugin_id[256];
    uint64_t timer;
    int wait_ms;
    int64_t started_ms;
    tq_oauth_call_t *call;
    tq_oauth_batch_item_t *batch; /* a queued lease or store statement */
    const tq_plugin_t *plugin;
    json_t *params; /* resolved client config + grant (secrets) */
    json_t *old;    /* the current token set (secrets) */
    json_t *meta;
    char *provider;
    const char *tier; /* of the resolved client */
    int64_t exp_ms;   /* the row's expires_at under the lease (0 = none) */
    int64_t now_ms;   /* the database's now() then */
};

int64_t tq_oauth_refresh_window_ms(tq_config_t *cfg, int64_t window_s, double lifetime_s)
{
    int64_t w = window_s * 1000;
    if (lifetime_s > 0) {
        int64_t cap =
            (int64_t)(lifetime_s * tq_config_fraction(cfg, "oauth.refresh_fraction") * 1000);
        if (cap < w) w = cap;
    }
    return w;
}

double tq_oauth_lifetime_s(const json_t *meta)
{
    double l = json_number_value(json_object_get(meta, "expires_in"));
    return l > 0 ? l : 0;
}

int64_t tq_oauth_uuid7_ms(const char *u)
{
    if (!u || strlen(u) < 13 || u[14] != '7') return 0;
    char hex[13];
    memcpy(hex, u, 8);
    memcpy(hex + 8, u + 9, 4);
    hex[12] = '\0';
    return strtoll(hex, NULL, 16);
}

static void r_free(tq_oauth_refresh_t *r)
{
    if (r->timer) tq_loop_cancel(tq_job_loop(r->job), r->timer);
    tq_oauth_call_cancel(&r->call);
    tq_oauth_batch_cancel(&r->batch);
    tq_oauth_json_wipe(r->params);
    json_decref(r->params);
    tq_oauth_json_wipe(r->old);
    json_decref(r->old);
    json_decref(r->meta);
    free(r->provider);
    free(r->name);
    free(r->id_arg);
    free(r);
}

void tq_oauth_refresh_cancel(tq_oauth_refresh_t **self_p)
{
    if (!self_p || !*self_p) return;
    r_free(*self_p);
    *self_p = NULL;
}

static void finish(tq_oauth_refresh_t *r, const char *outcome, tq_oauth_kind_t kind,
                   const tq_error_t *err, bool retryable, const char *expires_at)
{
    tq_oauth_refresh_result_t res = {.outcome = outcome, .kind = kind, .retryable = retryable};
    if (err) res.err = *err;
    res.summary = json_pack("{s:s,s:s,s:s}", "credential_id", r->id, "credential", r->cname,
                            "outcome", outcome ? outcome : "failed");
    if (expires_at) json_object_set_new(res.summary, "expires_at", json_string(expires_at));
    tq_oauth_refresh_fn *done = r->done;
    void *arg = r->arg;
    r_free(r);
    done(&res, arg);
    json_decref(res.summary);
}

static void fail(tq_oauth_refresh_t *r, const tq_error_t *err, tq_oauth_kind_t kind, bool retry)
{
    finish(r, NULL, kind, err, retry, NULL);
}

static void release(tq_oauth_refresh_t *r, PGconn *db)
{
    tq_credstore_oauth_release(db, tq_job_tenant_uuid(r->job), r->id, r->owner, NULL);
}

/* The window of this request for the row's token (r->meta loaded). */
static int64_t window_ms(tq_oauth_refresh_t *r, const char *plugin_id)
{
    int64_t w = r->req.window_s;
    if (w < 0)
        w = tq_oauth_plugin_refresh_ahead_s(
            tq_plugin_host_find(tq_job_plugins(r->job), plugin_id),
            (int)tq_config_int(tq_job_config(r->job), "oauth.refresh_ahead_s"));
    return tq_oauth_refresh_window_ms(tq_job_config(r->job), w, tq_oauth_lifetime_s(r->meta));
}

/* Why the row needs no refresh, or NULL. exp, ref: its expires_at and
 * refreshed_at (Unix ms, 0 when NULL); now: the database's now(). */
static const char *skip_reason(tq_oauth_refresh_t *r, int64_t exp, int64_t ref, int64_t now,
                               const char *plugin_id)
{
    if (r->req.not_before_ms && ref && ref >= r->req.not_before_ms) return "already_renewed";
    if (r->req.expect_expires_ms && exp != r->req.expect_expires_ms) return "already_renewed";
    if (r->req.force) return NULL;
    if (!exp) return "not_due";
    if (exp > now + window_ms(r, plugin_id)) return "not_due";
    return NULL;
}

static void step_check(tq_oauth_refresh_t *r);

static void on_wait(tq_loop_t *loop, void *arg)
{
    (void)loop;
    tq_oauth_refresh_t *r = arg;
    r->timer = 0;
    step_check(r);
}

static void wait_again(tq_oauth_refresh_t *r)
{
    if (tq_now_ms() - r->started_ms > WAIT_TOTAL_MS) {
        tq_error_t e = {0};
        tq_error_set(&e, "oauth_refresh_busy", "another refresh of credential %s is still running",
                     r->cname);
        fail(r, &e, TQ_OAUTH_TRANSIENT, true);
        return;
    }
    r->timer = tq_loop_timer(tq_job_loop(r->job), r->wait_ms, on_wait, r);
    r->wait_ms = r->wait_ms * 3 / 2 > WAIT_MAX_MS ? WAIT_MAX_MS : r->wait_ms * 3 / 2;
}

/* The STORE row of this refresh (see tq_credstore_oauth_store_row). */
static json_t *store_row(tq_oauth_refresh_t *r, tq_vault_t *vault, const char *outcome,
                         const char *error_code, const json_t *fields, const char *expires_in,
                         json_t *meta, tq_error_t *err)
{
    return tq_credstore_oauth_store_row(vault, tq_job_tenant_uuid(r->job), r->id, r->owner, outcome,
                                        error_code, tq_job_id(r->job), fields, expires_in, meta,
                                        err);
}

static int lease_lost(tq_oauth_refresh_t *r, tq_error_t *err)
{
    return tq_error_set(err, "oauth_refresh_lease_lost",
                        "the refresh lease of credential %s expired before the result was stored",
                        r->cname);
}

/* Stores an outcome without a new token (failures), now. */
static int store(tq_oauth_refresh_t *r, PGconn *db, const char *outcome, const char *error_code,
                 tq_error_t *err)
{
    tq_error_t e2 = {0};
    json_t *rows =
        json_pack("[o]", store_row(r, NULL, outcome, error_code, NULL, NULL, NULL, NULL));
    PGresult *res = tq_credstore_oauth_run(db, TQ_CREDSTORE_OAUTH_STORE, rows, err ? err : &e2);
    json_decref(rows);
    if (!res) return -1;
    int n = PQntuples(res);
    PQclear(res);
    return n == 1 ? 0 : lease_lost(r, err ? err : &e2);
}

static void on_stored(PGresult *res, int row, const tq_error_t *err, void *arg)
{
    tq_oauth_refresh_t *r = arg;
    r->batch = NULL;
    tq_error_t e = {0};
    if (row >= 0) {
        char expires[40];
        snprintf(expires, sizeof expires, "%s", tq_credstore_oauth_store_read(res, row));
        finish(r, "refreshed", TQ_OAUTH_OK, NULL, false, expires[0] ? expires : NULL);
        return;
    }
    if (err)
        e = *err;
    else
        lease_lost(r, &e);
    tq_error_t e2 = {0};
    PGconn *db = tq_job_db(r->job, &e2);
    if (db) release(r, db);
    fail(r, &e, TQ_OAUTH_TRANSIENT, tq_error_retryable(e.code));
}

static void on_token(tq_oauth_kind_t kind, json_t *tokens, const tq_error_t *terr, void *arg)
{
    tq_oauth_refresh_t *r = arg;
    r->call = NULL;
    tq_error_t err = {0};
    PGconn *db = tq_job_db(r->job, &err);
    tq_vault_t *vault = db ? tq_job_vault(r->job, &err) : NULL;
    if (!vault) { /* the lease expires by itself */
        fail(r, &err, TQ_OAUTH_TRANSIENT, true);
        return;
    }
    if (kind == TQ_OAUTH_OK) {
        json_t *m = tq_oauth_cred_metadata(
            r->plugin->id, r->provider, json_string_value(json_object_get(r->params, "grant_type")),
            tokens);
        json_object_del(m, "grant"); /* unchanged */
        json_object_set_new(m, "client", tq_oauth_client_origin(r->tier, r->params));
        /* a deep copy: m shares strings with tokens, wiped after us */
        json_t *mc = json_deep_copy(m);
        json_decref(m);
        json_t *fields = tq_oauth_cred_fields(tokens, r->old);
        json_t *row = store_row(r, vault, "refreshed", NULL, fields,
                                tq_oauth_cred_expires_in(tokens), mc, &err);
        tq_oauth_json_wipe(fields);
        json_decref(fields);
        if (!row) {
            release(r, db);
            fail(r, &err, TQ_OAUTH_TRANSIENT, false);
            return;
        }
        /* stored together with the other refreshes that finish in this loop turn */
        r->batch = tq_oauth_batch_add(r->job, TQ_CREDSTORE_OAUTH_STORE, row, on_stored, r);
        return;
    }
    const char *outcome = kind == TQ_OAUTH_TERMINAL    ? "reauth_required"
                          : kind == TQ_OAUTH_TRANSIENT ? "transient"
                                                       : "failed";
    tq_error_t serr = {0};
    if (store(r, db, outcome, terr->code, &serr)) release(r, db);
    tq_error_t e = *terr;
    if (kind == TQ_OAUTH_TERMINAL)
        tq_error_prefix(
            &e, "credential %s needs re-authorization (status reauth_required): ", r->cname);
    fail(r, &e, kind, kind == TQ_OAUTH_TRANSIENT);
}

static void on_prepared(json_t *params, const tq_error_t *perr, void *arg)
{
    tq_oauth_refresh_t *r = arg;
    r->call = NULL;
    tq_error_t err = {0};
    PGconn *db = tq_job_db(r->job, &err);
    if (!params) {
        if (db) release(r, db);
        fail(r, perr, TQ_OAUTH_TRANSIENT, true);
        return;
    }
    /* never hand the grant to an endpoint other than the one that issued it */
    if (tq_oauth_client_same_endpoint(r->meta, params, r->cname, &err)) {
        if (db && store(r, db, "client_changed", err.code, NULL)) release(r, db);
        fail(r, &err, TQ_OAUTH_FAILED, false);
        return;
    }
    r->call =
        tq_oauth_token(tq_job_loop(r->job), tq_job_config(r->job), r->plugin, params, on_token, r);
}

/* We hold the lease: build the grant and call the token endpoint. */
static void step_request(tq_oauth_refresh_t *r, PGconn *db, const char *sealed)
{
    tq_error_t err = {0};
    tq_vault_t *vault = tq_job_vault(r->job, &err);
    const char *tenant = tq_job_tenant_uuid(r->job);
    r->old = vault ? tq_credstore_open(vault, tenant, r->id, sealed, &err) : NULL;
    if (r->old)
        r->params = tq_oauth_client_cached(r->job, tenant, r->plugin, r->provider, &r->tier, &err);
    const char *grant = json_string_value(json_object_get(r->meta, "grant"));
    int cc = grant && !strcmp(grant, "client_credentials");
    if (!r->params || (cc && tq_oauth_client_cc_allowed(r->tier, r->params, &err))) {
        release(r, db);
        fail(r, &err, TQ_OAUTH_FAILED, tq_error_retryable(err.code));
        return;
    }
    if (cc) {
        json_object_set_new(r->params, "grant_type", json_string("client_credentials"));
    } else {
        const char *rt = json_string_value(json_object_get(r->old, "refresh_token"));
        if (!r->req.force &&
            tq_oauth_cred_use_until_expiry(r->old, r->meta, r->exp_ms, r->now_ms)) {
            /* nothing to renew it with, and still valid: use it until it expires */
            release(r, db);
            finish(r, "not_due", TQ_OAUTH_OK, NULL, false, NULL);
            return;
        }
        if (!rt && r->exp_ms && r->exp_ms <= r->now_ms) {
            tq_error_set(&err, "oauth_reauth_required",
                         "credential %s expired and has no refresh token: it needs "
                         "re-authorization (status reauth_required; toolq oauth authorize)",
                         r->cname);
            if (store(r, db, "reauth_required", err.code, NULL)) release(r, db);
            fail(r, &err, TQ_OAUTH_TERMINAL, false);
            return;
        }
        if (!rt) {
            tq_error_set(&err, "oauth_no_refresh_token",
                         "credential %s has no refresh token: re-authorize to renew it", r->cname);
            if (store(r, db, "failed", err.code, NULL)) release(r, db);
            fail(r, &err, TQ_OAUTH_FAILED, false);
            return;
        }
        json_object_set_new(r->params, "grant_type", json_string("refresh_token"));
        json_object_set_new(r->params, "refresh_token", json_string(rt));
    }
    r->call = tq_oauth_prepare(tq_job_loop(r->job), tq_job_config(r->job), r->plugin, r->params,
                               on_prepared, r);
}

static void on_leased(PGresult *res, int row, const tq_error_t *lerr, void *arg)
{
    tq_oauth_refresh_t *r = arg;
    r->batch = NULL;
    tq_error_t err = {0};
    if (!res) {
        fail(r, lerr, TQ_OAUTH_TRANSIENT, tq_error_retryable(lerr->code));
        return;
    }
    if (row < 0) { /* someone else took it between our read and our claim */
        wait_again(r);
        return;
    }
    PGconn *db = tq_job_db(r->job, &err);
    if (!db) { /* the lease expires by itself */
        fail(r, &err, TQ_OAUTH_TRANSIENT, true);
        return;
    }
    /* re-read under the lease: renewed meanwhile? */
    tq_credstore_oauth_lease_t l;
    tq_credstore_oauth_lease_read(res, row, &l);
    json_decref(r->meta);
    r->meta = l.metadata;
    r->exp_ms = l.expires_ms;
    r->now_ms = l.now_ms;
    const char *why = skip_reason(r, l.expires_ms, l.refreshed_ms, l.now_ms, r->plugin_id);
    if (why || !strcmp(l.status, "reauth_required")) {
        release(r, db);
        if (why) {
            finish(r, why, TQ_OAUTH_OK, NULL, false, NULL);
        } else {
            tq_error_set(&err, "oauth_reauth_required", "credential %s needs re-authorization",
                         r->cname);
            fail(r, &err, TQ_OAUTH_TERMINAL, false);
        }
        return;
    }
    step_request(r, db, l.sealed);
}

static void on_checked(PGresult *res, int row, const tq_error_t *cerr, void *arg)
{
    tq_oauth_refresh_t *r = arg;
    r->batch = NULL;
    tq_error_t err = {0};
    if (!res) {
        fail(r, cerr, TQ_OAUTH_TRANSIENT, tq_error_retryable(cerr->code));
        return;
    }
    if (row < 0) {
        tq_error_set(&err, "credential_not_found", "no oauth2 credential %s", r->cname);
        fail(r, &err, TQ_OAUTH_FAILED, false);
        return;
    }
    tq_credstore_oauth_check_t c;
    tq_credstore_oauth_check_read(res, row, &c);
    snprintf(r->id, sizeof r->id, "%s", c.id);
    snprintf(r->cname, sizeof r->cname, "%s", c.name);
    snprintf(r->plugin_id, sizeof r->plugin_id, "%s", c.plugin_id);
    json_decref(r->meta);
    r->meta = c.metadata;
    if (!strcmp(c.status, "reauth_required")) {
        tq_error_set(&err, "oauth_reauth_required",
                     "credential %s needs re-authorization (toolq oauth authorize)", r->cname);
        fail(r, &err, TQ_OAUTH_TERMINAL, false);
        return;
    }
    if (!r->plugin) {
        r->plugin = tq_plugin_host_find(tq_job_plugins(r->job), r->plugin_id);
        free(r->provider);
        const char *prov = json_string_value(json_object_get(r->meta, "provider"));
        r->provider = strdup(prov ? prov : r->plugin_id);
    }
    const char *why = skip_reason(r, c.expires_ms, c.refreshed_ms, c.now_ms, r->plugin_id);
    if (why) {
        finish(r, why, TQ_OAUTH_OK, NULL, false, NULL);
        return;
    }
    if (!r->plugin || !tq_oauth_plugin_supported(r->plugin)) {
        tq_error_set(&err, "unknown_credential_type", "no loaded OAuth plugin %s", r->plugin_id);
        fail(r, &err, TQ_OAUTH_FAILED, false);
        return;
    }
    if (c.leased) {
        wait_again(r);
        return;
    }
    /* claimed together with the other refreshes that get here in this loop turn */
    r->batch = tq_oauth_batch_add(
        r->job, TQ_CREDSTORE_OAUTH_LEASE,
        tq_credstore_oauth_lease_row(tq_job_tenant_uuid(r->job), r->id, r->owner), on_leased, r);
}

/* Reads the row (with the other refreshes of this loop turn). */
static void step_check(tq_oauth_refresh_t *r)
{
    const char *id = r->id[0] ? r->id : r->id_arg;
    r->batch = tq_oauth_batch_add(
        r->job, TQ_CREDSTORE_OAUTH_CHECK,
        tq_credstore_oauth_check_row(tq_job_tenant_uuid(r->job), id, r->name), on_checked, r);
}

static void on_start(tq_loop_t *loop, void *arg)
{
    (void)loop;
    tq_oauth_refresh_t *r = arg;
    r->timer = 0;
    step_check(r);
}

tq_oauth_refresh_t *tq_oauth_refresh_start(tq_job_t *job, const tq_oauth_refresh_req_t *req,
                                           tq_oauth_refresh_fn *done, void *arg)
{
    tq_oauth_refresh_t *r = tq_xcalloc(1, sizeof *r);
    r->job = job;
    r->req = *req;
    r->name = req->name ? strdup(req->name) : NULL;
    r->id_arg = req->id ? strdup(req->id) : NULL;
    r->req.name = r->name;
    r->req.id = r->id_arg;
    r->done = done;
    r->arg = arg;
    r->wait_ms = WAIT_FIRST_MS;
    r->started_ms = tq_now_ms();
    snprintf(r->cname, sizeof r->cname, "%s", req->name ? req->name : req->id ? req->id : "");
    snprintf(r->owner, sizeof r->owner, "%s:%d:%p", tq_job_id(job), tq_job_attempt(job), (void *)r);
    r->timer = tq_loop_timer(tq_job_loop(job), 0, on_start, r);
    return r;
}
