/* openapi_ref.c — following $ref: JSON pointers, documents reached by
 * relative path or URL, chains of refs and their hop bound.
 * Must never read the filesystem (files come from opts.files) and never
 * fetch a URL except through opts.fetch_ref when opts.allow_remote_refs. */
#include "openapi_ref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s in place. */
static void percent_decode(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        int hi, lo;
        if (r[0] == '%' && (hi = hexval(r[1])) >= 0 && (lo = hexval(r[2])) >= 0) {
            *w++ = (char)(hi * 16 + lo);
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

json_t *tq_oa_pointer_get(json_t *root, const char *fragment)
{
    if (!*fragment) return root;
    if (*fragment != '/') return NULL;
    json_t *node = root;
    const char *p = fragment + 1;
    char tok[1024];
    for (;;) {
        size_t n = 0;
        for (; *p && *p != '/'; p++) {
            char c = *p;
            if (c == '~' && (p[1] == '0' || p[1] == '1')) c = *++p == '0' ? '~' : '/';
            if (n + 1 >= sizeof tok) return NULL;
            tok[n++] = c;
        }
        tok[n] = '\0';
        if (json_is_object(node)) {
            node = json_object_getn(node, tok, n);
        } else if (json_is_array(node)) {
            char *end;
            unsigned long i = strtoul(tok, &end, 10);
            node = (n && !*end) ? json_array_get(node, i) : NULL;
        } else {
            return NULL;
        }
        if (!node || !*p) return node;
        p++;
    }
}

static int is_remote(const char *s)
{
    return !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8);
}

/* Joins a relative reference to the directory of base and normalises "." and
 * ".." segments. Returns NULL when ".." climbs above the root. */
static char *join_path(const char *base, const char *rel, size_t rel_len)
{
    size_t prefix = 0;
    if (is_remote(base)) {
        const char *host = strstr(base, "://") + 3;
        const char *slash = strchr(host, '/');
        prefix = slash ? (size_t)(slash - base) + 1 : strlen(base);
    }
    const char *dir_end = strrchr(base + prefix, '/');
    size_t dlen = dir_end ? (size_t)(dir_end - base) + 1 : prefix;
    if (rel_len && rel[0] == '/') dlen = prefix;
    char *joined = malloc(dlen + rel_len + 2);
    if (!joined) return NULL;
    memcpy(joined, base, dlen);
    if (prefix && dlen == prefix && (dlen == 0 || joined[dlen - 1] != '/')) joined[dlen++] = '/';
    memcpy(joined + dlen, rel[0] == '/' ? rel + 1 : rel, rel_len - (rel[0] == '/'));
    joined[dlen + rel_len - (rel[0] == '/')] = '\0';
    /* Normalise the part after the prefix, segment by segment. */
    char *out = joined + prefix, *r = out, *w = out;
    while (*r) {
        char *seg = r;
        while (*r && *r != '/')
            r++;
        size_t n = (size_t)(r - seg);
        int last = *r == '\0';
        if (*r) r++;
        if (n == 0 || (n == 1 && seg[0] == '.')) continue;
        if (n == 2 && seg[0] == '.' && seg[1] == '.') {
            if (w == out) {
                free(joined);
                return NULL;
            }
            w--; /* drop the trailing '/' of the previous segment */
            while (w > out && w[-1] != '/')
                w--;
            continue;
        }
        memmove(w, seg, n);
        w += n;
        if (!last) *w++ = '/';
    }
    *w = '\0';
    return joined;
}

static tq_oa_doc_t *load_doc(tq_oa_ctx_t *ctx, const char *name, tq_error_t *err)
{
    tq_oa_doc_t *d = tq_oa_ctx_find_doc(ctx, name);
    if (d) return d;
    if (ctx->ndocs >= TQ_OA_MAX_DOCUMENTS) {
        tq_error_set(err, "ref_not_found", "more than %d referenced documents",
                     TQ_OA_MAX_DOCUMENTS);
        return NULL;
    }
    const tq_openapi_opts_t *o = ctx->opts;
    json_t *root = NULL;
    json_t *content = json_object_get(o->files, name);
    if (json_is_string(content)) {
        if (tq_doc_load(json_string_value(content), json_string_length(content), &o->limits, &root,
                        NULL, NULL, err) < 0) {
            tq_error_prefix(err, "loading %s", name);
            return NULL;
        }
    } else if (is_remote(name)) {
        if (!o->allow_remote_refs || !o->fetch_ref) {
            tq_error_set(err, "remote_ref_refused",
                         "remote $ref %s refused (import.allow_remote_refs is off)", name);
            return NULL;
        }
        char *body = NULL;
        size_t len = 0;
        if (o->fetch_ref(o->fetch_ctx, name, &body, &len, err) < 0) return NULL;
        int rc = tq_doc_load(body, len, &o->limits, &root, NULL, NULL, err);
        free(body);
        if (rc < 0) {
            tq_error_prefix(err, "loading %s", name);
            return NULL;
        }
    } else {
        tq_error_set(err, "ref_not_found", "referenced file %s was not supplied", name);
        return NULL;
    }
    return tq_oa_ctx_add_doc(ctx, name, root);
}

/* One hop: resolves ref (as written in doc) to a node. */
static int resolve_one(tq_oa_ctx_t *ctx, tq_oa_doc_t *doc, const char *ref, tq_oa_node_t *out,
                       char **key, tq_error_t *err)
{
    const char *hash = strchr(ref, '#');
    size_t plen = hash ? (size_t)(hash - ref) : strlen(ref);
    tq_oa_doc_t *target = doc;
    if (plen > 0) {
        char *name;
        if (is_remote(ref)) {
            name = strndup(ref, plen);
        } else {
            char *rel = strndup(ref, plen);
            percent_decode(rel);
            name = join_path(doc->name, rel, strlen(rel));
            free(rel);
        }
        if (!name)
            return tq_error_set(err, "ref_not_found", "$ref %s points outside the document set",
                                ref);
        target = load_doc(ctx, name, err);
        free(name);
        if (!target) return -1;
    }
    char *frag = strdup(hash ? hash + 1 : "");
    percent_decode(frag);
    json_t *node = tq_oa_pointer_get(target->root, frag);
    if (!node) {
        free(frag);
        return tq_error_set(err, "ref_not_found", "$ref %s: no such target", ref);
    }
    out->node = node;
    out->doc = target;
    size_t klen = strlen(target->name) + strlen(frag) + 2;
    *key = malloc(klen);
    snprintf(*key, klen, "%s#%s", target->name, frag);
    free(frag);
    return 0;
}

int tq_oa_deref(tq_oa_ctx_t *ctx, tq_oa_node_t in, tq_oa_node_t *out, char **key, tq_error_t *err)
{
    size_t max_hops = ctx->opts->limits.max_ref_hops;
    char *last = NULL;
    tq_oa_node_t cur = in;
    json_t *seen = NULL; /* keys met on this chain, only allocated for chains */
    int rc = 0;
    for (size_t hops = 0;; hops++) {
        const char *ref = json_string_value(json_object_get(cur.node, "$ref"));
        if (!json_is_object(cur.node) || !ref) break;
        if (hops >= max_hops) {
            rc = tq_error_set(err, "ref_cycle",
                              "$ref chain longer than %zu hops (import.max_ref_hops) at %s",
                              max_hops, ref);
            break;
        }
        char *k = NULL;
        if (resolve_one(ctx, cur.doc, ref, &cur, &k, err) < 0) {
            rc = -1;
            break;
        }
        if (last) {
            if (!seen) seen = json_object();
            json_object_set_new(seen, last, json_true());
            free(last);
        }
        last = k;
        if (seen && json_object_get(seen, last)) {
            rc = tq_error_set(err, "ref_cycle", "$ref cycle through %s", last);
            break;
        }
    }
    json_decref(seen);
    if (rc < 0) {
        free(last);
        return -1;
    }
    *out = cur;
    if (key)
        *key = last;
    else
        free(last);
    return 0;
}

int tq_oa_child(tq_oa_ctx_t *ctx, tq_oa_node_t parent, const char *key, tq_oa_node_t *out,
                tq_error_t *err)
{
    json_t *c = json_object_get(parent.node, key);
    if (!c) {
        *out = (tq_oa_node_t){NULL, parent.doc};
        return 0;
    }
    return tq_oa_deref(ctx, (tq_oa_node_t){c, parent.doc}, out, NULL, err);
}

/* Walk depth bound: nesting through refs can chain many documents' worth of
 * schemas, the walk stops (silently) past it. */
#define REFS_CHECK_MAX_DEPTH 2000

static int literal_key(const char *k)
{
    return !strcmp(k, "example") || !strcmp(k, "default") || !strcmp(k, "enum") ||
           !strcmp(k, "const") || !strcmp(k, "value");
}

/* Appends to fails (an array of messages, no duplicates) what fails under n. */
static void refs_walk(tq_oa_ctx_t *ctx, tq_oa_node_t n, int names, size_t depth, json_t *fails)
{
    if (depth > REFS_CHECK_MAX_DEPTH) return;
    if (json_is_array(n.node)) {
        size_t i;
        json_t *v;
        json_array_foreach(n.node, i, v)
            refs_walk(ctx, (tq_oa_node_t){v, n.doc}, 0, depth + 1, fails);
        return;
    }
    if (!json_is_object(n.node)) return;
    const char *ref = json_string_value(json_object_get(n.node, "$ref"));
    if (ref && !names) {
        tq_oa_node_t t;
        char *key = NULL;
        tq_error_t err = {0};
        json_t *under;
        if (tq_oa_deref(ctx, n, &t, &key, &err) < 0) {
            char msg[TQ_ERROR_MSG_MAX + 64];
            snprintf(msg, sizeof msg, "%s\t%s", err.code, err.message);
            under = json_pack("[s]", msg);
        } else if ((under = json_object_get(ctx->checked, key))) {
            json_incref(under);
        } else {
            json_object_set_new(ctx->checked, key, json_array()); /* in progress: cycles stop */
            under = json_array();
            refs_walk(ctx, t, 0, depth + 1, under);
            json_object_set(ctx->checked, key, under);
        }
        free(key);
        size_t i, j;
        json_t *m, *have;
        json_array_foreach(under, i, m)
        {
            int dup = 0;
            json_array_foreach(fails, j, have) dup |= json_equal(have, m);
            if (!dup) json_array_append(fails, m);
        }
        json_decref(under);
        return;
    }
    const char *k;
    json_t *v;
    json_object_foreach(n.node, k, v)
    {
        if (!names && (literal_key(k) || !strncmp(k, "x-", 2))) continue;
        /* Under these keys the children are named entries, not keywords. */
        int child_names = !names && (!strcmp(k, "properties") || !strcmp(k, "patternProperties"));
        refs_walk(ctx, (tq_oa_node_t){v, n.doc}, child_names, depth + 1, fails);
    }
}

size_t tq_oa_refs_check(tq_oa_ctx_t *ctx, tq_oa_node_t n)
{
    json_t *fails = json_array();
    refs_walk(ctx, n, 0, 0, fails);
    size_t i;
    json_t *m;
    json_array_foreach(fails, i, m)
    {
        const char *s = json_string_value(m), *tab = strchr(s, '\t');
        char code[64];
        snprintf(code, sizeof code, "%.*s", (int)(tab - s), s);
        tq_oa_warn(ctx, code, "%s; the tool is kept without what it names (degraded)", tab + 1);
    }
    size_t n_fail = json_array_size(fails);
    json_decref(fails);
    return n_fail;
}
