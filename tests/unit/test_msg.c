/* test_msg.c — wire protocol: every field round-trips; malformed, truncated,
 * oversized and hostile frames are refused with their error code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "msg.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define MAX (1u << 20)

static void round_trip(void **state)
{
    (void)state;
    tq_msg_t m;
    tq_msg_init(&m, TQ_MSG_SUBMIT);
    m.rid = 1234567890123ull;
    snprintf(m.id, sizeof m.id, "01a21b41-5064-7497-8e0c-ca9e4c65e00a");
    tq_msg_set(&m.tenant, "acme");
    tq_msg_set(&m.op, "provider.import");
    tq_msg_set(&m.ikey, "key-1");
    tq_msg_setn(&m.payload, &m.payload_len, "{\"a\":\"\\u0000\"}", 14);
    tq_msg_set(&m.result, "[1,2]");
    tq_msg_set(&m.state, "succeeded");
    tq_msg_set(&m.err_code, "x");
    tq_msg_set(&m.err_msg, "y");
    m.max_attempts = 5;
    m.timeout_ms = -1;
    m.priority = -7;
    m.attempt = 3;
    m.credit = 128;
    m.pid = 4242;
    m.retryable = m.dup = m.wait = m.ok = true;
    unsigned char *buf;
    size_t n;
    assert_int_equal(tq_msg_encode(&m, &buf, &n), 0);
    tq_msg_t d;
    tq_error_t err = {0};
    assert_int_equal(tq_msg_decode(buf, n, MAX, &d, &err), 0);
    assert_int_equal(d.type, TQ_MSG_SUBMIT);
    assert_int_equal(d.version, TQ_WIRE_VERSION);
    assert_true(d.rid == m.rid);
    assert_string_equal(d.id, m.id);
    assert_string_equal(d.tenant, "acme");
    assert_string_equal(d.op, "provider.import");
    assert_string_equal(d.ikey, "key-1");
    assert_int_equal(d.payload_len, 14);
    assert_memory_equal(d.payload, m.payload, 14);
    assert_string_equal(d.result, "[1,2]");
    assert_string_equal(d.state, "succeeded");
    assert_int_equal(d.max_attempts, 5);
    assert_int_equal(d.timeout_ms, -1);
    assert_int_equal(d.priority, -7);
    assert_int_equal(d.attempt, 3);
    assert_int_equal(d.credit, 128);
    assert_int_equal(d.pid, 4242);
    assert_true(d.retryable && d.dup && d.wait && d.ok);
    tq_msg_reset(&d);
    /* every truncation is refused, never read past */
    for (size_t cut = 0; cut < n; cut++) {
        tq_msg_t t;
        assert_int_equal(tq_msg_decode(buf, cut, MAX, &t, &err), -1);
        assert_string_equal(err.code, "malformed_frame");
    }
    /* the size bound */
    assert_int_equal(tq_msg_decode(buf, n, n - 1, &d, &err), -1);
    assert_string_equal(err.code, "frame_too_large");
    free(buf);
    tq_msg_reset(&m);
}

static int decode_bytes(const void *p, size_t n, tq_error_t *err)
{
    tq_msg_t m;
    int rc = tq_msg_decode(p, n, MAX, &m, err);
    if (rc == 0) tq_msg_reset(&m);
    return rc;
}

static void hostile(void **state)
{
    (void)state;
    tq_error_t err;
    static const unsigned char map_bomb[] = {0xdf, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(decode_bytes(map_bomb, sizeof map_bomb, &err), -1);
    assert_string_equal(err.code, "malformed_frame");
    static const unsigned char str_bomb[] = {0x81, 0xa1, 'o', 0xdb, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(decode_bytes(str_bomb, sizeof str_bomb, &err), -1);
    static const unsigned char nested[] = {0x81, 0xa1, 'v', 0x81, 0xa1, 'v', 0x01};
    assert_int_equal(decode_bytes(nested, sizeof nested, &err), -1);
    static const unsigned char array[] = {0x92, 0x01, 0x02};
    assert_int_equal(decode_bytes(array, sizeof array, &err), -1);
    static const unsigned char trailing[] = {0x82, 0xa1, 'v', 0x01, 0xa1, 't', 0x01, 0x00};
    assert_int_equal(decode_bytes(trailing, sizeof trailing, &err), -1);
    static const unsigned char version[] = {0x82, 0xa1, 'v', 0x02, 0xa1, 't', 0x01};
    assert_int_equal(decode_bytes(version, sizeof version, &err), -1);
    assert_string_equal(err.code, "unsupported_version");
    static const unsigned char type[] = {0x82, 0xa1, 'v', 0x01, 0xa1, 't', 0x63};
    assert_int_equal(decode_bytes(type, sizeof type, &err), -1);
    assert_string_equal(err.code, "unknown_type");
    static const unsigned char wrong[] = {0x82, 0xa1, 'v', 0x01, 0xa1, 't', 0xa1, 'x'};
    assert_int_equal(decode_bytes(wrong, sizeof wrong, &err), -1);
    assert_string_equal(err.code, "malformed_frame");
    static const unsigned char ok_unknown_key[] = {0x83, 0xa1, 'v', 0x01, 0xa1, 't',
                                                   0x16, 0xa2, 'z', 'z',  0x05};
    assert_int_equal(decode_bytes(ok_unknown_key, sizeof ok_unknown_key, &err), 0);
    /* a tenant with an embedded NUL is refused (payloads may carry any bytes) */
    static const unsigned char nul[] = {0x83, 0xa1, 'v', 0x01, 0xa1, 't',  0x01,
                                        0xa2, 't',  'n', 0xa3, 'a',  0x00, 'b'};
    assert_int_equal(decode_bytes(nul, sizeof nul, &err), -1);
    /* a too-long tenant */
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    msgpack_pack_str_with_body(&pk, "v", 1);
    msgpack_pack_int(&pk, 1);
    msgpack_pack_str_with_body(&pk, "t", 1);
    msgpack_pack_int(&pk, 1);
    msgpack_pack_str_with_body(&pk, "tn", 2);
    char longs[300];
    memset(longs, 'a', sizeof longs);
    msgpack_pack_str_with_body(&pk, longs, sizeof longs);
    assert_int_equal(decode_bytes(sb.data, sb.size, &err), -1);
    assert_non_null(strstr(err.message, "tn"));
    msgpack_sbuffer_destroy(&sb);
    assert_int_equal(decode_bytes("", 0, &err), -1);
    /* a tenant that is not UTF-8 is refused; an error message is made safe */
    static const unsigned char bad_tenant[] = {0x83, 0xa1, 'v', 0x01, 0xa1, 't',  0x01,
                                               0xa2, 't',  'n', 0xa3, 'a',  0xff, 0xfe};
    assert_int_equal(decode_bytes(bad_tenant, sizeof bad_tenant, &err), -1);
    assert_non_null(strstr(err.message, "UTF-8"));
    static const unsigned char bad_msg[] = {0x83, 0xa1, 'v',  0x01, 0xa1, 't', 0x0b, 0xa2,
                                            'e',  'm',  0xa5, 'b',  0xc3, 'x', 0xed, 0xa0};
    tq_msg_t m;
    assert_int_equal(tq_msg_decode(bad_msg, sizeof bad_msg, MAX, &m, &err), 0);
    assert_string_equal(m.err_msg, "b?x??");
    tq_msg_reset(&m);
}

static void random_frames(void **state)
{
    (void)state;
    unsigned char buf[256];
    srand(42);
    for (int i = 0; i < 200000; i++) {
        size_t n = 1 + (size_t)rand() % sizeof buf;
        for (size_t k = 0; k < n; k++)
            buf[k] = (unsigned char)rand();
        if (i % 2) buf[0] = (unsigned char)(0x80 | (buf[0] & 0x0f));
        tq_error_t err;
        decode_bytes(buf, n, &err); /* must not crash or leak */
    }
}

static int decode_big(const void *p, size_t n, tq_error_t *err)
{
    tq_msg_t m;
    int rc = tq_msg_decode(p, n, 16777216, &m, err); /* broker.max_frame_bytes default */
    if (rc == 0) tq_msg_reset(&m);
    return rc;
}

static long peak_rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* Review F9: a 16 MiB map32 frame of 8.4 M one-byte pairs made msgpack-c
 * allocate ~400 MiB before the decoder refused it. The pre-scan now refuses
 * more than TQ_WIRE_MAX_KEYS entries and non-string keys before any
 * allocation: the peak RSS must not grow by 50 MiB (time is printed, not
 * asserted). */
static void amplification(void **state)
{
    (void)state;
    size_t pairs = (16777216 - 5) / 2, n = 5 + 2 * pairs;
    unsigned char *f = malloc(n);
    assert_non_null(f);
    f[0] = 0xdf;
    f[1] = (unsigned char)(pairs >> 24);
    f[2] = (unsigned char)(pairs >> 16);
    f[3] = (unsigned char)(pairs >> 8);
    f[4] = (unsigned char)pairs;
    memset(f + 5, 1, 2 * pairs);
    long before = peak_rss_kib();
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    tq_error_t err = {0};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(decode_big(f, n, &err), -1);
        assert_string_equal(err.code, "malformed_frame");
    }
    /* string keys, still far too many entries */
    for (size_t i = 0; i < pairs; i++)
        f[5 + 2 * i] = 0xa0; /* "" */
    assert_int_equal(decode_big(f, n, &err), -1);
    assert_string_equal(err.code, "malformed_frame");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long grown = peak_rss_kib() - before;
    print_message("4 hostile 16 MiB frames: peak RSS +%ld KiB, %.1f ms\n", grown,
                  (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    assert_true(grown < 50 * 1024);
    free(f);

    /* the bound itself: 64 string keys pass, 65 do not; an integer key never */
    msgpack_sbuffer sb;
    msgpack_packer pk;
    for (int keys = TQ_WIRE_MAX_KEYS; keys <= TQ_WIRE_MAX_KEYS + 1; keys++) {
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, (size_t)keys);
        msgpack_pack_str_with_body(&pk, "v", 1);
        msgpack_pack_int(&pk, 1);
        msgpack_pack_str_with_body(&pk, "t", 1);
        msgpack_pack_int(&pk, TQ_MSG_HEARTBEAT);
        for (int k = 2; k < keys; k++) {
            char name[8];
            snprintf(name, sizeof name, "x%d", k);
            msgpack_pack_str_with_body(&pk, name, strlen(name));
            msgpack_pack_int(&pk, k);
        }
        assert_int_equal(decode_bytes(sb.data, sb.size, &err), keys <= TQ_WIRE_MAX_KEYS ? 0 : -1);
        msgpack_sbuffer_destroy(&sb);
    }
    static const unsigned char int_key[] = {0x83, 0xa1, 'v', 0x01, 0xa1, 't', 0x16, 0x07, 0x05};
    assert_int_equal(decode_bytes(int_key, sizeof int_key, &err), -1);
    assert_string_equal(err.code, "malformed_frame");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),
        cmocka_unit_test(hostile),
        cmocka_unit_test(random_frames),
        cmocka_unit_test(amplification),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
