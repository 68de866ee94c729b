/* op_check_tools.c — the op app.check_tools: given an app's agent_mode
 * ({"tools": [{provider_type, provider_id, tool_name, enabled}...]}), lists the
 * API tools whose provider is gone (tenant-scoped; ids compared normalised:
 * case, braces, hyphens) or whose operation is no longer in the provider.
 * Malformed entries are reported in "problems", never fatal. Entries of other
 * provider types (builtin, workflow, mcp ...) are not toolq's and are left
 * alone. Read-only; never reads credentials. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "op.h"
#include "provider_job.h"
#include "provider_store.h"

#define TQ_CHECK_MAX_ENTRIES 10000 /* tools in one agent_mode */

/* Canonical lower-case 8-4-4-4-12 form of a uuid written with any case,
 * with or without braces, hyphens or a urn:uuid: prefix. 0 or -1. */
static int normalise_uuid(const char *in, char out[TQ_UUID_STR_LEN + 1])
{
    char hex[33];
    size_t n = 0;
    while (isspace((unsigned char)*in))
        in++;
    if (strncasecmp(in, "urn:uuid:", 9) == 0) in += 9;
    size_t len = strlen(in);
    while (len && isspace((unsigned char)in[len - 1]))
        len--;
    if (len >= 2 && in[0] == '{' && in[len - 1] == '}') {
        in++;
        len -= 2;
    }
    for (size_t i = 0; i < len; i++) {
        if (in[i] == '-') continue;
        if (!isxdigit((unsigned char)in[i]) || n == 32) return -1;
        hex[n++] = (char)tolower((unsigned char)in[i]);
    }
    if (n != 32) return -1;
    snprintf(out, TQ_UUID_STR_LEN + 1, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12,
             hex + 16, hex + 20);
    return 0;
}

static void problem(json_t *problems, size_t index, const char *reason)
{
    json_array_append_new(problems,
                          json_pack("{s:I,s:s}", "index", (json_int_t)index, "reason", reason));
}

static void deleted(json_t *out, const char *tool, const char *provider_id, const char *reason)
{
    json_array_append_new(out, json_pack("{s:s,s:s,s:s,s:s}", "type", "api", "tool_name", tool,
                                         "provider_id", provider_id, "reason", reason));
}

static void check_tools_start(tq_job_t *job)
{
    tq_error_t err = {0};
    json_t *agent = tq_job_arg(job, "agent_mode");
    if (!agent && tq_job_arg(job, "tools")) agent = tq_job_payload(job);
    if (!agent || json_is_false(agent)) {
        tq_job_done(job, json_pack("{s:[],s:[]}", "deleted_tools", "problems"));
        return;
    }
    if (!json_is_object(agent)) {
        tq_job_fail(job, "invalid_argument", "agent_mode must be an object", false);
        return;
    }
    json_t *tools = json_object_get(agent, "tools");
    if (tools && !json_is_null(tools) && !json_is_array(tools)) {
        tq_job_fail(job, "invalid_argument", "agent_mode.tools must be an array", false);
        return;
    }
    size_t n = json_array_size(tools);
    if (n > TQ_CHECK_MAX_ENTRIES) {
        tq_job_fail(job, "invalid_argument", "agent_mode.tools has more than 10000 entries", false);
        return;
    }

    /* Pass 1: validate entries and collect the canonical provider ids. */
    json_t *problems = json_array(), *canon = json_array(); /* canon[i]: id or null */
    char *ids = malloc(n * (TQ_UUID_STR_LEN + 1) + 3);
    size_t ids_len = 0, nids = 0;
    if (!ids) {
        json_decref(problems);
        json_decref(canon);
        tq_job_fail(job, "internal", "out of memory", true);
        return;
    }
    ids[ids_len++] = '{';
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(tools, i);
        json_array_append_new(canon, json_null());
        if (!json_is_object(e)) {
            problem(problems, i, "entry is not an object");
            continue;
        }
        const char *type = json_string_value(json_object_get(e, "provider_type"));
        if (!type) {
            problem(problems, i, "provider_type is missing or not a string");
            continue;
        }
        if (strcmp(type, "api") != 0) continue; /* not a toolq provider */
        const char *pid = json_string_value(json_object_get(e, "provider_id"));
        const char *tool = json_string_value(json_object_get(e, "tool_name"));
        if (!pid || !*pid) {
            problem(problems, i, "provider_id is missing or not a string");
            continue;
        }
        if (!tool || !*tool) {
            problem(problems, i, "tool_name is missing or not a string");
            continue;
        }
        char c[TQ_UUID_STR_LEN + 1];
        if (normalise_uuid(pid, c)) continue; /* reported as deleted in pass 2 */
        json_array_set_new(canon, i, json_string(c));
        if (nids++) ids[ids_len++] = ',';
        memcpy(ids + ids_len, c, TQ_UUID_STR_LEN);
        ids_len += TQ_UUID_STR_LEN;
    }
    ids[ids_len++] = '}';
    ids[ids_len] = '\0';

    /* The tenant's providers among them, with their operation ids. */
    json_t *ops = json_object(); /* canonical id -> [operation_id...] */
    if (nids) {
        PGconn *db = tq_job_db(job, &err);
        PGresult *res =
            db ? tq_provider_store_operation_ids(db, tq_job_tenant_uuid(job), ids, &err) : NULL;
        if (!res) {
            free(ids);
            json_decref(problems);
            json_decref(canon);
            json_decref(ops);
            tq_provider_job_fail(job, &err);
            return;
        }
        for (int r = 0; r < PQntuples(res); r++) {
            json_error_t jerr;
            json_t *list = json_loads(PQgetvalue(res, r, 1), 0, &jerr);
            json_object_set_new(ops, PQgetvalue(res, r, 0), list ? list : json_array());
        }
        PQclear(res);
    }
    free(ids);

    /* Pass 2: in config order. */
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(tools, i);
        const char *type = json_string_value(json_object_get(e, "provider_type"));
        const char *pid = json_string_value(json_object_get(e, "provider_id"));
        const char *tool = json_string_value(json_object_get(e, "tool_name"));
        if (!type || strcmp(type, "api") || !pid || !*pid || !tool || !*tool) continue;
        const char *c = json_string_value(json_array_get(canon, i));
        if (!c) {
            deleted(out, tool, pid, "invalid_provider_id");
            continue;
        }
        json_t *list = json_object_get(ops, c);
        if (!list) {
            deleted(out, tool, pid, "provider_not_found");
            continue;
        }
        int found = 0;
        size_t k;
        json_t *op;
        json_array_foreach(list, k, op)
        {
            if (json_is_string(op) && strcmp(json_string_value(op), tool) == 0) {
                found = 1;
                break;
            }
        }
        if (!found) deleted(out, tool, pid, "tool_not_found");
    }
    json_decref(canon);
    json_decref(ops);
    tq_provider_job_done(job, json_pack("{s:o,s:o}", "deleted_tools", out, "problems", problems));
}

const tq_op_t tq_op_app_check_tools = {"app.check_tools", check_tools_start};
