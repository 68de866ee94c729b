/* test_ids.c — identifiers (common/ids.c): UUIDv7 job ids have the
 * canonical format, version 7 and the RFC 9562 variant, carry the current
 * unix time in ms, and are strictly increasing within a process even when
 * many are made in one millisecond; tenant names map to a stable UUIDv5 and
 * uuids to their lower-case form; bad tenants are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ids.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static void v7_format(void **state)
{
    (void)state;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t before = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    char id[TQ_UUID_STR_LEN + 1];
    tq_uuid_v7(id);
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t after = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    assert_int_equal(strlen(id), 36);
    assert_true(tq_uuid_valid(id));
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            assert_int_equal(id[i], '-');
        else
            assert_true(hexval(id[i]) >= 0); /* lower-case hex only */
    }
    assert_int_equal(id[14], '7');               /* version */
    assert_true(strchr("89ab", id[19]) != NULL); /* variant 10xx */
    uint64_t ms = 0;                             /* 48-bit unix ms */
    for (int i = 0; i < 13; i++)
        if (id[i] != '-') ms = ms * 16 + (uint64_t)hexval(id[i]);
    assert_true(ms >= before && ms <= after);
}

/* Job ids sort in creation order: the journal and people rely on it. Many
 * ids per millisecond must still increase strictly. */
static void v7_monotonic(void **state)
{
    (void)state;
    enum { N = 100000 };
    char prev[TQ_UUID_STR_LEN + 1], id[TQ_UUID_STR_LEN + 1];
    tq_uuid_v7(prev);
    for (int i = 0; i < N; i++) {
        tq_uuid_v7(id);
        if (strcmp(prev, id) >= 0) fail_msg("id %d: %s is not after %s", i, id, prev);
        assert_int_equal(id[14], '7');
        assert_true(strchr("89ab", id[19]) != NULL);
        memcpy(prev, id, sizeof id);
    }
}

static void v7_random(void **state)
{
    (void)state;
    /* Two processes' ids do not collide: the low bits are random, not a
     * plain counter from zero. Compare the random tails of ids from one ms. */
    char a[TQ_UUID_STR_LEN + 1], b[TQ_UUID_STR_LEN + 1];
    tq_uuid_v7(a);
    tq_uuid_v7(b);
    assert_string_not_equal(a, b);
    int nonzero = 0;
    for (int i = 24; i < 36; i++)
        nonzero += a[i] != '0';
    assert_true(nonzero > 3);
}

static void valid(void **state)
{
    (void)state;
    assert_true(tq_uuid_valid("01a21b41-5064-7497-8e0c-ca9e4c65e00a"));
    assert_true(tq_uuid_valid("01A21B41-5064-7497-8E0C-CA9E4C65E00A"));
    assert_false(tq_uuid_valid(NULL));
    assert_false(tq_uuid_valid(""));
    assert_false(tq_uuid_valid("01a21b41-5064-7497-8e0c-ca9e4c65e00"));   /* short */
    assert_false(tq_uuid_valid("01a21b41-5064-7497-8e0c-ca9e4c65e00ab")); /* long */
    assert_false(tq_uuid_valid("01a21b41x5064-7497-8e0c-ca9e4c65e00a"));  /* dash */
    assert_false(tq_uuid_valid("01a21b41-5064-7497-8e0c-ca9e4c65e00g"));  /* hex */
}

static void tenants(void **state)
{
    (void)state;
    char a[TQ_UUID_STR_LEN + 1], b[TQ_UUID_STR_LEN + 1];
    assert_int_equal(tq_tenant_uuid("acme", a), 0);
    assert_int_equal(tq_tenant_uuid("acme", b), 0);
    assert_string_equal(a, b); /* stable */
    assert_true(tq_uuid_valid(a));
    assert_int_equal(a[14], '5'); /* UUIDv5 */
    assert_true(strchr("89ab", a[19]) != NULL);
    /* A fixed value: the mapping must never change (stored tenant ids). */
    assert_string_equal(a, "0e6b13e6-360e-5ec0-bb7e-48c24c0335c6"); /* python3 uuid.uuid5 agrees */
    assert_int_equal(tq_tenant_uuid("Acme", b), 0);
    assert_string_not_equal(a, b); /* names are case-sensitive */
    /* A uuid is its own tenant id, lower-cased. */
    assert_int_equal(tq_tenant_uuid("01A21B41-5064-7497-8E0C-CA9E4C65E00A", b), 0);
    assert_string_equal(b, "01a21b41-5064-7497-8e0c-ca9e4c65e00a");
    assert_int_equal(tq_tenant_uuid(b, a), 0);
    assert_string_equal(a, b);
    char big[300];
    memset(big, 'x', sizeof big);
    big[255] = '\0';
    assert_int_equal(tq_tenant_uuid(big, a), 0);
    big[255] = 'x';
    big[256] = '\0';
    assert_int_equal(tq_tenant_uuid(big, a), -1);
    assert_int_equal(tq_tenant_uuid("", a), -1);
    assert_int_equal(tq_tenant_uuid(NULL, a), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(v7_format), cmocka_unit_test(v7_monotonic), cmocka_unit_test(v7_random),
        cmocka_unit_test(valid),     cmocka_unit_test(tenants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
