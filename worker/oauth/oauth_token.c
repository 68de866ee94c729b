/* oauth_token.c — discovery, token and revocation calls: build through the
 * plugin, send through oauth_http, parse through the plugin, classify.
 * Owns the per-process discovery cache. Never logs, never puts a token,
 * code or secret into an error. */
#include "oauth_token.h"

#include <stdlib.h>
#include <string.h>

#include "oauth/oauth_http.h"
#include "oauth/oauth_plugin.h"
#include "mem.h"

#define TQ_OAUTH_DISCOVERY_TTL_MS (3600 * 1000)
#define TQ_OAUTH_DISCOVERY_MAX 256

typedef enum { STAGE_DISCOVERY, STAGE_TOKEN, STAGE_REVOKE } stage_t;

struct tq_oauth_call_t {
    stage_t stage;
    tq_loop_t *loop;
    tq_config_t *cfg;
    const tq_plugin_t *plugin;
    tq_oauth_http_t *http;
    json_t *params; /* borrowed (discovery) */
    json_t *urls;
    size_t next_url;
    tq_oauth_prepared_fn *prepared;
    tq_oauth_token_fn *done;
    void *arg;
    uint64_t timer;      /* a deferred outcome (callbacks never run synchronously) */
    tq_error_t deferred; /* its error, if any */
};

/* issuer -> {"doc": {...}, "at": ms} */
static json_t *s_discovery;

static void call_free(tq_oauth_call_t *c)
{
    if (c->timer) tq_loop_cancel(c->loop, c->timer);
    tq_oauth_http_cancel(&c->http);
    json_decref(c->urls);
    free(c);
}

void tq_oauth_call_cancel(tq_oauth_call_t **self_p)
{
    if (!self_p || !*self_p) return;
    call_free(*self_p);
    *self_p = NULL;
}

tq_oauth_kind_t tq_oauth_classify(int status, const json_t *parsed, const tq_error_t *transport,
                                  tq_error_t *err)
{
    if (transport && tq_error_is_set(transport)) {
        *err = *transport;
        tq_error_prefix(err, "the token endpoint could not be reached: ");
        return strcmp(transport->code, "ssrf_blocked") && strcmp(transport->code, "invalid_url")
                   ? TQ_OAUTH_TRANSIENT
                   : TQ_OAUTH_FAILED;
    }
    const char *e = json_string_value(json_object_get(parsed, "error"));
    if (!e) return TQ_OAUTH_OK;
    const char *d = json_string_value(json_object_get(parsed, "error_description"));
    char code[TQ_ERROR_CODE_MAX];
    snprintf(code, sizeof code, "oauth_%.36s", e);
    for (char *p = code; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')) *p = '_';
    tq_error_set(err, code, "the provider answered %.64s (HTTP %d)%s%.300s", e, status,
                 d ? ": " : "", d ? d : "");
    if (!strcmp(e, "invalid_grant") || !strcmp(e, "invalid_client") ||
        !strcmp(e, "unauthorized_client"))
        return TQ_OAUTH_TERMINAL;
    if (!strcmp(e, "temporarily_unavailable") || !strcmp(e, "server_error") || status >= 500 ||
        status == 429)
        return TQ_OAUTH_TRANSIENT;
    return TQ_OAUTH_FAILED;
}

/* --- discovery ------------------------------------------------------------------ */

static int needs_discovery(const json_t *params)
{
    if (!json_is_string(json_object_get(params, "issuer"))) return 0;
    return !json_object_get(params, "authorize_url") || !json_object_get(params, "token_url") ||
           !json_object_get(params, "iss_parameter_supported");
}

/* Fills what the configuration left out from a discovery document. */
static void apply_discovery(json_t *params, const json_t *doc)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)doc, k, v)
    {
        if (!strcmp(k, "issuer")) continue;
        /* copies: params get wiped, the cached document must not */
        if (!json_object_get(params, k)) json_object_set_new(params, k, json_deep_copy(v));
    }
}

static const json_t *cached(const char *issuer)
{
    json_t *e = json_object_get(s_discovery, issuer);
    if (!e) return NULL;
    if (tq_now_ms() - json_integer_value(json_object_get(e, "at")) > TQ_OAUTH_DISCOVERY_TTL_MS)
        return NULL;
    return json_object_get(e, "doc");
}

static int try_next_url(tq_oauth_call_t *c, const tq_error_t *last);

static void on_discovery(const tq_httpc_response_t *r, void *arg)
{
    tq_oauth_call_t *c = arg;
    c->http = NULL; /* freed by oauth_http after this callback */
    tq_error_t err = {0};
    const char *issuer = json_string_value(json_object_get(c->params, "issuer"));
    json_t *doc = NULL;
    if (tq_error_is_set(&r->error)) {
        err = r->error;
    } else {
        doc =
            tq_oauth_plugin_parse_discovery(c->plugin, r->status, r->body.data, r->body.len, &err);
    }
    if (doc) {
        const char *got = json_string_value(json_object_get(doc, "issuer"));
        if (!got || strcmp(got, issuer)) {
            tq_error_set(&err, "oauth_discovery_mismatch",
                         "the discovery document names issuer %.200s, expected %.200s",
                         got ? got : "(none)", issuer);
            json_decref(doc);
            doc = NULL;
        }
    }
    if (!doc) {
        try_next_url(c, &err);
        return;
    }
    if (!s_discovery) s_discovery = json_object();
    if (json_object_size(s_discovery) >= TQ_OAUTH_DISCOVERY_MAX) json_object_clear(s_discovery);
    json_object_set_new(s_discovery, issuer,
                        json_pack("{s:O,s:I}", "doc", doc, "at", (json_int_t)tq_now_ms()));
    apply_discovery(c->params, doc);
    json_decref(doc);
    tq_oauth_prepared_fn *done = c->prepared;
    void *a = c->arg;
    json_t *params = c->params;
    call_free(c);
    done(params, NULL, a);
}

/* Starts the next candidate: 1 when an exchange is in flight, 0 when the
 * call ended (done called, c freed). */
static int try_next_url(tq_oauth_call_t *c, const tq_error_t *last)
{
    tq_error_t err = {0};
    while (c->next_url < json_array_size(c->urls)) {
        const char *url = json_string_value(json_array_get(c->urls, c->next_url++));
        tq_httpc_request_t *req = tq_xcalloc(1, sizeof *req);
        snprintf(req->method, sizeof req->method, "GET");
        req->url = strdup(url);
        tq_httpc_request_set_header(req, "Accept", "application/json", 0);
        c->http = tq_oauth_http_send(c->loop, c->cfg, req, on_discovery, c, &err);
        if (c->http) return 1;
        last = &err;
    }
    tq_error_t final = {0};
    tq_error_set(&final, "oauth_discovery_failed", "discovery of the issuer failed: %s",
                 last && tq_error_is_set(last) ? last->message : "no document");
    tq_oauth_prepared_fn *done = c->prepared;
    void *a = c->arg;
    call_free(c);
    done(NULL, &final, a);
    return 0;
}

static void on_start_discovery(tq_loop_t *loop, void *arg)
{
    (void)loop;
    tq_oauth_call_t *c = arg;
    c->timer = 0;
    try_next_url(c, NULL);
}

static void on_deferred_prepared(tq_loop_t *loop, void *arg)
{
    (void)loop;
    tq_oauth_call_t *c = arg;
    c->timer = 0;
    tq_oauth_prepared_fn *done = c->prepared;
    void *a = c->arg;
    json_t *params = tq_error_is_set(&c->deferred) ? NULL : c->params;
    tq_error_t err = c->deferred;
    call_free(c);
    done(params, params ? NULL : &err, a);
}

tq_oauth_call_t *tq_oauth_prepare(tq_loop_t *loop, tq_config_t *cfg, const tq_plugin_t *plugin,
                                  json_t *params, tq_oauth_prepared_fn *done, void *arg)
{
    tq_oauth_call_t *c = tq_xcalloc(1, sizeof *c);
    *c = (tq_oauth_call_t){.stage = STAGE_DISCOVERY,
                           .loop = loop,
                           .cfg = cfg,
                           .plugin = plugin,
                           .params = params,
                           .prepared = done,
                           .arg = arg};
    const json_t *doc = NULL;
    if (needs_discovery(params)) {
        doc = cached(json_string_value(json_object_get(params, "issuer")));
        if (!doc) c->urls = tq_oauth_plugin_discovery_urls(plugin, params, &c->deferred);
        if (doc) apply_discovery(params, doc);
    }
    c->timer = tq_loop_timer(loop, 0, c->urls ? on_start_discovery : on_deferred_prepared, c);
    return c;
}

/* --- token and revocation ------------------------------------------------------------ */

static void on_token(const tq_httpc_response_t *r, void *arg)
{
    tq_oauth_call_t *c = arg;
    c->http = NULL;
    tq_error_t err = {0};
    json_t *parsed = NULL;
    tq_oauth_kind_t kind;
    if (tq_error_is_set(&r->error)) {
        kind = tq_oauth_classify(0, NULL, &r->error, &err);
    } else if (c->stage == STAGE_REVOKE) {
        kind = r->status >= 200 && r->status < 300    ? TQ_OAUTH_OK
               : r->status >= 500 || r->status == 429 ? TQ_OAUTH_TRANSIENT
                                                      : TQ_OAUTH_FAILED;
        if (kind != TQ_OAUTH_OK)
            tq_error_set(&err, "oauth_revocation_failed",
                         "the revocation endpoint answered "
                         "HTTP %d",
                         r->status);
    } else {
        parsed = tq_oauth_plugin_parse_token(c->plugin, r->status, r->headers, r->nheaders,
                                             r->body.data, r->body.len, &err);
        kind = parsed ? tq_oauth_classify(r->status, parsed, NULL, &err) : TQ_OAUTH_FAILED;
    }
    tq_oauth_token_fn *done = c->done;
    void *a = c->arg;
    call_free(c);
    done(kind, kind == TQ_OAUTH_OK ? parsed : NULL, &err, a);
    tq_oauth_json_wipe(parsed);
    json_decref(parsed);
}

static void on_deferred_token(tq_loop_t *loop, void *arg)
{
    (void)loop;
    tq_oauth_call_t *c = arg;
    c->timer = 0;
    tq_oauth_token_fn *done = c->done;
    void *a = c->arg;
    tq_error_t err = c->deferred;
    call_free(c);
    done(TQ_OAUTH_FAILED, NULL, &err, a);
}

static tq_oauth_call_t *send_built(tq_loop_t *loop, tq_config_t *cfg, const tq_plugin_t *plugin,
                                   stage_t stage, tq_httpc_request_t *req, tq_error_t *err,
                                   tq_oauth_token_fn *done, void *arg)
{
    tq_oauth_call_t *c = tq_xcalloc(1, sizeof *c);
    *c = (tq_oauth_call_t){
        .stage = stage, .loop = loop, .cfg = cfg, .plugin = plugin, .done = done, .arg = arg};
    if (req) c->http = tq_oauth_http_send(loop, cfg, req, on_token, c, err);
    if (!c->http) {
        c->deferred = *err;
        c->timer = tq_loop_timer(loop, 0, on_deferred_token, c);
    }
    return c;
}

tq_oauth_call_t *tq_oauth_token(tq_loop_t *loop, tq_config_t *cfg, const tq_plugin_t *plugin,
                                const json_t *params, tq_oauth_token_fn *done, void *arg)
{
    tq_error_t err = {0};
    tq_httpc_request_t *req = tq_oauth_plugin_token_request(plugin, params, &err);
    return send_built(loop, cfg, plugin, STAGE_TOKEN, req, &err, done, arg);
}

tq_oauth_call_t *tq_oauth_revoke(tq_loop_t *loop, tq_config_t *cfg, const tq_plugin_t *plugin,
                                 const json_t *params, tq_oauth_token_fn *done, void *arg)
{
    tq_error_t err = {0};
    tq_httpc_request_t *req = tq_oauth_plugin_revoke_request(plugin, params, &err);
    return send_built(loop, cfg, plugin, STAGE_REVOKE, req, &err, done, arg);
}
