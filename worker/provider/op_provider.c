/* op_provider.c — the ops provider.import, provider.update, provider.delete,
 * provider.get and provider.list: payload validation, the OpenAPI parse
 * (worker/openapi), credentials (provider_creds.c) and storage
 * (provider_store.c). Owns the ops' payload and result shapes
 * (docs/importing.md "Ops"). Must never return, log or store a secret in
 * clear: results carry masked credentials only. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "ids.h"
#include "op.h"
#include "openapi/openapi.h"
#include "provider_creds.h"
#include "provider_parse.h"
#include "provider_job.h"
#include "provider_store.h"

#define TQ_PROVIDER_NAME_MAX 255
#define TQ_PROVIDER_SHORT_MAX 255      /* icon, privacy_policy (varchar(255)) */
#define TQ_PROVIDER_TEXT_MAX (1 << 20) /* description, custom_disclaimer */
#define TQ_PROVIDER_URL_MAX 2048       /* server_url */
#define TQ_PROVIDER_PATH_MAX 1024      /* document_path and files keys */

/* --- import / update ------------------------------------------------------- */

typedef struct {
    char *name; /* trimmed copy */
    const char *schema, *document_path, *server_url, *description, *privacy_policy,
        *custom_disclaimer;
    char *icon; /* string as given, or an object encoded */
    char user_id[TQ_UUID_STR_LEN + 1];
    json_t *files, *filter, *credentials; /* borrowed from the payload */
} tq_import_args_t;

static void import_args_free(tq_import_args_t *a)
{
    free(a->name);
    free(a->icon);
}

static int has_ctl(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) return 1;
    return 0;
}

/* Trimmed name copy into *out; invalid_argument when empty or with control characters. */
static int read_name(const tq_job_t *job, char **out, tq_error_t *err)
{
    const char *raw;
    if (tq_job_arg_text(job, "name", TQ_PROVIDER_NAME_MAX, true, &raw, err)) return -1;
    while (isspace((unsigned char)*raw))
        raw++;
    size_t n = strlen(raw);
    while (n && isspace((unsigned char)raw[n - 1]))
        n--;
    if (!n) return tq_error_set(err, "invalid_argument", "name is required");
    *out = strndup(raw, n);
    if (!*out) return tq_error_set(err, "internal", "out of memory");
    if (has_ctl(*out))
        return tq_error_set(err, "invalid_argument", "name holds control characters");
    return 0;
}

static int read_import_args(const tq_job_t *job, bool update, tq_import_args_t *a, tq_error_t *err)
{
    memset(a, 0, sizeof *a);
    if (read_name(job, &a->name, err)) return -1;
    if (tq_job_arg_text(job, "schema", SIZE_MAX, !update, &a->schema, err)) return -1;
    if (tq_job_arg_text(job, "document_path", TQ_PROVIDER_PATH_MAX, false, &a->document_path,
                        err) ||
        tq_job_arg_text(job, "server_url", TQ_PROVIDER_URL_MAX, false, &a->server_url, err) ||
        tq_job_arg_text(job, "description", TQ_PROVIDER_TEXT_MAX, false, &a->description, err) ||
        tq_job_arg_text(job, "privacy_policy", TQ_PROVIDER_SHORT_MAX, false, &a->privacy_policy,
                        err) ||
        tq_job_arg_text(job, "custom_disclaimer", TQ_PROVIDER_TEXT_MAX, false,
                        &a->custom_disclaimer, err))
        return -1;

    json_t *icon = tq_job_arg(job, "icon");
    if (json_is_string(icon))
        a->icon = strdup(json_string_value(icon));
    else if (json_is_object(icon))
        a->icon = json_dumps(icon, JSON_COMPACT | JSON_SORT_KEYS);
    else if (icon && !json_is_null(icon))
        return tq_error_set(err, "invalid_argument", "icon must be a string or an object");
    if (a->icon && (strlen(a->icon) > TQ_PROVIDER_SHORT_MAX || has_ctl(a->icon)))
        return tq_error_set(err, "invalid_argument",
                            "icon is longer than %d bytes or holds control characters",
                            TQ_PROVIDER_SHORT_MAX);

    const char *user;
    if (tq_job_arg_text(job, "user_id", 64, false, &user, err)) return -1;
    if (user && tq_uuid_valid(user)) {
        for (size_t i = 0; i <= TQ_UUID_STR_LEN; i++)
            a->user_id[i] = (char)tolower((unsigned char)user[i]);
    } else {
        snprintf(a->user_id, sizeof a->user_id, "%s", TQ_NIL_UUID);
    }

    a->files = tq_job_arg(job, "files");
    if (a->files && !json_is_null(a->files)) {
        if (!json_is_object(a->files))
            return tq_error_set(err, "invalid_argument", "files must be an object {path: text}");
        const char *k;
        json_t *v;
        json_object_foreach(a->files, k, v)
        {
            if (!json_is_string(v))
                return tq_error_set(err, "invalid_argument", "files[\"%.200s\"] must be a string",
                                    k);
            if (strlen(k) > TQ_PROVIDER_PATH_MAX)
                return tq_error_set(err, "invalid_argument", "a files key is longer than %d bytes",
                                    TQ_PROVIDER_PATH_MAX);
        }
    } else {
        a->files = NULL;
    }
    a->filter = tq_job_arg(job, "filter");
    if (json_is_null(a->filter)) a->filter = NULL;
    if (a->filter && tq_openapi_filter_check(a->filter, err)) return -1;
    a->credentials = tq_job_arg(job, "credentials");
    if (json_is_null(a->credentials)) a->credentials = NULL;
    if (a->schema && strlen(a->schema) == 0)
        return tq_error_set(err, "invalid_argument", "schema is empty");
    return 0;
}

/* The parser's options from the configuration and the payload
 * (provider_parse.c adds the fetcher and the deadline). */
static void parse_options(tq_job_t *job, const tq_import_args_t *a, tq_openapi_opts_t *o)
{
    tq_config_t *cfg = tq_job_config(job);
    tq_openapi_opts_default(o);
    o->limits.max_bytes = (size_t)tq_config_int(cfg, "import.max_document_bytes");
    o->limits.max_depth = (size_t)tq_config_int(cfg, "import.max_depth");
    o->limits.max_alias_nodes = (size_t)tq_config_int(cfg, "import.max_alias_nodes");
    o->limits.max_ref_hops = (size_t)tq_config_int(cfg, "import.max_ref_hops");
    /* Remote refs (and a plugin manifest's api.url) only when allowed, and
     * only through the SSRF guard. */
    o->allow_remote_refs = tq_config_bool(cfg, "import.allow_remote_refs");
    o->server_url = a->server_url && *a->server_url ? a->server_url : NULL;
    o->document_path = a->document_path;
    o->files = a->files;
    o->filter = a->filter;
}

/* The bound on bytes covers the bundled files too. */
static int check_size(const tq_import_args_t *a, size_t max, tq_error_t *err)
{
    size_t total = strlen(a->schema);
    const char *k;
    json_t *v;
    json_object_foreach(a->files, k, v)
    {
        if (a->document_path && strcmp(k, a->document_path) == 0) continue;
        total += json_string_length(v);
    }
    if (total > max)
        return tq_error_set(err, "document_too_large",
                            "the document and its files are %zu bytes, more than "
                            "import.max_document_bytes (%zu)",
                            total, max);
    return 0;
}

static json_t *import_result(const char *id, const char *name, json_t *parsed, bool updated)
{
    json_t *r = json_pack("{s:s,s:s}", "id", id, "name", name);
    if (parsed) {
        json_object_set(r, "schema_type", json_object_get(parsed, "schema_type"));
        json_object_set(r, "tools", json_object_get(parsed, "tool_count"));
        json_t *w = json_object_get(parsed, "warnings");
        json_t *s = json_object_get(parsed, "skipped");
        json_t *d = json_object_get(parsed, "degraded");
        json_object_set_new(r, "warnings", w ? json_incref(w) : json_array());
        json_object_set_new(r, "skipped", s ? json_incref(s) : json_array());
        json_object_set_new(r, "degraded", d ? json_incref(d) : json_array());
    }
    if (updated) json_object_set_new(r, "updated", json_true());
    return r;
}

/* One import or update between its start and its outcome. */
typedef struct {
    tq_import_args_t a;
    json_t *creds; /* normalised (import); NULL on update */
    bool update;
    char id[TQ_UUID_STR_LEN + 1];     /* import: the new provider's id (the job's) */
    char tenant[TQ_UUID_STR_LEN + 1]; /* the job's tenant uuid */
    char *sealed;                     /* import: credentials sealed for that row */
} import_state_t;

static void state_free(void *arg)
{
    import_state_t *st = arg;
    free(st->sealed);
    json_decref(st->creds);
    import_args_free(&st->a);
    free(st);
}

/* provider.import, in the pool thread after the parse, on that thread's
 * own connection (a large tools_str insert never holds up the loop). The
 * provider's id is the job's id: a retried job whose earlier attempt
 * committed finds its own row and answers that committed result instead of
 * provider_exists (the parse is deterministic: the same result). */
static int import_store(void *arg, const json_t *parsed, const char *tools, const char *defs,
                        tq_error_t *err)
{
    import_state_t *st = arg;
    const tq_import_args_t *a = &st->a;
    PGconn *db = tq_provider_pool_db(err);
    if (!db) return -1;
    tq_provider_row_t row = {.tenant_id = st->tenant,
                             .name = a->name,
                             .user_id = a->user_id,
                             .icon = a->icon,
                             .schema = a->schema,
                             .schema_type =
                                 json_string_value(json_object_get(parsed, "schema_type")),
                             .description = a->description,
                             .privacy_policy = a->privacy_policy,
                             .custom_disclaimer = a->custom_disclaimer,
                             .tools = tools,
                             .defs = defs,
                             .credentials = st->sealed};
    if (!row.description)
        row.description = json_string_value(json_object_get(parsed, "description"));
    snprintf(row.id, sizeof row.id, "%s", st->id);
    if (!row.schema_type)
        return tq_error_set(err, "internal", "the parse result could not be stored");
    int rc = tq_provider_store_insert(db, &row, err);
    if (rc < 0) return -1;
    if (rc == 1) {
        char id[TQ_UUID_STR_LEN + 1] = "";
        if (tq_provider_store_id(db, st->tenant, a->name, id, err) < 0) return -1;
        if (strcmp(id, row.id) != 0)
            return tq_error_set(err, "provider_exists", "provider '%.255s' already exists",
                                a->name);
    }
    return 0;
}

/* provider.update, after the parse if any (loop thread: the credentials are
 * merged with the stored ones inside the transaction). */
static void update_finish(tq_job_t *job, import_state_t *st, json_t *parsed, char *tools,
                          char *defs)
{
    tq_error_t err = {0};
    const tq_import_args_t *a = &st->a;
    json_t *stored = NULL, *creds = NULL;
    char *sealed = NULL;
    PGresult *res = NULL;
    PGconn *db = NULL;
    bool in_tx = false;
    const char *tenant = tq_job_tenant_uuid(job);
    if (!(db = tq_job_db(job, &err))) goto fail;
    tq_vault_t *vault = tq_job_vault(job, &err);
    if (!vault) goto fail;
    if (tq_provider_store_begin(db, &err)) goto fail;
    in_tx = true;
    if (!(res = tq_provider_store_get(db, tenant, a->name, false, true, &err))) goto fail;

    tq_provider_row_t row = {.tenant_id = tenant,
                             .icon = a->icon,
                             .schema = a->schema,
                             .description = a->description,
                             .privacy_policy = a->privacy_policy,
                             .custom_disclaimer = a->custom_disclaimer};
    snprintf(row.id, sizeof row.id, "%s", PQgetvalue(res, 0, TQ_PCOL_ID));
    if (parsed) {
        row.schema_type = json_string_value(json_object_get(parsed, "schema_type"));
        if (!row.description)
            row.description = json_string_value(json_object_get(parsed, "description"));
        row.tools = tools;
        row.defs = defs;
    }
    if (a->credentials || parsed) {
        /* New credentials; a masked or missing value keeps the stored secret,
         * only for the same origins and placement (secret_required). A key
         * an import stored carries no origins: it is bound to the origins of
         * the tools it was imported with, the stored ones (as invoke does). */
        if (!(stored = tq_provider_open_creds(vault, tenant, row.id,
                                              PQgetvalue(res, 0, TQ_PCOL_CREDENTIALS), &err)))
            goto fail;
        if (!json_is_array(json_object_get(stored, "origins"))) {
            json_t *cur = json_loads(PQgetvalue(res, 0, TQ_PCOL_TOOLS), 0, NULL);
            json_t *was = tq_provider_tool_origins(cur);
            tq_provider_creds_bind(stored, was);
            json_decref(was);
            json_decref(cur);
        }
        json_t *origins = parsed ? json_incref(json_object_get(parsed, "origins"))
                                 : json_incref(json_object_get(stored, "origins"));
        if (a->credentials)
            creds = tq_provider_creds_normalize(a->credentials, stored, origins, &err);
        int bad = a->credentials ? !creds : tq_provider_creds_check_rebind(stored, origins, &err);
        json_decref(origins);
        if (bad) goto fail;
        if (creds && !(sealed = tq_provider_seal_creds(vault, tenant, row.id, creds, &err)))
            goto fail;
        row.credentials = sealed;
    }
    if (tq_provider_store_update(db, &row, &err)) goto fail;
    if (tq_provider_store_commit(db, &err)) {
        in_tx = false;
        goto fail;
    }
    in_tx = false;
    tq_provider_job_done(job, import_result(row.id, a->name, parsed, true));
    goto out;
fail:
    if (in_tx) tq_provider_store_rollback(db);
    tq_provider_job_fail(job, &err);
out:
    PQclear(res);
    free(sealed);
    json_decref(stored);
    json_decref(creds);
}

static void on_parsed(tq_job_t *job, void *arg, json_t *parsed, char *tools, char *defs,
                      const tq_error_t *err)
{
    import_state_t *st = arg;
    if (!parsed)
        tq_provider_job_fail(job, err);
    else if (st->update)
        update_finish(job, st, parsed, tools, defs);
    else
        tq_provider_job_done(job, import_result(st->id, st->a.name, parsed, false));
    json_decref(parsed);
    free(tools);
    free(defs);
    state_free(st);
}

/* Both ops: validate (and seal new credentials) in the loop thread, parse in
 * an import thread (provider_parse.c); an import is stored there too, an
 * update back in the loop thread. */
static void import_or_update(tq_job_t *job, bool update)
{
    tq_error_t err = {0};
    import_state_t *st = calloc(1, sizeof *st);
    if (!st) {
        tq_job_fail(job, "internal", "out of memory", true);
        return;
    }
    st->update = update;
    tq_openapi_opts_t o;
    if (read_import_args(job, update, &st->a, &err)) goto fail;
    if (!update && !(st->creds = tq_provider_creds_normalize(st->a.credentials, NULL, NULL, &err)))
        goto fail;
    if (!st->a.schema) { /* update without a document: no parse */
        update_finish(job, st, NULL, NULL, NULL);
        state_free(st);
        return;
    }
    parse_options(job, &st->a, &o);
    if (check_size(&st->a, o.limits.max_bytes, &err)) goto fail;
    snprintf(st->id, sizeof st->id, "%s", tq_job_id(job));
    snprintf(st->tenant, sizeof st->tenant, "%s", tq_job_tenant_uuid(job));
    if (!update) { /* sealed here: the vault lives in the loop thread */
        tq_vault_t *vault = tq_job_vault(job, &err);
        if (!vault ||
            !(st->sealed = tq_provider_seal_creds(vault, st->tenant, st->id, st->creds, &err)))
            goto fail;
    }
    if (tq_provider_parse_start(job, &o, st->a.schema, strlen(st->a.schema),
                                update ? NULL : import_store, on_parsed, state_free, st, &err))
        goto fail;
    return;
fail:
    state_free(st);
    tq_provider_job_fail(job, &err);
}

static void import_start(tq_job_t *job)
{
    import_or_update(job, false);
}

const tq_op_t tq_op_provider_import = {"provider.import", import_start};

static void update_start(tq_job_t *job)
{
    import_or_update(job, true);
}

const tq_op_t tq_op_provider_update = {"provider.update", update_start};

/* --- delete / get / list --------------------------------------------------- */

static void delete_start(tq_job_t *job)
{
    tq_error_t err = {0};
    char *name = NULL;
    char id[TQ_UUID_STR_LEN + 1];
    PGconn *db = NULL;
    if (read_name(job, &name, &err) || !(db = tq_job_db(job, &err)) ||
        tq_provider_store_delete(db, tq_job_tenant_uuid(job), name, id, &err)) {
        tq_provider_job_fail(job, &err);
    } else {
        tq_provider_job_done(job, json_pack("{s:s,s:s,s:b}", "id", id, "name", name, "deleted", 1));
    }
    free(name);
}

const tq_op_t tq_op_provider_delete = {"provider.delete", delete_start};

static json_t *text_or_null(PGresult *res, int col)
{
    return PQgetisnull(res, 0, col) ? json_null() : json_string(PQgetvalue(res, 0, col));
}

static void get_start(tq_job_t *job)
{
    tq_error_t err = {0};
    char *name = NULL;
    PGresult *res = NULL;
    json_t *creds = NULL, *tools = NULL;
    PGconn *db = NULL;
    tq_vault_t *vault = NULL;
    bool with_schema = tq_job_arg_bool(job, "include_schema", false);
    bool with_tools = tq_job_arg_bool(job, "include_tools", true);
    const char *tenant = tq_job_tenant_uuid(job);
    if (read_name(job, &name, &err) || !(db = tq_job_db(job, &err)) ||
        !(vault = tq_job_vault(job, &err)) ||
        !(res = tq_provider_store_get(db, tenant, name, with_schema, false, &err)))
        goto fail;
    const char *id = PQgetvalue(res, 0, TQ_PCOL_ID);
    if (!(creds = tq_provider_open_creds(vault, tenant, id, PQgetvalue(res, 0, TQ_PCOL_CREDENTIALS),
                                         &err)))
        goto fail;
    json_error_t jerr;
    tools = json_loads(PQgetvalue(res, 0, TQ_PCOL_TOOLS), 0, &jerr);
    if (!json_is_array(tools)) {
        tq_error_set(&err, "internal", "stored tools_str is not a JSON array");
        goto fail;
    }
    json_t *r = json_pack(
        "{s:s,s:s,s:s,s:s,s:s}", "id", id, "name", PQgetvalue(res, 0, TQ_PCOL_NAME), "schema_type",
        PQgetvalue(res, 0, TQ_PCOL_SCHEMA_TYPE), "description",
        PQgetvalue(res, 0, TQ_PCOL_DESCRIPTION), "user_id", PQgetvalue(res, 0, TQ_PCOL_USER_ID));
    json_object_set_new(r, "icon", json_string(PQgetvalue(res, 0, TQ_PCOL_ICON)));
    json_object_set_new(r, "privacy_policy", text_or_null(res, TQ_PCOL_PRIVACY_POLICY));
    json_object_set_new(r, "custom_disclaimer", text_or_null(res, TQ_PCOL_CUSTOM_DISCLAIMER));
    json_object_set_new(r, "created_at", text_or_null(res, TQ_PCOL_CREATED_AT));
    json_object_set_new(r, "updated_at", text_or_null(res, TQ_PCOL_UPDATED_AT));
    json_object_set_new(r, "credentials", tq_provider_creds_mask(creds));
    json_object_set_new(r, "tool_count", json_integer((json_int_t)json_array_size(tools)));
    if (with_tools) {
        json_object_set(r, "tools", tools);
        json_t *defs = json_loads(PQgetvalue(res, 0, TQ_PCOL_DEFS), 0, &jerr);
        json_object_set_new(r, "defs", json_is_object(defs) ? defs : json_object());
        if (defs && !json_is_object(defs)) json_decref(defs);
    }
    if (with_schema) json_object_set_new(r, "schema", text_or_null(res, TQ_PCOL_SCHEMA));
    tq_provider_job_done(job, r);
    goto out;
fail:
    tq_provider_job_fail(job, &err);
out:
    json_decref(creds);
    json_decref(tools);
    PQclear(res);
    free(name);
}

const tq_op_t tq_op_provider_get = {"provider.get", get_start};

static void list_start(tq_job_t *job)
{
    tq_error_t err = {0};
    PGconn *db = tq_job_db(job, &err);
    PGresult *res = db ? tq_provider_store_list(db, tq_job_tenant_uuid(job), &err) : NULL;
    if (!res) {
        tq_provider_job_fail(job, &err);
        return;
    }
    json_t *list = json_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_array_append_new(
            list, json_pack("{s:s,s:s,s:s,s:I,s:s,s:s}", "id", PQgetvalue(res, i, 0), "name",
                            PQgetvalue(res, i, 1), "schema_type", PQgetvalue(res, i, 2), "tools",
                            (json_int_t)strtoll(PQgetvalue(res, i, 3), NULL, 10), "description",
                            PQgetvalue(res, i, 4), "updated_at", PQgetvalue(res, i, 5)));
    PQclear(res);
    tq_provider_job_done(job, json_pack("{s:o}", "providers", list));
}

const tq_op_t tq_op_provider_list = {"provider.list", list_start};
