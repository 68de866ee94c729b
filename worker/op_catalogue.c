/* op_catalogue.c — `ops.list`: the op catalogue as data (common/ops.def and
 * common/ops/<op>.json), so front doors (CLI, HTTP API, MCP) can list what
 * they may submit: name, role, read-only, doc line, payload schema, result
 * note, error codes. Test ops are listed only when worker.test_ops is on.
 * Read-only: never touches the database or another tenant's data. */
#include "op.h"

#include "opcat.h"
#include "opspec.h"

static void ops_list_start(tq_job_t *job)
{
    bool test_ops = tq_config_bool(tq_job_config(job), "worker.test_ops");
    size_t n = 0;
    const tq_opinfo_t *all = tq_opcat_all(&n);
    json_t *ops = json_array();
    for (size_t i = 0; i < n; i++) {
        if ((all[i].flags & TQ_OPF_TEST) && !test_ops) continue;
        const json_t *spec = tq_opspec(all[i].name);
        json_array_append_new(
            ops, json_pack(
                     "{s:s,s:s,s:b,s:s,s:O,s:O,s:O}", "name", all[i].name, "role",
                     tq_role_name(all[i].role), "read_only", (all[i].flags & TQ_OPF_READ_ONLY) != 0,
                     "doc", all[i].doc, "payload", json_object_get(spec, "payload"), "result",
                     json_object_get(spec, "result"), "errors", json_object_get(spec, "errors")));
    }
    tq_job_done(job, json_pack("{s:o}", "ops", ops));
}

const tq_op_t tq_op_ops_list = {"ops.list", ops_list_start};
