/* apitoken.c — API key text: draw, shape check, hash (see apitoken.h).
 * Must never: log a key or use a non-cryptographic random source. */
#include "apitoken.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <string.h>

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int tq_apitoken_new(char out[TQ_APITOKEN_LEN + 1])
{
    unsigned char rnd[33]; /* 256 bits in 43 characters (the last carries 4) */
    if (RAND_bytes(rnd, 32) != 1) return -1;
    rnd[32] = 0;
    memcpy(out, TQ_APITOKEN_PREFIX, 4);
    char *p = out + 4;
    for (int i = 0; i < 33; i += 3) { /* 11 groups of 4 characters, the last cut to 3 */
        unsigned v = (unsigned)rnd[i] << 16 | (unsigned)(i + 1 < 33 ? rnd[i + 1] : 0) << 8 |
                     (unsigned)(i + 2 < 33 ? rnd[i + 2] : 0);
        for (int k = 0; k < 4 && p < out + TQ_APITOKEN_LEN; k++)
            *p++ = b64url[(v >> (18 - 6 * k)) & 63];
    }
    *p = '\0';
    OPENSSL_cleanse(rnd, sizeof rnd);
    return 0;
}

bool tq_apitoken_shape_ok(const char *key)
{
    if (!key || strlen(key) != TQ_APITOKEN_LEN || strncmp(key, TQ_APITOKEN_PREFIX, 4) != 0)
        return false;
    for (const char *p = key + 4; *p; p++)
        if (!strchr(b64url, *p)) return false;
    return true;
}

void tq_apitoken_hash(const char *key, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)key, strlen(key), md);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

bool tq_apitoken_hash_ok(const char *hash)
{
    if (!hash || strlen(hash) != 64) return false;
    for (const char *p = hash; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) return false;
    return true;
}
