/* tq_token_server.c — a fast OAuth 2.0 token endpoint for scripts/bench-refresh
 * (libmicrohttpd, 127.0.0.1 only). POST /token with grant_type=refresh_token
 * answers 200 {access_token, token_type, expires_in: 3600, refresh_token}
 * with a NEW refresh token every time (rotation), and counts how often each
 * refresh token was presented: a count > 1 is a double refresh (with a
 * rotating provider, the second one would have been invalid_grant).
 * GET /__stats -> {"requests", "refresh", "distinct", "double", "errors"}.
 * Usage: tq-token-server [--port N] [--threads N] [--die-with-parent]; port 0
 * (default) picks a free port; the first stdout line is the port. Runs until
 * SIGINT or SIGTERM. Test-only: tokens are counters, nothing is secret. */
#include <microhttpd.h>

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#define BODY_MAX 8192
#define SLOTS (1u << 20) /* refresh tokens remembered (open addressing) */

typedef struct {
    char body[BODY_MAX + 1];
    size_t len;
    int started;
} request_t;

static int s_stop_pipe[2];
static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static char **s_keys;
static unsigned *s_counts;
static unsigned long s_requests, s_refresh, s_distinct, s_double, s_errors, s_next = 1;

static void on_signal(int sig)
{
    (void)sig;
    ssize_t w = write(s_stop_pipe[1], "x", 1);
    (void)w;
}

static uint64_t hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

/* Counts one presentation of token (under s_lock); returns its count. */
static unsigned count_token(const char *t, size_t n)
{
    size_t i = hash(t, n) & (SLOTS - 1);
    for (size_t probes = 0; probes < SLOTS; probes++, i = (i + 1) & (SLOTS - 1)) {
        if (!s_keys[i]) {
            if (s_distinct >= SLOTS * 3 / 4) return 0; /* full: stop counting */
            s_keys[i] = strndup(t, n);
            s_distinct++;
            return s_counts[i] = 1;
        }
        if (strlen(s_keys[i]) == n && !memcmp(s_keys[i], t, n)) return ++s_counts[i];
    }
    return 0;
}

/* The value of form field name in body (not decoded: the tokens are URL-safe). */
static const char *form_get(const char *body, const char *name, size_t *len)
{
    size_t nl = strlen(name);
    for (const char *p = body; p && *p; p = strchr(p, '&'), p = p ? p + 1 : NULL) {
        if (!strncmp(p, name, nl) && p[nl] == '=') {
            const char *v = p + nl + 1;
            *len = strcspn(v, "&");
            return v;
        }
    }
    return NULL;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *body)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "application/json");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *data_size, void **con_cls)
{
    (void)cls;
    (void)version;
    request_t *q = *con_cls;
    if (!q) {
        q = calloc(1, sizeof *q);
        if (!q) return MHD_NO;
        *con_cls = q;
        return MHD_YES;
    }
    if (*data_size) {
        size_t n = *data_size;
        if (q->len + n > BODY_MAX) n = BODY_MAX - q->len;
        memcpy(q->body + q->len, data, n);
        q->len += n;
        *data_size = 0;
        return MHD_YES;
    }
    q->body[q->len] = '\0';
    char out[512];
    if (!strcmp(url, "/__stats")) {
        pthread_mutex_lock(&s_lock);
        snprintf(out, sizeof out,
                 "{\"requests\":%lu,\"refresh\":%lu,\"distinct\":%lu,\"double\":%lu,"
                 "\"errors\":%lu}",
                 s_requests, s_refresh, s_distinct, s_double, s_errors);
        pthread_mutex_unlock(&s_lock);
        return reply(c, 200, out);
    }
    if (strcmp(url, "/token") || strcmp(method, "POST")) return reply(c, 404, "{}");
    size_t gl = 0, rl = 0;
    const char *gt = form_get(q->body, "grant_type", &gl);
    const char *rt = form_get(q->body, "refresh_token", &rl);
    pthread_mutex_lock(&s_lock);
    s_requests++;
    if (!gt || gl != 13 || strncmp(gt, "refresh_token", 13) || !rt || !rl) {
        s_errors++;
        pthread_mutex_unlock(&s_lock);
        return reply(c, 400, "{\"error\":\"invalid_request\"}");
    }
    s_refresh++;
    if (count_token(rt, rl) > 1) s_double++;
    unsigned long n = s_next++;
    pthread_mutex_unlock(&s_lock);
    snprintf(out, sizeof out,
             "{\"access_token\":\"bench-at-%lu\",\"token_type\":\"Bearer\",\"expires_in\":3600,"
             "\"refresh_token\":\"bench-rotated-rt-%lu\",\"scope\":\"read\"}",
             n, n);
    return reply(c, 200, out);
}

static void request_done(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    free(*con_cls);
    *con_cls = NULL;
}

int main(int argc, char **argv)
{
    long port = 0, threads = 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc) {
            port = strtol(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            threads = strtol(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--die-with-parent")) {
            prctl(PR_SET_PDEATHSIG, SIGTERM);
        } else {
            fprintf(stderr,
                    "usage: tq-token-server [--port N] [--threads N] [--die-with-parent]\n");
            return 2;
        }
    }
    s_keys = calloc(SLOTS, sizeof *s_keys);
    s_counts = calloc(SLOTS, sizeof *s_counts);
    if (!s_keys || !s_counts || pipe(s_stop_pipe) != 0) return 1;
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, answer,
        NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED,
        request_done, NULL, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(threads > 0 ? threads : 1),
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
        MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "tq-token-server: cannot listen on 127.0.0.1:%ld\n", port);
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("%u\n", info ? (unsigned)info->port : (unsigned)port);
    fflush(stdout);
    char ch;
    while (read(s_stop_pipe[0], &ch, 1) < 0 && errno == EINTR) {
    }
    MHD_stop_daemon(d);
    for (size_t i = 0; i < SLOTS; i++)
        free(s_keys[i]);
    free(s_keys);
    free(s_counts);
    return 0;
}
