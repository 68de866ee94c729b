/* test_rng.c — the per-thread pools of common/rng.c: draws never repeat
 * within a pool and across refills; a forked child does not serve the bytes
 * its parent's pool still holds (the parent and the child each draw once
 * after the fork: the two must differ); four threads drawing at once never
 * get the same bytes (a shared pool without a lock would hand some out
 * twice); large draws bypass the pool. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rng.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define DRAW 12    /* an AES-GCM nonce */
#define DRAWS 5000 /* about 15 pools of 4 KiB */

static int cmp_draw(const void *a, const void *b)
{
    return memcmp(a, b, DRAW);
}

static void test_no_repeats_across_refills(void **state)
{
    (void)state;
    unsigned char(*d)[DRAW] = calloc(DRAWS, DRAW);
    for (int i = 0; i < DRAWS; i++)
        tq_rng_public(d[i], DRAW);
    qsort(d, DRAWS, DRAW, cmp_draw);
    for (int i = 1; i < DRAWS; i++)
        assert_true(memcmp(d[i - 1], d[i], DRAW) != 0);
    free(d);
}

static void test_child_does_not_reuse_the_parents_pool(void **state)
{
    (void)state;
    unsigned char warm[DRAW], mine[DRAW], childs[DRAW];
    tq_rng_public(warm, DRAW); /* the pool now holds bytes the parent will serve next */
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        unsigned char c[DRAW];
        tq_rng_public(c, DRAW);
        _exit(write(fd[1], c, DRAW) == DRAW ? 0 : 1);
    }
    tq_rng_public(mine, DRAW);
    assert_int_equal(read(fd[0], childs, DRAW), DRAW);
    int st = 0;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    close(fd[0]);
    close(fd[1]);
    assert_true(memcmp(mine, childs, DRAW) != 0);
}

#define THREADS 4

static void *draw_in_thread(void *arg)
{
    unsigned char(*d)[DRAW] = arg;
    for (int i = 0; i < DRAWS; i++)
        tq_rng_public(d[i], DRAW);
    return NULL;
}

static void test_threads_never_share_bytes(void **state)
{
    (void)state;
    unsigned char(*d)[DRAW] = calloc((size_t)THREADS * DRAWS, DRAW);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, draw_in_thread, d + (size_t)i * DRAWS), 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    qsort(d, (size_t)THREADS * DRAWS, DRAW, cmp_draw);
    for (int i = 1; i < THREADS * DRAWS; i++)
        assert_true(memcmp(d[i - 1], d[i], DRAW) != 0);
    free(d);
}

static void test_large_draws(void **state)
{
    (void)state;
    static unsigned char a[8192], b[8192], zero[8192];
    tq_rng_public(a, sizeof a);
    tq_rng_public(b, sizeof b);
    assert_true(memcmp(a, b, sizeof a) != 0);
    assert_true(memcmp(a, zero, sizeof a) != 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_repeats_across_refills),
        cmocka_unit_test(test_child_does_not_reuse_the_parents_pool),
        cmocka_unit_test(test_threads_never_share_bytes),
        cmocka_unit_test(test_large_draws),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
