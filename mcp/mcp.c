/* mcp.c — the Model Context Protocol engine (see mcp.h).
 *
 * Owns: the session's negotiated revision, its tool catalogue (built from a
 * tools.list job, filtered by the session's tool patterns, named by
 * tq_openapi_functions, the naming rule of `tools --format openai`), the
 * calls in flight (request id -> job id, for notifications/cancelled) and a
 * small pool of libtoolq clients (one per thread at a time).
 * Must never: run a tool the session's patterns do not allow, or one of
 * another tenant (every job names the session's tenant and the broker checks
 * it); put an argument value or a result into a log; answer a cancelled call. */
#include "mcp.h"
#include "loop.h"

#include <fnmatch.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "openapi/openapi.h"
#include "toolq/client.h"

#define MCP_POOL_MAX 8
#define MCP_LIST_TIMEOUT_MS 30000 /* the tools.list job behind tools/list */
#define MCP_CANCEL_TIMEOUT_MS 5000
#define MCP_PROGRESS_MS 1000 /* a running call reports progress this often */

/* JSON-RPC 2.0 error codes */
#define RPC_INVALID_REQUEST (-32600)
#define RPC_METHOD_NOT_FOUND (-32601)
#define RPC_INVALID_PARAMS (-32602)
#define RPC_INTERNAL (-32603)

typedef struct inflight {
    json_t *id; /* the request's id */
    char job[37];
    bool cancelled;
    struct inflight *next;
} inflight_t;

struct tq_mcp_t {
    pthread_mutex_t mu;
    char *endpoint, *tenant, *tools, *behalf_role, *behalf_name;
    bool list_changed;
    int page_size, call_timeout_ms, max_description;
    char version[16];  /* "" before initialize */
    json_t *catalogue; /* MCP tool objects, in order */
    json_t *targets;   /* name -> {provider, operation} */
    inflight_t *inflight;
    tq_client_t *idle[MCP_POOL_MAX];
    int nidle;
};

/* --- patterns ------------------------------------------------------------------------- */

bool tq_mcp_tool_allowed(const char *patterns, const char *provider, const char *operation)
{
    if (!patterns || !*patterns) return true;
    char full[600];
    snprintf(full, sizeof full, "%s/%s", provider, operation);
    const char *p = patterns;
    while (*p) {
        size_t n = strcspn(p, ",");
        char pat[600];
        if (n && n < sizeof pat) {
            memcpy(pat, p, n);
            pat[n] = '\0';
            if (fnmatch(pat, full, 0) == 0) return true;
        }
        p += n;
        if (*p == ',') p++;
    }
    return false;
}

/* Each pattern: "provider/operation" globs, the provider part without '/'. */
static int check_patterns(const char *patterns, tq_error_t *err)
{
    if (!patterns) return 0;
    const char *p = patterns;
    while (*p) {
        size_t n = strcspn(p, ",");
        const char *slash = memchr(p, '/', n);
        if (!n || n > 512 || !slash || slash == p || slash == p + n - 1 ||
            memchr(slash + 1, '/', (size_t)(p + n - slash - 1)))
            return tq_error_set(err, "invalid_argument",
                                "tool patterns: expected provider/operation globs separated by "
                                "commas (e.g. 'github/*,petstore/getPetById'), not '%.*s'",
                                (int)(n > 64 ? 64 : n), p);
        p += n;
        if (*p == ',' && !*++p) /* a trailing comma */
            return tq_error_set(err, "invalid_argument", "tool patterns: a trailing comma");
    }
    return 0;
}

/* --- lifecycle -------------------------------------------------------------------------- */

tq_mcp_t *tq_mcp_new(const tq_mcp_opts_t *opts, tq_error_t *err)
{
    if (check_patterns(opts->tools, err)) return NULL;
    tq_mcp_t *s = calloc(1, sizeof *s);
    if (!s) {
        tq_error_set(err, "internal", "out of memory");
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    s->endpoint = opts->endpoint ? strdup(opts->endpoint) : NULL;
    s->tenant = opts->tenant ? strdup(opts->tenant) : NULL;
    s->tools = opts->tools && *opts->tools ? strdup(opts->tools) : NULL;
    s->behalf_role = opts->behalf_role ? strdup(opts->behalf_role) : NULL;
    s->behalf_name = strdup(opts->behalf_name ? opts->behalf_name : "mcp");
    s->list_changed = opts->list_changed;
    s->page_size = opts->page_size > 0 ? opts->page_size : 100;
    s->call_timeout_ms = opts->call_timeout_ms > 0 ? opts->call_timeout_ms : 300000;
    s->max_description =
        opts->max_description > 0 ? opts->max_description : TQ_OPENAPI_DEFAULT_MAX_DESCRIPTION;
    if ((opts->endpoint && !s->endpoint) || (opts->tenant && !s->tenant) ||
        (s->tools == NULL && opts->tools && *opts->tools) ||
        (opts->behalf_role && !s->behalf_role) || !s->behalf_name) {
        tq_mcp_destroy(&s);
        tq_error_set(err, "internal", "out of memory");
        return NULL;
    }
    return s;
}

void tq_mcp_destroy(tq_mcp_t **self_p)
{
    if (!self_p || !*self_p) return;
    tq_mcp_t *s = *self_p;
    for (int i = 0; i < s->nidle; i++)
        tq_client_destroy(&s->idle[i]);
    while (s->inflight) { /* only when a transport destroys a session mid-call: not expected */
        inflight_t *f = s->inflight;
        s->inflight = f->next;
        json_decref(f->id);
        free(f);
    }
    json_decref(s->catalogue);
    json_decref(s->targets);
    free(s->endpoint);
    free(s->tenant);
    free(s->tools);
    free(s->behalf_role);
    free(s->behalf_name);
    pthread_mutex_destroy(&s->mu);
    free(s);
    *self_p = NULL;
}

const char *tq_mcp_version(tq_mcp_t *self)
{
    pthread_mutex_lock(&self->mu);
    const char *v = self->version[0] ? self->version : NULL;
    pthread_mutex_unlock(&self->mu);
    return v;
}

bool tq_mcp_version_known(const char *s)
{
    static const char *const versions[] = TQ_MCP_VERSIONS;
    for (int i = 0; s && versions[i]; i++)
        if (strcmp(s, versions[i]) == 0) return true;
    return false;
}

void tq_mcp_tools_changed(tq_mcp_t *self)
{
    pthread_mutex_lock(&self->mu);
    json_decref(self->catalogue);
    json_decref(self->targets);
    self->catalogue = self->targets = NULL;
    pthread_mutex_unlock(&self->mu);
}

/* --- clients ----------------------------------------------------------------------------- */

static tq_client_t *client_take(tq_mcp_t *s)
{
    pthread_mutex_lock(&s->mu);
    tq_client_t *c = s->nidle ? s->idle[--s->nidle] : NULL;
    pthread_mutex_unlock(&s->mu);
    if (!c) {
        c = tq_client_new(s->endpoint);
        if (c && s->tenant) tq_client_set_tenant(c, s->tenant);
        if (c && s->behalf_role)
            tq_client_set_on_behalf(c, s->behalf_role, s->tenant, s->behalf_name);
    }
    return c;
}

/* clean: no request of this client is still unanswered. */
static void client_give(tq_mcp_t *s, tq_client_t *c, bool clean)
{
    if (!c) return;
    pthread_mutex_lock(&s->mu);
    if (clean && s->nidle < MCP_POOL_MAX) {
        s->idle[s->nidle++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&s->mu);
    tq_client_destroy(&c);
}

/* --- messages ------------------------------------------------------------------------------ */

json_t *tq_mcp_error(const json_t *id, int code, const char *message)
{
    return json_pack("{s:s,s:O,s:{s:i,s:s}}", "jsonrpc", "2.0", "id",
                     id ? (json_t *)id : json_null(), "error", "code", code, "message", message);
}

static json_t *error_data(const json_t *id, int code, const char *message, const char *tq_code)
{
    json_t *r = tq_mcp_error(id, code, message);
    json_object_set_new(json_object_get(r, "error"), "data", json_pack("{s:s}", "code", tq_code));
    return r;
}

static json_t *result(const json_t *id, json_t *res)
{
    return json_pack("{s:s,s:O,s:o}", "jsonrpc", "2.0", "id", (json_t *)id, "result", res);
}

bool tq_mcp_is_request(const json_t *msg)
{
    json_t *id = json_object_get(msg, "id");
    return json_is_string(json_object_get(msg, "method")) &&
           (json_is_string(id) || json_is_integer(id));
}

/* --- initialize ---------------------------------------------------------------------------- */

static json_t *do_initialize(tq_mcp_t *s, const json_t *id, const json_t *params)
{
    const char *want = json_string_value(json_object_get(params, "protocolVersion"));
    if (!want) return tq_mcp_error(id, RPC_INVALID_PARAMS, "initialize: protocolVersion missing");
    static const char *const versions[] = TQ_MCP_VERSIONS;
    const char *v = tq_mcp_version_known(want) ? want : versions[0];
    pthread_mutex_lock(&s->mu);
    bool again = s->version[0] != '\0';
    if (!again) snprintf(s->version, sizeof s->version, "%s", v);
    pthread_mutex_unlock(&s->mu);
    if (again) return tq_mcp_error(id, RPC_INVALID_REQUEST, "the session is already initialized");
    return result(
        id, json_pack("{s:s,s:{s:{s:b}},s:{s:s,s:s,s:s},s:s}", "protocolVersion", v, "capabilities",
                      "tools", "listChanged", s->list_changed, "serverInfo", "name", "toolq",
                      "title", "toolq: the tenant's imported API tools", "version", TOOLQ_VERSION,
                      "instructions",
                      "Each tool is one operation of an HTTP API the tenant imported into toolq; "
                      "toolq adds the credentials. A result's structuredContent is the HTTP answer "
                      "(ok, status, headers, body)."));
}

/* --- catalogue ------------------------------------------------------------------------------- */

static json_t *annotations(const char *method)
{
    bool ro = method && (!strcasecmp(method, "GET") || !strcasecmp(method, "HEAD"));
    json_t *a = json_pack("{s:b,s:b}", "readOnlyHint", ro, "openWorldHint", 1);
    if (!ro) {
        json_object_set_new(a, "destructiveHint",
                            json_boolean(method && !strcasecmp(method, "DELETE")));
        json_object_set_new(a, "idempotentHint",
                            json_boolean(method && !strcasecmp(method, "PUT")));
    }
    return a;
}

/* The session's tools from a tools.list result ({providers: [{provider, tools}]}):
 * filtered by the patterns, named by tq_openapi_functions. */
static int build_catalogue(tq_mcp_t *s, json_t *listed, json_t **cat_out, json_t **targets_out,
                           tq_error_t *err)
{
    json_t *providers = json_array(), *bundles = json_object();
    size_t i, j;
    json_t *p, *b;
    json_array_foreach(json_object_get(listed, "providers"), i, p)
    {
        const char *prov = json_string_value(json_object_get(p, "provider"));
        if (!prov) continue;
        json_t *kept = json_array();
        json_array_foreach(json_object_get(p, "tools"), j, b)
        {
            const char *op = json_string_value(json_object_get(b, "operation_id"));
            if (!op || !tq_mcp_tool_allowed(s->tools, prov, op)) continue;
            json_array_append(kept, b);
            char key[600];
            snprintf(key, sizeof key, "%s/%s", prov, op);
            json_object_set(bundles, key, b);
        }
        json_array_append_new(providers, json_pack("{s:s,s:o}", "provider", prov, "tools", kept));
    }
    tq_openapi_fn_opts_t fo;
    tq_openapi_fn_opts_default(&fo);
    fo.max_description = (size_t)s->max_description;
    json_t *fns = tq_openapi_functions(providers, &fo, err);
    json_decref(providers);
    if (!fns) {
        json_decref(bundles);
        return -1;
    }
    json_t *cat = json_array(), *targets = json_object(), *names = json_object_get(fns, "names");
    json_array_foreach(json_object_get(fns, "tools"), i, p)
    {
        json_t *fn = json_object_get(p, "function");
        const char *name = json_string_value(json_object_get(fn, "name"));
        json_t *target = json_object_get(names, name);
        const char *prov = json_string_value(json_object_get(target, "provider"));
        const char *op = json_string_value(json_object_get(target, "operation_id"));
        if (!name || !prov || !op) continue;
        char key[600];
        snprintf(key, sizeof key, "%s/%s", prov, op);
        b = json_object_get(bundles, key);
        json_t *schema = json_deep_copy(json_object_get(fn, "parameters"));
        if (!json_is_object(schema)) {
            json_decref(schema);
            schema = json_object();
        }
        json_object_set_new(schema, "type", json_string("object"));
        json_t *tool =
            json_pack("{s:s,s:O,s:o,s:o}", "name", name, "description",
                      json_object_get(fn, "description"), "inputSchema", schema, "annotations",
                      annotations(json_string_value(json_object_get(b, "method"))));
        const char *title = json_string_value(json_object_get(b, "summary"));
        if (title && *title) {
            json_object_set_new(tool, "title", json_string(title));
            json_object_set_new(json_object_get(tool, "annotations"), "title", json_string(title));
        }
        json_array_append_new(cat, tool);
        json_object_set_new(targets, name,
                            json_pack("{s:s,s:s}", "provider", prov, "operation", op));
    }
    json_decref(fns);
    json_decref(bundles);
    *cat_out = cat;
    *targets_out = targets;
    return 0;
}

/* Sets err from a libtoolq failure, or from a job that did not succeed. */
static void call_error(tq_client_t *c, int rc, const tq_job_info_t *job, tq_error_t *err)
{
    if (rc != TQ_CLIENT_OK)
        tq_error_set(err, tq_client_error_code(c) ? tq_client_error_code(c) : "internal", "%s",
                     tq_client_error_message(c) ? tq_client_error_message(c) : "request failed");
    else
        tq_error_set(err, job->error_code ? job->error_code : "internal", "%s",
                     job->error_message ? job->error_message : job->state);
}

/* Runs tools.list and installs a fresh catalogue; the caller gets references. */
static int refresh_catalogue(tq_mcp_t *s, json_t **cat, json_t **targets, tq_error_t *err)
{
    tq_client_t *c = client_take(s);
    if (!c) return tq_error_set(err, "internal", "out of memory");
    tq_job_info_t job = {0};
    int rc = tq_client_call(c, s->tenant, "tools.list", "{\"format\":\"toolq\"}", NULL,
                            MCP_LIST_TIMEOUT_MS, &job);
    json_t *listed = NULL;
    if (rc != TQ_CLIENT_OK || strcmp(job.state, "succeeded") != 0 || !job.result ||
        !(listed = json_loads(job.result, 0, NULL)))
        call_error(c, rc, &job, err);
    client_give(s, c, rc != TQ_CLIENT_TIMEOUT);
    tq_job_info_reset(&job);
    if (!listed) return -1;
    rc = build_catalogue(s, listed, cat, targets, err);
    json_decref(listed);
    if (rc) return -1;
    pthread_mutex_lock(&s->mu);
    json_decref(s->catalogue);
    json_decref(s->targets);
    s->catalogue = json_incref(*cat);
    s->targets = json_incref(*targets);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

/* The cached catalogue (references), or a fresh one when there is none or fresh is set. */
static int catalogue(tq_mcp_t *s, bool fresh, json_t **cat, json_t **targets, tq_error_t *err)
{
    pthread_mutex_lock(&s->mu);
    *cat = fresh ? NULL : json_incref(s->catalogue);
    *targets = fresh ? NULL : json_incref(s->targets);
    pthread_mutex_unlock(&s->mu);
    if (*cat && *targets) return 0;
    json_decref(*cat);
    json_decref(*targets);
    *cat = *targets = NULL;
    return refresh_catalogue(s, cat, targets, err);
}

static json_t *toolq_failure(const json_t *id, const char *what, const tq_error_t *err)
{
    char msg[700];
    snprintf(msg, sizeof msg, "%s: %s: %s", what, err->code, err->message);
    return error_data(id, RPC_INTERNAL, msg, err->code);
}

/* --- tools/list ----------------------------------------------------------------------------- */

/* Cursors are the decimal offset of the page's first tool. Without a cursor
 * the catalogue is built afresh (clients list again after list_changed). */
static json_t *do_tools_list(tq_mcp_t *s, const json_t *id, const json_t *params)
{
    json_t *jc = json_object_get(params, "cursor");
    size_t offset = 0;
    if (jc && !json_is_null(jc)) {
        const char *c = json_string_value(jc);
        char *end = NULL;
        unsigned long long v = c && *c >= '0' && *c <= '9' ? strtoull(c, &end, 10) : 0;
        if (!c || !end || *end || v > 1000000000ULL)
            return tq_mcp_error(id, RPC_INVALID_PARAMS, "tools/list: invalid cursor");
        offset = (size_t)v;
    }
    json_t *cat = NULL, *targets = NULL;
    tq_error_t err = {0};
    if (catalogue(s, offset == 0, &cat, &targets, &err))
        return toolq_failure(id, "tools/list", &err);
    size_t n = json_array_size(cat);
    if (offset > n) {
        json_decref(cat);
        json_decref(targets);
        return tq_mcp_error(id, RPC_INVALID_PARAMS, "tools/list: invalid cursor");
    }
    json_t *page = json_array();
    for (size_t i = offset; i < n && i < offset + (size_t)s->page_size; i++)
        json_array_append(page, json_array_get(cat, i));
    json_t *res = json_pack("{s:o}", "tools", page);
    if (offset + (size_t)s->page_size < n) {
        char next[32];
        snprintf(next, sizeof next, "%zu", offset + (size_t)s->page_size);
        json_object_set_new(res, "nextCursor", json_string(next));
    }
    json_decref(cat);
    json_decref(targets);
    return result(id, res);
}

/* --- tools/call ------------------------------------------------------------------------------ */

static void cancel_job(tq_mcp_t *s, const char *job_id)
{
    tq_client_t *c = client_take(s);
    if (!c) return;
    tq_job_info_t job = {0};
    int rc = tq_client_cancel(c, job_id, MCP_CANCEL_TIMEOUT_MS, &job);
    tq_job_info_reset(&job);
    client_give(s, c, rc != TQ_CLIENT_TIMEOUT);
}

static inflight_t *inflight_add(tq_mcp_t *s, const json_t *id)
{
    inflight_t *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    f->id = json_deep_copy(id);
    pthread_mutex_lock(&s->mu);
    f->next = s->inflight;
    s->inflight = f;
    pthread_mutex_unlock(&s->mu);
    return f;
}

static void inflight_remove(tq_mcp_t *s, inflight_t *f)
{
    pthread_mutex_lock(&s->mu);
    for (inflight_t **pp = &s->inflight; *pp; pp = &(*pp)->next)
        if (*pp == f) {
            *pp = f->next;
            break;
        }
    pthread_mutex_unlock(&s->mu);
    json_decref(f->id);
    free(f);
}

/* A tool-level failure: isError with the toolq code in text and structuredContent. */
static json_t *call_failed(const json_t *id, const char *code, const char *message)
{
    char text[1200];
    snprintf(text, sizeof text, "%s: %s", code, message ? message : "");
    return result(id, json_pack("{s:[{s:s,s:s}],s:{s:{s:s,s:s}},s:b}", "content", "type", "text",
                                "text", text, "structuredContent", "error", "code", code, "message",
                                message ? message : "", "isError", 1));
}

static json_t *call_succeeded(const json_t *id, const char *result_text)
{
    json_t *r = json_loads(result_text, 0, NULL);
    if (!json_is_object(r)) {
        json_decref(r);
        return call_failed(id, "internal", "the invoke job's result is not an object");
    }
    bool ok = json_is_true(json_object_get(r, "ok"));
    json_t *res =
        json_pack("{s:[{s:s,s:s%}],s:o,s:b}", "content", "type", "text", "text", result_text,
                  strlen(result_text), "structuredContent", r, "isError", !ok);
    if (!ok) { /* the HTTP error's code first, so a reader of the text sees it at once */
        json_t *e = json_object_get(r, "error");
        char head[300];
        snprintf(head, sizeof head, "%s: %s",
                 json_string_value(json_object_get(e, "code"))
                     ? json_string_value(json_object_get(e, "code"))
                     : "http_error",
                 json_string_value(json_object_get(e, "message"))
                     ? json_string_value(json_object_get(e, "message"))
                     : "the API answered an error");
        json_array_insert_new(json_object_get(res, "content"), 0,
                              json_pack("{s:s,s:s}", "type", "text", "text", head));
    }
    return result(id, res);
}

static void emit_progress(tq_mcp_emit_fn emit, void *arg, const json_t *token, int n,
                          const char *job)
{
    char msg[80];
    snprintf(msg, sizeof msg, "job %s running for %d s", job[0] ? job : "(queued)", n);
    json_t *m =
        json_pack("{s:s,s:s,s:{s:O,s:i,s:s}}", "jsonrpc", "2.0", "method", "notifications/progress",
                  "params", "progressToken", (json_t *)token, "progress", n, "message", msg);
    emit(arg, m);
    json_decref(m);
}

static json_t *do_tools_call(tq_mcp_t *s, const json_t *id, const json_t *params,
                             tq_mcp_emit_fn emit, void *arg)
{
    const char *name = json_string_value(json_object_get(params, "name"));
    json_t *args = json_object_get(params, "arguments");
    if (!name) return tq_mcp_error(id, RPC_INVALID_PARAMS, "tools/call: name missing");
    if (args && !json_is_null(args) && !json_is_object(args))
        return tq_mcp_error(id, RPC_INVALID_PARAMS, "tools/call: arguments must be an object");
    json_t *token = json_object_get(json_object_get(params, "_meta"), "progressToken");
    if (!json_is_string(token) && !json_is_integer(token)) token = NULL;

    json_t *cat = NULL, *targets = NULL;
    tq_error_t err = {0};
    if (catalogue(s, false, &cat, &targets, &err)) return toolq_failure(id, "tools/call", &err);
    json_t *target = json_object_get(targets, name);
    if (!target) { /* maybe imported since the catalogue was built */
        json_decref(cat);
        json_decref(targets);
        if (catalogue(s, true, &cat, &targets, &err)) return toolq_failure(id, "tools/call", &err);
        target = json_object_get(targets, name);
    }
    if (!target) {
        json_decref(cat);
        json_decref(targets);
        char msg[160];
        snprintf(msg, sizeof msg, "Unknown tool: %.64s", name);
        return error_data(id, RPC_INVALID_PARAMS, msg, "tool_not_found");
    }
    json_t *payload = json_pack("{s:O,s:O,s:o}", "provider", json_object_get(target, "provider"),
                                "tool", json_object_get(target, "operation"), "args",
                                json_is_object(args) ? json_incref(args) : json_object());
    json_decref(cat);
    json_decref(targets);
    char *text = json_dumps(payload, JSON_COMPACT);
    json_decref(payload);
    inflight_t *f = text ? inflight_add(s, id) : NULL;
    tq_client_t *c = f ? client_take(s) : NULL;
    if (!c) {
        free(text);
        if (f) inflight_remove(s, f);
        return tq_mcp_error(id, RPC_INTERNAL, "out of memory");
    }
    uint64_t rid = tq_client_send_submit(c, s->tenant, "invoke", text, NULL, true);
    free(text);
    json_t *res = NULL;
    bool clean = false;
    int64_t start = tq_now_ms(), deadline = start + s->call_timeout_ms;
    int64_t next_progress = start + MCP_PROGRESS_MS;
    int ticks = 0;
    while (rid && !res) {
        int64_t now = tq_now_ms();
        if (now >= deadline) {
            res =
                call_failed(id, "timeout", "the tool call did not end within mcp.call_timeout_ms");
            break;
        }
        int64_t until = token && emit && next_progress < deadline ? next_progress : deadline;
        tq_client_event_t ev;
        memset(&ev, 0, sizeof ev);
        int rc = tq_client_recv(c, (int)(until > now ? until - now : 0), &ev);
        if (rc == TQ_CLIENT_TIMEOUT) {
            if (token && emit && tq_now_ms() >= next_progress) {
                char job[37];
                pthread_mutex_lock(&s->mu);
                memcpy(job, f->job, sizeof job);
                pthread_mutex_unlock(&s->mu);
                emit_progress(emit, arg, token, ++ticks, job);
                next_progress += MCP_PROGRESS_MS;
            }
            continue;
        }
        if (rc != TQ_CLIENT_OK) {
            res = call_failed(id, tq_client_error_code(c) ? tq_client_error_code(c) : "internal",
                              tq_client_error_message(c));
            break;
        }
        if (ev.rid != rid) {
            tq_job_info_reset(&ev.job);
            continue;
        }
        if (ev.type == TQ_EVENT_ACCEPTED) {
            pthread_mutex_lock(&s->mu);
            memcpy(f->job, ev.job.id, sizeof f->job);
            bool cancel = f->cancelled;
            pthread_mutex_unlock(&s->mu);
            if (cancel) cancel_job(s, ev.job.id);
        } else if (ev.type == TQ_EVENT_REJECTED) {
            res = call_failed(id, ev.job.error_code ? ev.job.error_code : "internal",
                              ev.job.error_message);
            clean = true;
        } else if (ev.type == TQ_EVENT_RESULT) {
            clean = true;
            pthread_mutex_lock(&s->mu);
            bool cancelled = f->cancelled;
            pthread_mutex_unlock(&s->mu);
            if (cancelled && strcmp(ev.job.state, "succeeded") != 0) {
                tq_job_info_reset(&ev.job);
                break; /* no response for a cancelled request */
            }
            if (strcmp(ev.job.state, "succeeded") == 0 && ev.job.result)
                res = call_succeeded(id, ev.job.result);
            else
                res = call_failed(id, ev.job.error_code ? ev.job.error_code : ev.job.state,
                                  ev.job.error_message);
        }
        tq_job_info_reset(&ev.job);
    }
    if (!rid)
        res = call_failed(id, tq_client_error_code(c) ? tq_client_error_code(c) : "internal",
                          tq_client_error_message(c));
    client_give(s, c, clean);
    pthread_mutex_lock(&s->mu);
    bool cancelled = f->cancelled;
    pthread_mutex_unlock(&s->mu);
    inflight_remove(s, f);
    if (cancelled) { /* the cancellation won even if the call ended first */
        json_decref(res);
        return NULL;
    }
    return res;
}

static void do_cancelled(tq_mcp_t *s, const json_t *params)
{
    json_t *rid = json_object_get(params, "requestId");
    char job[37] = "";
    pthread_mutex_lock(&s->mu);
    for (inflight_t *f = s->inflight; rid && f; f = f->next)
        if (json_equal(f->id, rid)) {
            f->cancelled = true;
            memcpy(job, f->job, sizeof job);
            break;
        }
    pthread_mutex_unlock(&s->mu);
    if (job[0]) cancel_job(s, job);
}

/* --- dispatch ----------------------------------------------------------------------------- */

json_t *tq_mcp_handle(tq_mcp_t *s, const json_t *msg, tq_mcp_emit_fn emit, void *arg)
{
    if (!json_is_object(msg))
        return tq_mcp_error(NULL, RPC_INVALID_REQUEST, "not a JSON-RPC message");
    json_t *id = json_object_get(msg, "id");
    const char *jsonrpc = json_string_value(json_object_get(msg, "jsonrpc"));
    json_t *jm = json_object_get(msg, "method");
    const char *method = json_string_value(jm);
    if (id && !json_is_string(id) && !json_is_integer(id))
        return tq_mcp_error(NULL, RPC_INVALID_REQUEST, "id must be a string or an integer");
    if (!jsonrpc || strcmp(jsonrpc, "2.0") != 0 || (jm && !method))
        return tq_mcp_error(id, RPC_INVALID_REQUEST, "not a JSON-RPC 2.0 message");
    if (!method) { /* a response from the client: we send no requests, nothing to match */
        if (id && (json_object_get(msg, "result") || json_object_get(msg, "error"))) return NULL;
        return tq_mcp_error(id, RPC_INVALID_REQUEST, "a message needs a method, or a result");
    }
    json_t *params = json_object_get(msg, "params");
    if (params && !json_is_object(params))
        return id ? tq_mcp_error(id, RPC_INVALID_PARAMS, "params must be an object") : NULL;
    if (!id) { /* notifications */
        if (strcmp(method, "notifications/cancelled") == 0) do_cancelled(s, params);
        return NULL; /* initialized, roots/list_changed ...: nothing to do */
    }
    if (strcmp(method, "initialize") == 0) return do_initialize(s, id, params);
    if (strcmp(method, "ping") == 0) return result(id, json_object());
    if (!tq_mcp_version(s))
        return tq_mcp_error(id, RPC_INVALID_REQUEST, "initialize the session first");
    if (strcmp(method, "tools/list") == 0) return do_tools_list(s, id, params);
    if (strcmp(method, "tools/call") == 0) return do_tools_call(s, id, params, emit, arg);
    char m[160];
    snprintf(m, sizeof m, "Method not found: %.100s", method);
    return tq_mcp_error(id, RPC_METHOD_NOT_FOUND, m);
}
