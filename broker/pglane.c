/* pglane.c — a non-blocking libpq connection with a FIFO of statements (see
 * pglane.h). Owns its connection and the copies of queued parameters. */
#include "pglane.h"

#include "log.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define MAX_PREPARED 16

typedef struct req_t {
    char *name;     /* prepared statement name, or NULL */
    bool preparing; /* its PREPARE is in flight */
    bool failed;
    char errmsg[512];
    PGresult *held; /* the command's result, delivered once the statement is complete */
    char *sql;
    int nparams;
    char **params;
    tq_pglane_cb *cb;
    void *arg;
    struct req_t *next;
} req_t;

struct tq_pglane_t {
    tq_loop_t *loop;
    char name[32];
    char *conninfo;
    char *setup; /* run on every (re)connection, or NULL */
    PGconn *conn;
    int fd;
    req_t *head, *tail;
    req_t *running;
    bool flushing;
    char *prepared[MAX_PREPARED]; /* statement names prepared on this connection */
    int nprepared;
    tq_pglane_idle_cb *idle_fn;
    void *idle_arg;
    int64_t reconnect_at;
};

static void req_free(req_t *r)
{
    for (int i = 0; i < r->nparams; i++)
        free(r->params[i]);
    free(r->params);
    free(r->sql);
    free(r->name);
    PQclear(r->held);
    free(r);
}

static void on_io(tq_loop_t *loop, int revents, void *arg);
static void kick(tq_pglane_t *self);
static void send_running(tq_pglane_t *self);

static void watch(tq_pglane_t *self, bool want_write)
{
    if (self->fd >= 0)
        tq_loop_add_fd(self->loop, self->fd, ZMQ_POLLIN | (want_write ? ZMQ_POLLOUT : 0), on_io,
                       self);
}

static int open_conn(tq_pglane_t *self, char *errmsg, size_t errlen)
{
    /* A bounded connect: this runs in the broker loop when a lane reconnects
     * (connect_timeout after the expanded conninfo overrides it). */
    const char *const keys[] = {"dbname", "connect_timeout", NULL};
    const char *const vals[] = {self->conninfo, "3", NULL};
    self->conn = PQconnectdbParams(keys, vals, 1);
    if (!self->conn || PQstatus(self->conn) != CONNECTION_OK) {
        const char *m = self->conn ? PQerrorMessage(self->conn) : "out of memory";
        snprintf(errmsg, errlen, "%.*s", (int)strcspn(m, "\n"), m);
        if (self->conn) PQfinish(self->conn);
        self->conn = NULL;
        return -1;
    }
    PQclear(PQexec(self->conn, "SET client_min_messages = warning"));
    if (self->setup) PQclear(PQexec(self->conn, self->setup));
    PQsetnonblocking(self->conn, 1);
    self->fd = PQsocket(self->conn);
    watch(self, false);
    return 0;
}

static bool is_prepared(const tq_pglane_t *self, const char *name)
{
    for (int i = 0; i < self->nprepared; i++)
        if (strcmp(self->prepared[i], name) == 0) return true;
    return false;
}

static void drop_conn(tq_pglane_t *self)
{
    for (int i = 0; i < self->nprepared; i++)
        free(self->prepared[i]);
    self->nprepared = 0;
    if (self->fd >= 0) tq_loop_remove_fd(self->loop, self->fd);
    self->fd = -1;
    if (self->conn) PQfinish(self->conn);
    self->conn = NULL;
}

tq_pglane_t *tq_pglane_new(tq_loop_t *loop, const char *name, const char *conninfo,
                           const char *setup, char *errmsg, size_t errlen)
{
    tq_pglane_t *self = calloc(1, sizeof *self);
    if (!self) return NULL;
    self->loop = loop;
    self->fd = -1;
    snprintf(self->name, sizeof self->name, "%s", name);
    self->conninfo = strdup(conninfo);
    self->setup = setup ? strdup(setup) : NULL;
    if (open_conn(self, errmsg, errlen)) {
        tq_pglane_destroy(&self);
        return NULL;
    }
    return self;
}

void tq_pglane_destroy(tq_pglane_t **self_p)
{
    if (!self_p || !*self_p) return;
    tq_pglane_t *self = *self_p;
    drop_conn(self);
    if (self->running) req_free(self->running);
    while (self->head) {
        req_t *n = self->head->next;
        req_free(self->head);
        self->head = n;
    }
    free(self->conninfo);
    free(self->setup);
    free(self);
    *self_p = NULL;
}

void tq_pglane_on_idle(tq_pglane_t *self, tq_pglane_idle_cb *fn, void *arg)
{
    self->idle_fn = fn;
    self->idle_arg = arg;
}

bool tq_pglane_busy(const tq_pglane_t *self)
{
    return self->running || self->head;
}

int tq_pglane_query(tq_pglane_t *self, const char *sql, int nparams, const char *const *params,
                    tq_pglane_cb *cb, void *arg)
{
    return tq_pglane_query_prepared(self, NULL, sql, nparams, params, cb, arg);
}

int tq_pglane_query_prepared(tq_pglane_t *self, const char *name, const char *sql, int nparams,
                             const char *const *params, tq_pglane_cb *cb, void *arg)
{
    req_t *r = calloc(1, sizeof *r);
    if (!r) return -1;
    r->name = name ? strdup(name) : NULL;
    r->sql = strdup(sql);
    r->nparams = nparams;
    r->params = calloc((size_t)(nparams ? nparams : 1), sizeof *r->params);
    for (int i = 0; i < nparams; i++)
        r->params[i] = params[i] ? strdup(params[i]) : NULL;
    r->cb = cb;
    r->arg = arg;
    if (self->tail)
        self->tail->next = r;
    else
        self->head = r;
    self->tail = r;
    kick(self);
    return 0;
}

void tq_pglane_kick(tq_pglane_t *self)
{
    kick(self);
}

static void fail_running(tq_pglane_t *self, const char *msg)
{
    req_t *r = self->running;
    self->running = NULL;
    self->flushing = false;
    tq_warn("database lane %s: %s", self->name, msg);
    if (r) {
        if (r->cb) r->cb(self, NULL, msg, r->arg);
        req_free(r);
    }
}

static void on_retry(tq_loop_t *loop, void *arg)
{
    (void)loop;
    kick(arg);
}

/* Starts the next request when idle; reconnects first when needed. */
static void kick(tq_pglane_t *self)
{
    if (self->running) return;
    if (!self->head && self->idle_fn)
        self->idle_fn(self, self->idle_arg); /* may queue (re-enters kick) */
    if (self->running || !self->head) return;
    if (!self->conn) {
        if (tq_now_ms() < self->reconnect_at) return;
        char msg[256];
        if (open_conn(self, msg, sizeof msg)) {
            tq_warn("database lane %s: reconnect failed: %s", self->name, msg);
            self->reconnect_at = tq_now_ms() + 1000;
            tq_loop_timer(self->loop, 1000, on_retry, self);
            /* Fail the head request so its owner can answer its clients. */
            self->running = self->head;
            self->head = self->head->next;
            if (!self->head) self->tail = NULL;
            fail_running(self, msg);
            return;
        }
        tq_info("database lane %s: reconnected", self->name);
    }
    req_t *r = self->head;
    self->head = r->next;
    if (!self->head) self->tail = NULL;
    self->running = r;
    send_running(self);
}

/* Sends the running request: PREPARE first when its statement is new on
 * this connection (on_io then sends the execution). */
static void send_running(tq_pglane_t *self)
{
    req_t *r = self->running;
    int ok;
    if (r->name && !is_prepared(self, r->name) && self->nprepared < MAX_PREPARED) {
        r->preparing = true;
        ok = PQsendPrepare(self->conn, r->name, r->sql, r->nparams, NULL);
    } else if (r->name && is_prepared(self, r->name)) {
        r->preparing = false;
        ok = PQsendQueryPrepared(self->conn, r->name, r->nparams, (const char *const *)r->params,
                                 NULL, NULL, 0);
    } else {
        r->preparing = false;
        ok = PQsendQueryParams(self->conn, r->sql, r->nparams, NULL, (const char *const *)r->params,
                               NULL, NULL, 0);
    }
    if (!ok) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(self->conn));
        msg[strcspn(msg, "\n")] = '\0';
        drop_conn(self);
        fail_running(self, msg);
        kick(self);
        return;
    }
    int f = PQflush(self->conn);
    self->flushing = f == 1;
    watch(self, self->flushing);
}

static void on_io(tq_loop_t *loop, int revents, void *arg)
{
    (void)loop;
    tq_pglane_t *self = arg;
    if (!self->conn) return;
    if (self->flushing && (revents & ZMQ_POLLOUT)) {
        int f = PQflush(self->conn);
        if (f < 0) {
            drop_conn(self);
            fail_running(self, "connection lost while sending");
            kick(self);
            return;
        }
        self->flushing = f == 1;
        watch(self, self->flushing);
    }
    if (!(revents & ZMQ_POLLIN)) return;
    if (!PQconsumeInput(self->conn)) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(self->conn));
        msg[strcspn(msg, "\n")] = '\0';
        drop_conn(self);
        fail_running(self, msg);
        kick(self);
        return;
    }
    /* A statement's outcome is known only when PQgetResult returns NULL: the
     * implicit COMMIT follows the command's own result, and an error there
     * (a deferred constraint, a lost connection) must not be reported as
     * success. So the command's result is held until then. */
    while (self->running && !PQisBusy(self->conn)) {
        PGresult *res = PQgetResult(self->conn);
        req_t *r = self->running;
        if (!res) {                           /* this command is complete */
            if (r->preparing && !r->failed) { /* prepared: now execute it */
                self->prepared[self->nprepared++] = strdup(r->name);
                send_running(self);
                return;
            }
            if (r->cb && !r->failed)
                r->cb(self, r->held, NULL, r->arg);
            else if (r->cb)
                r->cb(self, NULL, r->errmsg, r->arg);
            PQclear(r->held);
            r->held = NULL;
            req_free(r);
            self->running = NULL;
            break;
        }
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
            if (r->preparing || r->held)
                PQclear(res); /* PREPARE's own result, or a second one: keep the first */
            else
                r->held = res;
        } else {
            const char *m = PQresultErrorMessage(res);
            if (!r->failed) snprintf(r->errmsg, sizeof r->errmsg, "%.*s", (int)strcspn(m, "\n"), m);
            r->failed = true;
            PQclear(res);
        }
    }
    if (!self->running) kick(self);
}

void tq_pglane_drain(tq_pglane_t *self, int timeout_ms)
{
    int64_t until = tq_now_ms() + timeout_ms;
    while (tq_pglane_busy(self) && self->conn && tq_now_ms() < until) {
        struct pollfd p = {self->fd, POLLIN | (self->flushing ? POLLOUT : 0), 0};
        if (poll(&p, 1, 100) > 0)
            on_io(self->loop,
                  (p.revents & POLLIN ? ZMQ_POLLIN : 0) | (p.revents & POLLOUT ? ZMQ_POLLOUT : 0),
                  self);
        else if (!self->running)
            kick(self);
    }
}
