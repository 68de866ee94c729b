/* test_opcat.c — the op catalogue (common/ops.def): lookups, roles are
 * tenant or operator, and the system ops the review named (F1, F11) are
 * operator-only. (That every entry has a worker handler of the same name is
 * checked when toolq-worker links and starts: worker/ops.c.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "opcat.h"

static void test_catalogue_lookups(void **state)
{
    (void)state;
    size_t n = 0;
    const tq_opinfo_t *all = tq_opcat_all(&n);
    assert_true(n > 20);
    for (size_t i = 0; i < n; i++) {
        assert_true(all[i].role == TQ_ROLE_TENANT || all[i].role == TQ_ROLE_OPERATOR);
        assert_ptr_equal(tq_opcat_find(all[i].name), &all[i]);
    }
    assert_null(tq_opcat_find("nosuch.op"));
    assert_null(tq_opcat_find(NULL));
}

static void test_system_ops_are_operator_only(void **state)
{
    (void)state;
    const char *system[] = {TQ_OP_oauth_system_client_set, TQ_OP_oauth_system_client_show,
                            TQ_OP_oauth_system_client_delete, TQ_OP_refresh_sweep};
    for (size_t i = 0; i < sizeof system / sizeof system[0]; i++)
        assert_int_equal(tq_opcat_find(system[i])->role, TQ_ROLE_OPERATOR);
    assert_int_equal(tq_opcat_find(TQ_OP_ping)->role, TQ_ROLE_TENANT);
    assert_true(tq_opcat_find(TQ_OP_test_crash)->flags & TQ_OPF_TEST);
    assert_string_equal(TQ_OP_refresh_sweep, "refresh.sweep");
}

static void test_role_names_round_trip(void **state)
{
    (void)state;
    tq_role_t named[] = {TQ_ROLE_TENANT, TQ_ROLE_INTEGRATOR, TQ_ROLE_OPERATOR};
    for (size_t i = 0; i < sizeof named / sizeof *named; i++)
        assert_int_equal(tq_role_parse(tq_role_name(named[i])), named[i]);
    assert_int_equal(tq_role_parse("broker"), TQ_ROLE_NONE); /* never named by a key */
    assert_int_equal(tq_role_parse("Operator"), TQ_ROLE_NONE);
    assert_int_equal(tq_role_parse(""), TQ_ROLE_NONE);
    assert_int_equal(tq_role_parse(NULL), TQ_ROLE_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_catalogue_lookups),
        cmocka_unit_test(test_system_ops_are_operator_only),
        cmocka_unit_test(test_role_names_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
