/* mcp_http.c — the MCP Streamable HTTP transport at /mcp (see mcp_http.h).
 *
 * Order of checks on a request's first libmicrohttpd call (http.c has
 * already checked the Host header): the API key (401 unauthorized, 503
 * db_unavailable), the key's rate (429 rate_limited), the Origin header when
 * present (403 origin_not_allowed: DNS rebinding from a browser page), the
 * method. Nothing is read, created or submitted before they pass.
 *   POST    one JSON-RPC message (a batch is -32600). initialize without
 *           Mcp-Session-Id creates a session bound to the key (its hash) and
 *           answers with its id; every other message needs the id (400
 *           without, 404 for an unknown, expired or another key's session)
 *           and a known MCP-Protocol-Version header when it has one (400).
 *           Notifications and responses: 202. A tools/call whose client
 *           accepts text/event-stream is answered as an SSE stream (its
 *           progress notifications, then the response); other requests as
 *           application/json.
 *   GET     the session's SSE stream (Accept: text/event-stream; one per
 *           session, 409 for a second): notifications/tools/list_changed
 *           when a provider of the session's tenant is imported, updated or
 *           deleted (a LISTEN on channel toolq_providers, the trigger of
 *           schemas/005_provider_notify.sql), comments as keep-alives.
 *   DELETE  ends the session (204).
 * Sessions: at most mcp.max_sessions; one idle for mcp.session_idle_s is
 * dropped. A session is only used with the key that created it.
 *
 * Owns: the sessions, the per-request state of the thread serving it (one
 * thread per connection: a thread-local), the SSE streams, the provider
 * change listener (a thread with its own database connection).
 * Must never: serve a request before its key checked out; let a session be
 * used by another key; log a key, an argument or a result; block the broker
 * loop (it runs on listener threads only). */
#include "mcp_http.h"
#include "loop.h"

#include "apikey.h"
#include "http.h"
#include "ids.h"
#include "log.h"
#include "mcp.h"
#include "opcat.h"
#include "pg.h"

#include <errno.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <openssl/rand.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define SSE_KEEPALIVE_MS 10000 /* a comment on an idle stream, under any idle timeout */
#define WAIT_SLICE_MS 500      /* how often a waiting stream checks for shutdown */
#define LISTEN_RETRY_MS 1000
#define STOP_WAIT_MS 2000 /* calls in flight get this long at shutdown */

typedef struct session {
    char id[33];
    char key_hash[65];
    char tenant_uuid[TQ_UUID_STR_LEN + 1];
    tq_mcp_t *mcp;
    int refs;         /* the registry's one, plus one per request using it */
    bool closed;      /* deleted or expired: no new request, streams end */
    bool streamed;    /* a GET stream is open */
    unsigned changed; /* list_changed events so far */
    int64_t last_ms;
    struct session *next;
} session_t;

struct tq_mcp_http_t {
    tq_apikeys_t *keys; /* borrowed: the API's (broker/api.c) */
    char *frontend, *hosts, *conninfo;
    bool https;
    int max_sessions, idle_s, page_size, call_timeout_ms, max_description;
    size_t max_body;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* sessions changed (list_changed, closed) */
    session_t *sessions;
    int nsessions;
    atomic_bool stopping;
    atomic_int calls; /* call threads running */
    pthread_t listener;
    bool listening;
};

/* The request being read on this connection's thread. */
typedef struct {
    struct MHD_Connection *conn;
    tq_apikey_who_t who;
    char *body;
    size_t len;
    bool too_large;
} req_t;

static pthread_key_t s_req_key;
static pthread_once_t s_req_once = PTHREAD_ONCE_INIT;

static void req_free(void *p)
{
    req_t *r = p;
    if (!r) return;
    free(r->body);
    free(r);
}

static void req_key_init(void)
{
    pthread_key_create(&s_req_key, req_free);
}

static req_t *req_get(struct MHD_Connection *conn)
{
    pthread_once(&s_req_once, req_key_init);
    req_t *r = pthread_getspecific(s_req_key);
    return r && r->conn == conn ? r : NULL;
}

static void req_done(void)
{
    req_t *r = pthread_getspecific(s_req_key);
    pthread_setspecific(s_req_key, NULL);
    req_free(r);
}

bool tq_mcp_http_continues(struct MHD_Connection *conn)
{
    return req_get(conn) != NULL;
}

/* --- responses ---------------------------------------------------------------------- */

static enum MHD_Result send_text(struct MHD_Connection *conn, unsigned status, const char *ctype,
                                 char *text, const char *session_id)
{
    struct MHD_Response *r =
        text ? MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE)
             : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    if (ctype) MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (session_id) MHD_add_response_header(r, "Mcp-Session-Id", session_id);
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                "Bearer realm=\"toolq\", error=\"invalid_token\"");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, POST, DELETE");
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result send_json(struct MHD_Connection *conn, unsigned status, json_t *msg,
                                 const char *session_id)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    return send_text(conn, status, "application/json", text, session_id);
}

/* An HTTP-level refusal: a JSON-RPC error without id, data.code the toolq code. */
static enum MHD_Result refuse(struct MHD_Connection *conn, unsigned status, const char *code,
                              const char *message)
{
    req_done();
    json_t *e = tq_mcp_error(NULL, -32600, message);
    json_object_set_new(json_object_get(e, "error"), "data", json_pack("{s:s}", "code", code));
    return send_json(conn, status, e, NULL);
}

static const char *header(struct MHD_Connection *conn, const char *name)
{
    return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

static bool accepts(struct MHD_Connection *conn, const char *type)
{
    const char *a = header(conn, MHD_HTTP_HEADER_ACCEPT);
    return a && (strstr(a, type) || strstr(a, "*/*"));
}

/* --- sessions ------------------------------------------------------------------------- */

static void session_unref(tq_mcp_http_t *m, session_t *s)
{
    pthread_mutex_lock(&m->mu);
    bool last = --s->refs == 0;
    pthread_mutex_unlock(&m->mu);
    if (last) {
        tq_mcp_destroy(&s->mcp);
        free(s);
    }
}

/* Unlinks s (mu held); the registry's reference goes with it. */
static bool session_unlink(tq_mcp_http_t *m, session_t *s)
{
    for (session_t **pp = &m->sessions; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            m->nsessions--;
            s->closed = true;
            pthread_cond_broadcast(&m->cv);
            return --s->refs == 0;
        }
    return false;
}

/* Drops sessions idle longer than mcp.session_idle_s (mu held); the ones
 * to free are returned in *dead. */
static void sweep_idle(tq_mcp_http_t *m, session_t **dead)
{
    int64_t now = tq_now_ms();
    for (session_t *s = m->sessions, *next; s; s = next) {
        next = s->next;
        if (now - s->last_ms > (int64_t)m->idle_s * 1000 && s->refs == 1 && session_unlink(m, s)) {
            s->next = *dead;
            *dead = s;
        }
    }
}

static void free_dead(session_t *dead)
{
    while (dead) {
        session_t *n = dead->next;
        tq_mcp_destroy(&dead->mcp);
        free(dead);
        dead = n;
    }
}

/* The session with this id for this key, referenced; NULL when none. */
static session_t *session_find(tq_mcp_http_t *m, const char *id, const char *key_hash)
{
    session_t *dead = NULL, *found = NULL;
    pthread_mutex_lock(&m->mu);
    sweep_idle(m, &dead);
    for (session_t *s = m->sessions; s && id; s = s->next)
        if (strcmp(s->id, id) == 0 && strcmp(s->key_hash, key_hash) == 0 && !s->closed) {
            s->refs++;
            s->last_ms = tq_now_ms();
            found = s;
            break;
        }
    pthread_mutex_unlock(&m->mu);
    free_dead(dead);
    return found;
}

/* A new session for the key (not yet registered: session_add). */
static session_t *session_new(tq_mcp_http_t *m, const tq_apikey_who_t *who, tq_error_t *err)
{
    session_t *s = calloc(1, sizeof *s);
    unsigned char rnd[16];
    if (!s || RAND_bytes(rnd, sizeof rnd) != 1 || tq_tenant_uuid(who->tenant, s->tenant_uuid)) {
        free(s);
        tq_error_set(err, "internal", "cannot create a session");
        return NULL;
    }
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(s->id + 2 * i, 3, "%02x", rnd[i]);
    memcpy(s->key_hash, who->hash, sizeof s->key_hash);
    tq_mcp_opts_t o = {.endpoint = m->frontend,
                       .tenant = who->tenant,
                       .tools = who->tools,
                       .behalf_role = tq_role_name(who->role),
                       .behalf_name = who->name,
                       .list_changed = true,
                       .page_size = m->page_size,
                       .call_timeout_ms = m->call_timeout_ms,
                       .max_description = m->max_description};
    if (!(s->mcp = tq_mcp_new(&o, err))) {
        free(s);
        return NULL;
    }
    s->refs = 1;
    s->last_ms = tq_now_ms();
    return s;
}

/* Registers s (the caller keeps its reference too); false when full. */
static bool session_add(tq_mcp_http_t *m, session_t *s)
{
    session_t *dead = NULL;
    pthread_mutex_lock(&m->mu);
    sweep_idle(m, &dead);
    bool ok = m->nsessions < m->max_sessions;
    if (ok) {
        s->refs++;
        s->next = m->sessions;
        m->sessions = s;
        m->nsessions++;
    }
    pthread_mutex_unlock(&m->mu);
    free_dead(dead);
    return ok;
}

/* --- SSE -------------------------------------------------------------------------------- */

typedef struct event {
    char *text;
    size_t len, off;
    struct event *next;
} event_t;

/* One SSE response: a tools/call running on a thread of its own, or a
 * session's GET stream. Freed by whichever of the reader and the call
 * finishes last (refs). */
typedef struct {
    tq_mcp_http_t *m;
    session_t *session;
    json_t *msg; /* the tools/call request; NULL for a GET stream */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    event_t *head, *tail;
    bool done; /* the call answered (or was cancelled) */
    int refs;
    int fd;        /* the connection's socket: a client that hung up ends the stream */
    unsigned seen; /* GET stream: list_changed events sent */
    int64_t last_sent_ms;
} stream_t;

static void stream_push(stream_t *st, const json_t *msg)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    event_t *e = calloc(1, sizeof *e);
    size_t n = text ? strlen(text) + 32 : 0;
    char *frame = text ? malloc(n) : NULL;
    if (!frame || !e) {
        free(text);
        free(frame);
        free(e);
        return;
    }
    e->len = (size_t)snprintf(frame, n, "event: message\ndata: %s\n\n", text);
    free(text);
    e->text = frame;
    pthread_mutex_lock(&st->mu);
    if (st->tail)
        st->tail->next = e;
    else
        st->head = e;
    st->tail = e;
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
}

static void stream_unref(stream_t *st)
{
    pthread_mutex_lock(&st->mu);
    bool last = --st->refs == 0;
    pthread_mutex_unlock(&st->mu);
    if (!last) return;
    while (st->head) {
        event_t *e = st->head;
        st->head = e->next;
        free(e->text);
        free(e);
    }
    if (!st->msg) { /* a GET stream: the session may have another one now */
        pthread_mutex_lock(&st->m->mu);
        st->session->streamed = false;
        pthread_mutex_unlock(&st->m->mu);
    }
    json_decref(st->msg);
    session_unref(st->m, st->session);
    pthread_cond_destroy(&st->cv);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

static void emit_event(void *arg, const json_t *msg)
{
    stream_push(arg, msg);
}

static void *call_thread(void *arg)
{
    stream_t *st = arg;
    json_t *res = tq_mcp_handle(st->session->mcp, st->msg, emit_event, st);
    if (res) stream_push(st, res);
    json_decref(res);
    pthread_mutex_lock(&st->mu);
    st->done = true;
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
    tq_mcp_http_t *m = st->m;
    stream_unref(st);
    atomic_fetch_sub(&m->calls, 1);
    return NULL;
}

static void timed_wait(pthread_cond_t *cv, pthread_mutex_t *mu, int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(cv, mu, &ts);
}

/* GET stream: queue a list_changed notification when the session saw one. */
static void stream_poll_session(stream_t *st)
{
    tq_mcp_http_t *m = st->m;
    pthread_mutex_lock(&m->mu);
    unsigned changed = st->session->changed;
    bool closed = st->session->closed;
    if (changed == st->seen && !closed && !atomic_load(&m->stopping))
        timed_wait(&m->cv, &m->mu, WAIT_SLICE_MS);
    changed = st->session->changed;
    closed = st->session->closed;
    pthread_mutex_unlock(&m->mu);
    if (changed != st->seen) {
        st->seen = changed;
        json_t *n =
            json_pack("{s:s,s:s}", "jsonrpc", "2.0", "method", "notifications/tools/list_changed");
        stream_push(st, n);
        json_decref(n);
    }
    if (closed) {
        pthread_mutex_lock(&st->mu);
        st->done = true;
        pthread_mutex_unlock(&st->mu);
    }
}

/* Whether the client closed its end (no byte will ever be sent on this
 * connection again): its stream slot and thread are freed at once instead of
 * at the next failed write. */
static bool hung_up(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLRDHUP};
    return fd >= 0 && poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    stream_t *st = cls;
    for (;;) {
        if (atomic_load(&st->m->stopping)) return MHD_CONTENT_READER_END_OF_STREAM;
        if (!st->msg) stream_poll_session(st);
        pthread_mutex_lock(&st->mu);
        if (!st->head && !st->done && st->msg) timed_wait(&st->cv, &st->mu, WAIT_SLICE_MS);
        event_t *e = st->head;
        if (e) {
            size_t n = e->len - e->off < max ? e->len - e->off : max;
            memcpy(buf, e->text + e->off, n);
            e->off += n;
            if (e->off == e->len) {
                st->head = e->next;
                if (!st->head) st->tail = NULL;
                free(e->text);
                free(e);
            }
            st->last_sent_ms = tq_now_ms();
            pthread_mutex_unlock(&st->mu);
            return (ssize_t)n;
        }
        bool done = st->done;
        pthread_mutex_unlock(&st->mu);
        if (done || hung_up(st->fd)) return MHD_CONTENT_READER_END_OF_STREAM;
        if (tq_now_ms() - st->last_sent_ms >= SSE_KEEPALIVE_MS) {
            static const char ka[] = ": keep-alive\n\n";
            st->last_sent_ms = tq_now_ms();
            if (max < sizeof ka - 1) return 0;
            memcpy(buf, ka, sizeof ka - 1);
            return (ssize_t)(sizeof ka - 1);
        }
    }
}

static void stream_free(void *cls)
{
    stream_unref(cls);
}

static stream_t *stream_new(tq_mcp_http_t *m, session_t *s, json_t *msg)
{
    stream_t *st = calloc(1, sizeof *st);
    if (!st) return NULL;
    st->m = m;
    st->session = s;
    st->msg = msg;
    st->refs = 1;
    st->last_sent_ms = tq_now_ms();
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->cv, NULL);
    return st;
}

static enum MHD_Result send_stream(struct MHD_Connection *conn, stream_t *st,
                                   const char *session_id)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    st->fd = ci ? ci->connect_fd : -1;
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, stream_read, st, stream_free);
    if (!r) {
        stream_unref(st);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (session_id) MHD_add_response_header(r, "Mcp-Session-Id", session_id);
    enum MHD_Result rc = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return rc;
}

/* --- provider change listener ----------------------------------------------------------- */

static void notify_tenant(tq_mcp_http_t *m, const char *payload)
{
    const char *slash = strchr(payload, '/');
    if (!slash || slash - payload != TQ_UUID_STR_LEN) return;
    pthread_mutex_lock(&m->mu);
    for (session_t *s = m->sessions; s; s = s->next)
        if (strncmp(s->tenant_uuid, payload, TQ_UUID_STR_LEN) == 0) {
            tq_mcp_tools_changed(s->mcp);
            s->changed++;
        }
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
}

static void *listen_thread(void *arg)
{
    tq_mcp_http_t *m = arg;
    PGconn *db = NULL;
    while (!atomic_load(&m->stopping)) {
        if (!db) {
            tq_error_t err = {0};
            db = tq_pg_connect(m->conninfo, &err);
            if (db && tq_pg_run(db, &err, "LISTEN toolq_providers", 0, NULL)) {
                PQfinish(db);
                db = NULL;
            }
            if (!db) {
                tq_warn("mcp: provider change listener: %s: %s (retrying)", err.code, err.message);
                for (int ms = 0; ms < LISTEN_RETRY_MS && !atomic_load(&m->stopping); ms += 100)
                    usleep(100000);
                continue;
            }
        }
        struct pollfd p = {.fd = PQsocket(db), .events = POLLIN};
        int n = poll(&p, 1, WAIT_SLICE_MS);
        if (n < 0 && errno != EINTR) break;
        if (n > 0 && !PQconsumeInput(db)) { /* connection lost: reconnect */
            PQfinish(db);
            db = NULL;
            continue;
        }
        PGnotify *note;
        while ((note = PQnotifies(db))) {
            notify_tenant(m, note->extra);
            PQfreemem(note);
        }
    }
    PQfinish(db);
    return NULL;
}

/* --- requests ------------------------------------------------------------------------- */

/* Origin: absent (not a browser) or naming a host this listener serves. */
static bool origin_ok(tq_mcp_http_t *m, const char *origin)
{
    if (!origin) return true;
    const char *auth = NULL;
    if (strncmp(origin, "http://", 7) == 0)
        auth = origin + 7;
    else if (strncmp(origin, "https://", 8) == 0)
        auth = origin + 8;
    if (!auth || !*auth || strpbrk(auth, "/?#@ ")) return false;
    return tq_http_host_ok(auth, m->hosts, strncmp(origin, "https://", 8) == 0);
}

/* A message that is a request which gets an SSE answer. */
static bool wants_stream(struct MHD_Connection *conn, const json_t *msg)
{
    const char *method = json_string_value(json_object_get(msg, "method"));
    return tq_mcp_is_request(msg) && method && strcmp(method, "tools/call") == 0 &&
           accepts(conn, "text/event-stream");
}

static enum MHD_Result serve_post(tq_mcp_http_t *m, struct MHD_Connection *conn, req_t *rq)
{
    if (rq->too_large) return refuse(conn, 413, "payload_too_large", "the body is too large");
    json_error_t jerr;
    json_t *msg = json_loadb(rq->body ? rq->body : "", rq->len, JSON_REJECT_DUPLICATES, &jerr);
    tq_apikey_who_t who = rq->who;
    req_done();
    if (!msg) return send_json(conn, 400, tq_mcp_error(NULL, -32700, "Parse error"), NULL);
    if (json_is_array(msg)) {
        json_decref(msg);
        return send_json(conn, 400,
                         tq_mcp_error(NULL, -32600, "batches are not supported (use one message)"),
                         NULL);
    }
    const char *sid = header(conn, "Mcp-Session-Id");
    const char *method = json_string_value(json_object_get(msg, "method"));
    enum MHD_Result rc;
    if (method && strcmp(method, "initialize") == 0 && tq_mcp_is_request(msg)) {
        if (sid) {
            json_decref(msg);
            return refuse(conn, 400, "invalid_request",
                          "initialize starts a session: send it without Mcp-Session-Id");
        }
        tq_error_t err = {0};
        session_t *s = session_new(m, &who, &err);
        if (!s) {
            json_decref(msg);
            return refuse(conn, 500, err.code, err.message);
        }
        json_t *res = tq_mcp_handle(s->mcp, msg, NULL, NULL);
        json_decref(msg);
        if (!json_object_get(res, "result")) { /* refused: no session */
            session_unref(m, s);
            return send_json(conn, 200, res, NULL);
        }
        if (!session_add(m, s)) {
            session_unref(m, s);
            json_decref(res);
            return refuse(conn, 503, "mcp_too_many_sessions",
                          "too many MCP sessions (mcp.max_sessions); end one (DELETE /mcp)");
        }
        rc = send_json(conn, 200, res, s->id);
        session_unref(m, s);
        return rc;
    }
    if (!sid) {
        json_decref(msg);
        return refuse(conn, 400, "invalid_request", "Mcp-Session-Id header missing");
    }
    const char *pv = header(conn, "MCP-Protocol-Version");
    if (pv && !tq_mcp_version_known(pv)) {
        json_decref(msg);
        return refuse(conn, 400, "invalid_request", "unsupported MCP-Protocol-Version");
    }
    session_t *s = session_find(m, sid, who.hash);
    if (!s) {
        json_decref(msg);
        return refuse(conn, 404, "mcp_session_not_found",
                      "no such MCP session (ended or expired): initialize a new one");
    }
    if (!tq_mcp_is_request(msg)) { /* a notification or a response */
        json_t *res = tq_mcp_handle(s->mcp, msg, NULL, NULL);
        json_decref(msg);
        session_unref(m, s);
        if (res) return send_json(conn, 400, res, NULL);
        return send_text(conn, 202, NULL, NULL, NULL);
    }
    if (wants_stream(conn, msg)) {
        stream_t *st = stream_new(m, s, msg);
        pthread_t t;
        if (st) st->refs = 2; /* the reader and the call */
        if (st) atomic_fetch_add(&m->calls, 1);
        if (!st || pthread_create(&t, NULL, call_thread, st) != 0) {
            if (st) atomic_fetch_sub(&m->calls, 1);
            if (st) {
                st->msg = NULL;
                pthread_mutex_destroy(&st->mu);
                pthread_cond_destroy(&st->cv);
                free(st);
            }
            json_decref(msg);
            session_unref(m, s);
            return refuse(conn, 503, "internal", "cannot start the call");
        }
        pthread_detach(t);
        return send_stream(conn, st, NULL); /* the stream owns the session reference */
    }
    json_t *res = tq_mcp_handle(s->mcp, msg, NULL, NULL);
    json_decref(msg);
    session_unref(m, s);
    if (!res) return send_text(conn, 202, NULL, NULL, NULL); /* cancelled meanwhile */
    return send_json(conn, 200, res, NULL);
}

static enum MHD_Result serve_get(tq_mcp_http_t *m, struct MHD_Connection *conn,
                                 const tq_apikey_who_t *who)
{
    if (!accepts(conn, "text/event-stream"))
        return refuse(conn, 406, "invalid_request", "GET /mcp needs Accept: text/event-stream");
    const char *sid = header(conn, "Mcp-Session-Id");
    if (!sid) return refuse(conn, 400, "invalid_request", "Mcp-Session-Id header missing");
    session_t *s = session_find(m, sid, who->hash);
    if (!s)
        return refuse(conn, 404, "mcp_session_not_found",
                      "no such MCP session (ended or expired): initialize a new one");
    pthread_mutex_lock(&m->mu);
    bool busy = s->streamed;
    s->streamed = true;
    unsigned seen = s->changed;
    pthread_mutex_unlock(&m->mu);
    if (busy) {
        session_unref(m, s);
        return refuse(conn, 409, "invalid_request", "the session already has a GET stream");
    }
    stream_t *st = stream_new(m, s, NULL);
    if (!st) {
        pthread_mutex_lock(&m->mu);
        s->streamed = false;
        pthread_mutex_unlock(&m->mu);
        session_unref(m, s);
        return refuse(conn, 503, "internal", "out of memory");
    }
    st->seen = seen;
    tq_debug("mcp: a session opened its GET stream"); /* tests wait for it */
    return send_stream(conn, st, NULL);
}

static enum MHD_Result serve_delete(tq_mcp_http_t *m, struct MHD_Connection *conn,
                                    const tq_apikey_who_t *who)
{
    const char *sid = header(conn, "Mcp-Session-Id");
    if (!sid) return refuse(conn, 400, "invalid_request", "Mcp-Session-Id header missing");
    session_t *s = session_find(m, sid, who->hash);
    if (!s)
        return refuse(conn, 404, "mcp_session_not_found", "no such MCP session (ended or expired)");
    pthread_mutex_lock(&m->mu);
    bool last = session_unlink(m, s);
    pthread_mutex_unlock(&m->mu);
    (void)last; /* our own reference keeps it until here */
    session_unref(m, s);
    return send_text(conn, 204, NULL, NULL, NULL);
}

enum MHD_Result tq_mcp_http_serve(tq_mcp_http_t *m, struct MHD_Connection *conn, const char *method,
                                  const char *upload_data, size_t *upload_data_size)
{
    req_t *rq = req_get(conn);
    if (rq) { /* a POST body, then its last call */
        if (*upload_data_size) {
            if (!rq->too_large && rq->len + *upload_data_size <= m->max_body) {
                char *p = realloc(rq->body, rq->len + *upload_data_size + 1);
                if (!p)
                    rq->too_large = true;
                else {
                    memcpy(p + rq->len, upload_data, *upload_data_size);
                    rq->body = p;
                    rq->len += *upload_data_size;
                    p[rq->len] = '\0';
                }
            } else
                rq->too_large = true;
            *upload_data_size = 0;
            return MHD_YES;
        }
        return serve_post(m, conn, rq);
    }
    /* first call: key, rate, Origin, method — before anything else */
    req_done(); /* a request this thread left behind (aborted) */
    tq_apikey_who_t who;
    tq_error_t err = {0};
    if (tq_apikeys_verify(m->keys, header(conn, MHD_HTTP_HEADER_AUTHORIZATION), &who, &err))
        return refuse(conn, strcmp(err.code, "unauthorized") == 0 ? 401 : 503, err.code,
                      err.message);
    int retry_s = 1;
    if (!tq_apikeys_rate_take(m->keys, &who, &retry_s))
        return refuse(conn, 429, "rate_limited", "too many requests for this API key");
    if (!origin_ok(m, header(conn, "Origin")))
        return refuse(conn, 403, "origin_not_allowed",
                      "the Origin header names a site this listener does not serve");
    if (strcmp(method, MHD_HTTP_METHOD_GET) == 0) return serve_get(m, conn, &who);
    if (strcmp(method, MHD_HTTP_METHOD_DELETE) == 0) return serve_delete(m, conn, &who);
    if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
        return refuse(conn, 405, "method_not_allowed", "/mcp takes GET, POST and DELETE");
    const char *ct = header(conn, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!ct || strncasecmp(ct, "application/json", 16) != 0)
        return refuse(conn, 415, "unsupported_media_type", "POST /mcp takes application/json");
    pthread_once(&s_req_once, req_key_init);
    rq = calloc(1, sizeof *rq);
    if (!rq) return refuse(conn, 503, "internal", "out of memory");
    rq->conn = conn;
    rq->who = who;
    pthread_setspecific(s_req_key, rq);
    if (*upload_data_size) return tq_mcp_http_serve(m, conn, method, upload_data, upload_data_size);
    return MHD_YES;
}

/* --- lifecycle ---------------------------------------------------------------------------- */

tq_mcp_http_t *tq_mcp_http_new(tq_config_t *cfg, const char *frontend, const char *hosts,
                               bool https, tq_apikeys_t *keys, tq_error_t *err)
{
    int64_t max_sessions = tq_config_int(cfg, "mcp.max_sessions");
    int64_t idle = tq_config_int(cfg, "mcp.session_idle_s");
    int64_t page = tq_config_int(cfg, "mcp.page_size");
    int64_t call = tq_config_int(cfg, "mcp.call_timeout_ms");
    int64_t body = tq_config_int(cfg, "http.max_body_bytes");
    tq_mcp_http_t *m = calloc(1, sizeof *m);
    if (!m) {
        tq_error_set(err, "internal", "out of memory");
        return NULL;
    }
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cv, NULL);
    atomic_init(&m->stopping, false);
    atomic_init(&m->calls, 0);
    m->max_sessions = (int)max_sessions;
    m->idle_s = (int)idle;
    m->page_size = (int)page;
    m->call_timeout_ms = (int)call;
    m->max_body = (size_t)body;
    m->max_description = (int)tq_config_int(cfg, "import.max_description");
    m->https = https;
    m->frontend = strdup(frontend);
    m->hosts = strdup(hosts);
    m->conninfo = strdup(tq_config_str(cfg, "database.url"));
    m->keys = keys;
    if (!m->frontend || !m->hosts || !m->conninfo) {
        if (!tq_error_is_set(err)) tq_error_set(err, "internal", "out of memory");
        tq_mcp_http_destroy(&m);
        return NULL;
    }
    /* the broker takes its signals through a signalfd: block them here too */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int prc = pthread_create(&m->listener, NULL, listen_thread, m);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (prc != 0) {
        tq_error_set(err, "internal", "cannot start the provider change listener");
        tq_mcp_http_destroy(&m);
        return NULL;
    }
    m->listening = true;
    return m;
}

void tq_mcp_http_stop(tq_mcp_http_t *m)
{
    if (!m) return;
    atomic_store(&m->stopping, true);
    pthread_mutex_lock(&m->mu);
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
}

void tq_mcp_http_destroy(tq_mcp_http_t **self_p)
{
    if (!self_p || !*self_p) return;
    tq_mcp_http_t *m = *self_p;
    tq_mcp_http_stop(m);
    if (m->listening) pthread_join(m->listener, NULL);
    for (int ms = 0; ms < STOP_WAIT_MS && atomic_load(&m->calls) > 0; ms += 10)
        usleep(10000);
    if (atomic_load(&m->calls) > 0) { /* a call still uses the sessions: the process is ending */
        tq_warn("mcp: %d tool calls still running at shutdown", atomic_load(&m->calls));
        *self_p = NULL;
        return;
    }
    pthread_mutex_lock(&m->mu);
    session_t *dead = NULL;
    while (m->sessions) {
        session_t *s = m->sessions;
        if (session_unlink(m, s)) {
            s->next = dead;
            dead = s;
        }
    }
    pthread_mutex_unlock(&m->mu);
    free_dead(dead);
    free(m->frontend);
    free(m->hosts);
    free(m->conninfo);
    pthread_cond_destroy(&m->cv);
    pthread_mutex_destroy(&m->mu);
    free(m);
    *self_p = NULL;
}
