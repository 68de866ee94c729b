/* journal.h — the jobs journal in PostgreSQL (table tq_jobs): the SQL and
 * the batched parameters for group commit (one INSERT for every job
 * submitted during a loop turn, one UPDATE for every state change), start-up
 * recovery, and decoding of rows read back. Payloads and results are sealed
 * with a key of the day derived (HKDF) from the vault's system key, bound to
 * (tenant, tq_jobs, column, job id); rows of earlier days (and rows sealed
 * with the system key itself, before day keys) still open.
 * Never sends anything itself: broker.c runs the statements on its lanes. */
#ifndef TQ_JOURNAL_H
#define TQ_JOURNAL_H

#include "error.h"
#include "jobs.h"
#include "vault.h"
#include <libpq-fe.h>

/* The vault scope that owns the journal's data key (the day keys' source). */
#define TQ_JOURNAL_SCOPE "*system*"
/* The version of today's journal key (day * 1000 + system key version), or
 * -1 when the system key is not installed. */
int tq_journal_today_version(const tq_vault_t *vault);

/* Both batch statements take, as their last parameter, the batch's
 * synchronous_commit ("on" when any row is sync, "off" when every row is
 * async), applied to that statement's transaction only (set_config local). */
#define TQ_JOURNAL_INSERT_NPARAMS 17
extern const char *const TQ_JOURNAL_INSERT_SQL;       /* the ids of the rows it inserted */
extern const char *const TQ_JOURNAL_INSERT_RETRY_SQL; /* and of those already there */
#define TQ_JOURNAL_UPDATE_NPARAMS 10
extern const char *const TQ_JOURNAL_UPDATE_SQL;
extern const char *const TQ_JOURNAL_LOOKUP_SQL;      /* $1 id, $2 tenant or NULL */
extern const char *const TQ_JOURNAL_LOOKUP_IKEY_SQL; /* $1 tenant, $2 key */
extern const char *const TQ_JOURNAL_COUNTS_SQL;
extern const char *const TQ_JOURNAL_PURGE_SQL; /* $1 retention hours */

/* Builds the array parameters for a batch (malloc'd strings, free with
 * tq_journal_free_params). Both snapshot each job's current state: a job
 * whose outcome came back before its INSERT was built is inserted in its
 * final state, with its result (one commit for a short job). */
int tq_journal_insert_params(tq_vault_t *vault, tq_bjob_t *const *jobs, size_t n, char **params,
                             tq_error_t *err);
int tq_journal_update_params(tq_vault_t *vault, tq_bjob_t *const *jobs, size_t n, char **params,
                             tq_error_t *err);
void tq_journal_free_params(char **params, int n);

/* Loads every queued or running job into `jobs` (running ones become queued:
 * their broker died). Returns the number recovered or -1. */
long tq_journal_recover(PGconn *db, tq_vault_t *vault, tq_jobs_t *jobs, int64_t now_ms,
                        tq_error_t *err);

/* Turns a LOOKUP row into a client RESULT message (result decrypted). */
int tq_journal_row_to_msg(tq_vault_t *vault, PGresult *res, int row, tq_msg_t *out,
                          tq_error_t *err);

#endif
