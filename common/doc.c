/* doc.c — JSON (jansson) and YAML (libyaml event API) into one jansson tree.
 * Owns: format detection, BOM skipping, the byte/depth/alias bounds, YAML
 * plain-scalar resolution (YAML 1.2 core schema) and duplicate-key handling.
 * Must never expand a YAML alias by copying (aliases share the anchored node
 * and are counted against max_alias_nodes), never recurse on input depth and
 * never read files or the network. */
#include "doc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

void tq_doc_limits_default(tq_doc_limits_t *limits)
{
    limits->max_bytes = TQ_DOC_DEFAULT_MAX_BYTES;
    limits->max_depth = TQ_DOC_DEFAULT_MAX_DEPTH;
    limits->max_alias_nodes = TQ_DOC_DEFAULT_MAX_ALIAS_NODES;
    limits->max_ref_hops = TQ_DOC_DEFAULT_MAX_REF_HOPS;
}

const char *tq_doc_kind(const json_t *node)
{
    switch (node ? json_typeof(node) : JSON_NULL) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

static void add_warning(json_t *warnings, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add_warning(json_t *warnings, const char *code, const char *fmt, ...)
{
    if (!json_is_array(warnings)) return;
    char msg[TQ_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_array_append_new(warnings, json_pack("{s:s,s:s}", "code", code, "message", msg));
}

/* --- JSON ----------------------------------------------------------------- */

/* jansson recurses on nesting, so bound the depth before handing it the text. */
static int json_depth_check(const char *s, size_t len, size_t max_depth, tq_error_t *err)
{
    size_t depth = 0, line = 1, col = 0;
    int in_string = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        col++;
        if (c == '\n') {
            line++;
            col = 0;
        }
        if (in_string) {
            if (c == '\\')
                i++, col++;
            else if (c == '"')
                in_string = 0;
            continue;
        }
        if (c == '"') {
            in_string = 1;
        } else if (c == '{' || c == '[') {
            if (++depth > max_depth)
                return tq_error_set(err, "document_too_deep",
                                    "nesting deeper than %zu levels (import.max_depth) at line "
                                    "%zu column %zu",
                                    max_depth, line, col);
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        }
    }
    return 0;
}

static int load_json(const char *s, size_t len, json_t **out, json_t *warnings, tq_error_t *err)
{
    json_error_t je;
    json_t *root = json_loadb(s, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
    if (!root && json_error_code(&je) == json_error_duplicate_key) {
        add_warning(warnings, "duplicate_key", "%s at line %d column %d; the last value wins",
                    je.text, je.line, je.column);
        root = json_loadb(s, len, JSON_DECODE_ANY, &je);
    }
    if (!root)
        return tq_error_set(err, "invalid_document", "JSON: %s at line %d column %d", je.text,
                            je.line, je.column);
    *out = root;
    return 0;
}

/* --- YAML ----------------------------------------------------------------- */

typedef struct {
    json_t *node;  /* the container being filled */
    json_t *key;   /* pending mapping key, NULL when a key is expected */
    char *anchor;  /* anchor to register when the container completes */
    size_t count;  /* nodes inside, aliases counted expanded */
    int has_merge; /* a "<<" merge happened: duplicate keys are expected */
    size_t line;   /* where the container started */
} yframe_t;

typedef struct {
    const tq_doc_limits_t *lim;
    json_t *warnings;
    json_t *anchors; /* name -> [node, expanded count] */
    yframe_t *stack;
    size_t depth, cap;
    size_t expanded; /* nodes produced through aliases */
    json_t *root;
    tq_error_t *err;
} ybuild_t;

static int yerr(ybuild_t *b, const yaml_mark_t *m, const char *code, const char *what)
{
    return tq_error_set(b->err, code, "YAML: %s at line %zu column %zu", what, m->line + 1,
                        m->column + 1);
}

static int is_digits(const char *s, const char *digits)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (!strchr(digits, *s)) return 0;
    return 1;
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static int is_float(const char *s)
{
    if (*s == '-' || *s == '+') s++;
    size_t ip = strspn(s, "0123456789");
    s += ip;
    size_t fp = 0;
    if (*s == '.') {
        s++;
        fp = strspn(s, "0123456789");
        s += fp;
    }
    if (ip == 0 && fp == 0) return 0;
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '-' || *s == '+') s++;
        size_t ep = strspn(s, "0123456789");
        if (ep == 0) return 0;
        s += ep;
    }
    return *s == '\0';
}

/* s: the digits (after any 0x/0o prefix), with an optional sign in base 10. */
static json_t *resolve_int(const char *s, int base, const char *digits)
{
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, base);
    if (*end || !is_digits(s + (base == 10 ? strspn(s, "+-") : 0), digits)) return NULL;
    if (errno == ERANGE) return base == 10 ? json_real(strtod(s, NULL)) : NULL;
    return json_integer(v);
}

/* YAML 1.2 core schema for plain scalars; quoted scalars and !!str stay strings.
 * .inf/.nan have no JSON form and stay strings. */
static json_t *resolve_scalar(const yaml_event_t *ev)
{
    const char *s = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    const char *tag = (const char *)ev->data.scalar.tag;
    int plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    if (tag && strcmp(tag, "!") != 0 && strcmp(tag, YAML_STR_TAG) != 0) {
        if (strcmp(tag, YAML_INT_TAG) == 0 || strcmp(tag, YAML_FLOAT_TAG) == 0 ||
            strcmp(tag, YAML_BOOL_TAG) == 0 || strcmp(tag, YAML_NULL_TAG) == 0)
            plain = 1;
    } else if (tag) {
        plain = 0;
    }
    if (!plain || strlen(s) != n) return json_stringn(s, n);
    if (n == 0 || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL"))
        return json_null();
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) return json_true();
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")) return json_false();
    json_t *v = NULL;
    if (s[0] == '0' && s[1] == 'x')
        v = resolve_int(s + 2, 16, "0123456789abcdefABCDEF");
    else if (s[0] == '0' && s[1] == 'o')
        v = resolve_int(s + 2, 8, "01234567");
    else if (is_digits(s + strspn(s, "+-"), "0123456789") && strspn(s, "+-") <= 1)
        v = resolve_int(s, 10, "0123456789");
    else if (is_float(s))
        v = json_real(strtod(s, NULL));
    return v ? v : json_stringn(s, n);
}

/* Places v (stolen) into the current container or as the root. count is the
 * number of nodes v stands for (expanded through aliases). */
static int place(ybuild_t *b, json_t *v, size_t count, const yaml_mark_t *m)
{
    if (!v) return yerr(b, m, "invalid_document", "value is not valid UTF-8 or not representable");
    if (b->depth == 0) {
        b->root = v;
        return 0;
    }
    yframe_t *f = &b->stack[b->depth - 1];
    f->count += count;
    if (json_is_array(f->node))
        return json_array_append_new(f->node, v) == 0 ? 0 : yerr(b, m, "invalid_document", "oom");
    if (!f->key) {
        json_decref(v);
        return yerr(b, m, "invalid_document", "mapping keys must be scalars");
    }
    const char *k = json_string_value(f->key);
    if (!strcmp(k, "<<") && (json_is_object(v) || json_is_array(v))) {
        /* YAML merge key: earlier explicit keys win over merged ones. */
        if (json_is_object(v)) {
            json_object_update_missing(f->node, v);
        } else {
            size_t i;
            json_t *item;
            json_array_foreach(v, i, item) if (json_is_object(item))
                json_object_update_missing(f->node, item);
        }
        f->has_merge = 1;
        json_decref(v);
    } else {
        if (!f->has_merge && json_object_get(f->node, k))
            add_warning(b->warnings, "duplicate_key",
                        "duplicate key \"%.100s\" at line %zu column %zu; the last value wins", k,
                        m->line + 1, m->column + 1);
        json_object_set_new(f->node, k, v);
    }
    json_decref(f->key);
    f->key = NULL;
    return 0;
}

static void remember_anchor(ybuild_t *b, const yaml_char_t *anchor, json_t *node, size_t count)
{
    if (anchor)
        json_object_set_new(b->anchors, (const char *)anchor,
                            json_pack("[O,I]", node, (json_int_t)count));
}

static int on_scalar(ybuild_t *b, const yaml_event_t *ev)
{
    if (b->depth > 0) {
        yframe_t *f = &b->stack[b->depth - 1];
        if (json_is_object(f->node) && !f->key) {
            /* Keys stay text: "200:" is the string "200". */
            f->key = json_stringn((const char *)ev->data.scalar.value, ev->data.scalar.length);
            if (!f->key)
                return yerr(b, &ev->start_mark, "invalid_document", "key is not valid UTF-8");
            return 0;
        }
    }
    json_t *v = resolve_scalar(ev);
    if (v) remember_anchor(b, ev->data.scalar.anchor, v, 1);
    return place(b, v, 1, &ev->start_mark);
}

static int on_alias(ybuild_t *b, const yaml_event_t *ev)
{
    json_t *a = json_object_get(b->anchors, (const char *)ev->data.alias.anchor);
    if (!a) return yerr(b, &ev->start_mark, "invalid_document", "unknown or unfinished anchor");
    json_t *node = json_array_get(a, 0);
    size_t count = (size_t)json_integer_value(json_array_get(a, 1));
    if (count > b->lim->max_alias_nodes || b->expanded > b->lim->max_alias_nodes - count)
        return tq_error_set(b->err, "document_alias_bomb",
                            "YAML aliases would expand to more than %zu nodes "
                            "(import.max_alias_nodes) at line %zu column %zu",
                            b->lim->max_alias_nodes, ev->start_mark.line + 1,
                            ev->start_mark.column + 1);
    b->expanded += count;
    if (b->depth > 0) {
        yframe_t *f = &b->stack[b->depth - 1];
        if (json_is_object(f->node) && !f->key) {
            if (!json_is_string(node))
                return yerr(b, &ev->start_mark, "invalid_document", "alias key is not a string");
            f->key = json_incref(node);
            return 0;
        }
    }
    return place(b, json_incref(node), count, &ev->start_mark);
}

static int on_start(ybuild_t *b, const yaml_event_t *ev, int mapping)
{
    if (b->depth > 0) {
        yframe_t *f = &b->stack[b->depth - 1];
        if (json_is_object(f->node) && !f->key)
            return yerr(b, &ev->start_mark, "invalid_document",
                        "complex (non-scalar) mapping keys are not supported");
    }
    if (b->depth >= b->lim->max_depth)
        return tq_error_set(b->err, "document_too_deep",
                            "nesting deeper than %zu levels (import.max_depth) at line %zu "
                            "column %zu",
                            b->lim->max_depth, ev->start_mark.line + 1, ev->start_mark.column + 1);
    if (b->depth == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 32;
        yframe_t *s = realloc(b->stack, cap * sizeof *s);
        if (!s) return yerr(b, &ev->start_mark, "invalid_document", "out of memory");
        b->stack = s;
        b->cap = cap;
    }
    const yaml_char_t *anchor =
        mapping ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
    yframe_t *f = &b->stack[b->depth++];
    memset(f, 0, sizeof *f);
    f->node = mapping ? json_object() : json_array();
    f->anchor = anchor ? strdup((const char *)anchor) : NULL;
    f->line = ev->start_mark.line + 1;
    return 0;
}

static int on_end(ybuild_t *b, const yaml_event_t *ev)
{
    yframe_t f = b->stack[--b->depth];
    json_decref(f.key);
    size_t count = f.count + 1;
    if (f.anchor) remember_anchor(b, (const yaml_char_t *)f.anchor, f.node, count);
    free(f.anchor);
    return place(b, f.node, count, &ev->start_mark);
}

static void ybuild_clear(ybuild_t *b)
{
    while (b->depth > 0) {
        yframe_t *f = &b->stack[--b->depth];
        json_decref(f->node);
        json_decref(f->key);
        free(f->anchor);
    }
    free(b->stack);
    json_decref(b->anchors);
    json_decref(b->root);
}

static int load_yaml(const char *s, size_t len, const tq_doc_limits_t *lim, json_t **out,
                     json_t *warnings, tq_error_t *err)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return tq_error_set(err, "invalid_document", "YAML: parser initialisation failed");
    yaml_parser_set_input_string(&parser, (const unsigned char *)s, len);
    ybuild_t b = {.lim = lim, .warnings = warnings, .anchors = json_object(), .err = err};
    int rc = 0, docs = 0, done = 0;
    while (!done && rc == 0) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            const yaml_mark_t *m = &parser.problem_mark;
            rc = tq_error_set(err, "invalid_document", "YAML: %s%s%s at line %zu column %zu",
                              parser.problem ? parser.problem : "syntax error",
                              parser.context ? " " : "", parser.context ? parser.context : "",
                              m->line + 1, m->column + 1);
            break;
        }
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1)
                rc = yerr(&b, &ev.start_mark, "invalid_document",
                          "more than one YAML document in the stream");
            break;
        case YAML_SCALAR_EVENT:
            rc = on_scalar(&b, &ev);
            break;
        case YAML_ALIAS_EVENT:
            rc = on_alias(&b, &ev);
            break;
        case YAML_SEQUENCE_START_EVENT:
            rc = on_start(&b, &ev, 0);
            break;
        case YAML_MAPPING_START_EVENT:
            rc = on_start(&b, &ev, 1);
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            rc = on_end(&b, &ev);
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    if (rc == 0 && !b.root) rc = tq_error_set(err, "invalid_document", "the document is empty");
    if (rc == 0) {
        *out = b.root;
        b.root = NULL;
    }
    ybuild_clear(&b);
    return rc;
}

int tq_doc_load(const char *buf, size_t len, const tq_doc_limits_t *limits, json_t **out,
                json_t *warnings, tq_doc_format_t *format, tq_error_t *err)
{
    tq_doc_limits_t def;
    if (!limits) {
        tq_doc_limits_default(&def);
        limits = &def;
    }
    *out = NULL;
    if (len > limits->max_bytes)
        return tq_error_set(err, "document_too_large",
                            "the document is %zu bytes; the limit (import.max_document_bytes) "
                            "is %zu",
                            len, limits->max_bytes);
    if (!buf) return tq_error_set(err, "invalid_document", "no document");
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) buf += 3, len -= 3;
    size_t i = 0;
    while (i < len && buf[i] && strchr(" \t\r\n", buf[i]))
        i++;
    if (i == len) return tq_error_set(err, "invalid_document", "the document is empty");
    if (buf[i] == '{' || buf[i] == '[') {
        if (json_depth_check(buf, len, limits->max_depth, err) < 0) return -1;
        tq_error_t jerr = {0};
        size_t nwarn = json_is_array(warnings) ? json_array_size(warnings) : 0;
        if (load_json(buf, len, out, warnings, &jerr) == 0) {
            if (format) *format = TQ_DOC_JSON;
            return 0;
        }
        /* A YAML flow mapping also starts with "{": try YAML, else report JSON. */
        if (load_yaml(buf, len, limits, out, NULL, err) == 0) {
            if (format) *format = TQ_DOC_YAML;
            return 0;
        }
        if (err && !strcmp(err->code, "invalid_document")) *err = jerr;
        if (json_is_array(warnings))
            while (json_array_size(warnings) > nwarn)
                json_array_remove(warnings, nwarn);
        return -1;
    }
    if (format) *format = TQ_DOC_YAML;
    return load_yaml(buf, len, limits, out, warnings, err);
}
