/* openapi_model.c — building the normalised operation model shared by the
 * OpenAPI 3.x and Swagger 2.0 front ends: descriptive fields, parameter
 * defaults and merging, media-type choice.
 * Must never resolve refs or build schemas (callers pass built schemas). */
#include "openapi_model.h"
#include "openapi_ref.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *const TQ_OA_METHODS[] = {"get",  "put",   "post",  "delete", "options",
                                     "head", "patch", "trace", NULL};

int tq_oa_is_method(const char *key)
{
    for (int i = 0; TQ_OA_METHODS[i]; i++)
        if (!strcmp(key, TQ_OA_METHODS[i])) return 1;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* NULL when path is a safe template, else why not: it must start with one
 * "/" (not an absolute or protocol-relative URL) and hold no "." or ".."
 * segment, percent-encoded or not (security review F10). */
static const char *unsafe_path(const char *path)
{
    if (path[0] != '/') return "does not start with /";
    if (path[1] == '/') return "starts with // (a protocol-relative URL)";
    for (const char *seg = path + 1;; seg++) {
        size_t dots = 0, other = 0;
        const char *p = seg;
        for (; *p && *p != '/'; p++) {
            if (*p == '.') {
                dots++;
            } else if (p[0] == '%' && p[1] == '2' && hexval(p[2]) == 14) {
                dots++;
                p += 2;
            } else {
                other++;
            }
        }
        if (!other && (dots == 1 || dots == 2)) return "holds a . or .. segment";
        if (!*p) return NULL;
        seg = p;
    }
}

static json_t *failed_model(const char *method, const char *path)
{
    json_t *m = tq_oa_model_new(method, path, NULL);
    json_object_set_new(m, "failed", json_true());
    return m;
}

void tq_oa_each_operation(tq_oa_ctx_t *ctx, const json_t *paths, tq_oa_operation_fn build,
                          const char *server, json_t *models)
{
    const char *path;
    json_t *raw;
    char label[600];
    json_object_foreach((json_t *)paths, path, raw)
    {
        if (tq_oa_should_stop(ctx)) break;
        tq_oa_node_t item;
        tq_error_t e = {0};
        ctx->op = NULL;
        if (tq_oa_deref(ctx, (tq_oa_node_t){raw, ctx->docs}, &item, NULL, &e) < 0) {
            tq_oa_warn(ctx, e.code, "path %s: %s; its operations are skipped", path, e.message);
            continue;
        }
        if (!json_is_object(item.node)) {
            tq_oa_warn(ctx, "invalid_path_item", "path %s: expected an object, found %s", path,
                       tq_doc_kind(item.node));
            continue;
        }
        const char *why = unsafe_path(path);
        const char *method;
        json_t *op;
        json_object_foreach(item.node, method, op)
        {
            if (!tq_oa_is_method(method)) continue;
            if (tq_oa_should_stop(ctx)) break;
            snprintf(label, sizeof label, "%s %.500s", method, path);
            for (char *c = label; *c != ' '; c++)
                *c = (char)(*c - 32);
            ctx->op = label;
            if (why) {
                tq_oa_warn(ctx, "unsafe_path", "path %.500s %s; the operation is skipped", path,
                           why);
                json_array_append_new(models, failed_model(method, path));
                continue;
            }
            /* An operation object may itself be a $ref (often to another file). */
            tq_oa_node_t opn;
            if (tq_oa_deref(ctx, (tq_oa_node_t){op, item.doc}, &opn, NULL, &e) < 0) {
                tq_oa_warn(ctx, e.code, "%s; the operation is skipped", e.message);
                json_array_append_new(models, failed_model(method, path));
                continue;
            }
            if (!json_is_object(opn.node)) {
                tq_oa_warn(ctx, "invalid_operation", "expected an object, found %s; skipped",
                           tq_doc_kind(opn.node));
                json_array_append_new(models, failed_model(method, path));
                continue;
            }
            json_t *m = build(ctx, method, path, item, opn, server);
            /* Every other $ref the operation reaches (responses, headers,
             * examples, links, callbacks...) must resolve too, or the
             * operation is degraded. */
            if (!json_is_true(json_object_get(m, "failed")) &&
                (tq_oa_refs_check(ctx, opn) +
                 tq_oa_refs_check(
                     ctx, (tq_oa_node_t){json_object_get(item.node, "parameters"), item.doc})) > 0)
                json_object_set_new(m, "degraded", json_true());
            json_array_append_new(models, m);
        }
    }
    ctx->op = NULL;
}

json_t *tq_oa_model_new(const char *method, const char *path, const json_t *op)
{
    json_t *m = json_pack("{s:s,s:s}", "method", method, "path", path);
    char buf[64];
    const char *id = tq_oa_scalar_text(json_object_get(op, "operationId"), buf, sizeof buf);
    if (id && *id) json_object_set_new(m, "operation_id", json_string(id));
    const char *text[] = {"summary", "description"};
    for (int i = 0; i < 2; i++) {
        const char *s = tq_oa_scalar_text(json_object_get(op, text[i]), buf, sizeof buf);
        if (s && *s) json_object_set_new(m, text[i], json_string(s));
    }
    json_t *tags = json_array(), *t;
    size_t i;
    json_array_foreach(json_object_get(op, "tags"), i, t)
    {
        const char *s = tq_oa_scalar_text(t, buf, sizeof buf);
        if (s) json_array_append_new(tags, json_string(s));
    }
    json_object_set_new(m, "tags", tags);
    json_object_set_new(m, "deprecated",
                        json_boolean(json_is_true(json_object_get(op, "deprecated"))));
    json_object_set_new(m, "parameters", json_array());
    return m;
}

json_t *tq_oa_param_new(const char *name, const char *in, const json_t *src, json_t *schema)
{
    const char *style = tq_oa_str(src, "style");
    if (!style) style = (!strcmp(in, "query") || !strcmp(in, "cookie")) ? "form" : "simple";
    json_t *explode = json_object_get(src, "explode");
    int ex = json_is_boolean(explode) ? json_is_true(explode) : !strcmp(style, "form");
    int required = !strcmp(in, "path") || json_is_true(json_object_get(src, "required"));
    json_t *p = json_pack("{s:s,s:s,s:b,s:b,s:s,s:b,s:b}", "name", name, "in", in, "required",
                          required, "deprecated", json_is_true(json_object_get(src, "deprecated")),
                          "style", style, "explode", ex, "allowReserved",
                          json_is_true(json_object_get(src, "allowReserved")));
    const char *desc = tq_oa_str(src, "description");
    if (desc && *desc) json_object_set_new(p, "description", json_string(desc));
    json_object_set_new(p, "schema", schema);
    return p;
}

void tq_oa_param_put(tq_oa_ctx_t *ctx, json_t *params, json_t *index, json_t *param, int level)
{
    char key[600];
    snprintf(key, sizeof key, "%s:%.512s", tq_oa_str(param, "in"), tq_oa_str(param, "name"));
    json_t *at = json_object_get(index, key);
    if (!at) {
        json_object_set_new(index, key,
                            json_pack("[I,i]", (json_int_t)json_array_size(params), level));
        json_array_append_new(params, param);
        return;
    }
    if (json_integer_value(json_array_get(at, 1)) == level)
        tq_oa_warn(ctx, "duplicate_parameter",
                   "parameter %s is declared twice; the last declaration wins", key);
    json_array_set_new(params, (size_t)json_integer_value(json_array_get(at, 0)), param);
    json_array_set_new(at, 1, json_integer(level));
}

tq_oa_media_t tq_oa_media_kind(const char *mt)
{
    size_t n = strcspn(mt, ";");
    while (n > 0 && mt[n - 1] == ' ')
        n--;
    if ((n == 16 && !strncasecmp(mt, "application/json", 16)) ||
        (n > 5 && !strncasecmp(mt + n - 5, "+json", 5)))
        return TQ_OA_MEDIA_JSON;
    if (n == 33 && !strncasecmp(mt, "application/x-www-form-urlencoded", 33))
        return TQ_OA_MEDIA_FORM;
    if (n >= 10 && !strncasecmp(mt, "multipart/", 10)) return TQ_OA_MEDIA_MULTIPART;
    return TQ_OA_MEDIA_RAW;
}

int tq_oa_media_choose(const json_t *types)
{
    const tq_oa_media_t order[] = {TQ_OA_MEDIA_JSON, TQ_OA_MEDIA_FORM, TQ_OA_MEDIA_MULTIPART};
    for (int k = 0; k < 3; k++) {
        size_t i;
        json_t *t;
        json_array_foreach(types, i, t) if (json_is_string(t) && tq_oa_media_kind(json_string_value(
                                                                     t)) == order[k]) return (int)i;
    }
    return json_array_size(types) ? 0 : -1;
}

void tq_oa_media_check(tq_oa_ctx_t *ctx, const char *mt)
{
    size_t n = strcspn(mt, ";");
    if (strcasestr(mt, "xml") && strcasestr(mt, "xml") < mt + n)
        tq_oa_warn(ctx, "unsupported_media_type",
                   "request media type %s is not JSON, a form or multipart; the body is one "
                   "string argument sent as is",
                   mt);
}
