/* op_basic.c — the foundation's ops: `ping` echoes its payload; `sleep`
 * waits payload.ms milliseconds on a loop timer (many at once, never
 * blocking the loop) and is what the reliability tests kill workers under;
 * `test.crash` kills its worker (a poison job) and `test.fail` fails
 * transiently while attempt <= payload.fail_times — both only when
 * worker.test_ops is on. */
#include "op.h"

#include <stdint.h>
#include <stdlib.h>

static void ping_start(tq_job_t *job)
{
    tq_job_done(job, json_incref(tq_job_payload(job)));
}

const tq_op_t tq_op_ping = {"ping", ping_start};

static void sleep_fire(tq_loop_t *loop, void *arg)
{
    (void)loop;
    tq_job_t *job = arg;
    tq_job_done(job, json_pack("{s:I}", "slept_ms", tq_job_arg_int(job, "ms", 0)));
}

static void sleep_start(tq_job_t *job)
{
    /* required, an integer from 0 to 86400000: the op's schema */
    json_int_t ms = tq_job_arg_int(job, "ms", 0);
    tq_loop_timer(tq_job_loop(job), (int64_t)ms, sleep_fire, job);
}

const tq_op_t tq_op_sleep = {"sleep", sleep_start};

static bool test_ops_on(tq_job_t *job)
{
    if (tq_config_bool(tq_job_config(job), "worker.test_ops")) return true;
    tq_job_fail(job, "unknown_op", "test ops are off (worker.test_ops)", false);
    return false;
}

static void crash_start(tq_job_t *job)
{
    if (test_ops_on(job)) abort();
}

const tq_op_t tq_op_test_crash = {"test.crash", crash_start};

static void fail_start(tq_job_t *job)
{
    if (!test_ops_on(job)) return;
    json_int_t n = tq_job_arg_int(job, "fail_times", 0);
    if (tq_job_attempt(job) <= n)
        tq_job_fail(job, "test_transient", "a transient failure, as asked", true);
    else
        tq_job_done(job, json_pack("{s:i}", "attempt", tq_job_attempt(job)));
}

const tq_op_t tq_op_test_fail = {"test.fail", fail_start};
