/* vault.c — AES-256-GCM envelope encryption: the master key file, the
 * in-memory keyring of tenant data keys (wrapped under the master key), and
 * sealing/opening of ciphertexts bound by AAD to (tenant, table, column, row).
 *
 * Owns: key material in memory (wiped with OPENSSL_cleanse when dropped).
 * Must never: log or put key bytes or plaintext into an error message, use a
 * nonce twice (every seal draws a fresh random one, rng.c), touch the database
 * (keystore.c does that), or be shared between threads without a lock. */
#include "vault.h"

#include <jansson.h>

#include "log.h"
#include "rng.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#define KEY_LEN 32
#define NONCE_LEN 12
#define TAG_LEN 16
#define SEAL_FORMAT 0x01
#define SEAL_HEAD_LEN 5 /* format byte + key version u32 BE */
#define SEAL_OVERHEAD (SEAL_HEAD_LEN + NONCE_LEN + TAG_LEN)
#define WRAP_FORMAT 0x01
#define WRAP_LEN (1 + NONCE_LEN + KEY_LEN + TAG_LEN)
#define TEXT_PREFIX "tqv1:"
#define KEY_FILE_MAX 256 /* a 32-byte key is 44 base64 chars; anything far bigger is wrong */
#define BUCKETS 256
#define CHECK_LABEL "toolq vault master key check v1"

/* One installed data key: (tenant, version) -> 32 bytes. */
typedef struct tq_vault_key_t {
    char *tenant_id;
    int version;
    unsigned char key[KEY_LEN];
    struct tq_vault_key_t *next;
} tq_vault_key_t;

struct tq_vault_t {
    unsigned char master[KEY_LEN];
    tq_vault_key_t *buckets[BUCKETS]; /* chained by hash of tenant_id */
};

/* --- small helpers --------------------------------------------------------- */

static void put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static uint32_t get_u32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static unsigned bucket_of(const char *tenant_id)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)tenant_id; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h % BUCKETS;
}

/* Frees a buffer that held secrets, wiping it first. */
static void free_secret(void *p, size_t len)
{
    if (p) {
        OPENSSL_cleanse(p, len);
        free(p);
    }
}

static int nonempty(const char *s)
{
    return s && s[0];
}

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Standard base64 (RFC 4648, with padding), strict: length a multiple of 4,
 * '=' only at the end, no stray bits. Returns -1 on any malformed input.
 * out must hold len / 4 * 3 bytes. */
static int b64_decode(const char *in, size_t len, unsigned char *out, size_t *out_len)
{
    if (len % 4 != 0) return -1;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        int v[4], pad = 0;
        for (int j = 0; j < 4; j++) {
            unsigned char c = (unsigned char)in[i + j];
            if (c == '=' && i + 4 == len && j >= 2) {
                v[j] = 0;
                pad++;
            } else if (pad > 0 || (v[j] = b64_value(c)) < 0) {
                return -1; /* bad char, or data after '=' */
            }
        }
        uint32_t w = ((uint32_t)v[0] << 18) | ((uint32_t)v[1] << 12) | ((uint32_t)v[2] << 6) |
                     (uint32_t)v[3];
        if ((pad == 1 && (w & 0xff)) || (pad == 2 && (w & 0xffff)))
            return -1; /* non-canonical: stray bits before the padding */
        out[o++] = (unsigned char)(w >> 16);
        if (pad < 2) out[o++] = (unsigned char)(w >> 8);
        if (pad < 1) out[o++] = (unsigned char)w;
    }
    *out_len = o;
    return 0;
}

/* Encodes into a fresh NUL-terminated string after prefix; NULL on OOM. */
static char *b64_encode(const char *prefix, const unsigned char *in, size_t len)
{
    size_t plen = strlen(prefix);
    if (len > INT_MAX / 4 * 3 - 3) /* EVP_EncodeBlock counts in int */
        return NULL;
    size_t enc_len = (len + 2) / 3 * 4;
    char *out = malloc(plen + enc_len + 1);
    if (!out) return NULL;
    memcpy(out, prefix, plen);
    EVP_EncodeBlock((unsigned char *)out + plen, in, (int)len);
    out[plen + enc_len] = '\0';
    return out;
}

/* AAD = head bytes, then each field as u32 BE length + bytes: unambiguous. */
static unsigned char *aad_build(const unsigned char *head, size_t head_len,
                                const char *const *fields, int nfields, size_t *out_len)
{
    size_t total = head_len;
    for (int i = 0; i < nfields; i++) {
        size_t n = strlen(fields[i]);
        if (n > UINT32_MAX || n > INT_MAX - 4 - total) return NULL;
        total += 4 + n;
    }
    unsigned char *aad = malloc(total), *p = aad;
    if (!aad) return NULL;
    memcpy(p, head, head_len);
    p += head_len;
    for (int i = 0; i < nfields; i++) {
        size_t n = strlen(fields[i]);
        put_u32(p, (uint32_t)n);
        memcpy(p + 4, fields[i], n);
        p += 4 + n;
    }
    *out_len = total;
    return aad;
}

/* --- AES-256-GCM -------------------------------------------------------------- */

/* The cipher, fetched from the provider once: an init with EVP_aes_256_gcm()
 * looks it up by name every time (a quarter of a seal's cost). Shared by all
 * threads (a fetched cipher is immutable); kept until exit. */
static pthread_once_t gcm_once = PTHREAD_ONCE_INIT;
static EVP_CIPHER *gcm_fetched;

static void gcm_fetch(void)
{
    gcm_fetched = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

static const EVP_CIPHER *gcm_cipher(void)
{
    pthread_once(&gcm_once, gcm_fetch);
    return gcm_fetched ? gcm_fetched : EVP_aes_256_gcm();
}

/* Encrypts n bytes of in into out (same length) and writes the tag. */
static int gcm_encrypt(const unsigned char key[KEY_LEN], const unsigned char nonce[NONCE_LEN],
                       const unsigned char *aad, size_t aad_len, const unsigned char *in, size_t n,
                       unsigned char *out, unsigned char tag[TAG_LEN])
{
    if (n > INT_MAX || aad_len > INT_MAX) return -1;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len = 0, ok = ctx && EVP_EncryptInit_ex(ctx, gcm_cipher(), NULL, NULL, NULL) == 1 &&
                      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
                      EVP_EncryptInit_ex(ctx, NULL, NULL, key, nonce) == 1 &&
                      EVP_EncryptUpdate(ctx, NULL, &len, aad, (int)aad_len) == 1 &&
                      (n == 0 || EVP_EncryptUpdate(ctx, out, &len, in, (int)n) == 1) &&
                      EVP_EncryptFinal_ex(ctx, out + n, &len) == 1 &&
                      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) == 1;
    EVP_CIPHER_CTX_free(ctx); /* also cleanses the key schedule */
    if (!ok) ERR_clear_error();
    return ok ? 0 : -1;
}

/* Decrypts and authenticates; -1 when the tag does not verify. */
static int gcm_decrypt(const unsigned char key[KEY_LEN], const unsigned char nonce[NONCE_LEN],
                       const unsigned char *aad, size_t aad_len, const unsigned char *in, size_t n,
                       const unsigned char tag[TAG_LEN], unsigned char *out)
{
    if (n > INT_MAX || aad_len > INT_MAX) return -1;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len = 0, ok = ctx && EVP_DecryptInit_ex(ctx, gcm_cipher(), NULL, NULL, NULL) == 1 &&
                      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
                      EVP_DecryptInit_ex(ctx, NULL, NULL, key, nonce) == 1 &&
                      EVP_DecryptUpdate(ctx, NULL, &len, aad, (int)aad_len) == 1 &&
                      (n == 0 || EVP_DecryptUpdate(ctx, out, &len, in, (int)n) == 1) &&
                      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, (void *)tag) == 1 &&
                      EVP_DecryptFinal_ex(ctx, out + n, &len) == 1;
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) {
        ERR_clear_error();
        OPENSSL_cleanse(out, n); /* never hand out unauthenticated plaintext */
    }
    return ok ? 0 : -1;
}

/* --- master key file ---------------------------------------------------------- */

/* Reads up to cap bytes (a file of exactly cap bytes is "too big" to the caller). */
static int read_small_file(int fd, char *buf, size_t cap, size_t *len)
{
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0) break;
        n += (size_t)r;
        if (n == cap) break;
    }
    *len = n;
    return 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void tq_secure_wipe(void *p, size_t n)
{
    if (p && n) OPENSSL_cleanse(p, n);
}

void tq_secure_wipe_str(char *s)
{
    if (s) OPENSSL_cleanse(s, strlen(s));
}

void tq_secure_free_str(char *s)
{
    tq_secure_wipe_str(s);
    free(s);
}

void tq_secure_process(void)
{
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

int tq_master_key_load(const char *path, unsigned char key[TQ_MASTER_KEY_LEN], tq_error_t *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ELOOP)
        return tq_error_set(err, "master_key_unsafe",
                            "master key file %s is a symbolic link; give the real file", path);
    if (fd < 0)
        return tq_error_set(err, "master_key_missing", "cannot open master key file %s: %s", path,
                            strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return tq_error_set(err, "master_key_invalid", "master key file %s is not a regular file",
                            path);
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        close(fd);
        return tq_error_set(err, "master_key_unsafe",
                            "master key file %s is open to group or others (mode %03o); run "
                            "chmod 600 on it",
                            path, (unsigned)(st.st_mode & 0777));
    }
    if (st.st_uid != geteuid()) {
        close(fd);
        return tq_error_set(err, "master_key_unsafe",
                            "master key file %s is owned by uid %u, not by the service account "
                            "running toolq (uid %u)",
                            path, (unsigned)st.st_uid, (unsigned)geteuid());
    }

    char buf[KEY_FILE_MAX + 1];
    size_t len = 0;
    int rc = read_small_file(fd, buf, sizeof buf, &len);
    int saved = errno;
    close(fd);
    if (rc != 0) {
        OPENSSL_cleanse(buf, sizeof buf);
        return tq_error_set(err, "master_key_missing", "cannot read master key file %s: %s", path,
                            strerror(saved));
    }

    /* Trim surrounding whitespace (base64 writes a trailing newline). */
    int ok = len <= KEY_FILE_MAX;
    size_t start = 0;
    while (start < len && is_space(buf[start]))
        start++;
    while (len > start && is_space(buf[len - 1]))
        len--;

    unsigned char raw[KEY_FILE_MAX];
    size_t raw_len = 0;
    ok = ok && b64_decode(buf + start, len - start, raw, &raw_len) == 0 &&
         raw_len == TQ_MASTER_KEY_LEN;
    if (ok) memcpy(key, raw, TQ_MASTER_KEY_LEN);
    OPENSSL_cleanse(buf, sizeof buf);
    OPENSSL_cleanse(raw, sizeof raw);
    if (!ok)
        return tq_error_set(err, "master_key_invalid",
                            "master key file %s must hold base64 of exactly %d bytes", path,
                            TQ_MASTER_KEY_LEN);
    return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int tq_master_key_create(const char *path, tq_error_t *err)
{
    unsigned char raw[TQ_MASTER_KEY_LEN];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return tq_error_set(err, "internal", "no randomness for a new master key");
    char text[64]; /* 44 base64 chars + newline + NUL */
    EVP_EncodeBlock((unsigned char *)text, raw, sizeof raw);
    OPENSSL_cleanse(raw, sizeof raw);
    size_t n = strlen(text);
    text[n++] = '\n';

    int rc = -1, fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        int e = errno;
        rc = tq_error_set(err, e == EEXIST ? "master_key_exists" : "master_key_io",
                          "cannot create master key file %s: %s", path, strerror(e));
    } else if (write_all(fd, text, n) != 0 || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(path);
        rc = tq_error_set(err, "master_key_io", "cannot write master key file %s: %s", path,
                          strerror(e));
    } else if (close(fd) != 0) {
        int e = errno;
        unlink(path);
        rc = tq_error_set(err, "master_key_io", "cannot write master key file %s: %s", path,
                          strerror(e));
    } else {
        rc = 0;
    }
    OPENSSL_cleanse(text, sizeof text);
    return rc;
}

/* --- vault object -------------------------------------------------------------- */

tq_vault_t *tq_vault_new(const unsigned char master[TQ_MASTER_KEY_LEN])
{
    tq_vault_t *self = calloc(1, sizeof *self);
    if (self) memcpy(self->master, master, KEY_LEN);
    return self;
}

void tq_vault_destroy(tq_vault_t **self_p)
{
    if (!self_p || !*self_p) return;
    tq_vault_t *self = *self_p;
    for (int b = 0; b < BUCKETS; b++) {
        tq_vault_key_t *k = self->buckets[b];
        while (k) {
            tq_vault_key_t *next = k->next;
            free(k->tenant_id);
            free_secret(k, sizeof *k);
            k = next;
        }
    }
    free_secret(self, sizeof *self);
    *self_p = NULL;
}

void tq_vault_master_check(const tq_vault_t *self, unsigned char out[32])
{
    unsigned int len = 0;
    if (!HMAC(EVP_sha256(), self->master, KEY_LEN, (const unsigned char *)CHECK_LABEL,
              strlen(CHECK_LABEL), out, &len) ||
        len != 32) {
        /* Cannot happen with a working libcrypto; an all-zero value is
         * refused by the keystore. */
        ERR_clear_error();
        memset(out, 0, 32);
        tq_err("vault: HMAC-SHA256 failed computing the master key check value");
    }
}

static tq_vault_key_t *find_key(const tq_vault_t *self, const char *tenant_id, int version)
{
    for (tq_vault_key_t *k = self->buckets[bucket_of(tenant_id)]; k; k = k->next)
        if (k->version == version && strcmp(k->tenant_id, tenant_id) == 0) return k;
    return NULL;
}

/* The highest installed version of a tenant, or NULL. */
static tq_vault_key_t *current_key(const tq_vault_t *self, const char *tenant_id)
{
    tq_vault_key_t *best = NULL;
    for (tq_vault_key_t *k = self->buckets[bucket_of(tenant_id)]; k; k = k->next)
        if (strcmp(k->tenant_id, tenant_id) == 0 && (!best || k->version > best->version)) best = k;
    return best;
}

int tq_vault_has_tenant(const tq_vault_t *self, const char *tenant_id, int *current_version)
{
    tq_vault_key_t *k = tenant_id ? current_key(self, tenant_id) : NULL;
    if (current_version) *current_version = k ? k->version : 0;
    return k != NULL;
}

/* --- key wrapping -------------------------------------------------------------- */

static unsigned char *wrap_aad(const char *tenant_id, int version, size_t *len)
{
    unsigned char head[1 + 4] = {WRAP_FORMAT}; /* format + version u32 BE */
    put_u32(head + 1, (uint32_t)version);
    const char *fields[] = {tenant_id};
    return aad_build(head, sizeof head, fields, 1, len);
}

static int check_key_id(const char *tenant_id, int version, tq_error_t *err)
{
    if (!nonempty(tenant_id) || version < 1)
        return tq_error_set(err, "invalid_argument",
                            "a tenant key needs a tenant id and a version >= 1");
    return 0;
}

/* wrapped = [0x01][nonce 12][AES-GCM(master, key) 32][tag 16] */
static int wrap_key(const unsigned char master[KEY_LEN], const char *tenant_id, int version,
                    const unsigned char key[KEY_LEN], unsigned char **wrapped, size_t *wrapped_len,
                    tq_error_t *err)
{
    size_t aad_len = 0;
    unsigned char *aad = wrap_aad(tenant_id, version, &aad_len);
    unsigned char *out = malloc(WRAP_LEN);
    int ok = aad && out;
    if (ok) {
        out[0] = WRAP_FORMAT;
        tq_rng_public(out + 1, NONCE_LEN);
        ok = gcm_encrypt(master, out + 1, aad, aad_len, key, KEY_LEN, out + 1 + NONCE_LEN,
                         out + 1 + NONCE_LEN + KEY_LEN) == 0;
    }
    free(aad);
    if (!ok) {
        free(out);
        return tq_error_set(err, "internal", "cannot wrap the key of tenant %s version %d",
                            tenant_id, version);
    }
    *wrapped = out;
    *wrapped_len = WRAP_LEN;
    return 0;
}

static int unwrap_key(const unsigned char master[KEY_LEN], const char *tenant_id, int version,
                      const unsigned char *wrapped, size_t wrapped_len, unsigned char key[KEY_LEN],
                      tq_error_t *err)
{
    if (!wrapped || wrapped_len != WRAP_LEN || wrapped[0] != WRAP_FORMAT)
        return tq_error_set(err, "vault_key_invalid",
                            "the stored key of tenant %s version %d is malformed", tenant_id,
                            version);
    size_t aad_len = 0;
    unsigned char *aad = wrap_aad(tenant_id, version, &aad_len);
    if (!aad) return tq_error_set(err, "internal", "out of memory");
    int rc = gcm_decrypt(master, wrapped + 1, aad, aad_len, wrapped + 1 + NONCE_LEN, KEY_LEN,
                         wrapped + 1 + NONCE_LEN + KEY_LEN, key);
    free(aad);
    if (rc != 0)
        return tq_error_set(err, "vault_key_invalid",
                            "the master key does not open the key of tenant %s version %d",
                            tenant_id, version);
    return 0;
}

int tq_vault_generate_key(tq_vault_t *self, const char *tenant_id, int version,
                          unsigned char **wrapped, size_t *wrapped_len, tq_error_t *err)
{
    if (check_key_id(tenant_id, version, err) != 0) return -1;
    unsigned char key[KEY_LEN];
    if (RAND_bytes(key, sizeof key) != 1)
        return tq_error_set(err, "internal", "no randomness for a new data key");
    int rc = wrap_key(self->master, tenant_id, version, key, wrapped, wrapped_len, err);
    OPENSSL_cleanse(key, sizeof key);
    return rc;
}

/* Installs an unwrapped key; a version already installed must hold the same
 * bytes (a stored key never changes, only its wrapping does). */
static int install_key(tq_vault_t *self, const char *tenant_id, int version,
                       const unsigned char key[KEY_LEN], tq_error_t *err)
{
    tq_vault_key_t *have = find_key(self, tenant_id, version);
    if (have) {
        if (CRYPTO_memcmp(have->key, key, KEY_LEN) == 0) return 0;
        return tq_error_set(err, "vault_key_conflict",
                            "tenant %s already has a different key for version %d", tenant_id,
                            version);
    }
    tq_vault_key_t *k = calloc(1, sizeof *k);
    char *id = strdup(tenant_id);
    if (!k || !id) {
        free(k);
        free(id);
        return tq_error_set(err, "internal", "out of memory");
    }
    k->tenant_id = id;
    k->version = version;
    memcpy(k->key, key, KEY_LEN);
    unsigned b = bucket_of(tenant_id);
    k->next = self->buckets[b];
    self->buckets[b] = k;
    return 0;
}

int tq_vault_add_key(tq_vault_t *self, const char *tenant_id, int version,
                     const unsigned char *wrapped, size_t wrapped_len, tq_error_t *err)
{
    if (check_key_id(tenant_id, version, err) != 0) return -1;
    unsigned char key[KEY_LEN];
    int rc = unwrap_key(self->master, tenant_id, version, wrapped, wrapped_len, key, err);
    if (rc == 0) rc = install_key(self, tenant_id, version, key, err);
    OPENSSL_cleanse(key, sizeof key);
    return rc;
}

int tq_vault_rewrap(const tq_vault_t *self, const tq_vault_t *new_master, const char *tenant_id,
                    int version, unsigned char **wrapped, size_t *wrapped_len, tq_error_t *err)
{
    if (check_key_id(tenant_id, version, err) != 0) return -1;
    const tq_vault_key_t *k = find_key(self, tenant_id, version);
    if (!k)
        return tq_error_set(err, "vault_no_key", "no key installed for tenant %s version %d",
                            tenant_id, version);
    return wrap_key(new_master->master, tenant_id, version, k->key, wrapped, wrapped_len, err);
}

int tq_vault_rewrap_stored(const tq_vault_t *self, const tq_vault_t *new_master,
                           const char *tenant_id, int version, const unsigned char *wrapped,
                           size_t wrapped_len, unsigned char **out, size_t *out_len,
                           tq_error_t *err)
{
    if (check_key_id(tenant_id, version, err) != 0) return -1;
    unsigned char key[KEY_LEN];
    int rc = unwrap_key(self->master, tenant_id, version, wrapped, wrapped_len, key, err);
    if (rc == 0) rc = wrap_key(new_master->master, tenant_id, version, key, out, out_len, err);
    OPENSSL_cleanse(key, sizeof key);
    return rc;
}

/* --- sealing -------------------------------------------------------------------- */

int tq_vault_derive_key(tq_vault_t *self, const char *from_tenant, int from_version,
                        const char *info, const char *to_tenant, int to_version, tq_error_t *err)
{
    if (check_key_id(to_tenant, to_version, err) != 0) return -1;
    const tq_vault_key_t *src = find_key(self, from_tenant, from_version);
    if (!src)
        return tq_error_set(err, "vault_no_key", "no data key installed for tenant %s version %d",
                            from_tenant, from_version);
    unsigned char key[KEY_LEN];
    size_t len = sizeof key;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
    bool ok =
        ctx && EVP_PKEY_derive_init(ctx) > 0 && EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256()) > 0 &&
        EVP_PKEY_CTX_set1_hkdf_key(ctx, src->key, KEY_LEN) > 0 &&
        EVP_PKEY_CTX_add1_hkdf_info(ctx, (const unsigned char *)info, (int)strlen(info)) > 0 &&
        EVP_PKEY_derive(ctx, key, &len) > 0 && len == sizeof key;
    EVP_PKEY_CTX_free(ctx);
    int rc = ok ? install_key(self, to_tenant, to_version, key, err)
                : tq_error_set(err, "internal", "HKDF derivation failed");
    OPENSSL_cleanse(key, sizeof key);
    return rc;
}

int tq_vault_sealed_version(const unsigned char *sealed, size_t sealed_len)
{
    if (!sealed || sealed_len < SEAL_OVERHEAD || sealed[0] != SEAL_FORMAT) return -1;
    uint32_t v = get_u32(sealed + 1);
    return v >= 1 && v <= INT_MAX ? (int)v : -1;
}

static int check_aad(const tq_aad_t *aad, tq_error_t *err)
{
    if (!aad || !nonempty(aad->tenant_id) || !nonempty(aad->table) || !nonempty(aad->column) ||
        !nonempty(aad->row_id))
        return tq_error_set(err, "invalid_argument",
                            "a ciphertext must be bound to a tenant, table, column and row id");
    return 0;
}

static unsigned char *seal_aad(const unsigned char head[SEAL_HEAD_LEN], const tq_aad_t *aad,
                               size_t *len)
{
    const char *fields[] = {aad->tenant_id, aad->table, aad->column, aad->row_id};
    return aad_build(head, SEAL_HEAD_LEN, fields, 4, len);
}

int tq_vault_seal(const tq_vault_t *self, const tq_aad_t *aad, const void *plain, size_t plain_len,
                  unsigned char **out, size_t *out_len, tq_error_t *err)
{
    if (check_aad(aad, err) != 0) return -1;
    if (plain_len > INT_MAX - SEAL_OVERHEAD || (plain_len > 0 && !plain))
        return tq_error_set(err, "invalid_argument", "plaintext too large or missing");
    const tq_vault_key_t *k = current_key(self, aad->tenant_id);
    if (!k)
        return tq_error_set(err, "vault_no_key", "no data key installed for tenant %s",
                            aad->tenant_id);

    size_t total = SEAL_OVERHEAD + plain_len, aad_len = 0;
    unsigned char *buf = malloc(total);
    if (!buf) return tq_error_set(err, "internal", "out of memory");
    buf[0] = SEAL_FORMAT;
    put_u32(buf + 1, (uint32_t)k->version);
    unsigned char *nonce = buf + SEAL_HEAD_LEN, *ct = nonce + NONCE_LEN, *tag = ct + plain_len;
    unsigned char *ad = seal_aad(buf, aad, &aad_len);
    if (ad) tq_rng_public(nonce, NONCE_LEN);
    int ok = ad && gcm_encrypt(k->key, nonce, ad, aad_len, plain, plain_len, ct, tag) == 0;
    free(ad);
    if (!ok) {
        free_secret(buf, total);
        return tq_error_set(err, "internal", "encryption failed");
    }
    *out = buf;
    *out_len = total;
    return 0;
}

int tq_vault_open(const tq_vault_t *self, const tq_aad_t *aad, const unsigned char *sealed,
                  size_t sealed_len, unsigned char **out, size_t *out_len, tq_error_t *err)
{
    if (check_aad(aad, err) != 0) return -1;
    if (!sealed || sealed_len < SEAL_OVERHEAD)
        return tq_error_set(err, "vault_format", "ciphertext too short (%zu bytes)", sealed_len);
    if (sealed[0] != SEAL_FORMAT)
        return tq_error_set(err, "vault_format", "unknown ciphertext format %u",
                            (unsigned)sealed[0]);
    uint32_t version = get_u32(sealed + 1);
    const tq_vault_key_t *k =
        version >= 1 && version <= INT_MAX ? find_key(self, aad->tenant_id, (int)version) : NULL;
    if (!k)
        return tq_error_set(err, "vault_no_key", "no data key installed for tenant %s version %u",
                            aad->tenant_id, (unsigned)version);

    size_t n = sealed_len - SEAL_OVERHEAD, aad_len = 0;
    const unsigned char *nonce = sealed + SEAL_HEAD_LEN, *ct = nonce + NONCE_LEN, *tag = ct + n;
    unsigned char *plain = malloc(n + 1); /* +1: never malloc(0), and room for a NUL */
    unsigned char *ad = plain ? seal_aad(sealed, aad, &aad_len) : NULL;
    if (!ad) {
        free(plain);
        return tq_error_set(err, "internal", "out of memory");
    }
    int rc = gcm_decrypt(k->key, nonce, ad, aad_len, ct, n, tag, plain);
    free(ad);
    if (rc != 0) {
        free_secret(plain, n + 1);
        return tq_error_set(err, "vault_decrypt_failed",
                            "ciphertext does not open for tenant %s, %s.%s row %s (tampered or "
                            "bound elsewhere)",
                            aad->tenant_id, aad->table, aad->column, aad->row_id);
    }
    plain[n] = '\0';
    *out = plain;
    *out_len = n;
    return 0;
}

char *tq_vault_seal_text(const tq_vault_t *self, const tq_aad_t *aad, const char *plain,
                         tq_error_t *err)
{
    if (!plain) {
        tq_error_set(err, "invalid_argument", "plaintext missing");
        return NULL;
    }
    unsigned char *bin = NULL;
    size_t bin_len = 0;
    if (tq_vault_seal(self, aad, plain, strlen(plain), &bin, &bin_len, err) != 0) return NULL;
    char *text = b64_encode(TEXT_PREFIX, bin, bin_len);
    free(bin);
    if (!text) tq_error_set(err, "internal", "out of memory");
    return text;
}

char *tq_vault_open_text(const tq_vault_t *self, const tq_aad_t *aad, const char *sealed,
                         tq_error_t *err)
{
    size_t plen = strlen(TEXT_PREFIX);
    if (!sealed || strncmp(sealed, TEXT_PREFIX, plen) != 0) {
        tq_error_set(err, "vault_format", "text ciphertext must start with \"" TEXT_PREFIX "\"");
        return NULL;
    }
    size_t len = strlen(sealed + plen);
    unsigned char *bin = malloc(len / 4 * 3 + 1);
    size_t bin_len = 0;
    if (!bin) {
        tq_error_set(err, "internal", "out of memory");
        return NULL;
    }
    if (b64_decode(sealed + plen, len, bin, &bin_len) != 0) {
        free(bin);
        tq_error_set(err, "vault_format", "text ciphertext is not valid base64");
        return NULL;
    }
    unsigned char *plain = NULL;
    size_t plain_len = 0;
    int rc = tq_vault_open(self, aad, bin, bin_len, &plain, &plain_len, err);
    free(bin);
    if (rc != 0) return NULL;
    if (memchr(plain, '\0', plain_len)) {
        free_secret(plain, plain_len + 1);
        tq_error_set(err, "vault_format", "sealed value is not text (contains NUL bytes)");
        return NULL;
    }
    return (char *)plain; /* tq_vault_open NUL-terminates */
}

json_t *tq_vault_open_json(const tq_vault_t *self, const tq_aad_t *aad, const char *sealed,
                           const char *corrupt_code, tq_error_t *err)
{
    char *plain = tq_vault_open_text(self, aad, sealed, err);
    if (!plain) return NULL;
    json_t *o = json_loads(plain, 0, NULL);
    OPENSSL_cleanse(plain, strlen(plain));
    free(plain);
    if (!json_is_object(o)) {
        json_decref(o);
        tq_error_set(err, corrupt_code, "the stored %s.%s is not a JSON object", aad->table,
                     aad->column);
        return NULL;
    }
    return o;
}
