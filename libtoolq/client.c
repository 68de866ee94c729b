/* client.c — libtoolq (include/toolq/client.h): a DEALER connection to the
 * broker's frontend speaking the wire protocol of common/msg.h. Owns its
 * socket and context, and the requests held for a batch (tq_client_hold,
 * common/outbox.c) until they are sent; never retries a submit on its own (a
 * caller that wants safe retries passes an idempotency key). */
#include "toolq/client.h"

#include "curvekey.h"
#include "loop.h"
#include "msg.h"
#include "outbox.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#define MAX_REPLY (64u << 20)

struct tq_client_t {
    void *ctx;
    void *sock;
    char *endpoint;
    uint64_t next_rid;
    char *tenant;                        /* scope of STATUS / WAIT / CANCEL, or NULL */
    char *ob_role, *ob_tenant, *ob_name; /* tq_client_set_on_behalf */
    bool connect_failed;
    bool owner_check;         /* the default endpoint: folder and socket must be the caller's */
    bool curve_failed;        /* err_code/err_msg say why (curve_keys) */
    bool multi;               /* several endpoints: the ipc file check is skipped */
    int send_wait_ms;         /* submit/call: how long the next send may wait for a broker */
    int64_t checked_until_ms; /* check_reachable passed; not repeated before then */
    tq_outbox_t *held;        /* tq_client_hold: requests queued until a flush, or NULL */
    int held_wait_ms;         /* the longest send_wait_ms of the held requests */
    char err_code[64];
    char err_msg[512];
};

static void set_err(tq_client_t *c, const char *code, const char *fmt, const char *arg)
{
    snprintf(c->err_code, sizeof c->err_code, "%s", code);
    snprintf(c->err_msg, sizeof c->err_msg, fmt, arg ? arg : "");
}

/* ipc://<TOOLQ_HOME as an absolute path>/broker.sock: never relative to
 * whatever folder the caller happens to be in. */
static char *default_endpoint(void)
{
    const char *home = getenv("TOOLQ_HOME");
    if (!home || !*home) home = "./.toolq";
    char abs[PATH_MAX], cwd[PATH_MAX];
    const char *dir = abs, *rel = "";
    if (!realpath(home, abs)) { /* not there (yet): absolute all the same */
        dir = home[0] == '/' || !getcwd(cwd, sizeof cwd) ? "" : cwd;
        rel = home;
    }
    size_t n = strlen(dir) + strlen(rel) + 32;
    char *ep = malloc(n);
    if (ep) snprintf(ep, n, "ipc://%s%s%s/broker.sock", dir, *dir && *rel ? "/" : "", rel);
    return ep;
}

/* The default endpoint is used only when its folder and socket belong to
 * the caller (or root) and the folder is writable by nobody else: a socket
 * planted by another user would receive the caller's secrets. */
static int owner_ok(tq_client_t *c)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", c->endpoint + 6);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    uid_t me = geteuid();
    struct stat st;
    const char *what = NULL, *path = NULL;
    bool have_dir = stat(dir, &st) == 0;
    if (have_dir && st.st_uid != me && st.st_uid != 0)
        what = "belongs to another user", path = dir;
    else if (have_dir && (st.st_mode & (S_IWGRP | S_IWOTH)))
        what = "is writable by other users", path = dir;
    else if (lstat(c->endpoint + 6, &st) == 0 && st.st_uid != me && st.st_uid != 0)
        what = "belongs to another user", path = c->endpoint + 6;
    if (!what) return 0;
    snprintf(c->err_code, sizeof c->err_code, "endpoint_unsafe");
    snprintf(c->err_msg, sizeof c->err_msg,
             "refusing the default endpoint: %.300s %s (uid %u); start your own broker or set "
             "TOOLQ_HOME / TOOLQ_BROKER",
             path, what, (unsigned)st.st_uid);
    return -1;
}

/* Connects to every endpoint of a comma-separated list (an active broker and
 * its standbys). With more than one, ZMQ_IMMEDIATE sends only to a broker
 * that completed its handshake: whichever answers; libzmq reconnects on its
 * own. tcp:// endpoints are CURVE clients with the keys named by
 * TOOLQ_CURVE_SERVER_KEY and TOOLQ_CURVE_KEY (files `toolq keygen` wrote). */
static int connect_all(tq_client_t *c)
{
    if (strchr(c->endpoint, ',')) {
        int one = 1;
        zmq_setsockopt(c->sock, ZMQ_IMMEDIATE, &one, sizeof one);
        c->multi = true;
    }
    char *list = strdup(c->endpoint), *save = NULL;
    if (!list) return -1;
    int rc = 0;
    for (char *e = strtok_r(list, ",", &save); e && !rc; e = strtok_r(NULL, ",", &save)) {
        while (*e == ' ')
            e++;
        if (tq_curve_endpoint(e) &&
            tq_curve_client(c->sock, getenv("TOOLQ_CURVE_SERVER_KEY"), getenv("TOOLQ_CURVE_KEY"),
                            c->err_msg, sizeof c->err_msg)) {
            snprintf(c->err_code, sizeof c->err_code, "curve_keys");
            c->curve_failed = true;
            rc = -1;
        } else if (zmq_connect(c->sock, e) != 0) {
            rc = -1;
        }
    }
    free(list);
    return rc;
}

TQ_API tq_client_t *tq_client_new(const char *endpoint)
{
    tq_client_t *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    if (!endpoint || !*endpoint) endpoint = getenv("TOOLQ_BROKER");
    if (endpoint && *endpoint) {
        c->endpoint = strdup(endpoint);
    } else {
        c->endpoint = default_endpoint();
        c->owner_check = true;
    }
    c->ctx = zmq_ctx_new();
    c->sock = c->ctx ? zmq_socket(c->ctx, ZMQ_DEALER) : NULL;
    if (!c->endpoint || !c->sock) {
        tq_client_destroy(&c);
        return NULL;
    }
    int zero = 0;
    zmq_setsockopt(c->sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(c->sock, ZMQ_SNDHWM, &zero, sizeof zero);
    zmq_setsockopt(c->sock, ZMQ_RCVHWM, &zero, sizeof zero);
    c->connect_failed = connect_all(c) != 0;
    c->next_rid = 1;
    return c;
}

TQ_API void tq_client_destroy(tq_client_t **self_p)
{
    if (!self_p || !*self_p) return;
    tq_client_t *c = *self_p;
    tq_outbox_destroy(&c->held); /* sends what is held */
    if (c->sock) zmq_close(c->sock);
    if (c->ctx) zmq_ctx_term(c->ctx);
    free(c->endpoint);
    free(c->tenant);
    free(c->ob_role);
    free(c->ob_tenant);
    free(c->ob_name);
    free(c);
    *self_p = NULL;
}

TQ_API const char *tq_client_endpoint(const tq_client_t *c)
{
    return c->endpoint;
}

TQ_API void tq_client_set_tenant(tq_client_t *c, const char *tenant)
{
    free(c->tenant);
    c->tenant = tenant ? strdup(tenant) : NULL;
}
TQ_API void tq_client_set_on_behalf(tq_client_t *c, const char *role, const char *tenant,
                                    const char *name)
{
    free(c->ob_role);
    free(c->ob_tenant);
    free(c->ob_name);
    c->ob_role = role ? strdup(role) : NULL;
    c->ob_tenant = role && tenant ? strdup(tenant) : NULL;
    c->ob_name = role && name ? strdup(name) : NULL;
}

TQ_API const char *tq_client_error_code(const tq_client_t *c)
{
    return c->err_code;
}
TQ_API const char *tq_client_error_message(const tq_client_t *c)
{
    return c->err_msg;
}

TQ_API void tq_job_info_reset(tq_job_info_t *j)
{
    free(j->op);
    free(j->state);
    free(j->result);
    free(j->error_code);
    free(j->error_message);
    memset(j, 0, sizeof *j);
}

/* A clearer error than a time-out when the ipc socket file is not there.
 * Passed checks hold for CHECK_HOLD_MS: a busy client does not stat the
 * folder and the socket for every message (three path walks each). */
#define CHECK_HOLD_MS 1000
static int check_reachable(tq_client_t *c)
{
    int64_t now = tq_now_ms();
    if (now < c->checked_until_ms) return 0;
    if (c->owner_check && owner_ok(c)) return TQ_CLIENT_TIMEOUT;
    if (!c->multi && strncmp(c->endpoint, "ipc://", 6) == 0) {
        struct stat st;
        if (stat(c->endpoint + 6, &st) != 0) {
            set_err(c, "broker_not_running",
                    "no broker socket at %s (start it with scripts/run, or set TOOLQ_BROKER)",
                    c->endpoint + 6);
            return TQ_CLIENT_TIMEOUT;
        }
    }
    c->checked_until_ms = now + CHECK_HOLD_MS;
    return 0;
}

/* With several endpoints (ZMQ_IMMEDIATE) nothing can be queued before a
 * broker completed its handshake: wait up to wait_ms for one to. */
static bool await_broker(tq_client_t *c, int wait_ms)
{
    int64_t deadline = tq_now_ms() + wait_ms;
    for (;;) {
        int64_t left = deadline - tq_now_ms();
        if (left <= 0) return false;
        zmq_pollitem_t it = {c->sock, 0, ZMQ_POLLOUT, 0};
        int r = zmq_poll(&it, 1, (long)(left > 50 ? 50 : left));
        if (r > 0 && (it.revents & ZMQ_POLLOUT)) return true;
    }
}

static int send_msg(tq_client_t *c, tq_msg_t *m, int wait_ms)
{
    if (c->curve_failed) return TQ_CLIENT_TIMEOUT; /* err_code curve_keys, set at connect */
    if (c->connect_failed) {
        set_err(c, "broker_unreachable", "cannot connect to %s (bad endpoint or host)",
                c->endpoint);
        return TQ_CLIENT_TIMEOUT;
    }
    if (check_reachable(c)) return TQ_CLIENT_TIMEOUT;
    m->ob_role = c->ob_role; /* borrowed: the caller's message is never reset */
    m->ob_tenant = c->ob_tenant;
    m->ob_name = c->ob_name;
    m->batch = true; /* recv_msg reads each frame of a message as one message */
    if (c->held && tq_outbox_add(c->held, NULL, 0, m) == 0) {
        if (wait_ms > c->held_wait_ms) c->held_wait_ms = wait_ms;
        return 0;
    }
    /* never block: messages queue on the connection's pipe (unbounded HWM) */
    int rc = tq_msg_send(c->sock, NULL, 0, m, ZMQ_DONTWAIT);
    if (rc < 0 && errno == EAGAIN && c->multi && wait_ms > 0 && await_broker(c, wait_ms))
        rc = tq_msg_send(c->sock, NULL, 0, m, ZMQ_DONTWAIT);
    if (rc < 0) {
        if (errno == EAGAIN) {
            set_err(c, "broker_unreachable", "cannot send to %s", c->endpoint);
            return TQ_CLIENT_TIMEOUT;
        }
        set_err(c, "send_failed", "cannot send to the broker: %s", zmq_strerror(errno));
        return TQ_CLIENT_ERROR;
    }
    return 0;
}

static void steal(char **dst, char **src)
{
    free(*dst);
    *dst = *src;
    *src = NULL;
}

static void fill_job(tq_job_info_t *j, tq_msg_t *m)
{
    memcpy(j->id, m->id, sizeof j->id);
    steal(&j->op, &m->op);
    steal(&j->state, &m->state);
    j->attempts = (int)m->attempt;
    steal(&j->result, &m->result);
    steal(&j->error_code, &m->err_code);
    steal(&j->error_message, &m->err_msg);
}

TQ_API void tq_client_hold(tq_client_t *c)
{
    if (!c->held) c->held = tq_outbox_new(c->sock, ZMQ_DONTWAIT); /* NULL: sends go at once */
}

TQ_API int tq_client_flush(tq_client_t *c)
{
    if (!c->held) return 0;
    /* several endpoints: nothing goes out before a broker's handshake */
    if (c->multi && c->held_wait_ms > 0) await_broker(c, c->held_wait_ms);
    c->held_wait_ms = 0;
    if (tq_outbox_flush(c->held) == 0) return 0;
    set_err(c, "broker_unreachable", "cannot send the held requests to %s (they were dropped)",
            c->endpoint);
    return TQ_CLIENT_TIMEOUT;
}

/* Receives one decoded message; TQ_CLIENT_TIMEOUT when none arrives. Held
 * requests go out first. A frame already here is taken without a poll (a
 * system call; replies come several to a message under load), and a failed
 * non-blocking receive has looked for new ones: timeout 0 polls no more. */
static int recv_msg(tq_client_t *c, int timeout_ms, tq_msg_t *m)
{
    int64_t deadline = tq_now_ms() + (timeout_ms < 0 ? 0 : timeout_ms);
    if (tq_client_flush(c)) return TQ_CLIENT_TIMEOUT;
    for (;;) {
        zmq_msg_t f;
        zmq_msg_init(&f);
        while (zmq_msg_recv(&f, c->sock, ZMQ_DONTWAIT) < 0) {
            int64_t left = deadline - tq_now_ms();
            zmq_pollitem_t it = {c->sock, 0, ZMQ_POLLIN, 0};
            int r = timeout_ms == 0
                        ? 0
                        : zmq_poll(&it, 1, timeout_ms < 0 ? -1 : (left < 0 ? 0 : (long)left));
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) {
                zmq_msg_close(&f);
                set_err(c, "timeout", "no answer from the broker at %s in time", c->endpoint);
                return TQ_CLIENT_TIMEOUT;
            }
        }
        tq_error_t err = {0};
        int rc = tq_msg_decode(zmq_msg_data(&f), zmq_msg_size(&f), MAX_REPLY, m, &err);
        zmq_msg_close(&f);
        if (rc == 0) return 0;
        /* a frame we cannot read: skip it */
    }
}

static void prepare_submit(tq_msg_t *m, uint64_t rid, const char *tenant, const char *op,
                           const char *payload, const tq_submit_opts_t *o, bool wait)
{
    tq_msg_init(m, TQ_MSG_SUBMIT);
    m->rid = rid;
    m->tenant = (char *)tenant;
    m->op = (char *)op;
    m->payload = (char *)payload;
    m->payload_len = payload ? strlen(payload) : 0;
    m->wait = wait;
    if (o) {
        m->ikey = (char *)o->idempotency_key;
        m->max_attempts = o->max_attempts;
        m->timeout_ms = o->timeout_ms;
        m->priority = o->priority;
        m->durability = o->durability;
        m->journal = o->journal;
    }
}

TQ_API uint64_t tq_client_send_submit(tq_client_t *c, const char *tenant, const char *op,
                                      const char *payload, const tq_submit_opts_t *o, bool wait)
{
    if (!op) {
        set_err(c, "invalid_argument", "op is required%s", "");
        return 0;
    }
    tq_msg_t m;
    uint64_t rid = c->next_rid++;
    prepare_submit(&m, rid, tenant, op, payload, o, wait);
    int wait_ms = c->send_wait_ms;
    c->send_wait_ms = 0;
    return send_msg(c, &m, wait_ms) == 0 ? rid : 0;
}

TQ_API int tq_client_recv(tq_client_t *c, int timeout_ms, tq_client_event_t *ev)
{
    memset(ev, 0, sizeof *ev);
    for (;;) {
        tq_msg_t m;
        int rc = recv_msg(c, timeout_ms, &m);
        if (rc) return rc;
        ev->rid = m.rid;
        if (m.type == TQ_MSG_ACCEPTED) {
            ev->type = TQ_EVENT_ACCEPTED;
            ev->dup = m.dup;
            memcpy(ev->job.id, m.id, sizeof ev->job.id);
        } else if (m.type == TQ_MSG_RESULT) {
            ev->type = TQ_EVENT_RESULT;
            fill_job(&ev->job, &m);
        } else if (m.type == TQ_MSG_REJECTED) {
            ev->type = TQ_EVENT_REJECTED;
            set_err(c, m.err_code ? m.err_code : "rejected", "%s", m.err_msg ? m.err_msg : "");
            steal(&ev->job.error_code, &m.err_code);
            steal(&ev->job.error_message, &m.err_msg);
        } else {
            tq_msg_reset(&m);
            continue;
        }
        tq_msg_reset(&m);
        return 0;
    }
}

/* Waits for the reply of one request; intermediate ACCEPTED replies are
 * returned through accepted (when not NULL) and, if want_result, skipped. */
static int await(tq_client_t *c, uint64_t rid, int timeout_ms, bool want_result, tq_msg_t *out)
{
    int64_t deadline = tq_now_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - tq_now_ms();
        int rc = recv_msg(c, left < 0 ? 0 : (int)left, out);
        if (rc) return rc;
        if (out->rid != rid && !(out->type == TQ_MSG_REJECTED && out->rid == 0)) {
            tq_msg_reset(out);
            continue;
        }
        if (out->type == TQ_MSG_REJECTED) {
            snprintf(c->err_code, sizeof c->err_code, "%s",
                     out->err_code ? out->err_code : "rejected");
            snprintf(c->err_msg, sizeof c->err_msg, "%s", out->err_msg ? out->err_msg : "");
            tq_msg_reset(out);
            return TQ_CLIENT_REJECTED;
        }
        if (want_result && out->type == TQ_MSG_ACCEPTED) {
            tq_msg_reset(out);
            continue;
        }
        return 0;
    }
}

TQ_API int tq_client_submit(tq_client_t *c, const char *tenant, const char *op, const char *payload,
                            const tq_submit_opts_t *o, int timeout_ms, char job_id[37], bool *dup)
{
    c->send_wait_ms = timeout_ms;
    uint64_t rid = tq_client_send_submit(c, tenant, op, payload, o, false);
    if (!rid)
        return strcmp(c->err_code, "broker_not_running") == 0 ||
                       strcmp(c->err_code, "endpoint_unsafe") == 0
                   ? TQ_CLIENT_TIMEOUT
                   : TQ_CLIENT_ERROR;
    tq_msg_t m;
    int rc = await(c, rid, timeout_ms, false, &m);
    if (rc) return rc;
    memcpy(job_id, m.id, 37);
    if (dup) *dup = m.dup;
    tq_msg_reset(&m);
    return 0;
}

TQ_API int tq_client_call(tq_client_t *c, const char *tenant, const char *op, const char *payload,
                          const tq_submit_opts_t *o, int timeout_ms, tq_job_info_t *out)
{
    memset(out, 0, sizeof *out);
    c->send_wait_ms = timeout_ms;
    uint64_t rid = tq_client_send_submit(c, tenant, op, payload, o, true);
    if (!rid)
        return strcmp(c->err_code, "broker_not_running") == 0 ||
                       strcmp(c->err_code, "endpoint_unsafe") == 0
                   ? TQ_CLIENT_TIMEOUT
                   : TQ_CLIENT_ERROR;
    int64_t deadline = tq_now_ms() + timeout_ms;
    for (;;) {
        tq_msg_t m;
        int64_t left = deadline - tq_now_ms();
        int rc = await(c, rid, left < 0 ? 0 : (int)left, false, &m);
        if (rc) return rc;
        if (m.type == TQ_MSG_ACCEPTED) { /* remember the id in case we time out */
            memcpy(out->id, m.id, sizeof out->id);
            tq_msg_reset(&m);
            continue;
        }
        fill_job(out, &m);
        tq_msg_reset(&m);
        return 0;
    }
}

/* Sends a STATUS / WAIT / CANCEL for job id (scoped by the client's tenant):
 * 0 with *rid, or send_msg's error. */
static int send_job_request(tq_client_t *c, tq_msg_type_t type, const char *id, int timeout_ms,
                            uint64_t *rid)
{
    tq_msg_t m;
    tq_msg_init(&m, type);
    m.rid = *rid = c->next_rid++;
    snprintf(m.id, sizeof m.id, "%s", id ? id : "");
    m.tenant = c->tenant;
    return send_msg(c, &m, timeout_ms);
}

static int job_request(tq_client_t *c, tq_msg_type_t type, const char *id, int timeout_ms,
                       tq_job_info_t *out)
{
    memset(out, 0, sizeof *out);
    uint64_t rid;
    int rc = send_job_request(c, type, id, timeout_ms, &rid);
    if (rc) return rc;
    tq_msg_t r;
    rc = await(c, rid, timeout_ms, false, &r);
    if (rc) return rc;
    fill_job(out, &r);
    tq_msg_reset(&r);
    return 0;
}

TQ_API int tq_client_wait(tq_client_t *c, const char *id, int timeout_ms, tq_job_info_t *out)
{
    return job_request(c, TQ_MSG_WAIT, id, timeout_ms, out);
}

TQ_API uint64_t tq_client_send_wait(tq_client_t *c, const char *id)
{
    uint64_t rid;
    return send_job_request(c, TQ_MSG_WAIT, id, 0, &rid) == 0 ? rid : 0;
}

TQ_API int tq_client_status(tq_client_t *c, const char *id, int timeout_ms, tq_job_info_t *out)
{
    return job_request(c, TQ_MSG_STATUS, id, timeout_ms, out);
}

TQ_API int tq_client_cancel(tq_client_t *c, const char *id, int timeout_ms, tq_job_info_t *out)
{
    return job_request(c, TQ_MSG_CANCEL, id, timeout_ms, out);
}

static int json_request(tq_client_t *c, tq_msg_type_t type, int timeout_ms, char **json)
{
    tq_msg_t m;
    tq_msg_init(&m, type);
    m.rid = c->next_rid++;
    int rc = send_msg(c, &m, timeout_ms);
    if (rc) return rc;
    tq_msg_t r;
    rc = await(c, m.rid, timeout_ms, false, &r);
    if (rc) return rc;
    *json = r.result;
    r.result = NULL;
    tq_msg_reset(&r);
    return 0;
}

TQ_API int tq_client_stats(tq_client_t *c, int timeout_ms, char **json)
{
    return json_request(c, TQ_MSG_STATS, timeout_ms, json);
}

TQ_API int tq_client_whoami(tq_client_t *c, int timeout_ms, char **json)
{
    return json_request(c, TQ_MSG_WHOAMI, timeout_ms, json);
}
