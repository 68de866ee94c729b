/* credstore_oauth.h — the statements of the OAuth area on tq_credentials
 * and tq_credential_refreshes (schemas/002_credentials.sql): the first
 * write of an oauth2 credential's token set, the refresh engine's check,
 * lease, result and release statements (oauth/oauth_refresh.h has the
 * locking design), and the sweep's search for due credentials. The token
 * set is sealed and opened only through credstore.h. The refresh
 * statements are batched: each takes $1 = a JSON array of rows, built by
 * the *_row functions below, to which the runner (oauth/oauth_batch.h)
 * adds "ord", the row's index; each returns that ord as the first column
 * of its result rows, and the *_read functions decode one of them. Owns the
 * SQL text, its parameters and the decoding of its rows; knows nothing of
 * jobs or the loop. Never logs; never a token in an error. */
#ifndef TQ_CREDSTORE_OAUTH_H
#define TQ_CREDSTORE_OAUTH_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "vault.h"

/* Creates the tenant's oauth2 credential name (status active), or replaces
 * the token set, metadata (origins kept), plugin and expiry of the oauth2
 * credential of that name, reactivating it and clearing its refresh
 * failures. fields: the clear token set, sealed here; expires_in: the
 * token's lifetime in seconds as text, NULL when it does not expire.
 * *expires_at: the new expiry (ISO 8601 UTC), new (free), NULL when none.
 * Errors: credential_exists (the name holds another type, or was created
 * concurrently), db_error/db_unavailable, vault errors. */
int tq_credstore_oauth_save(PGconn *db, tq_vault_t *vault, const char *tenant, const char *name,
                            const char *plugin_id, const json_t *fields, const json_t *metadata,
                            const char *expires_in, char id_out[37], char **expires_at,
                            tq_error_t *err);

/* The batched statements of a refresh. */
typedef enum {
    TQ_CREDSTORE_OAUTH_CHECK, /* read credentials (tq_credstore_oauth_check_row) */
    TQ_CREDSTORE_OAUTH_LEASE, /* take their refresh leases (tq_credstore_oauth_lease_row) */
    TQ_CREDSTORE_OAUTH_STORE, /* store refresh results (tq_credstore_oauth_store_row) */
} tq_credstore_oauth_stmt_t;

/* Runs stmt for rows (a JSON array, each row with "ord") in one statement:
 * the result (PQclear), or NULL with err. */
PGresult *tq_credstore_oauth_run(PGconn *db, tq_credstore_oauth_stmt_t stmt, const json_t *rows,
                                 tq_error_t *err);

/* CHECK: reads the tenant's oauth2 credential by id, or by name when id is
 * NULL. A result row per credential found. Row: new. */
json_t *tq_credstore_oauth_check_row(const char *tenant, const char *id, const char *name);
typedef struct {
    const char *id, *name, *status, *plugin_id; /* borrowed from the result */
    json_t *metadata;                           /* new (json_decref) */
    int64_t expires_ms;                         /* Unix ms; 0 = does not expire */
    int64_t refreshed_ms;                       /* Unix ms; 0 = never refreshed */
    int64_t now_ms;                             /* the database's now() */
    bool leased;                                /* another refresh holds the lease */
} tq_credstore_oauth_check_t;
void tq_credstore_oauth_check_read(const PGresult *res, int row, tq_credstore_oauth_check_t *out);

/* LEASE: takes the refresh lease of credential id for owner (60 s) when no
 * unexpired lease is held. Rows another statement has locked are skipped
 * (SKIP LOCKED: two batches never wait on each other, so they cannot
 * deadlock); PostgreSQL re-evaluates the lease condition on the locked
 * row, so exactly one concurrent taker wins (the same credential twice in
 * one batch is updated once). A result row per lease taken, with the row
 * as it is under the lease. Row: new. */
json_t *tq_credstore_oauth_lease_row(const char *tenant, const char *id, const char *owner);
typedef struct {
    const char *sealed, *status; /* borrowed from the result; sealed: tq_credstore_open */
    json_t *metadata;            /* new (json_decref) */
    int64_t expires_ms, refreshed_ms, now_ms; /* as in tq_credstore_oauth_check_t */
} tq_credstore_oauth_lease_t;
void tq_credstore_oauth_lease_read(const PGresult *res, int row, tq_credstore_oauth_lease_t *out);

/* STORE: the outcome of owner's refresh of credential id, fenced by its
 * lease (no result row when owner no longer holds it), which it releases,
 * and the attempt recorded in tq_credential_refreshes. outcome: refreshed
 * (the status becomes active, expiry and refreshed_at renewed),
 * reauth_required or client_changed (the status), anything else
 * (refresh_failing when active). fields: the new clear token set, sealed
 * here, or NULL to keep the stored one; expires_in as in
 * tq_credstore_oauth_save; meta (stolen, may be NULL) merged into the
 * metadata. Row: new, or NULL with a vault error. */
json_t *tq_credstore_oauth_store_row(tq_vault_t *vault, const char *tenant, const char *id,
                                     const char *owner, const char *outcome, const char *error_code,
                                     const char *job_id, const json_t *fields,
                                     const char *expires_in, json_t *meta, tq_error_t *err);
/* The new expiry (ISO 8601 UTC) of a stored row; "" when none. Borrowed
 * from the result. */
const char *tq_credstore_oauth_store_read(const PGresult *res, int row);

/* Releases owner's refresh lease of credential id, if it still holds it. */
int tq_credstore_oauth_release(PGconn *db, const char *tenant, const char *id, const char *owner,
                               tq_error_t *err);

/* An oauth2 credential that may be due, in any tenant (the sweep). */
typedef struct {
    char id[37], tenant[37];
    char *plugin_id;
    long long expires_ms;   /* Unix ms */
    long long remaining_ms; /* until it expires; <= 0 once expired */
    double lifetime_s;      /* metadata "expires_in"; 0 when unknown */
} tq_credstore_oauth_due_t;
/* The oauth2 credentials, of every tenant, that are active, refresh_failing
 * or client_changed, expire within window_s and hold no unexpired lease,
 * soonest first, at most limit: an array of *n, new
 * (tq_credstore_oauth_due_free), or NULL with err. Reads no secret. */
tq_credstore_oauth_due_t *tq_credstore_oauth_due(PGconn *db, int window_s, int limit, size_t *n,
                                                 tq_error_t *err);
void tq_credstore_oauth_due_free(tq_credstore_oauth_due_t **due_p, size_t n);

#endif
