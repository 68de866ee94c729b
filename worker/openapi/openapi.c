/* openapi.c — the importer's entry point: load, recognise the format
 * (OpenAPI 3.0/3.1, Swagger 2.0, OpenAI plugin manifest), run the matching
 * front end, name operations, build bundles, apply the import filter.
 * Must never read files or the network itself (documents come in opts). */
#include "openapi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openapi_bundle.h"
#include "openapi_ctx.h"
#include "openapi_opid.h"
#include "openapi_swagger.h"
#include "openapi_v3.h"

#define EXPECTED "expected an OpenAPI 3.x, Swagger 2.0 or OpenAI plugin document"

void tq_openapi_opts_default(tq_openapi_opts_t *opts)
{
    memset(opts, 0, sizeof *opts);
    tq_doc_limits_default(&opts->limits);
    opts->max_schema_depth = TQ_OPENAPI_DEFAULT_MAX_SCHEMA_DEPTH;
}

typedef enum { KIND_OPENAPI30, KIND_OPENAPI31, KIND_SWAGGER, KIND_PLUGIN } kind_t;

static int detect(const json_t *root, tq_doc_format_t fmt, kind_t *kind, tq_error_t *err)
{
    if (!json_is_object(root))
        return tq_error_set(err, "invalid_schema", EXPECTED "; found %s (%s)", tq_doc_kind(root),
                            fmt == TQ_DOC_JSON ? "JSON" : "YAML");
    char buf[64];
    const json_t *v;
    if ((v = json_object_get(root, "openapi"))) {
        const char *s = tq_oa_scalar_text(v, buf, sizeof buf);
        if (s && (!strcmp(s, "3.0") || !strncmp(s, "3.0.", 4)))
            *kind = KIND_OPENAPI30;
        else if (s && (!strcmp(s, "3.1") || !strncmp(s, "3.1.", 4)))
            *kind = KIND_OPENAPI31;
        else
            return tq_error_set(err, "invalid_schema",
                                "openapi: %s is not supported (expected 3.0.x or 3.1.x)",
                                s ? s : tq_doc_kind(v));
    } else if ((v = json_object_get(root, "swagger"))) {
        const char *s = tq_oa_scalar_text(v, buf, sizeof buf);
        if (!s || (strcmp(s, "2.0") && strcmp(s, "2")))
            return tq_error_set(err, "invalid_schema",
                                "swagger: %s is not supported (expected \"2.0\")",
                                s ? s : tq_doc_kind(v));
        *kind = KIND_SWAGGER;
    } else if (json_is_object(json_object_get(root, "api"))) {
        *kind = KIND_PLUGIN;
        return 0;
    } else {
        return tq_error_set(err, "invalid_schema",
                            EXPECTED "; found an object without \"openapi\", \"swagger\" or "
                                     "\"api\"");
    }
    const json_t *info = json_object_get(root, "info");
    if (!json_is_object(info))
        return tq_error_set(err, "invalid_schema", "info: expected an object, found %s",
                            info ? tq_doc_kind(info) : "nothing");
    const json_t *paths = json_object_get(root, "paths");
    if (paths && !json_is_object(paths))
        return tq_error_set(err, "invalid_schema", "paths: expected an object, found %s",
                            tq_doc_kind(paths));
    if (!paths && *kind != KIND_OPENAPI31)
        return tq_error_set(err, "invalid_schema", "paths: missing (required in %s)",
                            *kind == KIND_SWAGGER ? "Swagger 2.0" : "OpenAPI 3.0");
    if (!paths && !json_object_get(root, "webhooks") && !json_object_get(root, "components"))
        return tq_error_set(err, "invalid_schema",
                            "an OpenAPI 3.1 document needs paths, webhooks or components");
    return 0;
}

static void set_text(json_t *out, const char *key, const json_t *v)
{
    char buf[64];
    const char *s = tq_oa_scalar_text(v, buf, sizeof buf);
    json_object_set_new(out, key, json_string(s ? s : ""));
}

static int parse_plugin(json_t *manifest, const tq_openapi_opts_t *opts, json_t **out,
                        tq_error_t *err);

static int parse_tree(json_t *root, tq_doc_format_t fmt, json_t *load_warnings,
                      const tq_openapi_opts_t *opts, json_t **out, tq_error_t *err)
{
    kind_t kind = KIND_OPENAPI30;
    if (detect(root, fmt, &kind, err) < 0) {
        json_decref(root);
        return -1;
    }
    if (kind == KIND_PLUGIN) return parse_plugin(root, opts, out, err);
    tq_oa_ctx_t ctx;
    tq_oa_ctx_init(&ctx, opts, root, opts->document_path);
    json_array_extend(ctx.warnings, load_warnings);
    json_t *models = json_array();
    int rc = kind == KIND_SWAGGER ? tq_oa_swagger_operations(&ctx, models, err)
                                  : tq_oa_v3_operations(&ctx, models, err);
    if (rc < 0) {
        json_decref(models);
        tq_oa_ctx_clear(&ctx);
        return -1;
    }
    if (tq_oa_should_stop(&ctx)) {
        json_decref(models);
        tq_error_set(err, ctx.stop,
                     !strcmp(ctx.stop, "timeout")
                         ? "the import did not finish within the job's timeout"
                         : "the import was cancelled");
        tq_oa_ctx_clear(&ctx);
        return -1;
    }
    tq_oa_opid_assign(&ctx, models);
    json_t *tools = json_array(), *skipped = json_array(), *degraded = json_array();
    size_t i;
    json_t *m;
    char label[600];
    json_array_foreach(models, i, m)
    {
        int failed = json_is_true(json_object_get(m, "failed"));
        if (failed || json_is_true(json_object_get(m, "degraded"))) {
            snprintf(label, sizeof label, "%s %.500s", tq_oa_str(m, "method"),
                     tq_oa_str(m, "path"));
            for (char *c = label; *c != ' '; c++)
                *c = (char)(*c - 32);
            json_array_append_new(failed ? skipped : degraded, json_string(label));
            if (failed) continue;
        }
        snprintf(label, sizeof label, "%s", tq_oa_str(m, "operation_id"));
        ctx.op = label;
        json_t *b = tq_oa_bundle_new(&ctx, m);
        if (tq_openapi_filter_match(opts->filter, b))
            json_array_append_new(tools, b);
        else
            json_decref(b);
    }
    ctx.op = NULL;
    if (json_array_size(models) == 0)
        tq_oa_warn(&ctx, "no_operations",
                   "the document has no operations under paths (webhooks are not tools); "
                   "it imports with zero tools");
    if (ctx.dropped) {
        json_array_append_new(ctx.warnings,
                              json_pack("{s:s,s:s}", "code", "warnings_truncated", "message",
                                        "more warnings were left out; only the first ones are "
                                        "kept"));
    }
    json_t *info = json_object_get(root, "info");
    char *server = NULL;
    json_t *res = json_object();
    json_object_set_new(res, "schema_type",
                        json_string(kind == KIND_SWAGGER ? "swagger" : "openapi"));
    set_text(res, "version", json_object_get(root, kind == KIND_SWAGGER ? "swagger" : "openapi"));
    set_text(res, "title", json_object_get(info, "title"));
    set_text(res, "description", json_object_get(info, "description"));
    {
        json_t *first = json_array_get(models, 0);
        const char *s = tq_oa_str(first, "server_url");
        server = strdup(s ? s : (opts->server_url ? opts->server_url : ""));
    }
    json_object_set_new(res, "server_url", json_string(server));
    free(server);
    /* The provider's definitions: those its tools reach (an import filter
     * may have dropped tools whose definitions were built). */
    json_t *defs = json_object();
    json_t *t;
    json_array_foreach(tools, i, t)
    {
        json_t *d = tq_openapi_defs_for(json_object_get(t, "input_schema"), ctx.defs);
        json_object_update(defs, d);
        json_decref(d);
    }
    json_object_set_new(res, "defs", defs);
    json_object_set_new(res, "tools", tools);
    json_object_set_new(res, "skipped", skipped);
    json_object_set_new(res, "degraded", degraded);
    json_object_set(res, "warnings", ctx.warnings);
    json_object_set_new(res, "security_schemes",
                        kind == KIND_SWAGGER ? tq_oa_swagger_security_schemes(&ctx)
                                             : tq_oa_v3_security_schemes(&ctx));
    json_decref(models);
    tq_oa_ctx_clear(&ctx);
    *out = res;
    return 0;
}

/* OpenAI plugin manifest: the referenced document comes from opts.files
 * (keyed by api.url) or, when remote refs are allowed, from fetch_ref. */
static int parse_plugin(json_t *manifest, const tq_openapi_opts_t *opts, json_t **out,
                        tq_error_t *err)
{
    json_t *api = json_object_get(manifest, "api");
    const char *type = tq_oa_str(api, "type");
    const char *url = tq_oa_str(api, "url");
    int rc = -1;
    char *body = NULL;
    size_t len = 0;
    if (!type || strcmp(type, "openapi")) {
        tq_error_set(err, "invalid_schema",
                     "OpenAI plugin manifest: api.type %s is not supported (expected \"openapi\")",
                     type ? type : "is missing");
        goto done;
    }
    if (!url) {
        tq_error_set(err, "invalid_schema", "OpenAI plugin manifest: api.url is missing");
        goto done;
    }
    json_t *doc = json_object_get(opts->files, url);
    if (json_is_string(doc)) {
        body = strndup(json_string_value(doc), json_string_length(doc));
        len = json_string_length(doc);
    } else if (opts->allow_remote_refs && opts->fetch_ref) {
        if (opts->fetch_ref(opts->fetch_ctx, url, &body, &len, err) < 0) goto done;
    } else {
        tq_error_set(err, "invalid_schema",
                     "OpenAI plugin manifest: the document at api.url %s was not supplied", url);
        goto done;
    }
    tq_openapi_opts_t sub = *opts;
    if (!sub.document_url) sub.document_url = url;
    json_t *root = NULL, *warnings = json_array();
    tq_doc_format_t fmt;
    if (tq_doc_load(body, len, &opts->limits, &root, warnings, &fmt, err) == 0) {
        if (json_is_object(root) && json_is_object(json_object_get(root, "api"))) {
            json_decref(root);
            tq_error_set(err, "invalid_schema", "api.url %s is itself a plugin manifest", url);
        } else {
            rc = parse_tree(root, fmt, warnings, &sub, out, err);
        }
    }
    json_decref(warnings);
    if (rc == 0) {
        json_object_set_new(*out, "schema_type", json_string("openai_plugin"));
        const char *keys[] = {"name_for_model", "name_for_human", "description_for_model", "auth",
                              NULL};
        json_t *plugin = json_object();
        for (int i = 0; keys[i]; i++)
            if (json_object_get(manifest, keys[i]))
                json_object_set(plugin, keys[i], json_object_get(manifest, keys[i]));
        json_object_set_new(*out, "plugin", plugin);
        if (!*tq_oa_str(*out, "title") && tq_oa_str(manifest, "name_for_human"))
            json_object_set(*out, "title", json_object_get(manifest, "name_for_human"));
    }
done:
    free(body);
    json_decref(manifest);
    return rc;
}

int tq_openapi_parse(const char *buf, size_t len, const tq_openapi_opts_t *opts, json_t **out,
                     tq_error_t *err)
{
    tq_openapi_opts_t def;
    if (!opts) {
        tq_openapi_opts_default(&def);
        opts = &def;
    }
    *out = NULL;
    if (tq_openapi_filter_check(opts->filter, err) < 0) return -1;
    json_t *root = NULL, *warnings = json_array();
    tq_doc_format_t fmt;
    int rc = tq_doc_load(buf, len, &opts->limits, &root, warnings, &fmt, err);
    if (rc == 0) rc = parse_tree(root, fmt, warnings, opts, out, err);
    json_decref(warnings);
    return rc;
}
