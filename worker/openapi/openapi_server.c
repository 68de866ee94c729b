/* openapi_server.c — computing server URLs (variables, relative URLs,
 * Swagger host/basePath, the caller's override).
 * Must never contact a server or judge whether an address is allowed: the
 * invoker's SSRF guard does that at call time. */
#include "openapi_server.h"
#include "buf.h"

#include <stdlib.h>
#include <string.h>

static int has_scheme(const char *u)
{
    const char *c = strstr(u, "://");
    return c && c > u &&
           strspn(u, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-") ==
               (size_t)(c - u);
}

/* Resolves a relative URL against the document's URL (when known), strips a
 * trailing slash and applies the override. Takes ownership of url. */
static char *finish(tq_oa_ctx_t *ctx, char *url)
{
    const tq_openapi_opts_t *o = ctx->opts;
    if (o->server_url && *o->server_url) {
        free(url);
        url = strdup(o->server_url);
    } else if (!has_scheme(url)) {
        const char *doc = o->document_url;
        if (doc && has_scheme(doc)) {
            tq_buf_t b = {0};
            const char *host = strstr(doc, "://") + 3;
            const char *end = url[0] == '/' ? strchr(host, '/') : strrchr(host, '/');
            if (!end) end = doc + strlen(doc);
            tq_buf_add(&b, doc, (size_t)(end - doc));
            if (url[0] != '/') tq_buf_add(&b, "/", 1);
            tq_buf_add(&b, url, strlen(url));
            free(url);
            url = tq_buf_take(&b);
        } else if (!ctx->relative_server_warned) {
            ctx->relative_server_warned = 1;
            tq_oa_warn(ctx, "relative_server_url",
                       "server URL \"%s\" is relative and the document URL is unknown; give "
                       "--server-url",
                       url);
        }
    }
    size_t n = url ? strlen(url) : 0;
    while (n > 0 && url[n - 1] == '/' && !(n >= 3 && !strncmp(url + n - 3, "://", 3)))
        url[--n] = '\0';
    return url;
}

char *tq_oa_server_from_list(tq_oa_ctx_t *ctx, const json_t *servers)
{
    const json_t *server = json_array_get(servers, 0);
    const char *tmpl = tq_oa_str(server, "url");
    if (!tmpl) return finish(ctx, strdup("/"));
    const json_t *vars = json_object_get(server, "variables");
    tq_buf_t b = {0};
    tq_buf_add(&b, "", 0);
    for (const char *p = tmpl; *p;) {
        const char *open = strchr(p, '{');
        const char *close = open ? strchr(open, '}') : NULL;
        if (!open || !close) {
            tq_buf_add(&b, p, strlen(p));
            break;
        }
        tq_buf_add(&b, p, (size_t)(open - p));
        char name[256];
        size_t n = (size_t)(close - open - 1);
        snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name ? n : sizeof name - 1), open + 1);
        const json_t *var = json_object_get(vars, name);
        char num[64];
        const char *val = tq_oa_scalar_text(json_object_get(var, "default"), num, sizeof num);
        if (!val)
            val =
                tq_oa_scalar_text(json_array_get(json_object_get(var, "enum"), 0), num, sizeof num);
        if (val) {
            tq_buf_add(&b, val, strlen(val));
        } else {
            tq_oa_warn(ctx, "server_variable_missing",
                       "server variable {%s} has no default; kept as written", name);
            tq_buf_add(&b, open, (size_t)(close - open + 1));
        }
        p = close + 1;
    }
    return finish(ctx, tq_buf_take(&b));
}

char *tq_oa_server_from_swagger(tq_oa_ctx_t *ctx, const json_t *root)
{
    const char *host = tq_oa_str(root, "host");
    const char *base = tq_oa_str(root, "basePath");
    const json_t *schemes = json_object_get(root, "schemes");
    const char *scheme = NULL;
    size_t i;
    json_t *s;
    json_array_foreach(schemes, i, s)
    {
        const char *v = json_string_value(s);
        if (v && (!scheme || !strcmp(v, "https"))) scheme = v;
    }
    if (!scheme) {
        const char *doc = ctx->opts->document_url;
        scheme = doc && !strncmp(doc, "http://", 7) ? "http" : "https";
    }
    tq_buf_t b = {0};
    tq_buf_add(&b, "", 0);
    if (host) {
        tq_buf_add(&b, scheme, strlen(scheme));
        tq_buf_add(&b, "://", 3);
        tq_buf_add(&b, host, strlen(host));
    }
    if (base) {
        if (base[0] != '/') tq_buf_add(&b, "/", 1);
        tq_buf_add(&b, base, strlen(base));
    } else if (!host) {
        tq_buf_add(&b, "/", 1);
    }
    return finish(ctx, tq_buf_take(&b));
}
