/* openapi_swagger.c — Swagger 2.0 into operation models: host/basePath/
 * schemes → server URL, `in: body` → JSON request body, `in: formData` →
 * urlencoded or multipart body (`type: file` → binary), collectionFormat →
 * style/explode, consumes/produces, securityDefinitions.
 * Refs into definitions/parameters/responses resolve as plain JSON pointers
 * against the original document: it is never rewritten. */
#include "openapi_swagger.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "openapi_model.h"
#include "openapi_ref.h"
#include "openapi_schema.h"
#include "openapi_server.h"

typedef struct {
    tq_oa_node_t *v;
    size_t n, cap;
} plist_t;

/* Collects path-level then operation-level parameters, refs resolved, the
 * later one replacing an earlier one with the same (in, name). */
static int collect(tq_oa_ctx_t *ctx, plist_t *pl, tq_oa_node_t list, int level, json_t *index,
                   tq_error_t *err)
{
    size_t i;
    json_t *item;
    json_array_foreach(list.node, i, item)
    {
        tq_oa_node_t p;
        if (tq_oa_deref(ctx, (tq_oa_node_t){item, list.doc}, &p, NULL, err) < 0) return -1;
        const char *name = tq_oa_str(p.node, "name");
        const char *in = tq_oa_str(p.node, "in");
        if (!name || !in) {
            tq_oa_warn(ctx, "invalid_parameter",
                       "parameter #%zu has no name or no location; skipped", i);
            continue;
        }
        char key[600];
        snprintf(key, sizeof key, "%s:%.512s", in, name);
        json_t *at = json_object_get(index, key);
        if (at) {
            if (json_integer_value(json_array_get(at, 1)) == level)
                tq_oa_warn(ctx, "duplicate_parameter",
                           "parameter %s is declared twice; the last declaration wins", key);
            pl->v[json_integer_value(json_array_get(at, 0))] = p;
            json_array_set_new(at, 1, json_integer(level));
            continue;
        }
        if (pl->n == pl->cap) {
            size_t cap = pl->cap ? pl->cap * 2 : 16;
            tq_oa_node_t *v = realloc(pl->v, cap * sizeof *v);
            if (!v) return tq_error_set(err, "invalid_schema", "out of memory");
            pl->v = v;
            pl->cap = cap;
        }
        json_object_set_new(index, key, json_pack("[I,i]", (json_int_t)pl->n, level));
        pl->v[pl->n++] = p;
    }
    return 0;
}

static json_t *media_types(const json_t *op, const json_t *root, const char *key)
{
    json_t *t = json_object_get(op, key);
    if (!json_is_array(t)) t = json_object_get(root, key);
    return json_is_array(t) ? t : NULL;
}

/* Swagger collectionFormat as OpenAPI 3 style/explode ("tsv" keeps its own
 * style name, tabDelimited: OpenAPI 3 has no equivalent). */
static json_t *style_of(const json_t *p, const char *in)
{
    const char *cf = tq_oa_str(p, "collectionFormat");
    int query = !strcmp(in, "query");
    const char *style = query ? "form" : "simple";
    int explode = 0;
    if (!cf) /* csv by default, but it only matters for arrays */
        explode = query && !json_is_object(json_object_get(p, "items"));
    else if (!strcmp(cf, "multi"))
        explode = 1;
    else if (!strcmp(cf, "ssv"))
        style = "spaceDelimited";
    else if (!strcmp(cf, "pipes"))
        style = "pipeDelimited";
    else if (!strcmp(cf, "tsv"))
        style = "tabDelimited";
    json_t *src = json_pack("{s:s,s:b,s:b}", "style", style, "explode", explode, "required",
                            json_is_true(json_object_get(p, "required")));
    const char *desc = tq_oa_str(p, "description");
    if (desc) json_object_set_new(src, "description", json_string(desc));
    return src;
}

/* formData parameters become one object body: multipart when a file is sent
 * or consumes offers only multipart, else urlencoded. */
static void form_body(json_t *model, json_t *form, json_t *required, int has_file,
                      const json_t *consumes)
{
    const char *mt = "application/x-www-form-urlencoded";
    int multipart = 0, urlenc = 0;
    size_t i;
    json_t *t;
    json_array_foreach(consumes, i, t)
    {
        const char *s = json_string_value(t);
        if (s && tq_oa_media_kind(s) == TQ_OA_MEDIA_MULTIPART) multipart = 1;
        if (s && tq_oa_media_kind(s) == TQ_OA_MEDIA_FORM) urlenc = 1;
    }
    if (has_file || (multipart && !urlenc)) mt = "multipart/form-data";
    json_t *schema = json_pack("{s:s,s:O}", "type", "object", "properties", form);
    if (json_array_size(required)) json_object_set(schema, "required", required);
    json_object_set_new(model, "request_body",
                        json_pack("{s:s,s:b,s:o}", "media_type", mt, "required",
                                  json_array_size(required) > 0, "schema", schema));
}

static int params(tq_oa_ctx_t *ctx, json_t *model, plist_t *pl, const json_t *op, tq_error_t *err)
{
    json_t *root = ctx->docs->root;
    json_t *form = json_object(), *required = json_array();
    int has_file = 0, rc = 0;
    for (size_t i = 0; i < pl->n && rc == 0; i++) {
        tq_oa_node_t p = pl->v[i];
        const char *name = tq_oa_str(p.node, "name");
        const char *in = tq_oa_str(p.node, "in");
        if (!strcmp(in, "body")) {
            json_t *sn = json_object_get(p.node, "schema");
            json_t *schema =
                sn ? tq_oa_schema_build(ctx, (tq_oa_node_t){sn, p.doc}, err) : json_object();
            if (!schema) {
                rc = -1;
                break;
            }
            json_t *types = media_types(op, root, "consumes");
            int pick = tq_oa_media_choose(types);
            const char *mt =
                pick < 0 ? "application/json" : json_string_value(json_array_get(types, pick));
            tq_oa_media_check(ctx, mt);
            json_t *body =
                json_pack("{s:s,s:b,s:o}", "media_type", mt, "required",
                          json_is_true(json_object_get(p.node, "required")), "schema", schema);
            const char *desc = tq_oa_str(p.node, "description");
            if (desc && *desc) json_object_set_new(body, "description", json_string(desc));
            json_object_set_new(model, "request_body", body);
        } else if (!strcmp(in, "formData")) {
            json_t *schema = tq_oa_schema_build(ctx, p, err);
            if (!schema) {
                rc = -1;
                break;
            }
            has_file |= !strcmp(tq_oa_str(p.node, "type") ? tq_oa_str(p.node, "type") : "", "file");
            json_object_set_new(form, name, schema);
            if (json_is_true(json_object_get(p.node, "required")))
                json_array_append_new(required, json_string(name));
        } else if (!strcmp(in, "path") || !strcmp(in, "query") || !strcmp(in, "header")) {
            if (!strcmp(in, "header") &&
                (!strcasecmp(name, "Accept") || !strcasecmp(name, "Content-Type") ||
                 !strcasecmp(name, "Authorization")))
                continue;
            json_t *schema = tq_oa_schema_build(ctx, p, err);
            if (!schema) {
                rc = -1;
                break;
            }
            /* The parameter object doubles as its schema: drop what belongs to the parameter. */
            if (json_object_get(schema, "description")) {
                json_t *c = json_copy(schema);
                json_object_del(c, "description");
                json_decref(schema);
                schema = c;
            }
            json_t *src = style_of(p.node, in);
            json_array_append_new(json_object_get(model, "parameters"),
                                  tq_oa_param_new(name, in, src, schema));
            json_decref(src);
        } else {
            tq_oa_warn(ctx, "unsupported_parameter_location", "parameter %s is in \"%s\"; skipped",
                       name, in);
        }
    }
    if (rc == 0 && json_object_size(form)) {
        if (json_object_get(model, "request_body"))
            tq_oa_warn(ctx, "invalid_parameter",
                       "both a body and formData parameters; the formData ones are ignored");
        else
            form_body(model, form, required, has_file, media_types(op, root, "consumes"));
    }
    json_decref(form);
    json_decref(required);
    return rc;
}

/* Responses whose $ref cannot be followed are left out here; tq_oa_refs_check
 * warns about them and marks the operation degraded. */
static json_t *responses(tq_oa_ctx_t *ctx, tq_oa_node_t op, const json_t *produces)
{
    json_t *out = json_object();
    tq_oa_node_t resps;
    tq_error_t err = {0};
    if (tq_oa_child(ctx, op, "responses", &resps, &err) < 0 || !json_is_object(resps.node))
        return out;
    const char *code;
    json_t *r;
    json_object_foreach(resps.node, code, r)
    {
        tq_oa_node_t t;
        if (tq_oa_deref(ctx, (tq_oa_node_t){r, resps.doc}, &t, NULL, &err) < 0) continue;
        if (!json_is_object(t.node)) continue;
        const char *desc = tq_oa_str(t.node, "description");
        json_t *types =
            json_object_get(t.node, "schema") && produces ? json_deep_copy(produces) : json_array();
        json_object_set_new(
            out, code,
            json_pack("{s:s,s:o}", "description", desc ? desc : "", "content_types", types));
    }
    return out;
}

static json_t *operation(tq_oa_ctx_t *ctx, const char *method, const char *path, tq_oa_node_t item,
                         tq_oa_node_t op, const char *server)
{
    json_t *root = ctx->docs->root;
    json_t *model = tq_oa_model_new(method, path, op.node);
    tq_error_t err = {0};
    plist_t pl = {0};
    json_t *index = json_object();
    tq_oa_node_t pp, opp;
    int rc = tq_oa_child(ctx, item, "parameters", &pp, &err);
    if (rc == 0) rc = tq_oa_child(ctx, op, "parameters", &opp, &err);
    if (rc == 0 && json_is_array(pp.node)) rc = collect(ctx, &pl, pp, 0, index, &err);
    if (rc == 0 && json_is_array(opp.node)) rc = collect(ctx, &pl, opp, 1, index, &err);
    if (rc == 0) rc = params(ctx, model, &pl, op.node, &err);
    free(pl.v);
    json_decref(index);
    if (rc < 0) {
        tq_oa_warn(ctx, err.code, "%s; the operation is skipped", err.message);
        json_object_set_new(model, "failed", json_true());
    }
    json_t *sec = json_object_get(op.node, "security");
    if (!json_is_array(sec)) sec = json_object_get(root, "security");
    json_object_set_new(model, "security", json_is_array(sec) ? json_deep_copy(sec) : json_array());
    json_object_set_new(model, "server_url", json_string(server));
    json_object_set_new(model, "responses",
                        responses(ctx, op, media_types(op.node, root, "produces")));
    return model;
}

int tq_oa_swagger_operations(tq_oa_ctx_t *ctx, json_t *models, tq_error_t *err)
{
    tq_oa_doc_t *doc = ctx->docs;
    json_t *paths = json_object_get(doc->root, "paths");
    if (!json_is_object(paths))
        return tq_error_set(err, "invalid_schema", "paths: expected an object, found %s",
                            paths ? tq_doc_kind(paths) : "nothing");
    char *server = tq_oa_server_from_swagger(ctx, doc->root);
    tq_oa_each_operation(ctx, paths, operation, server, models);
    free(server);
    return 0;
}

json_t *tq_oa_swagger_security_schemes(tq_oa_ctx_t *ctx)
{
    static const char *const FLOWS[][2] = {{"implicit", "implicit"},
                                           {"password", "password"},
                                           {"application", "clientCredentials"},
                                           {"accessCode", "authorizationCode"}};
    json_t *out = json_object();
    const char *name;
    json_t *d;
    json_object_foreach(json_object_get(ctx->docs->root, "securityDefinitions"), name, d)
    {
        const char *type = tq_oa_str(d, "type");
        if (!type) continue;
        json_t *s = json_object();
        const char *desc = tq_oa_str(d, "description");
        if (desc) json_object_set_new(s, "description", json_string(desc));
        if (!strcmp(type, "basic")) {
            json_object_set_new(s, "type", json_string("http"));
            json_object_set_new(s, "scheme", json_string("basic"));
        } else if (!strcmp(type, "apiKey")) {
            json_object_set_new(s, "type", json_string("apiKey"));
            json_object_set(s, "name", json_object_get(d, "name"));
            json_object_set(s, "in", json_object_get(d, "in"));
        } else if (!strcmp(type, "oauth2")) {
            json_object_set_new(s, "type", json_string("oauth2"));
            const char *flow = tq_oa_str(d, "flow");
            const char *oa3 = NULL;
            for (size_t i = 0; flow && i < sizeof FLOWS / sizeof FLOWS[0]; i++)
                if (!strcmp(flow, FLOWS[i][0])) oa3 = FLOWS[i][1];
            if (oa3) {
                json_t *f = json_object();
                const char *keys[] = {"authorizationUrl", "tokenUrl"};
                for (int i = 0; i < 2; i++)
                    if (json_is_string(json_object_get(d, keys[i])))
                        json_object_set(f, keys[i], json_object_get(d, keys[i]));
                json_t *scopes = json_object_get(d, "scopes");
                json_object_set_new(
                    f, "scopes", json_is_object(scopes) ? json_deep_copy(scopes) : json_object());
                json_object_set_new(s, "flows", json_pack("{s:o}", oa3, f));
            }
        } else {
            json_object_set_new(s, "type", json_string(type));
        }
        json_object_set_new(out, name, s);
    }
    return out;
}
