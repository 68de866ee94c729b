/* test_buf.c — the one growable buffer (common/buf.c): adds and printf keep
 * the data NUL-terminated across growth; a capped buffer drops the add that
 * would pass its max, says so (too_large, sticky) and keeps what it had; a
 * secret buffer grows and frees like any other; take hands over "" for an
 * empty buffer; percent-encoding and base64 round-trip. And the plugin-side
 * twin (include/toolq/plugin_buf.h) keeps its content across growth and
 * wipes to empty. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "buf.h"
#include "toolq/plugin_buf.h"

#include <stdlib.h>
#include <string.h>

static void grows(void **state)
{
    (void)state;
    tq_buf_t b = {0};
    for (int i = 0; i < 1000; i++)
        tq_buf_addf(&b, "%03d,", i);
    assert_int_equal(b.len, 4000);
    assert_int_equal(strlen(b.data), 4000);
    assert_memory_equal(b.data + 3996, "999,", 4);
    tq_buf_addc(&b, 'x');
    tq_buf_adds(&b, "yz");
    assert_string_equal(b.data + 4000, "xyz");
    assert_false(b.too_large);
    tq_buf_free(&b);
    assert_null(b.data);
    char *empty = tq_buf_take(&b);
    assert_string_equal(empty, "");
    free(empty);
}

static void capped(void **state)
{
    (void)state;
    tq_buf_t b = {.max = 10};
    tq_buf_adds(&b, "0123456789"); /* exactly max: fits */
    assert_false(b.too_large);
    tq_buf_addc(&b, 'a'); /* one over: dropped */
    assert_true(b.too_large);
    assert_int_equal(b.len, 10);
    assert_string_equal(b.data, "0123456789");
    tq_buf_free(&b);

    tq_buf_t f = {.max = 8};
    tq_buf_addf(&f, "%s", "123456789");
    assert_true(f.too_large);
    assert_int_equal(f.len, 0);
    tq_buf_free(&f);

    tq_buf_t p = {.max = 5};
    tq_buf_pct(&p, "a b", 3, NULL); /* worst case 9 bytes > 5 */
    assert_true(p.too_large);
    tq_buf_free(&p);
}

/* tq_secure_wipe is wrapped for this test (tests/CMakeLists.txt links it with
 * --wrap): every wipe is counted before the real one runs. */
void __real_tq_secure_wipe(void *p, size_t n);
static int s_wipes;
static size_t s_wiped_bytes;
void __wrap_tq_secure_wipe(void *p, size_t n)
{
    s_wipes++;
    s_wiped_bytes = n;
    __real_tq_secure_wipe(p, n);
}

static void secret(void **state)
{
    (void)state;
    s_wipes = 0;
    tq_buf_t b = {.secret = true};
    for (int i = 0; i < 100; i++)
        tq_buf_adds(&b, "s3cr3t-");
    assert_int_equal(b.len, 700);
    assert_memory_equal(b.data + 693, "s3cr3t-", 7);
    assert_true(s_wipes >= 1); /* growth moved the secret: the old block was wiped */
    int grown = s_wipes;
    size_t cap = b.cap;
    tq_buf_free(&b);
    assert_null(b.data);
    assert_int_equal(s_wipes, grown + 1); /* free wipes a secret buffer ... */
    assert_int_equal(s_wiped_bytes, cap); /* ... all of it */

    s_wipes = 0;
    tq_buf_t plain = {0};
    for (int i = 0; i < 100; i++)
        tq_buf_adds(&plain, "public-");
    tq_buf_free(&plain);
    assert_int_equal(s_wipes, 0); /* an ordinary buffer is never wiped */

    tq_buf_t w = {0};
    tq_buf_adds(&w, "token");
    cap = w.cap;
    tq_buf_wipe(&w);
    assert_null(w.data);
    assert_int_equal(w.len, 0);
    assert_int_equal(s_wipes, 1); /* tq_buf_wipe wipes whatever the flag */
    assert_int_equal(s_wiped_bytes, cap);
}

static void encoders(void **state)
{
    (void)state;
    tq_buf_t b = {0};
    tq_buf_pct(&b, "a b/c~", 6, NULL);
    assert_string_equal(b.data, "a%20b%2Fc~");
    tq_buf_free(&b);
    tq_buf_pct(&b, "a,b/c", 5, ",");
    assert_string_equal(b.data, "a,b%2Fc");
    tq_buf_free(&b);
    char *e = tq_base64_encode((const unsigned char *)"hello", 5);
    assert_string_equal(e, "aGVsbG8=");
    unsigned char *d = NULL;
    size_t n = 0;
    assert_int_equal(tq_base64_decode(e, &d, &n), 0);
    assert_int_equal(n, 5);
    assert_memory_equal(d, "hello", 5);
    free(e);
    free(d);
    assert_int_equal(tq_base64_decode("a$==", &d, &n), -1);
}

static void plugin_twin(void **state)
{
    (void)state;
    tq_plugin_buf_t b = {0};
    for (int i = 0; i < 100; i++)
        tq_plugin_buf_adds(&b, "0123456789");
    assert_int_equal(b.len, 1000);
    assert_int_equal(strlen(b.data), 1000);
    assert_false(b.oom);
    tq_plugin_buf_wipe(&b);
    assert_null(b.data);
    assert_int_equal(b.len + b.cap, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(grows),    cmocka_unit_test(capped),      cmocka_unit_test(secret),
        cmocka_unit_test(encoders), cmocka_unit_test(plugin_twin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
