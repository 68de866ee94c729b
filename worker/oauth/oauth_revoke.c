/* oauth_revoke.c — RFC 7009 revocation of a deleted credential's tokens
 * (see oauth_revoke.h). Owns no SQL beyond the client resolution; holds
 * the tokens only until the request is built. Never logs. */
#include "oauth_revoke.h"
#include "vault.h"

#include <stdlib.h>
#include <string.h>

#include "oauth/oauth_client.h"
#include "oauth/oauth_plugin.h"
#include "oauth/oauth_token.h"
#include "plugin/plugin_host.h"
#include "mem.h"

struct tq_oauth_revoke_t {
    tq_job_t *job;
    const tq_plugin_t *plugin;
    json_t *params;     /* resolved client config + token (secrets) */
    char *access_token; /* fallback when the plugin refuses the refresh token */
    json_t *meta;       /* the credential's metadata: the client that issued it */
    tq_oauth_call_t *call;
    uint64_t timer; /* a deferred outcome */
    tq_error_t err;
    tq_oauth_revoke_fn *done;
    void *arg;
};

static void v_free(tq_oauth_revoke_t *v)
{
    if (v->timer) tq_loop_cancel(tq_job_loop(v->job), v->timer);
    tq_oauth_call_cancel(&v->call);
    tq_oauth_json_wipe(v->params);
    json_decref(v->params);
    tq_secure_free_str(v->access_token);
    json_decref(v->meta);
    free(v);
}

void tq_oauth_revoke_cancel(tq_oauth_revoke_t **self_p)
{
    if (!self_p || !*self_p) return;
    v_free(*self_p);
    *self_p = NULL;
}

static void finish(tq_oauth_revoke_t *v, bool revoked, const tq_error_t *err)
{
    tq_error_t e = {0};
    if (err) e = *err;
    tq_oauth_revoke_fn *done = v->done;
    void *arg = v->arg;
    v_free(v);
    done(revoked, revoked ? NULL : &e, arg);
}

static void on_deferred(tq_loop_t *loop, void *arg)
{
    (void)loop;
    tq_oauth_revoke_t *v = arg;
    v->timer = 0;
    finish(v, false, &v->err);
}

static void on_revoked(tq_oauth_kind_t kind, json_t *tokens, const tq_error_t *err, void *arg)
{
    (void)tokens;
    tq_oauth_revoke_t *v = arg;
    v->call = NULL;
    /* the plugin would not build a refresh-token revocation: try the access token */
    if (kind != TQ_OAUTH_OK && v->access_token && !strcmp(err->code, "oauth_plugin_error")) {
        json_object_set_new(v->params, "token", json_string(v->access_token));
        json_object_set_new(v->params, "token_type_hint", json_string("access_token"));
        tq_secure_free_str(v->access_token);
        v->access_token = NULL;
        v->call = tq_oauth_revoke(tq_job_loop(v->job), tq_job_config(v->job), v->plugin, v->params,
                                  on_revoked, v);
        return;
    }
    finish(v, kind == TQ_OAUTH_OK, err);
}

static void on_prepared(json_t *params, const tq_error_t *perr, void *arg)
{
    tq_oauth_revoke_t *v = arg;
    v->call = NULL;
    if (!params) {
        finish(v, false, perr);
        return;
    }
    tq_error_t e = {0};
    if (tq_oauth_client_same_endpoint(v->meta, params, "(deleted)", &e)) {
        finish(v, false, &e);
        return;
    }
    const char *url = json_string_value(json_object_get(params, "revocation_url"));
    if (!url || !*url) {
        tq_error_set(&e, "oauth_revocation_unsupported",
                     "the provider has no revocation endpoint (plugin %s, no revocation_url)",
                     v->plugin->id);
        finish(v, false, &e);
        return;
    }
    v->call = tq_oauth_revoke(tq_job_loop(v->job), tq_job_config(v->job), v->plugin, params,
                              on_revoked, v);
}

tq_oauth_revoke_t *tq_oauth_revoke_start(tq_job_t *job, const char *plugin_id, const json_t *meta,
                                         const json_t *fields, tq_oauth_revoke_fn *done, void *arg)
{
    tq_oauth_revoke_t *v = tq_xcalloc(1, sizeof *v);
    v->job = job;
    v->done = done;
    v->arg = arg;
    v->meta = json_deep_copy(meta);
    const char *rt = json_string_value(json_object_get(fields, "refresh_token"));
    const char *at = json_string_value(json_object_get(fields, "access_token"));
    const char *provider = json_string_value(json_object_get(meta, "provider"));
    v->plugin = tq_plugin_host_find(tq_job_plugins(job), plugin_id);
    PGconn *db = NULL;
    tq_vault_t *vault = NULL;
    const char *tier;
    if (!v->plugin || !tq_oauth_plugin_supported(v->plugin)) {
        tq_error_set(&v->err, "unknown_credential_type", "no loaded OAuth plugin %s", plugin_id);
    } else if ((!rt || !*rt) && (!at || !*at)) {
        tq_error_set(&v->err, "oauth_no_token", "the credential holds no token to revoke");
    } else if ((db = tq_job_db(job, &v->err)) && (vault = tq_job_vault(job, &v->err))) {
        v->params =
            tq_oauth_client_resolve(db, vault, tq_job_config(job), tq_job_tenant_uuid(job),
                                    v->plugin, provider ? provider : plugin_id, &tier, &v->err);
    }
    if (!v->params) {
        v->timer = tq_loop_timer(tq_job_loop(job), 0, on_deferred, v);
        return v;
    }
    int use_rt = rt && *rt;
    json_object_set_new(v->params, "token", json_string(use_rt ? rt : at));
    json_object_set_new(v->params, "token_type_hint",
                        json_string(use_rt ? "refresh_token" : "access_token"));
    if (use_rt && at && *at) {
        v->access_token = tq_xstrdup(at);
    }
    v->call = tq_oauth_prepare(tq_job_loop(job), tq_job_config(job), v->plugin, v->params,
                               on_prepared, v);
    return v;
}
