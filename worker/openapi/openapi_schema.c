/* openapi_schema.c — building input JSON Schemas (2020-12). Owns the shared
 * definitions: every $ref target becomes one named definition, built once
 * per import, and a $ref to it becomes {"$ref": "#/$defs/NAME"} (cycles stay
 * cycles); the inline size cut ("x-toolq-truncated"), allOf merging and the
 * 3.0/Swagger → JSON Schema keyword fixes. Must never mutate a built
 * definition or the source document, and never recurse without a bound. */
#include "openapi_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openapi_ref.h"

typedef struct {
    tq_oa_ctx_t *ctx;
    tq_error_t *err;
} sb_t;

/* Keywords copied unchanged into the input schema. */
static const char *const KEEP[] = {
    "format",          "enum",        "const",       "default",       "minimum",
    "maximum",         "multipleOf",  "minLength",   "maxLength",     "pattern",
    "minItems",        "maxItems",    "uniqueItems", "minProperties", "maxProperties",
    "title",           "description", "deprecated",  "readOnly",      "contentMediaType",
    "contentEncoding", NULL};

static json_t *build(sb_t *b, tq_oa_node_t n, size_t depth, size_t *nodes);
static json_t *build_ref(sb_t *b, tq_oa_node_t n, size_t *nodes);
static json_t *discriminator(sb_t *b, tq_oa_node_t n, const json_t *d);

static json_t *marker(const char *text, const char *mkey, const char *ref)
{
    char desc[TQ_ERROR_MSG_MAX];
    snprintf(desc, sizeof desc, "(%s: %s)", text, ref);
    return json_pack("{s:s,s:s}", "description", desc, mkey, ref);
}

/* Builds child node c into *out, counting nodes; a child that would push the
 * schema over TQ_OA_MAX_SCHEMA_NODES is replaced by a marker. */
static int child(sb_t *b, json_t *c, tq_oa_doc_t *doc, size_t depth, size_t *cnt, json_t **out)
{
    size_t n = 0;
    json_t *s = build(b, (tq_oa_node_t){c, doc}, depth + 1, &n);
    if (!s) return -1;
    if (*cnt + n > TQ_OA_MAX_SCHEMA_NODES) {
        json_decref(s);
        const char *ref = json_string_value(json_object_get(c, "$ref"));
        s = marker("truncated, schema too large", "x-toolq-truncated", ref ? ref : "inline");
        n = 1;
    }
    *cnt += n;
    *out = s;
    return 0;
}

/* allOf: keys of sub that res lacks are added; properties and required are
 * unioned (res owns fresh "properties"/"required" containers). */
static void merge_allof(json_t *res, json_t *sub)
{
    const char *k;
    json_t *v;
    json_object_foreach(sub, k, v)
    {
        if (!strcmp(k, "properties") && json_is_object(v)) {
            json_t *props = json_object_get(res, "properties");
            if (!props) {
                props = json_object();
                json_object_set_new(res, "properties", props);
            }
            json_object_update_missing(props, v);
        } else if (!strcmp(k, "required") && json_is_array(v)) {
            json_t *req = json_object_get(res, "required");
            if (!req) {
                req = json_array();
                json_object_set_new(res, "required", req);
            }
            size_t i, j;
            json_t *r, *have;
            json_array_foreach(v, i, r)
            {
                int dup = 0;
                json_array_foreach(req, j, have) dup |= json_equal(have, r);
                if (!dup) json_array_append(req, r);
            }
        } else if (!json_object_get(res, k)) {
            json_object_set(res, k, v);
        }
    }
}

static int build_list(sb_t *b, json_t *list, tq_oa_doc_t *doc, size_t depth, size_t *cnt,
                      json_t **out)
{
    json_t *arr = json_array();
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item)
    {
        json_t *s;
        if (child(b, item, doc, depth, cnt, &s) < 0) {
            json_decref(arr);
            return -1;
        }
        json_array_append_new(arr, s);
    }
    *out = arr;
    return 0;
}

static void fix_types(json_t *src, json_t *res)
{
    json_t *type = json_object_get(src, "type");
    if (json_is_string(type) && !strcmp(json_string_value(type), "file")) {
        json_object_set_new(res, "type", json_string("string"));
        json_object_set_new(res, "format", json_string("binary"));
    } else if (json_is_string(type) || json_is_array(type)) {
        json_object_set(res, "type", type);
    }
    /* OpenAPI 3.0 boolean exclusive bounds become JSON Schema numbers. */
    const char *bounds[2][2] = {{"exclusiveMinimum", "minimum"}, {"exclusiveMaximum", "maximum"}};
    for (int i = 0; i < 2; i++) {
        json_t *ex = json_object_get(src, bounds[i][0]);
        json_t *lim = json_object_get(src, bounds[i][1]);
        if (json_is_number(ex)) {
            json_object_set(res, bounds[i][0], ex);
        } else if (json_is_true(ex) && json_is_number(lim)) {
            json_object_set(res, bounds[i][0], lim);
            json_object_del(res, bounds[i][1]);
        }
    }
    int nullable = json_is_true(json_object_get(src, "nullable")) ||
                   json_is_true(json_object_get(src, "x-nullable"));
    json_t *t = json_object_get(res, "type");
    if (nullable && json_is_string(t))
        json_object_set_new(res, "type", json_pack("[O,s]", t, "null"));
}

static json_t *build_inline(sb_t *b, tq_oa_node_t n, size_t depth, size_t *nodes)
{
    if (depth > b->ctx->opts->max_schema_depth) {
        *nodes = 1;
        return marker("truncated, nested too deep", "x-toolq-truncated", "inline");
    }
    json_t *src = n.node, *res = json_object(), *v, *s;
    json_t *dropped = NULL; /* readOnly properties, not part of the input */
    size_t cnt = 1;
    for (int i = 0; KEEP[i]; i++)
        if ((v = json_object_get(src, KEEP[i]))) json_object_set(res, KEEP[i], v);
    fix_types(src, res);

    if (json_is_object(v = json_object_get(src, "items"))) {
        if (child(b, v, n.doc, depth, &cnt, &s) < 0) goto fail;
        json_object_set_new(res, "items", s);
    }
    if (json_is_object(v = json_object_get(src, "properties"))) {
        json_t *props = json_object();
        json_object_set_new(res, "properties", props);
        const char *k;
        json_t *p;
        json_object_foreach(v, k, p)
        {
            if (child(b, p, n.doc, depth, &cnt, &s) < 0) goto fail;
            const json_t *target = tq_oa_schema_resolve(b->ctx, s);
            if (json_is_true(json_object_get(s, "readOnly")) ||
                json_is_true(json_object_get(target, "readOnly"))) {
                if (!dropped) dropped = json_object();
                json_object_set_new(dropped, k, json_true());
                json_decref(s);
                continue;
            }
            json_object_set_new(props, k, s);
        }
    }
    if (json_is_array(v = json_object_get(src, "required"))) {
        json_t *req = json_array();
        size_t i;
        json_t *r;
        json_array_foreach(v, i, r) if (json_is_string(r) &&
                                        !json_object_get(dropped, json_string_value(r)))
            json_array_append(req, r);
        json_object_set_new(res, "required", req);
    }
    json_decref(dropped);
    dropped = NULL;
    v = json_object_get(src, "additionalProperties");
    if (json_is_boolean(v)) {
        json_object_set(res, "additionalProperties", v);
    } else if (json_is_object(v)) {
        if (child(b, v, n.doc, depth, &cnt, &s) < 0) goto fail;
        json_object_set_new(res, "additionalProperties", s);
    }
    const char *lists[] = {"oneOf", "anyOf"};
    for (int i = 0; i < 2; i++) {
        if (json_is_array(v = json_object_get(src, lists[i]))) {
            if (build_list(b, v, n.doc, depth, &cnt, &s) < 0) goto fail;
            json_object_set_new(res, lists[i], s);
        }
    }
    if (json_is_object(v = json_object_get(src, "not")) || json_is_boolean(v)) {
        if (child(b, v, n.doc, depth, &cnt, &s) < 0) goto fail;
        json_object_set_new(res, "not", s);
    }
    if (json_is_object(v = json_object_get(src, "discriminator")))
        json_object_set_new(res, "discriminator", discriminator(b, n, v));
    if (json_is_array(v = json_object_get(src, "allOf"))) {
        /* Members are merged in; one whose definition is still being built
         * (a cycle through allOf) stays an allOf member. */
        json_t *rest = NULL;
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item)
        {
            if (child(b, item, n.doc, depth, &cnt, &s) < 0) {
                json_decref(rest);
                goto fail;
            }
            const json_t *target = tq_oa_schema_resolve(b->ctx, s);
            if (!target) {
                if (!rest) rest = json_array();
                json_array_append_new(rest, s);
                continue;
            }
            if (target != s) { /* the ref's siblings first, then its definition */
                json_t *sib = json_copy(s);
                json_object_del(sib, "$ref");
                merge_allof(res, sib);
                json_decref(sib);
            }
            merge_allof(res, (json_t *)target);
            json_decref(s);
        }
        if (rest) json_object_set_new(res, "allOf", rest);
    }
    if (!json_object_get(res, "type") && json_object_get(res, "properties") &&
        !json_object_get(res, "oneOf") && !json_object_get(res, "anyOf"))
        json_object_set_new(res, "type", json_string("object"));
    *nodes = cnt;
    return res;
fail:
    json_decref(dropped);
    json_decref(res);
    return NULL;
}

/* Keys that may sit beside a $ref and refine it (3.1; tolerated in 3.0). */
static const char *const REF_SIBLINGS[] = {"description", "title",    "default",
                                           "deprecated",  "readOnly", NULL};

/* A new unique definition name for ref key ("document#/components/schemas/Pet"
 * → "Pet"): the last pointer segment (else the document's base name) in
 * [A-Za-z0-9._-], "_2", "_3" ... on collision. Registered in def_names, with
 * a null placeholder in defs while it is built. */
static const char *def_register(tq_oa_ctx_t *ctx, const char *key)
{
    const char *hash = strchr(key, '#');
    const char *seg = strrchr(hash ? hash : key, '/');
    seg = seg && seg[1] ? seg + 1 : NULL;
    if (!seg) {
        size_t dlen = hash ? (size_t)(hash - key) : strlen(key);
        const char *slash = memrchr(key, '/', dlen);
        seg = slash ? slash + 1 : key;
    }
    char base[200], name[220];
    size_t n = 0;
    for (const char *p = seg; *p && *p != '#' && n + 1 < sizeof base; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        base[n++] = ok ? c : '_';
    }
    base[n] = '\0';
    if (!n) snprintf(base, sizeof base, "def");
    snprintf(name, sizeof name, "%s", base);
    for (unsigned i = 2; json_object_get(ctx->defs, name); i++)
        snprintf(name, sizeof name, "%s_%u", base, i);
    json_object_set_new(ctx->defs, name, json_null());
    json_object_set_new(ctx->def_names, key, json_string(name));
    return json_string_value(json_object_get(ctx->def_names, key));
}

const json_t *tq_oa_schema_resolve(tq_oa_ctx_t *ctx, const json_t *s)
{
    for (int hops = 0; hops < 64; hops++) {
        const char *ref = json_string_value(json_object_get(s, "$ref"));
        if (!ref || strncmp(ref, "#/$defs/", 8)) return s;
        const json_t *d = json_object_get(ctx->defs, ref + 8);
        if (!json_is_object(d)) return NULL; /* being built: a cycle */
        s = d;
    }
    return NULL;
}

static json_t *build_ref(sb_t *b, tq_oa_node_t n, size_t *nodes)
{
    tq_oa_ctx_t *ctx = b->ctx;
    tq_oa_node_t t;
    char *key = NULL;
    if (tq_oa_deref(ctx, n, &t, &key, b->err) < 0) return NULL;
    const char *name = json_string_value(json_object_get(ctx->def_names, key));
    if (!name) {
        name = def_register(ctx, key);
        size_t cnt = 0;
        json_t *def = build(b, t, 0, &cnt);
        if (!def) {
            json_object_del(ctx->defs, name);
            json_object_del(ctx->def_names, key); /* frees name */
            free(key);
            return NULL;
        }
        json_object_set_new(ctx->defs, name, def);
    }
    json_t *res = json_object();
    json_object_set_new(res, "$ref", json_sprintf("#/$defs/%s", name));
    free(key);
    json_t *v;
    for (int i = 0; REF_SIBLINGS[i]; i++)
        if ((v = json_object_get(n.node, REF_SIBLINGS[i])))
            json_object_set(res, REF_SIBLINGS[i], v);
    *nodes = 1;
    return res;
}

/* discriminator, its mapping's schema references pointed at definitions
 * (a mapping value is a $ref, or a name under components/schemas). */
static json_t *discriminator(sb_t *b, tq_oa_node_t n, const json_t *d)
{
    json_t *out = json_deep_copy(d);
    json_t *mapping = json_object_get(out, "mapping");
    const char *k;
    json_t *v;
    json_object_foreach(mapping, k, v)
    {
        const char *ref = json_string_value(v);
        if (!ref) continue;
        json_t *tmp = strpbrk(ref, "#/")
                          ? json_pack("{s:s}", "$ref", ref)
                          : json_pack("{s:s+}", "$ref", "#/components/schemas/", ref);
        tq_error_t ignored = {0};
        tq_error_t *keep = b->err;
        b->err = &ignored;
        size_t nodes;
        json_t *r = build_ref(b, (tq_oa_node_t){tmp, n.doc}, &nodes);
        b->err = keep;
        if (r) json_object_set(mapping, k, json_object_get(r, "$ref"));
        json_decref(r);
        json_decref(tmp);
    }
    return out;
}

static json_t *build(sb_t *b, tq_oa_node_t n, size_t depth, size_t *nodes)
{
    *nodes = 1;
    if (json_is_false(n.node)) return json_pack("{s:{}}", "not");
    if (!json_is_object(n.node)) return json_object();
    if (json_is_string(json_object_get(n.node, "$ref"))) return build_ref(b, n, nodes);
    return build_inline(b, n, depth, nodes);
}

json_t *tq_oa_schema_build(tq_oa_ctx_t *ctx, tq_oa_node_t n, tq_error_t *err)
{
    sb_t b = {ctx, err};
    size_t nodes = 0;
    return build(&b, n, 0, &nodes);
}
