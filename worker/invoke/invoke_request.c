/* invoke_request.c — bundle + arguments -> the exact HTTP request
 * (docs/invoking.md "Request building"): path styles simple/label/matrix,
 * query form (explode or not)/spaceDelimited/pipeDelimited/tabDelimited/
 * deepObject, header and cookie parameters, bodies JSON / urlencoded /
 * multipart / text / raw bytes; and the auth plugin's edits.
 * Must never do I/O or log; never lets an argument change the path
 * structure or set a framing header. */
#include "invoke_request.h"
#include "vault.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "invoke_args.h"
#include "buf.h"
#include "mem.h"
#include "rng.h"
#include "ssrf.h"

static const char *const METHODS[] = {"GET",   "HEAD",   "POST",    "PUT",
                                      "PATCH", "DELETE", "OPTIONS", NULL};

/* Headers arguments may never set (framing, routing, hop-by-hop). */
static const char *const FORBIDDEN_HEADERS[] = {
    "host", "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade",
    "te",   "trailer",        "proxy-connection",  "expect",     NULL};

const char *tq_invoke_method(const char *m)
{
    if (!m) return NULL;
    for (int i = 0; METHODS[i]; i++)
        if (!strcasecmp(m, METHODS[i])) return METHODS[i];
    return NULL;
}

/* --- scalars ---------------------------------------------------------------- */

/* Text of a scalar as it goes into a URL or header: strings as is, booleans
 * true/false, numbers in their shortest exact form, null empty; containers
 * as compact JSON. */
static void scalar(tq_buf_t *b, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        tq_buf_add(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_TRUE:
        tq_buf_adds(b, "true");
        break;
    case JSON_FALSE:
        tq_buf_adds(b, "false");
        break;
    case JSON_NULL:
        break;
    case JSON_INTEGER:
        tq_buf_addf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL: {
        char tmp[40];
        double d = json_real_value(v);
        snprintf(tmp, sizeof tmp, "%.15g", d);
        if (strtod(tmp, NULL) != d) snprintf(tmp, sizeof tmp, "%.17g", d);
        tq_buf_adds(b, tmp);
        break;
    }
    default: {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (s) tq_buf_adds(b, s);
        free(s);
    }
    }
}

/* Encoded text of a scalar. */
static void enc(tq_buf_t *b, const json_t *v, const char *keep)
{
    tq_buf_t t = {0};
    scalar(&t, v);
    tq_buf_pct(b, t.data ? t.data : "", t.len, keep);
    tq_buf_free(&t);
}

static void encs(tq_buf_t *b, const char *s, const char *keep)
{
    tq_buf_pct(b, s, strlen(s), keep);
}

/* --- argument records --------------------------------------------------------- */

typedef struct {
    const char *name; /* argument name */
    const char *wire; /* name on the wire */
    const char *in;
    const char *style;
    int explode;
    int allow_reserved;
    const char *content_type;
    const json_t *encoding;
} arg_t;

static void arg_read(const json_t *rec, arg_t *a)
{
    memset(a, 0, sizeof *a);
    a->name = json_string_value(json_object_get(rec, "name"));
    a->wire = json_string_value(json_object_get(rec, "original_name"));
    if (!a->wire) a->wire = a->name;
    a->in = json_string_value(json_object_get(rec, "in"));
    if (!a->in) a->in = "query";
    a->style = json_string_value(json_object_get(rec, "style"));
    const json_t *ex = json_object_get(rec, "explode");
    int is_form = !strcmp(a->in, "query") || !strcmp(a->in, "cookie");
    if (!a->style) a->style = is_form ? "form" : "simple";
    a->explode = json_is_boolean(ex) ? json_is_true(ex) : !strcmp(a->style, "form");
    a->allow_reserved = json_is_true(json_object_get(rec, "allow_reserved"));
    a->content_type = json_string_value(json_object_get(rec, "content_type"));
    a->encoding = json_object_get(rec, "encoding");
}

/* A parameter declared with `content`: its value serialised as that type. */
static json_t *content_value(const arg_t *a, const json_t *v)
{
    if (!a->content_type || json_is_string(v)) return json_incref((json_t *)v);
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_t *r = json_string(s ? s : "");
    free(s);
    return r;
}

/* --- path ------------------------------------------------------------------------ */

/* Encoded text of a path value: like enc, and a value made of dots only
 * ("." or "..", a dot segment) has every dot sent as %2E, so no value can
 * climb out of its segment (curl sends the path as is: CURLOPT_PATH_AS_IS). */
static void pathenc(tq_buf_t *b, const char *s, size_t n)
{
    size_t dots = 0;
    while (dots < n && s[dots] == '.')
        dots++;
    if (n && dots == n) {
        for (size_t i = 0; i < n; i++)
            tq_buf_adds(b, "%2E");
        return;
    }
    tq_buf_pct(b, s, n, NULL);
}

static void penc(tq_buf_t *b, const json_t *v)
{
    tq_buf_t t = {0};
    scalar(&t, v);
    pathenc(b, t.data ? t.data : "", t.len);
    tq_buf_free(&t);
}

static void pencs(tq_buf_t *b, const char *s)
{
    pathenc(b, s, strlen(s));
}

static void path_value(tq_buf_t *b, const arg_t *a, const json_t *v)
{
    const char *st = a->style;
    int label = !strcmp(st, "label"), matrix = !strcmp(st, "matrix");
    const char *sep = ",";
    if (label) {
        tq_buf_addc(b, '.');
        if (a->explode) sep = ".";
    }
    if (json_is_array(v)) {
        if (matrix && a->explode) sep = "";
        size_t i;
        json_t *it;
        if (matrix && !a->explode) {
            tq_buf_addc(b, ';');
            pencs(b, a->wire);
            tq_buf_addc(b, '=');
        }
        json_array_foreach(v, i, it)
        {
            if (matrix && a->explode) {
                tq_buf_addc(b, ';');
                pencs(b, a->wire);
                tq_buf_addc(b, '=');
            } else if (i) {
                tq_buf_adds(b, sep);
            }
            penc(b, it);
        }
    } else if (json_is_object(v) && !tq_invoke_args_is_file(v)) {
        const char *k;
        json_t *it;
        int first = 1;
        if (matrix && !a->explode) {
            tq_buf_addc(b, ';');
            pencs(b, a->wire);
            tq_buf_addc(b, '=');
        }
        json_object_foreach((json_t *)v, k, it)
        {
            if (matrix && a->explode)
                tq_buf_addc(b, ';');
            else if (!first)
                tq_buf_adds(b, sep);
            first = 0;
            pencs(b, k);
            tq_buf_addc(b, a->explode ? '=' : ',');
            penc(b, it);
        }
    } else {
        if (matrix) {
            tq_buf_addc(b, ';');
            pencs(b, a->wire);
            if (json_is_string(v) && !json_string_length(v)) return;
            tq_buf_addc(b, '=');
        }
        penc(b, v);
    }
}

/* --- query ------------------------------------------------------------------------- */

static void q_pair(tq_buf_t *q, const char *name, const char *name_keep, const json_t *v,
                   const char *keep)
{
    if (q->len) tq_buf_addc(q, '&');
    encs(q, name, name_keep);
    tq_buf_addc(q, '=');
    enc(q, v, keep);
}

static void deep_object(tq_buf_t *q, const char *prefix, const json_t *v, const char *keep,
                        int depth)
{
    if (depth > 16) return;
    if (json_is_object(v)) {
        const char *k;
        json_t *it;
        json_object_foreach((json_t *)v, k, it)
        {
            char *p = NULL;
            if (asprintf(&p, "%s[%s]", prefix, k) < 0) tq_oom();
            deep_object(q, p, it, keep, depth + 1);
            free(p);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *it;
        json_array_foreach(v, i, it)
        {
            char *p = NULL;
            if (asprintf(&p, "%s[%zu]", prefix, i) < 0) tq_oom();
            deep_object(q, p, it, keep, depth + 1);
            free(p);
        }
    } else if (!json_is_null(v)) {
        q_pair(q, prefix, "[]", v, keep);
    }
}

/* Appends name=value pairs for one query (or urlencoded body) value. */
static void query_value(tq_buf_t *q, const char *wire, const char *style, int explode,
                        int allow_reserved, const json_t *v)
{
    const char *keep = allow_reserved ? TQ_PCT_RESERVED : NULL;
    if (json_is_null(v)) return;
    if (!strcmp(style, "deepObject") && (json_is_object(v) || json_is_array(v))) {
        deep_object(q, wire, v, keep, 0);
        return;
    }
    const char *sep = !strcmp(style, "spaceDelimited")  ? "%20"
                      : !strcmp(style, "pipeDelimited") ? "|"
                      : !strcmp(style, "tabDelimited")  ? "%09"
                                                        : ",";
    if (json_is_array(v)) {
        if (!json_array_size(v)) return;
        size_t i;
        json_t *it;
        if (explode) {
            json_array_foreach(v, i, it) q_pair(q, wire, NULL, it, keep);
            return;
        }
        if (q->len) tq_buf_addc(q, '&');
        encs(q, wire, NULL);
        tq_buf_addc(q, '=');
        json_array_foreach(v, i, it)
        {
            if (i) tq_buf_adds(q, sep);
            enc(q, it, keep);
        }
    } else if (json_is_object(v) && !tq_invoke_args_is_file(v)) {
        const char *k;
        json_t *it;
        if (explode) {
            json_object_foreach((json_t *)v, k, it) q_pair(q, k, NULL, it, keep);
            return;
        }
        if (q->len) tq_buf_addc(q, '&');
        encs(q, wire, NULL);
        tq_buf_addc(q, '=');
        int first = 1;
        json_object_foreach((json_t *)v, k, it)
        {
            if (!first) tq_buf_adds(q, sep);
            first = 0;
            encs(q, k, keep);
            tq_buf_adds(q, sep);
            enc(q, it, keep);
        }
    } else {
        q_pair(q, wire, NULL, v, keep);
    }
}

/* --- headers and cookies ------------------------------------------------------------ */

static void simple_text(tq_buf_t *b, const json_t *v, int explode)
{
    if (json_is_array(v)) {
        size_t i;
        json_t *it;
        json_array_foreach(v, i, it)
        {
            if (i) tq_buf_addc(b, ',');
            scalar(b, it);
        }
    } else if (json_is_object(v)) {
        const char *k;
        json_t *it;
        int first = 1;
        json_object_foreach((json_t *)v, k, it)
        {
            if (!first) tq_buf_addc(b, ',');
            first = 0;
            tq_buf_adds(b, k);
            tq_buf_addc(b, explode ? '=' : ',');
            scalar(b, it);
        }
    } else {
        scalar(b, v);
    }
}

static int valid_token(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("!#$%&'*+-.^_`|~", *s)) return 0;
    return 1;
}

static void cookie_pair(tq_buf_t *c, const char *name, const json_t *v)
{
    if (c->len) tq_buf_adds(c, "; ");
    tq_buf_adds(c, name);
    tq_buf_addc(c, '=');
    enc(c, v, NULL);
}

static void cookie_value(tq_buf_t *c, const arg_t *a, const json_t *v)
{
    if (json_is_array(v) && a->explode) {
        size_t i;
        json_t *it;
        json_array_foreach(v, i, it) cookie_pair(c, a->wire, it);
    } else if (json_is_object(v) && a->explode) {
        const char *k;
        json_t *it;
        json_object_foreach((json_t *)v, k, it) cookie_pair(c, k, it);
    } else if (json_is_array(v) || json_is_object(v)) {
        if (c->len) tq_buf_adds(c, "; ");
        tq_buf_adds(c, a->wire);
        tq_buf_addc(c, '=');
        tq_buf_t t = {0};
        if (json_is_array(v)) {
            size_t i;
            json_t *it;
            json_array_foreach(v, i, it)
            {
                if (i) tq_buf_addc(&t, ',');
                enc(&t, it, NULL);
            }
        } else {
            const char *k;
            json_t *it;
            int first = 1;
            json_object_foreach((json_t *)v, k, it)
            {
                if (!first) tq_buf_addc(&t, ',');
                first = 0;
                encs(&t, k, NULL);
                tq_buf_addc(&t, ',');
                enc(&t, it, NULL);
            }
        }
        if (t.data) tq_buf_add(c, t.data, t.len);
        tq_buf_free(&t);
    } else {
        cookie_pair(c, a->wire, v);
    }
}

/* --- bodies -------------------------------------------------------------------------- */

static int is_json_type(const char *mt)
{
    if (!mt) return 0;
    size_t n = strcspn(mt, ";");
    while (n && mt[n - 1] == ' ')
        n--;
    if (n == 16 && !strncasecmp(mt, "application/json", 16)) return 1;
    return n >= 5 && !strncasecmp(mt + n - 5, "+json", 5);
}

static int type_is(const char *mt, const char *want)
{
    size_t n = strlen(want);
    return mt && !strncasecmp(mt, want, n) && (mt[n] == '\0' || mt[n] == ';' || mt[n] == ' ');
}

static int is_multipart(const char *mt)
{
    return mt && !strncasecmp(mt, "multipart/", 10);
}

static const char *enc_str(const json_t *encoding, const char *key)
{
    return json_string_value(json_object_get(encoding, key));
}

/* One multipart part (or several for an array). */
static int multipart_part(tq_buf_t *b, const char *boundary, const char *name, const json_t *v,
                          const json_t *encoding, int depth, tq_error_t *err)
{
    const char *ct = enc_str(encoding, "contentType");
    if (json_is_array(v) && depth == 0) {
        size_t i;
        json_t *it;
        int all_plain = 1;
        json_array_foreach(v, i, it) all_plain &=
            !(json_is_object(it) && !tq_invoke_args_is_file(it)) && !json_is_array(it);
        if (all_plain) {
            json_array_foreach(v, i, it) if (multipart_part(b, boundary, name, it, encoding,
                                                            depth + 1, err)) return -1;
            return 0;
        }
    }
    tq_buf_addf(b, "--%s\r\nContent-Disposition: form-data; name=\"", boundary);
    for (const char *p = name; *p; p++) {
        if (*p == '"')
            tq_buf_adds(b, "%22");
        else if (*p == '\r')
            tq_buf_adds(b, "%0D");
        else if (*p == '\n')
            tq_buf_adds(b, "%0A");
        else
            tq_buf_addc(b, *p);
    }
    tq_buf_addc(b, '"');
    if (tq_invoke_args_is_file(v)) {
        const char *fn = json_string_value(json_object_get(v, "filename"));
        const char *fct = json_string_value(json_object_get(v, "content_type"));
        if (!fn || !*fn) fn = name;
        tq_buf_adds(b, "; filename=\"");
        for (const char *p = fn; *p; p++) {
            if (*p == '"')
                tq_buf_adds(b, "%22");
            else if (*p == '\r' || *p == '\n')
                tq_buf_adds(b, *p == '\r' ? "%0D" : "%0A");
            else
                tq_buf_addc(b, *p);
        }
        tq_buf_addc(b, '"');
        const char *type = fct && *fct ? fct : ct ? ct : "application/octet-stream";
        if (strpbrk(type, "\r\n"))
            return tq_error_set(err, "invalid_argument",
                                "%s: the file's content_type has a line break", name);
        unsigned char *data;
        size_t len;
        if (tq_base64_decode(json_string_value(json_object_get(v, "data")), &data, &len))
            return tq_error_set(err, "invalid_argument", "%s: file data is not valid base64", name);
        tq_buf_addf(b, "\r\nContent-Type: %s\r\n\r\n", type);
        tq_buf_add(b, data, len);
        free(data);
    } else if (json_is_object(v) || json_is_array(v)) {
        tq_buf_addf(b, "\r\nContent-Type: %s\r\n\r\n", ct ? ct : "application/json");
        char *s = json_dumps(v, JSON_COMPACT);
        if (s) tq_buf_adds(b, s);
        free(s);
    } else {
        if (ct && strcasecmp(ct, "text/plain")) tq_buf_addf(b, "\r\nContent-Type: %s", ct);
        tq_buf_adds(b, "\r\n\r\n");
        scalar(b, v);
    }
    tq_buf_adds(b, "\r\n");
    return 0;
}

static void random_boundary(char out[48])
{
    unsigned char r[12];
    tq_rng_public(r, sizeof r);
    strcpy(out, "toolq-");
    for (size_t i = 0; i < sizeof r; i++)
        sprintf(out + 6 + 2 * i, "%02x", r[i]);
}

/* Encodes the body object/value for media type mt. fields: {name: value}
 * for form types (hoisted arguments or a non-hoisted object); encodings:
 * per-property encoding objects. */
static int encode_body(tq_httpc_request_t *r, const char *mt, const json_t *value,
                       const json_t *encodings, const tq_invoke_build_opts_t *opts, tq_error_t *err)
{
    tq_buf_t b = {0};
    char ctype[512];
    snprintf(ctype, sizeof ctype, "%s", mt);
    if (is_json_type(mt)) {
        char *s = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
        if (s) tq_buf_adds(&b, s);
        free(s);
    } else if (type_is(mt, "application/x-www-form-urlencoded") && json_is_object(value)) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)value, k, v)
        {
            const json_t *e = json_object_get(encodings, k);
            const char *style = enc_str(e, "style");
            const char *ect = enc_str(e, "contentType");
            const json_t *ex = json_object_get(e, "explode");
            if (!style && ect && is_json_type(ect) && (json_is_object(v) || json_is_array(v))) {
                char *s = json_dumps(v, JSON_COMPACT);
                json_t *js = json_string(s ? s : "");
                free(s);
                q_pair(&b, k, NULL, js, NULL);
                json_decref(js);
                continue;
            }
            if (!style) style = "form";
            int explode = json_is_boolean(ex) ? json_is_true(ex) : !strcmp(style, "form");
            query_value(&b, k, style, explode, json_is_true(json_object_get(e, "allowReserved")),
                        v);
        }
    } else if (is_multipart(mt) && json_is_object(value)) {
        char boundary[64];
        if (opts && opts->boundary)
            snprintf(boundary, sizeof boundary, "%s", opts->boundary);
        else
            random_boundary(boundary);
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)value, k, v)
        {
            if (json_is_null(v)) continue;
            if (multipart_part(&b, boundary, k, v, json_object_get(encodings, k), 0, err)) {
                tq_buf_wipe(&b);
                return -1;
            }
        }
        tq_buf_addf(&b, "--%s--\r\n", boundary);
        size_t n = strcspn(mt, ";");
        snprintf(ctype, sizeof ctype, "%.*s; boundary=%s", (int)n, mt, boundary);
    } else if (tq_invoke_args_is_file(value)) {
        unsigned char *data;
        size_t len;
        if (tq_base64_decode(json_string_value(json_object_get(value, "data")), &data, &len))
            return tq_error_set(err, "invalid_argument", "body: file data is not valid base64");
        tq_buf_add(&b, data, len);
        free(data);
        const char *fct = json_string_value(json_object_get(value, "content_type"));
        if (fct && *fct && !strpbrk(fct, "\r\n") && (!mt || !*mt || strchr(mt, '*')))
            snprintf(ctype, sizeof ctype, "%s", fct);
    } else if (json_is_string(value)) {
        tq_buf_add(&b, json_string_value(value), json_string_length(value));
    } else {
        char *s = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
        if (s) tq_buf_adds(&b, s);
        free(s);
    }
    if (strchr(ctype, '*')) snprintf(ctype, sizeof ctype, "application/octet-stream");
    tq_httpc_request_set_header(r, "Content-Type", ctype, 0);
    r->has_body = 1;
    r->body_len = b.len;
    r->body = (unsigned char *)tq_buf_take(&b);
    return 0;
}

/* --- build ---------------------------------------------------------------------------- */

static int forbidden_header(const char *name)
{
    for (int i = 0; FORBIDDEN_HEADERS[i]; i++)
        if (!strcasecmp(name, FORBIDDEN_HEADERS[i])) return 1;
    return 0;
}

tq_httpc_request_t *tq_invoke_request_build(const json_t *bundle, const json_t *args,
                                            const tq_invoke_build_opts_t *opts, tq_error_t *err)
{
    const char *m = tq_invoke_method(json_string_value(json_object_get(bundle, "method")));
    if (!m) {
        tq_error_set(err, "unsupported_method", "method %s is not supported by invoke",
                     json_string_value(json_object_get(bundle, "method"))
                         ? json_string_value(json_object_get(bundle, "method"))
                         : "(none)");
        return NULL;
    }
    const char *server = json_string_value(json_object_get(bundle, "server_url"));
    const char *path = json_string_value(json_object_get(bundle, "path"));
    if (!server || (strncasecmp(server, "http://", 7) && strncasecmp(server, "https://", 8))) {
        tq_error_set(err, "invalid_url",
                     "the provider has no absolute http(s) server URL; re-import it with a "
                     "server URL");
        return NULL;
    }
    if (!path) path = "";
    tq_httpc_request_t *r = tq_xcalloc(1, sizeof *r);
    snprintf(r->method, sizeof r->method, "%s", m);

    const json_t *params = json_object_get(bundle, "parameters");
    const json_t *rb = json_object_get(bundle, "request_body");
    tq_buf_t url = {0}, query = {0}, cookie = {0};
    tq_buf_adds(&url, server);
    size_t slen = strlen(server);
    if (slen && server[slen - 1] == '/' && path[0] == '/') path++;

    /* path template, one pass: a value can never create a placeholder */
    for (const char *p = path; *p;) {
        if (*p != '{') {
            const char *q = strchr(p, '{');
            size_t n = q ? (size_t)(q - p) : strlen(p);
            tq_buf_add(&url, p, n);
            p += n;
            continue;
        }
        const char *close = strchr(p, '}');
        if (!close) {
            tq_buf_adds(&url, p);
            break;
        }
        char pname[256];
        snprintf(pname, sizeof pname, "%.*s", (int)(close - p - 1), p + 1);
        const json_t *rec = NULL;
        size_t i;
        json_t *x;
        json_array_foreach(params, i, x)
        {
            arg_t a;
            arg_read(x, &a);
            if (!strcmp(a.in, "path") && a.wire && !strcmp(a.wire, pname)) rec = x;
        }
        arg_t a;
        const json_t *v = NULL;
        if (rec) {
            arg_read(rec, &a);
            v = json_object_get(args, a.name);
        }
        if (!v || json_is_null(v)) {
            tq_error_set(err, "invalid_argument", "path placeholder {%s} has no value", pname);
            goto fail;
        }
        json_t *cv = content_value(&a, v);
        path_value(&url, &a, cv);
        json_decref(cv);
        p = close + 1;
    }

    size_t i;
    json_t *rec;
    json_array_foreach(params, i, rec)
    {
        arg_t a;
        arg_read(rec, &a);
        if (!a.name || !strcmp(a.in, "path") || !strcmp(a.in, "body")) continue;
        const json_t *v = json_object_get(args, a.name);
        if (!v || json_is_null(v)) continue;
        json_t *cv = content_value(&a, v);
        if (!strcmp(a.in, "query")) {
            query_value(&query, a.wire, a.style, a.explode, a.allow_reserved, cv);
        } else if (!strcmp(a.in, "header")) {
            if (forbidden_header(a.wire) || !valid_token(a.wire)) {
                json_decref(cv);
                tq_error_set(err, "invalid_argument", "%s: header %s cannot be set by an argument",
                             a.name, a.wire);
                goto fail;
            }
            tq_buf_t hv = {0};
            simple_text(&hv, cv, a.explode);
            if (hv.data && (strpbrk(hv.data, "\r\n") || memchr(hv.data, 0, hv.len))) {
                tq_buf_free(&hv);
                json_decref(cv);
                tq_error_set(err, "invalid_argument", "%s: a header value cannot hold a line break",
                             a.name);
                goto fail;
            }
            tq_httpc_request_set_header(r, a.wire, hv.data ? hv.data : "", 0);
            tq_buf_free(&hv);
        } else if (!strcmp(a.in, "cookie")) {
            if (!valid_token(a.wire)) {
                json_decref(cv);
                tq_error_set(err, "invalid_argument", "%s: not a valid cookie name", a.name);
                goto fail;
            }
            cookie_value(&cookie, &a, cv);
        }
        json_decref(cv);
    }
    if (query.len) {
        tq_buf_addc(&url, strchr(url.data, '?') ? '&' : '?');
        tq_buf_add(&url, query.data, query.len);
    }
    r->url = tq_buf_take(&url);
    char o_server[TQ_ORIGIN_MAX], o_url[TQ_ORIGIN_MAX];
    if (tq_ssrf_url_origin(server, o_server, sizeof o_server) ||
        tq_ssrf_url_origin(r->url, o_url, sizeof o_url) || strcmp(o_server, o_url)) {
        tq_error_set(err, "invalid_url",
                     "the request URL would leave the provider's server: its scheme, host and "
                     "port must be those of the server URL (a path value cannot change them)");
        tq_buf_free(&query);
        tq_buf_free(&cookie);
        goto fail_built;
    }
    if (cookie.len) r->cookie = tq_buf_take(&cookie);
    tq_buf_free(&query);
    tq_buf_free(&cookie);

    if (json_is_object(rb)) {
        const char *mt = json_string_value(json_object_get(rb, "media_type"));
        if (!mt) mt = "application/octet-stream";
        json_t *value = NULL;
        json_t *encodings = json_object();
        if (json_object_update(encodings, json_object_get(rb, "encoding"))) {
        }
        if (json_is_true(json_object_get(rb, "hoisted"))) {
            json_t *obj = json_object();
            json_array_foreach(params, i, rec)
            {
                arg_t a;
                arg_read(rec, &a);
                if (!a.name || strcmp(a.in, "body")) continue;
                json_t *v = json_object_get(args, a.name);
                if (v) json_object_set(obj, a.wire, v);
                if (a.encoding) json_object_set(encodings, a.wire, (json_t *)a.encoding);
            }
            if (json_object_size(obj) || json_is_true(json_object_get(rb, "required")))
                value = obj;
            else
                json_decref(obj);
        } else {
            const char *an = json_string_value(json_object_get(rb, "argument"));
            json_t *v = an ? json_object_get(args, an) : NULL;
            if (v && !json_is_null(v)) value = json_incref(v);
        }
        int rc = value ? encode_body(r, mt, value, encodings, opts, err) : 0;
        json_decref(value);
        json_decref(encodings);
        if (rc) goto fail_built;
    }
    return r;
fail:
    tq_buf_wipe(&url);
    tq_buf_free(&query);
    tq_buf_free(&cookie);
fail_built:
    tq_httpc_request_destroy(&r);
    return NULL;
}

/* --- plugins ------------------------------------------------------------------------------ */

void tq_invoke_request_view(const tq_httpc_request_t *self, tq_plugin_kv_t *kv, long long now,
                            tq_plugin_request_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < self->nheaders; i++)
        kv[n++] = (tq_plugin_kv_t){self->headers[i].name, self->headers[i].value};
    if (self->cookie) kv[n++] = (tq_plugin_kv_t){"Cookie", self->cookie};
    *out = (tq_plugin_request_t){.method = self->method,
                                 .url = self->url,
                                 .headers = kv,
                                 .header_count = n,
                                 .body = self->body,
                                 .body_len = self->body_len,
                                 .now = now};
}

void tq_invoke_request_apply_edits(tq_httpc_request_t *self, const tq_plugin_edits_t *edits)
{
    size_t n = tq_plugin_edits_count(edits);
    for (size_t i = 0; i < n; i++) {
        const tq_plugin_edit_t *e = tq_plugin_edits_at(edits, i);
        tq_buf_t b = {0};
        if (e->kind == TQ_EDIT_HEADER) {
            if (!strcasecmp(e->name, "cookie")) {
                tq_secure_free_str(self->cookie);
                self->cookie = tq_xstrdup(e->value);
                self->cookie_from_auth = 1;
            } else {
                tq_httpc_request_set_header(self, e->name, e->value, 1);
            }
        } else if (e->kind == TQ_EDIT_QUERY) {
            tq_buf_adds(&b, self->url);
            tq_buf_addc(&b, strchr(self->url, '?') ? '&' : '?');
            encs(&b, e->name, NULL);
            tq_buf_addc(&b, '=');
            encs(&b, e->value, NULL);
            tq_secure_free_str(self->url);
            self->url = tq_buf_take(&b);
        } else {
            if (self->cookie) {
                tq_buf_adds(&b, self->cookie);
                tq_buf_adds(&b, "; ");
            }
            tq_buf_adds(&b, e->name);
            tq_buf_addc(&b, '=');
            encs(&b, e->value, NULL);
            tq_secure_free_str(self->cookie);
            self->cookie = tq_buf_take(&b);
            self->cookie_from_auth = 1;
        }
    }
}
