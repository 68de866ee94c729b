/* oauth_kit.h — the shared building blocks of the OAuth plugins (oauth2,
 * github, google, slack, notion, microsoft), header-only: every plugin
 * shared object compiles its own private copy (static functions, hidden
 * visibility), so plugins stay independent .so files with no common library.
 *
 * A plugin describes its provider with a kit_profile_t (endpoints, scope
 * separator, client authentication, body format, PKCE, extra parameters,
 * nested token path, metadata to keep, error-code mapping) and wires the
 * kit's hooks, overriding the few that differ.
 *
 * Pure, like every plugin: no I/O, no global mutable state, no logging.
 * Never writes a token, code, verifier or secret into errbuf; buffers that
 * held one are wiped before they are freed. */
#ifndef TQ_OAUTH_KIT_H
#define TQ_OAUTH_KIT_H

#include "toolq/plugin.h"
#include "toolq/plugin_buf.h"

#include <ctype.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define KIT_UNUSED __attribute__((unused))

typedef struct {
    const char *authorize_url;
    const char *token_url;
    const char *revocation_url;
    const char *issuer;
    const char *scope;                  /* default scopes, space-separated */
    const char *scope_separator;        /* NULL = " " */
    const char *token_auth_method;      /* client_secret_basic | client_secret_post | none */
    const char *body_format;            /* form | json */
    const char *pkce;                   /* "S256" or "none" */
    const char *refresh_ahead_s;        /* NULL = the host's oauth.refresh_ahead_s */
    const char *tenant;                 /* default {tenant} (microsoft) */
    const char *const *authorize_extra; /* {name, value, ..., NULL} */
    const char *const *token_extra;
    const char *nested_token_path; /* token fields under this object when absent on top */
    const char *const *meta_paths; /* dotted paths kept as meta.<path> */
    int ok_field;                  /* Slack: {"ok": false, "error": ...} in HTTP 200 */
    const char *const *error_map;  /* {provider code, RFC 6749 code, ..., NULL} */
} kit_profile_t;

/* --- buffer (toolq/plugin_buf.h) ------------------------------------------- */

/* RFC 3986 percent-encoding: unreserved characters stay, everything else
 * (space included, as %20) is encoded. Also the form encoding RFC 6749
 * §2.3.1 asks for before Basic authentication. */
static KIT_UNUSED void kit_pct(tq_plugin_buf_t *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            tq_plugin_buf_add(b, (const char *)&c, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            tq_plugin_buf_add(b, e, 3);
        }
    }
}

/* --- small helpers ----------------------------------------------------------- */

static KIT_UNUSED const char *kit_get(const tq_plugin_kv_t *p, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (p[i].name && p[i].value && !strcmp(p[i].name, name)) return p[i].value;
    return NULL;
}

static KIT_UNUSED const char *kit_get_nonempty(const tq_plugin_kv_t *p, size_t n, const char *name)
{
    const char *v = kit_get(p, n, name);
    return v && *v ? v : NULL;
}

static KIT_UNUSED int kit_put(tq_plugin_output_t *out, const char *key, const char *value)
{
    return out->put(out, key, value, strlen(value));
}

static KIT_UNUSED int kit_fail(char *errbuf, size_t errlen, const char *msg)
{
    snprintf(errbuf, errlen, "%s", msg);
    return -1;
}

/* "{name}" placeholders of a URL template filled from params (encoded). */
static KIT_UNUSED int kit_url_template(tq_plugin_buf_t *b, const char *tpl, const tq_plugin_kv_t *p,
                                       size_t n, char *errbuf, size_t errlen)
{
    while (*tpl) {
        const char *o = strchr(tpl, '{');
        if (!o) {
            tq_plugin_buf_adds(b, tpl);
            break;
        }
        tq_plugin_buf_add(b, tpl, (size_t)(o - tpl));
        const char *c = strchr(o, '}');
        if (!c || c - o > 64) return kit_fail(errbuf, errlen, "unterminated {placeholder} in URL");
        char name[66];
        memcpy(name, o + 1, (size_t)(c - o - 1));
        name[c - o - 1] = '\0';
        const char *v = kit_get_nonempty(p, n, name);
        if (!v) {
            snprintf(errbuf, errlen, "the URL needs parameter '%s'", name);
            return -1;
        }
        kit_pct(b, v);
        tpl = c + 1;
    }
    return 0;
}

/* Appends name=value (encoded) to a query or form body. */
static KIT_UNUSED void kit_form_pair(tq_plugin_buf_t *b, const char *name, const char *value)
{
    if (b->len && b->data[b->len - 1] != '?') tq_plugin_buf_add(b, "&", 1);
    kit_pct(b, name);
    tq_plugin_buf_add(b, "=", 1);
    kit_pct(b, value);
}

/* The space-separated scope joined with sep ("," for GitHub, Slack). */
static KIT_UNUSED void kit_scope_join(tq_plugin_buf_t *b, const char *scope, const char *sep)
{
    int first = 1;
    const char *s = scope;
    while (*s) {
        while (*s == ' ')
            s++;
        size_t n = strcspn(s, " ");
        if (!n) break;
        if (!first) tq_plugin_buf_adds(b, sep);
        tq_plugin_buf_add(b, s, n);
        first = 0;
        s += n;
    }
}

static KIT_UNUSED char *kit_b64(const unsigned char *p, size_t n)
{
    size_t cap = 4 * ((n + 2) / 3) + 1;
    char *o = malloc(cap);
    if (o) EVP_EncodeBlock((unsigned char *)o, p, (int)n);
    return o;
}

/* --- defaults ------------------------------------------------------------------ */

static KIT_UNUSED int kit_put_pairs(tq_plugin_output_t *out, const char *prefix,
                                    const char *const *pairs)
{
    for (size_t i = 0; pairs && pairs[i] && pairs[i + 1]; i += 2) {
        char key[160];
        snprintf(key, sizeof key, "%s%s", prefix, pairs[i]);
        if (kit_put(out, key, pairs[i + 1])) return -1;
    }
    return 0;
}

static KIT_UNUSED int kit_defaults(const kit_profile_t *pr, tq_plugin_output_t *out)
{
    struct {
        const char *k, *v;
    } f[] = {{"authorize_url", pr->authorize_url},
             {"token_url", pr->token_url},
             {"revocation_url", pr->revocation_url},
             {"issuer", pr->issuer},
             {"scope", pr->scope},
             {"scope_separator", pr->scope_separator},
             {"token_auth_method", pr->token_auth_method},
             {"body_format", pr->body_format},
             {"pkce", pr->pkce},
             {"refresh_ahead_s", pr->refresh_ahead_s},
             {"tenant", pr->tenant},
             {"revocation", pr->revocation_url ? "1" : NULL}};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (f[i].v && kit_put(out, f[i].k, f[i].v)) return -1;
    if (kit_put_pairs(out, "authorize.", pr->authorize_extra)) return -1;
    return kit_put_pairs(out, "token.", pr->token_extra);
}

/* --- authorization URL (RFC 6749 §4.1.1, RFC 7636 §4.3) -------------------------- */

static KIT_UNUSED int kit_build_authorize_url(const tq_plugin_kv_t *p, size_t n,
                                              tq_plugin_output_t *out, char *errbuf, size_t errlen)
{
    const char *url = kit_get_nonempty(p, n, "authorize_url");
    const char *client_id = kit_get_nonempty(p, n, "client_id");
    const char *sep = kit_get_nonempty(p, n, "scope_separator");
    if (!url) return kit_fail(errbuf, errlen, "no authorize_url configured or discovered");
    if (!client_id) return kit_fail(errbuf, errlen, "no client_id configured");
    tq_plugin_buf_t b = {0};
    if (kit_url_template(&b, url, p, n, errbuf, errlen)) {
        tq_plugin_buf_wipe(&b);
        return -1;
    }
    tq_plugin_buf_adds(&b, strchr(b.data ? b.data : "", '?') ? "&" : "?");
    if (b.data[b.len - 1] == '&') b.len--, b.data[b.len] = '\0';
    kit_form_pair(&b, "response_type", "code");
    kit_form_pair(&b, "client_id", client_id);
    const char *names[] = {"redirect_uri", "state", "code_challenge", "code_challenge_method"};
    for (size_t i = 0; i < 4; i++) {
        const char *v = kit_get_nonempty(p, n, names[i]);
        if (v) kit_form_pair(&b, names[i], v);
    }
    const char *scope = kit_get_nonempty(p, n, "scope");
    if (scope) {
        tq_plugin_buf_t s = {0};
        kit_scope_join(&s, scope, sep ? sep : " ");
        if (s.len) kit_form_pair(&b, "scope", s.data);
        tq_plugin_buf_wipe(&s);
    }
    for (size_t i = 0; i < n; i++)
        if (p[i].name && !strncmp(p[i].name, "authorize.", 10) && p[i].value && *p[i].value)
            kit_form_pair(&b, p[i].name + 10, p[i].value);
    int rc = b.oom ? kit_fail(errbuf, errlen, "out of memory") : kit_put(out, "url", b.data);
    tq_plugin_buf_wipe(&b);
    return rc;
}

/* --- token request (RFC 6749 §4.1.3, §4.4.2, §6; §2.3.1 client auth) -------------- */

/* Client authentication: a Basic header (id and secret form-encoded before
 * base64, RFC 6749 §2.3.1), or the pair in the body, or the id alone. */
static KIT_UNUSED int kit_client_auth(const tq_plugin_kv_t *p, size_t n, json_t *fields,
                                      tq_plugin_output_t *out, char *errbuf, size_t errlen)
{
    const char *id = kit_get_nonempty(p, n, "client_id");
    const char *secret = kit_get(p, n, "client_secret");
    const char *method = kit_get_nonempty(p, n, "token_auth_method");
    if (!id) return kit_fail(errbuf, errlen, "no client_id configured");
    if (!method) method = secret && *secret ? "client_secret_basic" : "none";
    if (!strcmp(method, "client_secret_basic")) {
        if (!secret) return kit_fail(errbuf, errlen, "no client_secret configured");
        tq_plugin_buf_t u = {0};
        kit_pct(&u, id);
        tq_plugin_buf_add(&u, ":", 1);
        kit_pct(&u, secret);
        char *b64 = u.oom ? NULL : kit_b64((const unsigned char *)u.data, u.len);
        tq_plugin_buf_wipe(&u);
        if (!b64) return kit_fail(errbuf, errlen, "out of memory");
        tq_plugin_buf_t h = {0};
        tq_plugin_buf_adds(&h, "Authorization: Basic ");
        tq_plugin_buf_adds(&h, b64);
        OPENSSL_cleanse(b64, strlen(b64));
        free(b64);
        int rc = h.oom ? -1 : kit_put(out, "header", h.data);
        tq_plugin_buf_wipe(&h);
        return rc ? kit_fail(errbuf, errlen, "out of memory") : 0;
    }
    json_object_set_new(fields, "client_id", json_string(id));
    if (!strcmp(method, "client_secret_post")) {
        if (!secret) return kit_fail(errbuf, errlen, "no client_secret configured");
        json_object_set_new(fields, "client_secret", json_string(secret));
    } else if (strcmp(method, "none") != 0) {
        snprintf(errbuf, errlen, "unsupported token_auth_method %.40s", method);
        return -1;
    }
    return 0;
}

static KIT_UNUSED void kit_wipe_json(json_t *o)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        if (json_is_string(v)) OPENSSL_cleanse((char *)json_string_value(v), json_string_length(v));
    }
    json_decref(o);
}

/* Puts the body of fields as form or JSON, and its Content-Type. */
static KIT_UNUSED int kit_put_body(json_t *fields, const char *format, tq_plugin_output_t *out,
                                   char *errbuf, size_t errlen)
{
    int json = format && !strcmp(format, "json");
    tq_plugin_buf_t b = {0};
    if (json) {
        char *t = json_dumps(fields, JSON_COMPACT | JSON_SORT_KEYS);
        if (t) {
            tq_plugin_buf_adds(&b, t);
            OPENSSL_cleanse(t, strlen(t));
            free(t);
        } else {
            b.oom = 1;
        }
    } else {
        const char *k;
        json_t *v;
        json_object_foreach(fields, k, v) kit_form_pair(&b, k, json_string_value(v));
    }
    int rc = -1;
    if (!b.oom &&
        !kit_put(out, "header",
                 json ? "Content-Type: application/json"
                      : "Content-Type: application/x-www-form-urlencoded") &&
        !out->put(out, "body", b.data ? b.data : "", b.len))
        rc = 0;
    tq_plugin_buf_wipe(&b);
    return rc ? kit_fail(errbuf, errlen, "out of memory") : 0;
}

static KIT_UNUSED int kit_build_token_request(const tq_plugin_kv_t *p, size_t n,
                                              tq_plugin_output_t *out, char *errbuf, size_t errlen)
{
    const char *grant = kit_get_nonempty(p, n, "grant_type");
    const char *url = kit_get_nonempty(p, n, "token_url");
    if (!grant) return kit_fail(errbuf, errlen, "grant_type is required");
    if (!url) return kit_fail(errbuf, errlen, "no token_url configured or discovered");
    json_t *fields = json_object();
    json_object_set_new(fields, "grant_type", json_string(grant));
    if (!strcmp(grant, "authorization_code")) {
        const char *code = kit_get_nonempty(p, n, "code");
        if (!code) {
            kit_wipe_json(fields);
            return kit_fail(errbuf, errlen, "code is required");
        }
        json_object_set_new(fields, "code", json_string(code));
        const char *r = kit_get_nonempty(p, n, "redirect_uri");
        if (r) json_object_set_new(fields, "redirect_uri", json_string(r));
        const char *v = kit_get_nonempty(p, n, "code_verifier");
        if (v) json_object_set_new(fields, "code_verifier", json_string(v));
    } else if (!strcmp(grant, "refresh_token")) {
        const char *rt = kit_get_nonempty(p, n, "refresh_token");
        if (!rt) {
            kit_wipe_json(fields);
            return kit_fail(errbuf, errlen, "the credential has no refresh token");
        }
        json_object_set_new(fields, "refresh_token", json_string(rt));
    } else if (!strcmp(grant, "client_credentials")) {
        const char *scope = kit_get_nonempty(p, n, "scope");
        const char *sep = kit_get_nonempty(p, n, "scope_separator");
        if (scope) {
            tq_plugin_buf_t s = {0};
            kit_scope_join(&s, scope, sep ? sep : " ");
            if (s.len) json_object_set_new(fields, "scope", json_string(s.data));
            tq_plugin_buf_wipe(&s);
        }
    } else {
        kit_wipe_json(fields);
        snprintf(errbuf, errlen, "unsupported grant_type %.40s", grant);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (p[i].name && !strncmp(p[i].name, "token.", 6) && p[i].value && *p[i].value)
            json_object_set_new(fields, p[i].name + 6, json_string(p[i].value));
    tq_plugin_buf_t u = {0};
    int rc = kit_url_template(&u, url, p, n, errbuf, errlen);
    if (!rc && u.oom) rc = kit_fail(errbuf, errlen, "out of memory");
    if (!rc) rc = kit_client_auth(p, n, fields, out, errbuf, errlen);
    if (!rc)
        rc = kit_put(out, "method", "POST") || kit_put(out, "url", u.data) ||
             kit_put(out, "header", "Accept: application/json");
    if (!rc) rc = kit_put_body(fields, kit_get(p, n, "body_format"), out, errbuf, errlen);
    tq_plugin_buf_wipe(&u);
    kit_wipe_json(fields);
    return rc ? -1 : 0;
}

/* --- token response (RFC 6749 §5.1, §5.2) ------------------------------------------- */

/* application/x-www-form-urlencoded -> object of strings (GitHub without
 * Accept: application/json). */
static KIT_UNUSED json_t *kit_parse_form(const unsigned char *body, size_t len)
{
    json_t *o = json_object();
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && body[j] != '&')
            j++;
        char *pair = malloc(j - i + 1), *w = pair;
        if (!pair) break;
        for (size_t k = i; k < j; k++) {
            unsigned char c = body[k];
            if (c == '+') {
                c = ' ';
            } else if (c == '%' && k + 2 < j && isxdigit(body[k + 1]) && isxdigit(body[k + 2])) {
                char hx[3] = {(char)body[k + 1], (char)body[k + 2], 0};
                c = (unsigned char)strtol(hx, NULL, 16);
                k += 2;
            }
            *w++ = (char)c;
        }
        *w = '\0';
        char *eq = strchr(pair, '=');
        if (eq) {
            *eq = '\0';
            json_object_set_new(o, pair, json_string(eq + 1));
        }
        OPENSSL_cleanse(pair, (size_t)(w - pair));
        free(pair);
        i = j + 1;
    }
    return o;
}

static KIT_UNUSED json_t *kit_parse_body(const tq_plugin_response_t *r)
{
    json_t *doc = r->body_len ? json_loadb((const char *)r->body, r->body_len, 0, NULL) : NULL;
    if (json_is_object(doc)) return doc;
    json_decref(doc);
    if (r->body_len && memchr(r->body, '=', r->body_len) && r->body[0] != '{' && r->body[0] != '<')
        return kit_parse_form(r->body, r->body_len);
    return NULL;
}

static KIT_UNUSED const json_t *kit_path(const json_t *doc, const char *path)
{
    char part[128];
    const json_t *cur = doc;
    while (cur && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof part) return NULL;
        memcpy(part, path, n);
        part[n] = '\0';
        cur = json_object_get(cur, part);
        path += n + (path[n] == '.');
    }
    return cur;
}

/* A JSON value as text: strings as is, integers and reals printed. */
static KIT_UNUSED int kit_scalar(const json_t *v, char *buf, size_t len)
{
    if (json_is_string(v)) {
        snprintf(buf, len, "%s", json_string_value(v));
    } else if (json_is_integer(v)) {
        snprintf(buf, len, "%lld", (long long)json_integer_value(v));
    } else if (json_is_real(v)) {
        snprintf(buf, len, "%.0f", json_real_value(v));
    } else if (json_is_boolean(v)) {
        snprintf(buf, len, "%s", json_is_true(v) ? "true" : "false");
    } else {
        return -1;
    }
    return 0;
}

static KIT_UNUSED const char *kit_map_error(const kit_profile_t *pr, const char *code)
{
    for (size_t i = 0; pr->error_map && pr->error_map[i] && pr->error_map[i + 1]; i += 2)
        if (!strcmp(pr->error_map[i], code)) return pr->error_map[i + 1];
    return code;
}

/* Puts error + error_description (+ provider_error when mapped). */
static KIT_UNUSED int kit_put_error(const kit_profile_t *pr, tq_plugin_output_t *out,
                                    const char *code, const char *desc)
{
    const char *std = kit_map_error(pr, code);
    if (kit_put(out, "error", std)) return -1;
    if (strcmp(std, code) && kit_put(out, "provider_error", code)) return -1;
    if (desc && *desc) {
        char d[512];
        snprintf(d, sizeof d, "%s", desc); /* bounded: descriptions are shown to people */
        if (kit_put(out, "error_description", d)) return -1;
    }
    return 0;
}

/* Scope as space-separated text, whatever the provider's separator. */
static KIT_UNUSED int kit_put_scope(tq_plugin_output_t *out, const json_t *v)
{
    tq_plugin_buf_t b = {0};
    if (json_is_string(v)) {
        for (const char *s = json_string_value(v); *s; s++)
            tq_plugin_buf_add(&b, (*s == ',' || *s == '+') ? " " : s, 1);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) if (json_is_string(e))
        {
            if (b.len) tq_plugin_buf_add(&b, " ", 1);
            tq_plugin_buf_adds(&b, json_string_value(e));
        }
    }
    int rc = b.len ? kit_put(out, "scope", b.data) : 0;
    tq_plugin_buf_wipe(&b);
    return rc;
}

static KIT_UNUSED int kit_parse_token_response_with(const kit_profile_t *pr,
                                                    const tq_plugin_response_t *r,
                                                    tq_plugin_output_t *out, char *errbuf,
                                                    size_t errlen)
{
    json_t *doc = kit_parse_body(r);
    int rc = 0;
    const char *err = doc ? json_string_value(json_object_get(doc, "error")) : NULL;
    const char *desc = doc ? json_string_value(json_object_get(doc, "error_description")) : NULL;
    if (pr->ok_field && doc && json_is_false(json_object_get(doc, "ok"))) {
        rc = kit_put_error(pr, out, err ? err : "invalid_request", desc);
        goto done;
    }
    if (err) {
        rc = kit_put_error(pr, out, err, desc);
        goto done;
    }
    if (r->status >= 400 || r->status < 200) {
        rc = kit_put_error(pr, out,
                           r->status == 429 || r->status >= 500 ? "temporarily_unavailable"
                                                                : "invalid_request",
                           "the token endpoint answered with an HTTP error");
        goto done;
    }
    if (!doc) {
        rc = kit_put_error(pr, out, "invalid_token_response",
                           "the token response is neither JSON nor form-encoded");
        goto done;
    }
    const json_t *tok = doc;
    if (!json_is_string(json_object_get(doc, "access_token")) && pr->nested_token_path) {
        const json_t *nested = kit_path(doc, pr->nested_token_path);
        if (json_is_string(json_object_get(nested, "access_token"))) tok = nested;
    }
    const char *at = json_string_value(json_object_get(tok, "access_token"));
    if (!at || !*at) {
        rc = kit_put_error(pr, out, "invalid_token_response",
                           "the token response has no access_token");
        goto done;
    }
    char buf[64];
    rc |= kit_put(out, "access_token", at);
    const char *names[] = {"token_type", "expires_in", "refresh_token", "refresh_token_expires_in",
                           "expires_at"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const json_t *v = json_object_get(tok, names[i]);
        if (!v || json_is_null(v)) continue;
        if (json_is_string(v)) {
            if (json_string_length(v)) rc |= kit_put(out, names[i], json_string_value(v));
        } else if (!kit_scalar(v, buf, sizeof buf)) {
            rc |= kit_put(out, names[i], buf);
        }
    }
    const json_t *scope = json_object_get(tok, "scope");
    if (!scope) scope = json_object_get(doc, "scope");
    rc |= kit_put_scope(out, scope);
    for (size_t i = 0; pr->meta_paths && pr->meta_paths[i]; i++) {
        char key[160], val[512];
        const json_t *v = kit_path(doc, pr->meta_paths[i]);
        if (!v || kit_scalar(v, val, sizeof val)) continue;
        snprintf(key, sizeof key, "meta.%s", pr->meta_paths[i]);
        rc |= kit_put(out, key, val);
    }
done:
    if (doc) kit_wipe_json(doc);
    if (rc) snprintf(errbuf, errlen, "out of memory");
    return rc ? -1 : 0;
}

/* --- revocation (RFC 7009 §2.1) ------------------------------------------------------ */

static KIT_UNUSED int kit_build_revoke_request(const tq_plugin_kv_t *p, size_t n,
                                               tq_plugin_output_t *out, char *errbuf, size_t errlen)
{
    const char *url = kit_get_nonempty(p, n, "revocation_url");
    const char *token = kit_get_nonempty(p, n, "token");
    if (!url) return kit_fail(errbuf, errlen, "the provider has no revocation endpoint");
    if (!token) return kit_fail(errbuf, errlen, "no token to revoke");
    json_t *fields = json_object();
    json_object_set_new(fields, "token", json_string(token));
    const char *hint = kit_get_nonempty(p, n, "token_type_hint");
    if (hint) json_object_set_new(fields, "token_type_hint", json_string(hint));
    tq_plugin_buf_t u = {0};
    int rc = kit_url_template(&u, url, p, n, errbuf, errlen);
    if (!rc) rc = kit_client_auth(p, n, fields, out, errbuf, errlen);
    if (!rc) rc = kit_put(out, "method", "POST") || kit_put(out, "url", u.data);
    if (!rc) rc = kit_put_body(fields, "form", out, errbuf, errlen);
    tq_plugin_buf_wipe(&u);
    kit_wipe_json(fields);
    return rc ? -1 : 0;
}

/* --- discovery (RFC 8414 §3, OIDC Discovery §4) ---------------------------------------- */

static KIT_UNUSED int kit_build_discovery_request(const tq_plugin_kv_t *p, size_t n,
                                                  tq_plugin_output_t *out, char *errbuf,
                                                  size_t errlen)
{
    const char *issuer = kit_get_nonempty(p, n, "issuer");
    if (!issuer) return kit_fail(errbuf, errlen, "no issuer to discover");
    const char *hs = strstr(issuer, "://");
    if (!hs || strchr(issuer, '?') || strchr(issuer, '#'))
        return kit_fail(errbuf, errlen, "the issuer must be an absolute URL without query");
    size_t len = strlen(issuer);
    while (len > (size_t)(hs - issuer) + 3 && issuer[len - 1] == '/')
        len--;
    const char *path = strchr(hs + 3, '/');
    size_t host_end = path && (size_t)(path - issuer) < len ? (size_t)(path - issuer) : len;
    tq_plugin_buf_t a = {0}, b = {0};
    /* OIDC: {issuer}/.well-known/openid-configuration */
    tq_plugin_buf_add(&a, issuer, len);
    tq_plugin_buf_adds(&a, "/.well-known/openid-configuration");
    /* RFC 8414: well-known segment between host and path */
    tq_plugin_buf_add(&b, issuer, host_end);
    tq_plugin_buf_adds(&b, "/.well-known/oauth-authorization-server");
    tq_plugin_buf_add(&b, issuer + host_end, len - host_end);
    int rc = a.oom || b.oom || kit_put(out, "url", a.data) || kit_put(out, "url", b.data);
    tq_plugin_buf_wipe(&a);
    tq_plugin_buf_wipe(&b);
    return rc ? kit_fail(errbuf, errlen, "out of memory") : 0;
}

static KIT_UNUSED int kit_parse_discovery_response(const tq_plugin_response_t *r,
                                                   tq_plugin_output_t *out, char *errbuf,
                                                   size_t errlen)
{
    if (r->status != 200) {
        snprintf(errbuf, errlen, "the discovery document answered HTTP %d", r->status);
        return -1;
    }
    json_t *doc = r->body_len ? json_loadb((const char *)r->body, r->body_len, 0, NULL) : NULL;
    if (!json_is_object(doc)) {
        json_decref(doc);
        return kit_fail(errbuf, errlen, "the discovery document is not a JSON object");
    }
    static const char *const map[] = {"issuer",
                                      "issuer",
                                      "authorization_endpoint",
                                      "authorize_url",
                                      "token_endpoint",
                                      "token_url",
                                      "revocation_endpoint",
                                      "revocation_url",
                                      NULL};
    int rc = 0;
    for (size_t i = 0; map[i]; i += 2) {
        const char *v = json_string_value(json_object_get(doc, map[i]));
        if (v && *v) rc |= kit_put(out, map[i + 1], v);
    }
    rc |= kit_put(
        out, "iss_parameter_supported",
        json_is_true(json_object_get(doc, "authorization_response_iss_parameter_supported")) ? "1"
                                                                                             : "0");
    const json_t *m = json_object_get(doc, "code_challenge_methods_supported");
    if (json_is_array(m)) {
        int s256 = 0;
        size_t i;
        json_t *e;
        json_array_foreach(m, i, e) s256 |=
            json_is_string(e) && !strcmp(json_string_value(e), "S256");
        rc |= kit_put(out, "pkce", s256 ? "S256" : "none");
    }
    const json_t *am = json_object_get(doc, "token_endpoint_auth_methods_supported");
    if (json_is_array(am)) {
        tq_plugin_buf_t b = {0};
        size_t i;
        json_t *e;
        json_array_foreach(am, i, e) if (json_is_string(e))
        {
            if (b.len) tq_plugin_buf_add(&b, " ", 1);
            tq_plugin_buf_adds(&b, json_string_value(e));
        }
        if (b.len) rc |= kit_put(out, "token_auth_methods", b.data);
        tq_plugin_buf_wipe(&b);
    }
    json_decref(doc);
    return rc ? kit_fail(errbuf, errlen, "out of memory") : 0;
}

/* --- using the credential (RFC 6750 §2.1) ----------------------------------------------- */

static KIT_UNUSED int kit_apply_bearer(const tq_plugin_request_t *req,
                                       const tq_plugin_credential_t *cred,
                                       tq_plugin_request_edit_t *out, char *errbuf, size_t errlen)
{
    (void)req;
    const char *token = tq_plugin_field(cred, "access_token");
    const char *type = tq_plugin_field(cred, "token_type");
    if (!token || !*token) return kit_fail(errbuf, errlen, "the credential has no access_token");
    if (type && *type && strcasecmp(type, "bearer") != 0) {
        snprintf(errbuf, errlen, "token type %.32s is not supported (only Bearer)", type);
        return -1;
    }
    size_t n = strlen(token) + sizeof "Bearer ";
    char *v = malloc(n);
    if (!v) return kit_fail(errbuf, errlen, "out of memory");
    snprintf(v, n, "Bearer %s", token);
    int rc = out->set_header(out, "Authorization", v);
    OPENSSL_cleanse(v, n);
    free(v);
    if (rc) kit_fail(errbuf, errlen, "the token contains characters not allowed in a header");
    return rc;
}

/* The plugin table of a kit-based plugin. Hooks not given default to the kit. */
/* The defaults and token-response hooks of a plugin that is a profile and
 * nothing more: defines static `defaults` and `parse` for KIT_PLUGIN. */
#define KIT_PROFILE_HOOKS(PROF)                                                                    \
    static int defaults(const tq_plugin_kv_t *p, size_t n, tq_plugin_output_t *out, char *errbuf,  \
                        size_t errlen)                                                             \
    {                                                                                              \
        (void)p, (void)n;                                                                          \
        return kit_defaults(&(PROF), out) ? kit_fail(errbuf, errlen, "out of memory") : 0;         \
    }                                                                                              \
    static int parse(const tq_plugin_response_t *r, tq_plugin_output_t *out, char *errbuf,         \
                     size_t errlen)                                                                \
    {                                                                                              \
        return kit_parse_token_response_with(&(PROF), r, out, errbuf, errlen);                     \
    }

#define KIT_PLUGIN(ID, VERSION, PROVIDERS, APPLY, DEFAULTS, AUTHZ, TOKEN, PARSE, REVOKE, DISC,     \
                   PDISC)                                                                          \
    static const char *const KIT_TYPES[] = {"oauth2", NULL};                                       \
    static const tq_plugin_t KIT_PLUGIN_DEF = {                                                    \
        .abi_version = TQ_PLUGIN_ABI_VERSION,                                                      \
        .struct_size = sizeof(tq_plugin_t),                                                        \
        .id = ID,                                                                                  \
        .version = VERSION,                                                                        \
        .providers = PROVIDERS,                                                                    \
        .credential_types = KIT_TYPES,                                                             \
        .apply_auth = APPLY,                                                                       \
        .build_authorize_url = AUTHZ,                                                              \
        .build_token_request = TOKEN,                                                              \
        .parse_token_response = PARSE,                                                             \
        .oauth_defaults = DEFAULTS,                                                                \
        .build_revoke_request = REVOKE,                                                            \
        .build_discovery_request = DISC,                                                           \
        .parse_discovery_response = PDISC,                                                         \
    };                                                                                             \
    TQ_PLUGIN_EXPORT const tq_plugin_t *toolq_plugin_entry(void)                                   \
    {                                                                                              \
        return &KIT_PLUGIN_DEF;                                                                    \
    }

#endif
