/* opspec.c — the op specs embedded from common/ops/<op>.json (opspec.h): parsed
 * once, checked against the catalogue, and the payload check. Never logs or
 * echoes a payload value (payloads hold secrets). */
#include "opspec.h"

#include <pthread.h>
#include <string.h>

#include "jschema.h"
#include "opcat.h"

static json_t *s_specs; /* {op: spec}, built once */
static pthread_once_t s_once = PTHREAD_ONCE_INIT;

static void load(void)
{
    s_specs = json_object();
    json_object_set_new(s_specs, "", json_pack("{s:s}", "type", "object"));
    for (size_t i = 0; tq_opspec_texts[i].name; i++) {
        json_t *spec = json_loads(tq_opspec_texts[i].text, 0, NULL);
        if (json_is_object(spec))
            json_object_set_new(s_specs, tq_opspec_texts[i].name, spec);
        else
            json_decref(spec); /* tq_opspec_check_all reports it */
    }
}

const json_t *tq_opspec(const char *op)
{
    pthread_once(&s_once, load);
    return op && *op ? json_object_get(s_specs, op) : NULL;
}

const json_t *tq_opspec_payload(const char *op)
{
    const json_t *p = json_object_get(tq_opspec(op), "payload");
    return p ? p : json_object_get(s_specs, ""); /* load() put {"type": "object"} there */
}

int tq_opspec_check_all(tq_error_t *err)
{
    size_t n = 0;
    const tq_opinfo_t *all = tq_opcat_all(&n);
    for (size_t i = 0; i < n; i++) {
        const json_t *p = json_object_get(tq_opspec(all[i].name), "payload");
        if (!json_is_object(p) || strcmp(json_string_value(json_object_get(p, "type")), "object"))
            return tq_error_set(err, "internal",
                                "op '%s' has no spec with an object payload schema "
                                "(common/ops/%s.json)",
                                all[i].name, all[i].name);
    }
    for (size_t i = 0; tq_opspec_texts[i].name; i++)
        if (!tq_opcat_find(tq_opspec_texts[i].name))
            return tq_error_set(err, "internal", "common/ops/%s.json names no op in common/ops.def",
                                tq_opspec_texts[i].name);
    return 0;
}

int tq_opspec_check_payload(const char *op, const json_t *payload, json_t **problems_p,
                            tq_error_t *err)
{
    const json_t *schema = tq_opspec_payload(op);
    const tq_jschema_t s = {json_object_get(schema, "$defs"), "field", TQ_JSCHEMA_BOUNDS};
    json_t *problems = json_array();
    if (!json_is_object(payload)) {
        tq_jschema_problem(&s, problems, "(payload)", "must be an object");
        goto fail;
    }
    json_t *given = json_object();
    const json_t *required = json_object_get(schema, "required");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)payload, k, v)
    {
        int req = 0;
        size_t i;
        json_t *r;
        json_array_foreach(required, i, r) req |= !strcmp(json_string_value(r), k);
        if (!json_is_null(v) || req) json_object_set(given, k, v);
    }
    json_t *out = tq_jschema_check(&s, schema, given, "", problems);
    json_decref(out);
    json_decref(given);
    if (!json_array_size(problems)) {
        json_decref(problems);
        if (problems_p) *problems_p = NULL;
        return 0;
    }
fail:
    tq_jschema_fail(&s, problems, "invalid_payload", "payload", err);
    if (problems_p)
        *problems_p = problems;
    else
        json_decref(problems);
    return -1;
}
