/* op_tools_list.c — the op tools.list: the tools of one provider or of every
 * provider of the tenant, as bundles whose input schemas carry the
 * definitions they reach ("toolq") or in OpenAI function-calling form
 * ("openai", through tq_openapi_functions), with an optional listing filter
 * and inlining depth, one page at a time: a page holds at most `limit` tools
 * and always fits in a frame, and `next_cursor` (absent on the last page)
 * asks for the next one, so a listing never fails on size. Reads tools_str
 * and defs_str only: never credentials. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "op.h"
#include "openapi/openapi.h"
#include "provider_job.h"
#include "provider_parse.h"
#include "provider_store.h"

#define PAGE_MARGIN 65536 /* bytes of a page that are not tools (envelope, names) */
#define FN_BATCH 64       /* functions built at once for an openai page */

static int prefix_of(const char *s, tq_openapi_prefix_t *out, tq_error_t *err)
{
    if (!s || strcmp(s, "on_collision") == 0)
        *out = TQ_OPENAPI_PREFIX_ON_COLLISION;
    else if (strcmp(s, "always") == 0)
        *out = TQ_OPENAPI_PREFIX_ALWAYS;
    else if (strcmp(s, "never") == 0)
        *out = TQ_OPENAPI_PREFIX_NEVER;
    else
        return tq_error_set(err, "invalid_argument",
                            "prefix must be always, never or on_collision, not '%.32s'", s);
    return 0;
}

/* The cursor is the position of the page's first tool in the whole listing. */
static int read_cursor(const tq_job_t *job, size_t *out, tq_error_t *err)
{
    const char *c;
    *out = 0;
    if (tq_job_arg_text(job, "cursor", 32, false, &c, err)) return -1;
    if (!c || !*c) return 0;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(c, &end, 10);
    if (errno || *end || c[0] < '0' || c[0] > '9')
        return tq_error_set(err, "invalid_argument", "cursor '%.32s' is not one this op gave", c);
    *out = (size_t)n;
    return 0;
}

/* Appends to page the items from *pos on while they fit in budget bytes and
 * limit; an item alone over the budget is named in too_large instead. */
typedef struct {
    size_t pos, count, bytes, budget;
    long limit;
    json_t *too_large;
} pager_t;

static int page_take(pager_t *pg, json_t *item, const char *name)
{
    if (pg->limit && (long)pg->count >= pg->limit) return 0;
    size_t n = json_dumpb(item, NULL, 0, JSON_COMPACT) + 1;
    if (n > pg->budget) {
        json_array_append_new(pg->too_large, json_string(name ? name : ""));
        pg->pos++;
        return 1;
    }
    if (pg->count && pg->bytes + n > pg->budget) return 0;
    pg->bytes += n;
    pg->count++;
    pg->pos++;
    return 2;
}

/* One listing between the loop thread (arguments, the query) and a pool
 * thread (decoding the rows and building the page). */
typedef struct {
    PGresult *res;
    const json_t *filter; /* borrowed from the payload (the task holds it) */
    bool openai;
    tq_openapi_fn_opts_t fo;
    long limit, depth;
    size_t cursor, budget;
    json_t *result; /* the page, or NULL with err */
    tq_error_t err;
} listing_t;

static void listing_free(void *arg)
{
    listing_t *l = arg;
    PQclear(l->res);
    json_decref(l->result);
    free(l);
}

/* Pool thread: rows → providers → one page. */
static void listing_work(void *arg)
{
    listing_t *l = arg;
    PGresult *res = l->res;
    const json_t *filter = l->filter;
    json_t *providers = json_array(), *result = NULL;
    for (int i = 0; i < PQntuples(res); i++) {
        json_error_t jerr;
        json_t *tools = json_loads(PQgetvalue(res, i, 2), 0, &jerr);
        json_t *defs = json_loads(PQgetvalue(res, i, 3), 0, &jerr);
        if (!json_is_array(tools) || !json_is_object(defs)) {
            json_decref(tools);
            json_decref(defs);
            tq_error_set(&l->err, "internal", "stored tools of provider %.255s are not readable",
                         PQgetvalue(res, i, 1));
            json_decref(providers);
            return;
        }
        for (size_t k = json_array_size(tools); filter && k-- > 0;)
            if (!tq_openapi_filter_match(filter, json_array_get(tools, k)))
                json_array_remove(tools, k);
        json_array_append_new(providers,
                              json_pack("{s:s,s:s,s:o,s:o}", "provider", PQgetvalue(res, i, 1),
                                        "id", PQgetvalue(res, i, 0), "tools", tools, "defs", defs));
    }
    size_t cursor = l->cursor;
    long depth = l->depth;
    pager_t pg = {.pos = 0, .budget = l->budget, .limit = l->limit, .too_large = json_array()};
    size_t i, j;
    json_t *p, *t;
    if (l->openai) {
        /* names are made unique over the whole listing, then paged */
        tq_openapi_fn_opts_t fo = l->fo;
        fo.inline_depth = (int)depth;
        json_t *tools = json_array(), *names = json_object();
        size_t total = 0;
        int full = 0;
        pg.pos = cursor;
        /* batches of functions until the page is full (names stay unique
         * over the whole listing: each batch recomputes them, cheaply) */
        while (!full) {
            fo.first = pg.pos;
            fo.max = FN_BATCH;
            tq_error_t err = {0};
            json_t *batch = tq_openapi_functions(providers, &fo, &err);
            if (!batch) {
                json_decref(tools);
                json_decref(names);
                json_decref(pg.too_large);
                json_decref(providers);
                l->err = err;
                return;
            }
            total = (size_t)json_integer_value(json_object_get(batch, "total"));
            json_t *fns = json_object_get(batch, "tools");
            json_array_foreach(fns, i, t)
            {
                const char *name =
                    json_string_value(json_object_get(json_object_get(t, "function"), "name"));
                int took = page_take(&pg, t, name);
                if (!took) {
                    full = 1;
                    break;
                }
                if (took == 2) {
                    json_array_append(tools, t);
                    json_object_set(names, name,
                                    json_object_get(json_object_get(batch, "names"), name));
                }
            }
            if (!json_array_size(fns)) full = 1;
            json_decref(batch);
            if (pg.pos >= total) break;
        }
        result = json_pack("{s:o,s:o}", "tools", tools, "names", names);
        if (pg.pos < total) json_object_set_new(result, "next_cursor", json_sprintf("%zu", pg.pos));
    } else {
        json_t *out = json_array();
        size_t at = 0; /* position of the current tool in the whole listing */
        int full = 0;
        pg.pos = cursor;
        json_array_foreach(providers, i, p)
        {
            json_t *tools = json_object_get(p, "tools"), *page = NULL;
            size_t start = at;
            json_array_foreach(tools, j, t)
            {
                if (at++ < cursor) continue;
                json_t *view = tq_openapi_tool_view(t, json_object_get(p, "defs"), (int)depth);
                int took =
                    page_take(&pg, view, json_string_value(json_object_get(t, "operation_id")));
                if (!took) {
                    json_decref(view);
                    full = 1;
                    break;
                }
                if (took == 2) {
                    if (!page) page = json_array();
                    json_array_append(page, view);
                }
                json_decref(view);
            }
            if (page || (!full && start >= cursor && !json_array_size(tools)))
                json_array_append_new(out, json_pack("{s:O,s:O,s:o}", "provider",
                                                     json_object_get(p, "provider"), "id",
                                                     json_object_get(p, "id"), "tools",
                                                     page ? page : json_array()));
            if (full) break;
        }
        result = json_pack("{s:s,s:o}", "format", "toolq", "providers", out);
        if (full) json_object_set_new(result, "next_cursor", json_sprintf("%zu", pg.pos));
    }
    if (json_array_size(pg.too_large))
        json_object_set_new(result, "too_large", pg.too_large);
    else
        json_decref(pg.too_large);
    json_decref(providers);
    l->result = result;
}

static void listing_done(tq_job_t *job, void *arg)
{
    listing_t *l = arg;
    if (l->result) {
        tq_provider_job_done(job, l->result);
        l->result = NULL;
    } else {
        tq_provider_job_fail(job, &l->err);
    }
    listing_free(l);
}

static void tools_list_start(tq_job_t *job)
{
    tq_error_t err = {0};
    const char *provider = NULL, *format = NULL, *prefix = NULL;
    PGconn *db = NULL;
    listing_t *l = calloc(1, sizeof *l);
    if (!l) {
        tq_job_fail(job, "internal", "out of memory", true);
        return;
    }
    tq_openapi_fn_opts_default(&l->fo);
    json_t *filter = tq_job_arg(job, "filter");
    if (tq_job_arg_text(job, "provider", 255, false, &provider, &err) ||
        tq_job_arg_text(job, "format", 16, false, &format, &err) ||
        tq_job_arg_text(job, "prefix", 16, false, &prefix, &err) ||
        prefix_of(prefix, &l->fo.prefix, &err) ||
        (filter && tq_openapi_filter_check(filter, &err)) || read_cursor(job, &l->cursor, &err))
        goto fail;
    /* integers from 0 to 100000 and to 64: the op's schema */
    l->limit = (long)tq_job_arg_int(job, "limit", 0);
    l->depth = (long)tq_job_arg_int(job, "inline_depth", -1);
    if (!format) format = "toolq";
    if (strcmp(format, "toolq") && strcmp(format, "openai")) {
        tq_error_set(&err, "invalid_argument", "format must be toolq or openai");
        goto fail;
    }
    l->openai = strcmp(format, "openai") == 0;
    l->filter = filter;
    l->fo.filter = filter;
    l->fo.max_description = (size_t)tq_config_int(tq_job_config(job), "import.max_description");
    l->fo.inline_depth = (int)l->depth;
    /* a page is at most an eighth of a frame (2 MiB by default): big frames
     * cost the broker and the client dearly */
    size_t max = (size_t)tq_config_int(tq_job_config(job), "broker.max_frame_bytes");
    l->budget = max / 8 > PAGE_MARGIN ? max / 8 - PAGE_MARGIN : max / 16;
    if (!(db = tq_job_db(job, &err)) ||
        !(l->res = tq_provider_store_tools(db, tq_job_tenant_uuid(job), provider, &err)))
        goto fail;
    if (tq_provider_pool_run(job, listing_work, listing_done, listing_free, l, &err)) goto fail;
    return;
fail:
    listing_free(l);
    tq_provider_job_fail(job, &err);
}

const tq_op_t tq_op_tools_list = {"tools.list", tools_list_start};
