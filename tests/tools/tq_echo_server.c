/* tq_echo_server.c — test HTTP server (libmicrohttpd, 127.0.0.1 only) that
 * answers every request with JSON describing exactly what it received:
 *   {"method", "path" (raw path+query, undecoded), "version",
 *    "headers": [[name, value], ...] in arrival order,
 *    "body_size", "body_base64", "body_text" (null unless valid UTF-8)}
 * Special paths:
 *   /status/N           answer N (echo body)
 *   /slow/MS            sleep MS milliseconds, then echo
 *   /size/N             N bytes of application/octet-stream ("abc...z" repeated)
 *   /redirect/N?to=URL  302; N > 1 -> /redirect/N-1 (same query), N = 1 -> URL
 *                       (or "/" without to=)
 *   /flaky/KEY/N        503 for the first N requests with that KEY, then echo
 *   /retry-after/SECS   429 with Retry-After: SECS
 * Usage: tq-echo-server [--port N] [--die-with-parent] [--tls CERT KEY]; port 0 (default)
 * picks a free port. The first stdout line is the port. Runs until SIGINT or
 * SIGTERM. Test-only: never use it outside tests. */
#include <jansson.h>
#include <microhttpd.h>
#include <openssl/evp.h>

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#define BODY_MAX (64u * 1024 * 1024)
#define FLAKY_KEYS 256

typedef struct {
    char *raw_uri;
    unsigned char *body;
    size_t body_len;
    int started; /* the first call only announces the headers */
    int too_large;
} request_t;

typedef struct {
    char key[64];
    unsigned long count;
} flaky_t;

static int s_stop_pipe[2];

static void on_signal(int sig)
{
    (void)sig;
    ssize_t w = write(s_stop_pipe[1], "x", 1);
    (void)w;
}

static pthread_mutex_t s_flaky_lock = PTHREAD_MUTEX_INITIALIZER;
static flaky_t s_flaky[FLAKY_KEYS];
static size_t s_flaky_used;

/* Count of previous requests for key (then counts this one). */
static unsigned long flaky_hit(const char *key)
{
    pthread_mutex_lock(&s_flaky_lock);
    size_t i = 0;
    while (i < s_flaky_used && strcmp(s_flaky[i].key, key) != 0)
        i++;
    if (i == s_flaky_used && s_flaky_used < FLAKY_KEYS) {
        snprintf(s_flaky[i].key, sizeof s_flaky[i].key, "%s", key);
        s_flaky_used++;
    }
    unsigned long before = i < FLAKY_KEYS ? s_flaky[i].count++ : 0;
    pthread_mutex_unlock(&s_flaky_lock);
    return before;
}

static void *uri_logger(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    (void)conn;
    request_t *req = calloc(1, sizeof *req);
    if (req) req->raw_uri = strdup(uri);
    return req;
}

static void request_done(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    request_t *req = *req_cls;
    if (req) {
        free(req->raw_uri);
        free(req->body);
        free(req);
        *req_cls = NULL;
    }
}

static enum MHD_Result add_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    (void)kind;
    json_array_append_new(cls, json_pack("[ss]", key, value ? value : ""));
    return MHD_YES;
}

static int valid_utf8(const unsigned char *s, size_t n)
{
    json_t *j = json_stringn((const char *)s, n);
    int ok = j != NULL;
    json_decref(j);
    return ok;
}

static char *base64(const unsigned char *data, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    if (out) EVP_EncodeBlock((unsigned char *)out, data, (int)n);
    return out;
}

static char *echo_json(struct MHD_Connection *conn, const char *method, const char *version,
                       const request_t *req)
{
    json_t *headers = json_array();
    MHD_get_connection_values(conn, MHD_HEADER_KIND, add_header, headers);
    const unsigned char *body = req->body ? req->body : (const unsigned char *)"";
    char *b64 = base64(body, req->body_len);
    json_t *text = valid_utf8(body, req->body_len) ? json_stringn((const char *)body, req->body_len)
                                                   : json_null();
    json_t *doc =
        json_pack("{ss ss ss so sI ss so}", "method", method, "path", req->raw_uri, "version",
                  version, "headers", headers, "body_size", (json_int_t)req->body_len,
                  "body_base64", b64 ? b64 : "", "body_text", text);
    free(b64);
    char *s = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return s;
}

static enum MHD_Result send_text(struct MHD_Connection *conn, unsigned status, char *body,
                                 const char *type, const char *hname, const char *hvalue)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(resp, "Content-Type", type);
    if (hname) MHD_add_response_header(resp, hname, hvalue);
    enum MHD_Result rc = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static ssize_t size_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    uint64_t total = *(uint64_t *)cls;
    if (pos >= total) return MHD_CONTENT_READER_END_OF_STREAM;
    size_t n = max < total - pos ? max : (size_t)(total - pos);
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)('a' + (pos + i) % 26);
    return (ssize_t)n;
}

static enum MHD_Result send_size(struct MHD_Connection *conn, uint64_t n)
{
    uint64_t *total = malloc(sizeof *total);
    if (!total) return MHD_NO;
    *total = n;
    struct MHD_Response *resp =
        MHD_create_response_from_callback(n, 64 * 1024, size_reader, total, free);
    MHD_add_response_header(resp, "Content-Type", "application/octet-stream");
    enum MHD_Result rc = MHD_queue_response(conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result send_redirect(struct MHD_Connection *conn, const request_t *req, long n)
{
    const char *to = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "to");
    char *location = NULL;
    if (n > 1) {
        const char *q = strchr(req->raw_uri, '?');
        if (asprintf(&location, "/redirect/%ld%s", n - 1, q ? q : "") < 0) return MHD_NO;
    } else if (!(location = strdup(to ? to : "/"))) {
        return MHD_NO;
    }
    char *body = strdup("");
    enum MHD_Result rc =
        body ? send_text(conn, MHD_HTTP_FOUND, body, "text/plain", "Location", location) : MHD_NO;
    free(location);
    return rc;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **req_cls)
{
    (void)cls;
    request_t *req = *req_cls;
    if (!req) return MHD_NO;
    if (!req->started) {
        req->started = 1;
        return MHD_YES;
    }
    if (*upload_size) {
        if (req->body_len + *upload_size > BODY_MAX) {
            req->too_large = 1;
        } else {
            unsigned char *grown = realloc(req->body, req->body_len + *upload_size + 1);
            if (!grown) return MHD_NO;
            req->body = grown;
            memcpy(req->body + req->body_len, upload, *upload_size);
            req->body_len += *upload_size;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (req->too_large)
        return send_text(conn, 413, strdup("{\"error\":\"body too large\"}"), "application/json",
                         NULL, NULL);

    unsigned status = MHD_HTTP_OK;
    long n = 0;
    char key[64];
    if (sscanf(url, "/status/%ld", &n) == 1 && n >= 100 && n <= 999) {
        status = (unsigned)n;
    } else if (sscanf(url, "/slow/%ld", &n) == 1 && n >= 0) {
        struct timespec ts = {n / 1000, (n % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
    } else if (sscanf(url, "/size/%ld", &n) == 1 && n >= 0) {
        return send_size(conn, (uint64_t)n);
    } else if (sscanf(url, "/redirect/%ld", &n) == 1 && n >= 1) {
        return send_redirect(conn, req, n);
    } else if (sscanf(url, "/flaky/%63[^/]/%ld", key, &n) == 2 && n >= 0) {
        if (flaky_hit(key) < (unsigned long)n) status = MHD_HTTP_SERVICE_UNAVAILABLE;
    } else if (sscanf(url, "/retry-after/%ld", &n) == 1 && n >= 0) {
        char secs[32];
        snprintf(secs, sizeof secs, "%ld", n);
        return send_text(conn, MHD_HTTP_TOO_MANY_REQUESTS,
                         strdup("{\"error\":\"too many requests\"}"), "application/json",
                         "Retry-After", secs);
    }
    char *body = echo_json(conn, method, version, req);
    if (!body) return MHD_NO;
    return send_text(conn, status, body, "application/json", NULL, NULL);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = calloc(1, 65537);
    size_t n = buf ? fread(buf, 1, 65536, f) : 0;
    fclose(f);
    if (buf) buf[n] = '\0';
    return buf;
}

int main(int argc, char **argv)
{
    long port = 0;
    char *cert = NULL, *key = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            port = strtol(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--die-with-parent") == 0) {
            prctl(PR_SET_PDEATHSIG, SIGTERM);
        } else if (strcmp(argv[i], "--tls") == 0 && i + 2 < argc) {
            cert = slurp(argv[++i]);
            key = slurp(argv[++i]);
            if (!cert || !key) {
                fprintf(stderr, "tq-echo-server: cannot read the certificate or key\n");
                return 2;
            }
        } else {
            fprintf(
                stderr,
                "usage: tq-echo-server [--port N] [--die-with-parent] [--tls CERT.pem KEY.pem]\n");
            return 2;
        }
    }
    /* A self-pipe, not sigwait: threads we do not own (sanitizers) may take the signal. */
    if (pipe(s_stop_pipe) != 0) return 1;
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;
    struct MHD_Daemon *d =
        cert ? MHD_start_daemon(
                   flags | MHD_USE_TLS, 0, NULL, NULL, answer, NULL, MHD_OPTION_SOCK_ADDR,
                   (struct sockaddr *)&addr, MHD_OPTION_URI_LOG_CALLBACK, uri_logger, NULL,
                   MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL, MHD_OPTION_CONNECTION_TIMEOUT,
                   (unsigned)120, MHD_OPTION_HTTPS_MEM_CERT, cert, MHD_OPTION_HTTPS_MEM_KEY, key,
                   MHD_OPTION_END)
             : MHD_start_daemon(flags, 0, NULL, NULL, answer, NULL, MHD_OPTION_SOCK_ADDR,
                                (struct sockaddr *)&addr, MHD_OPTION_URI_LOG_CALLBACK, uri_logger,
                                NULL, MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL,
                                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "tq-echo-server: cannot listen on 127.0.0.1:%ld\n", port);
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("%u\n", info ? (unsigned)info->port : (unsigned)port);
    fflush(stdout);
    char c;
    while (read(s_stop_pipe[0], &c, 1) < 0 && errno == EINTR) {
    }
    MHD_stop_daemon(d);
    free(cert);
    free(key);
    return 0;
}
