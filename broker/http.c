/* http.c — the broker's HTTP listener (see http.h).
 *
 * Every request first needs a Host header naming the public host (the
 * authority of oauth.redirect_uri), http.listen or an http.allowed_hosts
 * entry: 400 without one, 421 with another (DNS rebinding).
 * Routes (unknown paths 404, other methods 405):
 *   /oauth/start     GET: claims the authorization's state for this browser
 *                    (oauth_gate.c), sets the binding cookie and answers 302
 *                    to the provider's authorization URL.
 *   /oauth/callback  GET: checks the state's shape, existence and the
 *                    browser's binding cookie (oauth_gate.c) without any job;
 *                    then submits oauth.exchange (tenant "*oauth*": the op
 *                    finds the real tenant from the state) and waits for its
 *                    outcome, then answers a small HTML page, or a 302 to
 *                    oauth.return_url. Both /oauth/ paths are rate-limited
 *                    per client address (http.oauth_rate_per_minute, 429).
 *   /healthz         GET, HEAD: 200 "ok" when the broker answers STATS in
 *                    time, its database answered and at least one worker is
 *                    registered.
 *   /metrics         GET, HEAD: STATS as Prometheus text exposition 0.0.4.
 *   Both use one STATS answer for http.stats_cache_ms (one request at a time
 *   asks the broker), so a flood never becomes one journal count each.
 *   /mcp             GET, POST, DELETE: the MCP endpoint (mcp_http.c; API key).
 *
 *   /v1/...          the HTTP/JSON API: api.c (after the Host check).
 *
 * Threads: libmicrohttpd runs one thread per connection (bounded by
 * http.max_connections); each request borrows a tq_client_t from a small pool
 * (a client is never shared by two threads at once) and talks to the broker's
 * frontend like any other client.
 *
 * Owns: the daemon, the client pool, the STATS cache, the per-address rate
 * limiter, the Host check, the binding cookie, the page and exposition formats.
 * Must never: read or change broker state except through the frontend (the
 * OAuth state checks go through oauth_gate.c's own connection); submit a job
 * for a callback whose state or binding does not check out; log,
 * show or redirect with an authorization code, a state or a token (only job
 * ids, error codes and the fields the op returns for display); print anything
 * it did not escape; block the broker loop. */
#include "http.h"
#include "loop.h"

#include "api.h"
#include "buf.h"
#include "log.h"
#include "vault.h"
#include "mcp_http.h"
#include "oauth_gate.h"
#include "opcat.h"
#include "toolq/client.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <strings.h>
#include <time.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define HTTP_POOL_MAX 8            /* idle clients kept */
#define HTTP_STATS_TIMEOUT_MS 3000 /* /healthz and /metrics */
#define HTTP_WAIT_SLICE_MS 200     /* how often a waiting callback checks for shutdown */
#define HTTP_STOP_GRACE_MS 1000    /* time in-flight requests get to answer at shutdown */
/* Bounds on callback parameters (bytes, after percent-decoding). */
#define MAX_STATE 512
#define MAX_CODE 4096
#define MAX_ISS 2048
#define MAX_ERROR 256
#define MAX_ERROR_DESC 1024
#define MAX_SHOWN 500 /* characters of a job's error message shown on the page */

#define OAUTH_TENANT "*oauth*"
#define RATE_SLOTS 1024 /* client addresses the rate limiter remembers */
#define RATE_PROBE 8

typedef struct {
    unsigned char addr[16]; /* IPv4 in the first 4 bytes */
    int family;             /* 0: free */
    double tokens;
    int64_t last_ms;
} rate_slot_t;

struct tq_http_t {
    struct MHD_Daemon *daemon;
    tq_api_t *api;            /* the /v1 routes */
    char *tls_cert, *tls_key; /* PEM text while the daemon starts, NULL: plain HTTP */
    char *frontend;
    char *return_url; /* NULL: answer a page */
    char *hosts;      /* comma-separated Host values accepted */
    bool https;       /* oauth.redirect_uri is https: __Host- cookie, Secure */
    int state_ttl_s;
    int callback_timeout_ms;
    tq_oauth_gate_t *gate;
    tq_mcp_http_t *mcp; /* /mcp (mcp_http.c) */
    /* STATS cache (stats_mu also makes one request at a time ask the broker) */
    pthread_mutex_t stats_mu;
    int stats_cache_ms;
    char *stats_text;
    int64_t stats_at_ms;
    /* per-address token buckets for /oauth/ (rate 0: off) */
    pthread_mutex_t rate_mu;
    double rate_per_ms, rate_burst;
    rate_slot_t rate[RATE_SLOTS];
    atomic_bool stopping;
    atomic_int active; /* requests started and not completed (response sent or dropped) */
    pthread_mutex_t mu;
    tq_client_t *idle[HTTP_POOL_MAX];
    int nidle;
};

/* --- text: common/buf.h (tq_buf_t) ------------------------------------------------ */

static void http_add_html(tq_buf_t *b, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '&':
            tq_buf_adds(b, "&amp;");
            break;
        case '<':
            tq_buf_adds(b, "&lt;");
            break;
        case '>':
            tq_buf_adds(b, "&gt;");
            break;
        case '"':
            tq_buf_adds(b, "&quot;");
            break;
        case '\'':
            tq_buf_adds(b, "&#39;");
            break;
        default:
            if (c < 0x20 || c == 0x7f)
                tq_buf_adds(b, "\xef\xbf\xbd"); /* U+FFFD */
            else
                tq_buf_add(b, s, 1);
        }
    }
}

char *tq_http_html_escape(const char *s)
{
    tq_buf_t b = {0};
    http_add_html(&b, s);
    return tq_buf_take(&b);
}

/* A Prometheus label value: backslash, double quote and newline escaped. */
static void http_add_label(tq_buf_t *b, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '\\')
            tq_buf_adds(b, "\\\\");
        else if (*s == '"')
            tq_buf_adds(b, "\\\"");
        else if (*s == '\n')
            tq_buf_adds(b, "\\n");
        else
            tq_buf_add(b, s, 1);
    }
}

/* --- listen address ----------------------------------------------------------------- */

int tq_http_parse_listen(const char *listen, struct sockaddr *out, unsigned *outlen,
                         tq_error_t *err)
{
    char host[128];
    const char *colon;
    if (!listen || !*listen) return tq_error_set(err, "invalid_config", "http.listen is empty");
    if (listen[0] == '[') {
        const char *close = strchr(listen, ']');
        if (!close || close[1] != ':' || (size_t)(close - listen - 1) >= sizeof host)
            return tq_error_set(err, "invalid_config",
                                "http.listen: expected [ipv6]:port, got %.64s", listen);
        memcpy(host, listen + 1, (size_t)(close - listen - 1));
        host[close - listen - 1] = '\0';
        colon = close + 1;
    } else {
        colon = strrchr(listen, ':');
        if (!colon || (size_t)(colon - listen) >= sizeof host || colon == listen)
            return tq_error_set(err, "invalid_config", "http.listen: expected host:port, got %.64s",
                                listen);
        memcpy(host, listen, (size_t)(colon - listen));
        host[colon - listen] = '\0';
    }
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || port < 1 || port > 65535)
        return tq_error_set(err, "invalid_config", "http.listen: bad port in %.64s", listen);
    if (strcmp(host, "localhost") == 0) snprintf(host, sizeof host, "127.0.0.1");
    struct sockaddr_in v4 = {0};
    struct sockaddr_in6 v6 = {0};
    if (inet_pton(AF_INET, host, &v4.sin_addr) == 1) {
        v4.sin_family = AF_INET;
        v4.sin_port = htons((uint16_t)port);
        memcpy(out, &v4, sizeof v4);
        *outlen = sizeof v4;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &v6.sin6_addr) == 1) {
        v6.sin6_family = AF_INET6;
        v6.sin6_port = htons((uint16_t)port);
        memcpy(out, &v6, sizeof v6);
        *outlen = sizeof v6;
        return 0;
    }
    return tq_error_set(err, "invalid_config",
                        "http.listen: host must be an IPv4 or IPv6 literal or localhost, got "
                        "%.64s",
                        host);
}

/* --- client pool -------------------------------------------------------------------- */

static tq_client_t *client_take(tq_http_t *h)
{
    tq_client_t *c = NULL;
    pthread_mutex_lock(&h->mu);
    if (h->nidle) c = h->idle[--h->nidle];
    pthread_mutex_unlock(&h->mu);
    return c ? c : tq_client_new(h->frontend);
}

/* A client whose request was abandoned (time-out, shutdown) may still receive
 * that request's late replies: it is dropped rather than pooled. */
static void client_give(tq_http_t *h, tq_client_t *c, bool clean)
{
    if (!c) return;
    if (clean) {
        pthread_mutex_lock(&h->mu);
        if (h->nidle < HTTP_POOL_MAX) {
            h->idle[h->nidle++] = c;
            c = NULL;
        }
        pthread_mutex_unlock(&h->mu);
    }
    tq_client_destroy(&c);
}

/* STATS text from the broker, or NULL with a reason (no secrets in it). */
static char *ask_stats(tq_http_t *h, char *why, size_t whylen)
{
    tq_client_t *c = client_take(h);
    if (!c) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    char *text = NULL;
    int rc = tq_client_stats(c, HTTP_STATS_TIMEOUT_MS, &text);
    if (rc != TQ_CLIENT_OK) {
        snprintf(why, whylen, "the broker did not answer STATS (%s)", tq_client_error_code(c));
        client_give(h, c, false);
        return NULL;
    }
    client_give(h, c, true);
    return text;
}

/* STATS as parsed JSON, or NULL with a reason. An answer younger than
 * http.stats_cache_ms is reused; the mutex makes concurrent requests wait
 * for the one that asks (failures are not cached). */
static json_t *fetch_stats(tq_http_t *h, char *why, size_t whylen)
{
    pthread_mutex_lock(&h->stats_mu);
    int64_t t = tq_now_ms();
    if (!h->stats_text || t - h->stats_at_ms >= h->stats_cache_ms) {
        char *text = ask_stats(h, why, whylen);
        if (text) {
            free(h->stats_text);
            h->stats_text = text;
            h->stats_at_ms = tq_now_ms();
        } else {
            pthread_mutex_unlock(&h->stats_mu);
            return NULL;
        }
    }
    json_t *stats = json_loads(h->stats_text, 0, NULL);
    pthread_mutex_unlock(&h->stats_mu);
    if (!json_is_object(stats)) {
        json_decref(stats);
        snprintf(why, whylen, "the broker answered STATS with something else than an object");
        return NULL;
    }
    return stats;
}

/* --- Host check and rate limit ----------------------------------------------------- */

/* Splits "host[:port]" / "[v6][:port]" into host (lower case) and port (0:
 * none). -1 when malformed. */
static int split_host(const char *s, char *host, size_t hostlen, long *port)
{
    const char *colon;
    size_t n;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close) return -1;
        n = (size_t)(close - s) + 1;
        colon = close[1] == ':' ? close + 1 : NULL;
        if (close[1] && !colon) return -1;
    } else {
        colon = strchr(s, ':');
        n = colon ? (size_t)(colon - s) : strlen(s);
    }
    if (!n || n >= hostlen) return -1;
    for (size_t i = 0; i < n; i++)
        host[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i]);
    host[n] = '\0';
    *port = 0;
    if (colon) {
        char *end = NULL;
        *port = strtol(colon + 1, &end, 10);
        if (!colon[1] || *end || *port < 1 || *port > 65535) return -1;
    }
    return 0;
}

bool tq_http_host_ok(const char *host_header, const char *allowed, bool https)
{
    char host[256], ahost[256];
    long port, aport;
    if (!host_header || !allowed || split_host(host_header, host, sizeof host, &port)) return false;
    long dflt = https ? 443 : 80;
    if (!port) port = dflt;
    for (const char *a = allowed; *a;) {
        size_t n = strcspn(a, ",");
        char entry[256];
        if (n && n < sizeof entry) {
            memcpy(entry, a, n);
            entry[n] = '\0';
            if (split_host(entry, ahost, sizeof ahost, &aport) == 0 && strcmp(host, ahost) == 0 &&
                port == (aport ? aport : dflt))
                return true;
        }
        a += n;
        if (*a) a++;
    }
    return false;
}

/* One token from the client address's bucket; false when it is empty (then
 * *retry_s says when the next token comes). Always true when the rate is 0. */
static bool rate_take(tq_http_t *h, struct MHD_Connection *conn, int *retry_s)
{
    if (h->rate_per_ms <= 0) return true;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    unsigned char key[16] = {0};
    int family = AF_INET;
    if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET6) {
        family = AF_INET6;
        memcpy(key, &((const struct sockaddr_in6 *)ci->client_addr)->sin6_addr, 16);
    } else if (ci && ci->client_addr) {
        memcpy(key, &((const struct sockaddr_in *)ci->client_addr)->sin_addr, 4);
    }
    uint32_t hash = 2166136261u; /* FNV-1a */
    for (int i = 0; i < 16; i++)
        hash = (hash ^ key[i]) * 16777619u;
    int64_t t = tq_now_ms();
    pthread_mutex_lock(&h->rate_mu);
    rate_slot_t *slot = NULL, *oldest = NULL;
    for (int i = 0; i < RATE_PROBE && !slot; i++) {
        rate_slot_t *r = &h->rate[(hash + (uint32_t)i) % RATE_SLOTS];
        if (r->family == family && memcmp(r->addr, key, 16) == 0)
            slot = r;
        else if (!oldest || !r->family || (oldest->family && r->last_ms < oldest->last_ms))
            oldest = r;
    }
    if (!slot) { /* a new address takes a free slot or the least recent one */
        slot = oldest;
        memcpy(slot->addr, key, 16);
        slot->family = family;
        slot->tokens = h->rate_burst;
        slot->last_ms = t;
    }
    slot->tokens += (double)(t - slot->last_ms) * h->rate_per_ms;
    if (slot->tokens > h->rate_burst) slot->tokens = h->rate_burst;
    slot->last_ms = t;
    bool ok = slot->tokens >= 1.0;
    if (ok)
        slot->tokens -= 1.0;
    else
        *retry_s = (int)((1.0 - slot->tokens) / h->rate_per_ms / 1000.0) + 1;
    pthread_mutex_unlock(&h->rate_mu);
    return ok;
}

/* --- responses ---------------------------------------------------------------------- */

static void security_headers(struct MHD_Response *r)
{
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "Pragma", "no-cache");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'none'; base-uri 'none'; form-action 'none'; "
                            "frame-ancestors 'none'");
}

/* Queues body (taken, may be NULL: out of memory -> 500), with a Location
 * and a Set-Cookie header when given. */
static enum MHD_Result respond_full(struct MHD_Connection *conn, unsigned status, const char *ctype,
                                    char *body, const char *location, const char *cookie)
{
    if (!body) {
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        ctype = "text/plain; charset=utf-8";
        location = NULL;
        body = strdup("out of memory\n");
        if (!body) return MHD_NO;
    }
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    security_headers(r);
    MHD_add_response_header(r, "Content-Type", ctype);
    if (location) MHD_add_response_header(r, "Location", location);
    if (cookie) MHD_add_response_header(r, "Set-Cookie", cookie);
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, const char *ctype,
                               char *body, const char *location)
{
    return respond_full(conn, status, ctype, body, location, NULL);
}

static enum MHD_Result respond_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
    return respond(conn, status, "text/plain; charset=utf-8", strdup(text), NULL);
}

/* Plain text with one more header (Allow, Retry-After). */
static enum MHD_Result respond_text_hdr(struct MHD_Connection *conn, unsigned status,
                                        const char *text, const char *name, const char *value)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    security_headers(r);
    MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    MHD_add_response_header(r, name, value);
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* --- /healthz ----------------------------------------------------------------------- */

static enum MHD_Result serve_healthz(tq_http_t *h, struct MHD_Connection *conn)
{
    char why[256];
    json_t *stats = fetch_stats(h, why, sizeof why);
    if (!stats) {
        tq_buf_t b = {0};
        tq_buf_addf(&b, "unavailable: %s\n", why);
        return respond(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain; charset=utf-8",
                       tq_buf_take(&b), NULL);
    }
    /* Registered (heard-from) workers, not merely forked ones: a frozen worker
     * stops counting after broker.heartbeat_liveness missed heartbeats. */
    size_t registered = json_array_size(json_object_get(stats, "workers"));
    bool db_down = json_object_get(stats, "db_error") != NULL;
    json_decref(stats);
    if (db_down)
        return respond_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                            "unavailable: the broker cannot read its database\n");
    if (registered == 0)
        return respond_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable: no live workers\n");
    return respond_text(conn, MHD_HTTP_OK, "ok\n");
}

/* --- /metrics ------------------------------------------------------------------------ */

static json_int_t jint(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? json_integer_value(v) : 0;
}

static void metric_head(tq_buf_t *b, const char *name, const char *type, const char *help)
{
    tq_buf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void metric_int(tq_buf_t *b, const char *name, const char *type, const char *help,
                       json_int_t v)
{
    metric_head(b, name, type, help);
    tq_buf_addf(b, "%s %lld\n", name, (long long)v);
}

char *tq_http_metrics_text(const char *stats_json)
{
    json_t *s = json_loads(stats_json ? stats_json : "", 0, NULL);
    if (!json_is_object(s)) {
        json_decref(s);
        return NULL;
    }
    tq_buf_t b = {0};
    const char *key;
    json_t *v;

    metric_int(&b, "toolq_up", "gauge", "1 when the broker answered STATS.", 1);
    metric_int(&b, "toolq_database_up", "gauge",
               "1 when the broker's journal answered the STATS query.",
               json_object_get(s, "db_error") ? 0 : 1);
    metric_int(&b, "toolq_queue_depth", "gauge", "Jobs waiting to run (ready and delayed).",
               jint(s, "queue_depth"));
    metric_int(&b, "toolq_jobs_delayed", "gauge", "Jobs waiting for a retry delay.",
               jint(s, "delayed"));
    metric_int(&b, "toolq_jobs_running", "gauge", "Jobs in flight on workers.", jint(s, "running"));
    metric_int(&b, "toolq_jobs_open", "gauge", "Jobs held in the broker's memory.",
               jint(s, "open_jobs"));

    metric_head(&b, "toolq_jobs", "gauge", "Jobs in the journal by state.");
    static const char *const states[] = {"queued", "running", "succeeded",
                                         "failed", "dead",    "cancelled"};
    json_t *by_state = json_object_get(s, "jobs_by_state");
    for (size_t i = 0; i < sizeof states / sizeof *states; i++)
        tq_buf_addf(&b, "toolq_jobs{state=\"%s\"} %lld\n", states[i],
                    (long long)jint(by_state, states[i]));

    metric_head(&b, "toolq_jobs_total", "counter",
                "Job events since the broker started, by outcome.");
    json_t *since = json_object_get(s, "since_start");
    json_object_foreach(since, key, v)
    {
        if (!json_is_integer(v)) continue;
        tq_buf_adds(&b, "toolq_jobs_total{outcome=\"");
        http_add_label(&b, key);
        tq_buf_addf(&b, "\"} %lld\n", (long long)json_integer_value(v));
    }

    metric_int(&b, "toolq_workers_alive", "gauge", "Worker processes the broker supervises.",
               jint(s, "workers_alive"));
    json_t *workers = json_object_get(s, "workers");
    metric_int(&b, "toolq_workers_registered", "gauge",
               "Workers registered with the broker (heard from recently).",
               (json_int_t)json_array_size(workers));
    metric_int(&b, "toolq_worker_restarts_total", "counter",
               "Worker restarts since the broker started.", jint(s, "worker_restarts"));
    metric_head(&b, "toolq_worker_in_flight", "gauge", "Jobs in flight per worker.");
    size_t i;
    json_array_foreach(workers, i, v)
        tq_buf_addf(&b, "toolq_worker_in_flight{pid=\"%lld\"} %lld\n", (long long)jint(v, "pid"),
                    (long long)jint(v, "in_flight"));
    metric_head(&b, "toolq_worker_credit", "gauge", "Jobs each worker accepts at once.");
    json_array_foreach(workers, i, v)
        tq_buf_addf(&b, "toolq_worker_credit{pid=\"%lld\"} %lld\n", (long long)jint(v, "pid"),
                    (long long)jint(v, "credit"));

    /* Per op, since start: outcomes, error codes, latency. */
    json_t *by_op = json_object_get(s, "by_op");
    metric_head(&b, "toolq_op_jobs_total", "counter",
                "Finished jobs since the broker started, by op and final state.");
    static const char *const finals[] = {"succeeded", "failed", "dead", "cancelled"};
    json_object_foreach(by_op, key, v)
    {
        for (size_t k = 0; k < sizeof finals / sizeof *finals; k++) {
            tq_buf_adds(&b, "toolq_op_jobs_total{op=\"");
            http_add_label(&b, key);
            tq_buf_addf(&b, "\",state=\"%s\"} %lld\n", finals[k], (long long)jint(v, finals[k]));
        }
    }
    metric_head(&b, "toolq_op_errors_total", "counter",
                "Jobs that ended without success since the broker started, by op and error "
                "code.");
    json_object_foreach(by_op, key, v)
    {
        const char *code;
        json_t *n;
        json_object_foreach(json_object_get(v, "errors"), code, n)
        {
            tq_buf_adds(&b, "toolq_op_errors_total{op=\"");
            http_add_label(&b, key);
            tq_buf_adds(&b, "\",code=\"");
            http_add_label(&b, code);
            tq_buf_addf(&b, "\"} %lld\n", (long long)json_integer_value(n));
        }
    }
    /* Refresh outcomes: "succeeded" or the error code of the refresh job. */
    metric_head(&b, "toolq_refresh_outcomes_total", "counter",
                "Outcomes of refresh jobs since the broker started: succeeded or the error "
                "code (reauth_required, transient ...).");
    json_t *refresh = json_object_get(by_op, "refresh");
    tq_buf_addf(&b, "toolq_refresh_outcomes_total{outcome=\"succeeded\"} %lld\n",
                (long long)jint(refresh, "succeeded"));
    {
        const char *code;
        json_t *n;
        json_object_foreach(json_object_get(refresh, "errors"), code, n)
        {
            if (strcmp(code, "succeeded") == 0) continue;
            tq_buf_adds(&b, "toolq_refresh_outcomes_total{outcome=\"");
            http_add_label(&b, code);
            tq_buf_addf(&b, "\"} %lld\n", (long long)json_integer_value(n));
        }
    }
    metric_head(&b, "toolq_job_duration_seconds", "histogram",
                "Seconds from submit to the committed outcome, by op.");
    json_t *bounds = json_object_get(s, "latency_buckets_s");
    json_object_foreach(by_op, key, v)
    {
        json_t *lat = json_object_get(v, "latency");
        json_t *counts = json_object_get(lat, "counts");
        if (!json_is_array(counts) || json_array_size(counts) != json_array_size(bounds) + 1)
            continue;
        long long cum = 0;
        for (size_t k = 0; k < json_array_size(counts); k++) {
            cum += (long long)json_integer_value(json_array_get(counts, k));
            tq_buf_adds(&b, "toolq_job_duration_seconds_bucket{op=\"");
            http_add_label(&b, key);
            if (k < json_array_size(bounds))
                tq_buf_addf(&b, "\",le=\"%g\"} %lld\n",
                            json_number_value(json_array_get(bounds, k)), cum);
            else
                tq_buf_addf(&b, "\",le=\"+Inf\"} %lld\n", cum);
        }
        tq_buf_adds(&b, "toolq_job_duration_seconds_sum{op=\"");
        http_add_label(&b, key);
        tq_buf_addf(&b, "\"} %.9g\n", json_number_value(json_object_get(lat, "sum_s")));
        tq_buf_adds(&b, "toolq_job_duration_seconds_count{op=\"");
        http_add_label(&b, key);
        tq_buf_addf(&b, "\"} %lld\n", cum);
    }
    json_decref(s);
    return tq_buf_take(&b);
}

static enum MHD_Result serve_metrics(tq_http_t *h, struct MHD_Connection *conn)
{
    char why[256];
    json_t *stats = fetch_stats(h, why, sizeof why);
    if (!stats) {
        tq_buf_t b = {0};
        tq_buf_addf(&b, "# %s\n", why);
        tq_buf_adds(&b, "# HELP toolq_up 1 when the broker answered STATS.\n"
                        "# TYPE toolq_up gauge\ntoolq_up 0\n");
        return respond(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                       "text/plain; version=0.0.4; charset=utf-8", tq_buf_take(&b), NULL);
    }
    char *text = json_dumps(stats, JSON_COMPACT);
    json_decref(stats);
    char *body = tq_http_metrics_text(text);
    free(text);
    return respond(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", body, NULL);
}

/* --- /oauth/callback -------------------------------------------------------------------- */

typedef struct {
    bool connected;
    unsigned http_status;
    char code[64];    /* error code when not connected */
    char *message;    /* human reason (from the op or from here), may be NULL */
    char *prov_error; /* the authorization server's error / description, if any */
    char *prov_desc;
    char *cred_id, *cred_name, *tenant, *provider, *plugin, *cred_status; /* when connected */
} outcome_t;

static void outcome_reset(outcome_t *o)
{
    free(o->message);
    free(o->cred_id);
    free(o->cred_name);
    free(o->tenant);
    free(o->provider);
    free(o->plugin);
    free(o->cred_status);
}

static void fail_with(outcome_t *o, unsigned status, const char *code, const char *msg)
{
    o->connected = false;
    o->http_status = status;
    snprintf(o->code, sizeof o->code, "%s", code && *code ? code : "internal");
    free(o->message);
    o->message = msg ? strndup(msg, MAX_SHOWN) : NULL;
}

/* A result field as text (strings as they are, numbers printed), or NULL. */
static char *field_text(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (json_is_string(v)) return strndup(json_string_value(v), 256);
    if (json_is_integer(v)) {
        char buf[32];
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
        return strdup(buf);
    }
    return NULL;
}

/* The idempotency key of a callback: a hash of its state, so a reloaded
 * callback page shows the first outcome instead of exchanging a spent code
 * again, and the state itself never reaches the journal in clear. */
static void callback_ikey(const char *state, char out[80])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    static const char hex[] = "0123456789abcdef";
    EVP_Digest(state, strlen(state), md, &n, EVP_sha256(), NULL);
    int p = snprintf(out, 80, "oauth.callback:");
    for (unsigned i = 0; i < 16 && i < n; i++) {
        out[p++] = hex[md[i] >> 4];
        out[p++] = hex[md[i] & 15];
    }
    out[p] = '\0';
}

static bool set_param(json_t *payload, const char *name, const char *value)
{
    if (!value) return true;
    json_t *s = json_string(value); /* NULL unless valid UTF-8 */
    return s && json_object_set_new(payload, name, s) == 0;
}

/* Submits oauth.exchange and waits for its outcome (bounded; returns early
 * when the listener stops). */
static void run_exchange(tq_http_t *h, const char *payload, const char *state, outcome_t *o)
{
    tq_client_t *c = client_take(h);
    if (!c) {
        fail_with(o, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "out of memory");
        return;
    }
    char ikey[80];
    callback_ikey(state, ikey);
    tq_submit_opts_t opts = {.idempotency_key = ikey, .max_attempts = 1};
    uint64_t rid =
        tq_client_send_submit(c, OAUTH_TENANT, TQ_OP_oauth_exchange, payload, &opts, true);
    if (!rid) {
        fail_with(o, MHD_HTTP_SERVICE_UNAVAILABLE, tq_client_error_code(c),
                  "the broker cannot be reached; try again later");
        client_give(h, c, false);
        return;
    }
    int64_t left = h->callback_timeout_ms;
    char job_id[37] = "";
    for (;;) {
        if (atomic_load(&h->stopping)) {
            fail_with(o, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting_down",
                      "the broker is shutting down; the authorization may still complete");
            break;
        }
        if (left <= 0) {
            fail_with(o, MHD_HTTP_GATEWAY_TIMEOUT, "timeout",
                      "the authorization did not finish in time; it may still complete "
                      "(see toolq credential list)");
            break;
        }
        tq_client_event_t ev;
        int slice = left < HTTP_WAIT_SLICE_MS ? (int)left : HTTP_WAIT_SLICE_MS;
        int rc = tq_client_recv(c, slice, &ev);
        left -= slice; /* close enough: recv returns early only with an event */
        if (rc == TQ_CLIENT_TIMEOUT) continue;
        if (rc != TQ_CLIENT_OK) {
            fail_with(o, MHD_HTTP_SERVICE_UNAVAILABLE, tq_client_error_code(c),
                      "the broker connection failed");
            break;
        }
        if (ev.rid != rid) {
            tq_job_info_reset(&ev.job);
            continue;
        }
        if (ev.type == TQ_EVENT_ACCEPTED) {
            memcpy(job_id, ev.job.id, sizeof job_id);
            tq_job_info_reset(&ev.job);
            continue;
        }
        if (ev.type == TQ_EVENT_REJECTED) {
            fail_with(o, MHD_HTTP_SERVICE_UNAVAILABLE, ev.job.error_code, ev.job.error_message);
            tq_job_info_reset(&ev.job);
            client_give(h, c, true);
            return;
        }
        /* RESULT */
        tq_job_info_t *j = &ev.job;
        if (j->state && strcmp(j->state, "succeeded") == 0) {
            json_t *r = json_loads(j->result ? j->result : "", 0, NULL);
            o->cred_id = field_text(r, "credential_id");
            if (o->cred_id) {
                o->connected = true;
                o->http_status = MHD_HTTP_OK;
                o->cred_name = field_text(r, "credential");
                o->tenant = field_text(r, "tenant");
                o->provider = field_text(r, "provider");
                o->plugin = field_text(r, "plugin");
                o->cred_status = field_text(r, "status");
            } else {
                fail_with(o, MHD_HTTP_BAD_GATEWAY, "internal",
                          "the exchange succeeded without naming a credential");
            }
            json_decref(r);
        } else {
            fail_with(o, MHD_HTTP_BAD_REQUEST, j->error_code ? j->error_code : j->state,
                      j->error_message);
        }
        tq_info("oauth callback: job %s %s%s%s", j->id, j->state ? j->state : "?",
                o->connected ? "" : " ", o->connected ? "" : o->code);
        tq_job_info_reset(j);
        client_give(h, c, true);
        return;
    }
    if (job_id[0]) tq_warn("oauth callback: job %s: %s", job_id, o->code);
    client_give(h, c, false);
}

static void page_row(tq_buf_t *b, const char *label, const char *value)
{
    if (!value || !*value) return;
    tq_buf_addf(b, "<dt>%s</dt><dd>", label);
    http_add_html(b, value);
    tq_buf_adds(b, "</dd>\n");
}

static char *render_page(const outcome_t *o)
{
    tq_buf_t b = {0};
    const char *title = o->connected ? "Account connected" : "Connection failed";
    tq_buf_adds(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                    "<meta name=\"robots\" content=\"noindex\">"
                    "<meta name=\"viewport\" content=\"width=device-width\">");
    tq_buf_addf(&b, "<title>toolq: %s</title></head>\n<body>\n<h1>%s</h1>\n", title, title);
    tq_buf_addf(&b, "<p>status: <strong id=\"status\">%s</strong></p>\n<dl>\n",
                o->connected ? "connected" : "failed");
    if (o->connected) {
        page_row(&b, "Credential", o->cred_name);
        page_row(&b, "Credential id", o->cred_id);
        page_row(&b, "Tenant", o->tenant);
        page_row(&b, "Provider", o->provider);
        page_row(&b, "Plugin", o->plugin);
        page_row(&b, "Credential status", o->cred_status);
    } else {
        page_row(&b, "Error code", o->code);
        page_row(&b, "Reason", o->message);
        page_row(&b, "Provider error", o->prov_error);
        page_row(&b, "Provider description", o->prov_desc);
    }
    tq_buf_adds(&b, "</dl>\n<p>You can close this window.</p>\n</body></html>\n");
    return tq_buf_take(&b);
}

static char *redirect_url(const char *base, const outcome_t *o)
{
    tq_buf_t b = {0};
    size_t n = strcspn(base, "#"); /* the query goes before a fragment */
    const char *hash = base[n] ? base + n : NULL;
    tq_buf_add(&b, base, n);
    if (strcspn(base, "?") >= n)
        tq_buf_adds(&b, "?");
    else if (base[n - 1] != '?' && base[n - 1] != '&')
        tq_buf_adds(&b, "&");
    if (o->connected) {
        tq_buf_adds(&b, "status=connected&credential_id=");
        tq_buf_pct(&b, o->cred_id, strlen(o->cred_id), NULL);
    } else {
        tq_buf_adds(&b, "status=failed&error=");
        tq_buf_pct(&b, o->code, strlen(o->code), NULL);
    }
    if (hash) tq_buf_adds(&b, hash);
    return tq_buf_take(&b);
}

static const char *arg(struct MHD_Connection *conn, const char *name)
{
    return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
}

static bool too_long(const char *v, size_t max)
{
    return v && strnlen(v, max + 1) > max;
}

/* Submits oauth.exchange with the callback's parameters and waits for it. */
static void submit_callback(tq_http_t *h, outcome_t *o, const char *state, const char *binding,
                            const char *code, const char *iss, const char *error, const char *desc)
{
    json_t *p = json_object();
    if (!p || !set_param(p, "state", state) || !set_param(p, "binding", binding) ||
        !set_param(p, "code", code) || !set_param(p, "iss", iss) || !set_param(p, "error", error) ||
        !set_param(p, "error_description", desc)) {
        o->prov_error = o->prov_desc = NULL;
        fail_with(o, MHD_HTTP_BAD_REQUEST, "invalid_request",
                  "callback parameters must be UTF-8 text");
    } else {
        char *payload = json_dumps(p, JSON_COMPACT);
        if (payload) {
            run_exchange(h, payload, state, o);
            tq_secure_wipe(payload, strlen(payload));
        } else {
            fail_with(o, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "out of memory");
        }
        free(payload);
    }
    json_decref(p);
}

/* The binding cookie of a state: one per authorization in flight (named by
 * a hash prefix of the state), so two started in one browser do not
 * overwrite each other. __Host- (Secure, Path=/, no Domain) when the public
 * URL is https. */
static void cookie_name(const tq_http_t *h, const char *state, char out[64])
{
    char hash[65];
    tq_oauth_gate_sha256_hex(state, hash);
    snprintf(out, 64, "%stoolq_oauth_%.16s", h->https ? "__Host-" : "", hash);
}

/* Set-Cookie value: the token for max_age seconds, or a removal (token NULL). */
static char *cookie_header(const tq_http_t *h, const char *name, const char *token, int max_age)
{
    tq_buf_t b = {0};
    tq_buf_addf(&b, "%s=%s; Path=/; Max-Age=%d; HttpOnly; SameSite=Lax%s", name, token ? token : "",
                token ? max_age : 0, h->https ? "; Secure" : "");
    return tq_buf_take(&b);
}

static unsigned gate_status(const tq_error_t *err)
{
    return strcmp(err->code, "db_unavailable") ? MHD_HTTP_BAD_REQUEST
                                               : MHD_HTTP_SERVICE_UNAVAILABLE;
}

/* The failure page (or a 302 to oauth.return_url), or the connected page. */
static enum MHD_Result answer_outcome(tq_http_t *h, struct MHD_Connection *conn, const outcome_t *o,
                                      const char *cookie)
{
    enum MHD_Result ret;
    if (h->return_url) {
        char *loc = redirect_url(h->return_url, o);
        if (loc)
            ret = respond_full(conn, MHD_HTTP_FOUND, "text/plain; charset=utf-8",
                               strdup(o->connected ? "connected\n" : "failed\n"), loc, cookie);
        else
            ret = respond(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", NULL, NULL);
        free(loc);
    } else {
        ret = respond_full(conn, o->http_status ? o->http_status : MHD_HTTP_OK,
                           "text/html; charset=utf-8", render_page(o), NULL, cookie);
    }
    return ret;
}

/* GET /oauth/start?state=S: binds the authorization to this browser and
 * sends it to the provider. */
static enum MHD_Result serve_start(tq_http_t *h, struct MHD_Connection *conn)
{
    const char *state = arg(conn, "state");
    outcome_t o = {0};
    tq_error_t err = {0};
    unsigned char rnd[32];
    char token[65], token_hash[65], name[64];
    char *url = NULL;
    if (!tq_oauth_gate_state_shape_ok(state)) {
        fail_with(&o, MHD_HTTP_BAD_REQUEST, "oauth_state_invalid",
                  "the start link carries no state toolq makes; start the authorization again");
    } else if (RAND_bytes(rnd, sizeof rnd) != 1) {
        fail_with(&o, MHD_HTTP_INTERNAL_SERVER_ERROR, "crypto_error", "no random bytes");
    } else {
        static const char hex[] = "0123456789abcdef";
        for (size_t i = 0; i < sizeof rnd; i++) {
            token[2 * i] = hex[rnd[i] >> 4];
            token[2 * i + 1] = hex[rnd[i] & 15];
        }
        token[64] = '\0';
        tq_secure_wipe(rnd, sizeof rnd);
        tq_oauth_gate_sha256_hex(token, token_hash);
        int ttl = h->state_ttl_s;
        url = tq_oauth_gate_start(h->gate, state, token_hash, &ttl, &err);
        if (!url) fail_with(&o, gate_status(&err), err.code, err.message);
        if (url) {
            cookie_name(h, state, name);
            char *cookie = cookie_header(h, name, token, ttl);
            tq_secure_wipe(token, sizeof token);
            enum MHD_Result ret =
                cookie
                    ? respond_full(conn, MHD_HTTP_FOUND, "text/plain; charset=utf-8",
                                   strdup("redirecting to the authorization server\n"), url, cookie)
                    : respond(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", NULL, NULL);
            free(cookie);
            free(url);
            tq_info("oauth start: a browser was bound to an authorization");
            return ret;
        }
    }
    tq_secure_wipe(token, sizeof token);
    enum MHD_Result ret =
        respond(conn, o.http_status, "text/html; charset=utf-8", render_page(&o), NULL);
    outcome_reset(&o);
    return ret;
}

static enum MHD_Result serve_callback(tq_http_t *h, struct MHD_Connection *conn)
{
    const char *state = arg(conn, "state"), *code = arg(conn, "code"), *iss = arg(conn, "iss");
    const char *error = arg(conn, "error"), *desc = arg(conn, "error_description");
    outcome_t o = {0};
    tq_error_t err = {0};
    bool used = false;
    char name[64];
    const char *binding = NULL;
    char *cookie = NULL; /* the binding cookie's removal, once an exchange ran */
    /* The provider's own words are shown (escaped) once the state checks out. */
    o.prov_error = (char *)error;
    o.prov_desc = (char *)desc;
    if (too_long(state, MAX_STATE) || too_long(code, MAX_CODE) || too_long(iss, MAX_ISS) ||
        too_long(error, MAX_ERROR) || too_long(desc, MAX_ERROR_DESC)) {
        o.prov_error = o.prov_desc = NULL;
        fail_with(&o, MHD_HTTP_BAD_REQUEST, "invalid_request",
                  "a callback parameter is longer than allowed");
    } else if (!state || !*state) {
        fail_with(&o, MHD_HTTP_BAD_REQUEST, "missing_state",
                  "the callback has no state parameter; start the authorization again");
    } else {
        if (tq_oauth_gate_state_shape_ok(state)) {
            cookie_name(h, state, name);
            binding = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, name);
        }
        if (tq_oauth_gate_check(h->gate, state, binding, &used, &err)) {
            /* nothing submitted: a bad, unknown, spent or foreign state costs no job,
             * and its text is not ours to show (content injection) */
            o.prov_error = o.prov_desc = NULL;
            fail_with(&o, gate_status(&err), err.code, err.message);
        } else {
            if (used) tq_debug("oauth callback: a reloaded page; the first outcome is shown");
            submit_callback(h, &o, state, binding, code, iss, error, desc);
            cookie = cookie_header(h, name, NULL, 0); /* the binding did its work */
        }
    }
    enum MHD_Result ret = answer_outcome(h, conn, &o, cookie);
    free(cookie);
    outcome_reset(&o);
    return ret;
}

/* --- dispatch ------------------------------------------------------------------------ */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    (void)upload_data;
    tq_http_t *h = cls;
    bool v1 = strncmp(url, "/v1/", 4) == 0 || strcmp(url, "/v1") == 0;
    if (!*con_cls) { /* first call for this request: count it until completed */
        *con_cls = v1 ? tq_api_request_new() : h;
        if (!*con_cls) return MHD_NO;
        atomic_fetch_add(&h->active, 1);
    }
    if (v1) { /* the API reads its own bodies; the Host check comes first */
        const char *vh = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
        if (!vh || !tq_http_host_ok(vh, h->hosts, h->https))
            return respond_text(conn, MHD_HTTP_MISDIRECTED_REQUEST,
                                "misdirected_request: this listener does not serve that host\n");
        return tq_api_request(h->api, conn, url, method, upload_data, upload_data_size, con_cls);
    }
    bool mcp = strcmp(url, "/mcp") == 0;
    if (mcp && tq_mcp_http_continues(conn)) /* its body: checks ran on its first call */
        return tq_mcp_http_serve(h->mcp, conn, method, upload_data, upload_data_size);
    if (*upload_data_size) { /* a GET with a body: ignore the body */
        *upload_data_size = 0;
        return MHD_YES;
    }
    bool oauth = strcmp(url, "/oauth/callback") == 0 || strcmp(url, "/oauth/start") == 0;
    bool known = oauth || strcmp(url, "/healthz") == 0 || strcmp(url, "/metrics") == 0;
    /* DNS rebinding: a page on another name must not reach us through a
     * resolver it controls. */
    const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    if (!host || !*host)
        return respond_text(conn, MHD_HTTP_BAD_REQUEST,
                            "missing_host: a Host "
                            "header is required\n");
    if (!tq_http_host_ok(host, h->hosts, h->https))
        return respond_text(conn, MHD_HTTP_MISDIRECTED_REQUEST,
                            "misdirected_request: this listener does not serve that host\n");
    if (mcp) return tq_mcp_http_serve(h->mcp, conn, method, upload_data, upload_data_size);
    if (!known) return respond_text(conn, MHD_HTTP_NOT_FOUND, "not found\n");
    /* HEAD (link scanners, prefetch) never starts or finishes an authorization */
    bool get = strcmp(method, MHD_HTTP_METHOD_GET) == 0;
    if (!get && (oauth || strcmp(method, MHD_HTTP_METHOD_HEAD) != 0))
        return respond_text_hdr(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n", "Allow",
                                oauth ? "GET" : "GET, HEAD");
    if (strcmp(url, "/healthz") == 0) return serve_healthz(h, conn);
    if (strcmp(url, "/metrics") == 0) return serve_metrics(h, conn);
    int retry_s = 1;
    if (!rate_take(h, conn, &retry_s)) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", retry_s);
        return respond_text_hdr(conn, MHD_HTTP_TOO_MANY_REQUESTS,
                                "rate_limited: too many OAuth requests from this address; try "
                                "again later\n",
                                "Retry-After", ra);
    }
    if (strcmp(url, "/oauth/start") == 0) return serve_start(h, conn);
    return serve_callback(h, conn);
}

/* --- lifecycle ------------------------------------------------------------------------ */

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode why)
{
    (void)conn;
    (void)why;
    tq_http_t *h = cls;
    if (*con_cls) {
        if (*con_cls != h) tq_api_request_done(*con_cls);
        *con_cls = NULL;
        atomic_fetch_sub(&h->active, 1);
    }
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    tq_warn("http: %s", line);
}

/* A PEM file's text (malloc'd, at most 1 MiB), or NULL. */
static char *read_pem(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = malloc((1u << 20) + 1);
    size_t n = buf ? fread(buf, 1, 1u << 20, f) : 0;
    bool whole = buf && feof(f) && !ferror(f);
    fclose(f);
    if (!whole || !n) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

static bool loopback(const struct sockaddr_storage *a)
{
    if (a->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)a)->sin_addr.s_addr) >> 24) == 127;
    return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)a)->sin6_addr);
}

static bool valid_return_url(const char *u)
{
    if (strncmp(u, "https://", 8) != 0 && strncmp(u, "http://", 7) != 0) return false;
    for (const char *p = u; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f) return false;
    return true;
}

tq_http_t *tq_http_new(tq_config_t *cfg, tq_error_t *err)
{
    const char *listen = tq_config_str(cfg, "http.listen");
    if (!listen || !*listen) {
        tq_error_clear(err);
        return NULL;
    }
    struct sockaddr_storage addr;
    unsigned addrlen = 0;
    if (tq_http_parse_listen(listen, (struct sockaddr *)&addr, &addrlen, err)) return NULL;
    int64_t timeout = tq_config_int(cfg, "http.callback_timeout_ms"); /* ranges: config.c */
    const char *ret = tq_config_str(cfg, "oauth.return_url");
    if (ret && *ret && !valid_return_url(ret)) {
        tq_error_set(err, "invalid_config",
                     "oauth.return_url must be an http:// or https:// URL without spaces");
        return NULL;
    }
    /* the public host: the authority of oauth.redirect_uri (no userinfo) */
    const char *redirect = tq_config_str(cfg, "oauth.redirect_uri");
    const char *auth = redirect && valid_return_url(redirect) ? strstr(redirect, "://") + 3 : NULL;
    if (!auth) {
        tq_error_set(err, "invalid_config",
                     "oauth.redirect_uri must be an http:// or https:// URL without spaces");
        return NULL;
    }
    size_t alen = strcspn(auth, "/?#");
    const char *at = memchr(auth, '@', alen);
    if (at) {
        alen -= (size_t)(at + 1 - auth);
        auth = at + 1;
    }
    int64_t max_conns = tq_config_int(cfg, "http.max_connections");
    int64_t conn_timeout = tq_config_int(cfg, "http.connection_timeout_s");
    const char *cert = tq_config_str(cfg, "http.tls_cert"),
               *key = tq_config_str(cfg, "http.tls_key");
    bool tls = cert && *cert;
    if (tls != (key && *key)) {
        tq_error_set(err, "invalid_config", "http.tls_cert and http.tls_key go together");
        return NULL;
    }
    if (!tls && !loopback(&addr) && !tq_config_bool(cfg, "http.allow_plaintext")) {
        tq_error_set(err, "invalid_config",
                     "http.listen %s is not a loopback address: set http.tls_cert and "
                     "http.tls_key (HTTPS), or http.allow_plaintext: true",
                     listen);
        return NULL;
    }
    if (tls && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        tq_error_set(err, "invalid_config",
                     "this libmicrohttpd has no TLS support (http.tls_cert)");
        return NULL;
    }
    int64_t cache_ms = tq_config_int(cfg, "http.stats_cache_ms");
    int64_t rate = tq_config_int(cfg, "http.oauth_rate_per_minute");
    int64_t burst = tq_config_int(cfg, "http.oauth_rate_burst");
    tq_http_t *h = calloc(1, sizeof *h);
    if (!h) {
        tq_error_set(err, "internal", "out of memory");
        return NULL;
    }
    pthread_mutex_init(&h->stats_mu, NULL);
    pthread_mutex_init(&h->rate_mu, NULL);
    h->stats_cache_ms = (int)cache_ms;
    h->rate_per_ms = (double)rate / 60000.0;
    h->rate_burst = (double)burst;
    h->https = strncmp(redirect, "https://", 8) == 0;
    h->state_ttl_s = (int)tq_config_int(cfg, "oauth.state_ttl_s");
    {
        tq_buf_t b = {0};
        const char *extra = tq_config_str(cfg, "http.allowed_hosts");
        tq_buf_add(&b, auth, alen);
        tq_buf_addf(&b, ",%s%s%s", listen, extra && *extra ? "," : "", extra ? extra : "");
        h->hosts = tq_buf_take(&b);
    }
    h->gate = tq_oauth_gate_new(tq_config_str(cfg, "database.url"));
    pthread_mutex_init(&h->mu, NULL);
    atomic_init(&h->stopping, false);
    atomic_init(&h->active, 0);
    h->callback_timeout_ms = (int)timeout;
    h->frontend = strdup(tq_config_str(cfg, "broker.frontend"));
    h->return_url = ret && *ret ? strdup(ret) : NULL;
    if (!h->frontend || (ret && *ret && !h->return_url) || !h->hosts || !h->gate) {
        tq_http_destroy(&h);
        tq_error_set(err, "internal", "out of memory");
        return NULL;
    }
    if (!(h->api = tq_api_new(cfg, &h->stopping, err))) {
        tq_http_destroy(&h);
        return NULL;
    }
    /* /mcp checks keys with the API's store: one cache, one rate bucket per key */
    h->mcp = tq_mcp_http_new(cfg, tq_config_str(cfg, "broker.frontend"), h->hosts, h->https,
                             tq_api_keys(h->api), err);
    if (!h->mcp) {
        tq_http_destroy(&h);
        return NULL;
    }
    if (tls && (!(h->tls_cert = read_pem(cert)) || !(h->tls_key = read_pem(key)))) {
        tq_error_set(err, "invalid_config", "http.tls_cert / http.tls_key: cannot read %s",
                     h->tls_cert ? key : cert);
        tq_http_destroy(&h);
        return NULL;
    }
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG;
    if (addr.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
    if (tls) flags |= MHD_USE_TLS;
    /* The broker receives SIGTERM/SIGINT/SIGCHLD through a signalfd, which
     * needs them blocked in every thread: start ours with all signals blocked
     * (connection threads inherit the mask). */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    /* the port also goes to MHD (unused for binding: SOCK_ADDR wins) so
     * that its bind error names the port tried, not "port 0" */
    uint16_t port = ntohs(addr.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&addr)->sin6_port
                                                     : ((struct sockaddr_in *)&addr)->sin_port);
    h->daemon = MHD_start_daemon(flags, port, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER,
                                 on_mhd_log, NULL, MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                                 MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)max_conns,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)conn_timeout,
                                 tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, h->tls_cert,
                                 MHD_OPTION_HTTPS_MEM_KEY, h->tls_key, MHD_OPTION_END);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!h->daemon) {
        tq_error_set(err, "bind_failed",
                     "cannot serve HTTP on %s (in use? set http.listen, or \"\" to disable)",
                     listen);
        tq_http_destroy(&h);
        return NULL;
    }
    tq_info("http: serving /v1, /mcp, /oauth/start, /oauth/callback, /healthz, /metrics on %s%s",
            listen, tls ? " (HTTPS)" : "");
    return h;
}

void tq_http_destroy(tq_http_t **self_p)
{
    if (!self_p || !*self_p) return;
    tq_http_t *h = *self_p;
    if (h->daemon) {
        /* Stop accepting, make waiting callbacks give up (within a slice) and
         * give their answers a moment to go out before connections close. */
        MHD_socket lfd = MHD_quiesce_daemon(h->daemon);
        atomic_store(&h->stopping, true);
        tq_mcp_http_stop(h->mcp); /* open /mcp streams end */
        for (int ms = 0; ms < HTTP_STOP_GRACE_MS && atomic_load(&h->active) > 0; ms += 10)
            usleep(10000);
        MHD_stop_daemon(h->daemon);
        if (lfd != MHD_INVALID_SOCKET) close(lfd);
    }
    for (int i = 0; i < h->nidle; i++)
        tq_client_destroy(&h->idle[i]);
    pthread_mutex_destroy(&h->mu);
    pthread_mutex_destroy(&h->stats_mu);
    pthread_mutex_destroy(&h->rate_mu);
    tq_oauth_gate_destroy(&h->gate);
    if (h->tls_key) tq_secure_wipe(h->tls_key, strlen(h->tls_key));
    free(h->tls_key);
    free(h->tls_cert);
    tq_mcp_http_destroy(&h->mcp); /* before the API: it borrows the API's key store */
    tq_api_destroy(&h->api);
    free(h->stats_text);
    free(h->hosts);
    free(h->frontend);
    free(h->return_url);
    free(h);
    *self_p = NULL;
}
