/* http.h — the broker's HTTP listener (libmicrohttpd): the /v1 API (api.c),
 * GET /oauth/start, /oauth/callback, /healthz and /metrics on http.listen (default
 * 127.0.0.1:8765; "" disables). It is just another client of the broker's
 * frontend: every answer comes from a job or a (cached) STATS request sent
 * through libtoolq, never from the broker's memory; the OAuth state checks
 * before a job use oauth_gate.c's own database connection. Runs on its own
 * threads; the broker loop never waits for it. */
#ifndef TQ_HTTP_H
#define TQ_HTTP_H

#include <stdbool.h>

#include "config.h"
#include "error.h"

typedef struct tq_http_t tq_http_t;

/* Reads its settings (http.listen, http.max_connections,
 * http.connection_timeout_s, http.tls_cert, http.tls_key, http.allow_plaintext
 * — a non-loopback listen address needs TLS or allow_plaintext —, the /v1
 * API's (api.h), http.callback_timeout_ms, http.stats_cache_ms,
 * http.oauth_rate_per_minute, http.oauth_rate_burst, http.allowed_hosts,
 * oauth.redirect_uri, oauth.return_url, oauth.state_ttl_s, broker.frontend,
 * database.url), binds and starts serving. Returns NULL with err set
 * ("invalid_config", "bind_failed") on failure, and NULL with err cleared when
 * http.listen is empty (disabled). Call from the thread that owns cfg. */
tq_http_t *tq_http_new(tq_config_t *cfg, tq_error_t *err);
/* Stops accepting, lets in-flight requests end (bounded) and frees. */
void tq_http_destroy(tq_http_t **self_p);

/* Exposed for unit tests: the pieces with no I/O. */
/* Parses "host:port", "[v6]:port" or "localhost:port" into a socket address
 * (sockaddr_in or sockaddr_in6 in out, len in *outlen). */
struct sockaddr;
int tq_http_parse_listen(const char *listen, struct sockaddr *out, unsigned *outlen,
                         tq_error_t *err);
/* Whether a Host header names one of allowed ("host[:port]" entries, comma
 * separated; host names case-insensitive; no port = 443 when https, else 80). */
bool tq_http_host_ok(const char *host_header, const char *allowed, bool https);
/* HTML-escapes s (& < > " ' and control characters); malloc'd. */
char *tq_http_html_escape(const char *s);
/* Renders a STATS JSON text as Prometheus text exposition 0.0.4; malloc'd,
 * NULL when the JSON is not a STATS object. */
char *tq_http_metrics_text(const char *stats_json);

#endif
