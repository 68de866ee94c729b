/* mcp.h — the Model Context Protocol engine: one MCP session of one tenant,
 * speaking JSON-RPC 2.0 messages (already parsed) and answering them by
 * submitting jobs to the broker's frontend through libtoolq. Both transports
 * use it: the broker's Streamable HTTP endpoint /mcp (broker/mcp_http.c) and
 * `toolq mcp` on stdin/stdout (cli/cmd_mcp.c). It knows nothing about
 * transports, API keys or sockets other than its libtoolq clients.
 *
 * Methods: initialize (protocol revisions TQ_MCP_VERSIONS, newest first; an
 * unknown requested revision gets the newest), ping, tools/list (pages of
 * mcp.page_size with an opaque cursor), tools/call (an `invoke` job; progress
 * notifications every second while it runs when the request has a
 * progressToken), notifications/initialized, notifications/cancelled (CANCEL of
 * the call's job; the call then gets no response). Tool names follow the
 * OpenAI naming rule of `tools.list --format openai` (the same code):
 * [A-Za-z0-9_-]{1,64}, unique in the session, the provider's name as a prefix
 * on collision.
 *
 * Thread safety: tq_mcp_handle may run on several threads at once for one
 * session (a call in flight while a cancellation or a ping arrives). */
#ifndef TQ_MCP_H
#define TQ_MCP_H

#include <jansson.h>
#include <stdbool.h>

#include "error.h"

/* Newest first; the first one is what an unknown request gets. */
#define TQ_MCP_VERSIONS                                                                            \
    {                                                                                              \
        "2025-11-25", "2025-06-18", "2025-03-26", NULL                                             \
    }
#define TQ_MCP_OLDEST_VERSION "2025-03-26"

typedef struct tq_mcp_t tq_mcp_t;

typedef struct {
    const char *endpoint;    /* broker frontend; NULL: libtoolq's default */
    const char *tenant;      /* NULL: the principal's own (one-tenant principals) */
    const char *tools;       /* comma-separated "provider/operation" globs; NULL or "": all */
    const char *behalf_role; /* set: every job is made on behalf of this principal (an API
                              * key's role; the HTTP transport) — tq_client_set_on_behalf */
    const char *behalf_name; /* the principal's name for logs */
    bool list_changed;       /* the transport can deliver notifications/tools/list_changed */
    int page_size;           /* tools per tools/list page (mcp.page_size) */
    int call_timeout_ms;     /* longest wait for a tools/call (mcp.call_timeout_ms) */
    int max_description;     /* characters of a tool description (import.max_description) */
} tq_mcp_opts_t;

/* Sends one notification (a JSON-RPC message without id) while a request
 * runs, e.g. notifications/progress. Borrowed: copy what you keep. */
typedef void (*tq_mcp_emit_fn)(void *arg, const json_t *msg);

/* NULL with err set (invalid_argument) on a bad opts->tools pattern list. */
tq_mcp_t *tq_mcp_new(const tq_mcp_opts_t *opts, tq_error_t *err);
void tq_mcp_destroy(tq_mcp_t **self_p);

/* Handles one message: a request (returns its response), a notification or
 * a response from the client (returns NULL). A request that was cancelled
 * returns NULL too. emit may be NULL (no progress). Caller json_decrefs. */
json_t *tq_mcp_handle(tq_mcp_t *self, const json_t *msg, tq_mcp_emit_fn emit, void *arg);

/* The JSON-RPC error response for a message that could not be handled
 * (code -32700 parse error, -32600 invalid request ...); id may be NULL. */
json_t *tq_mcp_error(const json_t *id, int code, const char *message);

/* The revision initialize settled on (NULL before initialize). */
const char *tq_mcp_version(tq_mcp_t *self);
/* Whether s is a revision the engine speaks. */
bool tq_mcp_version_known(const char *s);
/* Whether msg is a request (has a method and an id). */
bool tq_mcp_is_request(const json_t *msg);
/* Forgets the tool catalogue (a provider of the tenant changed). */
void tq_mcp_tools_changed(tq_mcp_t *self);
/* Whether "provider/operation" is allowed by a pattern list as in opts->tools. */
bool tq_mcp_tool_allowed(const char *patterns, const char *provider, const char *operation);

#endif
