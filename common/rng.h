/* rng.h — random bytes for values that are public once used: job ids
 * (UUIDv7), AES-GCM nonces, retry jitter and multipart boundaries. Drawn from the kernel
 * (getrandom) a pool at a time, per thread, so a busy process makes one system call per few hundred
 * values instead of one (or, through OpenSSL, two) per value. Secrets (keys, tokens, OAuth state)
 * come from RAND_bytes, not from here. */
#ifndef TQ_RNG_H
#define TQ_RNG_H

#include <stddef.h>

/* Fills out with n fresh random bytes; never hands out a byte twice, also
 * across fork (a child starts with an empty pool). Thread-safe (one pool
 * per thread). Aborts only when the kernel refuses randomness. */
void tq_rng_public(void *out, size_t n);

#endif
