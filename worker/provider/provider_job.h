/* provider_job.h — what the provider ops (op_provider.c, op_tools_list.c,
 * op_check_tools.c) share: reading typed payload fields, failing a job from
 * an error with the right retry decision, and finishing a job with a result
 * that fits in one wire frame. No SQL and no handler logic here. */
#ifndef TQ_PROVIDER_JOB_H
#define TQ_PROVIDER_JOB_H

#include <stdbool.h>

#include "op.h"

/* Optional string field: 0 with *out NULL when absent or null; -1 with
 * invalid_argument when not a string, longer than max bytes or holding a NUL. */
int tq_pj_str(const json_t *payload, const char *key, size_t max, const char **out,
              tq_error_t *err);
/* Required, non-empty string field. */
int tq_pj_req_str(const json_t *payload, const char *key, size_t max, const char **out,
                  tq_error_t *err);

/* Fails the job from err, retryable when the registry says the code is
 * (tq_error_retryable: db_unavailable, vault_no_key ...); bad input and
 * not-found are not. */
void tq_pj_fail(tq_job_t *job, const tq_error_t *err);

/* tq_job_done, unless the encoded result would not fit in a wire frame
 * (broker.max_frame_bytes): then the job fails with result_too_large. */
void tq_pj_done(tq_job_t *job, json_t *result);

#endif
