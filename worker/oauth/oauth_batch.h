/* oauth_batch.h — one statement for many concurrent refreshes. A worker
 * runs hundreds of refresh jobs at once on one event loop and one blocking
 * connection; the lease and result statements they queue during one loop
 * turn are flushed together by ONE parameterized statement over a JSON
 * array (jsonb_to_recordset), each element carrying "ord", its index, which
 * the statement returns as its first column so results go back to their
 * requests. One commit instead of one per refresh. Owns only its queues;
 * the statements, their rows and results belong to the credential store
 * (credstore/credstore_oauth.h). Never logs; the rows it carries hold
 * ciphertexts, never clear tokens. */
#ifndef TQ_OAUTH_BATCH_H
#define TQ_OAUTH_BATCH_H

#include <jansson.h>
#include <libpq-fe.h>

#include "credstore/credstore_oauth.h"
#include "error.h"
#include "op.h"

typedef struct tq_oauth_batch_item_t tq_oauth_batch_item_t;

/* The statement ran: row is this request's result row in res, or -1 when
 * the statement returned none for it; err set (res NULL) when it failed.
 * res is freed after the call. */
typedef void(tq_oauth_batch_fn)(PGresult *res, int row, const tq_error_t *err, void *arg);

/* Queues row (an object built for stmt; stolen) for stmt; done runs once,
 * later, from the loop. The returned item may be cancelled until then. */
tq_oauth_batch_item_t *tq_oauth_batch_add(tq_job_t *job, tq_credstore_oauth_stmt_t stmt,
                                          json_t *row, tq_oauth_batch_fn *done, void *arg);
void tq_oauth_batch_cancel(tq_oauth_batch_item_t **item_p);

#endif
