/* openapi_bundle.c — building a tool bundle from an operation model: one
 * argument per parameter (renamed "<in>_<name>" when two locations share a
 * name), the request body hoisted into top-level arguments when it is an
 * object whose property names collide with nothing, else one "body"
 * argument; the input JSON Schema with a correct "required".
 * Must never change a schema in place (schemas are shared, copy first). */
#include "openapi_bundle.h"

#include <stdio.h>
#include <string.h>

#include "openapi_model.h"
#include "openapi_schema.h"

/* Adds property schema under name, with a description override. */
static void add_property(json_t *props, const char *name, json_t *schema, const char *desc,
                         int deprecated)
{
    if ((desc && *desc) || deprecated) {
        json_t *c = json_copy(schema);
        if (desc && *desc) json_object_set_new(c, "description", json_string(desc));
        if (deprecated) json_object_set_new(c, "deprecated", json_true());
        json_object_set_new(props, name, c);
    } else {
        json_object_set(props, name, schema);
    }
}

static const char *unique_arg(json_t *taken, const char *want, const char *alt, char *buf,
                              size_t size)
{
    const char *name = want;
    if (json_object_get(taken, name) && alt) name = alt;
    for (unsigned i = 2; json_object_get(taken, name); i++) {
        snprintf(buf, size, "%s_%u", want, i);
        name = buf;
    }
    json_object_set_new(taken, name, json_true());
    return name;
}

static int hoistable(const json_t *schema, const char *mt, const json_t *taken)
{
    const json_t *props = json_object_get(schema, "properties");
    const char *type = json_string_value(json_object_get(schema, "type"));
    if (!json_is_object(props) || !json_object_size(props) || (type && strcmp(type, "object")) ||
        json_object_get(schema, "oneOf") || json_object_get(schema, "anyOf") ||
        json_is_object(json_object_get(schema, "additionalProperties")) ||
        tq_oa_media_kind(mt) == TQ_OA_MEDIA_RAW)
        return 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)props, k, v) if (json_object_get(taken, k)) return 0;
    return 1;
}

static void add_body(tq_oa_ctx_t *ctx, json_t *bundle, const json_t *rb, json_t *args,
                     json_t *props, json_t *req, json_t *taken)
{
    const char *mt = tq_oa_str(rb, "media_type");
    json_t *schema = json_object_get(rb, "schema");
    /* A body given by $ref is hoisted from its definition. */
    const json_t *target = tq_oa_schema_resolve(ctx, schema);
    json_t *enc = json_object_get(rb, "encoding");
    int body_required = json_is_true(json_object_get(rb, "required"));
    json_t *out = json_pack("{s:s,s:b}", "media_type", mt, "required", body_required);
    if (json_object_get(rb, "description"))
        json_object_set(out, "description", json_object_get(rb, "description"));
    if (enc) json_object_set(out, "encoding", enc);
    if (target && hoistable(target, mt, taken)) {
        json_object_set_new(out, "hoisted", json_true());
        json_t *sreq = json_object_get(target, "required");
        const char *k;
        json_t *ps;
        json_object_foreach(json_object_get(target, "properties"), k, ps)
        {
            int required = 0;
            size_t i;
            json_t *r;
            json_array_foreach(sreq, i, r)
            {
                const char *rs = json_string_value(r);
                required |= rs && !strcmp(rs, k);
            }
            json_object_set_new(taken, k, json_true());
            json_t *arg = json_pack("{s:s,s:s,s:b,s:s}", "name", k, "in", "body", "required",
                                    required, "content_type", mt);
            json_t *e = json_object_get(enc, k);
            if (e) json_object_set(arg, "encoding", e);
            json_array_append_new(args, arg);
            add_property(props, k, ps, NULL, 0);
            if (required) json_array_append_new(req, json_string(k));
        }
    } else {
        char buf[64];
        const char *name = unique_arg(taken, "body", "request_body", buf, sizeof buf);
        json_object_set_new(out, "hoisted", json_false());
        json_object_set_new(out, "argument", json_string(name));
        json_array_append_new(args, json_pack("{s:s,s:s,s:b,s:s}", "name", name, "in", "body",
                                              "required", body_required, "content_type", mt));
        add_property(props, name, schema, json_string_value(json_object_get(rb, "description")), 0);
        if (body_required) json_array_append_new(req, json_string(name));
    }
    json_object_set_new(bundle, "request_body", out);
}

json_t *tq_oa_bundle_new(tq_oa_ctx_t *ctx, const json_t *model)
{
    const char *keys[] = {"operation_id", "original_operation_id",
                          "method",       "path",
                          "summary",      "description",
                          "server_url",   "tags",
                          "deprecated",   "security",
                          "responses",    NULL};
    json_t *b = json_object();
    for (int i = 0; keys[i]; i++) {
        json_t *v = json_object_get(model, keys[i]);
        if (v) json_object_set(b, keys[i], v);
    }
    if (!json_object_get(b, "summary")) json_object_set_new(b, "summary", json_string(""));
    if (!json_object_get(b, "description")) json_object_set_new(b, "description", json_string(""));
    if (!tq_oa_str(model, "summary") && !tq_oa_str(model, "description"))
        tq_oa_warn(ctx, "missing_summary", "the operation has no summary and no description");
    const char *author = ctx->opts->author;
    json_object_set_new(b, "author", json_string(author ? author : ""));

    json_t *args = json_array(), *props = json_object(), *req = json_array();
    json_t *taken = json_object();
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(model, "parameters"), i, p)
    {
        const char *orig = tq_oa_str(p, "name"), *in = tq_oa_str(p, "in");
        char alt[600], buf[640];
        snprintf(alt, sizeof alt, "%s_%.500s", in, orig);
        const char *name = unique_arg(taken, orig, alt, buf, sizeof buf);
        int required = json_is_true(json_object_get(p, "required"));
        json_t *arg = json_pack("{s:s,s:s,s:b,s:O,s:O,s:O}", "name", name, "in", in, "required",
                                required, "style", json_object_get(p, "style"), "explode",
                                json_object_get(p, "explode"), "allow_reserved",
                                json_object_get(p, "allowReserved"));
        if (strcmp(name, orig)) json_object_set_new(arg, "original_name", json_string(orig));
        if (json_object_get(p, "content_type"))
            json_object_set(arg, "content_type", json_object_get(p, "content_type"));
        json_array_append_new(args, arg);
        add_property(props, name, json_object_get(p, "schema"), tq_oa_str(p, "description"),
                     json_is_true(json_object_get(p, "deprecated")));
        if (required) json_array_append_new(req, json_string(name));
    }
    json_t *rb = json_object_get(model, "request_body");
    if (rb)
        add_body(ctx, b, rb, args, props, req, taken);
    else
        json_object_set_new(b, "request_body", json_null());
    json_decref(taken);
    json_object_set_new(b, "parameters", args);
    json_object_set_new(
        b, "input_schema",
        json_pack("{s:s,s:o,s:o}", "type", "object", "properties", props, "required", req));
    return b;
}
