/* oauth_state.c — SQL and crypto of tq_oauth_states. Owns every statement
 * on that table but the broker listener's existence check and start claim
 * (broker/oauth_gate.c). Never logs and never returns a state, hash,
 * binding token or verifier in an error message. */
#include "oauth_state.h"
#include "vault.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keystore.h"
#include "pg.h"
#include "mem.h"

void tq_oauth_b64url(const unsigned char *p, size_t n, char *out)
{
    int len = EVP_EncodeBlock((unsigned char *)out, p, (int)n);
    while (len > 0 && out[len - 1] == '=')
        len--;
    out[len] = '\0';
    for (int i = 0; i < len; i++) {
        if (out[i] == '+') out[i] = '-';
        if (out[i] == '/') out[i] = '_';
    }
}

static void sha256_hex(const char *s, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)s, strlen(s), md);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

int tq_oauth_state_create(PGconn *db, tq_vault_t *vault, const tq_oauth_state_new_t *in,
                          char state[TQ_OAUTH_B64_256], char challenge[TQ_OAUTH_B64_256],
                          tq_error_t *err)
{
    unsigned char rnd[32], vrnd[32];
    if (RAND_bytes(rnd, sizeof rnd) != 1 || RAND_bytes(vrnd, sizeof vrnd) != 1)
        return tq_error_set(err, "crypto_error", "no random bytes for the OAuth state");
    tq_oauth_b64url(rnd, sizeof rnd, state);
    char hash[65];
    sha256_hex(state, hash);
    char *sealed = NULL;
    challenge[0] = '\0';
    if (in->pkce) {
        char verifier[TQ_OAUTH_B64_256];
        tq_oauth_b64url(vrnd, sizeof vrnd, verifier);
        unsigned char md[SHA256_DIGEST_LENGTH];
        SHA256((const unsigned char *)verifier, strlen(verifier), md);
        tq_oauth_b64url(md, sizeof md, challenge);
        tq_aad_t aad = {in->tenant_id, "tq_oauth_states", "code_verifier", hash};
        sealed = tq_vault_seal_text(vault, &aad, verifier, err);
        tq_secure_wipe(verifier, sizeof verifier);
        if (!sealed) return -1;
    }
    tq_secure_wipe(vrnd, sizeof vrnd);
    tq_secure_wipe(rnd, sizeof rnd);
    char ttl[24];
    snprintf(ttl, sizeof ttl, "%d", in->ttl_s > 0 ? in->ttl_s : 600);
    const char *p[] = {hash,
                       in->tenant_id,
                       in->plugin_id,
                       in->provider,
                       sealed,
                       in->redirect_uri,
                       in->scopes ? in->scopes : "",
                       in->credential_name,
                       in->issuer,
                       in->iss_required ? "true" : "false",
                       ttl,
                       in->tenant_name,
                       in->binding_hash};
    int rc = tq_pg_run(db, err,
                       "INSERT INTO tq_oauth_states (state_hash, tenant_id, plugin_id, provider, "
                       "code_verifier, redirect_uri, scopes, credential_name, issuer, "
                       "iss_required, expires_at, tenant_name, binding_hash) VALUES ($1, $2, $3, "
                       "$4, $5, $6, $7, $8, $9, $10::boolean, "
                       "now() + make_interval(secs => $11::int), $12, $13)",
                       13, p);
    free(sealed);
    /* housekeeping: states long past their expiry are useless */
    if (rc == 0)
        tq_pg_run(db, NULL,
                  "DELETE FROM tq_oauth_states WHERE expires_at < now() - interval '1 day'", 0,
                  NULL);
    return rc;
}

int tq_oauth_state_set_authorize_url(PGconn *db, const char *state, const char *url,
                                     tq_error_t *err)
{
    char hash[65];
    sha256_hex(state, hash);
    const char *p[] = {hash, url};
    return tq_pg_run(db, err, "UPDATE tq_oauth_states SET authorize_url = $2 WHERE state_hash = $1",
                     2, p);
}

int tq_oauth_binding_new(char token[TQ_OAUTH_B64_256], char hash[65], tq_error_t *err)
{
    unsigned char rnd[32];
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        return tq_error_set(err, "crypto_error", "no random bytes for the OAuth binding");
    tq_oauth_b64url(rnd, sizeof rnd, token);
    tq_secure_wipe(rnd, sizeof rnd);
    sha256_hex(token, hash);
    return 0;
}

static char *dup(const char *s)
{
    char *d = tq_xstrdup(s ? s : "");
    return d;
}

tq_oauth_state_t *tq_oauth_state_consume(PGconn *db, tq_vault_t *vault, const char *state,
                                         const char *binding, tq_error_t *err)
{
    if (!state || !*state || strlen(state) > 512) {
        tq_error_set(err, "oauth_state_invalid", "the callback carries no valid state");
        return NULL;
    }
    char hash[65], bhash[65] = "";
    sha256_hex(state, hash);
    if (binding && *binding && strlen(binding) <= 512) sha256_hex(binding, bhash);
    const char *p[] = {hash, bhash};
    PGresult *r = tq_pg_exec(db, err,
                             "UPDATE tq_oauth_states SET used_at = now() WHERE state_hash = $1 "
                             "AND used_at IS NULL AND binding_hash = $2 RETURNING tenant_id, "
                             "plugin_id, provider, code_verifier, redirect_uri, scopes, "
                             "credential_name, issuer, iss_required, expires_at < now(), "
                             "tenant_name",
                             2, p);
    if (!r) return NULL;
    if (PQntuples(r) != 1) {
        PQclear(r);
        r = tq_pg_exec(
            db, err, "SELECT used_at IS NOT NULL FROM tq_oauth_states WHERE state_hash = $1", 1, p);
        if (!r) return NULL;
        int known = PQntuples(r) == 1;
        int used = known && PQgetvalue(r, 0, 0)[0] == 't';
        PQclear(r);
        if (used)
            tq_error_set(err, "oauth_state_used",
                         "this authorization was already completed (the state is single use)");
        else if (known)
            tq_error_set(err, "oauth_browser_mismatch",
                         "this authorization was started in another browser (no or another "
                         "binding token); finish it where it was started");
        else
            tq_error_set(err, "oauth_state_invalid",
                         "unknown state: the callback does not match an authorization started "
                         "here");
        return NULL;
    }
    if (PQgetvalue(r, 0, 9)[0] == 't') {
        PQclear(r);
        tq_error_set(err, "oauth_state_expired",
                     "the authorization took too long (the state expired); start again");
        return NULL;
    }
    tq_oauth_state_t *s = tq_xcalloc(1, sizeof *s);
    snprintf(s->tenant_id, sizeof s->tenant_id, "%s", PQgetvalue(r, 0, 0));
    s->plugin_id = dup(PQgetvalue(r, 0, 1));
    s->provider = dup(PQgetvalue(r, 0, 2));
    s->redirect_uri = dup(PQgetvalue(r, 0, 4));
    s->scopes = dup(PQgetvalue(r, 0, 5));
    s->credential_name = dup(PQgetvalue(r, 0, 6));
    s->issuer = PQgetisnull(r, 0, 7) ? NULL : dup(PQgetvalue(r, 0, 7));
    s->iss_required = PQgetvalue(r, 0, 8)[0] == 't';
    s->tenant_name = PQgetisnull(r, 0, 10) ? NULL : dup(PQgetvalue(r, 0, 10));
    if (!PQgetisnull(r, 0, 3)) {
        tq_aad_t aad = {s->tenant_id, "tq_oauth_states", "code_verifier", hash};
        if (tq_keystore_ensure_tenant(db, vault, s->tenant_id, err) == 0)
            s->code_verifier = tq_vault_open_text(vault, &aad, PQgetvalue(r, 0, 3), err);
        if (!s->code_verifier) {
            PQclear(r);
            tq_oauth_state_free(&s);
            return NULL;
        }
    }
    PQclear(r);
    return s;
}

void tq_oauth_state_free(tq_oauth_state_t **self_p)
{
    if (!self_p || !*self_p) return;
    tq_oauth_state_t *s = *self_p;
    if (s->code_verifier) {
        tq_secure_wipe_str(s->code_verifier);
        free(s->code_verifier);
    }
    free(s->plugin_id);
    free(s->provider);
    free(s->redirect_uri);
    free(s->scopes);
    free(s->credential_name);
    free(s->issuer);
    free(s->tenant_name);
    free(s);
    *self_p = NULL;
}
