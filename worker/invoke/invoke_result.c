/* invoke_result.c — response -> invoke result JSON (invoke_result.h).
 * Owns the body classification (JSON / text / bytes), header folding,
 * the http_error excerpt and the redaction of reflected secrets. Never
 * logs; never cuts a body silently (the HTTP layer refuses oversize ones). */
#include "invoke_result.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "vault.h"
#include "mem.h"

static size_t base_len(const char *ct)
{
    size_t n = strcspn(ct, ";");
    while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    return n;
}

int tq_invoke_media_is_json(const char *ct)
{
    if (!ct) return 0;
    size_t n = base_len(ct);
    return (n == 16 && !strncasecmp(ct, "application/json", 16)) ||
           (n >= 5 && !strncasecmp(ct + n - 5, "+json", 5)) ||
           (n == 11 && !strncasecmp(ct, "text/x-json", 11));
}

int tq_invoke_media_is_text(const char *ct)
{
    if (!ct) return 0;
    size_t n = base_len(ct);
    static const char *const types[] = {"application/xml",
                                        "application/javascript",
                                        "application/ecmascript",
                                        "application/x-www-form-urlencoded",
                                        "application/yaml",
                                        "application/x-yaml",
                                        "application/graphql",
                                        "application/sql",
                                        "application/x-ndjson",
                                        "application/csv",
                                        NULL};
    if (!strncasecmp(ct, "text/", 5)) return 1;
    if (n >= 4 && !strncasecmp(ct + n - 4, "+xml", 4)) return 1;
    if (n >= 5 && !strncasecmp(ct + n - 5, "+yaml", 5)) return 1;
    for (int i = 0; types[i]; i++)
        if (strlen(types[i]) == n && !strncasecmp(ct, types[i], n)) return 1;
    return 0;
}

static int valid_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t k;
        if (c < 0x80) {
            if (c == 0) return 0;
            i++;
            continue;
        }
        if ((c & 0xe0) == 0xc0 && c >= 0xc2)
            k = 1;
        else if ((c & 0xf0) == 0xe0)
            k = 2;
        else if ((c & 0xf8) == 0xf0 && c <= 0xf4)
            k = 3;
        else
            return 0;
        for (size_t j = 1; j <= k; j++)
            if (i + j >= n || (s[i + j] & 0xc0) != 0x80) return 0;
        i += k + 1;
    }
    return 1;
}

static void push_secret(tq_invoke_secrets_t *st, char *s)
{
    for (size_t i = 0; s && i < st->n; i++)
        if (!strcmp(st->v[i], s)) {
            tq_secure_wipe_str(s);
            free(s);
            return;
        }
    if (s && strlen(s) >= 4 && st->n < TQ_INVOKE_MAX_SECRETS) {
        /* longest first: a secret inside a longer one (a password inside
         * its Basic header) must not cut the longer one before it is seen */
        size_t i = st->n++, len = strlen(s);
        for (; i > 0 && strlen(st->v[i - 1]) < len; i--)
            st->v[i] = st->v[i - 1];
        st->v[i] = s;
        st->v[st->n] = NULL;
    } else if (s) {
        tq_secure_wipe_str(s);
        free(s);
    }
}

void tq_invoke_secrets_add(tq_invoke_secrets_t *st, const char *s)
{
    if (!s || strlen(s) < 4) return;
    push_secret(st, strdup(s));
    tq_buf_t b = {0};
    tq_buf_pct(&b, s, strlen(s), NULL);
    push_secret(st, tq_buf_take(&b));
    size_t n = strlen(s);
    for (size_t k = 0; k < 3; k++) {
        unsigned char *buf = tq_xcalloc(1, n + k);
        memcpy(buf + k, s, n);
        char *b64 = tq_base64_encode(buf, n + k);
        tq_secure_wipe(buf, n + k);
        free(buf);
        size_t len = strlen(b64);
        while (len && b64[len - 1] == '=')
            len--;
        if ((n + k) % 3 && len) len--;    /* the last character also holds what follows */
        size_t skip = k == 0 ? 0 : k + 1; /* characters that hold what precedes */
        char *core = len > skip ? strndup(b64 + skip, len - skip) : NULL;
        tq_secure_wipe_str(b64);
        free(b64);
        if (!core) continue;
        char *url = strdup(core);
        for (char *p = url; p && *p; p++)
            *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
        push_secret(st, core);
        push_secret(st, url);
    }
}

void tq_invoke_secrets_wipe(tq_invoke_secrets_t *st)
{
    for (size_t i = 0; i < st->n; i++) {
        tq_secure_wipe_str(st->v[i]);
        free(st->v[i]);
        st->v[i] = NULL;
    }
    st->n = 0;
}

char *tq_invoke_redact(const char *s, size_t len, const char *const *secrets, size_t *out_len)
{
    if (!secrets || !s) return NULL;
    int changed = 0;
    tq_buf_t cur = {0};
    tq_buf_add(&cur, s, len);
    for (size_t k = 0; secrets[k]; k++) {
        size_t sl = strlen(secrets[k]);
        if (sl < 4 || !memmem(cur.data, cur.len, secrets[k], sl)) continue;
        tq_buf_t next = {0};
        const char *p = cur.data, *end = cur.data + cur.len;
        const char *hit;
        while ((hit = memmem(p, (size_t)(end - p), secrets[k], sl))) {
            tq_buf_add(&next, p, (size_t)(hit - p));
            tq_buf_adds(&next, TQ_INVOKE_REDACTED);
            p = hit + sl;
        }
        tq_buf_add(&next, p, (size_t)(end - p));
        tq_buf_wipe(&cur);
        cur = next;
        changed = 1;
    }
    if (!changed) {
        tq_buf_wipe(&cur);
        return NULL;
    }
    if (out_len) *out_len = cur.len;
    return tq_buf_take(&cur);
}

/* Redacts every string and every object key in a JSON value, in place. */
static void redact_json(json_t *v, const char *const *secrets, int depth)
{
    if (depth > 64) return;
    if (json_is_object(v)) {
        const char *k;
        json_t *it;
        void *tmp;
        json_object_foreach_safe(v, tmp, k, it)
        {
            if (json_is_string(it)) {
                size_t nl;
                char *r =
                    tq_invoke_redact(json_string_value(it), json_string_length(it), secrets, &nl);
                if (r) json_object_set_new(v, k, json_stringn(r, nl));
                free(r);
            } else {
                redact_json(it, secrets, depth + 1);
            }
        }
        /* keys: a reflected secret may be a key ({"<secret>": true}) */
        json_object_foreach_safe(v, tmp, k, it)
        {
            size_t nl;
            char *r = tq_invoke_redact(k, strlen(k), secrets, &nl);
            if (!r) continue;
            json_t *keep = json_incref(it);
            json_object_del(v, k);
            char *key = r;
            for (int n = 2; json_object_get(v, key) && n < 1000; n++) { /* keys stay unique */
                char *alt = NULL;
                if (asprintf(&alt, "%s#%d", r, n) < 0) tq_oom();
                if (key != r) free(key);
                key = alt;
            }
            json_object_set_new(v, key, keep);
            if (key != r) free(key);
            free(r);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *it;
        json_array_foreach(v, i, it)
        {
            if (json_is_string(it)) {
                size_t nl;
                char *r =
                    tq_invoke_redact(json_string_value(it), json_string_length(it), secrets, &nl);
                if (r) json_array_set_new(v, i, json_stringn(r, nl));
                free(r);
            } else {
                redact_json(it, secrets, depth + 1);
            }
        }
    }
}

static json_t *text_value(const char *s, size_t n, const char *const *secrets)
{
    size_t rl;
    char *r = tq_invoke_redact(s, n, secrets, &rl);
    json_t *v = r ? json_stringn(r, rl) : json_stringn(s, n);
    free(r);
    return v;
}

/* Bytes as base64, any secret in them redacted first. */
static json_t *base64_value(const char *data, size_t n, const char *const *secrets)
{
    size_t rl;
    char *r = tq_invoke_redact(data, n, secrets, &rl);
    char *b64 = tq_base64_encode((const unsigned char *)(r ? r : data), r ? rl : n);
    json_t *v = json_string(b64);
    free(b64);
    free(r);
    return v;
}

json_t *tq_invoke_result_new(const tq_httpc_response_t *resp, int attempts, int redirects,
                             int64_t elapsed_ms, const char *const *secrets, size_t excerpt_bytes)
{
    json_t *headers = json_object();
    const char *ct = NULL;
    for (size_t i = 0; i < resp->nheaders; i++) {
        const tq_httpc_header_t *h = &resp->headers[i];
        json_t *val = text_value(h->value, strlen(h->value), secrets);
        if (!val) val = json_string("");
        if (!ct && !strcmp(h->name, "content-type")) ct = h->value;
        char *rname = tq_invoke_redact(h->name, strlen(h->name), secrets, NULL);
        const char *name = rname ? rname : h->name; /* a secret as a header name */
        json_t *old = json_object_get(headers, name);
        if (!old) {
            json_object_set_new(headers, name, val);
        } else if (json_is_array(old)) {
            json_array_append_new(old, val);
        } else {
            json_object_set_new(headers, name, json_pack("[O,o]", old, val));
        }
        free(rname);
    }
    const char *data = resp->body.data ? resp->body.data : "";
    size_t len = resp->body.len;
    json_t *body = NULL;
    const char *encoding = "none";
    if (len) {
        if (tq_invoke_media_is_json(ct)) {
            body = json_loadb(data, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
            if (body) {
                encoding = "json";
                redact_json(body, secrets, 0);
                if (json_is_string(body)) {
                    json_t *t =
                        text_value(json_string_value(body), json_string_length(body), secrets);
                    json_decref(body);
                    body = t;
                }
            }
        }
        if (!body && (tq_invoke_media_is_text(ct) || tq_invoke_media_is_json(ct) || !ct) &&
            valid_utf8((const unsigned char *)data, len)) {
            body = text_value(data, len, secrets);
            if (body) encoding = "text";
        }
        if (!body) { /* bytes: redacted before they are encoded */
            body = base64_value(data, len, secrets);
            encoding = "base64";
        }
    }
    int ok = resp->status > 0 && resp->status < 400;
    json_t *r = json_pack("{s:b,s:i,s:o,s:s?,s:o,s:s,s:I,s:I,s:i,s:i,s:s}", "ok", ok, "status",
                          resp->status, "headers", headers, "content_type", ct, "body",
                          body ? body : json_null(), "body_encoding", encoding, "size",
                          (json_int_t)len, "elapsed_ms", (json_int_t)elapsed_ms, "attempts",
                          attempts, "redirects", redirects, "http_version", resp->http_version);
    if (!ct) json_object_set_new(r, "content_type", json_null());
    if (!ok) {
        size_t n = len < excerpt_bytes ? len : excerpt_bytes;
        while (n && n < len && ((unsigned char)data[n] & 0xc0) == 0x80)
            n--; /* do not split a UTF-8 sequence */
        json_t *excerpt = NULL;
        if (valid_utf8((const unsigned char *)data, n))
            excerpt = text_value(data, n, secrets);
        else
            excerpt = base64_value(data, n, secrets);
        char msg[128];
        snprintf(msg, sizeof msg, "the API answered HTTP %d", resp->status);
        json_object_set_new(r, "error",
                            json_pack("{s:s,s:i,s:s,s:o,s:b}", "code", "http_error", "status",
                                      resp->status, "message", msg, "body_excerpt",
                                      excerpt ? excerpt : json_string(""), "truncated", n < len));
    }
    return r;
}
