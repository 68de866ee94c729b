/* op_admin.c — key rotation ops (operator-only system ops, common/ops.def):
 *
 *   admin.rotate_tenant_key {"tenant": T}  adds a data key version for T (a
 *       tenant name or uuid, or "*system*" for the journal's key source): new
 *       writes use it, everything sealed before still opens; workers reload
 *       T's keys on the NOTIFY keystore sends.
 *   admin.rotate_master {}  draws a new master key into master_key_file.new
 *       (0600), re-wraps every tenant key under it in one transaction, then
 *       renames it over master_key_file. Processes keep the old master in
 *       memory: the result says restart_required, and a worker that loads a
 *       tenant's keys for the first time fails (vault_key_invalid) until the
 *       broker restarts.
 *
 * Owns nothing but these two handlers. Must never: put key material in a
 * result, a message or a log line, or leave a new key file behind when the
 * database rotation did not commit. */
#include "keystore.h"
#include "op.h"
#include "vault.h"

#include "ids.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void rotate_tenant_key_start(tq_job_t *job)
{
    const char *tenant = tq_job_arg_str(job, "tenant");
    char uuid[TQ_UUID_STR_LEN + 1];
    if (!tenant || (strcmp(tenant, "*system*") != 0 && tq_tenant_uuid(tenant, uuid) != 0)) {
        tq_job_fail(job, "invalid_payload",
                    "admin.rotate_tenant_key needs {\"tenant\": NAME} (a tenant name or uuid, or "
                    "*system*)",
                    false);
        return;
    }
    const char *id = strcmp(tenant, "*system*") == 0 ? tenant : uuid;
    tq_error_t err = {0};
    PGconn *db = tq_job_db(job, &err);
    tq_vault_t *vault = db ? tq_job_vault(job, &err) : NULL;
    if (!vault || tq_keystore_ensure_tenant(db, vault, id, &err)) {
        tq_job_fail_err(job, &err, tq_error_retryable(err.code));
        return;
    }
    int version = tq_keystore_add_version(db, vault, id, &err);
    if (version < 0) {
        tq_job_fail_err(job, &err, tq_error_retryable(err.code));
        return;
    }
    tq_job_done(job, json_pack("{s:s,s:i}", "tenant", tenant, "version", version));
}

static void rotate_master_start(tq_job_t *job)
{
    const char *path = tq_config_str(tq_job_config(job), "master_key_file");
    char fresh[4096];
    tq_error_t err = {0};
    if (snprintf(fresh, sizeof fresh, "%s.new", path) >= (int)sizeof fresh) {
        tq_job_fail(job, "invalid_config", "master_key_file is too long", false);
        return;
    }
    PGconn *db = tq_job_db(job, &err);
    tq_vault_t *old = db ? tq_job_vault(job, &err) : NULL;
    if (!old) {
        tq_job_fail_err(job, &err, tq_error_retryable(err.code));
        return;
    }
    if (tq_master_key_create(fresh, &err)) { /* O_EXCL: a leftover .new is reported */
        tq_job_fail_err(job, &err, false);
        return;
    }
    unsigned char key[TQ_MASTER_KEY_LEN];
    tq_vault_t *next = NULL;
    int n = -1;
    if (tq_master_key_load(fresh, key, &err) == 0 && (next = tq_vault_new(key)) != NULL)
        n = tq_keystore_rotate_master(db, old, next, &err);
    tq_secure_wipe(key, sizeof key);
    tq_vault_destroy(&next);
    if (n < 0) {
        unlink(fresh);
        tq_job_fail_err(job, &err, false);
        return;
    }
    if (rename(fresh, path) != 0) {
        char msg[4096 + 600];
        snprintf(msg, sizeof msg,
                 "the keys were re-wrapped under the new master key in %s, but it could not "
                 "replace master_key_file (%s): move it there before restarting",
                 fresh, strerror(errno));
        tq_job_fail(job, "master_key_not_installed", msg, false);
        return;
    }
    tq_job_done(job, json_pack("{s:i,s:b,s:s}", "rewrapped", n, "restart_required", 1, "note",
                               "restart toolq-broker now: running processes hold the old key"));
}

const tq_op_t tq_op_admin_rotate_tenant_key = {"admin.rotate_tenant_key", rotate_tenant_key_start};
const tq_op_t tq_op_admin_rotate_master = {"admin.rotate_master", rotate_master_start};
