/* tq_curl_bench.c — the baseline of scripts/bench-invoke: a direct libcurl
 * multi loop keeping C GET requests in flight against one URL until N are
 * done (connection reuse, like the worker's engine). Prints one JSON line:
 *   {"requests","errors","seconds","rps","p50_ms","p99_ms"}
 * Usage: tq-curl-bench -n N -c C [-d PREFIX] URL. With -d, each request is a
 * form POST of PREFIX followed by the request's number (distinct bodies:
 * scripts/bench-refresh sends distinct refresh tokens to the token endpoint
 * for its ceiling). -H HEADER (repeatable) adds a request header; --json BODY
 * POSTs the same BODY every time (scripts/bench-http drives /v1/jobs so).
 * Test/bench only. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static size_t sink(char *p, size_t s, size_t n, void *u)
{
    (void)p;
    (void)u;
    return s * n;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* With -d: a form POST of prefix + k (copied by curl). */
static void set_body(CURL *e, const char *prefix, long k)
{
    if (!prefix) return;
    char body[512];
    snprintf(body, sizeof body, "%s%ld", prefix, k);
    curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, body);
}

typedef struct {
    CURL *e;
    double t0;
} slot_t;

int main(int argc, char **argv)
{
    long n = 1000;
    int c = 1;
    const char *url = NULL, *post = NULL, *json = NULL;
    struct curl_slist *hdrs = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-n") && i + 1 < argc)
            n = atol(argv[++i]);
        else if (!strcmp(argv[i], "-c") && i + 1 < argc)
            c = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-d") && i + 1 < argc)
            post = argv[++i];
        else if (!strcmp(argv[i], "-H") && i + 1 < argc)
            hdrs = curl_slist_append(hdrs, argv[++i]);
        else if (!strcmp(argv[i], "--json") && i + 1 < argc)
            json = argv[++i];
        else
            url = argv[i];
    }
    if (!url || n < 1 || c < 1) {
        fprintf(stderr, "usage: tq-curl-bench -n N -c C [-d PREFIX] [-H HEADER]... [--json BODY] "
                        "URL\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURLM *m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, 1024L);
    slot_t *slots = calloc((size_t)c, sizeof *slots);
    double *lat = calloc((size_t)n, sizeof *lat);
    long started = 0, done = 0, errors = 0;
    double t0 = now_ms();
    for (int i = 0; i < c && started < n; i++, started++) {
        slots[i].e = curl_easy_init();
        curl_easy_setopt(slots[i].e, CURLOPT_URL, url);
        curl_easy_setopt(slots[i].e, CURLOPT_WRITEFUNCTION, sink);
        curl_easy_setopt(slots[i].e, CURLOPT_PRIVATE, &slots[i]);
        curl_easy_setopt(slots[i].e, CURLOPT_NOSIGNAL, 1L);
        set_body(slots[i].e, post, started);
        if (hdrs) curl_easy_setopt(slots[i].e, CURLOPT_HTTPHEADER, hdrs);
        if (json) curl_easy_setopt(slots[i].e, CURLOPT_POSTFIELDS, json);
        slots[i].t0 = now_ms();
        curl_multi_add_handle(m, slots[i].e);
    }
    while (done < n) {
        int running = 0, left;
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE) continue;
            slot_t *s;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            long code = 0;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
            if (msg->data.result != CURLE_OK || code != 200) errors++;
            lat[done++] = now_ms() - s->t0;
            curl_multi_remove_handle(m, s->e);
            if (started < n) {
                set_body(s->e, post, started);
                started++;
                s->t0 = now_ms();
                curl_multi_add_handle(m, s->e);
            }
        }
        if (done < n) curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    double secs = (now_ms() - t0) / 1e3;
    qsort(lat, (size_t)n, sizeof *lat, cmp);
    printf("{\"requests\":%ld,\"errors\":%ld,\"seconds\":%.3f,\"rps\":%.1f,\"p50_ms\":%.3f,"
           "\"p99_ms\":%.3f}\n",
           n, errors, secs, n / secs, lat[n / 2],
           lat[(size_t)(n * 0.99) < (size_t)n ? (size_t)(n * 0.99) : (size_t)n - 1]);
    for (int i = 0; i < c; i++)
        if (slots[i].e) curl_easy_cleanup(slots[i].e);
    curl_multi_cleanup(m);
    curl_slist_free_all(hdrs);
    free(slots);
    free(lat);
    curl_global_cleanup();
    return errors ? 1 : 0;
}
