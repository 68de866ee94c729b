/* sigv4.c — AWS Signature Version 4 computation
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html).
 * Builds strings only; the secret key lives in stack buffers that are wiped. */
#include "sigv4.h"
#include "toolq/plugin_buf.h"

#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* AWS URI encoding: everything but A-Z a-z 0-9 - _ . ~ (and '/' if keep_slash). */
static void put_encoded(tq_plugin_buf_t *b, const char *s, size_t n, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
            (keep_slash && c == '/')) {
            tq_plugin_buf_add(b, (const char *)&c, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            tq_plugin_buf_add(b, e, 3);
        }
    }
}

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Percent-decodes s[0..n) into a new buffer; returns its length. */
static size_t decode(const char *s, size_t n, char *out)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            out[m++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            out[m++] = s[i];
        }
    }
    return m;
}

static void put_decoded_encoded(tq_plugin_buf_t *b, const char *s, size_t n, int keep_slash)
{
    char *tmp = malloc(n + 1);
    if (!tmp) {
        b->oom = 1;
        return;
    }
    put_encoded(b, tmp, decode(s, n, tmp), keep_slash);
    free(tmp);
}

static void hex_of(const unsigned char *d, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[2 * n] = '\0';
}

static void sha256_hex(const void *data, size_t n, char out[65])
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256(data, n, d);
    hex_of(d, sizeof d, out);
}

/* --- URL pieces ------------------------------------------------------------ */

typedef struct {
    const char *host;
    size_t host_len;
    const char *path;
    size_t path_len;
    const char *query;
    size_t query_len;
} url_parts_t;

static int split_url(const char *url, url_parts_t *u)
{
    const char *p = strstr(url, "://");
    if (!p) return -1;
    int https = (size_t)(p - url) == 5 && strncasecmp(url, "https", 5) == 0;
    const char *auth = p + 3, *end = auth + strcspn(auth, "/?#");
    const char *at = memchr(auth, '@', (size_t)(end - auth));
    u->host = at ? at + 1 : auth;
    u->host_len = (size_t)(end - u->host);
    /* curl leaves the default port out of Host */
    const char *def = https ? ":443" : ":80";
    size_t dl = strlen(def);
    if (u->host_len > dl && memcmp(end - dl, def, dl) == 0) u->host_len -= dl;
    u->path = end;
    u->path_len = strcspn(end, "?#");
    u->query = u->path + u->path_len;
    u->query_len = 0;
    if (*u->query == '?') {
        u->query++;
        u->query_len = strcspn(u->query, "#");
    }
    return u->host_len ? 0 : -1;
}

/* RFC 3986 dot-segment removal plus empty-segment collapsing, then each
 * segment AWS-encoded (the path as sent, so '%' becomes %25: AWS's
 * "encode twice" for every service but S3). */
static void put_canonical_path(tq_plugin_buf_t *b, const char *path, size_t n)
{
    const char **seg = malloc((n / 2 + 2) * sizeof *seg);
    size_t *len = malloc((n / 2 + 2) * sizeof *len);
    if (!seg || !len) {
        free(seg);
        free(len);
        b->oom = 1;
        return;
    }
    size_t count = 0;
    int trailing = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && path[j] != '/')
            j++;
        size_t l = j - i;
        if (l == 2 && memcmp(path + i, "..", 2) == 0) {
            if (count) count--;
            trailing = 1;
        } else if (l == 0 || (l == 1 && path[i] == '.')) {
            trailing = 1;
        } else {
            seg[count] = path + i;
            len[count++] = l;
            trailing = 0;
        }
        i = j + 1;
        if (j < n && j + 1 == n) trailing = 1;
    }
    tq_plugin_buf_add(b, "/", 1);
    for (size_t k = 0; k < count; k++) {
        if (k) tq_plugin_buf_add(b, "/", 1);
        put_encoded(b, seg[k], len[k], 0);
    }
    if (count && trailing) tq_plugin_buf_add(b, "/", 1);
    free(seg);
    free(len);
}

typedef struct {
    char *key, *value; /* encoded */
} param_t;

static int param_cmp(const void *a, const void *b)
{
    const param_t *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : strcmp(x->value, y->value);
}

static char *encoded_copy(const char *s, size_t n)
{
    tq_plugin_buf_t b = {0};
    put_decoded_encoded(&b, s, n, 0);
    if (!b.data && !b.oom) return strdup("");
    return b.oom ? (free(b.data), NULL) : b.data;
}

static void put_canonical_query(tq_plugin_buf_t *b, const char *q, size_t n)
{
    param_t *ps = calloc(n / 2 + 1, sizeof *ps);
    size_t count = 0;
    if (!ps) {
        b->oom = 1;
        return;
    }
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && q[j] != '&')
            j++;
        if (j > i) {
            const char *eq = memchr(q + i, '=', j - i);
            size_t kl = eq ? (size_t)(eq - (q + i)) : j - i;
            ps[count].key = encoded_copy(q + i, kl);
            ps[count].value = eq ? encoded_copy(eq + 1, (size_t)(q + j - eq - 1)) : strdup("");
            if (!ps[count].key || !ps[count].value) b->oom = 1;
            count++;
        }
        i = j + 1;
    }
    if (!b->oom) qsort(ps, count, sizeof *ps, param_cmp);
    for (size_t k = 0; k < count; k++) {
        if (!b->oom) {
            if (k) tq_plugin_buf_add(b, "&", 1);
            tq_plugin_buf_adds(b, ps[k].key);
            tq_plugin_buf_add(b, "=", 1);
            tq_plugin_buf_adds(b, ps[k].value);
        }
        free(ps[k].key);
        free(ps[k].value);
    }
    free(ps);
}

/* --- headers --------------------------------------------------------------- */

typedef struct {
    char *name;  /* lower case */
    char *value; /* trimmed, inner runs of spaces collapsed */
    size_t order;
} header_t;

static int header_cmp(const void *a, const void *b)
{
    const header_t *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->order > y->order) - (x->order < y->order);
}

static char *lower_copy(const char *s, size_t n)
{
    char *out = malloc(n + 1);
    if (out) {
        for (size_t i = 0; i < n; i++)
            out[i] = (char)tolower((unsigned char)s[i]);
        out[n] = '\0';
    }
    return out;
}

static char *trimmed_copy(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    char *out = malloc(n + 1);
    if (!out) return NULL;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int space = s[i] == ' ' || s[i] == '\t';
        if (space && m && out[m - 1] == ' ') continue;
        out[m++] = space ? ' ' : s[i];
    }
    out[m] = '\0';
    return out;
}

typedef struct {
    header_t *h;
    size_t count, cap;
    int oom;
} headers_t;

static void header_add(headers_t *hs, const char *name, size_t name_len, const char *value)
{
    if (hs->oom) return;
    if (hs->count == hs->cap) {
        size_t cap = hs->cap ? hs->cap * 2 : 16;
        header_t *grown = realloc(hs->h, cap * sizeof *grown);
        if (!grown) {
            hs->oom = 1;
            return;
        }
        hs->h = grown;
        hs->cap = cap;
    }
    header_t *h = &hs->h[hs->count];
    h->name = lower_copy(name, name_len);
    h->value = trimmed_copy(value);
    h->order = hs->count;
    hs->count++;
    if (!h->name || !h->value) hs->oom = 1;
}

/* Request headers left out of the signature: the ones we set ourselves, and
 * those that proxies or the HTTP library may change (as the AWS SDKs do). */
static int unsigned_header(const char *name, const tq_sigv4_key_t *key)
{
    static const char *never[] = {"authorization",     "x-amz-date", "expect",
                                  "transfer-encoding", "user-agent", "x-amzn-trace-id",
                                  "connection"};
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++)
        if (strcasecmp(name, never[i]) == 0) return 1;
    return (key->session_token && strcasecmp(name, "x-amz-security-token") == 0) ||
           (key->content_sha256 && strcasecmp(name, "x-amz-content-sha256") == 0);
}

/* Writes the canonical headers block and the signed header list. */
static void put_headers(tq_plugin_buf_t *canon, tq_plugin_buf_t *signed_list, headers_t *hs)
{
    qsort(hs->h, hs->count, sizeof *hs->h, header_cmp);
    for (size_t i = 0; i < hs->count; i++) {
        int first = i == 0 || strcmp(hs->h[i].name, hs->h[i - 1].name) != 0;
        int last = i + 1 == hs->count || strcmp(hs->h[i].name, hs->h[i + 1].name) != 0;
        if (first) {
            tq_plugin_buf_adds(canon, hs->h[i].name);
            tq_plugin_buf_add(canon, ":", 1);
            if (signed_list->len) tq_plugin_buf_add(signed_list, ";", 1);
            tq_plugin_buf_adds(signed_list, hs->h[i].name);
        } else {
            tq_plugin_buf_add(canon, ",", 1);
        }
        tq_plugin_buf_adds(canon, hs->h[i].value);
        if (last) tq_plugin_buf_add(canon, "\n", 1);
    }
}

/* --- signing ---------------------------------------------------------------- */

static void hmac(const void *key, size_t key_len, const char *msg, unsigned char out[32])
{
    unsigned int n = 32;
    HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)msg, strlen(msg), out, &n);
}

void tq_sigv4_clear(tq_sigv4_t *out)
{
    char **all[] = {&out->canonical_request, &out->string_to_sign, &out->authorization};
    for (size_t i = 0; i < 3; i++) {
        if (*all[i]) explicit_bzero(*all[i], strlen(*all[i]));
        free(*all[i]);
        *all[i] = NULL;
    }
}

int tq_sigv4_sign(const tq_plugin_request_t *req, const tq_sigv4_key_t *key, tq_sigv4_t *out,
                  char *errbuf, size_t errlen)
{
    memset(out, 0, sizeof *out);
    url_parts_t u;
    if (!req->url || split_url(req->url, &u) != 0) {
        snprintf(errbuf, errlen, "cannot find the host in the request URL");
        return -1;
    }
    time_t now = (time_t)req->now;
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out->amz_date, sizeof out->amz_date, "%Y%m%dT%H%M%SZ", &tm);
    char date[9];
    memcpy(date, out->amz_date, 8);
    date[8] = '\0';
    sha256_hex(req->body ? (const void *)req->body : "", req->body_len, out->payload_hash);

    headers_t hs = {0};
    int have_host = 0;
    for (size_t i = 0; i < req->header_count; i++) {
        const char *name = req->headers[i].name;
        if (unsigned_header(name, key)) continue;
        have_host |= strcasecmp(name, "host") == 0;
        header_add(&hs, name, strlen(name), req->headers[i].value ? req->headers[i].value : "");
    }
    if (!have_host) {
        char *host = lower_copy(u.host, u.host_len);
        if (host) header_add(&hs, "host", 4, host);
        free(host);
        hs.oom |= !host;
    }
    header_add(&hs, "x-amz-date", 10, out->amz_date);
    if (key->session_token) header_add(&hs, "x-amz-security-token", 20, key->session_token);
    if (key->content_sha256) header_add(&hs, "x-amz-content-sha256", 20, out->payload_hash);

    tq_plugin_buf_t creq = {0}, canon = {0}, signed_list = {0}, sts = {0}, auth = {0};
    tq_plugin_buf_adds(&creq, req->method);
    tq_plugin_buf_add(&creq, "\n", 1);
    if (strcmp(key->service, "s3") == 0) {
        if (u.path_len)
            put_decoded_encoded(&creq, u.path, u.path_len, 1);
        else
            tq_plugin_buf_add(&creq, "/", 1);
    } else {
        put_canonical_path(&creq, u.path, u.path_len);
    }
    tq_plugin_buf_add(&creq, "\n", 1);
    put_canonical_query(&creq, u.query, u.query_len);
    tq_plugin_buf_add(&creq, "\n", 1);
    put_headers(&canon, &signed_list, &hs);
    tq_plugin_buf_add(&creq, canon.data ? canon.data : "", canon.len);
    tq_plugin_buf_add(&creq, "\n", 1);
    tq_plugin_buf_add(&creq, signed_list.data ? signed_list.data : "", signed_list.len);
    tq_plugin_buf_add(&creq, "\n", 1);
    tq_plugin_buf_adds(&creq, out->payload_hash);

    char scope[256], creq_hash[65];
    snprintf(scope, sizeof scope, "%s/%s/%s/aws4_request", date, key->region, key->service);
    sha256_hex(creq.data ? creq.data : "", creq.len, creq_hash);
    tq_plugin_buf_adds(&sts, "AWS4-HMAC-SHA256\n");
    tq_plugin_buf_adds(&sts, out->amz_date);
    tq_plugin_buf_add(&sts, "\n", 1);
    tq_plugin_buf_adds(&sts, scope);
    tq_plugin_buf_add(&sts, "\n", 1);
    tq_plugin_buf_adds(&sts, creq_hash);

    /* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request") */
    size_t sl = strlen(key->secret_access_key);
    char *k0 = malloc(sl + 5);
    unsigned char k[32], sig[32];
    char sig_hex[65];
    if (k0) {
        memcpy(k0, "AWS4", 4);
        memcpy(k0 + 4, key->secret_access_key, sl + 1);
        hmac(k0, sl + 4, date, k);
        explicit_bzero(k0, sl + 4);
        free(k0);
        hmac(k, 32, key->region, k);
        hmac(k, 32, key->service, k);
        hmac(k, 32, "aws4_request", k);
        hmac(k, 32, sts.data ? sts.data : "", sig);
        explicit_bzero(k, sizeof k);
        hex_of(sig, sizeof sig, sig_hex);
        tq_plugin_buf_adds(&auth, "AWS4-HMAC-SHA256 Credential=");
        tq_plugin_buf_adds(&auth, key->access_key_id);
        tq_plugin_buf_add(&auth, "/", 1);
        tq_plugin_buf_adds(&auth, scope);
        tq_plugin_buf_adds(&auth, ", SignedHeaders=");
        tq_plugin_buf_add(&auth, signed_list.data ? signed_list.data : "", signed_list.len);
        tq_plugin_buf_adds(&auth, ", Signature=");
        tq_plugin_buf_adds(&auth, sig_hex);
    }

    int oom = hs.oom || !k0 || creq.oom || canon.oom || signed_list.oom || sts.oom || auth.oom;
    for (size_t i = 0; i < hs.count; i++) {
        if (hs.h[i].value) explicit_bzero(hs.h[i].value, strlen(hs.h[i].value));
        free(hs.h[i].name);
        free(hs.h[i].value);
    }
    free(hs.h);
    free(canon.data);
    free(signed_list.data);
    out->canonical_request = creq.data;
    out->string_to_sign = sts.data;
    out->authorization = auth.data;
    if (oom) {
        tq_sigv4_clear(out);
        snprintf(errbuf, errlen, "out of memory");
        return -1;
    }
    return 0;
}
