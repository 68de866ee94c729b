/* oauth_plugin.c — calls a plugin's OAuth hooks with JSON parameters and
 * collects their outputs. Owns the tq_plugin_output_t implementation.
 * Never logs; plugin messages (which never hold secrets) become
 * oauth_plugin_error messages. */
#include "oauth_plugin.h"
#include "vault.h"
#include "mem.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TQ_OAUTH_MAX_PARAMS 128

typedef struct {
    tq_plugin_output_t base;
    json_t *obj;  /* single-valued keys */
    json_t *list; /* every (key, value) in order: for repeatable keys */
} collector_t;

static int put(tq_plugin_output_t *self, const char *key, const char *value, size_t len)
{
    collector_t *c = (collector_t *)self;
    json_t *v = json_stringn_nocheck(value, len);
    if (!v || !key) return -1;
    json_array_append_new(c->list, json_pack("[s,O]", key, v));
    if (!json_object_get(c->obj, key)) json_object_set(c->obj, key, v);
    json_decref(v);
    return 0;
}

static void collector_init(collector_t *c)
{
    c->base.put = put;
    c->obj = json_object();
    c->list = json_array();
}

void tq_oauth_json_wipe(json_t *o)
{
    if (!o) return;
    if (json_is_string(o)) {
        tq_secure_wipe((char *)json_string_value(o), json_string_length(o));
    } else if (json_is_object(o)) {
        const char *k;
        json_t *v;
        json_object_foreach(o, k, v) tq_oauth_json_wipe(v);
    } else if (json_is_array(o)) {
        size_t i;
        json_t *v;
        json_array_foreach(o, i, v) tq_oauth_json_wipe(v);
    }
}

static void collector_wipe(collector_t *c)
{
    tq_oauth_json_wipe(c->obj);
    tq_oauth_json_wipe(c->list);
    json_decref(c->obj);
    json_decref(c->list);
}

static size_t to_kv(const json_t *params, tq_plugin_kv_t *kv)
{
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)params, k, v)
    {
        if (n < TQ_OAUTH_MAX_PARAMS && json_is_string(v))
            kv[n++] = (tq_plugin_kv_t){k, json_string_value(v)};
    }
    return n;
}

typedef int(hook_fn)(const tq_plugin_kv_t *, size_t, tq_plugin_output_t *, char *, size_t);

static int call(const tq_plugin_t *p, hook_fn *fn, const json_t *params, collector_t *c,
                tq_error_t *err)
{
    tq_plugin_kv_t kv[TQ_OAUTH_MAX_PARAMS];
    size_t n = to_kv(params, kv);
    char msg[256] = "";
    collector_init(c);
    if (fn(kv, n, &c->base, msg, sizeof msg) == 0) return 0;
    msg[sizeof msg - 1] = '\0';
    collector_wipe(c);
    return tq_error_set(err, "oauth_plugin_error", "plugin %s: %s", p->id,
                        msg[0] ? msg : "the hook failed");
}

int tq_oauth_plugin_supported(const tq_plugin_t *p)
{
    return p && p->build_authorize_url && p->build_token_request && p->parse_token_response;
}

json_t *tq_oauth_plugin_defaults(const tq_plugin_t *p, const json_t *params, tq_error_t *err)
{
    if (!TQ_PLUGIN_HAS(p, oauth_defaults) || !p->oauth_defaults) return json_object();
    collector_t c;
    if (call(p, p->oauth_defaults, params, &c, err)) return NULL;
    json_decref(c.list);
    return c.obj;
}

int tq_oauth_plugin_refresh_ahead_s(const tq_plugin_t *p, int def)
{
    json_t *d = p ? tq_oauth_plugin_defaults(p, NULL, NULL) : NULL;
    const char *o = json_string_value(json_object_get(d, "refresh_ahead_s"));
    int w = o && atoi(o) > 0 ? atoi(o) : def;
    json_decref(d);
    return w;
}

char *tq_oauth_plugin_authorize_url(const tq_plugin_t *p, const json_t *params, tq_error_t *err)
{
    if (!p->build_authorize_url) {
        tq_error_set(err, "oauth_unsupported", "plugin %s has no OAuth flow", p->id);
        return NULL;
    }
    collector_t c;
    if (call(p, p->build_authorize_url, params, &c, err)) return NULL;
    const char *url = json_string_value(json_object_get(c.obj, "url"));
    char *out = url ? strdup(url) : NULL;
    collector_wipe(&c);
    if (!out) tq_error_set(err, "oauth_plugin_error", "plugin %s built no URL", p->id);
    return out;
}

/* The method, url, header (repeatable) and body outputs as a request. */
static tq_httpc_request_t *to_request(const tq_plugin_t *p, collector_t *c, tq_error_t *err)
{
    const char *method = json_string_value(json_object_get(c->obj, "method"));
    const char *url = json_string_value(json_object_get(c->obj, "url"));
    if (!url) {
        tq_error_set(err, "oauth_plugin_error", "plugin %s built a request without URL", p->id);
        return NULL;
    }
    tq_httpc_request_t *r = tq_xcalloc(1, sizeof *r);
    snprintf(r->method, sizeof r->method, "%s", method ? method : "POST");
    r->url = strdup(url);
    size_t i;
    json_t *e;
    json_array_foreach(c->list, i, e)
    {
        const char *k = json_string_value(json_array_get(e, 0));
        const char *v = json_string_value(json_array_get(e, 1));
        if (!strcmp(k, "header")) {
            const char *colon = strchr(v, ':');
            if (!colon || colon == v) continue;
            char name[128];
            size_t n =
                (size_t)(colon - v) < sizeof name - 1 ? (size_t)(colon - v) : sizeof name - 1;
            memcpy(name, v, n);
            name[n] = '\0';
            const char *val = colon + 1;
            while (*val == ' ')
                val++;
            tq_httpc_request_set_header(r, name, val, 1);
        } else if (!strcmp(k, "body")) {
            size_t len = json_string_length(json_array_get(e, 1));
            r->body = tq_xmalloc(len + 1);
            memcpy(r->body, v, len);
            r->body[len] = 0;
            r->body_len = len;
            r->has_body = 1;
        }
    }
    return r;
}

tq_httpc_request_t *tq_oauth_plugin_token_request(const tq_plugin_t *p, const json_t *params,
                                                  tq_error_t *err)
{
    collector_t c;
    if (call(p, p->build_token_request, params, &c, err)) return NULL;
    tq_httpc_request_t *r = to_request(p, &c, err);
    collector_wipe(&c);
    return r;
}

tq_httpc_request_t *tq_oauth_plugin_revoke_request(const tq_plugin_t *p, const json_t *params,
                                                   tq_error_t *err)
{
    if (!TQ_PLUGIN_HAS(p, build_revoke_request) || !p->build_revoke_request) {
        tq_error_set(err, "oauth_revocation_unsupported", "plugin %s cannot revoke tokens", p->id);
        return NULL;
    }
    collector_t c;
    if (call(p, p->build_revoke_request, params, &c, err)) return NULL;
    tq_httpc_request_t *r = to_request(p, &c, err);
    collector_wipe(&c);
    return r;
}

json_t *tq_oauth_plugin_discovery_urls(const tq_plugin_t *p, const json_t *params, tq_error_t *err)
{
    if (!TQ_PLUGIN_HAS(p, build_discovery_request) || !p->build_discovery_request) {
        tq_error_set(err, "oauth_discovery_unsupported", "plugin %s has no discovery", p->id);
        return NULL;
    }
    collector_t c;
    if (call(p, p->build_discovery_request, params, &c, err)) return NULL;
    json_t *urls = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(c.list, i, e) if (!strcmp(json_string_value(json_array_get(e, 0)), "url"))
        json_array_append(urls, json_array_get(e, 1));
    json_decref(c.obj);
    json_decref(c.list);
    return urls;
}

typedef int(parse_fn)(const tq_plugin_response_t *, tq_plugin_output_t *, char *, size_t);

static json_t *parse(const tq_plugin_t *p, parse_fn *fn, int status, const tq_httpc_header_t *h,
                     size_t nh, const void *body, size_t len, tq_error_t *err)
{
    tq_plugin_kv_t *kv = tq_xcalloc(nh + 1, sizeof *kv);
    for (size_t i = 0; i < nh; i++)
        kv[i] = (tq_plugin_kv_t){h[i].name, h[i].value};
    tq_plugin_response_t r = {status, kv, nh, body, len};
    collector_t c;
    collector_init(&c);
    char msg[256] = "";
    int rc = fn(&r, &c.base, msg, sizeof msg);
    free(kv);
    json_decref(c.list);
    if (rc == 0) return c.obj;
    msg[sizeof msg - 1] = '\0';
    tq_oauth_json_wipe(c.obj);
    json_decref(c.obj);
    tq_error_set(err, "oauth_plugin_error", "plugin %s: %s", p->id, msg[0] ? msg : "parse failed");
    return NULL;
}

json_t *tq_oauth_plugin_parse_token(const tq_plugin_t *p, int status, const tq_httpc_header_t *h,
                                    size_t nh, const void *body, size_t len, tq_error_t *err)
{
    return parse(p, p->parse_token_response, status, h, nh, body, len, err);
}

json_t *tq_oauth_plugin_parse_discovery(const tq_plugin_t *p, int status, const void *body,
                                        size_t len, tq_error_t *err)
{
    if (!TQ_PLUGIN_HAS(p, parse_discovery_response) || !p->parse_discovery_response) {
        tq_error_set(err, "oauth_discovery_unsupported", "plugin %s has no discovery", p->id);
        return NULL;
    }
    return parse(p, p->parse_discovery_response, status, NULL, 0, body, len, err);
}
