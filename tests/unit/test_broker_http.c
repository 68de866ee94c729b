/* test_broker_http.c — the I/O-free parts of the broker's HTTP listener and
 * scheduler: listen address parsing, HTML escaping, the Prometheus exposition
 * of a STATS object, per-op outcome counters, the sweep idempotency key, the
 * Host check and the OAuth state shape check. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "http.h"
#include "oauth_gate.h"
#include "opstats.h"
#include "scheduler.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

static void test_parse_listen(void **state)
{
    (void)state;
    struct sockaddr_storage ss;
    unsigned len = 0;
    tq_error_t err = {0};
    assert_int_equal(tq_http_parse_listen("127.0.0.1:8765", (struct sockaddr *)&ss, &len, &err), 0);
    assert_int_equal(ss.ss_family, AF_INET);
    assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 8765);
    assert_int_equal(tq_http_parse_listen("[::1]:9", (struct sockaddr *)&ss, &len, &err), 0);
    assert_int_equal(ss.ss_family, AF_INET6);
    assert_int_equal(len, sizeof(struct sockaddr_in6));
    assert_int_equal(tq_http_parse_listen("localhost:80", (struct sockaddr *)&ss, &len, &err), 0);
    assert_int_equal(ss.ss_family, AF_INET);
    const char *bad[] = {"",
                         "8765",
                         ":8765",
                         "127.0.0.1:",
                         "127.0.0.1:0",
                         "127.0.0.1:70000",
                         "example.com:80",
                         "[::1]8765",
                         "[::1",
                         "1.2.3.4:80x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        tq_error_clear(&err);
        assert_int_equal(tq_http_parse_listen(bad[i], (struct sockaddr *)&ss, &len, &err), -1);
        assert_string_equal(err.code, "invalid_config");
    }
}

static void test_html_escape(void **state)
{
    (void)state;
    char *s = tq_http_html_escape("<script>alert('x') & \"y\"</script>\n");
    assert_string_equal(s, "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
                           "\xef\xbf\xbd");
    free(s);
    s = tq_http_html_escape("");
    assert_string_equal(s, "");
    free(s);
}

/* Every line is a comment or `name{labels} value`. */
static void assert_exposition(const char *text)
{
    char *copy = strdup(text);
    for (char *line = strtok(copy, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0) continue;
        char *sp = strrchr(line, ' ');
        assert_non_null(sp);
        char *end = NULL;
        strtod(sp + 1, &end);
        if (*end) fail_msg("bad value in line: %s", line);
        assert_true((line[0] >= 'a' && line[0] <= 'z') || line[0] == '_');
    }
    free(copy);
}

static void test_metrics_text(void **state)
{
    (void)state;
    tq_opstats_t *ops = tq_opstats_new();
    tq_opstats_record(ops, "refresh", "succeeded", NULL, 0.002);
    tq_opstats_record(ops, "refresh", "failed", "reauth_required", 0.5);
    tq_opstats_record(ops, "refresh", "dead", "reauth_required", 20.0);
    tq_opstats_record(ops, "ping", "succeeded", NULL, -1); /* recovered: counted, not timed */
    tq_opstats_record(ops, "x", "queued", NULL, 1);        /* not an outcome: ignored */
    json_t *stats =
        json_pack("{s:I,s:I,s:i,s:I,s:{s:i},s:[{s:i,s:i,s:i}],s:i,s:i,s:{s:I,s:I}}", "queue_depth",
                  (json_int_t)3, "delayed", (json_int_t)1, "running", 2, "open_jobs", (json_int_t)5,
                  "jobs_by_state", "succeeded", 7, "workers", "pid", 42, "credit", 128, "in_flight",
                  2, "workers_alive", 1, "worker_restarts", 0, "since_start", "submitted",
                  (json_int_t)9, "succeeded", (json_int_t)7);
    tq_opstats_to_json(ops, stats);
    json_t *ping = json_object_get(json_object_get(stats, "by_op"), "ping");
    assert_int_equal(json_integer_value(json_object_get(ping, "succeeded")), 1);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(ping, "latency"), "count")),
                     0);
    assert_null(json_object_get(json_object_get(stats, "by_op"), "x"));
    char *text = json_dumps(stats, JSON_COMPACT);
    char *m = tq_http_metrics_text(text);
    assert_non_null(m);
    assert_exposition(m);
    assert_non_null(strstr(m, "\ntoolq_queue_depth 3\n"));
    assert_non_null(strstr(m, "\ntoolq_jobs{state=\"succeeded\"} 7\n"));
    assert_non_null(strstr(m, "\ntoolq_jobs{state=\"failed\"} 0\n"));
    assert_non_null(strstr(m, "\ntoolq_jobs_total{outcome=\"submitted\"} 9\n"));
    assert_non_null(strstr(m, "\ntoolq_worker_in_flight{pid=\"42\"} 2\n"));
    assert_non_null(strstr(m, "\ntoolq_refresh_outcomes_total{outcome=\"succeeded\"} 1\n"));
    assert_non_null(strstr(m, "\ntoolq_refresh_outcomes_total{outcome=\"reauth_required\"} 2\n"));
    assert_non_null(strstr(m, "\ntoolq_op_jobs_total{op=\"refresh\",state=\"dead\"} 1\n"));
    assert_non_null(
        strstr(m, "\ntoolq_job_duration_seconds_bucket{op=\"refresh\",le=\"0.001\"} 0\n"));
    assert_non_null(
        strstr(m, "\ntoolq_job_duration_seconds_bucket{op=\"refresh\",le=\"0.0025\"} 1\n"));
    assert_non_null(strstr(m, "\ntoolq_job_duration_seconds_bucket{op=\"refresh\",le=\"10\"} 2\n"));
    assert_non_null(
        strstr(m, "\ntoolq_job_duration_seconds_bucket{op=\"refresh\",le=\"+Inf\"} 3\n"));
    assert_non_null(strstr(m, "\ntoolq_job_duration_seconds_count{op=\"refresh\"} 3\n"));
    free(m);
    free(text);
    json_decref(stats);
    assert_null(tq_http_metrics_text("[1]"));
    assert_null(tq_http_metrics_text("{"));
    tq_opstats_destroy(&ops);
    assert_null(ops);
}

static void test_label_escaping(void **state)
{
    (void)state;
    tq_opstats_t *ops = tq_opstats_new();
    tq_opstats_record(ops, "op", "failed", "we\"ird\\code\nx", 0.1);
    json_t *stats = json_object();
    tq_opstats_to_json(ops, stats);
    char *text = json_dumps(stats, JSON_COMPACT);
    char *m = tq_http_metrics_text(text);
    assert_non_null(strstr(m, "code=\"we\\\"ird\\\\code\\nx\"} 1\n"));
    free(m);
    free(text);
    json_decref(stats);
    tq_opstats_destroy(&ops);
}

static void test_opstats_bounds(void **state)
{
    (void)state;
    tq_opstats_t *ops = tq_opstats_new();
    char op[32];
    for (int i = 0; i < TQ_OPSTATS_MAX_OPS + 10; i++) {
        snprintf(op, sizeof op, "op%d", i);
        tq_opstats_record(ops, op, "failed", op, 0.01);
    }
    for (int i = 0; i < TQ_OPSTATS_MAX_CODES + 5; i++) {
        snprintf(op, sizeof op, "code%d", i);
        tq_opstats_record(ops, "op0", "failed", op, 0.01);
    }
    json_t *stats = json_object();
    tq_opstats_to_json(ops, stats);
    json_t *by_op = json_object_get(stats, "by_op");
    assert_int_equal(json_object_size(by_op), TQ_OPSTATS_MAX_OPS + 1);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(by_op, "_other"), "failed")), 10);
    json_t *errors = json_object_get(json_object_get(by_op, "op0"), "errors");
    assert_int_equal(json_object_size(errors), TQ_OPSTATS_MAX_CODES + 1);
    assert_int_equal(json_integer_value(json_object_get(errors, "_other")), 6);
    json_decref(stats);
    tq_opstats_destroy(&ops);
}

static void test_sweep_key(void **state)
{
    (void)state;
    char a[48], b[48], c[48];
    tq_scheduler_sweep_key(1700000000, 60, a);
    tq_scheduler_sweep_key(1700000019, 60, b);
    tq_scheduler_sweep_key(1700000040, 60, c);
    assert_string_equal(a, "sweep:1699999980");
    assert_string_equal(a, b);
    assert_string_equal(c, "sweep:1700000040");
    tq_scheduler_sweep_key(5, 0, a);
    assert_string_equal(a, "sweep:5");
}

static void test_host_ok(void **state)
{
    (void)state;
    const char *allowed = "toolq.example.com,127.0.0.1:8765,[::1]:9000";
    assert_true(tq_http_host_ok("toolq.example.com", allowed, true));
    assert_true(tq_http_host_ok("TOOLQ.Example.COM:443", allowed, true)); /* default port */
    assert_false(tq_http_host_ok("toolq.example.com:8443", allowed, true));
    assert_false(tq_http_host_ok("toolq.example.com:443", allowed, false)); /* http: 80 */
    assert_true(tq_http_host_ok("toolq.example.com:80", allowed, false));
    assert_true(tq_http_host_ok("127.0.0.1:8765", allowed, false));
    assert_false(tq_http_host_ok("127.0.0.1", allowed, false));
    assert_true(tq_http_host_ok("[::1]:9000", allowed, false));
    assert_false(tq_http_host_ok("[::1]", allowed, false));
    /* a rebinding name, look-alikes and malformed headers */
    const char *bad[] = {"attacker.example",    "toolq.example.com.attacker.example",
                         "toolq.example.co",    "127.0.0.1:8765x",
                         "127.0.0.1:",          ":8765",
                         "[::1:9000",           "",
                         "toolq.example.com:0", "127.0.0.1:87650"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_false(tq_http_host_ok(bad[i], allowed, false));
    assert_false(tq_http_host_ok(NULL, allowed, false));
    assert_false(tq_http_host_ok("toolq.example.com", "", true));
}

static void test_state_shape(void **state)
{
    (void)state;
    assert_true(tq_oauth_gate_state_shape_ok("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    assert_true(tq_oauth_gate_state_shape_ok("l5kXz5ecgAQ7kcKLxdgu3QD56YyBHLLto9D_Skw3pZc"));
    assert_true(tq_oauth_gate_state_shape_ok("-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-"));
    const char *bad[] = {NULL,
                         "",
                         "junk1",
                         "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",   /* 42 */
                         "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* 44 */
                         "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",  /* padding */
                         "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+",  /* base64, not url */
                         "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/",
                         "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA "};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_false(tq_oauth_gate_state_shape_ok(bad[i]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_listen),   cmocka_unit_test(test_html_escape),
        cmocka_unit_test(test_metrics_text),   cmocka_unit_test(test_label_escaping),
        cmocka_unit_test(test_opstats_bounds), cmocka_unit_test(test_sweep_key),
        cmocka_unit_test(test_host_ok),        cmocka_unit_test(test_state_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
