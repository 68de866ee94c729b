/* test_opspec.c — the op specs (common/ops/<op>.json, common/opspec.h) and
 * the central payload check: every catalogue op has a spec, every error code
 * a spec names is registered, each op's example payload passes, and for every
 * field each kind of wrong input (wrong type, required field missing, null
 * for a required field, a value just past a declared bound: minimum,
 * maximum, minLength, maxLength) is invalid_payload naming the field — all
 * problems at once, not just the first — and a value at the bound passes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "opcat.h"
#include "opspec.h"

static void test_every_op_has_a_spec(void **state)
{
    (void)state;
    tq_error_t err = {0};
    assert_int_equal(tq_opspec_check_all(&err), 0);
    size_t n = 0;
    const tq_opinfo_t *all = tq_opcat_all(&n);
    for (size_t i = 0; i < n; i++) {
        const json_t *spec = tq_opspec(all[i].name);
        assert_non_null(spec);
        assert_true(json_is_string(json_object_get(spec, "result")));
        const json_t *errors = json_object_get(spec, "errors");
        assert_true(json_is_array(errors));
        size_t j;
        json_t *e;
        json_array_foreach(errors, j, e)
        {
            if (!tq_error_class(json_string_value(e)))
                fail_msg("%s: error code %s is not in common/errcodes.txt", all[i].name,
                         json_string_value(e));
        }
    }
    assert_null(tq_opspec("nosuch.op"));
}

static void test_examples_pass(void **state)
{
    (void)state;
    size_t n = 0;
    const tq_opinfo_t *all = tq_opcat_all(&n);
    for (size_t i = 0; i < n; i++) {
        tq_error_t err = {0};
        json_t *problems = NULL;
        const json_t *ex = json_object_get(tq_opspec(all[i].name), "example");
        assert_true(json_is_object(ex));
        if (tq_opspec_check_payload(all[i].name, ex, &problems, &err))
            fail_msg("%s: the example is refused: %s", all[i].name, err.message);
        assert_null(problems);
    }
}

/* A value of a kind the property schema does not allow, or NULL. */
static json_t *wrong_value(const json_t *prop)
{
    const json_t *type = json_object_get(prop, "type");
    if (!type) return NULL;
    json_t *candidates = json_pack("[s,i,b,[i],{s:i},f]", "x", 7, 1, 1, "a", 1, 1.5);
    static const char *const kinds[] = {"string", "integer", "boolean",
                                        "array",  "object",  "number"};
    json_t *out = NULL;
    for (size_t k = 0; k < 6 && !out; k++) {
        int allowed = 0;
        size_t i;
        json_t *t;
        if (json_is_string(type)) allowed = !strcmp(json_string_value(type), kinds[k]);
        json_array_foreach(type, i, t) allowed |= !strcmp(json_string_value(t), kinds[k]);
        if (!strcmp(kinds[k], "integer") && json_is_string(type) &&
            !strcmp(json_string_value(type), "number"))
            allowed = 1;
        if (!allowed) out = json_incref(json_array_get(candidates, k));
    }
    json_decref(candidates);
    return out;
}

static int names(const json_t *problems, const char *field)
{
    size_t i;
    json_t *p;
    json_array_foreach(problems, i, p)
    {
        if (!strcmp(json_string_value(json_object_get(p, "field")), field)) return 1;
    }
    return 0;
}

static void expect_refused(const char *op, json_t *payload, const char *field)
{
    tq_error_t err = {0};
    json_t *problems = NULL;
    if (tq_opspec_check_payload(op, payload, &problems, &err) == 0)
        fail_msg("%s: a wrong %s passed", op, field);
    assert_string_equal(err.code, "invalid_payload");
    if (!names(problems, field) || !strstr(err.message, field))
        fail_msg("%s: the problem does not name %s: %s", op, field, err.message);
    json_decref(problems);
    json_decref(payload);
}

static void test_wrong_input_names_the_field(void **state)
{
    (void)state;
    size_t n = 0, checked = 0;
    const tq_opinfo_t *all = tq_opcat_all(&n);
    for (size_t i = 0; i < n; i++) {
        const json_t *schema = tq_opspec_payload(all[i].name);
        const json_t *ex = json_object_get(tq_opspec(all[i].name), "example");
        const char *k;
        json_t *prop;
        json_object_foreach((json_t *)json_object_get(schema, "properties"), k, prop)
        {
            json_t *bad = wrong_value(prop);
            if (!bad) continue;
            json_t *p = json_deep_copy(ex);
            json_object_set_new(p, k, bad);
            expect_refused(all[i].name, p, k);
            checked++;
        }
        size_t j;
        json_t *r;
        json_array_foreach(json_object_get(schema, "required"), j, r)
        {
            json_t *p = json_deep_copy(ex);
            json_object_del(p, json_string_value(r));
            expect_refused(all[i].name, p, json_string_value(r));
            p = json_deep_copy(ex);
            json_object_set_new(p, json_string_value(r), json_null());
            expect_refused(all[i].name, p, json_string_value(r));
        }
    }
    assert_true(checked > 60);
}

/* A string of n 'a's, or the integer n, as the property's type asks. */
static json_t *sized(const json_t *prop, json_int_t n)
{
    if (!strcmp(json_string_value(json_object_get(prop, "type")), "integer"))
        return json_integer(n);
    char buf[300];
    memset(buf, 'a', (size_t)n);
    buf[n] = '\0';
    return json_string(buf);
}

static void expect_accepted(const char *op, json_t *payload, const char *field)
{
    tq_error_t err = {0};
    json_t *problems = NULL;
    if (tq_opspec_check_payload(op, payload, &problems, &err))
        fail_msg("%s: %s at its bound is refused: %s", op, field, err.message);
    json_decref(payload);
}

static void test_bounds_are_checked(void **state)
{
    (void)state;
    static const struct {
        const char *key;
        int dir; /* -1: a lower bound, +1: an upper bound */
    } bounds[] = {{"minimum", -1}, {"maximum", 1}, {"minLength", -1}, {"maxLength", 1}};
    size_t n = 0, checked = 0;
    const tq_opinfo_t *all = tq_opcat_all(&n);
    for (size_t i = 0; i < n; i++) {
        const json_t *ex = json_object_get(tq_opspec(all[i].name), "example");
        const char *k;
        json_t *prop;
        json_object_foreach((json_t *)json_object_get(tq_opspec_payload(all[i].name), "properties"),
                            k, prop)
        {
            for (size_t b = 0; b < sizeof bounds / sizeof *bounds; b++) {
                const json_t *v = json_object_get(prop, bounds[b].key);
                if (!json_is_integer(v)) continue;
                json_int_t at = json_integer_value(v), past = at + bounds[b].dir;
                if (past < 0 || at > 256) { /* nothing below 0 characters; 300 bytes max */
                    if (strcmp(json_string_value(json_object_get(prop, "type")), "integer"))
                        continue;
                }
                json_t *p = json_deep_copy(ex);
                json_object_set_new(p, k, sized(prop, at));
                expect_accepted(all[i].name, p, k);
                p = json_deep_copy(ex);
                json_object_set_new(p, k, sized(prop, past));
                expect_refused(all[i].name, p, k);
                checked++;
            }
        }
    }
    assert_true(checked >= 30); /* sleep.ms, tools.list, credential names, OAuth plugins ... */
}

static void test_every_problem_is_named(void **state)
{
    (void)state;
    tq_error_t err = {0};
    json_t *problems = NULL;
    json_t *p = json_pack("{s:i,s:b,s:{s:i}}", "name", 5, "include_schema", 1, "files", "a", 1);
    json_object_set_new(p, "include_tools", json_string("yes"));
    assert_int_equal(tq_opspec_check_payload(TQ_OP_provider_import, p, &problems, &err), -1);
    assert_string_equal(err.code, "invalid_payload");
    assert_int_equal(json_array_size(problems), 3); /* name, files.a, schema missing */
    assert_true(names(problems, "name"));
    assert_true(names(problems, "files.a"));
    assert_true(names(problems, "schema"));
    assert_non_null(strstr(err.message, "3 problems with the payload"));
    json_decref(problems);
    /* a null optional field is absent, as handlers always read it */
    json_t *q = json_pack("{s:s,s:s,s:n}", "name", "n", "schema", "s", "server_url");
    assert_int_equal(tq_opspec_check_payload(TQ_OP_provider_import, q, NULL, &err), 0);
    /* no value is echoed into the message */
    json_t *s = json_pack("{s:s,s:i}", "name", "n", "schema", 424242);
    assert_int_equal(tq_opspec_check_payload(TQ_OP_provider_import, s, NULL, &err), -1);
    assert_null(strstr(err.message, "424242"));
    json_t *arr = json_array();
    assert_int_equal(tq_opspec_check_payload(TQ_OP_ping, arr, NULL, &err), -1);
    assert_string_equal(err.code, "invalid_payload");
    json_decref(arr);
    json_decref(p);
    json_decref(q);
    json_decref(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_op_has_a_spec),
        cmocka_unit_test(test_examples_pass),
        cmocka_unit_test(test_wrong_input_names_the_field),
        cmocka_unit_test(test_every_problem_is_named),
        cmocka_unit_test(test_bounds_are_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
