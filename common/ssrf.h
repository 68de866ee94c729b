/* ssrf.h — the one SSRF guard for every outbound request.
 *
 * Only http and https. A URL is parsed with libcurl's URL API (so we see the
 * host exactly as curl will), then every address of the host is checked
 * against loopback, private, link-local (cloud metadata), CGNAT, multicast,
 * unspecified, reserved, documentation, benchmarking, IPv6 ULA/link-local and
 * the IPv6 forms that embed an IPv4 address (mapped, compatible, NAT64, 6to4;
 * Teredo is blocked outright). The address curl actually connects to is
 * checked again in CURLOPT_OPENSOCKETFUNCTION, which defeats DNS rebinding.
 * An allowlist of CIDRs and host names (config `ssrf.allow`, env
 * TOOLQ_SSRF_ALLOW; empty by default) lets trusted internal targets through:
 * a CIDR entry opens its addresses to every host; a name entry does not skip
 * the address check, it only lets that name reach private networks (10/8,
 * 172.16/12, 192.168/16, 100.64/10, fc00::/7); loopback, link-local (cloud
 * metadata) and the other ranges stay closed to it unless a CIDR opens them.
 *
 * Error codes: "ssrf_blocked" (message names the range and the host as the
 * caller wrote it, never an address a name resolved to: "10.0.0.5 is in a
 * private range (10.0.0.0/8)", "db.corp resolves to an address that is in a
 * private range (10.0.0.0/8)"), "invalid_url",
 * "dns_failed" (a host that cannot be resolved is never let through).
 * A guard is immutable after tq_ssrf_new: share one between threads/handles.
 * Never follows redirects itself; callers check each Location with the guard. */
#ifndef TQ_SSRF_H
#define TQ_SSRF_H

#include "error.h"

#include <curl/curl.h>
#include <sys/socket.h>

typedef struct tq_ssrf_t tq_ssrf_t;

/* allow: comma-separated CIDRs ("127.0.0.1/32", "fd00::/8", a bare address
 * means /32 or /128), host names ("api.internal") and suffix patterns
 * ("*.internal" matches any name below internal). NULL or "" = empty.
 * Returns NULL with "invalid_config" when an entry cannot be parsed. */
tq_ssrf_t *tq_ssrf_new(const char *allow, tq_error_t *err);
void tq_ssrf_destroy(tq_ssrf_t **self_p);

/* Parses url; fails "invalid_url" when it does not parse or has no host,
 * "ssrf_blocked" when the scheme is not http/https. On success copies the
 * host (brackets stripped for IPv6, no zone id) into host. */
int tq_ssrf_parse_url(const char *url, char *host, size_t host_len, tq_error_t *err);

/* Origin of an absolute URL, "scheme://host:port" in lower case with the
 * scheme's default port filled in, into out (TQ_ORIGIN_MAX is enough for
 * any host curl accepts); 0, or -1 when url does not parse. */
#define TQ_ORIGIN_MAX 600
int tq_ssrf_url_origin(const char *url, char *out, size_t len);

/* The URL as it may appear in an error message (error messages are stored
 * in clear): scheme, host, port and path only, never the userinfo, query
 * or fragment, which may carry tokens. A URL that does not parse becomes
 * "(invalid URL)". Writes at most len bytes into out and returns out. */
const char *tq_ssrf_url_for_message(const char *url, char *out, size_t len);

/* The full check, blocking on DNS: parse, scheme, then tq_ssrf_check_host. */
int tq_ssrf_check_url(const tq_ssrf_t *self, const char *url, tq_error_t *err);

/* A literal address -> checked. A name -> loopback names (localhost,
 * *.localhost) blocked, else resolved with getaddrinfo and EVERY address
 * checked (a name allowlist entry only opens private networks to it). */
int tq_ssrf_check_host(const tq_ssrf_t *self, const char *host, tq_error_t *err);

/* Checks one address (AF_INET or AF_INET6; any other family is blocked).
 * host (may be NULL) words the message and, when it matches a name entry
 * of the allowlist, opens the private networks. */
int tq_ssrf_check_addr(const tq_ssrf_t *self, const struct sockaddr *sa, const char *host,
                       tq_error_t *err);

/* Per-transfer state for the libcurl hookup; embed it in the caller's
 * request object; it must outlive the transfer. After a transfer fails with
 * CURLE_COULDNT_CONNECT, tq_error_is_set(&ctx.error) tells it was the guard. */
typedef struct {
    const tq_ssrf_t *guard;
    char host[256];
    long port;              /* the URL's port (the scheme's default filled in) */
    struct curl_slist *pin; /* CURLOPT_CONNECT_TO with a proxy (tq_ssrf_curl_proxy) */
    tq_error_t error;
} tq_ssrf_curl_t;

/* Prepares an easy handle for url: checks the scheme and the host without
 * blocking (literal addresses and loopback names now; names are resolved by
 * curl and every address is checked before connecting), then sets
 * CURLOPT_URL, CURLOPT_PROTOCOLS_STR and CURLOPT_REDIR_PROTOCOLS_STR
 * "http,https", CURLOPT_FOLLOWLOCATION 0 and the socket check. Call again
 * (same handle, same ctx; tq_ssrf_curl_done first) for every redirect hop.
 * The socket check sees the address curl connects to: with a proxy that is
 * the proxy, which must be allowlisted; tq_ssrf_curl_proxy checks the target. */
int tq_ssrf_curl_setup(const tq_ssrf_t *self, CURL *easy, const char *url, tq_ssrf_curl_t *ctx,
                       tq_error_t *err);

/* Sets CURLOPT_PROXY (NULL or "" = direct; call it after tq_ssrf_curl_setup
 * for every hop). With a proxy the proxy, not curl, would resolve the
 * target: so the target host is resolved here (blocking), EVERY address is
 * checked, and the transfer is pinned to the first one: CURLOPT_CONNECT_TO
 * host:port:address:port with CURLOPT_HTTPPROXYTUNNEL, so the proxy is asked
 * to CONNECT to that approved address and never to a name. */
int tq_ssrf_curl_proxy(const tq_ssrf_t *self, CURL *easy, const char *proxy, tq_ssrf_curl_t *ctx,
                       tq_error_t *err);
/* Frees what tq_ssrf_curl_proxy kept for the transfer (after it ended). */
void tq_ssrf_curl_done(tq_ssrf_curl_t *ctx);

#endif
