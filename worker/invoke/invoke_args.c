/* invoke_args.c — validation and coercion of invoke arguments against the
 * tool's input_schema (docs/invoking.md "Arguments"), through the shared
 * checker (common/jschema.h) with coercion on. Owns the argument-level rules
 * (unknown argument, null as absent). Must never send, log or put an
 * argument value into a message. */
#include "invoke_args.h"

#include <string.h>

#include "jschema.h"

int tq_invoke_args_is_file(const json_t *value)
{
    return tq_jschema_is_file(value);
}

json_t *tq_invoke_args_check(const json_t *input_schema, const json_t *args, json_t **problems_p,
                             tq_error_t *err)
{
    json_t *problems = json_array();
    json_t *out = json_object();
    const json_t *props = json_object_get(input_schema, "properties");
    const json_t *required = json_object_get(input_schema, "required");
    const tq_jschema_t s = {json_object_get(input_schema, "$defs"), "argument", TQ_JSCHEMA_COERCE};
    if (args && !json_is_object(args)) {
        tq_jschema_problem(&s, problems, "(arguments)", "must be an object");
        args = NULL;
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)args, k, v)
    {
        const json_t *ps = json_object_get(props, k);
        if (!ps) {
            tq_jschema_problem(&s, problems, k, "unknown argument");
            continue;
        }
        if (json_is_null(v)) {
            const json_t *t = json_object_get(tq_jschema_resolve(&s, ps), "type");
            int nullable = 0;
            size_t i;
            json_t *x;
            json_array_foreach(t, i, x) nullable |= !strcmp(json_string_value(x), "null");
            if (!nullable) continue; /* null for an optional argument = absent */
        }
        json_t *c = tq_jschema_check(&s, ps, v, k, problems);
        if (c) json_object_set_new(out, k, c);
    }
    size_t i;
    json_t *r;
    json_array_foreach(required, i, r)
    {
        const char *rk = json_string_value(r);
        if (rk && !json_object_get(out, rk) &&
            !(json_object_get(args, rk) && !json_is_null(json_object_get(args, rk))))
            tq_jschema_problem(&s, problems, rk, "missing required argument");
    }
    if (json_array_size(problems)) {
        tq_jschema_fail(&s, problems, "invalid_argument", "arguments", err);
        if (problems_p)
            *problems_p = problems;
        else
            json_decref(problems);
        json_decref(out);
        return NULL;
    }
    json_decref(problems);
    if (problems_p) *problems_p = NULL;
    return out;
}
