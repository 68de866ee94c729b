/* test_vault.c — unit tests of common/vault.c: sealing and opening, AAD
 * binding, tampering, key versions, key wrapping and rotation, the text
 * form and the master key file. No database; must never touch one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vault.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

static const unsigned char MASTER_A[TQ_MASTER_KEY_LEN] = "0123456789abcdef0123456789abcdef";
static const unsigned char MASTER_B[TQ_MASTER_KEY_LEN] = "fedcba9876543210fedcba9876543210";

static const tq_aad_t AAD = {"tenant-1", "tool_api_providers", "credentials_str", "row-1"};

/* --- helpers ------------------------------------------------------------------ */

/* Generates and installs (tenant, version) in v. */
static void install(tq_vault_t *v, const char *tenant, int version)
{
    unsigned char *w = NULL;
    size_t wl = 0;
    tq_error_t err = {0};
    assert_int_equal(tq_vault_generate_key(v, tenant, version, &w, &wl, &err), 0);
    assert_int_equal(tq_vault_add_key(v, tenant, version, w, wl, &err), 0);
    free(w);
}

static tq_vault_t *vault_with(const unsigned char *master, const char *tenant)
{
    tq_vault_t *v = tq_vault_new(master);
    assert_non_null(v);
    install(v, tenant, 1);
    return v;
}

static void seal(const tq_vault_t *v, const tq_aad_t *aad, const char *plain, unsigned char **out,
                 size_t *out_len)
{
    tq_error_t err = {0};
    assert_int_equal(tq_vault_seal(v, aad, plain, strlen(plain), out, out_len, &err), 0);
}

/* Opens and expects failure with code; also checks the message leaks nothing. */
static void open_fails(const tq_vault_t *v, const tq_aad_t *aad, const unsigned char *s, size_t n,
                       const char *code)
{
    unsigned char *out = (unsigned char *)"untouched";
    size_t out_len = 12345;
    tq_error_t err = {0};
    assert_int_equal(tq_vault_open(v, aad, s, n, &out, &out_len, &err), -1);
    assert_string_equal(err.code, code);
    assert_null(strstr(err.message, "s3cret"));
    assert_string_equal((char *)out, "untouched");
}

static void open_is(const tq_vault_t *v, const tq_aad_t *aad, const unsigned char *s, size_t n,
                    const char *expect)
{
    unsigned char *out = NULL;
    size_t out_len = 0;
    tq_error_t err = {0};
    assert_int_equal(tq_vault_open(v, aad, s, n, &out, &out_len, &err), 0);
    assert_int_equal(out_len, strlen(expect));
    assert_memory_equal(out, expect, out_len);
    free(out);
}

static uint32_t header_version(const unsigned char *s)
{
    return ((uint32_t)s[1] << 24) | ((uint32_t)s[2] << 16) | ((uint32_t)s[3] << 8) | s[4];
}

/* --- sealing --------------------------------------------------------------------- */

static void test_round_trip(void **state)
{
    (void)state;
    tq_vault_t *v = vault_with(MASTER_A, "tenant-1");
    unsigned char *s = NULL;
    size_t n = 0;
    seal(v, &AAD, "my s3cret api key", &s, &n);
    assert_int_equal(n, 1 + 4 + 12 + strlen("my s3cret api key") + 16);
    assert_int_equal(s[0], 0x01);
    assert_int_equal(header_version(s), 1);
    assert_null(memmem(s, n, "s3cret", 6));
    open_is(v, &AAD, s, n, "my s3cret api key");

    /* A fresh nonce every time: same input, different ciphertext. */
    unsigned char *s2 = NULL;
    size_t n2 = 0;
    seal(v, &AAD, "my s3cret api key", &s2, &n2);
    assert_int_equal(n, n2);
    assert_memory_not_equal(s + 5, s2 + 5, 12);
    free(s2);
    free(s);
    tq_vault_destroy(&v);
    assert_null(v);
    tq_vault_destroy(&v); /* harmless twice */
}

static void test_empty_plaintext(void **state)
{
    (void)state;
    tq_vault_t *v = vault_with(MASTER_A, "tenant-1");
    unsigned char *s = NULL, *out = NULL;
    size_t n = 0, out_len = 99;
    tq_error_t err = {0};
    assert_int_equal(tq_vault_seal(v, &AAD, NULL, 0, &s, &n, &err), 0);
    assert_int_equal(n, 33);
    assert_int_equal(tq_vault_open(v, &AAD, s, n, &out, &out_len, &err), 0);
    assert_non_null(out);
    assert_int_equal(out_len, 0);
    free(out);
    s[n - 1] ^= 1;
    open_fails(v, &AAD, s, n, "vault_decrypt_failed");
    free(s);

    char *t = tq_vault_seal_text(v, &AAD, "", &err);
    assert_non_null(t);
    char *p = tq_vault_open_text(v, &AAD, t, &err);
    assert_string_equal(p, "");
    free(p);
    free(t);
    tq_vault_destroy(&v);
}

static void test_tamper_every_byte(void **state)
{
    (void)state;
    tq_vault_t *v = vault_with(MASTER_A, "tenant-1");
    unsigned char *s = NULL;
    size_t n = 0;
    seal(v, &AAD, "s3cret value", &s, &n);
    for (size_t i = 0; i < n; i++) {
        for (int bit = 0; bit < 8; bit++) {
            s[i] ^= (unsigned char)(1u << bit);
            unsigned char *out = NULL;
            size_t out_len = 0;
            tq_error_t err = {0};
            assert_int_equal(tq_vault_open(v, &AAD, s, n, &out, &out_len, &err), -1);
            assert_null(out);
            if (i == 0)
                assert_string_equal(err.code, "vault_format");
            else if (i < 5)
                assert_string_equal(err.code, "vault_no_key"); /* version 1 -> other version */
            else
                assert_string_equal(err.code, "vault_decrypt_failed");
            s[i] ^= (unsigned char)(1u << bit);
        }
    }
    open_is(v, &AAD, s, n, "s3cret value");
    free(s);
    tq_vault_destroy(&v);
}

/* --- the format, checked against a plain OpenSSL implementation of the spec --- */

static void put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* AAD per vault.c: head bytes, then each field as u32 BE length + bytes. */
static size_t spec_aad(unsigned char *out, const unsigned char *head, size_t head_len,
                       const char *const *fields, int n)
{
    size_t len = head_len;
    memcpy(out, head, head_len);
    for (int i = 0; i < n; i++) {
        size_t fl = strlen(fields[i]);
        put_u32(out + len, (uint32_t)fl);
        memcpy(out + len + 4, fields[i], fl);
        len += 4 + fl;
    }
    return len;
}

static void spec_gcm(int enc, const unsigned char *key, const unsigned char *nonce,
                     const unsigned char *aad, size_t aad_len, const unsigned char *in, size_t n,
                     unsigned char *out, unsigned char *tag)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int l = 0;
    assert_int_equal(EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce, enc), 1);
    assert_int_equal(EVP_CipherUpdate(c, NULL, &l, aad, (int)aad_len), 1);
    if (n) assert_int_equal(EVP_CipherUpdate(c, out, &l, in, (int)n), 1);
    if (!enc) assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag), 1);
    assert_int_equal(EVP_CipherFinal_ex(c, out + n, &l), 1);
    if (enc) assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag), 1);
    EVP_CIPHER_CTX_free(c);
}

/* Wrapped key = [0x01][nonce 12][GCM(master, key) 32][tag 16], AAD
 * [0x01][version u32 BE][len][tenant]. */
static void spec_wrap(const unsigned char *master, const char *tenant, int version,
                      const unsigned char key[32], unsigned char out[61])
{
    unsigned char head[5] = {0x01}, aad[128];
    put_u32(head + 1, (uint32_t)version);
    const char *fields[] = {tenant};
    size_t aad_len = spec_aad(aad, head, 5, fields, 1);
    out[0] = 0x01;
    memset(out + 1, 0x5a, 12);
    spec_gcm(1, master, out + 1, aad, aad_len, key, 32, out + 13, out + 45);
}

static void test_format_matches_spec(void **state)
{
    (void)state;
    unsigned char data_key[32], w[61];
    memset(data_key, 0x42, sizeof data_key);
    tq_vault_t *v = tq_vault_new(MASTER_A);
    tq_error_t err = {0};
    /* The same data key under versions 1 and 2: only the header differs. */
    spec_wrap(MASTER_A, "tenant-1", 1, data_key, w);
    assert_int_equal(tq_vault_add_key(v, "tenant-1", 1, w, sizeof w, &err), 0);
    spec_wrap(MASTER_A, "tenant-1", 2, data_key, w);
    assert_int_equal(tq_vault_add_key(v, "tenant-1", 2, w, sizeof w, &err), 0);

    unsigned char *s = NULL;
    size_t n = 0;
    seal(v, &AAD, "s3cret", &s, &n);
    assert_int_equal(s[0], 0x01);
    assert_int_equal(header_version(s), 2);

    /* Decrypt independently: AAD = header(5) + tenant, table, column, row. */
    unsigned char aad[256], plain[16] = {0};
    const char *fields[] = {AAD.tenant_id, AAD.table, AAD.column, AAD.row_id};
    size_t aad_len = spec_aad(aad, s, 5, fields, 4);
    size_t ct_len = n - 33;
    assert_int_equal(ct_len, 6);
    spec_gcm(0, data_key, s + 5, aad, aad_len, s + 17, ct_len, plain, s + 17 + ct_len);
    assert_memory_equal(plain, "s3cret", 6);

    /* The header is authenticated: relabelled as version 1 (same key
     * bytes!) it must not open. */
    s[4] = 1;
    open_fails(v, &AAD, s, n, "vault_decrypt_failed");
    s[4] = 2;
    open_is(v, &AAD, s, n, "s3cret");
    free(s);
    tq_vault_destroy(&v);
}

static void test_truncated_and_format(void **state)
{
    (void)state;
    tq_vault_t *v = vault_with(MASTER_A, "tenant-1");
    unsigned char *s = NULL;
    size_t n = 0;
    seal(v, &AAD, "s3cret", &s, &n);
    for (size_t len = 0; len < 33; len++)
        open_fails(v, &AAD, s, len, "vault_format");
    open_fails(v, &AAD, NULL, 0, "vault_format");
    for (size_t len = 33; len < n; len++)
        open_fails(v, &AAD, s, len, "vault_decrypt_failed");
    s[0] = 0x02;
    open_fails(v, &AAD, s, n, "vault_format");
    s[0] = 0x01;
    s[1] = 0x80; /* version > INT_MAX */
    open_fails(v, &AAD, s, n, "vault_no_key");
    s[1] = 0;
    s[4] = 0; /* version 0 */
    open_fails(v, &AAD, s, n, "vault_no_key");
    free(s);
    tq_vault_destroy(&v);
}

static void test_binding(void **state)
{
    (void)state;
    tq_vault_t *v = vault_with(MASTER_A, "tenant-1");
    install(v, "tenant-2", 1);
    unsigned char *s = NULL;
    size_t n = 0;
    seal(v, &AAD, "s3cret", &s, &n);

    tq_aad_t other = AAD;
    other.tenant_id = "tenant-2";
    open_fails(v, &other, s, n, "vault_decrypt_failed");
    other.tenant_id = "tenant-3"; /* no key at all */
    open_fails(v, &other, s, n, "vault_no_key");
    other = AAD;
    other.row_id = "row-2";
    open_fails(v, &other, s, n, "vault_decrypt_failed");
    other = AAD;
    other.column = "encrypted_oauth_params";
    open_fails(v, &other, s, n, "vault_decrypt_failed");
    other = AAD;
    other.table = "tool_oauth_tenant_clients";
    open_fails(v, &other, s, n, "vault_decrypt_failed");
    free(s);

    /* Field boundaries are unambiguous: ("ab","c") is not ("a","bc"). */
    tq_aad_t a1 = {"tenant-1", "ab", "c", "r"}, a2 = {"tenant-1", "a", "bc", "r"};
    seal(v, &a1, "s3cret", &s, &n);
    open_fails(v, &a2, s, n, "vault_decrypt_failed");
    open_is(v, &a1, s, n, "s3cret");
    free(s);
    tq_vault_destroy(&v);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    tq_vault_t *v = vault_with(MASTER_A, "tenant-1");
    unsigned char *s = NULL;
    size_t n = 0;
    tq_error_t err = {0};
    tq_aad_t bad = AAD;
    bad.row_id = NULL;
    assert_int_equal(tq_vault_seal(v, &bad, "x", 1, &s, &n, &err), -1);
    assert_string_equal(err.code, "invalid_argument");
    bad.row_id = "";
    assert_int_equal(tq_vault_seal(v, &bad, "x", 1, &s, &n, &err), -1);
    assert_int_equal(tq_vault_seal(v, NULL, "x", 1, &s, &n, &err), -1);
    tq_aad_t nokey = AAD;
    nokey.tenant_id = "nobody";
    assert_int_equal(tq_vault_seal(v, &nokey, "x", 1, &s, &n, &err), -1);
    assert_string_equal(err.code, "vault_no_key");
    assert_null(s);
    unsigned char *w = NULL;
    size_t wl = 0;
    assert_int_equal(tq_vault_generate_key(v, "tenant-1", 0, &w, &wl, &err), -1);
    assert_string_equal(err.code, "invalid_argument");
    assert_int_equal(tq_vault_generate_key(v, "", 1, &w, &wl, &err), -1);
    assert_null(w);
    tq_vault_destroy(&v);
}

/* --- keys ---------------------------------------------------------------------------- */

static void test_wrong_master(void **state)
{
    (void)state;
    tq_vault_t *a = tq_vault_new(MASTER_A), *b = tq_vault_new(MASTER_B);
    unsigned char *w = NULL;
    size_t wl = 0;
    tq_error_t err = {0};
    assert_int_equal(tq_vault_generate_key(a, "tenant-1", 1, &w, &wl, &err), 0);
    assert_int_equal(tq_vault_add_key(b, "tenant-1", 1, w, wl, &err), -1);
    assert_string_equal(err.code, "vault_key_invalid");
    assert_int_equal(tq_vault_has_tenant(b, "tenant-1", NULL), 0);

    /* Bound to (tenant, version): copying elsewhere fails too. */
    assert_int_equal(tq_vault_add_key(a, "tenant-2", 1, w, wl, &err), -1);
    assert_string_equal(err.code, "vault_key_invalid");
    assert_int_equal(tq_vault_add_key(a, "tenant-1", 2, w, wl, &err), -1);
    assert_string_equal(err.code, "vault_key_invalid");
    for (size_t i = 0; i < wl; i++) {
        w[i] ^= 0x10;
        assert_int_equal(tq_vault_add_key(a, "tenant-1", 1, w, wl, &err), -1);
        assert_string_equal(err.code, "vault_key_invalid");
        w[i] ^= 0x10;
    }
    assert_int_equal(tq_vault_add_key(a, "tenant-1", 1, w, wl - 1, &err), -1);
    assert_string_equal(err.code, "vault_key_invalid");
    assert_int_equal(tq_vault_add_key(a, "tenant-1", 1, w, wl, &err), 0);
    /* Same version again with the same key: fine; with another key: refused. */
    assert_int_equal(tq_vault_add_key(a, "tenant-1", 1, w, wl, &err), 0);
    free(w);
    assert_int_equal(tq_vault_generate_key(a, "tenant-1", 1, &w, &wl, &err), 0);
    assert_int_equal(tq_vault_add_key(a, "tenant-1", 1, w, wl, &err), -1);
    assert_string_equal(err.code, "vault_key_conflict");
    free(w);
    tq_vault_destroy(&a);
    tq_vault_destroy(&b);
}

static void test_master_check(void **state)
{
    (void)state;
    tq_vault_t *a = tq_vault_new(MASTER_A), *a2 = tq_vault_new(MASTER_A);
    tq_vault_t *b = tq_vault_new(MASTER_B);
    unsigned char ca[32], ca2[32], cb[32];
    tq_vault_master_check(a, ca);
    tq_vault_master_check(a2, ca2);
    tq_vault_master_check(b, cb);
    assert_memory_equal(ca, ca2, 32);
    assert_memory_not_equal(ca, cb, 32);
    assert_memory_not_equal(ca, MASTER_A, 32);
    tq_vault_destroy(&a);
    tq_vault_destroy(&a2);
    tq_vault_destroy(&b);
}

static void test_key_versions(void **state)
{
    (void)state;
    tq_vault_t *v = tq_vault_new(MASTER_A);
    int cur = -1;
    assert_int_equal(tq_vault_has_tenant(v, "tenant-1", &cur), 0);
    assert_int_equal(cur, 0);

    unsigned char *w1 = NULL, *w2 = NULL;
    size_t wl1 = 0, wl2 = 0;
    tq_error_t err = {0};
    assert_int_equal(tq_vault_generate_key(v, "tenant-1", 1, &w1, &wl1, &err), 0);
    assert_int_equal(tq_vault_add_key(v, "tenant-1", 1, w1, wl1, &err), 0);
    assert_int_equal(tq_vault_has_tenant(v, "tenant-1", &cur), 1);
    assert_int_equal(cur, 1);
    unsigned char *s1 = NULL, *s2 = NULL;
    size_t n1 = 0, n2 = 0;
    seal(v, &AAD, "old s3cret", &s1, &n1);
    assert_int_equal(header_version(s1), 1);

    assert_int_equal(tq_vault_generate_key(v, "tenant-1", 2, &w2, &wl2, &err), 0);
    assert_int_equal(tq_vault_add_key(v, "tenant-1", 2, w2, wl2, &err), 0);
    assert_int_equal(tq_vault_has_tenant(v, "tenant-1", &cur), 1);
    assert_int_equal(cur, 2);
    seal(v, &AAD, "new s3cret", &s2, &n2);
    assert_int_equal(header_version(s2), 2);
    open_is(v, &AAD, s1, n1, "old s3cret");
    open_is(v, &AAD, s2, n2, "new s3cret");

    /* A process that only has v1 cannot open v2 and says so. */
    tq_vault_t *old = tq_vault_new(MASTER_A);
    assert_int_equal(tq_vault_add_key(old, "tenant-1", 1, w1, wl1, &err), 0);
    open_is(old, &AAD, s1, n1, "old s3cret");
    open_fails(old, &AAD, s2, n2, "vault_no_key");
    /* Installing in any order: the highest version is current. */
    tq_vault_t *rev = tq_vault_new(MASTER_A);
    assert_int_equal(tq_vault_add_key(rev, "tenant-1", 2, w2, wl2, &err), 0);
    assert_int_equal(tq_vault_add_key(rev, "tenant-1", 1, w1, wl1, &err), 0);
    assert_int_equal(tq_vault_has_tenant(rev, "tenant-1", &cur), 1);
    assert_int_equal(cur, 2);
    open_is(rev, &AAD, s1, n1, "old s3cret");

    free(w1);
    free(w2);
    free(s1);
    free(s2);
    tq_vault_destroy(&v);
    tq_vault_destroy(&old);
    tq_vault_destroy(&rev);
}

static void test_many_tenants(void **state)
{
    (void)state;
    tq_vault_t *v = tq_vault_new(MASTER_A);
    char id[32];
    for (int i = 0; i < 600; i++) {
        snprintf(id, sizeof id, "tenant-%d", i);
        install(v, id, 1 + i % 3);
    }
    for (int i = 0; i < 600; i++) {
        snprintf(id, sizeof id, "tenant-%d", i);
        int cur = 0;
        assert_int_equal(tq_vault_has_tenant(v, id, &cur), 1);
        assert_int_equal(cur, 1 + i % 3);
        tq_aad_t aad = {id, "t", "c", "r"};
        unsigned char *s = NULL;
        size_t n = 0;
        seal(v, &aad, id, &s, &n);
        open_is(v, &aad, s, n, id);
        free(s);
    }
    tq_vault_destroy(&v);
}

static void test_rewrap(void **state)
{
    (void)state;
    tq_vault_t *old = tq_vault_new(MASTER_A), *fresh = tq_vault_new(MASTER_B);
    unsigned char *w[2] = {NULL, NULL};
    size_t wl[2] = {0, 0};
    tq_error_t err = {0};
    for (int ver = 1; ver <= 2; ver++) {
        assert_int_equal(
            tq_vault_generate_key(old, "tenant-1", ver, &w[ver - 1], &wl[ver - 1], &err), 0);
        assert_int_equal(tq_vault_add_key(old, "tenant-1", ver, w[ver - 1], wl[ver - 1], &err), 0);
    }
    unsigned char *s = NULL;
    size_t n = 0;
    seal(old, &AAD, "s3cret under v2", &s, &n);

    /* Installed key, re-wrapped under the new master. */
    unsigned char *r = NULL;
    size_t rl = 0;
    assert_int_equal(tq_vault_rewrap(old, fresh, "tenant-1", 2, &r, &rl, &err), 0);
    assert_int_equal(tq_vault_add_key(fresh, "tenant-1", 2, r, rl, &err), 0);
    free(r);
    /* Stored wrapped key, re-wrapped without installing. */
    assert_int_equal(tq_vault_rewrap_stored(old, fresh, "tenant-1", 1, w[0], wl[0], &r, &rl, &err),
                     0);
    assert_int_equal(tq_vault_add_key(fresh, "tenant-1", 1, r, rl, &err), 0);
    assert_int_equal(tq_vault_add_key(old, "tenant-1", 1, r, rl, &err), -1);
    assert_string_equal(err.code, "vault_key_invalid");
    free(r);
    open_is(fresh, &AAD, s, n, "s3cret under v2");

    /* The old wrapping does not open under the new master. */
    assert_int_equal(tq_vault_add_key(fresh, "tenant-1", 1, w[0], wl[0], &err), -1);
    assert_string_equal(err.code, "vault_key_invalid");
    assert_int_equal(tq_vault_rewrap(old, fresh, "tenant-9", 1, &r, &rl, &err), -1);
    assert_string_equal(err.code, "vault_no_key");
    assert_int_equal(tq_vault_rewrap_stored(fresh, old, "tenant-1", 1, w[0], wl[0], &r, &rl, &err),
                     -1);
    assert_string_equal(err.code, "vault_key_invalid");

    free(w[0]);
    free(w[1]);
    free(s);
    tq_vault_destroy(&old);
    tq_vault_destroy(&fresh);
}

/* --- text form ---------------------------------------------------------------------------- */

static void test_text_form(void **state)
{
    (void)state;
    tq_vault_t *v = vault_with(MASTER_A, "tenant-1");
    tq_error_t err = {0};
    const char *plain = "{\"api_key\": \"s3cret-\xc3\xa9\"}";
    char *t = tq_vault_seal_text(v, &AAD, plain, &err);
    assert_non_null(t);
    assert_int_equal(strncmp(t, "tqv1:", 5), 0);
    assert_null(strchr(t, '\n'));
    assert_null(strstr(t, "s3cret"));
    char *p = tq_vault_open_text(v, &AAD, t, &err);
    assert_non_null(p);
    assert_string_equal(p, plain);
    free(p);

    tq_aad_t other = AAD;
    other.row_id = "row-2";
    assert_null(tq_vault_open_text(v, &other, t, &err));
    assert_string_equal(err.code, "vault_decrypt_failed");

    t[0] = 'x';
    assert_null(tq_vault_open_text(v, &AAD, t, &err));
    assert_string_equal(err.code, "vault_format");
    t[0] = 't';
    t[10] = '*';
    assert_null(tq_vault_open_text(v, &AAD, t, &err));
    assert_string_equal(err.code, "vault_format");
    assert_null(tq_vault_open_text(v, &AAD, "tqv1:", &err));
    assert_string_equal(err.code, "vault_format");
    assert_null(tq_vault_open_text(v, &AAD, "tqv1:AAAA", &err));
    assert_string_equal(err.code, "vault_format");
    assert_null(tq_vault_open_text(v, &AAD, "tqv1:AAA", &err)); /* not a multiple of 4 */
    assert_string_equal(err.code, "vault_format");
    assert_null(tq_vault_open_text(v, &AAD, NULL, &err));
    assert_string_equal(err.code, "vault_format");
    free(t);

    /* Binary plaintext with a NUL byte is not text. */
    unsigned char *s = NULL;
    size_t n = 0;
    assert_int_equal(tq_vault_seal(v, &AAD, "a\0b", 3, &s, &n, &err), 0);
    char text[128] = "tqv1:";
    EVP_EncodeBlock((unsigned char *)text + 5, s, (int)n);
    free(s);
    assert_null(tq_vault_open_text(v, &AAD, text, &err));
    assert_string_equal(err.code, "vault_format");
    tq_vault_destroy(&v);
}

/* --- master key file ----------------------------------------------------------------------- */

static char s_dir[64];

static int make_dir(void **state)
{
    (void)state;
    snprintf(s_dir, sizeof s_dir, "/tmp/tq_test_vault_XXXXXX");
    return mkdtemp(s_dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void path_of(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", s_dir, name);
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static void expect_load_error(const char *path, const char *code)
{
    unsigned char key[TQ_MASTER_KEY_LEN];
    tq_error_t err = {0};
    assert_int_equal(tq_master_key_load(path, key, &err), -1);
    assert_string_equal(err.code, code);
}

static void test_master_key_create_load(void **state)
{
    (void)state;
    char path[128];
    path_of(path, sizeof path, "master.key");
    tq_error_t err = {0};
    assert_int_equal(tq_master_key_create(path, &err), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 45); /* 44 base64 chars + newline */

    assert_int_equal(tq_master_key_create(path, &err), -1);
    assert_string_equal(err.code, "master_key_exists");

    unsigned char k1[TQ_MASTER_KEY_LEN], k2[TQ_MASTER_KEY_LEN];
    assert_int_equal(tq_master_key_load(path, k1, &err), 0);
    assert_int_equal(tq_master_key_load(path, k2, &err), 0);
    assert_memory_equal(k1, k2, sizeof k1);

    /* A second created key differs. */
    char path2[128];
    path_of(path2, sizeof path2, "master2.key");
    assert_int_equal(tq_master_key_create(path2, &err), 0);
    assert_int_equal(tq_master_key_load(path2, k2, &err), 0);
    assert_memory_not_equal(k1, k2, sizeof k1);

    /* The documented way to make one by hand. */
    char shell[256], path3[128];
    path_of(path3, sizeof path3, "shell.key");
    snprintf(shell, sizeof shell, "head -c32 /dev/urandom | base64 > '%s'", path3);
    assert_int_equal(system(shell), 0);
    assert_int_equal(chmod(path3, 0600), 0);
    assert_int_equal(tq_master_key_load(path3, k2, &err), 0);

    char nodir[160];
    path_of(nodir, sizeof nodir, "no/such/dir.key");
    assert_int_equal(tq_master_key_create(nodir, &err), -1);
    assert_string_equal(err.code, "master_key_io");
}

/* Exactly what `head -c32 /dev/urandom | base64` writes, with variations. */
static void test_master_key_formats(void **state)
{
    (void)state;
    char path[128];
    path_of(path, sizeof path, "k");
    unsigned char raw[32], key[TQ_MASTER_KEY_LEN];
    for (int i = 0; i < 32; i++)
        raw[i] = (unsigned char)(i * 37 + 5);
    char b64[64];
    EVP_EncodeBlock((unsigned char *)b64, raw, 32);
    tq_error_t err = {0};
    const char *suffixes[] = {"\n", "", "\r\n", "  \n\n", "\t"};
    for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
        char content[128];
        snprintf(content, sizeof content, "%s%s", b64, suffixes[i]);
        write_file(path, content, strlen(content), 0600);
        memset(key, 0, sizeof key);
        assert_int_equal(tq_master_key_load(path, key, &err), 0);
        assert_memory_equal(key, raw, 32);
    }

    const char *bad = "this is not base64 at all!!!!!!!!!!!!!!!!!!!\n";
    write_file(path, bad, strlen(bad), 0600);
    expect_load_error(path, "master_key_invalid");
    char b16[64], b33[64], content[160];
    EVP_EncodeBlock((unsigned char *)b16, raw, 16);
    snprintf(content, sizeof content, "%s\n", b16);
    write_file(path, content, strlen(content), 0600);
    expect_load_error(path, "master_key_invalid");
    unsigned char raw33[33] = {0};
    EVP_EncodeBlock((unsigned char *)b33, raw33, 33);
    snprintf(content, sizeof content, "%s\n", b33);
    write_file(path, content, strlen(content), 0600);
    expect_load_error(path, "master_key_invalid");
    write_file(path, "", 0, 0600);
    expect_load_error(path, "master_key_invalid");
    snprintf(content, sizeof content, "%.43s", b64); /* one char short */
    write_file(path, content, strlen(content), 0600);
    expect_load_error(path, "master_key_invalid");
    snprintf(content, sizeof content, "%s\n%s\n", b64, b64); /* two keys */
    write_file(path, content, strlen(content), 0600);
    expect_load_error(path, "master_key_invalid");
    char big[4096];
    memset(big, 'A', sizeof big);
    write_file(path, big, sizeof big, 0600);
    expect_load_error(path, "master_key_invalid");

    char missing[128];
    path_of(missing, sizeof missing, "missing.key");
    expect_load_error(missing, "master_key_missing");
    expect_load_error(s_dir, "master_key_invalid"); /* a directory */
}

/* A key file open to group or others, a symbolic link, or one owned by
 * another user refuses to load (master_key_unsafe); the key never shows. */
static void test_master_key_unsafe_refused(void **state)
{
    (void)state;
    char path[128], link[128];
    path_of(path, sizeof path, "open.key");
    path_of(link, sizeof link, "link.key");
    unsigned char raw[32] = {1, 2, 3}, key[TQ_MASTER_KEY_LEN];
    char b64[64], content[80];
    EVP_EncodeBlock((unsigned char *)b64, raw, 32);
    snprintf(content, sizeof content, "%s\n", b64);
    tq_error_t err = {0};
    const mode_t modes[] = {0644, 0640, 0604, 0620, 0602, 0610};
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++) {
        write_file(path, content, strlen(content), modes[i]);
        assert_int_equal(tq_master_key_load(path, key, &err), -1);
        assert_string_equal(err.code, "master_key_unsafe");
        assert_non_null(strstr(err.message, "chmod 600"));
        assert_null(strstr(err.message, b64)); /* never the key itself */
    }
    write_file(path, content, strlen(content), 0600);
    assert_int_equal(tq_master_key_load(path, key, &err), 0);
    assert_memory_equal(key, raw, 32);

    unlink(link);
    assert_int_equal(symlink(path, link), 0);
    assert_int_equal(tq_master_key_load(link, key, &err), -1);
    assert_string_equal(err.code, "master_key_unsafe");
    assert_non_null(strstr(err.message, "symbolic link"));
    unlink(link);

    /* Owned by another user: only root can hand a file to someone else. */
    if (geteuid() == 0) {
        assert_int_equal(chown(path, 65534, 65534), 0);
        assert_int_equal(tq_master_key_load(path, key, &err), -1);
        assert_string_equal(err.code, "master_key_unsafe");
        assert_non_null(strstr(err.message, "not by the service account"));
    }
    unlink(path);
}

/* Secret wipes go through OPENSSL_cleanse; the process is not dumpable. */
static void test_secure_wipe_and_process(void **state)
{
    (void)state;
    char s[] = "s3cret-value";
    tq_secure_wipe_str(s);
    for (size_t i = 0; i < sizeof s - 1; i++)
        assert_int_equal(s[i], 0);
    tq_secure_wipe_str(NULL);
    unsigned char b[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    tq_secure_wipe(b, sizeof b);
    for (size_t i = 0; i < sizeof b; i++)
        assert_int_equal(b[i], 0);
    assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 1);
    tq_secure_process();
    assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_empty_plaintext),
        cmocka_unit_test(test_tamper_every_byte),
        cmocka_unit_test(test_format_matches_spec),
        cmocka_unit_test(test_truncated_and_format),
        cmocka_unit_test(test_binding),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_wrong_master),
        cmocka_unit_test(test_master_check),
        cmocka_unit_test(test_key_versions),
        cmocka_unit_test(test_many_tenants),
        cmocka_unit_test(test_rewrap),
        cmocka_unit_test(test_text_form),
        cmocka_unit_test(test_master_key_create_load),
        cmocka_unit_test(test_master_key_formats),
        cmocka_unit_test(test_master_key_unsafe_refused),
        cmocka_unit_test(test_secure_wipe_and_process),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
