/* test_outbox.c — per-peer batches (common/outbox.c) over a real ROUTER and
 * two DEALERs on inproc: nothing leaves before the flush; each peer gets its
 * messages as ONE ZeroMQ message of several frames, in the order queued,
 * and only its own; a full batch (TQ_OUTBOX_MAX_FRAMES) goes out early and
 * the rest follows at the flush; a gone ROUTER peer is counted, not fatal;
 * a DEALER outbox sends without an identity; destroy flushes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "outbox.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

typedef struct {
    void *ctx, *router, *a, *b;
} rig_t;

static void *dealer(void *ctx, const char *ident)
{
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    zmq_setsockopt(s, ZMQ_ROUTING_ID, ident, strlen(ident));
    assert_int_equal(zmq_connect(s, "inproc://outbox"), 0);
    return s;
}

static void rig_up(rig_t *r)
{
    r->ctx = zmq_ctx_new();
    r->router = zmq_socket(r->ctx, ZMQ_ROUTER);
    int one = 1;
    zmq_setsockopt(r->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    assert_int_equal(zmq_bind(r->router, "inproc://outbox"), 0);
    r->a = dealer(r->ctx, "peer-a");
    r->b = dealer(r->ctx, "peer-b");
}

static void rig_down(rig_t *r)
{
    int zero = 0;
    void *s[] = {r->router, r->a, r->b};
    for (int i = 0; i < 3; i++) {
        zmq_setsockopt(s[i], ZMQ_LINGER, &zero, sizeof zero);
        zmq_close(s[i]);
    }
    zmq_ctx_term(r->ctx);
}

static void queue(tq_outbox_t *o, const char *ident, uint64_t rid)
{
    tq_msg_t m;
    tq_msg_init(&m, TQ_MSG_RESULT);
    m.rid = rid;
    assert_int_equal(tq_outbox_add(o, ident, ident ? strlen(ident) : 0, &m), 0);
}

/* One ZeroMQ message from s: the rids of its frames, in order; -1 when none
 * is waiting (after a short wait). */
static int recv_batch(void *s, uint64_t *rids, int max)
{
    zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, 200) != 1) return -1;
    int n = 0;
    bool more = true;
    while (more) {
        zmq_msg_t f;
        zmq_msg_init(&f);
        assert_true(zmq_msg_recv(&f, s, 0) >= 0);
        more = zmq_msg_more(&f);
        tq_msg_t m;
        tq_error_t err = {0};
        assert_int_equal(tq_msg_decode(zmq_msg_data(&f), zmq_msg_size(&f), 1 << 20, &m, &err), 0);
        assert_int_equal(m.type, TQ_MSG_RESULT);
        assert_true(n < max);
        rids[n++] = m.rid;
        tq_msg_reset(&m);
        zmq_msg_close(&f);
    }
    return n;
}

static void test_one_message_per_peer_in_order(void **state)
{
    (void)state;
    rig_t r;
    rig_up(&r);
    /* the ROUTER learns the peers' identities from their first message */
    zmq_send(r.a, "hi", 2, 0);
    zmq_send(r.b, "hi", 2, 0);
    char buf[16];
    for (int i = 0; i < 4; i++)
        zmq_recv(r.router, buf, sizeof buf, 0);
    tq_outbox_t *o = tq_outbox_new(r.router, ZMQ_DONTWAIT);
    queue(o, "peer-a", 1);
    queue(o, "peer-b", 10);
    queue(o, "peer-a", 2);
    queue(o, "peer-a", 3);
    queue(o, "peer-b", 11);
    uint64_t rids[8];
    assert_int_equal(recv_batch(r.a, rids, 8), -1); /* nothing before the flush */
    assert_int_equal(tq_outbox_flush(o), 0);
    assert_int_equal(recv_batch(r.a, rids, 8), 3);
    assert_int_equal(rids[0], 1);
    assert_int_equal(rids[1], 2);
    assert_int_equal(rids[2], 3);
    assert_int_equal(recv_batch(r.b, rids, 8), 2);
    assert_int_equal(rids[0], 10);
    assert_int_equal(rids[1], 11);
    assert_int_equal(recv_batch(r.a, rids, 8), -1); /* one message each */
    assert_int_equal(tq_outbox_flush(o), 0);        /* empty: nothing sent */
    assert_int_equal(recv_batch(r.b, rids, 8), -1);
    /* a gone peer is counted; the others still get theirs */
    queue(o, "nobody", 5);
    queue(o, "peer-b", 12);
    assert_int_equal(tq_outbox_flush(o), 1);
    assert_int_equal(recv_batch(r.b, rids, 8), 1);
    assert_int_equal(rids[0], 12);
    tq_outbox_destroy(&o);
    assert_null(o);
    rig_down(&r);
}

static void test_full_batch_goes_early(void **state)
{
    (void)state;
    rig_t r;
    rig_up(&r);
    zmq_send(r.a, "hi", 2, 0);
    char buf[16];
    zmq_recv(r.router, buf, sizeof buf, 0);
    zmq_recv(r.router, buf, sizeof buf, 0);
    tq_outbox_t *o = tq_outbox_new(r.router, ZMQ_DONTWAIT);
    for (uint64_t i = 1; i <= TQ_OUTBOX_MAX_FRAMES + 5; i++)
        queue(o, "peer-a", i);
    static uint64_t rids[TQ_OUTBOX_MAX_FRAMES];
    assert_int_equal(recv_batch(r.a, rids, TQ_OUTBOX_MAX_FRAMES), TQ_OUTBOX_MAX_FRAMES);
    assert_int_equal(rids[0], 1);
    assert_int_equal(rids[TQ_OUTBOX_MAX_FRAMES - 1], TQ_OUTBOX_MAX_FRAMES);
    assert_int_equal(recv_batch(r.a, rids, TQ_OUTBOX_MAX_FRAMES), -1);
    tq_outbox_destroy(&o); /* destroy flushes the rest */
    assert_int_equal(recv_batch(r.a, rids, TQ_OUTBOX_MAX_FRAMES), 5);
    assert_int_equal(rids[0], TQ_OUTBOX_MAX_FRAMES + 1);
    rig_down(&r);
}

static void test_dealer_has_no_identity(void **state)
{
    (void)state;
    rig_t r;
    rig_up(&r);
    tq_outbox_t *o = tq_outbox_new(r.a, 0);
    queue(o, NULL, 7);
    queue(o, NULL, 8);
    tq_outbox_flush(o);
    zmq_msg_t f;
    zmq_msg_init(&f);
    assert_true(zmq_msg_recv(&f, r.router, 0) >= 0); /* the ROUTER adds the identity */
    assert_memory_equal(zmq_msg_data(&f), "peer-a", 6);
    zmq_msg_close(&f);
    uint64_t rids[4];
    assert_int_equal(recv_batch(r.router, rids, 4), 2);
    assert_int_equal(rids[0], 7);
    assert_int_equal(rids[1], 8);
    tq_outbox_destroy(&o);
    rig_down(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_message_per_peer_in_order),
        cmocka_unit_test(test_full_batch_goes_early),
        cmocka_unit_test(test_dealer_has_no_identity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
