/* mcp_http.h — the MCP Streamable HTTP transport at /mcp on the broker's
 * HTTP listener (broker/http.c dispatches the path here). Every request is
 * authenticated first (Authorization: Bearer <API key>, broker/apikey.c),
 * then its Origin is checked; only then is a body read, a session looked up
 * or a job submitted. The protocol itself is the MCP engine (mcp/mcp.c),
 * the same code `toolq mcp` runs over stdio. docs/mcp.md describes it. */
#ifndef TQ_MCP_HTTP_H
#define TQ_MCP_HTTP_H

#include <microhttpd.h>
#include <stdbool.h>

#include "apikey.h"
#include "config.h"
#include "error.h"

typedef struct tq_mcp_http_t tq_mcp_http_t;

/* Reads mcp.max_sessions, mcp.session_idle_s, mcp.page_size,
 * mcp.call_timeout_ms, http.max_body_bytes, import.max_description,
 * database.url (the provider change listener and the API keys) and
 * apikey.*. hosts: the Host values the listener accepts (an Origin must name
 * one of them); https: the listener's public URL is https; keys: the API's
 * key store (borrowed: it outlives this, tq_api_keys). NULL with err set
 * (invalid_config) when a setting is out of range. */
tq_mcp_http_t *tq_mcp_http_new(tq_config_t *cfg, const char *frontend, const char *hosts,
                               bool https, tq_apikeys_t *keys, tq_error_t *err);
/* Ends every session and stream (call after the daemon stopped accepting). */
void tq_mcp_http_destroy(tq_mcp_http_t **self_p);
/* Tells open streams to end (the listener is stopping). */
void tq_mcp_http_stop(tq_mcp_http_t *self);

/* Whether conn is in the middle of a /mcp request this module accepted
 * (its body is being read): http.c hands such calls over before its own
 * checks, which ran on the request's first call. */
bool tq_mcp_http_continues(struct MHD_Connection *conn);
/* Serves one libmicrohttpd callback of a /mcp request (POST, GET, DELETE). */
enum MHD_Result tq_mcp_http_serve(tq_mcp_http_t *self, struct MHD_Connection *conn,
                                  const char *method, const char *upload_data,
                                  size_t *upload_data_size);

#endif
