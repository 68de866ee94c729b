/* tq_seed_oauth.c — seeds oauth2 credentials straight into the database for
 * scripts/bench-refresh: N rows "NAME_PREFIX<i>" of one tenant, tokens sealed
 * with the vault exactly like the worker seals them (oauth_cred.c: compact
 * JSON with sorted keys, AAD tenant, "tq_credentials", "encrypted_data", id), status active,
 * expiring in EXPIRES_IN seconds, refresh token "seed-rt-<prefix><i>".
 *   tq-seed-oauth --tenant T --count N [--expires-in S] [--plugin P]
 *                 [--provider X] [--name-prefix P]
 * Needs TOOLQ_DATABASE_URL (migrated: run the broker once) and
 * TOOLQ_MASTER_KEY_FILE. One transaction. Test-only. */
#include <jansson.h>
#include <libpq-fe.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ids.h"
#include "keystore.h"
#include "pg.h"
#include "vault.h"

static int fail(const char *what, const tq_error_t *err)
{
    fprintf(stderr, "tq-seed-oauth: %s: %s %s\n", what, err ? err->code : "",
            err ? err->message : "");
    return 1;
}

int main(int argc, char **argv)
{
    const char *tenant = NULL, *plugin = "oauth2", *provider = "bench", *prefix = "bench-";
    long count = 0, expires_in = 60;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) goto usage;
        if (!strcmp(a, "--tenant"))
            tenant = v;
        else if (!strcmp(a, "--count"))
            count = strtol(v, NULL, 10);
        else if (!strcmp(a, "--expires-in"))
            expires_in = strtol(v, NULL, 10);
        else if (!strcmp(a, "--plugin"))
            plugin = v;
        else if (!strcmp(a, "--provider"))
            provider = v;
        else if (!strcmp(a, "--name-prefix"))
            prefix = v;
        else
            goto usage;
        i++;
    }
    if (!tenant || count <= 0) goto usage;
    tq_error_t err = {0};
    unsigned char key[TQ_MASTER_KEY_LEN];
    const char *url = getenv("TOOLQ_DATABASE_URL"), *kf = getenv("TOOLQ_MASTER_KEY_FILE");
    if (!url || !kf) {
        fprintf(stderr, "tq-seed-oauth: set TOOLQ_DATABASE_URL and TOOLQ_MASTER_KEY_FILE\n");
        return 2;
    }
    if (tq_master_key_load(kf, key, &err)) return fail("master key", &err);
    tq_vault_t *vault = tq_vault_new(key);
    memset(key, 0, sizeof key);
    PGconn *db = tq_pg_connect(url, &err);
    if (!db) return fail("database", &err);
    char tid[TQ_UUID_STR_LEN + 1];
    if (tq_tenant_uuid(tenant, tid)) {
        fprintf(stderr, "tq-seed-oauth: bad tenant\n");
        return 2;
    }
    if (tq_keystore_ensure_tenant(db, vault, tid, &err)) return fail("tenant key", &err);
    json_t *meta = json_pack("{s:s,s:s,s:s,s:{}}", "plugin", plugin, "provider", provider, "grant",
                             "authorization_code", "provider_metadata");
    char *mtext = json_dumps(meta, JSON_COMPACT);
    json_decref(meta);
    char exp[24];
    snprintf(exp, sizeof exp, "%ld", expires_in);
    if (tq_pg_run(db, &err, "BEGIN", 0, NULL)) return fail("begin", &err);
    for (long i = 0; i < count; i++) {
        char id[TQ_UUID_STR_LEN + 1], name[300], rt[96], at[96];
        tq_uuid_v7(id);
        snprintf(name, sizeof name, "%s%ld", prefix, i);
        snprintf(rt, sizeof rt, "seed-rt-%.40s%ld", prefix, i);
        snprintf(at, sizeof at, "seed-at-%.40s%ld", prefix, i);
        json_t *f = json_pack("{s:s,s:s,s:s}", "access_token", at, "refresh_token", rt,
                              "token_type", "Bearer");
        char *plain = json_dumps(f, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(f);
        tq_aad_t aad = {tid, "tq_credentials", "encrypted_data", id};
        char *sealed = plain ? tq_vault_seal_text(vault, &aad, plain, &err) : NULL;
        free(plain);
        if (!sealed) return fail("seal", &err);
        const char *p[] = {id, tid, name, plugin, sealed, mtext, exp};
        int rc = tq_pg_run(db, &err,
                           "INSERT INTO tq_credentials (id, tenant_id, name, type, plugin_id, "
                           "encrypted_data, metadata, status, expires_at, refreshed_at) VALUES "
                           "($1, $2, $3, 'oauth2', $4, $5, $6::jsonb, 'active', now() + "
                           "make_interval(secs => $7::float8), now() - interval '1 hour')",
                           7, p);
        free(sealed);
        if (rc) return fail("insert", &err);
    }
    if (tq_pg_run(db, &err, "COMMIT", 0, NULL)) return fail("commit", &err);
    free(mtext);
    PQfinish(db);
    tq_vault_destroy(&vault);
    printf("%ld\n", count);
    return 0;
usage:
    fprintf(stderr, "usage: tq-seed-oauth --tenant T --count N [--expires-in S] [--plugin P] "
                    "[--provider X] [--name-prefix P]\n");
    return 2;
}
