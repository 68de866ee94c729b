/* opstats.c — per-op outcome counters and latency histograms (see opstats.h).
 * Owns only in-memory counters; never does I/O, never blocks, never grows past
 * its bounds. */
#include "opstats.h"

#include <czmq.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define OTHER "_other"

typedef struct {
    char code[64];
    uint64_t n;
} code_count_t;

typedef struct {
    uint64_t succeeded, failed, dead, cancelled;
    code_count_t codes[TQ_OPSTATS_MAX_CODES + 1]; /* last slot: "_other" */
    int ncodes;
    uint64_t hist[TQ_OPSTATS_NBUCKETS + 1]; /* last: +Inf */
    uint64_t timed;
    double sum_s;
} op_entry_t;

struct tq_opstats_t {
    zhashx_t *ops; /* op name -> op_entry_t */
    size_t nops;
};

static const double s_bounds[TQ_OPSTATS_NBUCKETS] = TQ_OPSTATS_BUCKETS;

static void entry_free(void **item)
{
    free(*item);
    *item = NULL;
}

tq_opstats_t *tq_opstats_new(void)
{
    tq_opstats_t *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->ops = zhashx_new();
    if (!s->ops) {
        free(s);
        return NULL;
    }
    zhashx_set_destructor(s->ops, entry_free);
    return s;
}

void tq_opstats_destroy(tq_opstats_t **self_p)
{
    if (!self_p || !*self_p) return;
    zhashx_destroy(&(*self_p)->ops);
    free(*self_p);
    *self_p = NULL;
}

static op_entry_t *entry_for(tq_opstats_t *s, const char *op)
{
    op_entry_t *e = zhashx_lookup(s->ops, op);
    if (e) return e;
    if (s->nops >= TQ_OPSTATS_MAX_OPS) {
        op = OTHER;
        if ((e = zhashx_lookup(s->ops, op))) return e;
    }
    e = calloc(1, sizeof *e);
    if (!e) return NULL;
    zhashx_insert(s->ops, op, e);
    s->nops++;
    return e;
}

static void count_code(op_entry_t *e, const char *code)
{
    for (int i = 0; i < e->ncodes; i++)
        if (strcmp(e->codes[i].code, code) == 0) {
            e->codes[i].n++;
            return;
        }
    code_count_t *c;
    if (e->ncodes < TQ_OPSTATS_MAX_CODES && strlen(code) < sizeof c->code) {
        c = &e->codes[e->ncodes++];
        snprintf(c->code, sizeof c->code, "%s", code);
    } else {
        c = &e->codes[TQ_OPSTATS_MAX_CODES];
        snprintf(c->code, sizeof c->code, "%s", OTHER);
    }
    c->n++;
}

void tq_opstats_record(tq_opstats_t *self, const char *op, const char *state, const char *err_code,
                       double seconds)
{
    if (!self || !op || !state) return;
    int which = strcmp(state, "succeeded") == 0   ? 0
                : strcmp(state, "failed") == 0    ? 1
                : strcmp(state, "dead") == 0      ? 2
                : strcmp(state, "cancelled") == 0 ? 3
                                                  : -1;
    if (which < 0) return; /* not an outcome */
    op_entry_t *e = entry_for(self, op);
    if (!e) return;
    uint64_t *count[4] = {&e->succeeded, &e->failed, &e->dead, &e->cancelled};
    (*count[which])++;
    if (err_code && *err_code && which != 0) count_code(e, err_code);
    if (seconds >= 0) {
        int b = 0;
        while (b < TQ_OPSTATS_NBUCKETS && seconds > s_bounds[b])
            b++;
        e->hist[b]++;
        e->timed++;
        e->sum_s += seconds;
    }
}

void tq_opstats_to_json(const tq_opstats_t *self, json_t *stats)
{
    json_t *bounds = json_array();
    for (int i = 0; i < TQ_OPSTATS_NBUCKETS; i++)
        json_array_append_new(bounds, json_real(s_bounds[i]));
    json_object_set_new(stats, "latency_buckets_s", bounds);
    json_t *by_op = json_object();
    if (self)
        for (op_entry_t *e = zhashx_first(self->ops); e; e = zhashx_next(self->ops)) {
            json_t *errors = json_object();
            for (int i = 0; i < e->ncodes; i++)
                json_object_set_new(errors, e->codes[i].code,
                                    json_integer((json_int_t)e->codes[i].n));
            if (e->codes[TQ_OPSTATS_MAX_CODES].n)
                json_object_set_new(errors, OTHER,
                                    json_integer((json_int_t)e->codes[TQ_OPSTATS_MAX_CODES].n));
            json_t *counts = json_array();
            for (int i = 0; i <= TQ_OPSTATS_NBUCKETS; i++)
                json_array_append_new(counts, json_integer((json_int_t)e->hist[i]));
            json_object_set_new(by_op, (const char *)zhashx_cursor(self->ops),
                                json_pack("{s:I,s:I,s:I,s:I,s:o,s:{s:o,s:f,s:I}}", "succeeded",
                                          (json_int_t)e->succeeded, "failed", (json_int_t)e->failed,
                                          "dead", (json_int_t)e->dead, "cancelled",
                                          (json_int_t)e->cancelled, "errors", errors, "latency",
                                          "counts", counts, "sum_s", e->sum_s, "count",
                                          (json_int_t)e->timed));
        }
    json_object_set_new(stats, "by_op", by_op);
}
