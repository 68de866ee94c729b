/* ssrf.c — the SSRF guard: URL parsing through libcurl's URL API, the
 * blocked-range tables, the allowlist and the connect-time socket check.
 * Owns only the decision "may we connect there"; never opens a connection
 * except the socket curl asks for, and never logs. */
#include "ssrf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HOST_MAX 256

typedef struct {
    uint32_t net;
    int prefix;
    const char *kind;
    const char *cidr;
    int internal; /* a private network: a name allowlist entry may reach it */
} v4_range_t;

/* Checked in order: broadcast sits before the 240/4 block that contains it. */
static const v4_range_t V4_BLOCKED[] = {
    {0x00000000u, 8, "unspecified (\"this network\")", "0.0.0.0/8", 0},
    {0x0A000000u, 8, "private", "10.0.0.0/8", 1},
    {0x64400000u, 10, "carrier-grade NAT (shared address)", "100.64.0.0/10", 1},
    {0x7F000000u, 8, "loopback", "127.0.0.0/8", 0},
    {0xA9FE0000u, 16, "link-local (cloud metadata)", "169.254.0.0/16", 0},
    {0xAC100000u, 12, "private", "172.16.0.0/12", 1},
    {0xC0000000u, 24, "reserved (IETF protocol assignments)", "192.0.0.0/24", 0},
    {0xC0000200u, 24, "documentation", "192.0.2.0/24", 0},
    {0xC0586300u, 24, "reserved (6to4 relay anycast)", "192.88.99.0/24", 0},
    {0xC0A80000u, 16, "private", "192.168.0.0/16", 1},
    {0xC6120000u, 15, "benchmarking", "198.18.0.0/15", 0},
    {0xC6336400u, 24, "documentation", "198.51.100.0/24", 0},
    {0xCB007100u, 24, "documentation", "203.0.113.0/24", 0},
    {0xE0000000u, 4, "multicast", "224.0.0.0/4", 0},
    {0xFFFFFFFFu, 32, "broadcast", "255.255.255.255/32", 0},
    {0xF0000000u, 4, "reserved", "240.0.0.0/4", 0},
};

typedef struct {
    uint8_t net[16];
    int prefix;
    const char *kind;
    const char *cidr;
    int embed;    /* byte offset of an embedded IPv4 address, or -1 */
    int internal; /* a private network: a name allowlist entry may reach it */
} v6_range_t;

#define V6(...)                                                                                    \
    {                                                                                              \
        __VA_ARGS__                                                                                \
    }
/* Checked in order; ranges with an embedded IPv4 address are blocked when
 * that address is, other ranges always. */
static const v6_range_t V6_RANGES[] = {
    {V6(0), 128, "unspecified", "::/128", -1, 0},
    {V6(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1), 128, "loopback", "::1/128", -1, 0},
    {V6(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff), 96, "IPv4-mapped", "::ffff:0:0/96", 12, 0},
    {V6(0), 96, "IPv4-compatible", "::/96", 12, 0},
    {V6(0, 0x64, 0xff, 0x9b), 96, "NAT64", "64:ff9b::/96", 12, 0},
    {V6(0, 0x64, 0xff, 0x9b, 0, 1), 48, "reserved (local-use NAT64)", "64:ff9b:1::/48", -1, 0},
    {V6(0x01, 0x00), 64, "reserved (discard-only)", "100::/64", -1, 0},
    {V6(0x20, 0x01, 0x00, 0x00), 32, "Teredo", "2001::/32", -1, 0},
    {V6(0x20, 0x01, 0x00, 0x10), 28, "reserved (ORCHID)", "2001:10::/28", -1, 0},
    {V6(0x20, 0x01, 0x00, 0x20), 28, "reserved (ORCHIDv2)", "2001:20::/28", -1, 0},
    {V6(0x20, 0x01, 0x0d, 0xb8), 32, "documentation", "2001:db8::/32", -1, 0},
    {V6(0x20, 0x02), 16, "6to4", "2002::/16", 2, 0},
    {V6(0x3f, 0xff), 20, "documentation", "3fff::/20", -1, 0},
    {V6(0xfc), 7, "unique local (private)", "fc00::/7", -1, 1},
    {V6(0xfe, 0x80), 10, "link-local", "fe80::/10", -1, 0},
    {V6(0xfe, 0xc0), 10, "site-local (deprecated)", "fec0::/10", -1, 0},
    {V6(0xff), 8, "multicast", "ff00::/8", -1, 0},
};

typedef struct {
    int family; /* AF_INET, AF_INET6, or 0 for a host name entry */
    uint8_t addr[16];
    int prefix;
    char *name; /* lower case, no trailing dot */
    int suffix; /* "*.name": matches names below name */
} allow_entry_t;

struct tq_ssrf_t {
    allow_entry_t *allow;
    size_t allow_count;
};

/* --- small helpers -------------------------------------------------------- */

static int prefix_match(const uint8_t *a, const uint8_t *net, int prefix)
{
    int full = prefix / 8, rest = prefix % 8;
    if (memcmp(a, net, (size_t)full) != 0) return 0;
    if (rest == 0) return 1;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a[full] & mask) == (net[full] & mask);
}

/* Lower-cases host into out and strips trailing dots. */
static void normalize_name(const char *host, char *out, size_t len)
{
    size_t n = 0;
    for (; host[n] && n + 1 < len; n++)
        out[n] = (char)tolower((unsigned char)host[n]);
    while (n > 0 && out[n - 1] == '.')
        n--;
    out[n] = '\0';
}

static int is_loopback_name(const char *name)
{
    size_t n = strlen(name);
    return strcmp(name, "localhost") == 0 || (n > 10 && strcmp(name + n - 10, ".localhost") == 0);
}

static int name_allowed(const tq_ssrf_t *self, const char *host)
{
    char name[HOST_MAX];
    normalize_name(host, name, sizeof name);
    size_t n = strlen(name);
    for (size_t i = 0; i < self->allow_count; i++) {
        const allow_entry_t *e = &self->allow[i];
        if (e->family != 0) continue;
        if (!e->suffix && strcmp(name, e->name) == 0) return 1;
        size_t m = strlen(e->name);
        if (e->suffix && n > m + 1 && name[n - m - 1] == '.' && strcmp(name + n - m, e->name) == 0)
            return 1;
    }
    return 0;
}

static int addr_allowed(const tq_ssrf_t *self, int family, const uint8_t *addr)
{
    for (size_t i = 0; i < self->allow_count; i++) {
        const allow_entry_t *e = &self->allow[i];
        if (e->family == family && prefix_match(addr, e->addr, e->prefix)) return 1;
    }
    return 0;
}

/* --- allowlist ------------------------------------------------------------ */

static int parse_allow_entry(const char *s, allow_entry_t *e, tq_error_t *err)
{
    char buf[HOST_MAX];
    if (strlen(s) >= sizeof buf)
        return tq_error_set(err, "invalid_config", "ssrf.allow: entry too long");
    snprintf(buf, sizeof buf, "%s", s);
    char *slash = strchr(buf, '/');
    if (slash) *slash = '\0';
    memset(e, 0, sizeof *e);
    if (inet_pton(AF_INET, buf, e->addr) == 1) {
        e->family = AF_INET;
        e->prefix = 32;
    } else if (inet_pton(AF_INET6, buf, e->addr) == 1) {
        e->family = AF_INET6;
        e->prefix = 128;
    }
    if (e->family && slash) {
        char *end;
        long p = strtol(slash + 1, &end, 10);
        if (*end || end == slash + 1 || p < 0 || p > e->prefix)
            return tq_error_set(err, "invalid_config", "ssrf.allow: bad prefix length in '%s'", s);
        e->prefix = (int)p;
    }
    if (e->family) return 0;
    if (slash) return tq_error_set(err, "invalid_config", "ssrf.allow: '%s' is not a CIDR", s);
    const char *name = buf;
    if (strncmp(name, "*.", 2) == 0) {
        e->suffix = 1;
        name += 2;
    }
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_')
            return tq_error_set(err, "invalid_config", "ssrf.allow: '%s' is not a host name", s);
    char norm[HOST_MAX];
    normalize_name(name, norm, sizeof norm);
    if (!norm[0])
        return tq_error_set(err, "invalid_config", "ssrf.allow: empty host name in '%s'", s);
    e->name = strdup(norm);
    return e->name ? 0 : tq_error_set(err, "internal", "out of memory");
}

tq_ssrf_t *tq_ssrf_new(const char *allow, tq_error_t *err)
{
    tq_ssrf_t *self = calloc(1, sizeof *self);
    char *list = strdup(allow ? allow : "");
    if (!self || !list) {
        free(self);
        free(list);
        tq_error_set(err, "internal", "out of memory");
        return NULL;
    }
    char *save = NULL;
    for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*tok))
            tok++;
        char *end = tok + strlen(tok);
        while (end > tok && isspace((unsigned char)end[-1]))
            *--end = '\0';
        if (!*tok) continue;
        allow_entry_t *grown = realloc(self->allow, (self->allow_count + 1) * sizeof *grown);
        if (!grown) {
            tq_error_set(err, "internal", "out of memory");
            goto fail;
        }
        self->allow = grown;
        if (parse_allow_entry(tok, &self->allow[self->allow_count], err) != 0) goto fail;
        self->allow_count++;
    }
    free(list);
    return self;
fail:
    free(list);
    tq_ssrf_destroy(&self);
    return NULL;
}

void tq_ssrf_destroy(tq_ssrf_t **self_p)
{
    if (!self_p || !*self_p) return;
    tq_ssrf_t *self = *self_p;
    for (size_t i = 0; i < self->allow_count; i++)
        free(self->allow[i].name);
    free(self->allow);
    free(self);
    *self_p = NULL;
}

/* --- address checks --------------------------------------------------------- */

static const v4_range_t *v4_blocked(const uint8_t *a)
{
    uint32_t v = ((uint32_t)a[0] << 24) | ((uint32_t)a[1] << 16) | ((uint32_t)a[2] << 8) | a[3];
    for (size_t i = 0; i < sizeof V4_BLOCKED / sizeof V4_BLOCKED[0]; i++) {
        const v4_range_t *r = &V4_BLOCKED[i];
        uint32_t mask = r->prefix ? 0xFFFFFFFFu << (32 - r->prefix) : 0;
        if ((v & mask) == r->net) return r;
    }
    return NULL;
}

/* The subject of a refusal: the address when the caller gave a literal
 * address, else the host name and never the address it resolved to (a
 * resolved address would turn the guard into an oracle for internal DNS). */
static const char *subject(const char *host, const char *text, char *buf, size_t len)
{
    if (!host || !*host || strcmp(host, text) == 0) return text;
    snprintf(buf, len, "%s resolves to an address that", host);
    return buf;
}

static int check_v4(const tq_ssrf_t *self, const uint8_t *a, const char *host, tq_error_t *err)
{
    if (addr_allowed(self, AF_INET, a)) return 0;
    const v4_range_t *r = v4_blocked(a);
    if (!r || (r->internal && host && name_allowed(self, host))) return 0;
    char text[INET_ADDRSTRLEN], pre[HOST_MAX + 40];
    inet_ntop(AF_INET, a, text, sizeof text);
    return tq_error_set(err, "ssrf_blocked", "%s is in a %s range (%s)",
                        subject(host, text, pre, sizeof pre), r->kind, r->cidr);
}

static int check_v6(const tq_ssrf_t *self, const uint8_t *a, const char *host, tq_error_t *err)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (addr_allowed(self, AF_INET6, a) ||
        (memcmp(a, mapped, 12) == 0 && addr_allowed(self, AF_INET, a + 12)))
        return 0;
    char text[INET6_ADDRSTRLEN], pre[HOST_MAX + 40];
    inet_ntop(AF_INET6, a, text, sizeof text);
    const char *w = subject(host, text, pre, sizeof pre);
    for (size_t i = 0; i < sizeof V6_RANGES / sizeof V6_RANGES[0]; i++) {
        const v6_range_t *r = &V6_RANGES[i];
        if (!prefix_match(a, r->net, r->prefix)) continue;
        if (r->embed < 0 && r->internal && host && name_allowed(self, host)) return 0;
        if (r->embed < 0)
            return tq_error_set(err, "ssrf_blocked", "%s is in a %s range (%s)", w, r->kind,
                                r->cidr);
        const v4_range_t *v4 = v4_blocked(a + r->embed);
        if (!v4 || (v4->internal && host && name_allowed(self, host))) return 0;
        return tq_error_set(err, "ssrf_blocked",
                            "%s is in the %s range (%s) and embeds an IPv4 address in a %s range "
                            "(%s)",
                            w, r->kind, r->cidr, v4->kind, v4->cidr);
    }
    if ((a[0] & 0xe0) != 0x20) /* global unicast is 2000::/3; the rest is unassigned */
        return tq_error_set(err, "ssrf_blocked",
                            "%s is in a reserved range (outside global unicast 2000::/3)", w);
    return 0;
}

int tq_ssrf_check_addr(const tq_ssrf_t *self, const struct sockaddr *sa, const char *host,
                       tq_error_t *err)
{
    if (sa->sa_family == AF_INET)
        return check_v4(self, (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr, host,
                        err);
    if (sa->sa_family == AF_INET6)
        return check_v6(self, ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr, host, err);
    return tq_error_set(err, "ssrf_blocked", "%s: address family %d is not allowed",
                        host ? host : "?", (int)sa->sa_family);
}

/* --- hosts and URLs --------------------------------------------------------- */

/* Literal address (any form getaddrinfo accepts numerically): 1 and *out set. */
static int numeric_host(const char *host, struct addrinfo **out)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST};
    return getaddrinfo(host, NULL, &hints, out) == 0;
}

static int check_list(const tq_ssrf_t *self, const struct addrinfo *list, const char *host,
                      tq_error_t *err)
{
    for (const struct addrinfo *ai = list; ai; ai = ai->ai_next)
        if (tq_ssrf_check_addr(self, ai->ai_addr, host, err) != 0) return -1;
    return 0;
}

/* The checks that need no DNS: 1 = decided (rc in *rc), 0 = a name to resolve. */
static int check_without_dns(const tq_ssrf_t *self, const char *host, int *rc, tq_error_t *err)
{
    struct addrinfo *list = NULL;
    if (!*host) {
        *rc = tq_error_set(err, "invalid_url", "empty host");
        return 1;
    }
    if (numeric_host(host, &list)) {
        *rc = check_list(self, list, host, err);
        freeaddrinfo(list);
        return 1;
    }
    char name[HOST_MAX];
    normalize_name(host, name, sizeof name);
    if (is_loopback_name(name)) {
        *rc = tq_error_set(err, "ssrf_blocked", "%s is a loopback host name", host);
        return 1;
    }
    return 0;
}

int tq_ssrf_check_host(const tq_ssrf_t *self, const char *host, tq_error_t *err)
{
    int rc;
    if (check_without_dns(self, host, &rc, err)) return rc;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *list = NULL;
    int gai = getaddrinfo(host, NULL, &hints, &list);
    if (gai != 0)
        return tq_error_set(err, "dns_failed", "cannot resolve %s: %s", host, gai_strerror(gai));
    rc = check_list(self, list, host, err);
    freeaddrinfo(list);
    return rc;
}

int tq_ssrf_parse_url(const char *url, char *host, size_t host_len, tq_error_t *err)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *h = NULL;
    int rc = -1;
    if (!u) return tq_error_set(err, "internal", "out of memory");
    CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME);
    if (uc != CURLUE_OK) {
        tq_error_set(err, "invalid_url", "cannot parse URL: %s", curl_url_strerror(uc));
        goto done;
    }
    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
    if (!scheme || (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0)) {
        tq_error_set(err, "ssrf_blocked", "scheme %s is not allowed (only http and https)",
                     scheme ? scheme : "(none)");
        goto done;
    }
    if (curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK || !h || !*h) {
        tq_error_set(err, "invalid_url", "URL has no host");
        goto done;
    }
    size_t n = strlen(h);
    const char *start = h;
    if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
        start = h + 1;
        n -= 2;
    }
    if (n >= host_len) {
        tq_error_set(err, "invalid_url", "host name too long");
        goto done;
    }
    memcpy(host, start, n);
    host[n] = '\0';
    rc = 0;
done:
    curl_free(scheme);
    curl_free(h);
    curl_url_cleanup(u);
    return rc;
}

int tq_ssrf_url_origin(const char *url, char *out, size_t len)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL;
    int rc = -1;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
        int n = snprintf(out, len, "%s://%s:%s", scheme, host, port);
        for (char *p = out; *p; p++)
            if (*p >= 'A' && *p <= 'Z') *p = (char)(*p + 32);
        rc = n > 0 && (size_t)n < len ? 0 : -1;
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return rc;
}

const char *tq_ssrf_url_for_message(const char *url, char *out, size_t len)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
    if (u && curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
        curl_url_get(u, CURLUPART_PORT, &port, 0);
        curl_url_get(u, CURLUPART_PATH, &path, 0);
        snprintf(out, len, "%s://%s%s%s%s", scheme, host, port ? ":" : "", port ? port : "",
                 path ? path : "");
    } else {
        snprintf(out, len, "(invalid URL)");
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_url_cleanup(u);
    return out;
}

int tq_ssrf_check_url(const tq_ssrf_t *self, const char *url, tq_error_t *err)
{
    char host[HOST_MAX];
    if (tq_ssrf_parse_url(url, host, sizeof host, err) != 0) return -1;
    return tq_ssrf_check_host(self, host, err);
}

/* --- libcurl hookup --------------------------------------------------------- */

/* The port of url, the scheme's default when it names none. */
static int url_port(const char *url, long *port)
{
    CURLU *u = curl_url();
    char *p = NULL;
    int rc = -1;
    if (u && curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) == CURLUE_OK && p) {
        *port = strtol(p, NULL, 10);
        rc = *port > 0 && *port < 65536 ? 0 : -1;
    }
    curl_free(p);
    curl_url_cleanup(u);
    return rc;
}

static curl_socket_t open_checked_socket(void *clientp, curlsocktype purpose,
                                         struct curl_sockaddr *addr)
{
    tq_ssrf_curl_t *ctx = clientp;
    (void)purpose;
    /* with a proxy this is the proxy's address: allowlist the proxy */
    if (tq_ssrf_check_addr(ctx->guard, &addr->addr, ctx->host, &ctx->error) != 0)
        return CURL_SOCKET_BAD;
    return socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
}

int tq_ssrf_curl_setup(const tq_ssrf_t *self, CURL *easy, const char *url, tq_ssrf_curl_t *ctx,
                       tq_error_t *err)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->guard = self;
    if (tq_ssrf_parse_url(url, ctx->host, sizeof ctx->host, err) != 0) return -1;
    int rc;
    if (check_without_dns(self, ctx->host, &rc, err) && rc != 0) return -1;
    if (url_port(url, &ctx->port) != 0) return tq_error_set(err, "invalid_url", "bad port");
    curl_easy_setopt(easy, CURLOPT_CONNECT_TO, NULL); /* a previous hop's pin */
    curl_easy_setopt(easy, CURLOPT_HTTPPROXYTUNNEL, 0L);
    if (curl_easy_setopt(easy, CURLOPT_URL, url) != CURLE_OK ||
        curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
        curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK ||
        curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
        curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, open_checked_socket) != CURLE_OK ||
        curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, ctx) != CURLE_OK)
        return tq_error_set(err, "internal", "cannot configure the HTTP client");
    return 0;
}

int tq_ssrf_curl_proxy(const tq_ssrf_t *self, CURL *easy, const char *proxy, tq_ssrf_curl_t *ctx,
                       tq_error_t *err)
{
    curl_slist_free_all(ctx->pin);
    ctx->pin = NULL;
    if (curl_easy_setopt(easy, CURLOPT_PROXY, proxy ? proxy : "") != CURLE_OK)
        return tq_error_set(err, "internal", "cannot configure the HTTP client");
    if (!proxy || !*proxy) return 0;
    /* The proxy would resolve the target itself: resolve and check it here,
     * then have the proxy tunnel to the approved address only. */
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *list = NULL;
    int gai = getaddrinfo(ctx->host, NULL, &hints, &list);
    if (gai != 0)
        return tq_error_set(err, "dns_failed", "cannot resolve %s: %s", ctx->host,
                            gai_strerror(gai));
    int rc = check_list(self, list, ctx->host, err);
    char addr[INET6_ADDRSTRLEN + 2] = "";
    if (rc == 0) {
        char text[INET6_ADDRSTRLEN];
        const struct sockaddr *sa = list->ai_addr;
        if (sa->sa_family == AF_INET6) {
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, text, sizeof text);
            snprintf(addr, sizeof addr, "[%s]", text);
        } else {
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, text, sizeof text);
            snprintf(addr, sizeof addr, "%s", text);
        }
    }
    freeaddrinfo(list);
    if (rc != 0) return -1;
    char entry[HOST_MAX + sizeof addr + 32];
    /* an IPv6 host in CONNECT_TO's first field is written in brackets */
    int v6 = strchr(ctx->host, ':') != NULL;
    snprintf(entry, sizeof entry, "%s%s%s:%ld:%s:%ld", v6 ? "[" : "", ctx->host, v6 ? "]" : "",
             ctx->port, addr, ctx->port);
    ctx->pin = curl_slist_append(NULL, entry);
    if (!ctx->pin || curl_easy_setopt(easy, CURLOPT_CONNECT_TO, ctx->pin) != CURLE_OK ||
        curl_easy_setopt(easy, CURLOPT_HTTPPROXYTUNNEL, 1L) != CURLE_OK)
        return tq_error_set(err, "internal", "cannot configure the HTTP client");
    return 0;
}

void tq_ssrf_curl_done(tq_ssrf_curl_t *ctx)
{
    curl_slist_free_all(ctx->pin);
    ctx->pin = NULL;
}
