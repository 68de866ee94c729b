/* provider_job.c — payload field readers, error-to-retry mapping and the
 * result size guard shared by the provider ops (provider_job.h). Never logs
 * payload values (they may hold secrets). */
#include "provider_job.h"

#include <stdlib.h>
#include <string.h>

#define TQ_RESULT_FRAME_MARGIN 4096 /* bytes of a result frame that are not the result */

int tq_pj_str(const json_t *payload, const char *key, size_t max, const char **out, tq_error_t *err)
{
    json_t *v = json_object_get(payload, key);
    *out = NULL;
    if (!v || json_is_null(v)) return 0;
    if (!json_is_string(v))
        return tq_error_set(err, "invalid_argument", "%s must be a string, not %s", key,
                            json_is_object(v)   ? "an object"
                            : json_is_array(v)  ? "an array"
                            : json_is_number(v) ? "a number"
                                                : "a boolean");
    if (strlen(json_string_value(v)) != json_string_length(v))
        return tq_error_set(err, "invalid_argument", "%s holds a NUL character", key);
    if (json_string_length(v) > max)
        return tq_error_set(err, "invalid_argument", "%s is longer than %zu bytes", key, max);
    *out = json_string_value(v);
    return 0;
}

int tq_pj_req_str(const json_t *payload, const char *key, size_t max, const char **out,
                  tq_error_t *err)
{
    if (tq_pj_str(payload, key, max, out, err)) return -1;
    if (!*out || !**out) return tq_error_set(err, "invalid_argument", "%s is required", key);
    return 0;
}

void tq_pj_fail(tq_job_t *job, const tq_error_t *err)
{
    tq_job_fail_err(job, err, tq_error_retryable(err->code));
}

void tq_pj_done(tq_job_t *job, json_t *result)
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
