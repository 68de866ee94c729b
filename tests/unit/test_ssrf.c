/* test_ssrf.c — the SSRF guard: a battery of bypass attempts that must all end
 * "ssrf_blocked", the allowlist, public literals passing, and the connect-time
 * socket check through libcurl against tq-echo-server (from TOOLQ_BIN_DIR). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ssrf.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void expect_blocked(const tq_ssrf_t *g, const char *url)
{
    tq_error_t err = {0};
    int rc = tq_ssrf_check_url(g, url, &err);
    if (rc == 0 || strcmp(err.code, "ssrf_blocked") != 0)
        fail_msg("%s: expected ssrf_blocked, got rc=%d code=%s msg=%s", url, rc, err.code,
                 err.message);
    printf("  blocked %-50s %s\n", url, err.message);
}

static void expect_allowed(const tq_ssrf_t *g, const char *url)
{
    tq_error_t err = {0};
    if (tq_ssrf_check_url(g, url, &err) != 0)
        fail_msg("%s: expected to pass, got %s: %s", url, err.code, err.message);
}

static void test_bypass_battery(void **state)
{
    (void)state;
    static const char *urls[] = {
        "http://127.0.0.1/",
        "http://2130706433/", /* decimal */
        "http://0177.0.0.1/", /* octal */
        "http://0x7f000001/", /* hex */
        "http://0x7f.0.0.1/", /* hex first octet */
        "http://127.1/",      /* short forms */
        "http://127.0.1/",
        "http://0.0.0.0/",
        "http://0/",
        "http://[::]/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:7f00:1]/",
        "http://[0:0:0:0:0:ffff:169.254.169.254]/",
        "http://[::127.0.0.1]/", /* IPv4-compatible */
        "http://169.254.169.254/latest/meta-data/",
        "http://2852039166/",            /* 169.254.169.254 in decimal */
        "http://0xa9fea9fe/",            /* ... in hex */
        "http://example.com@127.0.0.1/", /* userinfo tricks */
        "http://127.0.0.1#@example.com/",
        "http://example.com%2523@127.0.0.1/",
        "http://user:pass@[::1]:8080/",
        "http://%31%32%37.0.0.1/", /* percent-encoded host */
        "http://localhost/",
        "http://localhost./",
        "http://LOCALHOST:8080/",
        "http://api.localhost/",
        "http://10.0.0.5/",
        "http://172.16.3.4/",
        "http://172.31.255.255/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",
        "http://224.0.0.1/",
        "http://240.0.0.1/",
        "http://255.255.255.255/",
        "http://192.0.0.8/",
        "http://198.18.0.1/",
        "http://192.0.2.1/",
        "https://[fe80::1]/",
        "http://[fe80::1%25eth0]/",
        "http://[fc00::1]/",
        "http://[fd00::1]/",
        "http://[ff02::1]/",
        "http://[64:ff9b::7f00:1]/",                      /* NAT64 embedding 127.0.0.1 */
        "http://[64:ff9b::a9fe:a9fe]/",                   /* NAT64 embedding metadata */
        "http://[2002:7f00:1::]/",                        /* 6to4 embedding 127.0.0.1 */
        "http://[2002:a00:1::]/",                         /* 6to4 embedding 10.0.0.1 */
        "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", /* Teredo */
        "http://[2001:db8::1]/",
        "http://[::ffff:10.1.2.3]/",
        "ftp://example.com/",
        "file:///etc/passwd",
        "gopher://127.0.0.1:6379/_INFO",
        "dict://127.0.0.1:11211/stats",
        "ldap://example.com/",
    };
    tq_error_t err = {0};
    tq_ssrf_t *g = tq_ssrf_new(NULL, &err);
    assert_non_null(g);
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++)
        expect_blocked(g, urls[i]);
    printf("  %zu bypass attempts blocked\n", sizeof urls / sizeof urls[0]);
    tq_ssrf_destroy(&g);
    assert_null(g);
}

static void test_messages_name_the_range(void **state)
{
    (void)state;
    tq_ssrf_t *g = tq_ssrf_new("", NULL);
    tq_error_t err = {0};
    assert_int_equal(tq_ssrf_check_url(g, "http://10.0.0.5/x", &err), -1);
    assert_string_equal(err.message, "10.0.0.5 is in a private range (10.0.0.0/8)");
    assert_int_equal(tq_ssrf_check_url(g, "http://[::ffff:169.254.169.254]/", &err), -1);
    assert_non_null(strstr(err.message, "169.254.169.254"));
    assert_non_null(strstr(err.message, "169.254.0.0/16"));
    assert_int_equal(tq_ssrf_check_host(g, "0x7f.1", &err), -1);
    assert_string_equal(err.message,
                        "0x7f.1 resolves to an address that is in a loopback range (127.0.0.0/8)");
    tq_ssrf_destroy(&g);
}

/* URLs in (clear-text) error messages lose userinfo, query and fragment. */
static void test_url_for_message(void **state)
{
    (void)state;
    char out[256];
    assert_string_equal(
        tq_ssrf_url_for_message("https://user:pa55@raw.example:8443/a/b.yaml?token=abc#frag", out,
                                sizeof out),
        "https://raw.example:8443/a/b.yaml");
    assert_string_equal(tq_ssrf_url_for_message("http://h/x?sig=1", out, sizeof out), "http://h/x");
    assert_string_equal(tq_ssrf_url_for_message("not a url", out, sizeof out), "(invalid URL)");
}

/* The machine's own host name resolves offline (/etc/hosts) to a local address. */
static void test_own_hostname_blocked(void **state)
{
    (void)state;
    char host[256], url[300];
    assert_int_equal(gethostname(host, sizeof host), 0);
    snprintf(url, sizeof url, "http://%s/", host);
    tq_ssrf_t *g = tq_ssrf_new(NULL, NULL);
    tq_error_t err = {0};
    int rc = tq_ssrf_check_url(g, url, &err);
    if (rc == 0) fail_msg("%s passed the guard", url);
    /* Either a local address, or it does not resolve at all: never let through. */
    assert_true(strcmp(err.code, "ssrf_blocked") == 0 || strcmp(err.code, "dns_failed") == 0);
    printf("  %s -> %s: %s\n", url, err.code, err.message);
    tq_ssrf_destroy(&g);
}

static void test_public_literals_pass(void **state)
{
    (void)state;
    tq_ssrf_t *g = tq_ssrf_new(NULL, NULL);
    /* only checked, never connected to */
    expect_allowed(g, "http://93.184.216.34/");
    expect_allowed(g, "https://8.8.8.8:443/dns");
    expect_allowed(g, "HTTPS://1.1.1.1/");
    expect_allowed(g, "http://[2606:2800:220:1:248:1893:25c8:1946]/");
    expect_allowed(g, "http://[::ffff:93.184.216.34]/");
    expect_allowed(g, "http://[64:ff9b::5db8:d822]/"); /* NAT64 of 93.184.216.34 */
    expect_allowed(g, "http://172.32.0.1/");           /* just outside 172.16/12 */
    expect_allowed(g, "http://100.128.0.1/");          /* just outside 100.64/10 */
    tq_ssrf_destroy(&g);
}

static void test_invalid_urls(void **state)
{
    (void)state;
    static const char *bad[] = {"not a url", "http://", "http://[::1/", "://x", ""};
    tq_ssrf_t *g = tq_ssrf_new(NULL, NULL);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tq_error_t err = {0};
        assert_int_equal(tq_ssrf_check_url(g, bad[i], &err), -1);
        if (strcmp(err.code, "invalid_url") != 0)
            fail_msg("'%s': expected invalid_url, got %s", bad[i], err.code);
    }
    tq_ssrf_destroy(&g);
}

static void test_allowlist(void **state)
{
    (void)state;
    tq_error_t err = {0};
    tq_ssrf_t *g = tq_ssrf_new(" 127.0.0.1/32 , 10.1.0.0/16,fd12::/16, internal.example,"
                               "*.corp.example",
                               &err);
    assert_non_null(g);
    expect_allowed(g, "http://127.0.0.1:8080/");
    expect_allowed(g, "http://[::ffff:127.0.0.1]/"); /* mapped form of an allowed address */
    expect_blocked(g, "http://127.0.0.2/");
    expect_blocked(g, "http://[::1]/");
    expect_allowed(g, "http://10.1.200.3/");
    expect_blocked(g, "http://10.2.0.1/");
    expect_allowed(g, "http://[fd12::5]/");
    expect_blocked(g, "http://[fd13::5]/");
    /* a name entry no longer skips resolution and the address check (F7):
     * these names do not resolve offline, so they are refused */
    assert_int_equal(tq_ssrf_check_url(g, "http://internal.example/", &err), -1);
    assert_string_equal(err.code, "dns_failed");
    expect_blocked(g, "ftp://internal.example/"); /* the scheme rule still holds */
    tq_ssrf_destroy(&g);

    assert_null(tq_ssrf_new("10.0.0.0/33", &err));
    assert_string_equal(err.code, "invalid_config");
    assert_null(tq_ssrf_new("10.0.0.0/8,bad name!", &err));
    assert_string_equal(err.code, "invalid_config");
    assert_null(tq_ssrf_new("host/8", &err));
}

/* --- against a real server --------------------------------------------------- */

typedef struct {
    pid_t pid;
    int port;
} server_t;

static int start_server(void **state)
{
    const char *bin = getenv("TOOLQ_BIN_DIR");
    if (!bin) {
        fprintf(stderr, "TOOLQ_BIN_DIR is not set (ctest sets it to build/bin)\n");
        return -1;
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/tq-echo-server", bin);
    int fds[2];
    if (pipe(fds) != 0) return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    server_t *s = calloc(1, sizeof *s);
    char *argv[] = {path, "--port", "0", "--die-with-parent", NULL};
    int rc = posix_spawn(&s->pid, path, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    FILE *out = fdopen(fds[0], "r");
    if (rc != 0 || !out || fscanf(out, "%d", &s->port) != 1) {
        fprintf(stderr, "cannot start %s\n", path);
        if (out) fclose(out);
        free(s);
        return -1;
    }
    fclose(out);
    *state = s;
    return 0;
}

static int stop_server(void **state)
{
    server_t *s = *state;
    kill(s->pid, SIGTERM);
    waitpid(s->pid, NULL, 0);
    free(s);
    return 0;
}

static size_t sink(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

/* Runs one GET through the guard. Returns the curl code; fills err. */
static CURLcode guarded_get(const tq_ssrf_t *g, const char *url, const char *resolve, long *status,
                            tq_error_t *err)
{
    CURL *easy = curl_easy_init();
    struct curl_slist *res = resolve ? curl_slist_append(NULL, resolve) : NULL;
    tq_ssrf_curl_t ctx;
    CURLcode cc = CURLE_FAILED_INIT;
    if (tq_ssrf_curl_setup(g, easy, url, &ctx, err) == 0) {
        curl_easy_setopt(easy, CURLOPT_RESOLVE, res);
        curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, sink);
        curl_easy_setopt(easy, CURLOPT_PROXY, "");
        curl_easy_setopt(easy, CURLOPT_TIMEOUT, 10L);
        cc = curl_easy_perform(easy);
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, status);
        if (cc != CURLE_OK && tq_error_is_set(&ctx.error)) *err = ctx.error;
    }
    curl_slist_free_all(res);
    curl_easy_cleanup(easy);
    return cc;
}

static void test_connected_socket_check(void **state)
{
    server_t *s = *state;
    char url[128], resolve[128];
    long status = 0;
    tq_error_t err = {0};

    /* A name the pre-check cannot judge (curl resolves it: here to 127.0.0.1,
     * like a DNS rebinding answer) is stopped at connect time. */
    snprintf(url, sizeof url, "http://rebind.test:%d/", s->port);
    snprintf(resolve, sizeof resolve, "rebind.test:%d:127.0.0.1", s->port);
    tq_ssrf_t *g = tq_ssrf_new(NULL, NULL);
    assert_int_equal(guarded_get(g, url, resolve, &status, &err), CURLE_COULDNT_CONNECT);
    assert_string_equal(err.code, "ssrf_blocked");
    /* the range, never the address the name resolved to (no DNS oracle) */
    assert_string_equal(err.message, "rebind.test resolves to an address that is in a loopback "
                                     "range (127.0.0.0/8)");
    assert_null(strstr(err.message, "127.0.0.1"));

    /* A literal is stopped before curl runs. */
    tq_error_clear(&err);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", s->port);
    assert_int_equal(guarded_get(g, url, NULL, &status, &err), CURLE_FAILED_INIT);
    assert_string_equal(err.code, "ssrf_blocked");
    tq_ssrf_destroy(&g);

    /* Allowlisted: goes through. */
    g = tq_ssrf_new("127.0.0.1/32", NULL);
    tq_error_clear(&err);
    assert_int_equal(guarded_get(g, url, NULL, &status, &err), CURLE_OK);
    assert_int_equal(status, 200);
    snprintf(url, sizeof url, "http://rebind.test:%d/", s->port);
    assert_int_equal(guarded_get(g, url, resolve, &status, &err), CURLE_OK);
    tq_ssrf_destroy(&g);

    /* A name entry still gets the address check (F7): it opens private
     * networks to that name, never loopback or link-local (metadata). */
    g = tq_ssrf_new("rebind.test", NULL);
    tq_error_clear(&err);
    assert_int_equal(guarded_get(g, url, resolve, &status, &err), CURLE_COULDNT_CONNECT);
    assert_string_equal(err.code, "ssrf_blocked");
    snprintf(resolve, sizeof resolve, "rebind.test:%d:169.254.169.254", s->port);
    tq_error_clear(&err);
    assert_int_not_equal(guarded_get(g, url, resolve, &status, &err), CURLE_OK);
    assert_string_equal(err.code, "ssrf_blocked");
    assert_non_null(strstr(err.message, "169.254.0.0/16"));
    /* a private address passes the guard for the allowlisted name (the
     * connection itself goes nowhere: 10.255.255.1 is not on this machine) */
    snprintf(resolve, sizeof resolve, "rebind.test:%d:10.255.255.1", s->port);
    tq_error_clear(&err);
    CURL *easy = curl_easy_init();
    struct curl_slist *res = curl_slist_append(NULL, resolve);
    tq_ssrf_curl_t ctx;
    assert_int_equal(tq_ssrf_curl_setup(g, easy, url, &ctx, &err), 0);
    curl_easy_setopt(easy, CURLOPT_RESOLVE, res);
    curl_easy_setopt(easy, CURLOPT_PROXY, "");
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, 300L);
    assert_int_not_equal(curl_easy_perform(easy), CURLE_OK);
    assert_false(tq_error_is_set(&ctx.error));
    curl_slist_free_all(res);
    curl_easy_cleanup(easy);
    tq_ssrf_destroy(&g);
}

/* --- a forward proxy (F7) ------------------------------------------------------ */

typedef struct {
    int lfd, port;
    char connect_line[256]; /* the first request line the proxy received */
    pthread_t thread;
} proxy_t;

/* One connection: read the request head, remember its first line; CONNECT
 * host:port -> connect there, answer 200 and relay until either side closes. */
static void *proxy_main(void *arg)
{
    proxy_t *p = arg;
    int c = accept(p->lfd, NULL, NULL);
    if (c < 0) return NULL;
    char head[4096];
    size_t n = 0;
    while (n < sizeof head - 1 && !memmem(head, n, "\r\n\r\n", 4)) {
        ssize_t r = read(c, head + n, sizeof head - 1 - n);
        if (r <= 0) break;
        n += (size_t)r;
    }
    head[n] = '\0';
    snprintf(p->connect_line, sizeof p->connect_line, "%.*s", (int)strcspn(head, "\r\n"), head);
    char host[128];
    int port = 0, t = -1;
    if (sscanf(head, "CONNECT %127[^:]:%d ", host, &port) == 2) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        t = socket(AF_INET, SOCK_STREAM, 0);
        if (inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
            connect(t, (struct sockaddr *)&sa, sizeof sa) != 0) {
            close(t);
            t = -1;
        }
    }
    const char *answer = t >= 0 ? "HTTP/1.1 200 Connection established\r\n\r\n"
                                : "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n";
    if (write(c, answer, strlen(answer)) < 0) t = t >= 0 ? (close(t), -1) : -1;
    while (t >= 0) {
        struct pollfd fds[2] = {{c, POLLIN, 0}, {t, POLLIN, 0}};
        if (poll(fds, 2, 5000) <= 0) break;
        char buf[8192];
        int from = fds[0].revents ? c : t, to = from == c ? t : c;
        ssize_t r = read(from, buf, sizeof buf);
        if (r <= 0 || write(to, buf, (size_t)r) != r) break;
    }
    if (t >= 0) close(t);
    close(c);
    return NULL;
}

static int proxy_start(proxy_t *p)
{
    memset(p, 0, sizeof *p);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    p->lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (bind(p->lfd, (struct sockaddr *)&sa, sizeof sa) || listen(p->lfd, 4) ||
        getsockname(p->lfd, (struct sockaddr *)&sa, &len))
        return -1;
    p->port = ntohs(sa.sin_port);
    return pthread_create(&p->thread, NULL, proxy_main, p);
}

static void proxy_stop(proxy_t *p)
{
    shutdown(p->lfd, SHUT_RDWR);
    close(p->lfd);
    pthread_join(p->thread, NULL);
}

/* With invoke.proxy the target is resolved and checked by toolq, and the
 * proxy is asked to CONNECT to the approved address, never to a name. */
static void test_proxy_target_checked_and_pinned(void **state)
{
    server_t *s = *state;
    char host[256], url[400], proxy_url[64];
    assert_int_equal(gethostname(host, sizeof host), 0);
    tq_error_t err = {0};

    /* the proxy's address is allowlisted, the target's is not: refused
     * before anything is sent (before F7 the proxy would have fetched it) */
    proxy_t p;
    assert_int_equal(proxy_start(&p), 0);
    snprintf(proxy_url, sizeof proxy_url, "http://127.0.0.1:%d", p.port);
    tq_ssrf_t *g = tq_ssrf_new("127.0.0.1/32", NULL);
    CURL *easy = curl_easy_init();
    tq_ssrf_curl_t ctx;
    snprintf(url, sizeof url, "http://169.254.169.254.nip.io.invalid/latest/meta-data/");
    assert_int_equal(tq_ssrf_curl_setup(g, easy, url, &ctx, &err), 0); /* a name: no DNS yet */
    assert_int_equal(tq_ssrf_curl_proxy(g, easy, proxy_url, &ctx, &err), -1);
    assert_string_equal(err.code, "dns_failed"); /* unresolvable is never let through */
    tq_ssrf_curl_done(&ctx);

    /* the machine's own name resolves (offline) to a local address */
    snprintf(url, sizeof url, "http://%s:%d/", host, s->port);
    tq_ssrf_t *narrow = tq_ssrf_new("", NULL);
    assert_int_equal(tq_ssrf_curl_setup(narrow, easy, url, &ctx, &err), 0);
    tq_error_clear(&err);
    assert_int_equal(tq_ssrf_curl_proxy(narrow, easy, proxy_url, &ctx, &err), -1);
    assert_true(!strcmp(err.code, "ssrf_blocked") || !strcmp(err.code, "dns_failed"));
    tq_ssrf_curl_done(&ctx);
    tq_ssrf_destroy(&narrow);

    /* allowed: the proxy gets CONNECT <address>:<port>, and the answer flows */
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    int local = getaddrinfo(host, NULL, &hints, &ai) == 0 && !ai->ai_next &&
                ((struct sockaddr_in *)ai->ai_addr)->sin_addr.s_addr == htonl(INADDR_LOOPBACK);
    if (ai) freeaddrinfo(ai);
    if (!local) snprintf(url, sizeof url, "http://127.0.0.1:%d/", s->port);
    assert_int_equal(tq_ssrf_curl_setup(g, easy, url, &ctx, &err), 0);
    assert_int_equal(tq_ssrf_curl_proxy(g, easy, proxy_url, &ctx, &err), 0);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT, 10L);
    assert_int_equal(curl_easy_perform(easy), CURLE_OK);
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    assert_int_equal(status, 200);
    tq_ssrf_curl_done(&ctx);
    curl_easy_cleanup(easy);
    proxy_stop(&p);
    char want[64];
    snprintf(want, sizeof want, "CONNECT 127.0.0.1:%d HTTP/1.1", s->port);
    assert_string_equal(p.connect_line, want);
    printf("  %s through the proxy -> \"%s\"\n", url, p.connect_line);
    tq_ssrf_destroy(&g);
}

/* The server's redirect points at a private address: the hop is checked. */
static void test_redirect_to_private_blocked(void **state)
{
    server_t *s = *state;
    char url[256];
    snprintf(url, sizeof url,
             "http://127.0.0.1:%d/redirect/1?to=http://169.254.169.254/latest/meta-data/", s->port);
    tq_ssrf_t *g = tq_ssrf_new("127.0.0.1/32", NULL);
    tq_error_t err = {0};
    CURL *easy = curl_easy_init();
    tq_ssrf_curl_t ctx;
    assert_int_equal(tq_ssrf_curl_setup(g, easy, url, &ctx, &err), 0);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(easy, CURLOPT_PROXY, "");
    assert_int_equal(curl_easy_perform(easy), CURLE_OK);
    long status = 0;
    char *location = NULL;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(easy, CURLINFO_REDIRECT_URL, &location);
    assert_int_equal(status, 302); /* not followed automatically */
    assert_non_null(location);
    assert_int_equal(tq_ssrf_curl_setup(g, easy, location, &ctx, &err), -1);
    assert_string_equal(err.code, "ssrf_blocked");
    assert_non_null(strstr(err.message, "169.254.169.254"));
    curl_easy_cleanup(easy);
    tq_ssrf_destroy(&g);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bypass_battery),
        cmocka_unit_test(test_messages_name_the_range),
        cmocka_unit_test(test_url_for_message),
        cmocka_unit_test(test_own_hostname_blocked),
        cmocka_unit_test(test_public_literals_pass),
        cmocka_unit_test(test_invalid_urls),
        cmocka_unit_test(test_allowlist),
        cmocka_unit_test_setup_teardown(test_connected_socket_check, start_server, stop_server),
        cmocka_unit_test_setup_teardown(test_proxy_target_checked_and_pinned, start_server,
                                        stop_server),
        cmocka_unit_test_setup_teardown(test_redirect_to_private_blocked, start_server,
                                        stop_server),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
