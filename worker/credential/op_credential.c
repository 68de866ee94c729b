/* op_credential.c — ops credential.create {name, type, plugin?, fields{},
 * metadata?, origins? | provider?} (bound at creation to the origins it may
 * be sent to), credential.list, credential.get {name} (fields masked),
 * credential.delete {name} (an oauth2 credential's tokens are then revoked at
 * the provider, best effort); and plugins.list (what this worker loaded).
 * A credential is checked by its plugin (a dry apply_auth on a dummy
 * request) before it is stored. Never puts a field value in a result,
 * error or log line (reads are masked). */
#include "op.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "credstore/credstore.h"
#include "oauth/oauth_revoke.h"
#include "plugin/plugin_host.h"
#include "provider/provider_cache.h"
#include "provider/provider_creds.h"
#include "ssrf.h"
#include "mem.h"

#define TQ_CREDENTIAL_MAX_FIELDS 64
#define TQ_CREDENTIAL_MAX_VALUE 65536
#define TQ_CREDENTIAL_MAX_ORIGINS 16

/* Dry run of the plugin on a dummy request: catches missing/bad fields. */
static int dry_run(const tq_plugin_t *p, const char *type, const json_t *fields, tq_error_t *err)
{
    tq_plugin_kv_t kv[TQ_CREDENTIAL_MAX_FIELDS];
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)fields, k, v) kv[n++] = (tq_plugin_kv_t){k, json_string_value(v)};
    tq_plugin_credential_t cred = {type, kv, n};
    tq_plugin_request_t req = {
        .method = "GET", .url = "https://api.example.com/check", .now = (int64_t)time(NULL)};
    tq_plugin_edits_t *edits = tq_plugin_edits_new();
    int rc = tq_plugin_apply_auth(p, &req, &cred, edits, err);
    tq_plugin_edits_destroy(&edits);
    return rc;
}

/* Where the new credential may be sent (docs/security.md): the
 * origins of `origins` (absolute http(s) URLs) or of the tools of the
 * tenant's provider `provider`. An oauth2 credential may name neither: it
 * is then bound on first use. 0 with *out (NULL: unbound) or -1 with err. */
static int bound_origins(tq_job_t *job, const char *type, json_t **out, tq_error_t *err)
{
    const json_t *urls = tq_job_arg(job, "origins");
    const char *provider = tq_job_arg_str(job, "provider");
    *out = NULL;
    if (urls) {
        if (!json_is_array(urls) || !json_array_size(urls) ||
            json_array_size(urls) > TQ_CREDENTIAL_MAX_ORIGINS)
            return tq_error_set(err, "invalid_argument",
                                "origins must be a list of 1 to %d URLs (https://host[:port])",
                                TQ_CREDENTIAL_MAX_ORIGINS);
        json_t *as_tools = json_array();
        size_t i;
        json_t *u;
        json_array_foreach(urls, i, u)
        {
            char o[TQ_ORIGIN_MAX];
            const char *s = json_string_value(u);
            if (!s || (strncasecmp(s, "http://", 7) && strncasecmp(s, "https://", 8)) ||
                tq_ssrf_url_origin(s, o, sizeof o)) {
                json_decref(as_tools);
                return tq_error_set(err, "invalid_argument",
                                    "origins[%zu] is not an absolute http(s) URL", i);
            }
            json_array_append_new(as_tools, json_pack("{s:s}", "server_url", s));
        }
        *out = tq_provider_tool_origins(as_tools);
        json_decref(as_tools);
        return 0;
    }
    if (provider) {
        const tq_provider_entry_t *prov = tq_provider_cache_get(job, provider, err);
        if (!prov) return -1;
        *out = json_incref(prov->origins);
        if (!json_array_size(*out)) {
            json_decref(*out);
            *out = NULL;
            return tq_error_set(err, "invalid_argument",
                                "provider %s has no server URL to bind the credential to",
                                provider);
        }
        return 0;
    }
    if (!strcmp(type, "oauth2")) return 0;
    return tq_error_set(err, "invalid_argument",
                        "say where the credential may be sent: origins [URL, ...] or provider "
                        "NAME (its servers); it is never sent anywhere else");
}

static void create_start(tq_job_t *job)
{
    /* name: required, 1 to 255 characters (the op's schema) */
    const char *name = tq_job_arg_str(job, "name"), *type = tq_job_arg_str(job, "type"),
               *plugin = tq_job_arg_str(job, "plugin");
    json_t *fields = tq_job_arg(job, "fields");
    if (!type) {
        tq_job_fail(job, "invalid_argument", "type is required (e.g. apikey, basic, bearer)",
                    false);
        return;
    }
    if (!json_is_object(fields) || json_object_size(fields) > TQ_CREDENTIAL_MAX_FIELDS) {
        tq_job_fail(job, "invalid_argument", "fields must be an object of strings", false);
        return;
    }
    const char *k;
    json_t *v;
    json_object_foreach(fields, k, v)
    {
        if (!json_is_string(v) || json_string_length(v) > TQ_CREDENTIAL_MAX_VALUE) {
            char msg[300];
            snprintf(msg, sizeof msg, "field %.200s must be a string (at most 64 KiB)", k);
            tq_job_fail(job, "invalid_argument", msg, false);
            return;
        }
    }
    struct tq_plugin_host_t *host = tq_job_plugins(job);
    const tq_plugin_t *p =
        plugin ? tq_plugin_host_find(host, plugin) : tq_plugin_host_find_for_credential(host, type);
    char msg[400];
    if (!p) {
        snprintf(msg, sizeof msg, "no loaded plugin %s credential type %.64s (see toolq plugins)",
                 plugin ? "named" : "handles", plugin ? plugin : type);
        tq_job_fail(job, "unknown_credential_type", msg, false);
        return;
    }
    int listed = 0;
    for (size_t i = 0; p->credential_types && p->credential_types[i]; i++)
        listed |= !strcmp(p->credential_types[i], type);
    if (!listed) {
        snprintf(msg, sizeof msg, "plugin %s does not handle credential type %.64s", p->id, type);
        tq_job_fail(job, "unknown_credential_type", msg, false);
        return;
    }
    tq_error_t err = {0};
    if (dry_run(p, type, fields, &err)) {
        tq_job_fail(job, "invalid_argument", err.message, false);
        return;
    }
    json_t *origins = NULL;
    if (bound_origins(job, type, &origins, &err)) {
        tq_job_fail_err(job, &err, tq_error_retryable(err.code));
        return;
    }
    json_t *meta = json_object();
    json_t *given = tq_job_arg(job, "metadata");
    if (json_is_object(given)) json_object_update(meta, given);
    json_object_del(meta, "origins"); /* only the checked binding is stored */
    if (origins) json_object_set_new(meta, "origins", origins);
    PGconn *db = tq_job_db(job, &err);
    tq_vault_t *vault = db ? tq_job_vault(job, &err) : NULL;
    char id[37];
    int rc = !vault || tq_credstore_create(db, vault, tq_job_tenant_uuid(job), name, type, p->id,
                                           fields, meta, id, &err);
    json_decref(meta);
    if (rc) {
        tq_job_fail_err(job, &err, tq_error_retryable(err.code));
        return;
    }
    tq_job_done(job, json_pack("{s:s,s:s,s:s,s:s,s:o}", "id", id, "name", name, "type", type,
                               "plugin", p->id, "fields", tq_credstore_mask_fields(fields)));
}

static void list_start(tq_job_t *job)
{
    tq_error_t err = {0};
    PGconn *db = tq_job_db(job, &err);
    json_t *a = db ? tq_credstore_list(db, tq_job_tenant_uuid(job), &err) : NULL;
    if (!a) {
        tq_job_fail_err(job, &err, tq_error_retryable(err.code));
        return;
    }
    tq_job_done(job, json_pack("{s:o}", "credentials", a));
}

static void get_start(tq_job_t *job)
{
    const char *name = tq_job_arg_str(job, "name"); /* required, 1 to 255: the schema */
    tq_error_t err = {0};
    PGconn *db = tq_job_db(job, &err);
    tq_vault_t *vault = db ? tq_job_vault(job, &err) : NULL;
    json_t *o = vault ? tq_credstore_show(db, vault, tq_job_tenant_uuid(job), name, &err) : NULL;
    if (!o) {
        tq_job_fail_err(job, &err, tq_error_retryable(err.code));
        return;
    }
    tq_job_done(job, o);
}

/* An oauth2 credential is deleted first (the delete never waits on the
 * provider), then its tokens are revoked (RFC 7009, oauth_revoke.h); the
 * result says whether that worked: {name, deleted, revoked, revoke_error?}. */
typedef struct {
    tq_job_t *job;
    tq_oauth_revoke_t *v;
    char name[256];
} del_t;

static void delete_drop(tq_job_t *job, void *arg)
{
    (void)job;
    del_t *d = arg;
    tq_oauth_revoke_cancel(&d->v);
    free(d);
}

static void delete_revoked(bool revoked, const tq_error_t *err, void *arg)
{
    del_t *d = arg;
    tq_job_t *job = d->job;
    tq_job_on_drop(job, NULL, NULL);
    json_t *res = json_pack("{s:s,s:b,s:b}", "name", d->name, "deleted", 1, "revoked", revoked);
    if (!revoked && err) {
        json_object_set_new(res, "revoke_error", json_string(err->code));
        json_object_set_new(res, "revoke_message", json_string(err->message));
    }
    free(d);
    tq_job_done(job, res);
}

static void delete_start(tq_job_t *job)
{
    const char *name = tq_job_arg_str(job, "name"); /* required, 1 to 255: the schema */
    tq_error_t err = {0};
    PGconn *db = tq_job_db(job, &err);
    tq_vault_t *vault = db ? tq_job_vault(job, &err) : NULL;
    int deleted = 0;
    tq_credstore_cred_t *c =
        vault ? tq_credstore_take(db, vault, tq_job_tenant_uuid(job), name, &deleted, &err) : NULL;
    if (!deleted) {
        tq_job_fail_err(job, &err, tq_error_retryable(err.code));
        return;
    }
    json_t *res = json_pack("{s:s,s:b}", "name", name, "deleted", 1);
    if (!c) { /* deleted, but its tokens could not be read back */
        json_object_set_new(res, "revoked", json_false());
        json_object_set_new(res, "revoke_error", json_string(err.code));
        tq_job_done(job, res);
        return;
    }
    if (strcmp(c->type, "oauth2")) {
        tq_credstore_free(&c);
        tq_job_done(job, res);
        return;
    }
    json_decref(res);
    del_t *d = tq_xcalloc(1, sizeof *d);
    d->job = job;
    snprintf(d->name, sizeof d->name, "%s", name);
    d->v = tq_oauth_revoke_start(job, c->plugin_id, c->metadata, c->fields, delete_revoked, d);
    tq_credstore_free(&c);
    tq_job_on_drop(job, delete_drop, d);
}

static void plugins_start(tq_job_t *job)
{
    tq_job_done(job, json_pack("{s:o}", "plugins", tq_plugin_host_list_json(tq_job_plugins(job))));
}

const tq_op_t tq_op_credential_create = {"credential.create", create_start};
const tq_op_t tq_op_credential_list = {"credential.list", list_start};
const tq_op_t tq_op_credential_get = {"credential.get", get_start};
const tq_op_t tq_op_credential_delete = {"credential.delete", delete_start};
const tq_op_t tq_op_plugins_list = {"plugins.list", plugins_start};
