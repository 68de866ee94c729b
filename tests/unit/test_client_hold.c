/* test_client_hold.c — libtoolq's batches (tq_client_hold, tq_client_flush)
 * against a real ROUTER standing in for the broker, over ipc in a temporary
 * folder: held submits do not leave before a flush; a flush sends them as
 * ONE ZeroMQ message, one frame per request, in order, each a SUBMIT with
 * its request id; a receive flushes first (so a pipelined client needs no
 * explicit flush); a receive with timeout 0 returns at once when nothing is
 * there; destroy sends what is still held; without hold each request is
 * its own message; with several endpoints and no broker connected, a flush
 * says broker_unreachable, also for requests sent early (256 held). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "msg.h"
#include "toolq/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

typedef struct {
    char dir[64], ep[128];
    void *ctx, *router;
} rig_t;

static int setup(void **state)
{
    rig_t *r = calloc(1, sizeof *r);
    snprintf(r->dir, sizeof r->dir, "/tmp/tq_hold.XXXXXX");
    if (!mkdtemp(r->dir)) return -1;
    snprintf(r->ep, sizeof r->ep, "ipc://%s/broker.sock", r->dir);
    r->ctx = zmq_ctx_new();
    r->router = zmq_socket(r->ctx, ZMQ_ROUTER);
    if (zmq_bind(r->router, r->ep) != 0) return -1;
    *state = r;
    return 0;
}

static int teardown(void **state)
{
    rig_t *r = *state;
    zmq_close(r->router);
    zmq_ctx_term(r->ctx);
    char sock[128];
    snprintf(sock, sizeof sock, "%s/broker.sock", r->dir);
    unlink(sock);
    rmdir(r->dir);
    free(r);
    return 0;
}

/* Receives one ZeroMQ message at the ROUTER within ms; returns its number of
 * frames after the identity (0: none came) and checks each is a SUBMIT with
 * the next request id from *rid. */
static int router_message(rig_t *r, int ms, uint64_t *rid)
{
    zmq_pollitem_t it = {r->router, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, ms) <= 0) return 0;
    zmq_msg_t f;
    zmq_msg_init(&f);
    assert_true(zmq_msg_recv(&f, r->router, 0) >= 0); /* identity */
    int frames = 0;
    while (zmq_msg_more(&f)) {
        zmq_msg_close(&f);
        zmq_msg_init(&f);
        assert_true(zmq_msg_recv(&f, r->router, 0) >= 0);
        tq_msg_t m;
        tq_error_t err = {0};
        assert_int_equal(tq_msg_decode(zmq_msg_data(&f), zmq_msg_size(&f), 1 << 20, &m, &err), 0);
        assert_int_equal(m.type, TQ_MSG_SUBMIT);
        assert_int_equal(m.rid, (*rid)++);
        assert_true(m.batch);
        tq_msg_reset(&m);
        frames++;
    }
    zmq_msg_close(&f);
    return frames;
}

static void submit(tq_client_t *c, int n)
{
    for (int i = 0; i < n; i++)
        assert_true(tq_client_send_submit(c, "t", "ping", "{}", NULL, true) > 0);
}

static void test_flush_sends_one_message(void **state)
{
    rig_t *r = *state;
    tq_client_t *c = tq_client_new(r->ep);
    assert_non_null(c);
    tq_client_hold(c);
    submit(c, 5);
    uint64_t rid = 1;
    assert_int_equal(router_message(r, 200, &rid), 0); /* nothing before the flush */
    assert_int_equal(tq_client_flush(c), 0);
    assert_int_equal(router_message(r, 2000, &rid), 5);
    assert_int_equal(tq_client_flush(c), 0); /* nothing held: nothing sent */
    assert_int_equal(router_message(r, 100, &rid), 0);
    tq_client_destroy(&c);
}

static void test_receive_flushes_first(void **state)
{
    rig_t *r = *state;
    tq_client_t *c = tq_client_new(r->ep);
    tq_client_hold(c);
    submit(c, 3);
    tq_client_event_t ev;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    assert_int_equal(tq_client_recv(c, 0, &ev), TQ_CLIENT_TIMEOUT); /* nothing there: at once */
    clock_gettime(CLOCK_MONOTONIC, &b);
    assert_true((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < 500);
    uint64_t rid = 1;
    assert_int_equal(router_message(r, 2000, &rid), 3);
    submit(c, 2);
    tq_client_destroy(&c); /* destroy sends what is held */
    assert_int_equal(router_message(r, 2000, &rid), 2);
}

static void test_without_hold_each_request_alone(void **state)
{
    rig_t *r = *state;
    tq_client_t *c = tq_client_new(r->ep);
    submit(c, 3);
    uint64_t rid = 1;
    for (int i = 0; i < 3; i++)
        assert_int_equal(router_message(r, 2000, &rid), 1);
    tq_client_destroy(&c);
}

static void test_unreachable_is_reported(void **state)
{
    rig_t *r = *state;
    char eps[300];
    snprintf(eps, sizeof eps, "ipc://%s/none1.sock,ipc://%s/none2.sock", r->dir, r->dir);
    tq_client_t *c = tq_client_new(eps);
    tq_client_hold(c);
    submit(c, 2);
    assert_int_equal(tq_client_flush(c), TQ_CLIENT_TIMEOUT);
    assert_string_equal(tq_client_error_code(c), "broker_unreachable");
    assert_int_equal(tq_client_flush(c), 0); /* told once: nothing held any more */
    submit(c, 300);                          /* the first 256 go (and fail) early */
    assert_int_equal(tq_client_flush(c), TQ_CLIENT_TIMEOUT);
    submit(c, 1);
    tq_client_event_t ev;
    assert_int_equal(tq_client_recv(c, 0, &ev), TQ_CLIENT_TIMEOUT); /* a receive flushes */
    assert_string_equal(tq_client_error_code(c), "broker_unreachable");
    tq_client_destroy(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_flush_sends_one_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_receive_flushes_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_without_hold_each_request_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreachable_is_reported, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
