/* api.c — the /v1 HTTP/JSON API (see api.h and docs/api.md).
 *
 * Routes (JSON in and out; {id}, {name} percent-decoded by libmicrohttpd):
 *   POST   /v1/jobs                      submit {op, payload, tenant?, max_attempts?,
 *                                        priority?, timeout_ms?}; Idempotency-Key header;
 *                                        Prefer: wait=N
 *   GET    /v1/jobs/{id}                 the job; ?wait=N long-polls until it ends
 *   DELETE /v1/jobs/{id}                 cancel
 *   GET    /v1/providers                 provider.list
 *   POST   /v1/providers                 provider.import: the body is the document
 *                                        (?name=, ?server_url=), or multipart/form-data
 *                                        with several files (the first is the entry)
 *   GET|PUT|DELETE /v1/providers/{name}  provider.get / .update / .delete
 *   GET    /v1/tools                     tools.list (?format=, ?provider=, filters, pages)
 *   POST   /v1/providers/{p}/tools/{t}:invoke   invoke; the body is the arguments
 *   GET|POST /v1/credentials, GET|DELETE /v1/credentials/{name}
 *   POST   /v1/oauth/authorize           oauth.authorize
 *   GET    /v1/whoami, GET /v1/openapi.json
 *
 * Owns: the per-request state (the principal of the key, the body up to
 * http.max_body_bytes), the routing, the problem+json format, its client
 * pool (clients carry the on-behalf principal of the request they serve)
 * and the OpenAPI text.
 * Must never: read the body or reach the broker before the key checked out;
 * take a tenant or role from the request beyond what the key's role allows
 * the broker to accept (the broker decides, principal.c); put a key, a hash
 * or a credential value in a response or a log line; block the broker loop. */
#include "api.h"

#include "apikey.h"
#include "loop.h"
#include "log.h"
#include "opcat.h"
#include "toolq/client.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define POOL_MAX 64
#define SLICE_MS 1000   /* a long wait re-checks for shutdown this often */
#define ROUTE_WAIT_S 60 /* resource routes wait this long for their job */
#define REQUEST_MS 5000 /* a submit or job request without waiting */
#define MAX_PAGE 1000   /* ?limit of GET /v1/tools */
#define MAX_PARTS 256   /* files of one multipart import */

struct tq_api_t {
    char *frontend;
    char *openapi;
    tq_apikeys_t *keys;
    size_t max_body;
    int max_wait_s;
    const atomic_bool *stopping;
    pthread_mutex_t mu;
    tq_client_t *idle[POOL_MAX];
    int nidle;
};

typedef struct {
    bool started; /* the key was checked */
    tq_apikey_who_t who;
    char *body;
    size_t len, cap;
    bool too_large;
} req_t;

/* --- responses -------------------------------------------------------------------- */

unsigned tq_api_status_of(const char *code)
{
    static const struct {
        const char *code;
        unsigned status;
    } special[] = {
        {"unauthorized", 401},      {"rate_limited", 429},           {"quota_exceeded", 429},
        {"payload_too_large", 413}, {"unsupported_media_type", 415}, {"method_not_allowed", 405},
        {"timeout", 504},           {"not_cancellable", 409},
    };
    for (size_t i = 0; i < sizeof special / sizeof *special; i++)
        if (strcmp(code, special[i].code) == 0) return special[i].status;
    const char *cls = tq_error_class(code);
    if (!cls) return 500;
    if (!strcmp(cls, "input")) return 400;
    if (!strcmp(cls, "not_found")) return 404;
    if (!strcmp(cls, "conflict")) return 409;
    if (!strcmp(cls, "transient") || !strcmp(cls, "client")) return 503;
    if (!strcmp(cls, "upstream")) return 502;
    if (!strcmp(cls, "security")) return 403;
    return 500;
}

/* Queues a JSON body (value stolen) with optional extra header. */
static enum MHD_Result send_json(struct MHD_Connection *conn, unsigned status, const char *ctype,
                                 json_t *v, const char *hname, const char *hvalue)
{
    char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    if (!text) {
        status = 500;
        ctype = "application/problem+json";
        text = strdup("{\"type\":\"urn:toolq:error:internal\",\"title\":\"internal\","
                      "\"status\":500,\"code\":\"internal\",\"detail\":\"out of memory\"}");
        if (!text) return MHD_NO;
    }
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", ctype);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (hname) MHD_add_response_header(r, hname, hvalue);
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result ok_json(struct MHD_Connection *conn, unsigned status, json_t *v)
{
    return send_json(conn, status, "application/json", v, NULL, NULL);
}

/* RFC 9457 problem details with toolq's code (and the job it concerns). */
static enum MHD_Result problem_hdr(struct MHD_Connection *conn, const char *code,
                                   const char *detail, const char *job_id, const char *hname,
                                   const char *hvalue)
{
    if (!code || !*code) code = "internal";
    unsigned status = tq_api_status_of(code);
    char type[128];
    snprintf(type, sizeof type, "urn:toolq:error:%.80s", code);
    json_t *p = json_pack("{s:s,s:s,s:i,s:s,s:s}", "type", type, "title", code, "status",
                          (int)status, "code", code, "detail", detail ? detail : "");
    if (p && job_id && *job_id) json_object_set_new(p, "job", json_string(job_id));
    return send_json(conn, status, "application/problem+json", p, hname, hvalue);
}

static enum MHD_Result problem(struct MHD_Connection *conn, const char *code, const char *detail)
{
    return problem_hdr(conn, code, detail, NULL, NULL, NULL);
}

static enum MHD_Result not_allowed(struct MHD_Connection *conn, const char *allow)
{
    return problem_hdr(conn, "method_not_allowed", "this path does not take that method", NULL,
                       "Allow", allow);
}

/* --- clients --------------------------------------------------------------------------- */

/* A client acting for the request's key (role, tenant, name) and scoped to
 * the tenant the request may look at. */
static tq_client_t *client_for(tq_api_t *api, const req_t *q, const char *scope)
{
    tq_client_t *c = NULL;
    pthread_mutex_lock(&api->mu);
    if (api->nidle) c = api->idle[--api->nidle];
    pthread_mutex_unlock(&api->mu);
    if (!c && !(c = tq_client_new(api->frontend))) return NULL;
    char name[200];
    snprintf(name, sizeof name, "API key %s (%s)", q->who.name, q->who.id);
    tq_client_set_on_behalf(c, tq_role_name(q->who.role), q->who.tenant, name);
    tq_client_set_tenant(c, scope);
    return c;
}

/* Replies are matched by request id, so a client whose wait timed out can be
 * pooled: the late reply is skipped by the next call. */
static void client_give(tq_api_t *api, tq_client_t *c)
{
    if (!c) return;
    tq_client_set_on_behalf(c, NULL, NULL, NULL);
    pthread_mutex_lock(&api->mu);
    if (api->nidle < POOL_MAX) {
        api->idle[api->nidle++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&api->mu);
    tq_client_destroy(&c);
}

/* The tenant a request acts for: X-Toolq-Tenant (the broker refuses it for a
 * tenant key unless it is the key's own), else the key's. */
static const char *req_tenant(struct MHD_Connection *conn, const req_t *q)
{
    const char *t = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Toolq-Tenant");
    return t && *t ? t : q->who.tenant;
}

/* The scope of job lookups: an operator key sees every tenant's jobs unless
 * it names one; the others see their tenant's. */
static const char *req_scope(struct MHD_Connection *conn, const req_t *q)
{
    const char *t = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Toolq-Tenant");
    if (t && *t) return t;
    return q->who.role == TQ_ROLE_OPERATOR ? NULL : q->who.tenant;
}

/* --- jobs ------------------------------------------------------------------------------ */

static json_t *job_json(const tq_job_info_t *j)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:i}", "id", j->id, "op", j->op ? j->op : "", "state",
                          j->state ? j->state : "queued", "attempts", j->attempts);
    json_t *res = j->result ? json_loads(j->result, JSON_DECODE_ANY, NULL) : NULL;
    json_object_set_new(o, "result", res ? res : json_null());
    json_object_set_new(o, "error",
                        j->error_code ? json_pack("{s:s,s:s}", "code", j->error_code, "message",
                                                  j->error_message ? j->error_message : "")
                                      : json_null());
    return o;
}

static bool job_final(const tq_job_info_t *j)
{
    return j->state && strcmp(j->state, "queued") != 0 && strcmp(j->state, "running") != 0;
}

/* The client's last error as a problem. */
static enum MHD_Result client_problem(struct MHD_Connection *conn, tq_client_t *c, int rc)
{
    if (rc == TQ_CLIENT_TIMEOUT)
        return problem(conn, "timeout", "the broker did not answer in time");
    return problem(conn, tq_client_error_code(c), tq_client_error_message(c));
}

/* The next event for request rid before deadline (ms), received in slices
 * so that a stopping listener notices; late replies to earlier requests
 * are dropped. 0 with *ev; TQ_CLIENT_TIMEOUT at the deadline or when
 * stopping; another TQ_CLIENT_* code. */
static int recv_for(tq_api_t *api, tq_client_t *c, uint64_t rid, int64_t deadline,
                    tq_client_event_t *ev)
{
    while (!atomic_load(api->stopping)) {
        int64_t left = deadline - tq_now_ms();
        if (left <= 0) break;
        int rc = tq_client_recv(c, left > SLICE_MS ? SLICE_MS : (int)left, ev);
        if (rc == TQ_CLIENT_TIMEOUT) continue;
        if (rc) return rc;
        if (ev->rid == rid) return 0;
        tq_job_info_reset(&ev->job);
    }
    return TQ_CLIENT_TIMEOUT;
}

/* Waits up to wait_s for job id to end: one WAIT, then its RESULT; fills
 * *out with the final or, at the deadline, the current state. */
static int wait_job(tq_api_t *api, tq_client_t *c, const char *id, int wait_s, tq_job_info_t *out)
{
    memset(out, 0, sizeof *out);
    uint64_t rid = tq_client_send_wait(c, id);
    if (!rid) return TQ_CLIENT_ERROR;
    tq_client_event_t ev;
    int rc = recv_for(api, c, rid, tq_now_ms() + (int64_t)wait_s * 1000, &ev);
    if (rc == TQ_CLIENT_TIMEOUT) return tq_client_status(c, id, REQUEST_MS, out);
    if (rc) return rc;
    if (ev.type == TQ_EVENT_REJECTED) {
        tq_job_info_reset(&ev.job); /* the client holds the error */
        return TQ_CLIENT_REJECTED;
    }
    *out = ev.job;
    return 0;
}

/* Submits op and waits up to wait_s for its outcome (one round trip: the
 * SUBMIT asks for the RESULT too). 0 with *out filled (possibly still open),
 * TQ_CLIENT_REJECTED with out's error code and message, or another
 * TQ_CLIENT_* code. */
static int submit_wait(tq_api_t *api, tq_client_t *c, const char *tenant, const char *op,
                       const char *payload, const tq_submit_opts_t *o, int wait_s, bool *dup,
                       tq_job_info_t *out)
{
    memset(out, 0, sizeof *out);
    uint64_t rid = tq_client_send_submit(c, tenant, op, payload, o, wait_s > 0);
    if (!rid) return TQ_CLIENT_ERROR;
    tq_client_event_t ev;
    int rc = recv_for(api, c, rid, tq_now_ms() + REQUEST_MS, &ev); /* ACCEPTED */
    if (rc) return rc;
    if (ev.type == TQ_EVENT_ACCEPTED) {
        *dup = ev.dup;
        memcpy(out->id, ev.job.id, sizeof out->id);
        tq_job_info_reset(&ev.job);
        if (wait_s <= 0) return 0;
        rc = recv_for(api, c, rid, tq_now_ms() + (int64_t)wait_s * 1000, &ev); /* RESULT */
        if (rc == TQ_CLIENT_TIMEOUT) {
            char id[37];
            memcpy(id, out->id, sizeof id);
            return tq_client_status(c, id, REQUEST_MS, out);
        }
        if (rc) return rc;
    }
    *out = ev.job; /* RESULT, or REJECTED with its code */
    return ev.type == TQ_EVENT_REJECTED ? TQ_CLIENT_REJECTED : 0;
}

static int parse_wait(const char *s, int max)
{
    if (!s) return 0;
    char *end = NULL;
    long n = strtol(s, &end, 10);
    if (end == s || n < 0) return 0;
    return n > max ? max : (int)n;
}

/* "Prefer: wait=N" (RFC 7240), possibly among other preferences. */
static int prefer_wait(struct MHD_Connection *conn, int max)
{
    const char *p = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Prefer");
    for (; p && *p; p++) {
        while (*p == ' ' || *p == ',' || *p == ';')
            p++;
        if (strncasecmp(p, "wait=", 5) == 0) return parse_wait(p + 5, max);
        p += strcspn(p, ",;");
        if (!*p) break;
    }
    return 0;
}

static bool is_json_type(struct MHD_Connection *conn)
{
    const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    if (!ct) return false;
    size_t n = strcspn(ct, ";");
    while (n && ct[n - 1] == ' ')
        n--;
    return (n == 16 && strncasecmp(ct, "application/json", 16) == 0) ||
           (n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0);
}

/* The body as a JSON object, or a problem queued (*ret) and NULL. An empty
 * body is {} when empty_ok. */
static json_t *body_object(struct MHD_Connection *conn, const req_t *q, bool empty_ok,
                           enum MHD_Result *ret)
{
    if (q->len == 0 && empty_ok) return json_object();
    if (!is_json_type(conn)) {
        *ret = problem(conn, "unsupported_media_type", "the body must be application/json");
        return NULL;
    }
    json_error_t je;
    json_t *v = json_loadb(q->body ? q->body : "", q->len, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(v)) {
        char msg[300];
        if (v)
            snprintf(msg, sizeof msg, "the body must be a JSON object");
        else
            snprintf(msg, sizeof msg, "the body is not JSON: %.200s (line %d)", je.text, je.line);
        json_decref(v);
        *ret = problem(conn, "invalid_request", msg);
        return NULL;
    }
    return v;
}

static enum MHD_Result post_job(tq_api_t *api, struct MHD_Connection *conn, req_t *q)
{
    enum MHD_Result ret = MHD_NO;
    json_t *b = body_object(conn, q, false, &ret);
    if (!b) return ret;
    const char *op = json_string_value(json_object_get(b, "op"));
    json_t *payload = json_object_get(b, "payload");
    json_t *tenant = json_object_get(b, "tenant");
    if (!op || (payload && !json_is_object(payload)) || (tenant && !json_is_string(tenant))) {
        json_decref(b);
        return problem(conn, "invalid_request",
                       "the body must be {\"op\": NAME, \"payload\": {...}, \"tenant\"?: T, "
                       "\"max_attempts\"?, \"priority\"?, \"timeout_ms\"?}");
    }
    tq_submit_opts_t o = {0};
    /* a job resource: GET /v1/jobs/{id} must find it after it ended, so a
     * read-only op submitted here is journaled too (the resource routes are
     * answered directly: unjournaled reads, broker/README.md) */
    o.journal = true;
    o.idempotency_key = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Idempotency-Key");
    o.max_attempts = (int)json_integer_value(json_object_get(b, "max_attempts"));
    o.priority = (int)json_integer_value(json_object_get(b, "priority"));
    o.timeout_ms = (int)json_integer_value(json_object_get(b, "timeout_ms"));
    char *text = payload ? json_dumps(payload, JSON_COMPACT) : strdup("{}");
    tq_client_t *c = client_for(api, q, req_scope(conn, q));
    tq_job_info_t job = {0};
    bool dup = false;
    int wait_s = prefer_wait(conn, api->max_wait_s);
    int rc = c && text
                 ? submit_wait(api, c, tenant ? json_string_value(tenant) : req_tenant(conn, q), op,
                               text, &o, wait_s, &dup, &job)
                 : TQ_CLIENT_ERROR;
    free(text);
    json_decref(b);
    if (rc == TQ_CLIENT_REJECTED) {
        ret = problem(conn, job.error_code, job.error_message);
    } else if (rc) {
        ret = c ? client_problem(conn, c, rc) : problem(conn, "internal", "out of memory");
    } else {
        json_t *j =
            job.op ? job_json(&job) : json_pack("{s:s,s:s}", "id", job.id, "state", "queued");
        json_object_set_new(j, "duplicate", json_boolean(dup));
        char loc[64];
        snprintf(loc, sizeof loc, "/v1/jobs/%s", job.id);
        ret = send_json(conn, job_final(&job) ? 200 : 202, "application/json", j, "Location", loc);
    }
    tq_job_info_reset(&job);
    client_give(api, c);
    return ret;
}

static enum MHD_Result job_request(tq_api_t *api, struct MHD_Connection *conn, req_t *q,
                                   const char *id, bool cancel)
{
    tq_client_t *c = client_for(api, q, req_scope(conn, q));
    if (!c) return problem(conn, "internal", "out of memory");
    tq_job_info_t job = {0};
    int rc;
    if (cancel) {
        rc = tq_client_cancel(c, id, REQUEST_MS, &job);
    } else {
        int wait_s = parse_wait(MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "wait"),
                                api->max_wait_s);
        rc =
            wait_s ? wait_job(api, c, id, wait_s, &job) : tq_client_status(c, id, REQUEST_MS, &job);
    }
    enum MHD_Result ret = rc ? client_problem(conn, c, rc) : ok_json(conn, 200, job_json(&job));
    tq_job_info_reset(&job);
    client_give(api, c);
    return ret;
}

/* Runs op for the request's tenant and answers its result (status ok on
 * success), its error as a problem, or 202 with the job when it is still
 * open after ROUTE_WAIT_S. payload stolen. */
static enum MHD_Result run_op(tq_api_t *api, struct MHD_Connection *conn, req_t *q, const char *op,
                              json_t *payload, unsigned ok)
{
    if (!payload) /* json_pack refuses text that is not UTF-8 */
        return problem(conn, "invalid_request", "a path segment is not valid UTF-8");
    char *text = json_dumps(payload, JSON_COMPACT);
    json_decref(payload);
    tq_client_t *c = client_for(api, q, req_scope(conn, q));
    tq_job_info_t job = {0};
    bool dup = false;
    int rc = c && text ? submit_wait(api, c, req_tenant(conn, q), op, text, NULL, ROUTE_WAIT_S,
                                     &dup, &job)
                       : TQ_CLIENT_ERROR;
    free(text);
    enum MHD_Result ret;
    if (rc == TQ_CLIENT_REJECTED) {
        ret = problem(conn, job.error_code, job.error_message);
    } else if (rc) {
        ret = c ? client_problem(conn, c, rc) : problem(conn, "internal", "out of memory");
    } else if (!job_final(&job)) {
        char loc[64];
        snprintf(loc, sizeof loc, "/v1/jobs/%s", job.id);
        ret = send_json(conn, 202, "application/json", job_json(&job), "Location", loc);
    } else if (strcmp(job.state, "succeeded") != 0) {
        ret = problem_hdr(conn, job.error_code ? job.error_code : job.state, job.error_message,
                          job.id, NULL, NULL);
    } else {
        json_t *res = job.result ? json_loads(job.result, JSON_DECODE_ANY, NULL) : NULL;
        ret = ok_json(conn, ok, res ? res : json_null());
    }
    tq_job_info_reset(&job);
    client_give(api, c);
    return ret;
}

/* --- providers -------------------------------------------------------------------------- */

typedef struct {
    json_t *fields; /* form fields (name, server_url, ...) */
    json_t *files;  /* {filename: text} */
    char *entry;    /* first file's name */
    char *cur_key, *cur_file;
    char *buf;
    size_t len;
    bool bad;
} multipart_t;

static void part_flush(multipart_t *m)
{
    if (!m->cur_key) return;
    json_t *s = json_stringn(m->buf ? m->buf : "", m->len);
    if (!s) {
        m->bad = true; /* not UTF-8 */
    } else if (m->cur_file) {
        if (!m->entry) m->entry = strdup(m->cur_file);
        if (json_object_size(m->files) >= MAX_PARTS) m->bad = true;
        json_object_set_new(m->files, m->cur_file, s);
    } else {
        json_object_set_new(m->fields, m->cur_key, s);
    }
    free(m->cur_key);
    free(m->cur_file);
    free(m->buf);
    m->cur_key = m->cur_file = m->buf = NULL;
    m->len = 0;
}

static enum MHD_Result on_part(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *filename, const char *content_type,
                               const char *transfer_encoding, const char *data, uint64_t off,
                               size_t size)
{
    (void)kind;
    (void)content_type;
    (void)transfer_encoding;
    multipart_t *m = cls;
    bool same = m->cur_key && key && strcmp(m->cur_key, key) == 0 &&
                ((!m->cur_file && !filename) ||
                 (m->cur_file && filename && strcmp(m->cur_file, filename) == 0)) &&
                off > 0;
    if (!same) {
        part_flush(m);
        m->cur_key = strdup(key ? key : "");
        m->cur_file = filename && *filename ? strdup(filename) : NULL;
    }
    if (size) {
        char *nb = realloc(m->buf, m->len + size);
        if (!nb) {
            m->bad = true;
            return MHD_NO;
        }
        memcpy(nb + m->len, data, size);
        m->buf = nb;
        m->len += size;
    }
    return MHD_YES;
}

/* The provider.import / provider.update payload of a POST or PUT body, or a
 * problem queued (*ret) and NULL. name: from the path (PUT) or NULL. */
static json_t *import_payload(struct MHD_Connection *conn, req_t *q, const char *name,
                              enum MHD_Result *ret)
{
    const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    json_t *pl = json_object();
    const char *qs[] = {"name", "server_url", "description", NULL};
    for (int i = 0; qs[i]; i++) {
        const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, qs[i]);
        if (v) json_object_set_new(pl, qs[i], json_string(v));
    }
    if (ct && strncasecmp(ct, "multipart/form-data", 19) == 0) {
        multipart_t m = {json_object(), json_object(), NULL, NULL, NULL, NULL, 0, false};
        struct MHD_PostProcessor *pp = MHD_create_post_processor(conn, 65536, on_part, &m);
        bool ok = pp && MHD_post_process(pp, q->body ? q->body : "", q->len) == MHD_YES;
        if (pp) MHD_destroy_post_processor(pp);
        part_flush(&m);
        const char *key;
        json_t *v;
        json_object_foreach(m.fields, key, v) json_object_set(pl, key, v);
        json_t *entry = m.entry ? json_object_get(m.files, m.entry) : NULL;
        if (!ok || m.bad || !entry) {
            *ret = problem(conn, "invalid_request",
                           "a multipart import needs at least one file part (UTF-8 text; the "
                           "first is the entry document)");
            json_decref(pl);
            pl = NULL;
        } else {
            json_object_set(pl, "schema", entry);
            json_object_set_new(pl, "document_path", json_string(m.entry));
            json_object_del(m.files, m.entry);
            if (json_object_size(m.files)) json_object_set(pl, "files", m.files);
        }
        json_decref(m.fields);
        json_decref(m.files);
        free(m.entry);
        if (!pl) return NULL;
    } else if (!ct || (!is_json_type(conn) && strncasecmp(ct, "application/yaml", 16) != 0 &&
                       strncasecmp(ct, "application/x-yaml", 18) != 0 &&
                       strncasecmp(ct, "text/yaml", 9) != 0 && strncasecmp(ct, "text/plain", 10))) {
        json_decref(pl);
        *ret = problem(conn, "unsupported_media_type",
                       "send the document as application/json, application/yaml or text/yaml, "
                       "or several files as multipart/form-data");
        return NULL;
    } else {
        json_t *doc = json_stringn(q->body ? q->body : "", q->len);
        if (!doc || q->len == 0) {
            json_decref(doc);
            json_decref(pl);
            *ret =
                problem(conn, "invalid_request", "the body must be the API document (UTF-8 text)");
            return NULL;
        }
        json_object_set_new(pl, "schema", doc);
        if (!json_object_get(pl, "name") && is_json_type(conn)) { /* default: info.title */
            json_t *d = json_loadb(q->body, q->len, 0, NULL);
            const char *t = json_string_value(json_object_get(json_object_get(d, "info"), "title"));
            if (t) json_object_set_new(pl, "name", json_string(t));
            json_decref(d);
        }
    }
    if (name) json_object_set_new(pl, "name", json_string(name));
    if (!json_object_get(pl, "name")) {
        json_decref(pl);
        *ret = problem(conn, "invalid_request",
                       "name the provider: ?name=N (or a name form field, or info.title)");
        return NULL;
    }
    return pl;
}

/* --- tools ---------------------------------------------------------------------------- */

/* GET /v1/tools: tools.list, then one page of its tools (?limit, ?cursor). */
static enum MHD_Result get_tools(tq_api_t *api, struct MHD_Connection *conn, req_t *q)
{
#define ARG(n) MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, n)
    json_t *pl = json_object();
    if (ARG("format")) json_object_set_new(pl, "format", json_string(ARG("format")));
    if (ARG("provider")) json_object_set_new(pl, "provider", json_string(ARG("provider")));
    if (ARG("prefix")) json_object_set_new(pl, "prefix", json_string(ARG("prefix")));
    static const char *const lists[] = {"include_tags",  "exclude_tags", "include_paths",
                                        "exclude_paths", "methods",      NULL};
    json_t *filter = json_object();
    for (int i = 0; lists[i]; i++) {
        const char *v = ARG(lists[i]);
        if (!v) continue;
        json_t *a = json_array();
        for (const char *p = v; *p;) {
            size_t n = strcspn(p, ",");
            if (n) json_array_append_new(a, json_stringn(p, n));
            p += n;
            if (*p) p++;
        }
        json_object_set_new(filter, lists[i], a);
    }
    if (json_object_size(filter))
        json_object_set_new(pl, "filter", filter);
    else
        json_decref(filter);
    long limit = ARG("limit") ? strtol(ARG("limit"), NULL, 10) : 0;
    long cursor = ARG("cursor") ? strtol(ARG("cursor"), NULL, 10) : 0;
#undef ARG
    if (limit < 0 || limit > MAX_PAGE || cursor < 0) {
        json_decref(pl);
        return problem(conn, "invalid_request", "limit must be 0..1000 and cursor >= 0");
    }
    if (!limit) return run_op(api, conn, q, TQ_OP_tools_list, pl, 200);
    /* paged: run it here to cut the page */
    char *text = json_dumps(pl, JSON_COMPACT);
    json_decref(pl);
    tq_client_t *c = client_for(api, q, req_scope(conn, q));
    tq_job_info_t job = {0};
    bool dup;
    int rc = c && text ? submit_wait(api, c, req_tenant(conn, q), TQ_OP_tools_list, text, NULL,
                                     ROUTE_WAIT_S, &dup, &job)
                       : TQ_CLIENT_ERROR;
    free(text);
    enum MHD_Result ret;
    json_t *res = !rc && job.result ? json_loads(job.result, 0, NULL) : NULL;
    if (rc == TQ_CLIENT_REJECTED) {
        ret = problem(conn, job.error_code, job.error_message);
    } else if (rc) {
        ret = c ? client_problem(conn, c, rc) : problem(conn, "internal", "out of memory");
    } else if (!res) {
        ret = problem_hdr(conn, job.error_code ? job.error_code : "timeout", job.error_message,
                          job.id, NULL, NULL);
    } else {
        /* one list to page: openai's tools, or every provider's tools flattened */
        json_t *all = json_object_get(res, "tools");
        json_t *flat = NULL;
        if (!json_is_array(all)) {
            flat = json_array();
            size_t i, k;
            json_t *p, *t;
            json_array_foreach(json_object_get(res, "providers"), i, p)
                json_array_foreach(json_object_get(p, "tools"), k, t)
            {
                json_t *e = json_deep_copy(t);
                json_object_set(e, "provider", json_object_get(p, "provider"));
                json_array_append_new(flat, e);
            }
            all = flat;
        }
        json_t *page = json_array();
        size_t n = json_array_size(all);
        for (size_t i = (size_t)cursor; i < n && i < (size_t)(cursor + limit); i++)
            json_array_append(page, json_array_get(all, i));
        json_t *out = json_pack("{s:o}", "tools", page);
        if (json_object_get(res, "names"))
            json_object_set(out, "names", json_object_get(res, "names"));
        if (json_object_get(res, "format"))
            json_object_set(out, "format", json_object_get(res, "format"));
        char next[32];
        snprintf(next, sizeof next, "%ld", cursor + limit);
        json_object_set_new(out, "next_cursor",
                            (size_t)(cursor + limit) < n ? json_string(next) : json_null());
        json_decref(flat);
        ret = ok_json(conn, 200, out);
    }
    json_decref(res);
    tq_job_info_reset(&job);
    client_give(api, c);
    return ret;
}

/* --- dispatch -------------------------------------------------------------------------- */

static bool is(const char *method, const char *m)
{
    return strcmp(method, m) == 0;
}

static enum MHD_Result whoami(tq_api_t *api, struct MHD_Connection *conn, req_t *q)
{
    tq_client_t *c = client_for(api, q, NULL);
    char *text = NULL;
    int rc = c ? tq_client_whoami(c, REQUEST_MS, &text) : TQ_CLIENT_ERROR;
    enum MHD_Result ret;
    json_t *v = text ? json_loads(text, 0, NULL) : NULL;
    if (rc || !v) {
        ret = c ? client_problem(conn, c, rc ? rc : TQ_CLIENT_ERROR)
                : problem(conn, "internal", "out of memory");
        json_decref(v);
    } else {
        json_object_del(v, "uid"); /* the broker's own, not the caller's */
        json_object_del(v, "pid");
        json_object_set_new(v, "key_id", json_string(q->who.id));
        ret = ok_json(conn, 200, v);
    }
    free(text);
    client_give(api, c);
    return ret;
}

static enum MHD_Result route(tq_api_t *api, struct MHD_Connection *conn, const char *url,
                             const char *method, req_t *q)
{
    enum MHD_Result ret = MHD_NO;
    const char *p = url + 3; /* after "/v1" */
    if (!strcmp(p, "/openapi.json")) {
        if (!is(method, "GET")) return not_allowed(conn, "GET");
        return send_json(conn, 200, "application/json", json_loads(api->openapi, 0, NULL), NULL,
                         NULL);
    }
    if (!strcmp(p, "/whoami"))
        return is(method, "GET") ? whoami(api, conn, q) : not_allowed(conn, "GET");
    if (!strcmp(p, "/jobs"))
        return is(method, "POST") ? post_job(api, conn, q) : not_allowed(conn, "POST");
    if (!strncmp(p, "/jobs/", 6) && p[6] && !strchr(p + 6, '/')) {
        if (is(method, "GET")) return job_request(api, conn, q, p + 6, false);
        if (is(method, "DELETE")) return job_request(api, conn, q, p + 6, true);
        return not_allowed(conn, "GET, DELETE");
    }
    if (!strcmp(p, "/providers")) {
        if (is(method, "GET")) return run_op(api, conn, q, TQ_OP_provider_list, json_object(), 200);
        if (!is(method, "POST")) return not_allowed(conn, "GET, POST");
        json_t *pl = import_payload(conn, q, NULL, &ret);
        return pl ? run_op(api, conn, q, TQ_OP_provider_import, pl, 201) : ret;
    }
    if (!strncmp(p, "/providers/", 11) && p[11]) {
        const char *rest = p + 11, *slash = strchr(rest, '/');
        if (!slash) {
            json_t *pl = json_pack("{s:s}", "name", rest);
            if (is(method, "GET")) {
                const char *s =
                    MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "include_schema");
                if (s && !strcmp(s, "true")) json_object_set_new(pl, "include_schema", json_true());
                return run_op(api, conn, q, TQ_OP_provider_get, pl, 200);
            }
            if (is(method, "DELETE")) return run_op(api, conn, q, TQ_OP_provider_delete, pl, 200);
            json_decref(pl);
            if (!is(method, "PUT")) return not_allowed(conn, "GET, PUT, DELETE");
            char *name = strdup(rest);
            pl = name ? import_payload(conn, q, name, &ret) : NULL;
            free(name);
            return pl ? run_op(api, conn, q, TQ_OP_provider_update, pl, 200) : ret;
        }
        /* /providers/{p}/tools/{t}:invoke */
        size_t plen = (size_t)(slash - rest), tlen;
        const char *tool = slash + 1;
        if (strncmp(tool, "tools/", 6) == 0 && (tlen = strlen(tool + 6)) > 7 &&
            strcmp(tool + 6 + tlen - 7, ":invoke") == 0 && !strchr(tool + 6, '/')) {
            if (!is(method, "POST")) return not_allowed(conn, "POST");
            json_t *args = body_object(conn, q, true, &ret);
            if (!args) return ret;
            json_t *pl = json_pack("{s:s%,s:s%,s:o}", "provider", rest, plen, "tool", tool + 6,
                                   tlen - 7, "args", args);
            const char *cred =
                MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "credential");
            if (cred) json_object_set_new(pl, "credential", json_string(cred));
            return run_op(api, conn, q, TQ_OP_invoke, pl, 200);
        }
    }
    if (!strcmp(p, "/tools"))
        return is(method, "GET") ? get_tools(api, conn, q) : not_allowed(conn, "GET");
    if (!strcmp(p, "/credentials")) {
        if (is(method, "GET"))
            return run_op(api, conn, q, TQ_OP_credential_list, json_object(), 200);
        if (!is(method, "POST")) return not_allowed(conn, "GET, POST");
        json_t *pl = body_object(conn, q, false, &ret);
        return pl ? run_op(api, conn, q, TQ_OP_credential_create, pl, 201) : ret;
    }
    if (!strncmp(p, "/credentials/", 13) && p[13] && !strchr(p + 13, '/')) {
        json_t *pl = json_pack("{s:s}", "name", p + 13);
        if (is(method, "GET")) return run_op(api, conn, q, TQ_OP_credential_get, pl, 200);
        if (is(method, "DELETE")) return run_op(api, conn, q, TQ_OP_credential_delete, pl, 200);
        json_decref(pl);
        return not_allowed(conn, "GET, DELETE");
    }
    if (!strcmp(p, "/oauth/authorize")) {
        if (!is(method, "POST")) return not_allowed(conn, "POST");
        json_t *pl = body_object(conn, q, false, &ret);
        return pl ? run_op(api, conn, q, TQ_OP_oauth_authorize, pl, 200) : ret;
    }
    return problem(conn, "route_not_found", "the API has no such path (see /v1/openapi.json)");
}

enum MHD_Result tq_api_request(tq_api_t *api, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *upload_data,
                               size_t *upload_data_size, void **reqp)
{
    req_t *q = *reqp;
    if (!q->started) { /* headers only: the key first, before any body is read */
        q->started = true;
        tq_error_t err = {0};
        const char *auth =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
        if (tq_apikeys_verify(api->keys, auth, &q->who, &err)) {
            q->too_large = true; /* drop any body */
            if (strcmp(err.code, "unauthorized") == 0)
                return problem_hdr(conn, err.code, err.message, NULL, "WWW-Authenticate",
                                   "Bearer realm=\"toolq\"");
            return problem(conn, err.code, err.message);
        }
        int retry_s = 1;
        if (!tq_apikeys_rate_take(api->keys, &q->who, &retry_s)) {
            q->too_large = true;
            char ra[16];
            snprintf(ra, sizeof ra, "%d", retry_s);
            return problem_hdr(conn, "rate_limited",
                               "too many requests with this API key (apikey.rate_per_second)", NULL,
                               "Retry-After", ra);
        }
        const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > api->max_body) {
            q->too_large = true;
            return problem(conn, "payload_too_large",
                           "the body is larger than http.max_body_bytes");
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (q->too_large || q->len + n > api->max_body) {
            q->too_large = true;
            free(q->body);
            q->body = NULL;
            q->len = q->cap = 0;
            return MHD_YES;
        }
        if (q->len + n + 1 > q->cap) {
            size_t cap = q->cap ? q->cap : 4096;
            while (cap < q->len + n + 1)
                cap *= 2;
            char *nb = realloc(q->body, cap);
            if (!nb) return MHD_NO;
            q->body = nb;
            q->cap = cap;
        }
        memcpy(q->body + q->len, upload_data, n);
        q->len += n;
        q->body[q->len] = '\0';
        return MHD_YES;
    }
    if (q->too_large)
        return problem(conn, "payload_too_large", "the body is larger than http.max_body_bytes");
    return route(api, conn, url, method, q);
}

tq_apikeys_t *tq_api_keys(tq_api_t *api)
{
    return api->keys;
}

void *tq_api_request_new(void)
{
    return calloc(1, sizeof(req_t));
}

void tq_api_request_done(void *reqp)
{
    req_t *q = reqp;
    if (!q) return;
    free(q->body);
    free(q);
}

/* --- lifecycle ---------------------------------------------------------------------------- */

tq_api_t *tq_api_new(tq_config_t *cfg, const atomic_bool *stopping, tq_error_t *err)
{
    int64_t max_body = tq_config_int(cfg, "http.max_body_bytes"); /* ranges: config.c */
    int64_t max_wait = tq_config_int(cfg, "http.max_wait_s");
    tq_api_t *api = calloc(1, sizeof *api);
    if (!api) {
        tq_error_set(err, "internal", "out of memory");
        return NULL;
    }
    pthread_mutex_init(&api->mu, NULL);
    api->max_body = (size_t)max_body;
    api->max_wait_s = (int)max_wait;
    api->stopping = stopping;
    const char *listen = tq_config_str(cfg, "http.listen");
    bool tls = tq_config_str(cfg, "http.tls_cert") && *tq_config_str(cfg, "http.tls_cert");
    char server[300];
    snprintf(server, sizeof server, "%s://%s", tls ? "https" : "http", listen);
    api->frontend = strdup(tq_config_str(cfg, "broker.frontend"));
    api->openapi = tq_api_openapi(server);
    if (!api->frontend || !api->openapi || !(api->keys = tq_apikeys_new(cfg, err))) {
        if (!tq_error_is_set(err)) tq_error_set(err, "internal", "out of memory");
        tq_api_destroy(&api);
        return NULL;
    }
    return api;
}

void tq_api_destroy(tq_api_t **self_p)
{
    if (!self_p || !*self_p) return;
    tq_api_t *api = *self_p;
    for (int i = 0; i < api->nidle; i++)
        tq_client_destroy(&api->idle[i]);
    tq_apikeys_destroy(&api->keys);
    pthread_mutex_destroy(&api->mu);
    free(api->frontend);
    free(api->openapi);
    free(api);
    *self_p = NULL;
}
