/* provider_job.h — what the provider ops (op_provider.c, op_tools_list.c,
 * op_check_tools.c) share: failing a job from an error with the right retry
 * decision, and finishing a job with a result
 * that fits in one wire frame. No SQL and no handler logic here. */
#ifndef TQ_PROVIDER_JOB_H
#define TQ_PROVIDER_JOB_H

#include <stdbool.h>

#include "op.h"

/* Fails the job from err, retryable when the registry says the code is
 * (tq_error_retryable: db_unavailable, vault_no_key ...); bad input and
 * not-found are not. */
void tq_provider_job_fail(tq_job_t *job, const tq_error_t *err);

/* tq_job_done, unless the encoded result would not fit in a wire frame
 * (broker.max_frame_bytes): then the job fails with result_too_large. */
void tq_provider_job_done(tq_job_t *job, json_t *result);

#endif
