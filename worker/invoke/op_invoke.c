/* op_invoke.c — the `invoke` op: {provider, tool, args?, credential?,
 * timeout_ms?} -> the tool's HTTP call -> result (invoke_result.h).
 * Reads the provider row (tenant-scoped), finds the bundle, checks the
 * arguments, builds the request, decrypts the credential (inline
 * credentials_str or a named credential) only for this call, lets the
 * plugin authenticate, and runs the call on the worker's curl multi engine.
 * Outcomes (docs/invoking.md): any HTTP answer is a succeeded job (ok false
 * for >= 400); transport errors fail the job NON-retryable, because the
 * call already retried what was safe to retry. Never logs a URL, header,
 * argument value or secret; never mutates stored data. */
#include "op.h"
#include "vault.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "credstore/credstore.h"
#include "ids.h"
#include "invoke_args.h"
#include "buf.h"
#include "invoke_call.h"
#include "invoke_oauth.h"
#include "invoke_request.h"
#include "invoke_result.h"
#include "log.h"
#include "plugin/plugin_host.h"
#include "provider/provider_cache.h"
#include "provider/provider_creds.h"
#include "provider/provider_store.h"
#include "ssrf.h"
#include "mem.h"

typedef struct {
    tq_job_t *job;
    tq_invoke_call_t *call;
    tq_invoke_secrets_t secrets; /* redacted from what the server sends back */
    json_t *origins;             /* where the credential in use may go; NULL without one */
    size_t excerpt_bytes;
    int64_t start_ms;
    int oauth_flags;  /* TQ_INVOKE_OAUTH_*: refreshes already done for this job */
    char *oauth_cred; /* the oauth2 credential used, for a refresh on 401 */
    long long oauth_loaded_ms;
} invoke_state_t;

static void invoke_run(tq_job_t *job, int oauth_flags);

/* One guard per process, from ssrf.allow (immutable, shared by transfers). */
static tq_ssrf_t *s_guard;

static const tq_ssrf_t *guard(tq_config_t *cfg, tq_error_t *err)
{
    if (!s_guard) s_guard = tq_ssrf_new(tq_config_str(cfg, "ssrf.allow"), err);
    return s_guard;
}

static void add_secret(invoke_state_t *st, const char *s)
{
    tq_invoke_secrets_add(&st->secrets, s);
}

static void state_free(invoke_state_t *st)
{
    tq_invoke_call_destroy(&st->call);
    json_decref(st->origins);
    free(st->oauth_cred);
    tq_invoke_secrets_wipe(&st->secrets);
    free(st);
}

static void on_drop(tq_job_t *job, void *arg)
{
    (void)job;
    state_free(arg);
}

static void on_call_done(tq_invoke_call_t *call, void *arg)
{
    invoke_state_t *st = arg;
    tq_job_t *job = st->job;
    const tq_httpc_response_t *r = tq_invoke_call_response(call);
    int attempts = tq_invoke_call_attempts(call);
    tq_job_on_drop(job, NULL, NULL);
    if (!tq_error_is_set(&r->error) && st->oauth_cred &&
        !(st->oauth_flags & TQ_INVOKE_OAUTH_RETRY) && tq_invoke_oauth_wants_retry(r)) {
        /* RFC 6750 §3.1 invalid_token: one refresh, one retry */
        char *name = st->oauth_cred;
        long long loaded = st->oauth_loaded_ms;
        int flags = st->oauth_flags;
        st->oauth_cred = NULL;
        state_free(st);
        tq_invoke_oauth_retry(job, name, loaded, flags, invoke_run);
        free(name);
        return;
    }
    if (tq_error_is_set(&r->error)) {
        char msg[TQ_ERROR_MSG_MAX + 64];
        snprintf(msg, sizeof msg, "%s (after %d attempt%s)", r->error.message, attempts,
                 attempts == 1 ? "" : "s");
        size_t nl;
        char *red = tq_invoke_redact(msg, strlen(msg), (const char *const *)st->secrets.v, &nl);
        tq_debug("invoke job %s: %s after %d attempts", tq_job_id(job), r->error.code, attempts);
        tq_job_fail(job, r->error.code, red ? red : msg, false);
        free(red);
    } else {
        json_t *res = tq_invoke_result_new(r, attempts, tq_invoke_call_redirects(call),
                                           tq_now_ms() - st->start_ms,
                                           (const char *const *)st->secrets.v, st->excerpt_bytes);
        tq_debug("invoke job %s: HTTP %d, %d attempts", tq_job_id(job), r->status, attempts);
        tq_job_done(job, res);
    }
    state_free(st);
}

/* The operation declares an idempotency-key header parameter: its wire name. */
static const char *idempotency_header(const json_t *bundle, const char **arg_name)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(bundle, "parameters"), i, p)
    {
        const char *in = json_string_value(json_object_get(p, "in"));
        const char *wire = json_string_value(json_object_get(p, "original_name"));
        if (!wire) wire = json_string_value(json_object_get(p, "name"));
        if (in && wire && !strcmp(in, "header") &&
            (!strcasecmp(wire, "idempotency-key") || !strcasecmp(wire, "x-idempotency-key"))) {
            *arg_name = json_string_value(json_object_get(p, "name"));
            return wire;
        }
    }
    return NULL;
}

/* Authenticates req with type + fields through the matching plugin. */
static int authenticate(tq_job_t *job, invoke_state_t *st, tq_httpc_request_t *req,
                        const char *plugin_id, const char *type, const json_t *fields,
                        tq_error_t *err)
{
    struct tq_plugin_host_t *host = tq_job_plugins(job);
    const tq_plugin_t *p = plugin_id && *plugin_id ? tq_plugin_host_find(host, plugin_id) : NULL;
    if (!p) p = tq_plugin_host_find_for_credential(host, type);
    if (!p)
        return tq_error_set(err, "unknown_credential_type",
                            "no loaded plugin handles credential type %s", type);
    tq_plugin_kv_t kv[64];
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)fields, k, v)
    {
        if (!json_is_string(v) || n >= 64) continue;
        kv[n++] = (tq_plugin_kv_t){k, json_string_value(v)};
        if (!tq_credstore_field_is_public(k)) add_secret(st, json_string_value(v));
    }
    tq_plugin_credential_t cred = {type, kv, n};
    tq_plugin_kv_t *hv = tq_xcalloc(req->nheaders + 2, sizeof *hv);
    tq_plugin_request_t view;
    tq_invoke_request_view(req, hv, (long long)time(NULL), &view);
    tq_plugin_edits_t *edits = tq_plugin_edits_new();
    int rc = tq_plugin_apply_auth(p, &view, &cred, edits, err);
    free(hv);
    if (rc == 0) {
        for (size_t i = 0; i < tq_plugin_edits_count(edits); i++) /* every value it set */
            add_secret(st, tq_plugin_edits_at(edits, i)->value);
        tq_invoke_request_apply_edits(req, edits);
    }
    tq_plugin_edits_destroy(&edits);
    return rc;
}

static long long unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The credential may go to the request's origin (F5): origins is what it
 * is bound to (taken). Kept for the redirect hops (invoke_call.c). */
static int bind_check(invoke_state_t *st, const tq_httpc_request_t *req, json_t *origins,
                      const char *what, tq_error_t *err)
{
    char o[TQ_ORIGIN_MAX];
    int ok = !tq_ssrf_url_origin(req->url, o, sizeof o) && tq_invoke_origin_listed(origins, o);
    if (!ok) {
        char *list = json_dumps(origins, JSON_COMPACT);
        tq_error_set(err, "credential_origin_mismatch",
                     "%s may be sent only to %.300s, not to %.200s", what, list ? list : "[]", o);
        free(list);
        json_decref(origins);
        return -1;
    }
    json_decref(st->origins);
    st->origins = origins;
    return 0;
}

/* A named credential's binding: metadata.origins, or (an OAuth or older
 * credential that has none) the provider's tool origins, recorded now. */
static int named_check(tq_job_t *job, invoke_state_t *st, const tq_httpc_request_t *req, PGconn *db,
                       const tq_provider_entry_t *prov, const tq_credstore_cred_t *c,
                       tq_error_t *err)
{
    json_t *origins = json_incref(json_object_get(c->metadata, "origins"));
    if (!json_is_array(origins)) {
        json_decref(origins);
        origins =
            tq_credstore_bind_origins(db, tq_job_tenant_uuid(job), c->name, prov->origins, err);
        if (!origins) return -1;
    }
    char what[300];
    snprintf(what, sizeof what, "credential %.255s", c->name);
    return bind_check(st, req, origins, what, err);
}

/* Remembers an oauth2 credential for a refresh on 401. */
static void note_oauth(invoke_state_t *st, const tq_credstore_cred_t *c)
{
    if (strcmp(c->type, "oauth2")) return;
    free(st->oauth_cred);
    st->oauth_cred = strdup(c->name);
    st->oauth_loaded_ms = unix_ms();
}

/* Inline provider credentials (credentials_str) -> plugin type + fields.
 * 1 when deferred by an OAuth pre-use refresh. */
static int provider_auth(tq_job_t *job, invoke_state_t *st, tq_httpc_request_t *req, PGconn *db,
                         tq_vault_t *vault, const tq_provider_entry_t *prov, const json_t *creds,
                         tq_error_t *err)
{
    const char *auth = json_string_value(json_object_get(creds, "auth_type"));
    if (!auth || !strcmp(auth, "none")) return 0;
    if (!strcmp(auth, "credential")) {
        const char *name = json_string_value(json_object_get(creds, "credential"));
        if (!name)
            return tq_error_set(err, "invalid_credential", "the provider names no credential");
        tq_credstore_cred_t *c = tq_credstore_load(db, vault, tq_job_tenant_uuid(job), name, err);
        if (!c) return -1;
        if (tq_invoke_oauth_before_use(job, c, st->oauth_flags, invoke_run)) {
            tq_credstore_free(&c);
            return 1; /* deferred: the invoke restarts after the refresh */
        }
        note_oauth(st, c);
        int rc = named_check(job, st, req, db, prov, c, err);
        if (!rc) rc = authenticate(job, st, req, c->plugin_id, c->type, c->fields, err);
        tq_credstore_free(&c);
        return rc;
    }
    /* an inline key: bound to the tool origins it was given for (older
     * rows without a binding: the provider's current tool origins) */
    json_t *bound = json_incref(json_object_get(creds, "origins"));
    if (!json_is_array(bound)) {
        json_decref(bound);
        bound = json_incref(prov->origins);
    }
    if (bind_check(st, req, bound, "the provider's key", err)) return -1;
    json_t *fields = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)creds, k, v) if (json_is_string(v) && strcmp(k, "auth_type"))
        json_object_set(fields, k, v);
    const char *cp = json_string_value(json_object_get(creds, "api_key_custom_prefix"));
    if (cp) json_object_set_new(fields, "custom_prefix", json_string(cp));
    int rc = authenticate(job, st, req, NULL, auth, fields, err);
    json_object_foreach(fields, k, v)
        tq_secure_wipe((char *)json_string_value(v), json_string_length(v));
    json_decref(fields);
    return rc;
}

static int64_t opt_int(const json_t *o, const char *key, int64_t def)
{
    const json_t *v = json_object_get(o, key);
    return json_is_integer(v) && json_integer_value(v) > 0 ? json_integer_value(v) : def;
}

static void fail(tq_job_t *job, invoke_state_t *st, const tq_error_t *err, bool retryable)
{
    tq_job_fail_err(job, err, retryable);
    if (st) state_free(st);
}

static void invoke_start(tq_job_t *job)
{
    invoke_run(job, 0);
}

static void invoke_run(tq_job_t *job, int oauth_flags)
{
    tq_config_t *cfg = tq_job_config(job);
    const char *provider = tq_job_arg_str(job, "provider");
    const char *tool = tq_job_arg_str(job, "tool");
    const char *cred_name = tq_job_arg_str(job, "credential");
    const json_t *args = tq_job_arg(job, "args");
    tq_error_t err = {0};
    if (!provider || !tool || (args && !json_is_object(args))) {
        tq_error_set(&err, "invalid_payload",
                     "invoke needs {\"provider\": NAME, \"tool\": OPERATION_ID, \"args\": {...}}");
        fail(job, NULL, &err, false);
        return;
    }
    const tq_ssrf_t *ssrf = guard(cfg, &err);
    if (!ssrf) {
        fail(job, NULL, &err, false);
        return;
    }
    PGconn *db = tq_job_db(job, &err);
    if (!db) {
        fail(job, NULL, &err, true);
        return;
    }
    const tq_provider_entry_t *prov = tq_provider_cache_get(job, provider, &err);
    if (!prov) {
        fail(job, NULL, &err, tq_error_retryable(err.code));
        return;
    }
    const json_t *bundle = json_object_get(prov->tools, tool);
    json_t *coerced = NULL;
    tq_httpc_request_t *req = NULL;
    json_t *creds = NULL;
    invoke_state_t *st = tq_xcalloc(1, sizeof *st);
    st->job = job;
    st->start_ms = tq_now_ms();
    st->oauth_flags = oauth_flags;
    if (!bundle) {
        tq_error_set(&err, "tool_not_found", "provider %s has no tool %s", provider, tool);
        goto failed;
    }
    coerced = tq_invoke_args_check(json_object_get(bundle, "input_schema"), args, NULL, &err);
    if (!coerced) goto failed;
    const char *idem_arg = NULL;
    const char *idem = idempotency_header(bundle, &idem_arg);
    req = tq_invoke_request_build(bundle, coerced, NULL, &err);
    if (!req) goto failed;
    if (idem && !tq_httpc_request_header(req, idem)) {
        char key[TQ_UUID_STR_LEN + 1];
        tq_uuid_v7(key);
        tq_httpc_request_set_header(req, idem, key, 0);
    }
    tq_vault_t *vault = tq_job_vault(job, &err);
    if (!vault) goto failed;
    if (cred_name) {
        tq_credstore_cred_t *c =
            tq_credstore_load(db, vault, tq_job_tenant_uuid(job), cred_name, &err);
        if (!c) goto failed;
        if (tq_invoke_oauth_before_use(job, c, st->oauth_flags, invoke_run)) {
            tq_credstore_free(&c);
            goto deferred;
        }
        note_oauth(st, c);
        int rc = named_check(job, st, req, db, prov, c, &err);
        if (!rc) rc = authenticate(job, st, req, c->plugin_id, c->type, c->fields, &err);
        tq_credstore_free(&c);
        if (rc) goto failed;
    } else {
        creds = tq_provider_open_creds(vault, tq_job_tenant_uuid(job), prov->id, prov->credentials,
                                       &err);
        int pa = creds ? provider_auth(job, st, req, db, vault, prov, creds, &err) : -1;
        if (pa > 0) goto deferred;
        if (pa) goto failed;
    }

    tq_invoke_call_opts_t o = {0};
    o.http.ssrf = ssrf;
    o.http.connect_timeout_ms =
        (long)opt_int(creds, "connect_timeout_ms", tq_config_int(cfg, "invoke.connect_timeout_ms"));
    o.http.timeout_ms = (long)opt_int(creds, "timeout_ms", tq_config_int(cfg, "invoke.timeout_ms"));
    o.http.timeout_ms = (long)opt_int(tq_job_payload(job), "timeout_ms", o.http.timeout_ms);
    o.http.max_bytes = (size_t)tq_config_int(cfg, "invoke.max_response_bytes");
    o.http.verify_tls = !json_is_false(json_object_get(creds, "tls_verify"));
    o.http.proxy = tq_config_str(cfg, "invoke.proxy");
    if (!o.http.verify_tls)
        tq_warn("invoke %s/%s: TLS verification is off for this provider", provider, tool);
    o.max_redirects = (int)tq_config_int(cfg, "invoke.max_redirects");
    o.max_retries = (int)tq_config_int(cfg, "invoke.max_retries");
    o.retry_after_max_ms = (int)tq_config_int(cfg, "invoke.retry_after_max_ms");
    o.retry_unsafe = idem != NULL;
    o.origins = st->origins; /* every hop that still carries the credential is checked */
    int budget = tq_job_timeout_ms(job);
    if (budget > 0) o.deadline_ms = st->start_ms + (budget > 2000 ? budget - 500 : budget);
    st->excerpt_bytes = (size_t)tq_config_int(cfg, "invoke.body_excerpt_bytes");
    json_decref(coerced);
    json_decref(creds);
    tq_job_on_drop(job, on_drop, st);
    st->call = tq_invoke_call_start(tq_job_loop(job), req, &o, on_call_done, st);
    return;

deferred: /* an OAuth refresh runs first; invoke_run starts again after it */
    json_decref(coerced);
    json_decref(creds);
    tq_httpc_request_destroy(&req);
    state_free(st);
    return;

failed:
    json_decref(coerced);
    json_decref(creds);
    tq_httpc_request_destroy(&req);
    fail(job, st, &err, tq_error_retryable(err.code));
}

const tq_op_t tq_op_invoke = {"invoke", invoke_start};
