/* httpc_get.c — one blocking, SSRF-guarded GET with libcurl's easy
 * interface (httpc_get.h). Owns its easy handle. Never follows a redirect,
 * never logs, never puts a query or userinfo into an error message. */
#include "httpc_get.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

struct tq_httpc_get_t {
    CURL *easy;
};

tq_httpc_get_t *tq_httpc_get_new(void)
{
    tq_httpc_get_t *self = calloc(1, sizeof *self);
    if (self && !(self->easy = curl_easy_init())) {
        free(self);
        self = NULL;
    }
    return self;
}

void tq_httpc_get_destroy(tq_httpc_get_t **self_p)
{
    if (!self_p || !*self_p) return;
    curl_easy_cleanup((*self_p)->easy);
    free(*self_p);
    *self_p = NULL;
}

/* The body, under body->max. */
static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    tq_buf_t *body = arg;
    tq_buf_add(body, p, size * n);
    return body->too_large ? 0 : size * n; /* 0 aborts the transfer */
}

int tq_httpc_get(tq_httpc_get_t *self, const char *url, const tq_httpc_get_opts_t *opts,
                 tq_buf_t *body, long *status, char **location, tq_error_t *err)
{
    CURL *easy = self->easy;
    tq_ssrf_curl_t sctx = {0};
    if (tq_ssrf_curl_setup(opts->ssrf, easy, url, &sctx, err) ||
        tq_ssrf_curl_proxy(opts->ssrf, easy, opts->proxy ? opts->proxy : "", &sctx, err)) {
        tq_ssrf_curl_done(&sctx);
        return -1;
    }
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, opts->connect_timeout_ms);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, opts->timeout_ms);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, body);
    body->len = 0;
    CURLcode rc = curl_easy_perform(easy);
    tq_ssrf_curl_done(&sctx);
    if (sctx.error.code[0]) {
        *err = sctx.error;
        return -1;
    }
    char shown[512]; /* error messages may be stored: no userinfo, no query */
    if (body->too_large)
        return tq_error_set(err, "response_too_large", "%s is larger than %zu bytes",
                            tq_ssrf_url_for_message(url, shown, sizeof shown), body->max);
    if (rc != CURLE_OK)
        return tq_error_set(err, "network_error", "GET %s: %s",
                            tq_ssrf_url_for_message(url, shown, sizeof shown),
                            curl_easy_strerror(rc));
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, status);
    char *loc = NULL;
    curl_easy_getinfo(easy, CURLINFO_REDIRECT_URL, &loc);
    *location = loc ? strdup(loc) : NULL;
    return 0;
}
