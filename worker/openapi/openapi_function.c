/* openapi_function.c — tool bundles in OpenAI function-calling form: names
 * valid for OpenAI and unique across providers (provider prefix when asked
 * or on collision, stable truncation, numeric suffixes), descriptions cut to
 * a configured length on a UTF-8 boundary; parameters carry their "$defs"
 * or are inlined to a depth when asked.
 * Must never abbreviate words or depend on anything but its input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openapi.h"
#include "openapi_ctx.h"
#include "openapi_opid.h"

void tq_openapi_fn_opts_default(tq_openapi_fn_opts_t *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->max_description = TQ_OPENAPI_DEFAULT_MAX_DESCRIPTION;
    opts->prefix = TQ_OPENAPI_PREFIX_ON_COLLISION;
    opts->inline_depth = -1;
}

/* At most max code points of s, cut on a character boundary. */
static json_t *cut_utf8(const char *s, size_t max)
{
    size_t i = 0, chars = 0;
    while (s[i] && chars < max) {
        i++;
        while ((s[i] & 0xC0) == 0x80)
            i++;
        chars++;
    }
    return json_stringn(s, i);
}

static json_t *description(const json_t *b, size_t max)
{
    const char *d = tq_oa_str(b, "description");
    if (!d || !*d) d = tq_oa_str(b, "summary");
    char fallback[600];
    if (!d || !*d) {
        const char *m = tq_oa_str(b, "method"), *path = tq_oa_str(b, "path");
        snprintf(fallback, sizeof fallback, "%s %.500s", m ? m : "", path ? path : "");
        d = fallback;
    }
    return cut_utf8(d, max);
}

json_t *tq_openapi_functions(const json_t *providers, const tq_openapi_fn_opts_t *opts,
                             tq_error_t *err)
{
    tq_openapi_fn_opts_t def;
    if (!opts) {
        tq_openapi_fn_opts_default(&def);
        opts = &def;
    }
    if (!json_is_array(providers)) {
        tq_error_set(err, "invalid_argument", "providers: expected an array");
        return NULL;
    }
    if (tq_openapi_filter_check(opts->filter, err) < 0) return NULL;
    /* base name -> first provider using it, or true when several do */
    json_t *owners = json_object();
    size_t i, j;
    json_t *p, *b;
    char base[TQ_OA_NAME_MAX + 1];
    json_array_foreach(providers, i, p)
    {
        const char *prov = tq_oa_str(p, "provider");
        if (!prov || !json_is_array(json_object_get(p, "tools"))) {
            json_decref(owners);
            tq_error_set(err, "invalid_argument",
                         "providers[%zu]: expected {\"provider\": name, \"tools\": [...]}", i);
            return NULL;
        }
        json_array_foreach(json_object_get(p, "tools"), j, b)
        {
            const char *id = tq_oa_str(b, "operation_id");
            if (!id || !tq_openapi_filter_match(opts->filter, b)) continue;
            tq_oa_name_fit(id, TQ_OA_NAME_MAX, base);
            json_t *o = json_object_get(owners, base);
            if (!o)
                json_object_set_new(owners, base, json_string(prov));
            else if (json_is_string(o) && strcmp(json_string_value(o), prov))
                json_object_set_new(owners, base, json_true());
        }
    }
    json_t *tools = json_array(), *names = json_object(), *taken = json_object();
    size_t k = 0; /* position in the whole listing */
    json_array_foreach(providers, i, p)
    {
        const char *prov = tq_oa_str(p, "provider");
        json_array_foreach(json_object_get(p, "tools"), j, b)
        {
            const char *id = tq_oa_str(b, "operation_id");
            if (!id || !tq_openapi_filter_match(opts->filter, b)) continue;
            tq_oa_name_fit(id, TQ_OA_NAME_MAX, base);
            int prefix = opts->prefix == TQ_OPENAPI_PREFIX_ALWAYS ||
                         (opts->prefix == TQ_OPENAPI_PREFIX_ON_COLLISION &&
                          json_is_true(json_object_get(owners, base)));
            char want[1200], name[TQ_OA_NAME_MAX + 1];
            snprintf(want, sizeof want, "%s%s%s", prefix ? prov : "", prefix ? "_" : "", id);
            tq_oa_name_unique(taken, want, name);
            if (k++ < opts->first || (opts->max && k > opts->first + opts->max)) continue;
            json_t *view = tq_openapi_tool_view(b, json_object_get(p, "defs"), opts->inline_depth);
            json_t *params = json_object_get(view, "input_schema");
            json_t *fn =
                json_pack("{s:s,s:o,s:o}", "name", name, "description",
                          description(b, opts->max_description), "parameters",
                          params ? json_incref(params)
                                 : json_pack("{s:s,s:{}}", "type", "object", "properties"));
            json_decref(view);
            json_array_append_new(tools,
                                  json_pack("{s:s,s:o}", "type", "function", "function", fn));
            json_object_set_new(names, name,
                                json_pack("{s:s,s:s}", "provider", prov, "operation_id", id));
        }
    }
    json_decref(owners);
    json_decref(taken);
    return json_pack("{s:o,s:o,s:I}", "tools", tools, "names", names, "total", (json_int_t)k);
}
