/* test_errcodes.c — the error-code registry (common/errcodes.txt ->
 * errcodes.h) as common/error.h reads it: every registered code is found
 * with its own class, retry and exit values; families match by prefix;
 * unregistered codes are not retryable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "error.h"

#include <string.h>

/* Every row is found again by its own code: the table the generator writes
 * is sorted the way the lookup's binary search needs. */
static void every_code_is_found(void **state)
{
    (void)state;
    int n = 0;
#define X(code, cls, retryable, exit_code)                                                         \
    if (code[strlen(code) - 1] != '*') {                                                           \
        assert_string_equal(tq_error_class(code), cls);                                            \
        assert_int_equal(tq_error_retryable(code), retryable);                                     \
        assert_int_equal(tq_error_exit_code(code), exit_code);                                     \
        n++;                                                                                       \
    }
    TQ_ERRCODES(X)
#undef X
    assert_true(n > 90);
}

static void retry_classes(void **state)
{
    (void)state;
    /* The retry decisions the ops used to spell out with strcmp. */
    assert_true(tq_error_retryable(TQ_E_DB_UNAVAILABLE));
    assert_true(tq_error_retryable("vault_no_key"));
    assert_true(tq_error_retryable("timeout"));
    assert_true(tq_error_retryable("connect_failed"));
    assert_true(tq_error_retryable("network_error"));
    assert_true(tq_error_retryable("dns_failed"));
    assert_false(tq_error_retryable("db_error"));
    assert_false(tq_error_retryable("invalid_argument"));
    assert_false(tq_error_retryable("credential_not_found"));
    assert_false(tq_error_retryable("ssrf_blocked"));
    assert_false(tq_error_retryable("tls_error"));
    /* One name for bad arguments. */
    assert_string_equal(TQ_E_INVALID_ARGUMENT, "invalid_argument");
    assert_null(tq_error_class("invalid_arguments"));
}

static void families_and_strangers(void **state)
{
    (void)state;
    /* An OAuth server's own error, prefixed: the oauth_* family. */
    assert_string_equal(tq_error_class("oauth_slow_down_please"), "upstream");
    assert_false(tq_error_retryable("oauth_slow_down_please"));
    /* A listed member of the family keeps its own row. */
    assert_true(tq_error_retryable("oauth_temporarily_unavailable"));
    assert_string_equal(tq_error_class("oauth_state_used"), "security");
    /* Not registered: no class, not retryable, exit 1. */
    assert_null(tq_error_class("no_such_code"));
    assert_false(tq_error_retryable("no_such_code"));
    assert_int_equal(tq_error_exit_code("no_such_code"), 1);
    assert_null(tq_error_class(NULL));
    assert_false(tq_error_retryable(NULL));
    assert_null(tq_error_class(""));
    /* Exit statuses of the toolq command. */
    assert_int_equal(tq_error_exit_code("broker_unreachable"), 3);
    assert_int_equal(tq_error_exit_code("usage"), 2);
    assert_int_equal(tq_error_exit_code("provider_not_found"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_code_is_found),
        cmocka_unit_test(retry_classes),
        cmocka_unit_test(families_and_strangers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
