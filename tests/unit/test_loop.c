/* test_loop.c — the event loop's timers and watches (common/loop.c):
 * timers fire in due order (ties in creation order), cancel works from any
 * heap position and ignores unknown ids, the turn hook runs once per turn
 * after that turn's callbacks, a watch removed by an earlier callback of the
 * same turn is not called, and tq_loop_stop ends the run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "loop.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

typedef struct {
    int order[64];
    int n;
    int turns;
} trace_t;

static trace_t T;

typedef struct {
    int tag;
} tag_t;

static void note(tq_loop_t *loop, void *arg)
{
    (void)loop;
    T.order[T.n++] = ((tag_t *)arg)->tag;
}

static void stop(tq_loop_t *loop, void *arg)
{
    (void)arg;
    tq_loop_stop(loop);
}

static void turn(tq_loop_t *loop, void *arg)
{
    (void)loop;
    (void)arg;
    T.turns++;
}

static void timer_order(void **state)
{
    (void)state;
    memset(&T, 0, sizeof T);
    tq_loop_t *loop = tq_loop_new();
    tag_t tags[8];
    for (int i = 0; i < 8; i++)
        tags[i].tag = i;
    /* due: 2:30ms 0:10ms 1:10ms 3:0ms 4:-5ms(=0) 5:20ms (cancelled) 6:10ms */
    uint64_t id2 = tq_loop_timer(loop, 30, note, &tags[2]);
    tq_loop_timer(loop, 10, note, &tags[0]);
    tq_loop_timer(loop, 10, note, &tags[1]);
    tq_loop_timer(loop, 0, note, &tags[3]);
    tq_loop_timer(loop, -5, note, &tags[4]);
    uint64_t id5 = tq_loop_timer(loop, 20, note, &tags[5]);
    tq_loop_timer(loop, 10, note, &tags[6]);
    uint64_t last = tq_loop_timer(loop, 60, stop, NULL);
    assert_true(id2 > 0 && id5 > id2 && last > id5);
    tq_loop_cancel(loop, id5);
    tq_loop_cancel(loop, 999999); /* unknown: no-op */
    tq_loop_cancel(loop, id5);    /* twice: no-op */
    int64_t t0 = tq_now_ms();
    assert_int_equal(tq_loop_run(loop), 0);
    assert_true(tq_now_ms() - t0 >= 60);
    int want[] = {3, 4, 0, 1, 6, 2};
    assert_int_equal(T.n, 6);
    for (int i = 0; i < 6; i++)
        assert_int_equal(T.order[i], want[i]);
    tq_loop_destroy(&loop);
    assert_null(loop);
    tq_loop_destroy(&loop); /* NULL: a no-op */
}

/* Many timers, cancelled at random heap positions: the survivors fire in
 * due order and the cancelled never fire. */
static int fired[300];
static int64_t fired_at[300];
static int nfired;

static void record(tq_loop_t *loop, void *arg)
{
    (void)loop;
    int i = (int)(intptr_t)arg;
    fired[nfired] = i;
    fired_at[nfired++] = tq_now_ms();
}

static void cancel_anywhere(void **state)
{
    (void)state;
    srand(3);
    tq_loop_t *loop = tq_loop_new();
    uint64_t ids[300];
    int delay[300], cancelled[300] = {0};
    int64_t t0 = tq_now_ms();
    for (int i = 0; i < 300; i++) {
        delay[i] = rand() % 40;
        ids[i] = tq_loop_timer(loop, delay[i], record, (void *)(intptr_t)i);
    }
    for (int k = 0; k < 100; k++) {
        int i = rand() % 300;
        tq_loop_cancel(loop, ids[i]);
        cancelled[i] = 1;
    }
    bool same_ms = tq_now_ms() == t0; /* all due times then are t0 + delay */
    int alive = 0;
    for (int i = 0; i < 300; i++)
        alive += !cancelled[i];
    tq_loop_timer(loop, 80, stop, NULL);
    nfired = 0;
    assert_int_equal(tq_loop_run(loop), 0);
    assert_int_equal(nfired, alive);
    for (int k = 0; k < nfired; k++) {
        assert_false(cancelled[fired[k]]);
        assert_true(fired_at[k] >= t0 + delay[fired[k]]); /* never early */
        if (k > 0) {
            int a = fired[k - 1], b = fired[k];
            assert_true(fired_at[k] >= fired_at[k - 1]);
            /* created within one ms: due order is delay order, ties by creation */
            if (same_ms) assert_true(delay[a] < delay[b] || (delay[a] == delay[b] && a < b));
        }
    }
    tq_loop_destroy(&loop);
}

/* --- watches and the turn hook --------------------------------------------------- */

static int fds_a[2], fds_b[2];
static int read_a, read_b;

static void on_b(tq_loop_t *loop, int revents, void *arg)
{
    (void)loop;
    (void)arg;
    assert_true(revents & ZMQ_POLLIN);
    char c;
    assert_int_equal(read(fds_b[0], &c, 1), 1);
    read_b++;
}

static void on_a(tq_loop_t *loop, int revents, void *arg)
{
    (void)arg;
    assert_true(revents & ZMQ_POLLIN);
    char c;
    assert_int_equal(read(fds_a[0], &c, 1), 1);
    read_a++;
    /* b is readable in this same turn: removing it now must keep its
     * callback from running with a stale snapshot. */
    tq_loop_remove_fd(loop, fds_b[0]);
}

static void watches_and_turns(void **state)
{
    (void)state;
    memset(&T, 0, sizeof T);
    assert_int_equal(pipe(fds_a), 0);
    assert_int_equal(pipe(fds_b), 0);
    tq_loop_t *loop = tq_loop_new();
    /* b first in the watch list would be called first; add a first. */
    assert_int_equal(tq_loop_add_fd(loop, fds_a[0], ZMQ_POLLIN, on_a, NULL), 0);
    assert_int_equal(tq_loop_add_fd(loop, fds_b[0], ZMQ_POLLIN, on_b, NULL), 0);
    /* adding the same fd again replaces its events and callback, not a 2nd watch */
    assert_int_equal(tq_loop_add_fd(loop, fds_a[0], ZMQ_POLLIN, on_a, NULL), 0);
    tq_loop_on_turn(loop, turn, NULL);
    assert_int_equal(write(fds_a[1], "x", 1), 1);
    assert_int_equal(write(fds_b[1], "y", 1), 1);
    tq_loop_timer(loop, 50, stop, NULL);
    assert_int_equal(tq_loop_run(loop), 0);
    assert_int_equal(read_a, 1);
    assert_int_equal(read_b, 0);
    /* turns: the one with the pipe, then the one with the stop timer (the
     * hook does not run after tq_loop_stop) — never one per callback */
    assert_true(T.turns >= 1 && T.turns <= 3);
    /* running again after stop works; the removed watch stays removed */
    tq_loop_remove_fd(loop, fds_a[0]);
    tq_loop_timer(loop, 1, stop, NULL);
    assert_int_equal(tq_loop_run(loop), 0);
    assert_int_equal(read_b, 0);
    for (int i = 0; i < 2; i++) {
        close(fds_a[i]);
        close(fds_b[i]);
    }
    tq_loop_destroy(&loop);
}

static void clocks(void **state)
{
    (void)state;
    int64_t a = tq_now_us(), b = tq_now_us();
    assert_true(b >= a);
    usleep(2000);
    assert_true(tq_now_ms() - a / 1000 >= 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(timer_order),
        cmocka_unit_test(cancel_anywhere),
        cmocka_unit_test(watches_and_turns),
        cmocka_unit_test(clocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
