/* apikey.h — who an HTTP API request is (docs/api.md, "Keys"): checks the
 * `Authorization: Bearer <key>` of a request against tq_api_keys (its own
 * blocking libpq connection, like oauth_gate.c), and the per-key rate limit.
 * Used by the /v1 routes (broker/api.c) and the MCP endpoint; both run on
 * listener threads, never on the broker loop. The key's row, not the
 * request, gives the tenant and role; the caller then submits on the key's
 * behalf (tq_client_set_on_behalf) and the broker applies the same rules as
 * to an ipc peer with that role (broker/principal.c).
 *
 * A verified key is remembered for apikey.cache_ms (its hash, never the key),
 * so a revoked or expired key is refused at most that long after. */
#ifndef TQ_APIKEY_H
#define TQ_APIKEY_H

#include <stdbool.h>

#include "config.h"
#include "error.h"
#include "opcat.h"

typedef struct tq_apikeys_t tq_apikeys_t;

/* The principal a key stands for. */
typedef struct {
    char id[37];      /* the key's uuid (rate limit, logs) */
    char name[128];   /* the key's name, for logs and whoami */
    char tenant[256]; /* the tenant its jobs run under */
    tq_role_t role;   /* TQ_ROLE_TENANT, _INTEGRATOR or _OPERATOR */
    char hash[65];    /* SHA-256 hex of the key: finds its rate bucket */
    char tools[1024]; /* "provider/operation" globs the key is limited to (MCP); "": all */
} tq_apikey_who_t;

/* Reads database.url, apikey.cache_ms, apikey.rate_per_second,
 * apikey.rate_burst (invalid_config when out of range). */
tq_apikeys_t *tq_apikeys_new(tq_config_t *cfg, tq_error_t *err);
void tq_apikeys_destroy(tq_apikeys_t **self_p);

/* Checks an Authorization header value ("Bearer <key>", NULL when absent).
 * 0 with *who filled, else -1 with err: unauthorized (no header, another
 * scheme, a malformed, unknown, revoked or expired key — the message says
 * which of "missing" / "invalid" without telling a revoked key from an
 * unknown one), db_unavailable (the keys cannot be read now). Constant-time
 * comparison of the stored hash. Thread-safe. */
int tq_apikeys_verify(tq_apikeys_t *ks, const char *authorization, tq_apikey_who_t *who,
                      tq_error_t *err);

/* One token from the key's bucket (apikey.rate_per_second, burst
 * apikey.rate_burst; rate 0: no limit). false when empty, with *retry_s the
 * seconds until the next token. Thread-safe. */
bool tq_apikeys_rate_take(tq_apikeys_t *ks, const tq_apikey_who_t *who, int *retry_s);

#endif
