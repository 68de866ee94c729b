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

static json_t *norm(const char *in, const json_t *stored, tq_error_t *err)
{
    json_error_t jerr;
    json_t *j = in ? json_loads(in, 0, &jerr) : NULL;
    json_t *out = tq_provider_creds_normalize(j, stored, err);
    json_decref(j);
    return out;
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
    /* masked value -> keep */
    json_t *c = norm("{\"auth_type\":\"api_key_header\",\"api_key_value\":\"s***j\","
                     "\"api_key_header\":\"X-Other\"}",
                     stored, &err);
    assert_string_equal(field(c, "api_key_value"), "sk-abcdefghij");
    assert_string_equal(field(c, "api_key_header"), "X-Other");
    json_decref(c);
    /* missing value -> keep; a new value replaces */
    c = norm("{\"auth_type\":\"api_key_header\"}", stored, &err);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
