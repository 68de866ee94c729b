/* test_plugins.c — the plugin host and the none/apikey/basic/bearer plugins,
 * loaded as built (.so files from TOOLQ_PLUGIN_PATH); exact edits for every
 * apikey location and prefix, credentials never mutated, no secret in any
 * error; and bad plugins (tests/plugins/NAME/, compiled here with the system C
 * compiler) skipped with a log line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "plugin/plugin_host.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static tq_plugin_host_t *s_host;

static int load_host(void **state)
{
    (void)state;
    const char *path = getenv("TOOLQ_PLUGIN_PATH");
    if (!path || !*path) {
        fprintf(stderr, "TOOLQ_PLUGIN_PATH is not set (ctest sets it to build/plugins)\n");
        return -1;
    }
    s_host = tq_plugin_host_new(path);
    return s_host ? 0 : -1;
}

static int unload_host(void **state)
{
    (void)state;
    tq_plugin_host_destroy(&s_host);
    return 0;
}

static const tq_plugin_request_t REQ = {
    .method = "GET", .url = "https://api.example.com/v1/things?x=1", .now = 1700000000};

/* Applies cred through plugin id; renders the edits one per line:
 * "H name: value", "Q name=value", "C name=value". Returns the rc. */
static int run(const char *id, const char *type, const tq_plugin_kv_t *fields, size_t n, char *out,
               size_t len, tq_error_t *err)
{
    const tq_plugin_t *p = tq_plugin_host_find(s_host, id);
    if (!p) fail_msg("plugin %s not loaded from %s", id, getenv("TOOLQ_PLUGIN_PATH"));
    tq_plugin_credential_t cred = {type, fields, n};
    tq_plugin_edits_t *edits = tq_plugin_edits_new();
    int rc = tq_plugin_apply_auth(p, &REQ, &cred, edits, err);
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < tq_plugin_edits_count(edits); i++) {
        const tq_plugin_edit_t *e = tq_plugin_edits_at(edits, i);
        const char *fmt = e->kind == TQ_EDIT_HEADER  ? "H %s: %s\n"
                          : e->kind == TQ_EDIT_QUERY ? "Q %s=%s\n"
                                                     : "C %s=%s\n";
        used += (size_t)snprintf(out + used, len - used, fmt, e->name, e->value);
    }
    tq_plugin_edits_destroy(&edits);
    return rc;
}

#define KV(...) ((const tq_plugin_kv_t[]){__VA_ARGS__})
#define N(a) (sizeof(a) / sizeof((a)[0]))

static void expect_edits(const char *id, const char *type, const tq_plugin_kv_t *f, size_t n,
                         const char *want)
{
    char got[1024];
    tq_error_t err = {0};
    if (run(id, type, f, n, got, sizeof got, &err) != 0)
        fail_msg("%s/%s failed: %s", id, type, err.message);
    assert_string_equal(got, want);
}

static void expect_failure(const char *id, const char *type, const tq_plugin_kv_t *f, size_t n,
                           const char *secret)
{
    char got[1024];
    tq_error_t err = {0};
    assert_int_equal(run(id, type, f, n, got, sizeof got, &err), -1);
    assert_string_equal(err.code, "invalid_credential");
    assert_string_equal(got, ""); /* nothing applied on failure */
    if (secret && strstr(err.message, secret))
        fail_msg("secret leaked into error: %s", err.message);
}

static void test_host_loads_builtins(void **state)
{
    (void)state;
    static const char *ids[] = {"none", "apikey", "basic", "bearer"};
    for (size_t i = 0; i < N(ids); i++) {
        const tq_plugin_t *p = tq_plugin_host_find(s_host, ids[i]);
        if (!p) fail_msg("plugin %s missing", ids[i]);
        assert_int_equal(p->abi_version, TQ_PLUGIN_ABI_VERSION);
        assert_null(p->build_authorize_url); /* OAuth hooks are reserved */
    }
    assert_ptr_equal(tq_plugin_host_find_for_credential(s_host, "api_key_query"),
                     tq_plugin_host_find(s_host, "apikey"));
    assert_ptr_equal(tq_plugin_host_find_for_credential(s_host, "basic"),
                     tq_plugin_host_find(s_host, "basic"));
    assert_null(tq_plugin_host_find_for_credential(s_host, "no_such_type"));
    assert_null(tq_plugin_host_find(s_host, "no_such_plugin"));

    json_t *list = tq_plugin_host_list_json(s_host);
    assert_int_equal(json_array_size(list), tq_plugin_host_count(s_host));
    size_t i;
    json_t *item;
    int seen = 0;
    json_array_foreach(list, i, item)
    {
        if (strcmp(json_string_value(json_object_get(item, "id")), "apikey") == 0) {
            seen = 1;
            assert_string_equal(json_string_value(json_object_get(item, "version")), "1.0.0");
            assert_non_null(strstr(json_string_value(json_object_get(item, "file")), "apikey.so"));
            assert_string_equal(
                json_string_value(json_array_get(json_object_get(item, "credential_types"), 0)),
                "apikey");
        }
    }
    assert_true(seen);
    json_decref(list);
}

static void test_apikey_header_prefixes(void **state)
{
    (void)state;
    expect_edits("apikey", "apikey", KV({"value", "k-123"}), 1, "H Authorization: k-123\n");
    expect_edits(
        "apikey", "apikey",
        KV({"location", "header"}, {"name", "X-Api-Key"}, {"value", "k-123"}, {"prefix", "none"}),
        4, "H X-Api-Key: k-123\n");
    expect_edits("apikey", "apikey", KV({"value", "abc"}, {"prefix", "basic"}), 2,
                 "H Authorization: Basic abc\n");
    expect_edits("apikey", "apikey", KV({"value", "abc"}, {"prefix", "bearer"}), 2,
                 "H Authorization: Bearer abc\n");
    expect_edits("apikey", "apikey",
                 KV({"value", "abc"}, {"prefix", "custom"}, {"custom_prefix", "Token "}), 3,
                 "H Authorization: Token abc\n");
    expect_edits("apikey", "apikey", KV({"value", "abc"}, {"prefix", "custom"}), 2,
                 "H Authorization: abc\n");
    /* a stored value that already carries the scheme is not prefixed twice */
    expect_edits("apikey", "apikey", KV({"value", "Bearer abc"}, {"prefix", "bearer"}), 2,
                 "H Authorization: Bearer abc\n");
}

static void test_apikey_query_and_cookie(void **state)
{
    (void)state;
    expect_edits("apikey", "apikey", KV({"location", "query"}, {"value", "k 1&2"}), 2,
                 "Q key=k 1&2\n");
    expect_edits(
        "apikey", "apikey",
        KV({"location", "query"}, {"name", "api_key"}, {"value", "k1"}, {"prefix", "bearer"}), 4,
        "Q api_key=k1\n");
    expect_edits("apikey", "apikey",
                 KV({"location", "cookie"}, {"name", "session"}, {"value", "s3cr3t"}), 3,
                 "C session=s3cr3t\n");
}

static void test_apikey_seed_vocabulary(void **state)
{
    (void)state;
    expect_edits("apikey", "api_key_header",
                 KV({"api_key_header", "X-Key"}, {"api_key_value", "v1"},
                    {"api_key_header_prefix", "bearer"}),
                 3, "H X-Key: Bearer v1\n");
    expect_edits("apikey", "api_key", KV({"api_key_value", "v1"}), 1, "H Authorization: v1\n");
    expect_edits("apikey", "api_key_header",
                 KV({"api_key_value", "v1"}, {"api_key_header_prefix", "custom"}), 2,
                 "H Authorization: v1\n");
    expect_edits("apikey", "api_key_query", KV({"api_key_value", "v1"}), 1, "Q key=v1\n");
    expect_edits("apikey", "api_key_query",
                 KV({"api_key_query_param", "token"}, {"api_key_value", "v1"}), 2, "Q token=v1\n");
}

/* The bug we replace: the prefixed value was written back, so the second
 * call sent "Bearer Bearer ...". The credential is const; check it anyway. */
static void test_apikey_twice_same_output(void **state)
{
    (void)state;
    char value[] = "sk-live-1234";
    tq_plugin_kv_t fields[] = {{"value", value}, {"prefix", "bearer"}};
    for (int i = 0; i < 3; i++)
        expect_edits("apikey", "apikey", fields, 2, "H Authorization: Bearer sk-live-1234\n");
    assert_string_equal(value, "sk-live-1234");
    assert_ptr_equal(fields[0].value, value);
    assert_string_equal(fields[1].value, "bearer");
}

static void test_apikey_errors_hide_secret(void **state)
{
    (void)state;
    expect_failure("apikey", "apikey", KV({"prefix", "bearer"}), 1, NULL);
    expect_failure("apikey", "apikey", KV({"value", ""}), 1, NULL);
    expect_failure("apikey", "apikey", KV({"value", "SECRETX"}, {"prefix", "digest"}), 2,
                   "SECRETX");
    expect_failure("apikey", "apikey", KV({"value", "SECRETX"}, {"location", "body"}), 2,
                   "SECRETX");
    expect_failure("apikey", "apikey", KV({"value", "SECRETX"}, {"location", "cookie"}), 2,
                   "SECRETX");
    /* header injection through the key or the header name */
    expect_failure("apikey", "apikey", KV({"value", "SECRETX\r\nX-Evil: 1"}), 1, "SECRETX");
    expect_failure("apikey", "apikey", KV({"value", "SECRETX"}, {"name", "X Bad:"}), 2, "SECRETX");
    expect_failure("apikey", "apikey",
                   KV({"value", "SECRETX\n"}, {"location", "query"}, {"name", "k"}), 3, "SECRETX");
}

static void test_basic(void **state)
{
    (void)state;
    /* RFC 7617 section 2 */
    expect_edits("basic", "basic", KV({"username", "Aladdin"}, {"password", "open sesame"}), 2,
                 "H Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\n");
    expect_edits("basic", "basic", KV({"username", "u"}), 1, "H Authorization: Basic dTo=\n");
    expect_failure("basic", "basic", KV({"username", "a:b"}, {"password", "SECRETX"}), 2,
                   "SECRETX");
    expect_failure("basic", "basic", KV({"password", "SECRETX"}), 1, "SECRETX");
}

static void test_bearer_and_none(void **state)
{
    (void)state;
    expect_edits("bearer", "bearer", KV({"token", "tok.en-1"}), 1,
                 "H Authorization: Bearer tok.en-1\n");
    expect_failure("bearer", "bearer", KV({"access_token", "SECRETX"}), 1, "SECRETX");
    expect_failure("bearer", "bearer", KV({"token", "SECRETX\r\n"}), 1, "SECRETX");
    expect_edits("none", "none", NULL, 0, "");
}

static void test_edit_recorder(void **state)
{
    (void)state;
    tq_plugin_edits_t *e = tq_plugin_edits_new();
    tq_plugin_request_edit_t *s = tq_plugin_edits_sink(e);
    assert_int_equal(s->set_header(s, "X-A", "1"), 0);
    assert_int_equal(s->add_query(s, "q", "1"), 0);
    assert_int_equal(s->set_header(s, "x-a", "2"), 0); /* replaces, case-insensitive */
    assert_int_equal(s->set_header(s, "", "v"), -1);
    assert_int_equal(s->add_cookie(s, "a=b", "v"), -1);
    assert_int_equal(tq_plugin_edits_count(e), 2);
    assert_string_equal(tq_plugin_edits_at(e, 0)->name, "q");
    assert_string_equal(tq_plugin_edits_at(e, 1)->value, "2");
    assert_null(tq_plugin_edits_at(e, 2));
    tq_plugin_edits_destroy(&e);
    assert_null(e);
}

/* --- bad plugins ------------------------------------------------------------- */

static int compile_plugin(const char *src_dir, const char *name, const char *out_dir)
{
    const char *cc = getenv("CC") ? getenv("CC") : "cc";
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "%s -shared -fPIC -fvisibility=hidden -I'%s/include' -o '%s/%s.so' "
             "'%s/tests/plugins/%s/%s.c'",
             cc, src_dir, out_dir, name, src_dir, name, name);
    return system(cmd);
}

static void test_bad_plugins_skipped(void **state)
{
    (void)state;
    const char *src = getenv("TOOLQ_SOURCE_DIR");
    if (!src) fail_msg("TOOLQ_SOURCE_DIR is not set (ctest sets it to the source tree)");
    char dir[] = "/tmp/tq-badplugins-XXXXXX";
    assert_non_null(mkdtemp(dir));
    static const char *bad[] = {"badabi", "noentry", "dupid"};
    for (size_t i = 0; i < N(bad); i++)
        if (compile_plugin(src, bad[i], dir) != 0)
            fail_msg("cannot compile tests/plugins/%s with the system C compiler", bad[i]);

    /* capture the log lines (stderr) while loading */
    char log_path[64];
    snprintf(log_path, sizeof log_path, "%s/log", dir);
    int fd = open(log_path, O_CREAT | O_RDWR | O_TRUNC, 0600);
    int saved = dup(2);
    dup2(fd, 2);
    char path[4096];
    snprintf(path, sizeof path, "%s:%s:/nonexistent/tq-plugins", getenv("TOOLQ_PLUGIN_PATH"), dir);
    tq_plugin_host_t *h = tq_plugin_host_new(path);
    dup2(saved, 2);
    close(saved);
    char log[8192] = "";
    ssize_t n = pread(fd, log, sizeof log - 1, 0);
    close(fd);
    log[n > 0 ? n : 0] = '\0';
    fputs(log, stderr);

    assert_non_null(h);
    assert_int_equal(tq_plugin_host_count(h), tq_plugin_host_count(s_host));
    assert_null(tq_plugin_host_find(h, "badabi"));
    assert_null(tq_plugin_host_find_for_credential(h, "dup_type"));
    assert_non_null(strstr(log, "badabi.so: ABI version 99, this host speaks 1"));
    assert_non_null(strstr(log, "noentry.so: no toolq_plugin_entry entry point"));
    assert_non_null(strstr(log, "dupid.so: id 'apikey' is already loaded from"));
    assert_non_null(strstr(log, "plugin folder /nonexistent/tq-plugins"));
    tq_plugin_host_destroy(&h);

    for (size_t i = 0; i < N(bad); i++) {
        snprintf(path, sizeof path, "%s/%s.so", dir, bad[i]);
        unlink(path);
    }
    unlink(log_path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_loads_builtins),
        cmocka_unit_test(test_apikey_header_prefixes),
        cmocka_unit_test(test_apikey_query_and_cookie),
        cmocka_unit_test(test_apikey_seed_vocabulary),
        cmocka_unit_test(test_apikey_twice_same_output),
        cmocka_unit_test(test_apikey_errors_hide_secret),
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_bearer_and_none),
        cmocka_unit_test(test_edit_recorder),
        cmocka_unit_test(test_bad_plugins_skipped),
    };
    return cmocka_run_group_tests(tests, load_host, unload_host);
}
