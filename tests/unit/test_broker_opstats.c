/* test_broker_opstats.c — the broker's per-op counters (broker/opstats.c):
 * outcomes and error codes are counted per op, latency lands in the right
 * bucket (a bound is inclusive, past the last is +Inf), untimed outcomes
 * are counted but not timed, and the bounds hold: past TQ_OPSTATS_MAX_OPS
 * op names and TQ_OPSTATS_MAX_CODES codes per op (or an over-long code) the
 * rest count under "_other", so a client cannot grow the broker's memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "opstats.h"

#include <stdio.h>
#include <string.h>

static json_t *snapshot(const tq_opstats_t *s)
{
    json_t *o = json_object();
    tq_opstats_to_json(s, o);
    return o;
}

static json_int_t at(json_t *stats, const char *op, const char *field)
{
    json_t *v = json_object_get(json_object_get(json_object_get(stats, "by_op"), op), field);
    return json_integer_value(v);
}

static json_int_t code_count(json_t *stats, const char *op, const char *code)
{
    json_t *e = json_object_get(json_object_get(json_object_get(stats, "by_op"), op), "errors");
    return json_integer_value(json_object_get(e, code));
}

static void outcomes_and_buckets(void **state)
{
    (void)state;
    tq_opstats_t *s = tq_opstats_new();
    tq_opstats_record(s, "ping", "succeeded", NULL, 0.001);  /* == first bound: bucket 0 */
    tq_opstats_record(s, "ping", "succeeded", NULL, 0.0011); /* bucket 1 */
    tq_opstats_record(s, "ping", "failed", "invalid_argument", 0.3);
    tq_opstats_record(s, "ping", "failed", "invalid_argument", 11.0); /* +Inf */
    tq_opstats_record(s, "ping", "dead", "worker_crashed", -1);       /* counted, not timed */
    tq_opstats_record(s, "ping", "cancelled", "cancelled", 0);
    tq_opstats_record(s, "ping", "succeeded", "ignored_on_success", 0);
    tq_opstats_record(s, "ping", "running", NULL, 0.1); /* not an outcome: ignored */
    tq_opstats_record(s, NULL, "succeeded", NULL, 0.1);
    tq_opstats_record(NULL, "ping", "succeeded", NULL, 0.1);
    json_t *o = snapshot(s);
    assert_int_equal(at(o, "ping", "succeeded"), 3);
    assert_int_equal(at(o, "ping", "failed"), 2);
    assert_int_equal(at(o, "ping", "dead"), 1);
    assert_int_equal(at(o, "ping", "cancelled"), 1);
    assert_int_equal(code_count(o, "ping", "invalid_argument"), 2);
    assert_int_equal(code_count(o, "ping", "worker_crashed"), 1);
    assert_null(json_object_get(
        json_object_get(json_object_get(json_object_get(o, "by_op"), "ping"), "errors"),
        "ignored_on_success"));
    json_t *lat = json_object_get(json_object_get(json_object_get(o, "by_op"), "ping"), "latency");
    assert_int_equal(json_integer_value(json_object_get(lat, "count")), 6);
    json_t *counts = json_object_get(lat, "counts");
    assert_int_equal(json_array_size(counts), TQ_OPSTATS_NBUCKETS + 1);
    assert_int_equal(json_integer_value(json_array_get(counts, 0)), 3); /* 0.001, 0, 0 */
    assert_int_equal(json_integer_value(json_array_get(counts, 1)), 1);
    assert_int_equal(json_integer_value(json_array_get(counts, 8)), 1); /* 0.25 < 0.3 <= 0.5 */
    assert_int_equal(json_integer_value(json_array_get(counts, TQ_OPSTATS_NBUCKETS)), 1);
    double sum = json_real_value(json_object_get(lat, "sum_s"));
    assert_true(sum > 11.30 && sum < 11.31);
    assert_int_equal(json_array_size(json_object_get(o, "latency_buckets_s")), TQ_OPSTATS_NBUCKETS);
    json_decref(o);
    tq_opstats_destroy(&s);
    assert_null(s);
    /* No stats: an empty by_op, still the bucket bounds. */
    o = snapshot(NULL);
    assert_int_equal(json_object_size(json_object_get(o, "by_op")), 0);
    json_decref(o);
}

static void op_bound(void **state)
{
    (void)state;
    tq_opstats_t *s = tq_opstats_new();
    char op[32];
    for (int i = 0; i < TQ_OPSTATS_MAX_OPS + 100; i++) {
        snprintf(op, sizeof op, "op.%d", i);
        tq_opstats_record(s, op, "succeeded", NULL, 0.01);
    }
    tq_opstats_record(s, "op.0", "succeeded", NULL, 0.01); /* a known op still counts as itself */
    json_t *o = snapshot(s);
    json_t *by_op = json_object_get(o, "by_op");
    /* MAX_OPS names, plus "_other" for the rest */
    assert_int_equal(json_object_size(by_op), TQ_OPSTATS_MAX_OPS + 1);
    assert_int_equal(at(o, "op.0", "succeeded"), 2);
    assert_int_equal(at(o, "_other", "succeeded"), 100);
    snprintf(op, sizeof op, "op.%d", TQ_OPSTATS_MAX_OPS + 5);
    assert_null(json_object_get(by_op, op));
    json_decref(o);
    tq_opstats_destroy(&s);
}

static void code_bound(void **state)
{
    (void)state;
    tq_opstats_t *s = tq_opstats_new();
    char code[40];
    for (int i = 0; i < TQ_OPSTATS_MAX_CODES + 10; i++) {
        snprintf(code, sizeof code, "code_%d", i);
        tq_opstats_record(s, "invoke", "failed", code, 0.01);
    }
    char longcode[100];
    memset(longcode, 'z', sizeof longcode - 1);
    longcode[sizeof longcode - 1] = '\0';
    tq_opstats_record(s, "invoke", "failed", "code_0", 0.01); /* known: itself */
    json_t *o = snapshot(s);
    json_t *errors =
        json_object_get(json_object_get(json_object_get(o, "by_op"), "invoke"), "errors");
    assert_int_equal(json_object_size(errors), TQ_OPSTATS_MAX_CODES + 1);
    assert_int_equal(code_count(o, "invoke", "code_0"), 2);
    assert_int_equal(code_count(o, "invoke", "_other"), 10);
    json_decref(o);
    tq_opstats_destroy(&s);

    /* An over-long code goes to _other even while there is room. */
    s = tq_opstats_new();
    tq_opstats_record(s, "invoke", "failed", longcode, 0.01);
    o = snapshot(s);
    assert_int_equal(code_count(o, "invoke", "_other"), 1);
    assert_int_equal(json_object_size(json_object_get(
                         json_object_get(json_object_get(o, "by_op"), "invoke"), "errors")),
                     1);
    json_decref(o);
    tq_opstats_destroy(&s);
    tq_opstats_destroy(&s); /* NULL: a no-op */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(outcomes_and_buckets),
        cmocka_unit_test(op_bound),
        cmocka_unit_test(code_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
