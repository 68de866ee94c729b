/* provider_cache.c — per-process cache of provider rows (provider_cache.h).
 * Keys are "<tenant uuid>/<name>", the NOTIFY payload of the trigger. */
#include "provider_cache.h"
#include "provider_creds.h"

#include "provider_store.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>

static zhashx_t *s_cache; /* key -> tq_provider_entry_t */

static void entry_free(void **item)
{
    tq_provider_entry_t *e = *item;
    if (!e) return;
    free(e->id);
    free(e->credentials);
    json_decref(e->tools);
    json_decref(e->origins);
    free(e);
    *item = NULL;
}

static void on_notify(const char *payload)
{
    if (!s_cache) return;
    if (payload)
        zhashx_delete(s_cache, payload);
    else
        zhashx_purge(s_cache); /* reconnected: we may have missed changes */
}

static tq_provider_entry_t *load(tq_job_t *job, const char *name, tq_error_t *err)
{
    PGconn *db = tq_job_db(job, err);
    if (!db) return NULL;
    PGresult *row = tq_provider_store_get(db, tq_job_tenant_uuid(job), name, false, false, err);
    if (!row) return NULL;
    json_error_t jerr;
    json_t *list = json_loads(PQgetvalue(row, 0, TQ_PCOL_TOOLS), 0, &jerr);
    tq_provider_entry_t *e = calloc(1, sizeof *e);
    if (!e || !json_is_array(list)) {
        tq_error_set(err, "invalid_provider", "provider %s has unreadable tools", name);
        json_decref(list);
        free(e);
        PQclear(row);
        return NULL;
    }
    e->id = strdup(PQgetvalue(row, 0, TQ_PCOL_ID));
    e->credentials = strdup(PQgetvalue(row, 0, TQ_PCOL_CREDENTIALS));
    e->tools = json_object();
    /* Each input schema gets the provider's definitions as its "$defs"
     * (shared, not copied), so "#/$defs/NAME" resolves during validation. */
    json_t *defs = json_loads(PQgetvalue(row, 0, TQ_PCOL_DEFS), 0, &jerr);
    size_t i;
    json_t *b;
    json_array_foreach(list, i, b)
    {
        const char *op = json_string_value(json_object_get(b, "operation_id"));
        json_t *in = json_object_get(b, "input_schema");
        if (json_is_object(defs) && json_object_size(defs) && json_is_object(in))
            json_object_set(in, "$defs", defs);
        if (op) json_object_set(e->tools, op, b);
    }
    json_decref(defs);
    json_decref(list);
    PQclear(row);
    e->origins = tq_provider_tool_origins(e->tools); /* once per load, not per invoke */
    return e;
}

const tq_provider_entry_t *tq_provider_cache_get(tq_job_t *job, const char *name, tq_error_t *err)
{
    if (!s_cache) {
        s_cache = zhashx_new();
        zhashx_set_destructor(s_cache, entry_free);
    }
    tq_job_listen(job, "toolq_providers", on_notify);
    /* tq_job_db() delivers pending notifications before we look. */
    if (!tq_job_db(job, err)) return NULL;
    char key[TQ_UUID_STR_LEN + 300];
    snprintf(key, sizeof key, "%s/%s", tq_job_tenant_uuid(job), name);
    tq_provider_entry_t *e = zhashx_lookup(s_cache, key);
    if (e) return e;
    e = load(job, name, err);
    if (!e) return NULL;
    int64_t max = tq_config_int(tq_job_config(job), "worker.provider_cache_size");
    if ((int64_t)zhashx_size(s_cache) >= max) zhashx_purge(s_cache);
    zhashx_insert(s_cache, key, e);
    return e;
}
