/* invoke_call.c — redirects and retries around single exchanges
 * (http/httpc.c). Owns the request while the call runs. Must never log a
 * URL or header, never follow a redirect without the SSRF guard, and never
 * retry a non-idempotent request unless told it carries an idempotency key. */
#include "invoke_call.h"
#include "ssrf.h"
#include "vault.h"
#include "mem.h"
#include "rng.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct tq_invoke_call_t {
    tq_loop_t *loop;
    tq_httpc_t *http;
    tq_httpc_request_t *req;
    tq_invoke_call_opts_t opts;
    tq_httpc_xfer_t *xfer;      /* running or last exchange */
    tq_httpc_response_t failed; /* when an exchange could not start */
    int use_failed;
    uint64_t timer;
    int attempts, redirects;
    int carries; /* the request still carries the credential (same origin so far) */
    int64_t start_ms;
    tq_invoke_call_fn *done;
    void *arg;
};

static void attempt(tq_invoke_call_t *c);

static void call_done(tq_invoke_call_t *c)
{
    c->done(c, c->arg);
}

static void on_start_failed(tq_loop_t *loop, void *arg)
{
    (void)loop;
    tq_invoke_call_t *c = arg;
    c->timer = 0;
    call_done(c);
}

static int idempotent(const char *m)
{
    return !strcmp(m, "GET") || !strcmp(m, "HEAD") || !strcmp(m, "PUT") || !strcmp(m, "DELETE") ||
           !strcmp(m, "OPTIONS");
}

static int64_t backoff_ms(const tq_invoke_call_t *c)
{
    int64_t base = c->opts.backoff_base_ms > 0 ? c->opts.backoff_base_ms : 200;
    int64_t d = base << (c->attempts - 1 < 6 ? c->attempts - 1 : 6);
    if (d > 10000) d = 10000;
    unsigned r;
    tq_rng_public(&r, sizeof r);
    return d / 2 + (int64_t)(r % (unsigned)(d / 2 + 1)); /* jitter: [d/2, d] */
}

int64_t tq_invoke_retry_after_ms(const char *v, int64_t now_unix_ms)
{
    if (!v || !*v) return -1;
    char *end;
    long s = strtol(v, &end, 10);
    if (end != v && *end == '\0') return s < 0 ? -1 : (int64_t)s * 1000;
    time_t t = curl_getdate(v, NULL);
    if (t < 0) return -1;
    int64_t d = (int64_t)t * 1000 - now_unix_ms;
    return d < 0 ? 0 : d;
}

static void on_retry_timer(tq_loop_t *loop, void *arg)
{
    (void)loop;
    tq_invoke_call_t *c = arg;
    c->timer = 0;
    attempt(c);
}

/* Whether to try again, and after how long. */
static int should_retry(tq_invoke_call_t *c, const tq_httpc_response_t *r, int64_t *wait)
{
    if (c->attempts > c->opts.max_retries) return 0;
    if (!idempotent(c->req->method) && !c->opts.retry_unsafe) return 0;
    if (tq_error_is_set(&r->error)) {
        if (!tq_error_retryable(r->error.code)) return 0; /* timeout, connect_failed ... */
        *wait = backoff_ms(c);
    } else if (r->status == 429 || r->status == 502 || r->status == 503 || r->status == 504) {
        *wait = backoff_ms(c);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ra = tq_invoke_retry_after_ms(tq_httpc_xfer_header(c->xfer, "retry-after"),
                                              (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
        if (ra > c->opts.retry_after_max_ms) return 0; /* the server wants longer: report it */
        if (ra >= 0) *wait = ra;
    } else {
        return 0;
    }
    if (c->opts.deadline_ms && tq_now_ms() + *wait >= c->opts.deadline_ms) return 0;
    return 1;
}

/* Rewrites the request for a redirect; 0, or -1 to stop following. */
static int follow(tq_invoke_call_t *c, const char *location)
{
    CURLU *u = curl_url();
    char *next = NULL;
    int ok = curl_url_set(u, CURLUPART_URL, c->req->url, 0) == CURLUE_OK &&
             curl_url_set(u, CURLUPART_URL, location, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
             curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0) == CURLUE_OK &&
             curl_url_get(u, CURLUPART_URL, &next, 0) == CURLUE_OK;
    curl_url_cleanup(u);
    if (!ok) {
        curl_free(next);
        return -1;
    }
    char o1[TQ_ORIGIN_MAX], o2[TQ_ORIGIN_MAX];
    int cross = tq_ssrf_url_origin(c->req->url, o1, sizeof o1) ||
                tq_ssrf_url_origin(next, o2, sizeof o2) || strcmp(o1, o2) != 0;
    int status = c->xfer ? tq_httpc_xfer_response(c->xfer)->status : 0;
    if (status == 303 ? strcmp(c->req->method, "HEAD") != 0
                      : ((status == 301 || status == 302) && !strcmp(c->req->method, "POST"))) {
        strcpy(c->req->method, "GET");
        free(c->req->body);
        c->req->body = NULL;
        c->req->body_len = 0;
        c->req->has_body = 0;
        tq_httpc_request_set_header(c->req, "Content-Type", NULL, 0);
    }
    if (cross) {
        /* credentials never follow to another origin */
        c->carries = 0;
        size_t j = 0;
        for (size_t i = 0; i < c->req->nheaders; i++) {
            tq_httpc_request_header_t *h = &c->req->headers[i];
            if (h->from_auth || !strcasecmp(h->name, "authorization") ||
                !strcasecmp(h->name, "proxy-authorization")) {
                free(h->name);
                tq_secure_wipe_str(h->value);
                free(h->value);
                continue;
            }
            c->req->headers[j++] = *h;
        }
        c->req->nheaders = j;
        if (c->req->cookie) {
            tq_secure_wipe_str(c->req->cookie);
            free(c->req->cookie);
            c->req->cookie = NULL;
        }
    }
    tq_secure_wipe_str(c->req->url);
    free(c->req->url);
    c->req->url = strdup(next);
    curl_free(next);
    if (!c->req->url) tq_oom();
    return 0;
}

static void on_exchange(tq_httpc_xfer_t *x, void *arg)
{
    tq_invoke_call_t *c = arg;
    const tq_httpc_response_t *r = tq_httpc_xfer_response(x);
    int64_t wait = 0;
    if (!tq_error_is_set(&r->error) && r->status >= 300 && r->status < 400 && r->status != 304 &&
        r->status != 300 && r->status != 305) {
        const char *loc = tq_httpc_xfer_header(x, "location");
        if (loc && *loc) {
            if (c->redirects >= c->opts.max_redirects) {
                tq_error_set((tq_error_t *)&r->error, "too_many_redirects",
                             "more than %d redirects", c->opts.max_redirects);
                call_done(c);
                return;
            }
            if (follow(c, loc) == 0) {
                c->redirects++;
                c->attempts--; /* a hop is not a new attempt */
                attempt(c);
                return;
            }
            tq_error_set((tq_error_t *)&r->error, "invalid_url",
                         "the redirect location is not a valid URL");
            call_done(c);
            return;
        }
    }
    if (should_retry(c, r, &wait)) {
        c->timer = tq_loop_timer(c->loop, wait, on_retry_timer, c);
        return;
    }
    call_done(c);
}

int tq_invoke_origin_listed(const json_t *origins, const char *origin)
{
    size_t i;
    json_t *o;
    json_array_foreach(origins, i, o) if (!strcmp(json_string_value(o) ? json_string_value(o) : "",
                                                  origin)) return 1;
    return 0;
}

static void attempt(tq_invoke_call_t *c)
{
    tq_httpc_xfer_destroy(&c->xfer);
    c->attempts++;
    char origin[TQ_ORIGIN_MAX];
    if (c->carries && (tq_ssrf_url_origin(c->req->url, origin, sizeof origin) ||
                       !tq_invoke_origin_listed(c->opts.origins, origin))) {
        memset(&c->failed, 0, sizeof c->failed);
        tq_error_set(&c->failed.error, "credential_origin_mismatch",
                     "the credential may not be sent to this origin");
        c->use_failed = 1;
        c->timer = tq_loop_timer(c->loop, 0, on_start_failed, c);
        return;
    }
    tq_httpc_opts_t o = c->opts.http;
    if (c->opts.deadline_ms) {
        int64_t left = c->opts.deadline_ms - tq_now_ms();
        if (left < 1) left = 1;
        if (!o.timeout_ms || o.timeout_ms > left) o.timeout_ms = (long)left;
    }
    tq_error_t err = {0};
    c->xfer = tq_httpc_send(c->http, c->req, &o, on_exchange, c, &err);
    if (!c->xfer) {
        memset(&c->failed, 0, sizeof c->failed);
        c->failed.error = err;
        c->use_failed = 1;
        c->timer = tq_loop_timer(c->loop, 0, on_start_failed, c);
    }
}

tq_invoke_call_t *tq_invoke_call_start(tq_loop_t *loop, tq_httpc_request_t *req,
                                       const tq_invoke_call_opts_t *opts, tq_invoke_call_fn *done,
                                       void *arg)
{
    tq_invoke_call_t *c = tq_xcalloc(1, sizeof *c);
    c->loop = loop;
    c->http = tq_httpc_engine(loop);
    c->req = req;
    c->opts = *opts;
    c->done = done;
    c->arg = arg;
    c->start_ms = tq_now_ms();
    c->carries = opts->origins != NULL;
    attempt(c);
    return c;
}

const tq_httpc_response_t *tq_invoke_call_response(const tq_invoke_call_t *call)
{
    if (call->use_failed || !call->xfer) return &call->failed;
    return tq_httpc_xfer_response(call->xfer);
}

int tq_invoke_call_attempts(const tq_invoke_call_t *call)
{
    return call->attempts;
}

int tq_invoke_call_redirects(const tq_invoke_call_t *call)
{
    return call->redirects;
}

int64_t tq_invoke_call_elapsed_ms(const tq_invoke_call_t *call)
{
    return tq_now_ms() - call->start_ms;
}

void tq_invoke_call_destroy(tq_invoke_call_t **call_p)
{
    if (!call_p || !*call_p) return;
    tq_invoke_call_t *c = *call_p;
    if (c->timer) tq_loop_cancel(c->loop, c->timer);
    tq_httpc_xfer_destroy(&c->xfer);
    tq_httpc_request_destroy(&c->req);
    free(c);
    *call_p = NULL;
}
