/* oauth_gate.c — the HTTP listener's checks on tq_oauth_states (see
 * oauth_gate.h).
 *
 * Owns: one blocking libpq connection (listener threads only, never the
 * broker loop), the read-only existence check of a callback's state and the
 * start claim (the only write: binding_hash and started_at of an unclaimed
 * row).
 * Must never: consume a state (oauth.exchange in a worker does), log or put a
 * state, binding token or hash in an error message, run on the broker loop. */
#include "oauth_gate.h"

#include "pg.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tq_oauth_gate_t {
    pthread_mutex_t mu;
    char *conninfo;
    PGconn *db;
};

tq_oauth_gate_t *tq_oauth_gate_new(const char *conninfo)
{
    tq_oauth_gate_t *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->conninfo = strdup(conninfo ? conninfo : "");
    if (!g->conninfo) {
        free(g);
        return NULL;
    }
    pthread_mutex_init(&g->mu, NULL);
    return g;
}

void tq_oauth_gate_destroy(tq_oauth_gate_t **self_p)
{
    if (!self_p || !*self_p) return;
    tq_oauth_gate_t *g = *self_p;
    if (g->db) PQfinish(g->db);
    pthread_mutex_destroy(&g->mu);
    free(g->conninfo);
    free(g);
    *self_p = NULL;
}

bool tq_oauth_gate_state_shape_ok(const char *state)
{
    if (!state || strlen(state) != 43) return false;
    for (const char *p = state; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_'))
            return false;
    return true;
}

void tq_oauth_gate_sha256_hex(const char *s, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)s, strlen(s), md);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Runs one statement under the mutex, (re)connecting first when needed. */
static PGresult *gate_exec(tq_oauth_gate_t *g, const char *sql, int n, const char *const *p,
                           tq_error_t *err)
{
    pthread_mutex_lock(&g->mu);
    if (!g->db) {
        g->db = tq_pg_connect(g->conninfo, err);
        if (g->db && tq_pg_run(g->db, err, "SET statement_timeout = 3000", 0, NULL)) {
            PQfinish(g->db);
            g->db = NULL;
        }
    }
    PGresult *r = g->db ? tq_pg_exec(g->db, err, sql, n, p) : NULL;
    if (!r && g->db && PQstatus(g->db) != CONNECTION_OK) {
        PQfinish(g->db);
        g->db = NULL;
    }
    pthread_mutex_unlock(&g->mu);
    if (!r && err) /* a query error is the database's trouble, not the caller's */
        tq_error_set(err, "db_unavailable", "the OAuth state cannot be checked now; try again");
    return r;
}

#define STATE_ROW                                                                                  \
    "SELECT used_at IS NOT NULL, expires_at < now(), binding_hash FROM tq_oauth_states "           \
    "WHERE state_hash = $1"

int tq_oauth_gate_check(tq_oauth_gate_t *g, const char *state, const char *binding, bool *used,
                        tq_error_t *err)
{
    *used = false;
    if (!tq_oauth_gate_state_shape_ok(state))
        return tq_error_set(err, "oauth_state_invalid",
                            "the callback's state is not one toolq makes (43 base64url "
                            "characters); start the authorization again");
    char hash[65];
    tq_oauth_gate_sha256_hex(state, hash);
    const char *p[] = {hash};
    PGresult *r = gate_exec(g, STATE_ROW, 1, p, err);
    if (!r) return -1;
    int rc = 0;
    if (PQntuples(r) != 1) {
        rc = tq_error_set(err, "oauth_state_invalid",
                          "unknown state: the callback does not match an authorization started "
                          "here");
    } else {
        bool is_used = PQgetvalue(r, 0, 0)[0] == 't';
        bool expired = PQgetvalue(r, 0, 1)[0] == 't';
        bool match = false;
        if (!PQgetisnull(r, 0, 2) && binding && *binding && strlen(binding) <= 512) {
            char bh[65];
            tq_oauth_gate_sha256_hex(binding, bh);
            match = strlen(PQgetvalue(r, 0, 2)) == 64 &&
                    CRYPTO_memcmp(bh, PQgetvalue(r, 0, 2), 64) == 0;
        }
        if (is_used && match)
            *used = true;
        else if (is_used)
            rc = tq_error_set(err, "oauth_state_used",
                              "this authorization was already completed (the state is single "
                              "use)");
        else if (!match)
            rc = tq_error_set(err, "oauth_browser_mismatch",
                              "this authorization was not started in this browser (its "
                              "toolq start link was opened elsewhere, or cookies are off); "
                              "nothing was exchanged");
        else if (expired)
            rc = tq_error_set(err, "oauth_state_expired",
                              "the authorization took too long (the state expired); start again");
    }
    PQclear(r);
    return rc;
}

char *tq_oauth_gate_start(tq_oauth_gate_t *g, const char *state, const char *binding_hash,
                          int *ttl_s, tq_error_t *err)
{
    if (!tq_oauth_gate_state_shape_ok(state)) {
        tq_error_set(err, "oauth_state_invalid",
                     "the start link's state is not one toolq makes; start the authorization "
                     "again");
        return NULL;
    }
    char hash[65];
    tq_oauth_gate_sha256_hex(state, hash);
    const char *p[] = {hash, binding_hash};
    PGresult *r = gate_exec(g,
                            "UPDATE tq_oauth_states SET binding_hash = $2, started_at = now() "
                            "WHERE state_hash = $1 AND binding_hash IS NULL AND used_at IS NULL "
                            "AND expires_at > now() AND authorize_url IS NOT NULL "
                            "RETURNING authorize_url, "
                            "greatest(1, ceil(extract(epoch FROM expires_at - now())))::int",
                            2, p, err);
    if (!r) return NULL;
    char *url = NULL;
    if (PQntuples(r) == 1) {
        const char *base = PQgetvalue(r, 0, 0);
        *ttl_s = atoi(PQgetvalue(r, 0, 1));
        size_t n = strlen(base) + strlen(state) + 16;
        url = malloc(n);
        if (!url) {
            tq_error_set(err, "internal", "out of memory");
        } else {
            size_t bl = strlen(base);
            const char *sep = !strchr(base, '?')                                   ? "?"
                              : bl && (base[bl - 1] == '?' || base[bl - 1] == '&') ? ""
                                                                                   : "&";
            snprintf(url, n, "%s%sstate=%s", base, sep, state);
        }
        PQclear(r);
        return url;
    }
    PQclear(r);
    r = gate_exec(g, STATE_ROW, 1, p, err);
    if (!r) return NULL;
    if (PQntuples(r) != 1)
        tq_error_set(err, "oauth_state_invalid",
                     "unknown state: this start link does not match an authorization started "
                     "here");
    else if (PQgetvalue(r, 0, 0)[0] == 't')
        tq_error_set(err, "oauth_state_used", "this authorization was already completed");
    else if (PQgetvalue(r, 0, 1)[0] == 't')
        tq_error_set(err, "oauth_state_expired",
                     "the start link expired (oauth.state_ttl_s); start the authorization again");
    else if (!PQgetisnull(r, 0, 2))
        tq_error_set(err, "oauth_start_used",
                     "this start link was already opened; a start link works once, in one "
                     "browser");
    else /* a row made before the start URL existed */
        tq_error_set(err, "oauth_state_invalid",
                     "this authorization has no start link; start the authorization again");
    PQclear(r);
    return NULL;
}
