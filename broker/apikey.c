/* apikey.c — API key checks and per-key rate limits (see apikey.h).
 *
 * Owns: one blocking libpq connection (listener threads only, mutex, 3 s
 * statement_timeout), the cache of verified keys (by hash, bounded) and the
 * token buckets (one per cached key).
 * Must never: store, log or put in an error a key (only its uuid and name);
 * compare hashes with memcmp; take a tenant or role from anything but the
 * key's row; run on the broker loop. */
#include "apikey.h"
#include "loop.h"

#include "apitoken.h"
#include "pg.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define CACHE_SLOTS 1024
#define CACHE_PROBE 8

typedef struct {
    bool used;
    char hash[65];
    tq_apikey_who_t who;
    int64_t checked_ms; /* when the row was read */
    int64_t expires_s;  /* wall-clock expiry, 0: never */
    double tokens;
    int64_t last_ms;
} slot_t;

struct tq_apikeys_t {
    pthread_mutex_t db_mu, mu;
    char *conninfo;
    PGconn *db;
    int64_t cache_ms;
    double rate_per_ms, burst;
    slot_t slots[CACHE_SLOTS];
};

tq_apikeys_t *tq_apikeys_new(tq_config_t *cfg, tq_error_t *err)
{
    int64_t cache_ms = tq_config_int(cfg, "apikey.cache_ms");
    int64_t rate = tq_config_int(cfg, "apikey.rate_per_second");
    int64_t burst = tq_config_int(cfg, "apikey.rate_burst");
    tq_apikeys_t *ks = calloc(1, sizeof *ks);
    const char *url = tq_config_str(cfg, "database.url");
    if (!ks || !(ks->conninfo = strdup(url ? url : ""))) {
        free(ks);
        tq_error_set(err, "internal", "out of memory");
        return NULL;
    }
    pthread_mutex_init(&ks->db_mu, NULL);
    pthread_mutex_init(&ks->mu, NULL);
    ks->cache_ms = cache_ms;
    ks->rate_per_ms = (double)rate / 1000.0;
    ks->burst = (double)burst;
    return ks;
}

void tq_apikeys_destroy(tq_apikeys_t **self_p)
{
    if (!self_p || !*self_p) return;
    tq_apikeys_t *ks = *self_p;
    if (ks->db) PQfinish(ks->db);
    pthread_mutex_destroy(&ks->db_mu);
    pthread_mutex_destroy(&ks->mu);
    OPENSSL_cleanse(ks->slots, sizeof ks->slots);
    free(ks->conninfo);
    free(ks);
    *self_p = NULL;
}

static uint32_t slot_index(const char *hash)
{
    uint32_t h = 0;
    for (int i = 0; i < 8; i++) /* the hash is uniform already */
        h = h << 4 | (uint32_t)(hash[i] <= '9' ? hash[i] - '0' : hash[i] - 'a' + 10);
    return h % CACHE_SLOTS;
}

/* The cached slot of hash (mu held), or NULL. */
static slot_t *cache_find(tq_apikeys_t *ks, const char *hash)
{
    uint32_t at = slot_index(hash);
    for (int i = 0; i < CACHE_PROBE; i++) {
        slot_t *s = &ks->slots[(at + (uint32_t)i) % CACHE_SLOTS];
        if (s->used && CRYPTO_memcmp(s->hash, hash, 64) == 0) return s;
    }
    return NULL;
}

/* Remembers a verified key (mu held); keeps its bucket when it was cached. */
static void cache_put(tq_apikeys_t *ks, const char *hash, const tq_apikey_who_t *who,
                      int64_t expires_s)
{
    slot_t *s = cache_find(ks, hash);
    if (!s) {
        uint32_t at = slot_index(hash);
        for (int i = 0; i < CACHE_PROBE; i++) {
            slot_t *c = &ks->slots[(at + (uint32_t)i) % CACHE_SLOTS];
            if (!c->used || !s || c->checked_ms < s->checked_ms) s = c;
            if (!c->used) break;
        }
        memset(s, 0, sizeof *s);
        s->used = true;
        memcpy(s->hash, hash, 65);
        s->tokens = ks->burst;
        s->last_ms = tq_now_ms();
    }
    s->who = *who;
    s->checked_ms = tq_now_ms();
    s->expires_s = expires_s;
}

static void cache_drop(tq_apikeys_t *ks, const char *hash)
{
    pthread_mutex_lock(&ks->mu);
    slot_t *s = cache_find(ks, hash);
    if (s) memset(s, 0, sizeof *s);
    pthread_mutex_unlock(&ks->mu);
}

#define KEY_ROW                                                                                    \
    "SELECT id, key_hash, tenant, name, role, "                                                    \
    "COALESCE(extract(epoch FROM expires_at)::bigint, 0), "                                        \
    "revoked_at IS NOT NULL OR (expires_at IS NOT NULL AND expires_at <= now()), "                 \
    "COALESCE(tools, '') FROM tq_api_keys WHERE key_hash = $1"

/* Reads the key's row: 1 found and live, 0 unknown/revoked/expired, -1 db. */
static int lookup(tq_apikeys_t *ks, const char *hash, tq_apikey_who_t *who, int64_t *expires_s,
                  tq_error_t *err)
{
    pthread_mutex_lock(&ks->db_mu);
    if (!ks->db) {
        ks->db = tq_pg_connect(ks->conninfo, err);
        if (ks->db && tq_pg_run(ks->db, err, "SET statement_timeout = 3000", 0, NULL)) {
            PQfinish(ks->db);
            ks->db = NULL;
        }
    }
    const char *p[] = {hash};
    PGresult *r = ks->db ? tq_pg_exec(ks->db, err, KEY_ROW, 1, p) : NULL;
    if (!r && ks->db && PQstatus(ks->db) != CONNECTION_OK) {
        PQfinish(ks->db);
        ks->db = NULL;
    }
    pthread_mutex_unlock(&ks->db_mu);
    if (!r) {
        tq_error_set(err, "db_unavailable", "API keys cannot be checked now; try again");
        return -1;
    }
    int rc = 0;
    if (PQntuples(r) == 1 && strlen(PQgetvalue(r, 0, 1)) == 64 &&
        CRYPTO_memcmp(PQgetvalue(r, 0, 1), hash, 64) == 0 && PQgetvalue(r, 0, 6)[0] == 'f') {
        memset(who, 0, sizeof *who);
        snprintf(who->id, sizeof who->id, "%s", PQgetvalue(r, 0, 0));
        snprintf(who->tenant, sizeof who->tenant, "%s", PQgetvalue(r, 0, 2));
        snprintf(who->name, sizeof who->name, "%s", PQgetvalue(r, 0, 3));
        who->role = tq_role_parse(PQgetvalue(r, 0, 4));
        snprintf(who->tools, sizeof who->tools, "%s", PQgetvalue(r, 0, 7));
        memcpy(who->hash, hash, 65);
        *expires_s = strtoll(PQgetvalue(r, 0, 5), NULL, 10);
        rc = who->role != TQ_ROLE_NONE;
    }
    PQclear(r);
    return rc;
}

int tq_apikeys_verify(tq_apikeys_t *ks, const char *authorization, tq_apikey_who_t *who,
                      tq_error_t *err)
{
    if (!authorization || !*authorization)
        return tq_error_set(err, "unauthorized",
                            "missing API key: send Authorization: Bearer <key>");
    if (strncasecmp(authorization, "Bearer ", 7) != 0)
        return tq_error_set(err, "unauthorized",
                            "invalid API key: the Authorization scheme must be Bearer");
    const char *key = authorization + 7;
    while (*key == ' ')
        key++;
    if (!tq_apitoken_shape_ok(key)) return tq_error_set(err, "unauthorized", "invalid API key");
    char hash[65];
    tq_apitoken_hash(key, hash);
    int64_t now_s = (int64_t)time(NULL);
    pthread_mutex_lock(&ks->mu);
    slot_t *s = cache_find(ks, hash);
    bool hit = s && tq_now_ms() - s->checked_ms < ks->cache_ms &&
               (s->expires_s == 0 || s->expires_s > now_s);
    if (hit) *who = s->who;
    pthread_mutex_unlock(&ks->mu);
    if (hit) return 0;
    int64_t expires_s = 0;
    int found = lookup(ks, hash, who, &expires_s, err);
    if (found < 0) return -1;
    if (!found) {
        cache_drop(ks, hash);
        return tq_error_set(err, "unauthorized", "invalid API key (unknown, revoked or expired)");
    }
    pthread_mutex_lock(&ks->mu);
    cache_put(ks, hash, who, expires_s);
    pthread_mutex_unlock(&ks->mu);
    return 0;
}

bool tq_apikeys_rate_take(tq_apikeys_t *ks, const tq_apikey_who_t *who, int *retry_s)
{
    if (ks->rate_per_ms <= 0) return true;
    bool ok = true;
    int64_t t = tq_now_ms();
    pthread_mutex_lock(&ks->mu);
    slot_t *s = cache_find(ks, who->hash); /* a verified key is cached */
    if (s) {
        s->tokens += (double)(t - s->last_ms) * ks->rate_per_ms;
        if (s->tokens > ks->burst) s->tokens = ks->burst;
        s->last_ms = t;
        ok = s->tokens >= 1.0;
        if (ok)
            s->tokens -= 1.0;
        else
            *retry_s = (int)((1.0 - s->tokens) / ks->rate_per_ms / 1000.0) + 1;
    }
    pthread_mutex_unlock(&ks->mu);
    return ok;
}
