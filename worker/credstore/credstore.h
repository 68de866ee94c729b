/* credstore.h — named credentials (table tq_credentials, schemas/
 * 002_credentials.sql): parameterized SQL always scoped by tenant_id, fields
 * sealed with the vault (AAD = tenant, "tq_credentials", "encrypted_data",
 * id: the only place that seals or opens them), masking for every read.
 * The OAuth statements on the same table are in credstore_oauth.h.
 * Plaintext fields exist only in the worker, only while a call needs them.
 * Never logs; no secret in an error. */
#ifndef TQ_CREDSTORE_H
#define TQ_CREDSTORE_H

#include <jansson.h>
#include <libpq-fe.h>

#include "error.h"
#include "vault.h"

/* A decrypted credential. */
typedef struct {
    char id[37];
    char *name;
    char *type;
    char *plugin_id;
    char *status;
    json_t *fields;          /* {name: string}; secrets in clear */
    long long expires_at_ms; /* Unix ms; 0 when the credential does not expire */
    json_t *metadata;        /* clear metadata (provider, grant ...) */
} tq_credstore_cred_t;

/* Inserts; fields (object of strings) sealed. Errors: credential_exists,
 * db_error/db_unavailable, vault errors. */
int tq_credstore_create(PGconn *db, tq_vault_t *vault, const char *tenant_id, const char *name,
                        const char *type, const char *plugin_id, const json_t *fields,
                        const json_t *metadata, char id_out[37], tq_error_t *err);
/* Loads and decrypts one credential (credential_not_found). Free with
 * tq_credstore_free (wipes the secrets). */
tq_credstore_cred_t *tq_credstore_load(PGconn *db, tq_vault_t *vault, const char *tenant_id,
                                       const char *name, tq_error_t *err);
void tq_credstore_free(tq_credstore_cred_t **cred_p);
/* [{id, name, type, plugin, status, expires_at, created_at, updated_at}]. */
json_t *tq_credstore_list(PGconn *db, const char *tenant_id, tq_error_t *err);
/* The row with masked fields ({..., "fields": {name: masked}}); oauth2
 * credentials add "refresh_attempts": [{at, outcome, error_code}], the last
 * 20 from tq_credential_refreshes, newest first. */
json_t *tq_credstore_show(PGconn *db, tq_vault_t *vault, const char *tenant_id, const char *name,
                          tq_error_t *err);
/* 0, or -1 with credential_not_found. */
int tq_credstore_delete(PGconn *db, const char *tenant_id, const char *name, tq_error_t *err);
/* Deletes and hands back what was deleted, decrypted (for revocation at the
 * provider after the row is gone). NULL with credential_not_found when
 * there was no row; when the row was deleted but cannot be opened, NULL
 * with the vault error and *deleted set. */
tq_credstore_cred_t *tq_credstore_take(PGconn *db, tq_vault_t *vault, const char *tenant_id,
                                       const char *name, int *deleted, tq_error_t *err);

/* The origins a credential may be sent to (metadata.origins, docs/
 * security-hardening.md): records origins when the credential has none yet
 * (an OAuth or older credential, bound on first use), and returns the
 * origins now in force (a new reference), or NULL with err. */
json_t *tq_credstore_bind_origins(PGconn *db, const char *tenant_id, const char *name,
                                  const json_t *origins, tq_error_t *err);

/* Seals fields (an object of strings) for credential id of tenant: the
 * encrypted_data text, new (free), or NULL with err (vault errors). */
char *tq_credstore_seal(tq_vault_t *vault, const char *tenant_id, const char *id,
                        const json_t *fields, tq_error_t *err);
/* Opens the encrypted_data of credential id of tenant: the fields, new
 * (json_decref after wiping them), or NULL with credential_corrupt or a
 * vault error. */
json_t *tq_credstore_open(tq_vault_t *vault, const char *tenant_id, const char *id,
                          const char *sealed, tq_error_t *err);

/* Field names shown in clear (not secret): username, region, location ... */
int tq_credstore_field_is_public(const char *name);
/* A copy of fields with every secret field masked (tq_mask_secret). */
json_t *tq_credstore_mask_fields(const json_t *fields);

#endif
