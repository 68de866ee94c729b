/* api.h — the HTTP/JSON API under /v1 on the broker's HTTP listener
 * (docs/api.md): jobs, providers, tools, tool calls, credentials, OAuth
 * authorization, whoami and its own OpenAPI 3.1 description. http.c hands it
 * every request whose path starts with /v1 (after the Host check).
 *
 * Every request is authenticated first (broker/apikey.c: Authorization:
 * Bearer <key>, then the key's rate limit), before its body is read; then
 * it becomes jobs and job requests made through libtoolq on behalf of the
 * key's principal (tq_client_set_on_behalf), so the broker applies the op
 * catalogue's roles exactly as for an ipc peer. Errors are RFC 9457
 * problem+json carrying toolq's error code, the HTTP status following the
 * code's class in common/errcodes.txt. Runs on listener threads only. */
#ifndef TQ_API_H
#define TQ_API_H

#include <microhttpd.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "error.h"

typedef struct tq_api_t tq_api_t;

/* Reads http.max_body_bytes, http.max_wait_s, http.listen (the description's
 * server), broker.frontend and the apikey.* settings. stopping: set by the
 * listener at shutdown (waits end within a second). */
tq_api_t *tq_api_new(tq_config_t *cfg, const atomic_bool *stopping, tq_error_t *err);
void tq_api_destroy(tq_api_t **self_p);

/* The libmicrohttpd access handler for a /v1 request: *req is the request's
 * state (tq_api_request_new). */
enum MHD_Result tq_api_request(tq_api_t *api, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *upload_data,
                               size_t *upload_data_size, void **req);
/* The API key checker the routes use (apikey.h): other endpoints of the
 * listener (MCP) share it, so a key has one rate bucket whatever it calls. */
struct tq_apikeys_t *tq_api_keys(tq_api_t *api);

/* A new request's state (NULL: out of memory), for *req before the first
 * call. */
void *tq_api_request_new(void);
/* Frees a request's state (from the listener's completion callback). */
void tq_api_request_done(void *req);

/* Exposed for unit tests: the HTTP status of an error code (by its class in
 * the registry, with the few codes HTTP names itself). */
unsigned tq_api_status_of(const char *code);
/* The API's OpenAPI 3.1 description (JSON text, malloc'd): every route, and
 * the op catalogue as the enum of POST /v1/jobs. server: its servers[0].url. */
char *tq_api_openapi(const char *server);

#endif
