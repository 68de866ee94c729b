/* test_config.c — unit tests of common/config.c: layering and precedence, the
 * YAML file (nested and dotted names, errors with lines), environment, ${home},
 * masking, printing, and that docs/toolq.example.yaml documents every row.
 *
 * config.c is included, not just linked, so the tests can walk the static
 * table and add rows of the kinds the real table has no row of yet (a bool, a
 * secret; rows named "test.*" are skipped where the real table is checked).
 * This file's definitions take the place of the library's config.o. */
/* clang-format off */
#define TQ_CONFIG_TEST_ROWS \
    BOOL("test.flag", "TOOLQ_TEST_FLAG", false, "test-only boolean"), \
    SECRET("test.secret", "TOOLQ_TEST_SECRET", "", "test-only secret"),
/* clang-format on */
#include "../../common/config.c"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

static char s_source_dir[4096];

/* Writes text to a new temporary file; returns its malloc'd path. */
static char *write_tmp(const char *text)
{
    const char *dir = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/tq_config_XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t n = strlen(text);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    close(fd);
    return tq_xstrdup(path);
}

static void drop_tmp(char *path)
{
    unlink(path);
    free(path);
}

/* Loads text as a config file into cfg; returns the result, err filled. */
static int load_text(tq_config_t *cfg, const char *text, tq_error_t *err)
{
    char *path = write_tmp(text);
    int rc = tq_config_load_file(cfg, path, err);
    drop_tmp(path);
    return rc;
}

/* Expects load_text to fail with invalid_config and a message holding each
 * of the NULL-terminated fragments. */
static void expect_file_error(const char *text, ...)
{
    tq_config_t *cfg = tq_config_new();
    tq_error_t err = {0};
    assert_int_equal(load_text(cfg, text, &err), -1);
    assert_string_equal(err.code, "invalid_config");
    va_list ap;
    va_start(ap, text);
    for (const char *frag; (frag = va_arg(ap, const char *)) != NULL;)
        if (!strstr(err.message, frag)) fail_msg("message \"%s\" lacks \"%s\"", err.message, frag);
    va_end(ap);
    /* A bad file changes nothing. */
    for (size_t i = 0; i < TQ_NSETTINGS; i++)
        assert_string_equal(tq_config_source(cfg, s_settings[i].name), "default");
    tq_config_destroy(&cfg);
}

static char *print_to_string(tq_config_t *cfg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_non_null(out);
    tq_config_print(cfg, out);
    fclose(out);
    return buf;
}

/* The printed line of the setting whose last name segment is leaf. */
static const char *printed_line(const char *text, const char *leaf, char *line, size_t size)
{
    char needle[128];
    snprintf(needle, sizeof needle, " %s: ", leaf);
    const char *p = strstr(text, needle);
    if (!p) {
        snprintf(needle, sizeof needle, "\n%s: ", leaf);
        p = strstr(text, needle);
    }
    assert_non_null(p);
    p++;
    size_t n = strcspn(p, "\n");
    assert_true(n < size);
    memcpy(line, p, n);
    line[n] = '\0';
    return line;
}

/* The printed line of leaf is "<value>   # <source>" (padding between). */
static void expect_line(const char *text, const char *leaf, const char *value, const char *source)
{
    char line[512], tail[64];
    printed_line(text, leaf, line, sizeof line);
    snprintf(tail, sizeof tail, "  # %s", source);
    size_t n = strlen(line), v = strlen(value), t = strlen(tail);
    if (strncmp(line, value, v) != 0 || n < v + t || strcmp(line + n - t, tail) != 0 ||
        strspn(line + v, " ") != n - v - t + 2)
        fail_msg("printed \"%s\", want \"%s ... %s\"", line, value, tail);
}

static int group_setup(void **state)
{
    (void)state;
    const char *dir = getenv("TOOLQ_SOURCE_DIR");
    snprintf(s_source_dir, sizeof s_source_dir, "%s", dir ? dir : "");
    return 0;
}

/* Every test starts with none of the table's variables set (ctest sets some). */
static int clear_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < TQ_NSETTINGS; i++)
        if (s_settings[i].env) unsetenv(s_settings[i].env);
    return 0;
}

/* --- the table ----------------------------------------------------------- */

static void test_table_is_sane(void **state)
{
    (void)state;
    for (size_t i = 0; i < TQ_NSETTINGS; i++) {
        const tq_setting_t *s = &s_settings[i];
        assert_true(strlen(s->name) > 0 && strlen(s->name) < TQ_CONFIG_NAME_MAX);
        assert_true(strspn(s->name, "abcdefghijklmnopqrstuvwxyz0123456789_.") == strlen(s->name));
        assert_true(s->name[0] != '.' && s->name[strlen(s->name) - 1] != '.');
        assert_null(strstr(s->name, ".."));
        assert_true(s->doc && *s->doc && !strchr(s->doc, '\n'));
        if (s->env) assert_true(strncmp(s->env, "TOOLQ_", 6) == 0);
        for (size_t j = 0; j < TQ_NSETTINGS; j++) {
            if (i == j) continue;
            const char *o = s_settings[j].name;
            size_t n = strlen(s->name);
            if (strcmp(s->name, o) == 0) fail_msg("setting %s appears twice", o);
            if (strncmp(o, s->name, n) == 0 && o[n] == '.')
                fail_msg("%s is both a setting and a group (%s)", s->name, o);
            if (s->env && s_settings[j].env && strcmp(s->env, s_settings[j].env) == 0)
                fail_msg("%s and %s share %s", s->name, o, s->env);
        }
    }
}

static void test_defaults(void **state)
{
    (void)state;
    tq_config_t *cfg = tq_config_new();
    assert_non_null(cfg);
    assert_string_equal(tq_config_str(cfg, "home"), "./.toolq");
    assert_string_equal(tq_config_source(cfg, "home"), "default");
    assert_string_equal(tq_config_str(cfg, "config"), "");
    assert_string_equal(tq_config_str(cfg, "log.level"), "info");
    assert_string_equal(tq_config_str(cfg, "database.url"),
                        "host=./.toolq/pg port=5433 user=toolq dbname=toolq");
    assert_string_equal(tq_config_str(cfg, "master_key_file"), "./.toolq/master.key");
    assert_string_equal(tq_config_str(cfg, "broker.frontend"), "ipc://./.toolq/broker.sock");
    assert_string_equal(tq_config_str(cfg, "broker.backend"), "ipc://./.toolq/backend.sock");
    assert_string_equal(tq_config_str(cfg, "http.listen"), "127.0.0.1:8765");
    assert_int_equal(tq_config_int(cfg, "broker.workers"), 0);
    assert_int_equal(tq_config_int(cfg, "broker.heartbeat_ms"), 1000);
    assert_int_equal(tq_config_int(cfg, "broker.max_queued"), 1000000);
    assert_int_equal(tq_config_int(cfg, "broker.max_frame_bytes"), 16777216);
    assert_int_equal(tq_config_int(cfg, "jobs.retention_hours"), 168);
    assert_int_equal(tq_config_int(cfg, "worker.concurrency"), 128);
    assert_int_equal(tq_config_bool(cfg, "test.flag"), 0);
    for (size_t i = 0; i < TQ_NSETTINGS; i++)
        assert_string_equal(tq_config_source(cfg, s_settings[i].name), "default");
    tq_config_destroy(&cfg);
    assert_null(cfg);
    tq_config_destroy(&cfg); /* harmless twice */
}

/* --- the file ------------------------------------------------------------ */

static void test_file_nested_and_dotted(void **state)
{
    (void)state;
    tq_config_t *cfg = tq_config_new();
    tq_error_t err = {0};
    int rc = load_text(cfg,
                       "# a comment\n"
                       "home: /srv/toolq\n"
                       "broker:\n"
                       "  workers: 4\n"
                       "  heartbeat_ms: 250\n"
                       "broker.max_frame_bytes: 32M\n"
                       "jobs:\n"
                       "  max_attempts: 7\n"
                       "log.level: debug\n"
                       "http:\n"
                       "  listen: \"\"\n"
                       "ssrf.allow: ~\n"
                       "test:\n"
                       "  flag: yes\n",
                       &err);
    assert_int_equal(rc, 0);
    assert_false(tq_error_is_set(&err));
    assert_string_equal(tq_config_str(cfg, "home"), "/srv/toolq");
    assert_int_equal(tq_config_int(cfg, "broker.workers"), 4);
    assert_int_equal(tq_config_int(cfg, "broker.heartbeat_ms"), 250);
    assert_int_equal(tq_config_int(cfg, "broker.max_frame_bytes"), 33554432);
    assert_int_equal(tq_config_int(cfg, "jobs.max_attempts"), 7);
    assert_string_equal(tq_config_str(cfg, "log.level"), "debug");
    assert_string_equal(tq_config_str(cfg, "http.listen"), "");
    assert_string_equal(tq_config_str(cfg, "ssrf.allow"), "");
    assert_true(tq_config_bool(cfg, "test.flag"));
    assert_string_equal(tq_config_source(cfg, "broker.workers"), "file");
    assert_string_equal(tq_config_source(cfg, "broker.max_frame_bytes"), "file");
    assert_string_equal(tq_config_source(cfg, "jobs.timeout_ms"), "default");
    assert_int_equal(tq_config_int(cfg, "jobs.timeout_ms"), 60000);
    /* ${home} follows the file's home. */
    assert_string_equal(tq_config_str(cfg, "broker.frontend"), "ipc:///srv/toolq/broker.sock");

    /* A second file overrides the first (same rank). */
    assert_int_equal(load_text(cfg, "broker: {workers: 6}\n", &err), 0);
    assert_int_equal(tq_config_int(cfg, "broker.workers"), 6);
    tq_config_destroy(&cfg);
}

static void test_empty_files(void **state)
{
    (void)state;
    const char *texts[] = {"", "# only a comment\n", "---\n", "~\n"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        tq_config_t *cfg = tq_config_new();
        tq_error_t err = {0};
        assert_int_equal(load_text(cfg, texts[i], &err), 0);
        assert_string_equal(tq_config_source(cfg, "home"), "default");
        tq_config_destroy(&cfg);
    }
}

static void test_unknown_key_names_key_and_line(void **state)
{
    (void)state;
    expect_file_error("broker:\n  workers: 2\n  wrokers: 3\n", ":3:", "\"broker.wrokers\"",
                      "unknown setting", NULL);
    expect_file_error("home: /x\n\nbrokr:\n  workers: 2\n", ":3:", "\"brokr\"", NULL);
    expect_file_error("broker.wrokers: 1\n", ":1:", "broker.wrokers", NULL);
    expect_file_error("broker: 4\n", ":1:", "broker is a group of settings", NULL);
    expect_file_error("home:\n  sub: 1\n", ":1:", "home expects a single value, got a mapping",
                      NULL);
    expect_file_error("ssrf.allow:\n  - 10.0.0.0/8\n", ":1:", "ssrf.allow", "got a list", NULL);
}

static void test_wrong_type_names_key_type_and_line(void **state)
{
    (void)state;
    expect_file_error("home: /x\nbroker:\n  workers: abc\n", ":3:", "broker.workers",
                      "expects an integer", "\"abc\"", NULL);
    expect_file_error("jobs.timeout_ms: 1.5\n", ":1:", "jobs.timeout_ms", "integer", NULL);
    expect_file_error("jobs.timeout_ms:\n", ":1:", "integer", "empty value", NULL);
    expect_file_error("jobs.timeout_ms: 99999999999999999999\n", ":1:", "out of range", NULL);
    expect_file_error("jobs.timeout_ms: 9000000000G\n", "out of range", NULL);
    expect_file_error("test.flag: maybe\n", ":1:", "test.flag", "expects a boolean", NULL);
    /* A secret's value is never echoed into the message. */
    tq_config_t *cfg = tq_config_new();
    tq_error_t err = {0};
    char big[TQ_CONFIG_VALUE_MAX + 2];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(tq_config_set(cfg, "test.secret", big, &err), -1);
    assert_null(strstr(err.message, "xxxx"));
    tq_config_destroy(&cfg);
}

static void test_other_file_errors(void **state)
{
    (void)state;
    expect_file_error("broker:\n  workers: 2\nbroker.workers: 3\n", ":3:", "set twice", "line 2",
                      NULL);
    expect_file_error("- a\n- b\n", ":1:", "top level must be a mapping", NULL);
    expect_file_error("home: &h /x\nconfig: *h\n", ":2:", "aliases", NULL);
    expect_file_error("home: /x\n---\nhome: /y\n", ":2:", "only one YAML document", NULL);
    expect_file_error("home: \"a\\0b\"\n", ":1:", "NUL", NULL);
}

static void test_int_suffixes(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int64_t value;
    } ok[] = {{"0", 0},          {"42", 42},         {"+7", 7},
              {"-3", -3},        {"10k", 10240},     {"10K", 10240},
              {"32M", 33554432}, {"1G", 1073741824}, {"8589934591G", 8589934591LL << 30}};
    tq_config_t *cfg = tq_config_new();
    tq_error_t err = {0};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        assert_int_equal(tq_config_set(cfg, "broker.max_queued", ok[i].text, &err), 0);
        assert_int_equal(tq_config_int(cfg, "broker.max_queued"), ok[i].value);
        assert_string_equal(tq_config_str(cfg, "broker.max_queued"), ok[i].text);
    }
    const char *bad[] = {"",
                         " 1",
                         "1 ",
                         "1m",
                         "1g",
                         "1KiB",
                         "1MB",
                         "0x10",
                         "k",
                         "-",
                         "1e3",
                         "8589934592G",
                         "9223372036854775808"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tq_error_clear(&err);
        if (tq_config_set(cfg, "broker.max_queued", bad[i], &err) != -1)
            fail_msg("\"%s\" accepted as an integer", bad[i]);
        assert_string_equal(err.code, "invalid_config");
        assert_non_null(strstr(err.message, "broker.max_queued"));
    }
    assert_int_equal(tq_config_int(cfg, "broker.max_queued"), 8589934591LL << 30);
    tq_config_destroy(&cfg);
}

static void test_bool_forms(void **state)
{
    (void)state;
    const char *yes[] = {"true", "TRUE", "True", "yes", "Yes", "on", "ON", "1"};
    const char *no[] = {"false", "FALSE", "no", "No", "off", "OFF", "0"};
    const char *bad[] = {"", "2", "y", "n", "enabled", "truee", " true"};
    tq_config_t *cfg = tq_config_new();
    tq_error_t err = {0};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        assert_int_equal(tq_config_set(cfg, "test.flag", "false", &err), 0);
        assert_int_equal(tq_config_set(cfg, "test.flag", yes[i], &err), 0);
        assert_int_equal(tq_config_bool(cfg, "test.flag"), 1);
    }
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        assert_int_equal(tq_config_set(cfg, "test.flag", "true", &err), 0);
        assert_int_equal(tq_config_set(cfg, "test.flag", no[i], &err), 0);
        assert_int_equal(tq_config_bool(cfg, "test.flag"), 0);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (tq_config_set(cfg, "test.flag", bad[i], &err) != -1)
            fail_msg("\"%s\" accepted as a boolean", bad[i]);
        assert_non_null(strstr(err.message, "expects a boolean"));
    }
    /* Plain YAML booleans, quoted or not, through the file too. */
    assert_int_equal(load_text(cfg, "test:\n  flag: 'on'\n", &err), 0);
    tq_config_destroy(&cfg);
    cfg = tq_config_new();
    assert_int_equal(load_text(cfg, "test:\n  flag: On\n", &err), 0);
    assert_true(tq_config_bool(cfg, "test.flag"));
    tq_config_destroy(&cfg);
}

static void test_fraction_forms(void **state)
{
    (void)state;
    const struct {
        const char *text;
        double value;
    } good[] = {{"0.5", 0.5}, {".25", 0.25}, {"1", 1}, {"0", 0}, {"1.0", 1}, {"0.000001", 1e-6}};
    const char *bad[] = {"", "1.5", "2", "-0.5", "0.5x", ".", "0.1234567", "half", " 0.5"};
    tq_config_t *cfg = tq_config_new();
    tq_error_t err = {0};
    assert_true(tq_config_fraction(cfg, "oauth.refresh_fraction") == 0.5); /* the default */
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_int_equal(tq_config_set(cfg, "oauth.refresh_fraction", good[i].text, &err), 0);
        assert_true(tq_config_fraction(cfg, "oauth.refresh_fraction") == good[i].value);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (tq_config_set(cfg, "oauth.refresh_fraction", bad[i], &err) != -1)
            fail_msg("\"%s\" accepted as a fraction", bad[i]);
        assert_non_null(strstr(err.message, "expects a fraction between 0 and 1"));
    }
    tq_config_destroy(&cfg);
}

static void test_missing_file(void **state)
{
    (void)state;
    tq_config_t *cfg = tq_config_new();
    tq_error_t err = {0};
    assert_int_equal(tq_config_load_file(cfg, "/nonexistent/toolq.yaml", &err), -1);
    assert_string_equal(err.code, "invalid_config");
    assert_string_equal(
        err.message, "cannot read config file /nonexistent/toolq.yaml: No such file or directory");
    tq_error_clear(&err);
    assert_int_equal(tq_config_load_file(cfg, "/", &err), -1); /* a folder */
    assert_non_null(strstr(err.message, "cannot read config file /"));
    assert_int_equal(tq_config_load_file(cfg, "", &err), -1);
    tq_config_destroy(&cfg);
}

static void test_malformed_yaml_has_line_and_column(void **state)
{
    (void)state;
    expect_file_error("home: /x\nlog:\n  level: info\n    x: 1\n", "malformed YAML", ":4:", NULL);
    expect_file_error("home: /x\nlog.level: \"unterminated\n", "malformed YAML", ":", NULL);
    expect_file_error("home: /x\nbroker\n  workers: 4\n", "malformed YAML", ":3:", NULL);
    expect_file_error("home: \"\xff\xfe\"\n", "malformed YAML", NULL);
    /* line:column precisely */
    tq_config_t *cfg = tq_config_new();
    tq_error_t err = {0};
    assert_int_equal(load_text(cfg, "home: /x\nbroker: {workers: 4\n", &err), -1);
    assert_non_null(strstr(err.message, ":3:1: malformed YAML"));
    tq_config_destroy(&cfg);
}

/* --- environment and precedence ------------------------------------------ */

static void test_env_overrides_file(void **state)
{
    (void)state;
    const char *file = "broker:\n  workers: 4\nlog.level: warn\nhome: /from/file\n";
    tq_error_t err = {0};

    /* file, then env */
    tq_config_t *cfg = tq_config_new();
    setenv("TOOLQ_WORKERS", "8", 1);
    setenv("TOOLQ_LOG_LEVEL", "", 1); /* empty = unset */
    assert_int_equal(load_text(cfg, file, &err), 0);
    assert_int_equal(tq_config_load_env(cfg, &err), 0);
    assert_int_equal(tq_config_int(cfg, "broker.workers"), 8);
    assert_string_equal(tq_config_source(cfg, "broker.workers"), "env");
    assert_string_equal(tq_config_str(cfg, "log.level"), "warn");
    assert_string_equal(tq_config_source(cfg, "log.level"), "file");
    tq_config_destroy(&cfg);

    /* env, then file: the file does not win */
    cfg = tq_config_new();
    setenv("TOOLQ_HOME", "/from/env", 1);
    assert_int_equal(tq_config_load_env(cfg, &err), 0);
    assert_int_equal(load_text(cfg, file, &err), 0);
    assert_int_equal(tq_config_int(cfg, "broker.workers"), 8);
    assert_string_equal(tq_config_str(cfg, "home"), "/from/env");
    assert_string_equal(tq_config_source(cfg, "home"), "env");
    assert_string_equal(tq_config_str(cfg, "log.level"), "warn");
    assert_string_equal(tq_config_str(cfg, "master_key_file"), "/from/env/master.key");
    tq_config_destroy(&cfg);
}

static void test_env_bad_value_names_variable(void **state)
{
    (void)state;
    tq_config_t *cfg = tq_config_new();
    tq_error_t err = {0};
    setenv("TOOLQ_HOME", "/h", 1);
    setenv("TOOLQ_WORKER_CONCURRENCY", "lots", 1);
    assert_int_equal(tq_config_load_env(cfg, &err), -1);
    assert_string_equal(err.code, "invalid_config");
    assert_non_null(strstr(err.message, "TOOLQ_WORKER_CONCURRENCY"));
    assert_non_null(strstr(err.message, "worker.concurrency expects an integer"));
    /* nothing applied */
    assert_string_equal(tq_config_source(cfg, "home"), "default");
    /* a secret's value is not echoed */
    unsetenv("TOOLQ_WORKER_CONCURRENCY");
    setenv("TOOLQ_TEST_FLAG", "perhaps", 1);
    assert_int_equal(tq_config_load_env(cfg, &err), -1);
    assert_non_null(strstr(err.message, "TOOLQ_TEST_FLAG"));
    unsetenv("TOOLQ_TEST_FLAG");
    setenv("TOOLQ_TEST_SECRET", "sk-live-123456", 1);
    assert_int_equal(tq_config_load_env(cfg, &err), 0);
    assert_string_equal(tq_config_str(cfg, "test.secret"), "sk-live-123456");
    tq_config_destroy(&cfg);
}

static void test_flag_beats_env_even_when_set_first(void **state)
{
    (void)state;
    tq_config_t *cfg = tq_config_new();
    tq_error_t err = {0};
    assert_int_equal(tq_config_set(cfg, "broker.workers", "16", &err), 0);
    assert_int_equal(tq_config_set(cfg, "log.level", "error", &err), 0);
    setenv("TOOLQ_WORKERS", "8", 1);
    setenv("TOOLQ_LOG_LEVEL", "debug", 1);
    setenv("TOOLQ_HOME", "/env/home", 1);
    assert_int_equal(tq_config_load_env(cfg, &err), 0);
    assert_int_equal(load_text(cfg, "broker.workers: 4\nlog.level: warn\nhome: /f\n", &err), 0);
    assert_int_equal(tq_config_int(cfg, "broker.workers"), 16);
    assert_string_equal(tq_config_source(cfg, "broker.workers"), "flag");
    assert_string_equal(tq_config_str(cfg, "log.level"), "error");
    assert_string_equal(tq_config_str(cfg, "home"), "/env/home");
    assert_string_equal(tq_config_source(cfg, "home"), "env");
    /* a later flag still overrides an earlier flag */
    assert_int_equal(tq_config_set(cfg, "broker.workers", "2", &err), 0);
    assert_int_equal(tq_config_int(cfg, "broker.workers"), 2);
    tq_config_destroy(&cfg);
}

static void test_set_errors(void **state)
{
    (void)state;
    tq_config_t *cfg = tq_config_new();
    tq_error_t err = {0};
    assert_int_equal(tq_config_set(cfg, "broker.wrokers", "1", &err), -1);
    assert_string_equal(err.code, "invalid_config");
    assert_string_equal(err.message, "unknown setting \"broker.wrokers\"");
    assert_int_equal(tq_config_set(cfg, "broker", "1", &err), -1);
    assert_int_equal(tq_config_set(cfg, "broker.workers", NULL, &err), -1);
    assert_int_equal(tq_config_set(cfg, "broker.workers", "four", &err), -1);
    assert_non_null(strstr(err.message, "broker.workers expects an integer"));
    assert_string_equal(tq_config_source(cfg, "broker.workers"), "default");
    assert_int_equal(tq_config_set(cfg, "broker.workers", "4", NULL), 0); /* err may be NULL */
    assert_int_equal(tq_config_set(cfg, "nope", "4", NULL), -1);
    tq_config_destroy(&cfg);
}

/* A setting's range is checked where the value is read, naming the range,
 * in every layer; its bounds themselves are accepted. */
static void test_ranges(void **state)
{
    (void)state;
    tq_config_t *cfg = tq_config_new();
    tq_error_t err = {0};
    assert_int_equal(tq_config_set(cfg, "worker.concurrency", "0", &err), -1);
    assert_string_equal(err.code, "invalid_config");
    assert_string_equal(err.message, "worker.concurrency must be from 1 to 100000, got \"0\"");
    assert_int_equal(tq_config_set(cfg, "http.max_body_bytes", "2G", &err), -1);
    assert_non_null(strstr(err.message, "http.max_body_bytes must be from 1024 to 1073741824"));
    assert_int_equal(tq_config_set(cfg, "http.max_body_bytes", "1G", NULL), 0);
    assert_int_equal(tq_config_set(cfg, "oauth.sweep_interval_s", "0", NULL), 0);
    assert_string_equal(tq_config_source(cfg, "worker.concurrency"), "default");
    tq_config_destroy(&cfg);
    expect_file_error("mcp:\n  page_size: 10001\n", "mcp.page_size must be from 1 to 10000", NULL);
    /* every range is well formed (that every default lies inside its range
     * is checked by tq_config_new: a bad default in the table aborts) */
    for (size_t i = 0; i < TQ_NSETTINGS; i++)
        assert_true(s_settings[i].min <= s_settings[i].max);
}

/* --- ${home} ------------------------------------------------------------- */

static void test_home_expansion(void **state)
{
    (void)state;
    tq_config_t *cfg = tq_config_new();
    tq_error_t err = {0};
    const char *before = tq_config_str(cfg, "database.url");
    assert_string_equal(before, "host=./.toolq/pg port=5433 user=toolq dbname=toolq");
    assert_ptr_equal(tq_config_str(cfg, "database.url"), before); /* cached */

    /* Changing home invalidates every cached expansion; old pointers stay valid. */
    assert_int_equal(tq_config_set(cfg, "home", "/run/tq", &err), 0);
    assert_string_equal(tq_config_str(cfg, "database.url"),
                        "host=/run/tq/pg port=5433 user=toolq dbname=toolq");
    assert_string_equal(before, "host=./.toolq/pg port=5433 user=toolq dbname=toolq");
    assert_string_equal(tq_config_str(cfg, "broker.backend"), "ipc:///run/tq/backend.sock");

    /* Every occurrence, in any string; other ${...} untouched; home itself literal. */
    assert_int_equal(tq_config_set(cfg, "ssrf.allow", "${home}:${home}/${other}$", &err), 0);
    assert_string_equal(tq_config_str(cfg, "ssrf.allow"), "/run/tq:/run/tq/${other}$");
    assert_int_equal(tq_config_set(cfg, "home", "/a/${home}", &err), 0);
    assert_string_equal(tq_config_str(cfg, "home"), "/a/${home}");
    assert_string_equal(tq_config_str(cfg, "ssrf.allow"), "/a/${home}:/a/${home}/${other}$");

    /* Setting a value invalidates its own cache. */
    const char *old = tq_config_str(cfg, "http.listen");
    assert_int_equal(tq_config_set(cfg, "http.listen", "0.0.0.0:1", &err), 0);
    assert_string_equal(tq_config_str(cfg, "http.listen"), "0.0.0.0:1");
    assert_string_equal(old, "127.0.0.1:8765");
    tq_config_destroy(&cfg);
}

/* --- masking and printing -------------------------------------------------- */

static void expect_mask(const char *in, const char *want)
{
    char *got = tq_mask_secret(in);
    assert_string_equal(got, want);
    free(got);
}

static void test_mask_secret_vectors(void **state)
{
    (void)state;
    expect_mask("abcdefg", "******");
    expect_mask("abcdefgh", "a***h"); /* under 16: at most 2 characters show */
    expect_mask("abcdefghijklmno", "a***o");
    expect_mask("abcdefghijklmnop", "ab***op");
    expect_mask("abcdef", "******");
    expect_mask("", "******");
    expect_mask(NULL, "******");
    expect_mask("sk-abcdef", "s***f");
    expect_mask("\xc3\xa4\xc3\xb6\xc3\xbc\xc3\x9f\xc3\xa9\xc3\xa8\xc3\xaa\xc3\xab", /* äöüßéèêë */
                "\xc3\xa4***\xc3\xab");
    expect_mask("\xc3\xa4\xc3\xb6\xc3\xbc\xc3\x9f\xc3\xa9\xc3\xa8", "******"); /* 6 chars */
}

static void expect_scrub(const char *in, const char *want)
{
    char *got = scrub(in);
    assert_string_equal(got, want);
    free(got);
}

static void test_scrub_passwords(void **state)
{
    (void)state;
    expect_scrub("host=/x/pg port=5433 user=toolq dbname=toolq",
                 "host=/x/pg port=5433 user=toolq dbname=toolq");
    expect_scrub("host=db password=hunter2secret user=u", "host=db password=h***t user=u");
    expect_scrub("password=short", "password=******");
    expect_scrub("host=db password = 'with spaces \\' q' user=u",
                 "host=db password = 'wi*** q' user=u");
    expect_scrub("sslpassword=abcdefgh", "sslpassword=a***h");
    expect_scrub("postgresql://toolq:hunter2secret@db.example:5432/toolq",
                 "postgresql://toolq:h***t@db.example:5432/toolq");
    expect_scrub("postgresql://toolq@db/toolq?sslmode=require&password=p4ssw0rd9",
                 "postgresql://toolq@db/toolq?sslmode=require&password=p***9");
    expect_scrub("postgres://u:p@ss:w0rd!@h/db", "postgres://u:p***!@h/db");
    expect_scrub("postgres://db.example/x", "postgres://db.example/x");
    expect_scrub("https://h/cb?token=abcdefghij&x=1", "https://h/cb?token=a***j&x=1");
    expect_scrub("passfile=/x/.pgpass", "passfile=/x/.pgpass");
    expect_scrub("ipc://./.toolq/broker.sock", "ipc://./.toolq/broker.sock");
    expect_scrub("", "");
    expect_scrub("://", "://");
    expect_scrub("password=", "password=******");
}

static int secret_by_name(const char *key)
{
    return tq_mask_name_is_secret(key, strlen(key));
}

/* One rule for objects too: the OAuth client parameters and the credential
 * fields both go through tq_mask_object. */
static void test_mask_object(void **state)
{
    (void)state;
    json_t *in = json_pack("{s:s,s:s,s:s,s:s,s:i}", "client_secret", "abcdefghijklmnopqrst",
                           "client_id", "my-client-id", "Private_Key", "0123456789",
                           "jwt_assertion", "x", "expires_in", 3600);
    json_t *out = tq_mask_object(in, secret_by_name);
    assert_string_equal(json_string_value(json_object_get(out, "client_secret")), "ab***st");
    assert_string_equal(json_string_value(json_object_get(out, "client_id")), "my-client-id");
    assert_string_equal(json_string_value(json_object_get(out, "Private_Key")), "0***9");
    assert_string_equal(json_string_value(json_object_get(out, "jwt_assertion")), "******");
    assert_int_equal(json_integer_value(json_object_get(out, "expires_in")), 3600);
    assert_true(tq_mask_name_is_secret("db_PASSWD", 9));
    assert_false(tq_mask_name_is_secret("client_id", 9));
    assert_false(tq_mask_name_is_secret("password", 7)); /* only the first n bytes */
    json_decref(in);
    json_decref(out);
}

static void test_print_masks_secrets_and_url_passwords(void **state)
{
    (void)state;
    tq_config_t *cfg = tq_config_new();
    tq_error_t err = {0};
    /* An empty secret shows as empty, not as a mask. */
    char *text = print_to_string(cfg);
    expect_line(text, "secret", "secret: \"\"", "default");
    free(text);

    assert_int_equal(tq_config_set(cfg, "test.secret", "sk-abcdefghij", &err), 0);
    assert_int_equal(
        tq_config_set(cfg, "database.url", "postgresql://toolq:hunter2secret@db:5432/toolq", &err),
        0);
    assert_int_equal(load_text(cfg, "broker:\n  workers: 3\n", &err), 0);
    setenv("TOOLQ_LOG_LEVEL", "debug", 1);
    assert_int_equal(tq_config_load_env(cfg, &err), 0);
    text = print_to_string(cfg);
    assert_null(strstr(text, "sk-abcdefghij"));
    assert_null(strstr(text, "hunter2secret"));
    expect_line(text, "secret", "secret: \"s***j\"", "flag");
    expect_line(text, "url", "url: \"postgresql://toolq:h***t@db:5432/toolq\"", "flag");
    expect_line(text, "workers", "workers: 3", "file");
    expect_line(text, "level", "level: \"debug\"", "env");
    expect_line(text, "home", "home: \"./.toolq\"", "default");
    expect_line(text, "flag", "flag: false", "default");
    assert_non_null(strstr(text, "\nbroker:\n  frontend: \"ipc://./.toolq/broker.sock\""));

    /* Every line is a comment, a group ("name:") or a setting with its source. */
    size_t settings = 0;
    for (char *p = text; *p;) {
        size_t n = strcspn(p, "\n");
        char *l = tq_xstrndup(p, n);
        if (n > 0 && l[0] != '#' && l[n - 1] != ':') {
            const char *c = strstr(l, "  # ");
            assert_non_null(c);
            c += 4;
            assert_true(strcmp(c, "default") == 0 || strcmp(c, "file") == 0 ||
                        strcmp(c, "env") == 0 || strcmp(c, "flag") == 0);
            settings++;
        }
        free(l);
        p += n + (p[n] == '\n');
    }
    assert_int_equal(settings, TQ_NSETTINGS);
    free(text);
    tq_config_destroy(&cfg);
}

static void test_print_reads_back(void **state)
{
    (void)state;
    tq_config_t *cfg = tq_config_new();
    tq_error_t err = {0};
    assert_int_equal(tq_config_set(cfg, "ssrf.allow", "a\"b\\c\td\xc3\xa4", &err), 0);
    assert_int_equal(tq_config_set(cfg, "broker.max_frame_bytes", "1M", &err), 0);
    assert_int_equal(tq_config_set(cfg, "test.flag", "on", &err), 0);
    char *text = print_to_string(cfg);
    tq_config_t *back = tq_config_new();
    if (load_text(back, text, &err) != 0)
        fail_msg("printed configuration does not load: %s\n%s", err.message, text);
    for (size_t i = 0; i < TQ_NSETTINGS; i++) {
        const char *name = s_settings[i].name;
        if (s_settings[i].type == TQ_CFG_STR)
            assert_string_equal(tq_config_str(back, name), tq_config_str(cfg, name));
        else
            assert_int_equal(back->slot[i].num, cfg->slot[i].num);
    }
    free(text);
    tq_config_destroy(&back);
    tq_config_destroy(&cfg);
}

/* --- docs/toolq.example.yaml ---------------------------------------------- */

static void test_example_documents_every_setting(void **state)
{
    (void)state;
    if (!s_source_dir[0])
        fail_msg("TOOLQ_SOURCE_DIR is not set: run through ctest, or set it to the source "
                 "tree so this test can read docs/toolq.example.yaml and docs/configuration.md");
    char path[4200];
    snprintf(path, sizeof path, "%s/docs/toolq.example.yaml", s_source_dir);
    size_t len = 0;
    tq_error_t err = {0};
    char *text = read_file(path, &len, &err);
    if (!text) fail_msg("%s", err.message);
    text[len] = '\0';

    /* The example loads, sets every real setting, and sets it to its default. */
    tq_config_t *cfg = tq_config_new(), *defaults = tq_config_new();
    if (tq_config_load_file(cfg, path, &err) != 0) fail_msg("%s", err.message);
    for (size_t i = 0; i < TQ_NSETTINGS; i++) {
        const tq_setting_t *s = &s_settings[i];
        if (strncmp(s->name, "test.", 5) == 0) continue;
        if (strcmp(tq_config_source(cfg, s->name), "file") != 0)
            fail_msg("docs/toolq.example.yaml lacks setting %s", s->name);
        if (s->type == TQ_CFG_STR ? strcmp(cfg->slot[i].value, s->def) != 0
                                  : cfg->slot[i].num != defaults->slot[i].num)
            fail_msg("docs/toolq.example.yaml: %s is not the default (%s)", s->name, s->def);
        /* and documents it with the table's words */
        if (!strstr(text, s->doc))
            fail_msg("docs/toolq.example.yaml: %s lacks its doc line \"%s\"", s->name, s->doc);
        if (s->env && !strstr(text, s->env))
            fail_msg("docs/toolq.example.yaml: %s does not name %s", s->name, s->env);
    }
    tq_config_destroy(&defaults);
    tq_config_destroy(&cfg);
    free(text);

    /* docs/configuration.md has a row for every setting, with its range */
    snprintf(path, sizeof path, "%s/docs/configuration.md", s_source_dir);
    if (!(text = read_file(path, &len, &err))) fail_msg("%s", err.message);
    text[len] = '\0';
    for (size_t i = 0; i < TQ_NSETTINGS; i++) {
        const tq_setting_t *s = &s_settings[i];
        if (strncmp(s->name, "test.", 5) == 0) continue;
        char row[160], range[80];
        snprintf(row, sizeof row, "\n| `%s` |", s->name);
        const char *at = strstr(text, row);
        if (!at) fail_msg("docs/configuration.md has no row for %s", s->name);
        if (s->type != TQ_CFG_INT || (s->min == INT64_MIN && s->max == INT64_MAX)) continue;
        snprintf(range, sizeof range, "(%lld to %lld) |", (long long)s->min, (long long)s->max);
        const char *eol = strchr(at + 1, '\n');
        const char *hit = strstr(at, range);
        if (!hit || (eol && hit > eol))
            fail_msg("docs/configuration.md: the row of %s does not end with %s", s->name, range);
    }
    free(text);
}

/* --- programming errors ------------------------------------------------------ */

static void expect_abort(int which)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stderr)) _exit(3);
        tq_config_t *cfg = tq_config_new();
        if (which == 0)
            tq_config_str(cfg, "no.such.setting");
        else if (which == 1)
            tq_config_int(cfg, "home"); /* a string read as an int */
        else
            tq_config_bool(cfg, "broker.workers");
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
}

static void test_unknown_read_aborts(void **state)
{
    (void)state;
    expect_abort(0);
    expect_abort(1);
    expect_abort(2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_table_is_sane, clear_env),
        cmocka_unit_test_setup(test_defaults, clear_env),
        cmocka_unit_test_setup(test_file_nested_and_dotted, clear_env),
        cmocka_unit_test_setup(test_empty_files, clear_env),
        cmocka_unit_test_setup(test_unknown_key_names_key_and_line, clear_env),
        cmocka_unit_test_setup(test_wrong_type_names_key_type_and_line, clear_env),
        cmocka_unit_test_setup(test_other_file_errors, clear_env),
        cmocka_unit_test_setup(test_int_suffixes, clear_env),
        cmocka_unit_test_setup(test_bool_forms, clear_env),
        cmocka_unit_test_setup(test_fraction_forms, clear_env),
        cmocka_unit_test_setup(test_missing_file, clear_env),
        cmocka_unit_test_setup(test_malformed_yaml_has_line_and_column, clear_env),
        cmocka_unit_test_setup(test_env_overrides_file, clear_env),
        cmocka_unit_test_setup(test_env_bad_value_names_variable, clear_env),
        cmocka_unit_test_setup(test_flag_beats_env_even_when_set_first, clear_env),
        cmocka_unit_test_setup(test_set_errors, clear_env),
        cmocka_unit_test_setup(test_home_expansion, clear_env),
        cmocka_unit_test_setup(test_ranges, clear_env),
        cmocka_unit_test_setup(test_mask_secret_vectors, clear_env),
        cmocka_unit_test(test_mask_object),
        cmocka_unit_test_setup(test_scrub_passwords, clear_env),
        cmocka_unit_test_setup(test_print_masks_secrets_and_url_passwords, clear_env),
        cmocka_unit_test_setup(test_print_reads_back, clear_env),
        cmocka_unit_test_setup(test_example_documents_every_setting, clear_env),
        cmocka_unit_test_setup(test_unknown_read_aborts, clear_env),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
