/* worker.c — the worker core: broker connection (DEALER), READY/credit,
 * heartbeats, JOB -> op handler dispatch, RESULT back. Owns the per-process
 * services handlers use (loop, config, database connection, vault). Checks
 * every payload against its op's schema (common/opspec.h) before the handler
 * runs; never interprets a payload beyond that: that is the handlers' business. */
#include "worker.h"

#include "curvekey.h"
#include "ids.h"
#include "keystore.h"
#include "log.h"
#include "opspec.h"
#include "pg.h"
#include "plugin/plugin_host.h"
#include "vault.h"
#include "msg.h"
#include "outbox.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <czmq.h>
#include <zmq.h>

struct tq_job_t {
    tq_worker_t *worker;
    char id[TQ_JOB_ID_LEN + 1];
    char *tenant;
    char tenant_uuid[TQ_UUID_STR_LEN + 1];
    char *op;
    int attempt;
    int timeout_ms;
    bool batch; /* its JOB said the broker reads batches: the RESULT goes through the outbox */
    json_t *payload;
    void (*drop_fn)(tq_job_t *job, void *arg);
    void *drop_arg;
    struct tq_job_t *prev, *next; /* the worker's live jobs */
};

#define MAX_LISTENS 8

typedef struct {
    char *channel;
    void (*fn)(const char *payload);
} listen_t;

struct tq_worker_t {
    tq_config_t *cfg;
    tq_loop_t *loop;
    void *ctx;
    void *dealer;
    tq_outbox_t *outbox; /* RESULTs of this loop turn, sent at its end (common/outbox.h) */
    int sigfd;
    zhashx_t *keys_loaded; /* tenant uuids whose keys are current in the vault */
    int credit;
    uint64_t ready_timer;                /* a READY waiting for a connected broker */
    char secret[TQ_WIRE_SECRET_MAX + 1]; /* registration secret from the broker */
    int inflight;
    int heartbeat_ms;
    int liveness;
    int64_t last_heard_ms;
    size_t max_frame;
    PGconn *db;
    tq_vault_t *vault;
    tq_job_t *live; /* jobs started and not yet finished */
    tq_plugin_host_t *plugins;
    const tq_op_t *const *ops; /* the executable's op table (borrowed) */
    listen_t listens[MAX_LISTENS];
    int nlistens;
    int db_fd; /* watched for notifications; -1 when not connected */
    int exit_code;
};

/* --- job accessors (op.h) -------------------------------------------------- */

const char *tq_job_id(const tq_job_t *job)
{
    return job->id;
}
const char *tq_job_tenant(const tq_job_t *job)
{
    return job->tenant;
}
const char *tq_job_tenant_uuid(const tq_job_t *job)
{
    return job->tenant_uuid;
}
const char *tq_job_op(const tq_job_t *job)
{
    return job->op;
}
int tq_job_attempt(const tq_job_t *job)
{
    return job->attempt;
}
int tq_job_timeout_ms(const tq_job_t *job)
{
    return job->timeout_ms;
}
json_t *tq_job_payload(const tq_job_t *job)
{
    return job->payload;
}

json_t *tq_job_arg(const tq_job_t *job, const char *key)
{
    json_t *v = json_object_get(job->payload, key);
    return json_is_null(v) ? NULL : v;
}

const char *tq_job_arg_str(const tq_job_t *job, const char *key)
{
    const char *s = json_string_value(tq_job_arg(job, key));
    return s && *s ? s : NULL;
}

int tq_job_arg_text(const tq_job_t *job, const char *key, size_t max, bool required,
                    const char **out, tq_error_t *err)
{
    const json_t *v = tq_job_arg(job, key);
    *out = NULL;
    if (v && !json_is_string(v)) /* only a field the op's schema leaves untyped */
        return tq_error_set(err, "invalid_argument", "%s must be a string", key);
    if (v && strlen(json_string_value(v)) != json_string_length(v))
        return tq_error_set(err, "invalid_argument", "%s holds a NUL character", key);
    if (v && json_string_length(v) > max)
        return tq_error_set(err, "invalid_argument", "%s is longer than %zu bytes", key, max);
    *out = json_string_value(v);
    if (required && (!*out || !**out))
        return tq_error_set(err, "invalid_argument", "%s is required", key);
    return 0;
}

bool tq_job_arg_bool(const tq_job_t *job, const char *key, bool def)
{
    const json_t *v = tq_job_arg(job, key);
    return json_is_boolean(v) ? json_is_true(v) : def;
}

json_int_t tq_job_arg_int(const tq_job_t *job, const char *key, json_int_t def)
{
    const json_t *v = tq_job_arg(job, key);
    return json_is_integer(v) ? json_integer_value(v) : def;
}
tq_loop_t *tq_job_loop(const tq_job_t *job)
{
    return job->worker->loop;
}
tq_config_t *tq_job_config(const tq_job_t *job)
{
    return job->worker->cfg;
}
tq_plugin_host_t *tq_job_plugins(const tq_job_t *job)
{
    return job->worker->plugins;
}

static void listen_sql(tq_worker_t *w, const char *channel)
{
    char *ident = PQescapeIdentifier(w->db, channel, strlen(channel));
    if (!ident) return;
    char sql[300];
    snprintf(sql, sizeof sql, "LISTEN %s", ident);
    PQfreemem(ident);
    PQclear(PQexec(w->db, sql));
}

/* Hands queued notifications to their subscribers. */
static void deliver_notifications(tq_worker_t *w)
{
    PGnotify *n;
    while (w->db && (n = PQnotifies(w->db)) != NULL) {
        for (int i = 0; i < w->nlistens; i++)
            if (strcmp(w->listens[i].channel, n->relname) == 0) w->listens[i].fn(n->extra);
        PQfreemem(n);
    }
}

static void on_db_readable(tq_loop_t *loop, int revents, void *arg)
{
    (void)loop;
    (void)revents;
    tq_worker_t *w = arg;
    if (w->db && PQconsumeInput(w->db))
        deliver_notifications(w);
    else if (w->db_fd >= 0) { /* connection lost: reconnect at next use */
        tq_loop_remove_fd(w->loop, w->db_fd);
        w->db_fd = -1;
    }
}

/* (Re)connects: LISTENs again and tells subscribers they may have missed
 * notifications. */
static void db_connected(tq_worker_t *w)
{
    for (int i = 0; i < w->nlistens; i++) {
        listen_sql(w, w->listens[i].channel);
        w->listens[i].fn(NULL);
    }
    if (w->db_fd >= 0) tq_loop_remove_fd(w->loop, w->db_fd);
    w->db_fd = PQsocket(w->db);
    tq_loop_add_fd(w->loop, w->db_fd, ZMQ_POLLIN, on_db_readable, w);
}

PGconn *tq_job_db(tq_job_t *job, tq_error_t *err)
{
    tq_worker_t *w = job->worker;
    if (w->db && PQstatus(w->db) != CONNECTION_OK) {
        PQreset(w->db);
        if (PQstatus(w->db) != CONNECTION_OK) {
            PQfinish(w->db);
            w->db = NULL;
        } else {
            db_connected(w);
        }
    }
    if (!w->db) {
        w->db = tq_pg_connect(tq_config_str(w->cfg, "database.url"), err);
        if (w->db) db_connected(w);
    }
    if (w->db && PQconsumeInput(w->db)) deliver_notifications(w);
    return w->db;
}

void tq_job_listen(tq_job_t *job, const char *channel, void (*fn)(const char *payload))
{
    tq_worker_t *w = job->worker;
    for (int i = 0; i < w->nlistens; i++)
        if (strcmp(w->listens[i].channel, channel) == 0) return;
    if (w->nlistens == MAX_LISTENS) abort(); /* a programming error: raise MAX_LISTENS */
    w->listens[w->nlistens++] = (listen_t){strdup(channel), fn};
    if (w->db && PQstatus(w->db) == CONNECTION_OK) listen_sql(w, channel);
}

/* A tenant key version added by another process (admin.rotate_tenant_key)
 * is announced with NOTIFY on TQ_KEYS_CHANNEL with the tenant's uuid: that
 * tenant leaves the set of loaded tenants (a lost connection empties it, as
 * changes may have been missed) and reloads its keys (one SELECT) before its
 * next use. The set is the worker's; the notification has no worker handle. */
static zhashx_t *s_keys_loaded;

static void on_keys_changed(const char *payload)
{
    if (!s_keys_loaded) return;
    if (payload)
        zhashx_delete(s_keys_loaded, payload);
    else
        zhashx_purge(s_keys_loaded);
}

tq_vault_t *tq_job_vault(tq_job_t *job, tq_error_t *err)
{
    tq_worker_t *w = job->worker;
    tq_job_listen(job, TQ_KEYS_CHANNEL, on_keys_changed);
    int version;
    if (zhashx_lookup(w->keys_loaded, job->tenant_uuid) &&
        tq_vault_has_tenant(w->vault, job->tenant_uuid, &version))
        return w->vault;
    PGconn *db = tq_job_db(job, err);
    if (!db || tq_keystore_ensure_tenant(db, w->vault, job->tenant_uuid, err)) return NULL;
    zhashx_update(w->keys_loaded, job->tenant_uuid, (void *)1);
    return w->vault;
}

void tq_job_on_drop(tq_job_t *job, void (*fn)(tq_job_t *job, void *arg), void *arg)
{
    job->drop_fn = fn;
    job->drop_arg = arg;
}

static void job_free(tq_job_t *job)
{
    tq_worker_t *w = job->worker;
    if (job->prev)
        job->prev->next = job->next;
    else if (w->live == job)
        w->live = job->next;
    if (job->next) job->next->prev = job->prev;
    json_decref(job->payload);
    free(job->tenant);
    free(job->op);
    free(job);
}

static void send_result(tq_job_t *job, bool ok, const char *result, const char *code,
                        const char *message, bool retryable)
{
    tq_worker_t *w = job->worker;
    tq_msg_t m;
    tq_msg_init(&m, TQ_MSG_RESULT);
    memcpy(m.id, job->id, sizeof m.id);
    m.attempt = job->attempt;
    m.ok = ok;
    m.retryable = retryable;
    m.result = (char *)result;
    m.err_code = (char *)code;
    m.err_msg = (char *)message;
    if ((!job->batch || !w->outbox || tq_outbox_add(w->outbox, NULL, 0, &m) != 0) &&
        tq_msg_send(w->dealer, NULL, 0, &m, 0) < 0)
        tq_warn("cannot send RESULT for job %s: %s", job->id, zmq_strerror(errno));
    w->inflight--;
    job_free(job);
}

void tq_job_done(tq_job_t *job, json_t *result)
{
    char *text = json_dumps(result ? result : json_null(), JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(result);
    if (!text) {
        send_result(job, false, NULL, "internal", "result could not be encoded", false);
        return;
    }
    send_result(job, true, text, NULL, NULL, false);
    free(text);
}

void tq_job_fail(tq_job_t *job, const char *code, const char *message, bool retryable)
{
    send_result(job, false, NULL, code, message, retryable);
}

void tq_job_fail_err(tq_job_t *job, const tq_error_t *err, bool retryable)
{
    tq_job_fail(job, err->code[0] ? err->code : "internal", err->message, retryable);
}

/* --- broker connection ------------------------------------------------------ */

static void send_simple(tq_worker_t *w, tq_msg_type_t type);

/* With several endpoints (ZMQ_IMMEDIATE) a READY sent before any broker
 * completed its handshake is not queued: try again shortly. */
static void on_ready_retry(tq_loop_t *loop, void *arg)
{
    (void)loop;
    tq_worker_t *w = arg;
    w->ready_timer = 0;
    if (w->dealer) send_simple(w, TQ_MSG_READY);
}

static void send_simple(tq_worker_t *w, tq_msg_type_t type)
{
    tq_msg_t m;
    tq_msg_init(&m, type);
    if (type == TQ_MSG_READY) {
        m.credit = w->credit;
        m.pid = getpid();
        m.secret = w->secret[0] ? w->secret : NULL;
        m.batch = true; /* JOBs may come in batches */
    }
    if (tq_msg_send(w->dealer, NULL, 0, &m, ZMQ_DONTWAIT) < 0 && errno == EAGAIN &&
        type == TQ_MSG_READY && !w->ready_timer)
        w->ready_timer = tq_loop_timer(w->loop, 50, on_ready_retry, w);
}

static void on_dealer(tq_loop_t *loop, int revents, void *arg);

/* Connects to every endpoint of broker.backend (comma-separated: an active
 * broker and its standbys); with more than one, ZMQ_IMMEDIATE sends only to a
 * broker that completed its handshake, so whichever answers gets READY. tcp://
 * endpoints are CURVE (curve.server_key_file, curve.key_file). */
static int connect_broker(tq_worker_t *w)
{
    const char *endpoints = tq_config_str(w->cfg, "broker.backend");
    w->dealer = zmq_socket(w->ctx, ZMQ_DEALER);
    int zero = 0, hwm = 0, one = 1;
    zmq_setsockopt(w->dealer, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(w->dealer, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(w->dealer, ZMQ_RCVHWM, &hwm, sizeof hwm);
    if (strchr(endpoints, ',')) zmq_setsockopt(w->dealer, ZMQ_IMMEDIATE, &one, sizeof one);
    char *list = strdup(endpoints), *save = NULL;
    int rc = list ? 0 : -1;
    for (char *e = list ? strtok_r(list, ",", &save) : NULL; e && !rc;
         e = strtok_r(NULL, ",", &save)) {
        while (*e == ' ')
            e++;
        char why[400];
        if (tq_curve_endpoint(e) &&
            tq_curve_client(w->dealer, tq_config_str(w->cfg, "curve.server_key_file"),
                            tq_config_str(w->cfg, "curve.key_file"), why, sizeof why)) {
            tq_err("broker backend %s: %s", e, why);
            rc = -1;
        } else if (zmq_connect(w->dealer, e) != 0) {
            tq_err("cannot connect to broker backend %s: %s", e, zmq_strerror(errno));
            rc = -1;
        }
    }
    free(list);
    if (rc) return -1;
    tq_loop_add_socket(w->loop, w->dealer, ZMQ_POLLIN, on_dealer, w);
    w->outbox = tq_outbox_new(w->dealer, 0);
    w->last_heard_ms = tq_now_ms();
    send_simple(w, TQ_MSG_READY);
    return 0;
}

static void reconnect(tq_worker_t *w)
{
    tq_warn("broker silent for %d ms: reconnecting", w->heartbeat_ms * w->liveness);
    tq_loop_remove_socket(w->loop, w->dealer);
    tq_outbox_destroy(&w->outbox);
    zmq_close(w->dealer);
    w->dealer = NULL;
    connect_broker(w);
}

static const tq_op_t *find_op(const tq_worker_t *w, const char *name)
{
    for (size_t i = 0; w->ops[i]; i++)
        if (strcmp(w->ops[i]->name, name) == 0) return w->ops[i];
    return NULL;
}

static void start_job(tq_worker_t *w, tq_msg_t *m)
{
    tq_job_t *job = calloc(1, sizeof *job);
    if (!job) return;
    job->worker = w;
    job->next = w->live;
    if (w->live) w->live->prev = job;
    w->live = job;
    memcpy(job->id, m->id, sizeof job->id);
    job->tenant = m->tenant ? m->tenant : strdup("");
    job->op = m->op ? m->op : strdup("");
    m->tenant = m->op = NULL;
    job->attempt = (int)m->attempt;
    job->timeout_ms = (int)m->timeout_ms;
    job->batch = m->batch;
    w->inflight++;
    if (tq_tenant_uuid(job->tenant, job->tenant_uuid) != 0) {
        tq_job_fail(job, "invalid_argument", "the tenant must be 1-255 characters", false);
        return;
    }
    json_error_t jerr;
    job->payload =
        m->payload_len ? json_loadb(m->payload, m->payload_len, 0, &jerr) : json_object();
    if (!job->payload || !json_is_object(job->payload)) {
        tq_job_fail(job, "invalid_payload", "the payload must be a JSON object", false);
        return;
    }
    const tq_op_t *op = find_op(w, job->op);
    if (!op) {
        char msg[300];
        snprintf(msg, sizeof msg, "unknown op '%.200s'", job->op);
        tq_job_fail(job, "unknown_op", msg, false);
        return;
    }
    tq_error_t err = {0};
    if (tq_opspec_check_payload(job->op, job->payload, NULL, &err)) {
        tq_job_fail_err(job, &err, false);
        return;
    }
    op->start(job);
}

static void on_dealer(tq_loop_t *loop, int revents, void *arg)
{
    (void)loop;
    (void)revents;
    tq_worker_t *w = arg;
    /* At most ~50 ms of messages per turn (decoding large JOB payloads adds
     * up): the heartbeat timer and finished imports get their turn. */
    int64_t until = tq_now_ms() + 50;
    for (int budget = 0; budget < 1024 && w->dealer && tq_now_ms() < until; budget++) {
        zmq_msg_t frame;
        zmq_msg_init(&frame);
        if (zmq_msg_recv(&frame, w->dealer, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&frame);
            return;
        }
        w->last_heard_ms = tq_now_ms();
        tq_msg_t m;
        tq_error_t err = {0};
        /* each frame is one message (a batch's frames too) */
        int rc = tq_msg_decode(zmq_msg_data(&frame), zmq_msg_size(&frame), w->max_frame, &m, &err);
        zmq_msg_close(&frame);
        if (rc) {
            tq_warn("dropping a bad frame from the broker: %s: %s", err.code, err.message);
            continue;
        }
        switch (m.type) {
        case TQ_MSG_JOB:
            start_job(w, &m);
            break;
        case TQ_MSG_HEARTBEAT:
            break;
        case TQ_MSG_DISCONNECT:
            if (m.err_code && strcmp(m.err_code, "shutdown") == 0) {
                tq_info("broker is shutting down: exiting");
                tq_loop_stop(w->loop);
            } else {
                send_simple(w, TQ_MSG_READY); /* the broker forgot us: register again */
            }
            break;
        default:
            tq_warn("unexpected %s from the broker", tq_msg_type_name(m.type));
        }
        tq_msg_reset(&m);
    }
}

static void on_heartbeat(tq_loop_t *loop, void *arg)
{
    tq_worker_t *w = arg;
    if (tq_now_ms() - w->last_heard_ms > (int64_t)w->heartbeat_ms * w->liveness)
        reconnect(w);
    else
        send_simple(w, TQ_MSG_HEARTBEAT);
    tq_loop_timer(loop, w->heartbeat_ms, on_heartbeat, w);
}

static void on_signal(tq_loop_t *loop, int revents, void *arg)
{
    (void)revents;
    tq_worker_t *w = arg;
    struct signalfd_siginfo si;
    if (read(w->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        tq_info("signal %d: stopping", (int)si.ssi_signo);
        tq_loop_stop(loop);
    }
}

/* --- lifecycle ----------------------------------------------------------------- */

tq_worker_t *tq_worker_new(tq_config_t *cfg, const tq_op_t *const *ops, tq_error_t *err)
{
    if (tq_opspec_check_all(err)) return NULL;
    unsigned char key[TQ_MASTER_KEY_LEN];
    if (tq_master_key_load(tq_config_str(cfg, "master_key_file"), key, err)) return NULL;
    tq_worker_t *w = calloc(1, sizeof *w);
    if (!w) {
        tq_error_set(err, "internal", "out of memory");
        return NULL;
    }
    w->cfg = cfg;
    w->ops = ops;
    w->vault = tq_vault_new(key);
    tq_secure_wipe(key, sizeof key);
    w->loop = tq_loop_new();
    w->ctx = zmq_ctx_new();
    w->credit = (int)tq_config_int(cfg, "worker.concurrency");
    w->keys_loaded = s_keys_loaded = zhashx_new();
    const char *secret = getenv(TQ_WORKER_SECRET_ENV);
    if (secret) {
        snprintf(w->secret, sizeof w->secret, "%s", secret);
        tq_secure_wipe((char *)secret, strlen(secret));
        unsetenv(TQ_WORKER_SECRET_ENV); /* not inherited by anything we start */
    }
    w->heartbeat_ms = (int)tq_config_int(cfg, "broker.heartbeat_ms");
    w->liveness = (int)tq_config_int(cfg, "broker.heartbeat_liveness");
    w->max_frame = (size_t)tq_config_int(cfg, "broker.max_frame_bytes");
    w->sigfd = -1;
    w->db_fd = -1;
    const char *ppath = tq_config_str(cfg, "plugins.path");
    w->plugins = tq_plugin_host_new(ppath && *ppath ? ppath : TOOLQ_INSTALL_PLUGIN_DIR);
    if (!w->vault || !w->loop || !w->ctx) {
        tq_error_set(err, "internal", "cannot create the worker's loop, vault or context");
        tq_worker_destroy(&w);
    }
    return w;
}

void tq_worker_destroy(tq_worker_t **self_p)
{
    if (!self_p || !*self_p) return;
    tq_worker_t *w = *self_p;
    while (w->live) {
        tq_job_t *job = w->live;
        if (job->drop_fn) job->drop_fn(job, job->drop_arg);
        job_free(job);
    }
    tq_outbox_destroy(&w->outbox);
    if (w->dealer) zmq_close(w->dealer);
    if (w->ctx) zmq_ctx_term(w->ctx);
    if (w->sigfd >= 0) close(w->sigfd);
    if (w->db) PQfinish(w->db);
    for (int i = 0; i < w->nlistens; i++)
        free(w->listens[i].channel);
    tq_vault_destroy(&w->vault);
    if (s_keys_loaded == w->keys_loaded) s_keys_loaded = NULL;
    zhashx_destroy(&w->keys_loaded);
    tq_plugin_host_destroy(&w->plugins);
    tq_loop_destroy(&w->loop);
    free(w);
    *self_p = NULL;
}

/* The RESULTs of this turn go out as one message. */
static void on_turn(tq_loop_t *loop, void *arg)
{
    (void)loop;
    tq_worker_t *w = arg;
    if (w->outbox) tq_outbox_flush(w->outbox);
}

int tq_worker_run(tq_worker_t *w)
{
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    struct sigaction sa;
    if (sigaction(SIGINT, NULL, &sa) == 0 && sa.sa_handler != SIG_IGN) sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    w->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (w->sigfd >= 0) tq_loop_add_fd(w->loop, w->sigfd, ZMQ_POLLIN, on_signal, w);
    if (connect_broker(w)) return 1;
    tq_loop_on_turn(w->loop, on_turn, w);
    tq_loop_timer(w->loop, w->heartbeat_ms, on_heartbeat, w);
    tq_info("worker ready (credit %d)", w->credit);
    if (tq_loop_run(w->loop)) return 1;
    if (w->inflight)
        tq_info("exiting with %d jobs unfinished (the broker re-queues them)", w->inflight);
    return w->exit_code;
}
