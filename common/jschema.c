/* jschema.c — the JSON Schema checker (jschema.h). Owns the type, enum and
 * coercion rules shared by invoke arguments and op payloads. Must never
 * log or put a checked value into a problem text (values may be secrets). */
#include "jschema.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int tq_jschema_is_file(const json_t *value)
{
    return json_is_object(value) && json_is_string(json_object_get(value, "data"));
}

void tq_jschema_problem(const tq_jschema_t *s, json_t *problems, const char *path, const char *fmt,
                        ...)
{
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_array_append_new(problems,
                          json_pack("{s:s,s:s}", s->key ? s->key : "field", path, "problem", msg));
}

static const char *kind_of(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    default:
        return "null";
    }
}

/* Parses a whole string as an integer / a number. */
static int parse_int(const char *s, json_int_t *out)
{
    char *end;
    errno = 0;
    while (*s == ' ')
        s++;
    if (!*s) return -1;
    long long v = strtoll(s, &end, 10);
    while (*end == ' ')
        end++;
    if (errno || *end) {
        double d = strtod(s, &end);
        while (*end == ' ')
            end++;
        if (*end || !isfinite(d) || d != floor(d) || fabs(d) > 9007199254740992.0) return -1;
        v = (long long)d;
    }
    *out = (json_int_t)v;
    return 0;
}

static int parse_num(const char *s, double *out)
{
    char *end;
    while (*s == ' ')
        s++;
    if (!*s) return -1;
    errno = 0;
    double d = strtod(s, &end);
    while (*end == ' ')
        end++;
    if (errno || *end || !isfinite(d)) return -1;
    *out = d;
    return 0;
}

static json_t *check(const tq_jschema_t *s, const json_t *schema, json_t *v, const char *path,
                     json_t *problems, int depth);

const json_t *tq_jschema_resolve(const tq_jschema_t *s, const json_t *schema)
{
    for (int hops = 0; hops < 64; hops++) {
        const char *ref = json_string_value(json_object_get(schema, "$ref"));
        const json_t *d =
            ref && !strncmp(ref, "#/$defs/", 8) ? json_object_get(s->defs, ref + 8) : NULL;
        if (!d) return schema;
        schema = d;
    }
    return schema;
}

/* Tries v as type t; a new value or NULL (no problem recorded). Containers
 * are checked recursively into sub (problems of the nested values). */
static json_t *as_type(const tq_jschema_t *s, const json_t *schema, const char *t, json_t *v,
                       const char *path, json_t *sub, int depth)
{
    const char *fmt = json_string_value(json_object_get(schema, "format"));
    if (!strcmp(t, "null")) return json_is_null(v) ? json_null() : NULL;
    if (!strcmp(t, "boolean")) {
        if (json_is_boolean(v)) return json_incref(v);
        if (json_is_string(v)) {
            const char *s = json_string_value(v);
            if (!strcasecmp(s, "true") || !strcmp(s, "1")) return json_true();
            if (!strcasecmp(s, "false") || !strcmp(s, "0")) return json_false();
        }
        return NULL;
    }
    if (!strcmp(t, "integer")) {
        if (json_is_integer(v)) return json_incref(v);
        if (json_is_real(v)) {
            double d = json_real_value(v);
            return d == floor(d) && fabs(d) <= 9007199254740992.0 ? json_integer((json_int_t)d)
                                                                  : NULL;
        }
        json_int_t i;
        if (json_is_string(v) && parse_int(json_string_value(v), &i) == 0) return json_integer(i);
        return NULL;
    }
    if (!strcmp(t, "number")) {
        if (json_is_number(v)) return json_incref(v);
        json_int_t i;
        double d;
        if (json_is_string(v) && !strpbrk(json_string_value(v), ".eE") &&
            parse_int(json_string_value(v), &i) == 0)
            return json_integer(i);
        if (json_is_string(v) && parse_num(json_string_value(v), &d) == 0) return json_real(d);
        return NULL;
    }
    if (!strcmp(t, "string")) {
        if (json_is_string(v)) return json_incref(v);
        if (fmt && (!strcmp(fmt, "binary") || !strcmp(fmt, "byte")) && tq_jschema_is_file(v))
            return json_incref(v);
        if (json_is_integer(v)) return json_sprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
        if (json_is_real(v)) {
            char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
            json_t *r = json_string(s);
            free(s);
            return r;
        }
        if (json_is_boolean(v)) return json_string(json_is_true(v) ? "true" : "false");
        return NULL;
    }
    if (!strcmp(t, "array") || !strcmp(t, "object")) {
        int want_array = !strcmp(t, "array");
        json_t *parsed = NULL;
        if (json_is_string(v)) {
            parsed = json_loads(json_string_value(v), JSON_DECODE_ANY, NULL);
            if (want_array && !json_is_array(parsed)) {
                /* a single value for an array: [value] */
                json_decref(parsed);
                parsed = json_pack("[O]", v);
            }
            v = parsed;
        }
        if (want_array ? !json_is_array(v) : !json_is_object(v)) {
            json_decref(parsed);
            return NULL;
        }
        json_t *out = want_array ? json_array() : json_object();
        if (want_array) {
            const json_t *items = json_object_get(schema, "items");
            size_t i;
            json_t *it;
            json_array_foreach(v, i, it)
            {
                char p[512];
                snprintf(p, sizeof p, "%s[%zu]", path, i);
                json_t *c = items ? check(s, items, it, p, sub, depth + 1) : json_incref(it);
                if (c) json_array_append_new(out, c);
            }
        } else {
            const json_t *props = json_object_get(schema, "properties");
            const json_t *addl = json_object_get(schema, "additionalProperties");
            const char *k;
            json_t *it;
            json_object_foreach(v, k, it)
            {
                char p[512];
                snprintf(p, sizeof p, "%s%s%s", path, *path ? "." : "", k);
                const json_t *ps = json_object_get(props, k);
                if (!ps && json_is_object(addl)) ps = addl;
                if (!ps && json_is_false(addl)) {
                    tq_jschema_problem(s, sub, p, "unknown property");
                    continue;
                }
                json_t *c = ps ? check(s, ps, it, p, sub, depth + 1) : json_incref(it);
                if (c) json_object_set_new(out, k, c);
            }
            size_t i;
            json_t *r;
            json_array_foreach(json_object_get(schema, "required"), i, r)
            {
                const char *rk = json_string_value(r);
                if (rk && !json_object_get(v, rk)) {
                    char p[512];
                    snprintf(p, sizeof p, "%s%s%s", path, *path ? "." : "", rk);
                    tq_jschema_problem(s, sub, p, "missing required property");
                }
            }
        }
        json_decref(parsed);
        return out;
    }
    return NULL;
}

/* UTF-8 code points in s (a continuation byte does not count). */
static size_t utf8_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* A bound keyword of schema as a number; 0 when absent or not a number. */
static int bound(const json_t *schema, const char *key, double *out)
{
    const json_t *b = json_object_get(schema, key);
    if (!json_is_number(b)) return 0;
    *out = json_number_value(b);
    return 1;
}

/* TQ_JSCHEMA_BOUNDS: minimum, maximum, exclusiveMinimum, exclusiveMaximum
 * (numbers), minLength, maxLength (strings, in code points), minItems,
 * maxItems (arrays). The problem names the bound, never the value. */
static int in_bounds(const tq_jschema_t *s, const json_t *schema, const json_t *v, const char *path,
                     json_t *problems)
{
    double b;
    int ok = 1;
    if (json_is_number(v)) {
        double x = json_number_value(v);
        if (bound(schema, "minimum", &b) && x < b)
            tq_jschema_problem(s, problems, path, "must be at least %g", b), ok = 0;
        if (bound(schema, "maximum", &b) && x > b)
            tq_jschema_problem(s, problems, path, "must be at most %g", b), ok = 0;
        if (bound(schema, "exclusiveMinimum", &b) && x <= b)
            tq_jschema_problem(s, problems, path, "must be more than %g", b), ok = 0;
        if (bound(schema, "exclusiveMaximum", &b) && x >= b)
            tq_jschema_problem(s, problems, path, "must be less than %g", b), ok = 0;
    } else if (json_is_string(v)) {
        double n = (double)utf8_len(json_string_value(v));
        if (bound(schema, "minLength", &b) && n < b)
            tq_jschema_problem(s, problems, path, "must be at least %g characters", b), ok = 0;
        if (bound(schema, "maxLength", &b) && n > b)
            tq_jschema_problem(s, problems, path, "must be at most %g characters", b), ok = 0;
    } else if (json_is_array(v)) {
        double n = (double)json_array_size(v);
        if (bound(schema, "minItems", &b) && n < b)
            tq_jschema_problem(s, problems, path, "must have at least %g items", b), ok = 0;
        if (bound(schema, "maxItems", &b) && n > b)
            tq_jschema_problem(s, problems, path, "must have at most %g items", b), ok = 0;
    }
    return ok;
}

static int in_enum(const json_t *schema, const json_t *v)
{
    const json_t *e = json_object_get(schema, "enum");
    const json_t *c = json_object_get(schema, "const");
    if (c && !json_equal(c, v)) return 0;
    if (!json_is_array(e)) return 1;
    size_t i;
    json_t *x;
    json_array_foreach(e, i, x)
    {
        if (json_equal(x, v)) return 1;
        if (json_is_number(x) && json_is_number(v) && json_number_value(x) == json_number_value(v))
            return 1;
    }
    return 0;
}

/* Checks and coerces v against schema: a new value, or NULL with the
 * problems appended. */
static json_t *check(const tq_jschema_t *s, const json_t *schema, json_t *v, const char *path,
                     json_t *problems, int depth)
{
    if (depth > TQ_JSCHEMA_MAX_DEPTH) {
        tq_jschema_problem(s, problems, path, "nested too deeply");
        return NULL;
    }
    schema = tq_jschema_resolve(s, schema);
    if (!json_is_object(schema)) return json_incref(v);
    const json_t *type = json_object_get(schema, "type");
    const json_t *alts = json_object_get(schema, "oneOf");
    if (!alts) alts = json_object_get(schema, "anyOf");
    json_t *out = NULL;
    if (!type && json_is_array(alts) && json_array_size(alts)) {
        size_t i;
        json_t *alt;
        json_array_foreach(alts, i, alt)
        {
            json_t *sub = json_array();
            json_t *c = check(s, alt, v, path, sub, depth + 1);
            size_t nsub = json_array_size(sub);
            json_decref(sub);
            if (c && !nsub) {
                out = c;
                break;
            }
            json_decref(c);
        }
        if (!out) {
            tq_jschema_problem(s, problems, path, "matches none of the %zu allowed schemas",
                               json_array_size(alts));
            return NULL;
        }
    } else {
        const char *types[8];
        size_t nt = 0;
        if (json_is_string(type)) {
            types[nt++] = json_string_value(type);
        } else if (json_is_array(type)) {
            size_t i;
            json_t *t;
            json_array_foreach(type, i, t) if (json_is_string(t) && nt < 8) types[nt++] =
                json_string_value(t);
        } else if (json_object_get(schema, "properties")) {
            types[nt++] = "object";
        }
        if (!nt) {
            out = json_incref(v);
        } else {
            /* first a type the value already has, then coercions in order */
            const char *native = kind_of(v);
            int npass = s->flags & TQ_JSCHEMA_COERCE ? 2 : 1;
            for (int pass = 0; pass < npass && !out; pass++) {
                for (size_t i = 0; i < nt && !out; i++) {
                    int same = !strcmp(types[i], native) ||
                               (!strcmp(types[i], "number") && json_is_integer(v));
                    if (pass == 0 && !same) continue;
                    if (pass == 1 && same) continue;
                    out = as_type(s, schema, types[i], v, path, problems, depth);
                }
            }
            if (!out) {
                char want[128] = "";
                for (size_t i = 0; i < nt; i++) {
                    if (i) strncat(want, " or ", sizeof want - strlen(want) - 1);
                    strncat(want, types[i], sizeof want - strlen(want) - 1);
                }
                tq_jschema_problem(s, problems, path, "expected %s, got %s", want, kind_of(v));
                return NULL;
            }
        }
    }
    if (!in_enum(schema, out)) {
        const json_t *e = json_object_get(schema, "enum");
        char *allowed = e ? json_dumps(e, JSON_COMPACT) : NULL;
        if (allowed && strlen(allowed) > 200) strcpy(allowed + 190, "...]");
        tq_jschema_problem(s, problems, path, "not one of the allowed values%s%s",
                           allowed ? " " : "", allowed ? allowed : "");
        free(allowed);
        json_decref(out);
        return NULL;
    }
    if (s->flags & TQ_JSCHEMA_BOUNDS && !in_bounds(s, schema, out, path, problems)) {
        json_decref(out);
        return NULL;
    }
    return out;
}

json_t *tq_jschema_check(const tq_jschema_t *s, const json_t *schema, json_t *v, const char *path,
                         json_t *problems)
{
    return check(s, schema, v, path, problems, 0);
}

int tq_jschema_fail(const tq_jschema_t *s, const json_t *problems, const char *code,
                    const char *what, tq_error_t *err)
{
    char msg[sizeof err->message];
    size_t n = json_array_size(problems), len;
    const char *key = s->key ? s->key : "field";
    len = (size_t)snprintf(msg, sizeof msg, "%zu problem%s with the %s: ", n, n == 1 ? "" : "s",
                           what);
    size_t i;
    json_t *p;
    json_array_foreach(problems, i, p)
    {
        if (len > 400) {
            len += (size_t)snprintf(msg + len, sizeof msg - len, "; ... (%zu more)", n - i);
            break;
        }
        len += (size_t)snprintf(msg + len, len < sizeof msg ? sizeof msg - len : 0, "%s%s: %s",
                                i ? "; " : "", json_string_value(json_object_get(p, key)),
                                json_string_value(json_object_get(p, "problem")));
        if (len >= sizeof msg) break;
    }
    return tq_error_set(err, code, "%s", msg);
}
