/* keystore.h — persists the vault's wrapped tenant keys in PostgreSQL
 * (tables tq_vault_meta and tq_tenant_keys, see schemas/001_init.sql) with
 * blocking libpq calls. Used at start-up by the broker, and by workers when a
 * tenant's key is first needed. Never stores a key unwrapped. */
#ifndef TQ_KEYSTORE_H
#define TQ_KEYSTORE_H

#include "vault.h"
#include <libpq-fe.h>

/* Start-up check. Fresh database (no tq_vault_meta row and no tenant keys):
 * records the master key's check value. Otherwise compares: a mismatch is
 * error "master_key_mismatch" ("the master key does not match this database;
 * a new key would orphan every stored secret"). A database with tenant keys
 * but no check row is refused too. */
int tq_keystore_check_master(PGconn *db, const tq_vault_t *vault, tq_error_t *err);

/* Makes sure the tenant's keys are installed in the vault: loads every
 * stored version, or creates version 1 when the tenant has none (safe when
 * several processes race: INSERT ... ON CONFLICT DO NOTHING, then re-read). */
int tq_keystore_ensure_tenant(PGconn *db, tq_vault_t *vault, const char *tenant_id,
                              tq_error_t *err);

/* PostgreSQL NOTIFY channel announcing a tenant's new key version (payload:
 * the tenant id); workers reload that tenant's keys before its next use. */
#define TQ_KEYS_CHANNEL "tq_keys"

/* Adds a new data key version for the tenant (new writes use it; old
 * ciphertexts still open) and announces it on TQ_KEYS_CHANNEL. Returns the
 * new version or -1. */
int tq_keystore_add_version(PGconn *db, tq_vault_t *vault, const char *tenant_id, tq_error_t *err);

/* Master key rotation: re-wraps every tenant key under new_master and
 * replaces the check value, in one transaction. Returns keys re-wrapped or -1. */
int tq_keystore_rotate_master(PGconn *db, const tq_vault_t *old_master,
                              const tq_vault_t *new_master, tq_error_t *err);

#endif
