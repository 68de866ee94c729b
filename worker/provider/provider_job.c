/* provider_job.c — error-to-retry mapping and the result size guard shared
 * by the provider ops (provider_job.h). Never logs payload values (they may
 * hold secrets). */
#include "provider_job.h"

#include <stdlib.h>
#include <string.h>

#define TQ_RESULT_FRAME_MARGIN 4096 /* bytes of a result frame that are not the result */

void tq_provider_job_fail(tq_job_t *job, const tq_error_t *err)
{
    tq_job_fail_err(job, err, tq_error_retryable(err->code));
}

void tq_provider_job_done(tq_job_t *job, json_t *result)
{
    size_t max = (size_t)tq_config_int(tq_job_config(job), "broker.max_frame_bytes");
    size_t n = json_dumpb(result, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
    if (max > TQ_RESULT_FRAME_MARGIN && n > max - TQ_RESULT_FRAME_MARGIN) {
        json_decref(result);
        char msg[160];
        snprintf(msg, sizeof msg,
                 "the result is %zu bytes, more than a frame holds (broker.max_frame_bytes); "
                 "narrow it with a provider or a filter",
                 n);
        tq_job_fail(job, "result_too_large", msg, false);
        return;
    }
    tq_job_done(job, result);
}
