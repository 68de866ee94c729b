/* openapi_defs.c — a provider's shared definitions as tools carry them: the
 * definitions one schema reaches ("$defs" closure), a tool bundle with its
 * own "$defs", and depth-bounded inlining for consumers that cannot follow
 * "$ref" (cycles and depth cut with a description). Pure functions of their
 * input; never mutate it. */
#include <stdio.h>
#include <string.h>

#include "openapi.h"

#define DEFS_PREFIX "#/$defs/"
#define MAX_TREE_DEPTH 256 /* nesting inside one schema (inline depth is already bounded) */

static const char *def_ref(const json_t *s)
{
    const char *ref = json_string_value(json_object_get(s, "$ref"));
    return ref && !strncmp(ref, DEFS_PREFIX, 8) ? ref + 8 : NULL;
}

/* Literal values: never schemas. */
static int literal(const char *k)
{
    return !strcmp(k, "enum") || !strcmp(k, "const") || !strcmp(k, "default") ||
           !strcmp(k, "examples") || !strcmp(k, "example");
}

/* Adds to out the definitions referred to in s (not transitively); the
 * newly added names go to queue. */
static void collect(const json_t *s, const json_t *defs, json_t *out, json_t *queue, int depth)
{
    if (depth > MAX_TREE_DEPTH) return;
    if (json_is_array(s)) {
        size_t i;
        json_t *v;
        json_array_foreach(s, i, v) collect(v, defs, out, queue, depth + 1);
        return;
    }
    if (!json_is_object(s)) return;
    const char *name = def_ref(s);
    if (name && !json_object_get(out, name) && json_object_get(defs, name)) {
        json_object_set(out, name, json_object_get(defs, name));
        json_array_append_new(queue, json_string(name));
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)s, k, v)
    {
        if (!literal(k) && (json_is_object(v) || json_is_array(v)))
            collect(v, defs, out, queue, depth + 1);
    }
}

json_t *tq_openapi_defs_for(const json_t *schema, const json_t *defs)
{
    json_t *out = json_object(), *queue = json_array();
    collect(schema, defs, out, queue, 0);
    for (size_t i = 0; i < json_array_size(queue); i++)
        collect(json_object_get(defs, json_string_value(json_array_get(queue, i))), defs, out,
                queue, 0);
    json_decref(queue);
    return out;
}

static json_t *inline_rec(const json_t *s, const json_t *defs, int depth, json_t *stack, int nest)
{
    if (json_is_array(s)) {
        json_t *a = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(s, i, v)
            json_array_append_new(a, inline_rec(v, defs, depth, stack, nest + 1));
        return a;
    }
    if (!json_is_object(s) || nest > MAX_TREE_DEPTH) return json_incref((json_t *)s);
    const char *name = def_ref(s);
    json_t *out;
    const char *k;
    json_t *v;
    if (name) {
        const json_t *d = json_object_get(defs, name);
        if (!d || depth <= 0 || json_object_get(stack, name)) {
            char desc[300];
            snprintf(desc, sizeof desc, "(%s: %.200s, not inlined)",
                     !d                             ? "unknown definition"
                     : json_object_get(stack, name) ? "recursive"
                                                    : "inlining depth reached",
                     name);
            out = json_pack("{s:s}", "description", desc);
        } else {
            json_object_set_new(stack, name, json_true());
            out = inline_rec(d, defs, depth - 1, stack, nest + 1);
            json_object_del(stack, name);
            if (!json_is_object(out)) return out;
            json_t *c = json_copy(out);
            json_decref(out);
            out = c;
        }
        json_object_foreach((json_t *)s, k, v) if (strcmp(k, "$ref")) json_object_set(out, k, v);
        return out;
    }
    out = json_object();
    json_object_foreach((json_t *)s, k, v)
    {
        if (!strcmp(k, "$defs")) continue;
        json_object_set_new(
            out, k, literal(k) ? json_incref(v) : inline_rec(v, defs, depth, stack, nest + 1));
    }
    return out;
}

json_t *tq_openapi_inline(const json_t *schema, const json_t *defs, int depth)
{
    json_t *stack = json_object();
    json_t *out = inline_rec(schema, defs, depth, stack, 0);
    json_decref(stack);
    return out;
}

json_t *tq_openapi_tool_view(const json_t *bundle, const json_t *defs, int inline_depth)
{
    json_t *b = json_copy((json_t *)bundle);
    const json_t *in = json_object_get(bundle, "input_schema");
    if (!in) return b;
    json_t *schema;
    if (inline_depth >= 0) {
        schema = tq_openapi_inline(in, defs, inline_depth);
    } else {
        schema = json_copy((json_t *)in);
        json_t *mine = tq_openapi_defs_for(in, defs);
        if (json_object_size(mine))
            json_object_set_new(schema, "$defs", mine);
        else
            json_decref(mine);
    }
    json_object_set_new(b, "input_schema", schema);
    return b;
}
