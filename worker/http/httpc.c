/* httpc.c — libcurl multi interface on the worker's event loop.
 * Owns the process's multi handle (connection cache) and the easy handles
 * of running exchanges. Must never block the loop, follow a redirect, or
 * log a URL, header or body. */
#include "httpc.h"
#include "vault.h"
#include "mem.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zmq.h>

#define TQ_HTTP_MAX_HEADERS 500

struct tq_httpc_t {
    tq_loop_t *loop;
    CURLM *multi;
    uint64_t timer;
};

struct tq_httpc_xfer_t {
    tq_httpc_t *http;
    CURL *easy;
    struct curl_slist *hdrs;
    tq_ssrf_curl_t ssrf;
    size_t max_bytes;
    int too_large;
    int running;
    tq_httpc_response_t resp;
    tq_httpc_done_fn *done;
    void *arg;
    int64_t start_us;
    char errbuf[CURL_ERROR_SIZE];
};

typedef struct {
    tq_httpc_t *http;
    int fd;
} sock_t;

static tq_httpc_t *s_engine;

static void check_done(tq_httpc_t *h);

static void on_io(tq_loop_t *loop, int revents, void *arg)
{
    (void)loop;
    sock_t *s = arg;
    tq_httpc_t *h = s->http;
    int flags = 0, running = 0;
    if (revents & ZMQ_POLLIN) flags |= CURL_CSELECT_IN;
    if (revents & ZMQ_POLLOUT) flags |= CURL_CSELECT_OUT;
    if (revents & ZMQ_POLLERR) flags |= CURL_CSELECT_ERR;
    curl_multi_socket_action(h->multi, s->fd, flags, &running);
    check_done(h);
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)easy;
    tq_httpc_t *h = userp;
    sock_t *s = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (h->loop) tq_loop_remove_fd(h->loop, fd);
        free(s);
        curl_multi_assign(h->multi, fd, NULL);
        return 0;
    }
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s) return -1;
        s->http = h;
        s->fd = fd;
        curl_multi_assign(h->multi, fd, s);
    }
    short ev = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) ev |= ZMQ_POLLIN;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) ev |= ZMQ_POLLOUT;
    tq_loop_add_fd(h->loop, fd, ev, on_io, s);
    return 0;
}

static void on_timer(tq_loop_t *loop, void *arg)
{
    (void)loop;
    tq_httpc_t *h = arg;
    int running = 0;
    h->timer = 0;
    curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(h);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    tq_httpc_t *h = userp;
    if (h->timer) tq_loop_cancel(h->loop, h->timer);
    h->timer = 0;
    if (timeout_ms >= 0) h->timer = tq_loop_timer(h->loop, timeout_ms, on_timer, h);
    return 0;
}

tq_httpc_t *tq_httpc_engine(tq_loop_t *loop)
{
    if (s_engine && s_engine->loop == loop) return s_engine;
    if (s_engine) {
        /* a new loop (tests): the old one is gone with its fds and timers */
        s_engine->loop = NULL;
        curl_multi_cleanup(s_engine->multi);
        free(s_engine);
        s_engine = NULL;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    tq_httpc_t *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    h->loop = loop;
    h->multi = curl_multi_init();
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, 1024L);
    s_engine = h;
    return h;
}

/* --- callbacks of one transfer ------------------------------------------------ */

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    tq_httpc_xfer_t *x = arg;
    size_t len = size * n;
    if (x->max_bytes && x->resp.body.len + len > x->max_bytes) {
        x->too_large = 1;
        return 0; /* aborts with CURLE_WRITE_ERROR: never a silent cut */
    }
    tq_buf_add(&x->resp.body, p, len);
    return len;
}

static void clear_headers(tq_httpc_response_t *r)
{
    for (size_t i = 0; i < r->nheaders; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->headers);
    r->headers = NULL;
    r->nheaders = 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    tq_httpc_xfer_t *x = arg;
    size_t len = size * n;
    size_t l = len;
    while (l && (p[l - 1] == '\r' || p[l - 1] == '\n'))
        l--;
    if (l >= 5 && !strncmp(p, "HTTP/", 5)) {
        clear_headers(&x->resp); /* a new response (after 100 Continue, a proxy CONNECT) */
        return len;
    }
    if (!l) return len;
    tq_httpc_response_t *r = &x->resp;
    if ((p[0] == ' ' || p[0] == '\t') && r->nheaders) { /* obsolete line folding */
        tq_httpc_header_t *h = &r->headers[r->nheaders - 1];
        size_t old = strlen(h->value);
        char *nv = realloc(h->value, old + l + 1);
        if (!nv) return 0;
        memcpy(nv + old, p, l);
        nv[old + l] = '\0';
        h->value = nv;
        return len;
    }
    const char *colon = memchr(p, ':', l);
    if (!colon || r->nheaders >= TQ_HTTP_MAX_HEADERS) return len;
    size_t nl = (size_t)(colon - p);
    const char *v = colon + 1;
    while (v < p + l && (*v == ' ' || *v == '\t'))
        v++;
    size_t vl = (size_t)(p + l - v);
    while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
        vl--;
    tq_httpc_header_t *nh = realloc(r->headers, (r->nheaders + 1) * sizeof *nh);
    if (!nh) return 0;
    r->headers = nh;
    char *name = strndup(p, nl), *value = strndup(v, vl);
    if (!name || !value) {
        free(name);
        free(value);
        return 0;
    }
    for (char *c = name; *c; c++)
        if (*c >= 'A' && *c <= 'Z') *c = (char)(*c + 32);
    r->headers[r->nheaders++] = (tq_httpc_header_t){name, value};
    return len;
}

/* --- error classification ------------------------------------------------------- */

static void classify(tq_httpc_xfer_t *x, CURLcode rc)
{
    tq_error_t *e = &x->resp.error;
    const char *detail = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);
    switch (rc) {
    case CURLE_OK:
        return;
    case CURLE_OPERATION_TIMEDOUT:
        tq_error_set(e, "timeout", "the request timed out (%s)", detail);
        return;
    case CURLE_COULDNT_RESOLVE_HOST:
        tq_error_set(e, "dns_failed", "cannot resolve host %s", x->ssrf.host);
        return;
    case CURLE_COULDNT_RESOLVE_PROXY:
        tq_error_set(e, "dns_failed", "cannot resolve the proxy host");
        return;
    case CURLE_COULDNT_CONNECT:
        if (tq_error_is_set(&x->ssrf.error)) {
            *e = x->ssrf.error;
            return;
        }
        tq_error_set(e, "connect_failed", "cannot connect to %s (%s)", x->ssrf.host, detail);
        return;
    case CURLE_FILESIZE_EXCEEDED:
        tq_error_set(e, "response_too_large", "the response is larger than %zu bytes",
                     x->max_bytes);
        return;
    case CURLE_WRITE_ERROR:
        if (x->too_large) {
            tq_error_set(e, "response_too_large", "the response is larger than %zu bytes",
                         x->max_bytes);
            return;
        }
        break;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_USE_SSL_FAILED:
        tq_error_set(e, "tls_error", "TLS with %s failed (%s)", x->ssrf.host, detail);
        return;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        tq_error_set(e, "invalid_url", "the URL is not valid (%s)", curl_easy_strerror(rc));
        return;
    case CURLE_TOO_MANY_REDIRECTS:
    default:
        break;
    }
    tq_error_set(e, "network_error", "the exchange with %s failed (%s)", x->ssrf.host, detail);
}

static void finish(tq_httpc_xfer_t *x, CURLcode rc)
{
    long status = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    long ver = 0;
    curl_easy_getinfo(x->easy, CURLINFO_HTTP_VERSION, &ver);
    snprintf(x->resp.http_version, sizeof x->resp.http_version, "%s",
             ver == CURL_HTTP_VERSION_2_0   ? "2"
             : ver == CURL_HTTP_VERSION_3   ? "3"
             : ver == CURL_HTTP_VERSION_1_0 ? "1.0"
                                            : "1.1");
    x->resp.status = rc == CURLE_OK ? (int)status : 0;
    classify(x, rc);
    x->resp.elapsed_us = tq_now_us() - x->start_us;
}

static void check_done(tq_httpc_t *h)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(h->multi, &left))) {
        if (m->msg != CURLMSG_DONE) continue;
        CURL *easy = m->easy_handle;
        CURLcode rc = m->data.result;
        tq_httpc_xfer_t *x = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
        curl_multi_remove_handle(h->multi, easy);
        if (!x) continue;
        x->running = 0;
        finish(x, rc);
        x->done(x, x->arg);
    }
}

/* --- transfers ------------------------------------------------------------------- */

static int has_header(const tq_httpc_request_t *req, const char *name)
{
    return tq_httpc_request_header(req, name) != NULL;
}

tq_httpc_xfer_t *tq_httpc_send(tq_httpc_t *self, const tq_httpc_request_t *req,
                               const tq_httpc_opts_t *opts, tq_httpc_done_fn *done, void *arg,
                               tq_error_t *err)
{
    tq_httpc_xfer_t *x = tq_xcalloc(1, sizeof *x);
    x->http = self;
    x->done = done;
    x->arg = arg;
    x->max_bytes = opts->max_bytes;
    x->easy = curl_easy_init();
    if (!x->easy) tq_oom();
    CURL *e = x->easy;
    if (tq_ssrf_curl_setup(opts->ssrf, e, req->url, &x->ssrf, err) ||
        tq_ssrf_curl_proxy(opts->ssrf, e, opts->proxy, &x->ssrf, err)) {
        tq_httpc_xfer_destroy(&x);
        return NULL;
    }
    curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L); /* the path as built: no dot-segment folding */
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, opts->verify_tls ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, opts->verify_tls ? 2L : 0L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    if (opts->connect_timeout_ms > 0)
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, opts->connect_timeout_ms);
    if (opts->timeout_ms > 0) curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, opts->timeout_ms);
    if (opts->max_bytes)
        curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)opts->max_bytes);
    if (!has_header(req, "user-agent"))
        curl_easy_setopt(e, CURLOPT_USERAGENT, "toolq/" TOOLQ_VERSION);

    const char *m = req->method;
    if (!strcmp(m, "HEAD")) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (!strcmp(m, "GET") && !req->has_body) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m);
        if (req->has_body || !strcmp(m, "POST") || !strcmp(m, "PUT") || !strcmp(m, "PATCH")) {
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body ? (char *)req->body : "");
        }
    }
    struct curl_slist *l = NULL;
    tq_buf_t line = {0};
    for (size_t i = 0; i < req->nheaders; i++) {
        line.len = 0;
        if (req->headers[i].value[0])
            tq_buf_addf(&line, "%s: %s", req->headers[i].name, req->headers[i].value);
        else
            tq_buf_addf(&line, "%s;", req->headers[i].name); /* curl: empty value */
        l = curl_slist_append(l, line.data);
    }
    if (req->cookie) {
        line.len = 0;
        tq_buf_addf(&line, "Cookie: %s", req->cookie);
        l = curl_slist_append(l, line.data);
    }
    tq_buf_wipe(&line);
    l = curl_slist_append(l, "Expect:");
    if (!has_header(req, "content-type")) l = curl_slist_append(l, "Content-Type:");
    x->hdrs = l;
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, l);

    x->start_us = tq_now_us();
    if (curl_multi_add_handle(self->multi, e) != CURLM_OK) {
        tq_error_set(err, "internal", "cannot start the HTTP transfer");
        tq_httpc_xfer_destroy(&x);
        return NULL;
    }
    x->running = 1;
    return x;
}

const tq_httpc_response_t *tq_httpc_xfer_response(const tq_httpc_xfer_t *xfer)
{
    return &xfer->resp;
}

const char *tq_httpc_xfer_header(const tq_httpc_xfer_t *xfer, const char *name)
{
    for (size_t i = 0; i < xfer->resp.nheaders; i++)
        if (!strcmp(xfer->resp.headers[i].name, name)) return xfer->resp.headers[i].value;
    return NULL;
}

void tq_httpc_xfer_destroy(tq_httpc_xfer_t **xfer_p)
{
    if (!xfer_p || !*xfer_p) return;
    tq_httpc_xfer_t *x = *xfer_p;
    if (x->running) {
        curl_multi_remove_handle(x->http->multi, x->easy);
    }
    if (x->easy) curl_easy_cleanup(x->easy);
    tq_ssrf_curl_done(&x->ssrf);
    if (x->hdrs) {
        for (struct curl_slist *s = x->hdrs; s; s = s->next)
            tq_secure_wipe_str(s->data);
        curl_slist_free_all(x->hdrs);
    }
    clear_headers(&x->resp);
    tq_buf_free(&x->resp.body);
    free(x);
    *xfer_p = NULL;
}
