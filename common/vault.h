/* vault.h — AES-256-GCM envelope encryption for everything secret at rest.
 *
 * A master key (32 bytes, from a base64 key file) wraps one random 32-byte
 * data key per (tenant, version). Ciphertexts carry a format version and the
 * data key version, and are bound by AAD to (tenant, table, column, row id):
 * a ciphertext copied to another row, column, table or tenant fails to
 * decrypt. The vault is an in-memory keyring; keystore.h persists wrapped
 * keys in PostgreSQL. Never logs, never returns key material in errors. */
#ifndef TQ_VAULT_H
#define TQ_VAULT_H

#include "error.h"
#include <stddef.h>

#define TQ_MASTER_KEY_LEN 32

typedef struct tq_vault_t tq_vault_t;

/* What a ciphertext is bound to. All four are required (row_id may be any
 * stable unique string, e.g. a uuid). */
typedef struct {
    const char *tenant_id;
    const char *table;
    const char *column;
    const char *row_id;
} tq_aad_t;

/* Key file: 32 random bytes, base64, as `head -c32 /dev/urandom | base64`
 * writes it (trailing newline allowed). Errors: "master_key_missing",
 * "master_key_invalid" (wrong length or not base64, not a regular file),
 * "master_key_unsafe": the file is a symbolic link, has any permission for
 * group or others (chmod 600), or is not owned by the running user (the
 * service account). */
int tq_master_key_load(const char *path, unsigned char key[TQ_MASTER_KEY_LEN], tq_error_t *err);

/* Wipes n bytes that held a secret so the compiler cannot drop the wipe
 * (OPENSSL_cleanse). The one wipe for every secret in the tree. */
void tq_secure_wipe(void *p, size_t n);
/* Wipes a NUL-terminated string in place (NULL is fine). */
void tq_secure_wipe_str(char *s);
/* Wipes, then frees, a malloc'd string that held a secret (NULL is fine). */
void tq_secure_free_str(char *s);
/* Keeps key material out of core dumps: marks the process not dumpable
 * (PR_SET_DUMPABLE 0, which also refuses ptrace by other processes of the
 * same user). Broker and workers call it first thing. */
void tq_secure_process(void);
/* Creates a new key file with mode 0600; fails if it already exists. */
int tq_master_key_create(const char *path, tq_error_t *err);

tq_vault_t *tq_vault_new(const unsigned char master[TQ_MASTER_KEY_LEN]);
void tq_vault_destroy(tq_vault_t **self_p);

/* A check value for the master key (HMAC-SHA256 of a fixed label), stored
 * with the database so a wrong key is refused at start-up. 32 bytes. */
void tq_vault_master_check(const tq_vault_t *self, unsigned char out[32]);

/* Tenant data keys. Wrapped form = AES-256-GCM(master, data key) with AAD
 * (tenant, version); opaque bytes. */
int tq_vault_generate_key(tq_vault_t *self, const char *tenant_id, int version,
                          unsigned char **wrapped, size_t *wrapped_len, tq_error_t *err);
/* Unwraps and installs a stored key; error "vault_key_invalid" when the
 * master key does not open it. The highest installed version of a tenant is
 * the one used for new ciphertexts. */
int tq_vault_add_key(tq_vault_t *self, const char *tenant_id, int version,
                     const unsigned char *wrapped, size_t wrapped_len, tq_error_t *err);
/* 1 when the tenant has at least one key installed, and its current version. */
int tq_vault_has_tenant(const tq_vault_t *self, const char *tenant_id, int *current_version);
/* Re-wraps an installed key under another master key (rotation). */
int tq_vault_rewrap(const tq_vault_t *self, const tq_vault_t *new_master, const char *tenant_id,
                    int version, unsigned char **wrapped, size_t *wrapped_len, tq_error_t *err);
/* Same for a stored wrapped key that need not be installed in self (the
 * keystore's master rotation walks every tenant). "vault_key_invalid" when
 * self's master does not open it. */
int tq_vault_rewrap_stored(const tq_vault_t *self, const tq_vault_t *new_master,
                           const char *tenant_id, int version, const unsigned char *wrapped,
                           size_t wrapped_len, unsigned char **out, size_t *out_len,
                           tq_error_t *err);

/* Installs under (to_tenant, to_version) the key HKDF-SHA256(data key of
 * (from_tenant, from_version), info): keys derived per period from one stored
 * key (the journal's key of the day). "vault_no_key" when the source is not
 * installed. */
int tq_vault_derive_key(tq_vault_t *self, const char *from_tenant, int from_version,
                        const char *info, const char *to_tenant, int to_version, tq_error_t *err);
/* The data key version a binary ciphertext was sealed with, or -1. */
int tq_vault_sealed_version(const unsigned char *sealed, size_t sealed_len);

/* Binary ciphertext: [format 0x01][key version u32 BE][nonce 12][ct][tag 16].
 * Errors: "vault_no_key" (tenant key not installed), "vault_decrypt_failed"
 * (tampered, wrong binding or wrong key), "vault_format" (unknown version,
 * too short). Output is malloc'd. */
int tq_vault_seal(const tq_vault_t *self, const tq_aad_t *aad, const void *plain, size_t plain_len,
                  unsigned char **out, size_t *out_len, tq_error_t *err);
int tq_vault_open(const tq_vault_t *self, const tq_aad_t *aad, const unsigned char *sealed,
                  size_t sealed_len, unsigned char **out, size_t *out_len, tq_error_t *err);
/* Text form for text columns: "tqv1:" + base64(binary). open_text returns a
 * NUL-terminated string (plaintext must be text). */
char *tq_vault_seal_text(const tq_vault_t *self, const tq_aad_t *aad, const char *plain,
                         tq_error_t *err);
char *tq_vault_open_text(const tq_vault_t *self, const tq_aad_t *aad, const char *sealed,
                         tq_error_t *err);
/* Opens a text ciphertext that holds a JSON object (credentials, OAuth
 * params): a new object, the plaintext wiped. A readable ciphertext that is
 * not a JSON object is error `corrupt_code` (the caller's stable code). */
struct json_t;
struct json_t *tq_vault_open_json(const tq_vault_t *self, const tq_aad_t *aad, const char *sealed,
                                  const char *corrupt_code, tq_error_t *err);

#endif
