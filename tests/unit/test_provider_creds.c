/* test_provider_creds.c — provider credentials: validation into the stored
 * shape, masking, and "a submitted value equal to the masked stored one (or
 * none) keeps the stored secret" on update. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "provider/provider_creds.h"

static json_t *s_origins; /* the provider's tool origins in these tests */

static json_t *norm_at(const char *in, const json_t *stored, const json_t *origins, tq_error_t *err)
{
    json_error_t jerr;
    json_t *j = in ? json_loads(in, 0, &jerr) : NULL;
    json_t *out = tq_provider_creds_normalize(j, stored, origins, err);
    json_decref(j);
    return out;
}

static json_t *norm(const char *in, const json_t *stored, tq_error_t *err)
{
    return norm_at(in, stored, s_origins, err);
}

static int setup(void **state)
{
    (void)state;
    json_t *tools =
        json_pack("[{s:s},{s:s},{s:s}]", "server_url", "https://API.example.com/v1", "server_url",
                  "https://api.example.com:443/v2", "server_url", "http://other.example:8080");
    s_origins = tq_provider_tool_origins(tools);
    json_decref(tools);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    json_decref(s_origins);
    return 0;
}

static const char *field(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void test_shapes(void **state)
{
    (void)state;
    tq_error_t err = {0};
    json_t *c = norm(NULL, NULL, &err);
    assert_string_equal(field(c, "auth_type"), "none");
    json_decref(c);
    c = norm("{\"auth_type\":\" API_KEY \",\"api_key_value\":\"secret-value\"}", NULL, &err);
    assert_non_null(c);
    assert_string_equal(field(c, "auth_type"), "api_key_header");
    assert_string_equal(field(c, "api_key_header"), "Authorization");
    assert_string_equal(field(c, "api_key_header_prefix"), "none");
    json_decref(c);
    c = norm("{\"auth_type\":\"api_key_query\",\"api_key_value\":\"v\"}", NULL, &err);
    assert_string_equal(field(c, "api_key_query_param"), "key");
    json_decref(c);
    c = norm("{\"auth_type\":\"credential\",\"credential\":\"github\"}", NULL, &err);
    assert_string_equal(field(c, "credential"), "github");
    json_decref(c);
    static const char *const bad[] = {
        "{\"auth_type\":\"oauth\"}",
        "{\"api_key_value\":\"x\"}",
        "{\"auth_type\":\"api_key_header\"}",
        "{\"auth_type\":\"api_key_header\",\"api_key_value\":\"x\",\"api_key_header\":\"a b\"}",
        "{\"auth_type\":\"api_key_header\",\"api_key_value\":\"x\",\"api_key_header_prefix\":"
        "\"custom\"}",
        "{\"auth_type\":\"none\",\"extra\":1}",
        "{\"auth_type\":\"credential\"}",
        "[1]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&err, 0, sizeof err);
        assert_null(norm(bad[i], NULL, &err));
        assert_string_equal(err.code, "invalid_argument");
        assert_null(strstr(err.message, "secret"));
    }
}

static void test_origins(void **state)
{
    (void)state;
    assert_int_equal(json_array_size(s_origins), 2); /* sorted, distinct, default ports */
    assert_string_equal(json_string_value(json_array_get(s_origins, 0)),
                        "http://other.example:8080");
    assert_string_equal(json_string_value(json_array_get(s_origins, 1)),
                        "https://api.example.com:443");
    tq_error_t err = {0};
    json_t *c = norm("{\"auth_type\":\"api_key_query\",\"api_key_value\":\"secret-value\","
                     "\"origins\":[\"http://evil.example\"]}",
                     NULL, &err);
    assert_non_null(c); /* origins on input are ignored: the binding is computed */
    assert_true(json_equal(json_object_get(c, "origins"), s_origins));
    json_decref(c);
    c = norm("{\"auth_type\":\"none\"}", NULL, &err);
    assert_null(json_object_get(c, "origins"));
    json_decref(c);
}

static void test_mask_and_keep(void **state)
{
    (void)state;
    tq_error_t err = {0};
    json_t *stored = norm("{\"auth_type\":\"api_key_header\",\"api_key_value\":\"sk-abcdefghij\","
                          "\"api_key_header\":\"X-Key\"}",
                          NULL, &err);
    json_t *m = tq_provider_creds_mask(stored);
    assert_string_equal(field(m, "api_key_value"), "s***j");
    assert_string_equal(field(stored, "api_key_value"), "sk-abcdefghij");
    json_decref(m);
    /* masked value -> keep (same origins, same placement) */
    json_t *c = norm("{\"auth_type\":\"api_key_header\",\"api_key_value\":\"s***j\","
                     "\"api_key_header\":\"x-key\"}",
                     stored, &err);
    assert_string_equal(field(c, "api_key_value"), "sk-abcdefghij");
    json_decref(c);
    /* F5: a kept key never moves to another header ... */
    assert_null(norm("{\"auth_type\":\"api_key_header\",\"api_key_value\":\"s***j\","
                     "\"api_key_header\":\"X-Other\"}",
                     stored, &err));
    assert_string_equal(err.code, "secret_required");
    assert_null(norm("{\"auth_type\":\"api_key_header\",\"api_key_header\":\"X-Key\","
                     "\"api_key_header_prefix\":\"bearer\"}",
                     stored, &err));
    assert_string_equal(err.code, "secret_required");
    /* ... nor to another server (the review's provider.update exfiltration) */
    json_t *evil_tools = json_pack("[{s:s}]", "server_url", "http://127.0.0.1:58766");
    json_t *evil = tq_provider_tool_origins(evil_tools);
    assert_null(norm_at("{\"auth_type\":\"api_key_header\",\"api_key_header\":\"X-Key\"}", stored,
                        evil, &err));
    assert_string_equal(err.code, "secret_required");
    assert_int_equal(tq_provider_creds_check_rebind(stored, evil, &err), -1);
    assert_string_equal(err.code, "secret_required");
    assert_int_equal(tq_provider_creds_check_rebind(stored, s_origins, &err), 0);
    /* the secret given again: bound to the new origins */
    c = norm_at("{\"auth_type\":\"api_key_header\",\"api_key_header\":\"X-Key\","
                "\"api_key_value\":\"sk-abcdefghij\"}",
                stored, evil, &err);
    assert_non_null(c);
    assert_true(json_equal(json_object_get(c, "origins"), evil));
    json_decref(c);
    json_decref(evil);
    json_decref(evil_tools);
    /* missing value -> keep; a new value replaces */
    c = norm("{\"auth_type\":\"api_key_header\",\"api_key_header\":\"X-Key\"}", stored, &err);
    assert_string_equal(field(c, "api_key_value"), "sk-abcdefghij");
    json_decref(c);
    c = norm("{\"auth_type\":\"api_key_header\",\"api_key_value\":\"new-value-1\"}", stored, &err);
    assert_string_equal(field(c, "api_key_value"), "new-value-1");
    json_decref(c);
    /* another auth type does not inherit the stored secret */
    assert_null(norm("{\"auth_type\":\"api_key_query\"}", stored, &err));
    /* short secrets mask whole */
    json_t *s = norm("{\"auth_type\":\"api_key_query\",\"api_key_value\":\"abc\"}", NULL, &err);
    m = tq_provider_creds_mask(s);
    assert_string_equal(field(m, "api_key_value"), "******");
    json_decref(m);
    json_decref(s);
    json_decref(stored);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_mask_and_keep),
        cmocka_unit_test(test_origins),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
