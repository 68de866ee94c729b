/* rng.c — per-thread pools of kernel randomness for public values (rng.h).
 * Owns the pools. Must never: serve a byte twice (bytes are taken from the
 * pool's end and the pool only shrinks until refilled; a forked child empties
 * the pool it inherited, pthread_atfork), or be used for secrets. */
#include "rng.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define POOL_BYTES 4096 /* 341 nonces or 409 job ids per system call */

static _Thread_local struct {
    unsigned char b[POOL_BYTES];
    size_t left; /* the bytes not yet served: b[0 .. left) */
} pool;

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* In a child, only the forking thread exists, and its pool is a copy of the
 * parent's: the parent may still serve those bytes. */
static void child_empty(void)
{
    pool.left = 0;
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, child_empty);
}

static void kernel_random(unsigned char *out, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(out + got, n - got, 0);
        if (r > 0) {
            got += (size_t)r;
        } else if (r < 0 && errno != EINTR) {
            fprintf(stderr, "toolq: getrandom failed: %s\n", strerror(errno));
            abort(); /* no safe value can be made without it */
        }
    }
}

void tq_rng_public(void *out, size_t n)
{
    pthread_once(&atfork_once, register_atfork);
    if (n > POOL_BYTES / 4) {
        kernel_random(out, n);
        return;
    }
    if (pool.left < n) {
        kernel_random(pool.b, POOL_BYTES);
        pool.left = POOL_BYTES;
    }
    pool.left -= n;
    memcpy(out, pool.b + pool.left, n);
}
