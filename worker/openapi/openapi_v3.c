/* openapi_v3.c — OpenAPI 3.0/3.1 operations into models: path items (and
 * their $ref), path-level parameters merged with operation ones, request
 * bodies with the media-type choice, servers per operation, effective
 * security, a summary of responses.
 * Must never give up on the whole document for a defect that concerns one
 * operation: that operation is marked failed with a warning. */
#include "openapi_v3.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "openapi_model.h"
#include "openapi_ref.h"
#include "openapi_schema.h"
#include "openapi_server.h"

static int add_params(tq_oa_ctx_t *ctx, json_t *model, json_t *index, tq_oa_node_t list, int level,
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
                       "parameter #%zu has no name or no location; "
                       "skipped",
                       i);
            continue;
        }
        if (strcmp(in, "path") && strcmp(in, "query") && strcmp(in, "header") &&
            strcmp(in, "cookie")) {
            tq_oa_warn(ctx, "unsupported_parameter_location",
                       "parameter %s is in \"%s\"; only path, query, header and cookie are "
                       "supported; skipped",
                       name, in);
            continue;
        }
        /* OpenAPI: these header parameters are ignored (content negotiation and auth). */
        if (!strcmp(in, "header") &&
            (!strcasecmp(name, "Accept") || !strcasecmp(name, "Content-Type") ||
             !strcasecmp(name, "Authorization")))
            continue;
        tq_oa_node_t sn = {json_object_get(p.node, "schema"), p.doc}, content;
        const char *ctype = NULL;
        if (!sn.node) {
            if (tq_oa_child(ctx, p, "content", &content, err) < 0) return -1;
            void *it = json_is_object(content.node) ? json_object_iter(content.node) : NULL;
            tq_oa_node_t media;
            if (it) {
                ctype = json_object_iter_key(it);
                if (tq_oa_deref(ctx, (tq_oa_node_t){json_object_iter_value(it), content.doc},
                                &media, NULL, err) < 0)
                    return -1;
                sn = (tq_oa_node_t){json_object_get(media.node, "schema"), media.doc};
            }
        }
        json_t *schema = sn.node ? tq_oa_schema_build(ctx, sn, err) : json_object();
        if (!schema) return -1;
        json_t *param = tq_oa_param_new(name, in, p.node, schema);
        if (ctype) json_object_set_new(param, "content_type", json_string(ctype));
        tq_oa_param_put(ctx, json_object_get(model, "parameters"), index, param, level);
    }
    return 0;
}

static int add_body(tq_oa_ctx_t *ctx, json_t *model, tq_oa_node_t rb_ref, tq_error_t *err)
{
    tq_oa_node_t rb, cn, mn;
    if (tq_oa_deref(ctx, rb_ref, &rb, NULL, err) < 0) return -1;
    if (tq_oa_child(ctx, rb, "content", &cn, err) < 0) return -1;
    json_t *content = cn.node;
    json_t *types = json_array();
    const char *k;
    json_t *v;
    if (json_is_object(content))
        json_object_foreach(content, k, v) json_array_append_new(types, json_string(k));
    int pick = tq_oa_media_choose(types);
    if (pick < 0) {
        json_decref(types);
        return 0;
    }
    const char *mt = json_string_value(json_array_get(types, (size_t)pick));
    if (tq_oa_child(ctx, cn, mt, &mn, err) < 0) {
        json_decref(types);
        return -1;
    }
    json_t *media = mn.node;
    tq_oa_media_check(ctx, mt);
    json_t *sn = json_object_get(media, "schema");
    json_t *schema = sn ? tq_oa_schema_build(ctx, (tq_oa_node_t){sn, mn.doc}, err)
                        : (tq_oa_media_kind(mt) == TQ_OA_MEDIA_RAW
                               ? json_pack("{s:s,s:s}", "type", "string", "format", "binary")
                               : json_object());
    if (!schema) {
        json_decref(types);
        return -1;
    }
    json_t *body = json_pack("{s:s,s:b,s:o}", "media_type", mt, "required",
                             json_is_true(json_object_get(rb.node, "required")), "schema", schema);
    json_decref(types);
    const char *desc = tq_oa_str(rb.node, "description");
    if (desc && *desc) json_object_set_new(body, "description", json_string(desc));
    json_t *enc = json_object_get(media, "encoding");
    if (json_is_object(enc) && json_object_size(enc))
        json_object_set_new(body, "encoding", json_deep_copy(enc));
    json_object_set_new(model, "request_body", body);
    return 0;
}

/* Responses whose $ref (or content's) cannot be followed are left out here;
 * tq_oa_refs_check warns about them and marks the operation degraded. */
static json_t *responses(tq_oa_ctx_t *ctx, tq_oa_node_t op)
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
        tq_oa_node_t t, c;
        if (tq_oa_deref(ctx, (tq_oa_node_t){r, resps.doc}, &t, NULL, &err) < 0) continue;
        if (!json_is_object(t.node)) continue;
        if (tq_oa_child(ctx, t, "content", &c, &err) < 0) continue;
        json_t *types = json_array();
        const char *mt;
        json_t *v;
        if (json_is_object(c.node))
            json_object_foreach(c.node, mt, v) json_array_append_new(types, json_string(mt));
        const char *desc = tq_oa_str(t.node, "description");
        json_object_set_new(
            out, code,
            json_pack("{s:s,s:o}", "description", desc ? desc : "", "content_types", types));
    }
    return out;
}

static json_t *operation(tq_oa_ctx_t *ctx, const char *method, const char *path, tq_oa_node_t item,
                         tq_oa_node_t op, const char *root_server)
{
    json_t *model = tq_oa_model_new(method, path, op.node);
    tq_error_t err = {0};
    json_t *index = json_object();
    int rc = 0;
    tq_oa_node_t pp, opp;
    rc = tq_oa_child(ctx, item, "parameters", &pp, &err);
    if (rc == 0) rc = tq_oa_child(ctx, op, "parameters", &opp, &err);
    if (rc == 0 && json_is_array(pp.node)) rc = add_params(ctx, model, index, pp, 0, &err);
    if (rc == 0 && json_is_array(opp.node)) rc = add_params(ctx, model, index, opp, 1, &err);
    json_decref(index);
    json_t *rb = json_object_get(op.node, "requestBody");
    if (rc == 0 && json_is_object(rb)) rc = add_body(ctx, model, (tq_oa_node_t){rb, op.doc}, &err);
    if (rc < 0) {
        tq_oa_warn(ctx, err.code, "%s; the operation is skipped", err.message);
        json_object_set_new(model, "failed", json_true());
    }
    json_t *root = ctx->docs->root;
    json_t *sec = json_object_get(op.node, "security");
    if (!json_is_array(sec)) sec = json_object_get(root, "security");
    json_object_set_new(model, "security", json_is_array(sec) ? json_deep_copy(sec) : json_array());
    json_t *servers = json_object_get(op.node, "servers");
    if (!json_array_size(servers)) servers = json_object_get(item.node, "servers");
    char *url = json_array_size(servers) ? tq_oa_server_from_list(ctx, servers) : NULL;
    json_object_set_new(model, "server_url", json_string(url ? url : root_server));
    free(url);
    json_object_set_new(model, "responses", responses(ctx, op));
    return model;
}

int tq_oa_v3_operations(tq_oa_ctx_t *ctx, json_t *models, tq_error_t *err)
{
    tq_oa_doc_t *doc = ctx->docs;
    json_t *paths = json_object_get(doc->root, "paths");
    if (paths && !json_is_object(paths))
        return tq_error_set(err, "invalid_schema", "paths: expected an object, found %s",
                            tq_doc_kind(paths));
    char *root_server = tq_oa_server_from_list(ctx, json_object_get(doc->root, "servers"));
    tq_oa_each_operation(ctx, paths, operation, root_server, models);
    free(root_server);
    return 0;
}

json_t *tq_oa_v3_security_schemes(tq_oa_ctx_t *ctx)
{
    json_t *out = json_object();
    tq_oa_doc_t *doc = ctx->docs;
    json_t *schemes = json_object_get(json_object_get(doc->root, "components"), "securitySchemes");
    const char *name;
    json_t *s;
    json_object_foreach(schemes, name, s)
    {
        tq_oa_node_t t;
        tq_error_t e = {0};
        if (tq_oa_deref(ctx, (tq_oa_node_t){s, doc}, &t, NULL, &e) < 0) {
            tq_oa_warn(ctx, e.code, "security scheme %s: %s", name, e.message);
            continue;
        }
        if (json_is_object(t.node)) json_object_set_new(out, name, json_deep_copy(t.node));
    }
    return out;
}
