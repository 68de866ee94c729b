/* plugin_edits.c — the edit recorder behind tq_plugin_request_edit_t.
 * Refuses header names that are not HTTP tokens and any value with CR or LF,
 * so a credential can never inject a header or split a request. */
#include "plugin_edits.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct tq_plugin_edits_t {
    tq_plugin_request_edit_t sink; /* first: plugins get &sink */
    tq_plugin_edit_t *items;
    size_t count, cap;
};

static int is_token(const char *s)
{
    if (!s || !*s) return 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 32 || c >= 127 || strchr("\"(),/:;<=>?@[\\]{}", c)) return 0;
    }
    return 1;
}

static int is_safe_value(const char *s)
{
    return s && !strpbrk(s, "\r\n");
}

static void wipe(tq_plugin_edit_t *e)
{
    if (e->value) explicit_bzero(e->value, strlen(e->value));
    free(e->name);
    free(e->value);
    memset(e, 0, sizeof *e);
}

static int record(tq_plugin_edits_t *self, tq_plugin_edit_kind_t kind, const char *name,
                  const char *value)
{
    if (self->count == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 4;
        tq_plugin_edit_t *grown = realloc(self->items, cap * sizeof *grown);
        if (!grown) return -1;
        self->items = grown;
        self->cap = cap;
    }
    tq_plugin_edit_t *e = &self->items[self->count];
    e->kind = kind;
    e->name = strdup(name);
    e->value = strdup(value);
    if (!e->name || !e->value) {
        wipe(e);
        return -1;
    }
    self->count++;
    return 0;
}

static int set_header(tq_plugin_request_edit_t *sink, const char *name, const char *value)
{
    tq_plugin_edits_t *self = (tq_plugin_edits_t *)sink;
    if (!is_token(name) || !is_safe_value(value)) return -1;
    size_t kept = 0;
    for (size_t i = 0; i < self->count; i++) {
        tq_plugin_edit_t *e = &self->items[i];
        if (e->kind == TQ_EDIT_HEADER && strcasecmp(e->name, name) == 0)
            wipe(e);
        else
            self->items[kept++] = *e;
    }
    self->count = kept;
    return record(self, TQ_EDIT_HEADER, name, value);
}

static int add_query(tq_plugin_request_edit_t *sink, const char *name, const char *value)
{
    if (!name || !*name || !is_safe_value(name) || !is_safe_value(value)) return -1;
    return record((tq_plugin_edits_t *)sink, TQ_EDIT_QUERY, name, value);
}

static int add_cookie(tq_plugin_request_edit_t *sink, const char *name, const char *value)
{
    if (!is_token(name) || !is_safe_value(value)) return -1;
    return record((tq_plugin_edits_t *)sink, TQ_EDIT_COOKIE, name, value);
}

tq_plugin_edits_t *tq_plugin_edits_new(void)
{
    tq_plugin_edits_t *self = calloc(1, sizeof *self);
    if (!self) return NULL;
    self->sink.set_header = set_header;
    self->sink.add_query = add_query;
    self->sink.add_cookie = add_cookie;
    return self;
}

void tq_plugin_edits_reset(tq_plugin_edits_t *self)
{
    for (size_t i = 0; i < self->count; i++)
        wipe(&self->items[i]);
    self->count = 0;
}

void tq_plugin_edits_destroy(tq_plugin_edits_t **self_p)
{
    if (!self_p || !*self_p) return;
    tq_plugin_edits_t *self = *self_p;
    tq_plugin_edits_reset(self);
    free(self->items);
    free(self);
    *self_p = NULL;
}

tq_plugin_request_edit_t *tq_plugin_edits_sink(tq_plugin_edits_t *self)
{
    return &self->sink;
}

size_t tq_plugin_edits_count(const tq_plugin_edits_t *self)
{
    return self->count;
}

const tq_plugin_edit_t *tq_plugin_edits_at(const tq_plugin_edits_t *self, size_t i)
{
    return i < self->count ? &self->items[i] : NULL;
}
