/* test_doc.c — the document loader: JSON/YAML detection, BOM, YAML scalar
 * resolution, keys as strings, duplicate keys (last wins + warning), error
 * positions and the size/depth/alias bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "doc.h"

static json_t *load_ok(const char *text, json_t *warnings, tq_doc_format_t *fmt)
{
    json_t *out = NULL;
    tq_error_t err = {0};
    int rc = tq_doc_load(text, strlen(text), NULL, &out, warnings, fmt, &err);
    if (rc != 0) fprintf(stderr, "unexpected error %s: %s\n", err.code, err.message);
    assert_int_equal(rc, 0);
    return out;
}

static void load_fail(const char *text, size_t len, const tq_doc_limits_t *lim, const char *code,
                      const char *in_message)
{
    json_t *out = NULL;
    tq_error_t err = {0};
    assert_int_equal(tq_doc_load(text, len, lim, &out, NULL, NULL, &err), -1);
    assert_null(out);
    assert_string_equal(err.code, code);
    if (in_message && !strstr(err.message, in_message))
        fail_msg("message \"%s\" lacks \"%s\"", err.message, in_message);
}

static void test_json_and_yaml_same_tree(void **state)
{
    (void)state;
    tq_doc_format_t f1, f2;
    json_t *a = load_ok("{\"a\": [1, 2.5, \"x\", true, null], \"b\": {\"c\": \"d\"}}", NULL, &f1);
    json_t *b = load_ok("a:\n  - 1\n  - 2.5\n  - x\n  - true\n  - ~\nb:\n  c: d\n", NULL, &f2);
    assert_int_equal(f1, TQ_DOC_JSON);
    assert_int_equal(f2, TQ_DOC_YAML);
    assert_true(json_equal(a, b));
    json_decref(a);
    json_decref(b);
}

static void test_bom_and_flow_yaml(void **state)
{
    (void)state;
    json_t *a = load_ok("\xEF\xBB\xBF{\"k\": 1}", NULL, NULL);
    assert_int_equal(json_integer_value(json_object_get(a, "k")), 1);
    json_decref(a);
    /* Starts like JSON but is YAML flow style. */
    tq_doc_format_t f;
    a = load_ok("{k: v, n: 3}", NULL, &f);
    assert_int_equal(f, TQ_DOC_YAML);
    assert_string_equal(json_string_value(json_object_get(a, "k")), "v");
    json_decref(a);
}

static void test_yaml_scalars(void **state)
{
    (void)state;
    json_t *d = load_ok("n1: null\nn2: ~\nn3:\nt: True\nf: FALSE\ni: -42\nh: 0x1F\no: 0o17\n"
                        "r: 1.5e3\nv: 1.0\nq: \"123\"\ns: '1.0'\nyes: yes\ninf: .inf\n"
                        "tagged: !!str 12\nbig: 123456789012345678901234\n",
                        NULL, NULL);
    assert_true(json_is_null(json_object_get(d, "n1")));
    assert_true(json_is_null(json_object_get(d, "n2")));
    assert_true(json_is_null(json_object_get(d, "n3")));
    assert_true(json_is_true(json_object_get(d, "t")));
    assert_true(json_is_false(json_object_get(d, "f")));
    assert_int_equal(json_integer_value(json_object_get(d, "i")), -42);
    assert_int_equal(json_integer_value(json_object_get(d, "h")), 31);
    assert_int_equal(json_integer_value(json_object_get(d, "o")), 15);
    assert_true(json_real_value(json_object_get(d, "r")) == 1500.0);
    assert_true(json_is_real(json_object_get(d, "v")));
    assert_string_equal(json_string_value(json_object_get(d, "q")), "123");
    assert_string_equal(json_string_value(json_object_get(d, "s")), "1.0");
    assert_string_equal(json_string_value(json_object_get(d, "yes")), "yes"); /* YAML 1.2 */
    assert_string_equal(json_string_value(json_object_get(d, "inf")), ".inf");
    assert_string_equal(json_string_value(json_object_get(d, "tagged")), "12");
    assert_true(json_is_real(json_object_get(d, "big")));
    json_decref(d);
}

static void test_keys_are_strings(void **state)
{
    (void)state;
    json_t *d = load_ok("responses:\n  200:\n    description: ok\n  404: {description: nf}\n"
                        "true: 1\nnull: 2\n",
                        NULL, NULL);
    json_t *r = json_object_get(d, "responses");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(r, "200"), "description")), "ok");
    assert_non_null(json_object_get(r, "404"));
    assert_non_null(json_object_get(d, "true"));
    assert_non_null(json_object_get(d, "null"));
    json_decref(d);
}

static void test_duplicate_keys_last_wins(void **state)
{
    (void)state;
    json_t *w = json_array();
    json_t *d = load_ok("a: 1\nb: 2\na: 3\n", w, NULL);
    assert_int_equal(json_integer_value(json_object_get(d, "a")), 3);
    assert_int_equal(json_array_size(w), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(w, 0), "code")),
                        "duplicate_key");
    assert_non_null(
        strstr(json_string_value(json_object_get(json_array_get(w, 0), "message")), "line 3"));
    json_decref(d);
    json_array_clear(w);
    d = load_ok("{\"a\": 1, \"a\": 2}", w, NULL);
    assert_int_equal(json_integer_value(json_object_get(d, "a")), 2);
    assert_int_equal(json_array_size(w), 1);
    json_decref(d);
    json_decref(w);
}

static void test_anchors_and_merge(void **state)
{
    (void)state;
    json_t *w = json_array();
    json_t *d = load_ok("base: &b {x: 1, y: 2}\nuse: *b\nm:\n  <<: *b\n  y: 9\n", w, NULL);
    assert_true(json_equal(json_object_get(d, "base"), json_object_get(d, "use")));
    json_t *m = json_object_get(d, "m");
    assert_int_equal(json_integer_value(json_object_get(m, "x")), 1);
    assert_int_equal(json_integer_value(json_object_get(m, "y")), 9);
    assert_int_equal(json_array_size(w), 0);
    json_decref(d);
    json_decref(w);
}

static void test_errors_have_positions(void **state)
{
    (void)state;
    /* Not YAML either (YAML flow style would accept a missing value). */
    const char *bad_json = "{\n  \"a\": 1,\n  \"b\": [}";
    load_fail(bad_json, strlen(bad_json), NULL, "invalid_document", "line 3");
    const char *bad_yaml = "a: 1\nb: [1, 2\nc: 3\n";
    load_fail(bad_yaml, strlen(bad_yaml), NULL, "invalid_document", "line");
    load_fail("", 0, NULL, "invalid_document", "empty");
    load_fail("  \n", 3, NULL, "invalid_document", "empty");
    load_fail("a: 1\n---\nb: 2\n", 14, NULL, "invalid_document", "more than one");
    load_fail("? [a]\n: 1\n", 10, NULL, "invalid_document", "keys");
    load_fail("a: *nope\n", 9, NULL, "invalid_document", "anchor");
}

static void test_billion_laughs(void **state)
{
    (void)state;
    const char *bomb =
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
        "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
        "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
        "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
        "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
        "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
        "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
        "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
        "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
    load_fail(bomb, strlen(bomb), NULL, "document_alias_bomb", "import.max_alias_nodes");
}

static char *nested(size_t depth, int yaml)
{
    char *s = malloc(depth * 2 + 8);
    size_t n = 0;
    for (size_t i = 0; i < depth; i++)
        s[n++] = '[';
    if (yaml) s[n++] = '1';
    for (size_t i = 0; i < depth; i++)
        s[n++] = ']';
    s[n] = '\0';
    return s;
}

static void test_depth_and_size(void **state)
{
    (void)state;
    char *deep = nested(10000, 0);
    load_fail(deep, strlen(deep), NULL, "document_too_deep", "import.max_depth");
    free(deep);
    /* Block-style YAML nesting. */
    size_t levels = 300, n = 0;
    char *y = malloc(levels * (levels + 4) + 16);
    for (size_t i = 0; i < levels; i++) {
        memset(y + n, ' ', i);
        n += i;
        n += (size_t)sprintf(y + n, "k:\n");
    }
    y[n] = '\0';
    load_fail(y, n, NULL, "document_too_deep", "max_depth");
    free(y);
    tq_doc_limits_t lim;
    tq_doc_limits_default(&lim);
    lim.max_bytes = 10;
    load_fail("{\"a\": \"0123456789\"}", 19, &lim, "document_too_large", "max_document_bytes");
    deep = nested(200, 1);
    json_t *out = NULL;
    assert_int_equal(tq_doc_load(deep, strlen(deep), NULL, &out, NULL, NULL, NULL), 0);
    json_decref(out);
    free(deep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_and_yaml_same_tree),
        cmocka_unit_test(test_bom_and_flow_yaml),
        cmocka_unit_test(test_yaml_scalars),
        cmocka_unit_test(test_keys_are_strings),
        cmocka_unit_test(test_duplicate_keys_last_wins),
        cmocka_unit_test(test_anchors_and_merge),
        cmocka_unit_test(test_errors_have_positions),
        cmocka_unit_test(test_billion_laughs),
        cmocka_unit_test(test_depth_and_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
