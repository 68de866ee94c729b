/* ids.c — UUIDv7 job ids and tenant uuids (see ids.h). Owns the last id it
 * made (ids increase strictly within a process). Randomness comes from
 * the kernel through rng.c's pool; never from rand(). */
#include "ids.h"

#include "rng.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static void format_uuid(const unsigned char b[16], char out[TQ_UUID_STR_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    int o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[o] = '\0';
}

/* Adds one to the 74 random bits of a UUIDv7 (rand_a: the low nibble of
 * b[6] and b[7]; rand_b: the low 6 bits of b[8] and b[9..15]), keeping the
 * version and variant bits. Returns false when they were all ones. */
static bool bump_random(unsigned char b[16])
{
    for (int i = 15; i >= 9; i--)
        if (++b[i] != 0) return true;
    if ((b[8] & 0x3f) != 0x3f) {
        b[8]++;
        return true;
    }
    b[8] &= 0xc0;
    if (++b[7] != 0) return true;
    if ((b[6] & 0x0f) != 0x0f) {
        b[6]++;
        return true;
    }
    b[6] &= 0xf0;
    return false;
}

static void put_ms(unsigned char b[16], uint64_t ms)
{
    for (int i = 0; i < 6; i++)
        b[i] = (unsigned char)(ms >> (40 - 8 * i));
}

void tq_uuid_v7(char out[TQ_UUID_STR_LEN + 1])
{
    /* Strictly increasing within the process (RFC 9562 6.2, method 2): in
     * the same millisecond as the last id, or when the clock stepped back,
     * the last id's random bits plus one, under the last id's time. */
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static unsigned char last[16];
    static uint64_t last_ms;
    unsigned char b[16];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    tq_rng_public(b + 6, 10);
    b[6] = (unsigned char)(0x70 | (b[6] & 0x0f));
    b[8] = (unsigned char)(0x80 | (b[8] & 0x3f));
    pthread_mutex_lock(&lock);
    if (last_ms && ms <= last_ms) {
        memcpy(b, last, sizeof b);
        if (!bump_random(b)) put_ms(b, ++last_ms); /* 2^74 ids in one ms: borrow the next */
    } else {
        last_ms = ms;
        put_ms(b, ms);
    }
    memcpy(last, b, sizeof last);
    pthread_mutex_unlock(&lock);
    format_uuid(b, out);
}

bool tq_uuid_valid(const char *s)
{
    if (!s || strlen(s) != TQ_UUID_STR_LEN) return false;
    for (int i = 0; i < TQ_UUID_STR_LEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') return false;
        } else if (!isxdigit((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

int tq_tenant_uuid(const char *tenant, char out[TQ_UUID_STR_LEN + 1])
{
    if (!tenant || !*tenant || strlen(tenant) > 255) return -1;
    if (tq_uuid_valid(tenant)) {
        for (int i = 0; i <= TQ_UUID_STR_LEN; i++)
            out[i] = (char)tolower((unsigned char)tenant[i]);
        return 0;
    }
    /* toolq's tenant namespace (fixed random bytes; never change them). */
    static const unsigned char ns[16] = {0x3b, 0x1f, 0x6c, 0x52, 0x0e, 0x7a, 0x4d, 0x21,
                                         0x9c, 0x55, 0x27, 0x6e, 0x81, 0x40, 0xd3, 0x9a};
    unsigned char buf[16 + 256], md[EVP_MAX_MD_SIZE];
    size_t n = strlen(tenant);
    memcpy(buf, ns, 16);
    memcpy(buf + 16, tenant, n);
    if (!EVP_Digest(buf, 16 + n, md, NULL, EVP_sha1(), NULL)) return -1;
    md[6] = (unsigned char)(0x50 | (md[6] & 0x0f));
    md[8] = (unsigned char)(0x80 | (md[8] & 0x3f));
    format_uuid(md, out);
    return 0;
}
