/* op_tools_list.c — the op tools.list: the tools of one provider or of every
 * provider of the tenant, as stored bundles ("toolq") or in OpenAI
 * function-calling form ("openai", through tq_openapi_functions), with an
 * optional listing filter. Reads tools_str only: never credentials. */
#include <string.h>

#include "op.h"
#include "openapi/openapi.h"
#include "provider_job.h"
#include "provider_store.h"

static int prefix_of(const char *s, tq_openapi_prefix_t *out, tq_error_t *err)
{
    if (!s || strcmp(s, "on_collision") == 0)
        *out = TQ_OPENAPI_PREFIX_ON_COLLISION;
    else if (strcmp(s, "always") == 0)
        *out = TQ_OPENAPI_PREFIX_ALWAYS;
    else if (strcmp(s, "never") == 0)
        *out = TQ_OPENAPI_PREFIX_NEVER;
    else
        return tq_error_set(err, "invalid_argument",
                            "prefix must be always, never or on_collision, not '%.32s'", s);
    return 0;
}

static void tools_list_start(tq_job_t *job)
{
    tq_error_t err = {0};
    json_t *payload = tq_job_payload(job);
    const char *provider = NULL, *format = NULL, *prefix = NULL;
    json_t *providers = NULL, *result = NULL;
    PGresult *res = NULL;
    PGconn *db = NULL;
    tq_openapi_fn_opts_t fo;
    tq_openapi_fn_opts_default(&fo);
    json_t *filter = json_object_get(payload, "filter");
    if (json_is_null(filter)) filter = NULL;

    if (tq_pj_str(payload, "provider", 255, &provider, &err) ||
        tq_pj_str(payload, "format", 16, &format, &err) ||
        tq_pj_str(payload, "prefix", 16, &prefix, &err) || prefix_of(prefix, &fo.prefix, &err) ||
        (filter && tq_openapi_filter_check(filter, &err)))
        goto fail;
    if (!format) format = "toolq";
    if (strcmp(format, "toolq") && strcmp(format, "openai")) {
        tq_error_set(&err, "invalid_argument", "format must be toolq or openai");
        goto fail;
    }
    if (!(db = tq_job_db(job, &err)) ||
        !(res = tq_provider_store_tools(db, tq_job_tenant_uuid(job), provider, &err)))
        goto fail;

    providers = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        json_error_t jerr;
        json_t *tools = json_loads(PQgetvalue(res, i, 2), 0, &jerr);
        if (!json_is_array(tools)) {
            json_decref(tools);
            tq_error_set(&err, "internal", "stored tools of provider %.255s are not an array",
                         PQgetvalue(res, i, 1));
            goto fail;
        }
        json_array_append_new(providers,
                              json_pack("{s:s,s:s,s:o}", "provider", PQgetvalue(res, i, 1), "id",
                                        PQgetvalue(res, i, 0), "tools", tools));
    }
    PQclear(res);
    res = NULL;

    if (strcmp(format, "openai") == 0) {
        fo.max_description = (size_t)tq_config_int(tq_job_config(job), "import.max_description");
        fo.filter = filter;
        if (!(result = tq_openapi_functions(providers, &fo, &err))) goto fail;
    } else {
        /* Stored bundles, filtered in place. */
        size_t i;
        json_t *p;
        json_array_foreach(providers, i, p)
        {
            json_t *tools = json_object_get(p, "tools");
            for (size_t k = json_array_size(tools); filter && k-- > 0;)
                if (!tq_openapi_filter_match(filter, json_array_get(tools, k)))
                    json_array_remove(tools, k);
        }
        result = json_pack("{s:s,s:O}", "format", "toolq", "providers", providers);
    }
    json_decref(providers);
    tq_pj_done(job, result);
    return;
fail:
    PQclear(res);
    json_decref(providers);
    tq_pj_fail(job, &err);
}

const tq_op_t tq_op_tools_list = {"tools.list", tools_list_start};
