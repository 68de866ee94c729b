/* cmd_mcp.c — `toolq mcp --tenant T [--tools PATTERNS]`: the MCP stdio
 * transport for desktop agents. Reads newline-delimited JSON-RPC messages on
 * stdin, hands each to the MCP engine (mcp/mcp.c, the same engine the
 * broker's /mcp endpoint uses) and writes its answers, one per line, on
 * stdout. tools/call runs on a thread of its own, so a ping or a
 * notifications/cancelled is read while a call is in flight; at most
 * MCP_STDIO_MAX_CALLS at once (the reader waits for a free slot). Jobs run as
 * this process's uid, which the broker maps to a principal.
 * Owns: the stdin reader, the stdout writer (one line at a time, under a lock).
 * Must never: write anything but MCP messages on stdout (diagnostics go to
 * stderr); implement MCP methods itself. */
#include "cli.h"
#include "mcp.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MCP_STDIO_MAX_CALLS 32
#define MCP_STDIO_MAX_LINE (4 * 1024 * 1024) /* one message, bytes */
#define MCP_STDIO_PAGE_SIZE 100
#define MCP_STDIO_CALL_TIMEOUT_MS 300000

typedef struct {
    pthread_mutex_t out_mu, mu;
    pthread_cond_t cv;
    int running; /* call threads alive */
    tq_mcp_t *mcp;
} stdio_t;

typedef struct {
    stdio_t *io;
    json_t *msg;
} call_t;

static void write_msg(void *arg, const json_t *msg)
{
    stdio_t *io = arg;
    char *text = json_dumps(msg, JSON_COMPACT);
    if (!text) return;
    pthread_mutex_lock(&io->out_mu);
    fputs(text, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    pthread_mutex_unlock(&io->out_mu);
    free(text);
}

static void answer(stdio_t *io, const json_t *msg)
{
    json_t *res = tq_mcp_handle(io->mcp, msg, write_msg, io);
    if (res) write_msg(io, res);
    json_decref(res);
}

static void *call_thread(void *arg)
{
    call_t *c = arg;
    answer(c->io, c->msg);
    json_decref(c->msg);
    pthread_mutex_lock(&c->io->mu);
    c->io->running--;
    pthread_cond_broadcast(&c->io->cv);
    pthread_mutex_unlock(&c->io->mu);
    free(c);
    return NULL;
}

/* tools/call on its own thread; anything else answered inline. */
static void dispatch(stdio_t *io, json_t *msg)
{
    const char *method = json_string_value(json_object_get(msg, "method"));
    if (!method || strcmp(method, "tools/call") != 0 || !tq_mcp_is_request(msg)) {
        answer(io, msg);
        return;
    }
    call_t *c = malloc(sizeof *c);
    pthread_mutex_lock(&io->mu);
    while (io->running >= MCP_STDIO_MAX_CALLS)
        pthread_cond_wait(&io->cv, &io->mu);
    io->running++;
    pthread_mutex_unlock(&io->mu);
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (c) {
        c->io = io;
        c->msg = json_incref(msg);
    }
    if (!c || pthread_create(&t, &attr, call_thread, c) != 0) {
        if (c) json_decref(c->msg);
        free(c);
        pthread_mutex_lock(&io->mu);
        io->running--;
        pthread_mutex_unlock(&io->mu);
        answer(io, msg); /* no thread: answer inline */
    }
    pthread_attr_destroy(&attr);
}

int tq_cmd_mcp(tq_cli_t *cli, int argc, char **argv)
{
    const char *tenant = NULL, *tools = NULL;
    for (int i = 1; i < argc; i++) {
        bool has = i + 1 < argc;
        if (strcmp(argv[i], "--tenant") == 0 && has)
            tenant = argv[++i];
        else if (strcmp(argv[i], "--tools") == 0 && has)
            tools = argv[++i];
        else
            return tq_cli_usage_error("mcp", "unexpected argument %s", argv[i]);
    }
    tq_error_t err = {0};
    tq_mcp_opts_t o = {.endpoint = tq_client_endpoint(cli->client),
                       .tenant = tenant,
                       .tools = tools,
                       .list_changed = false,
                       .page_size = MCP_STDIO_PAGE_SIZE,
                       .call_timeout_ms = MCP_STDIO_CALL_TIMEOUT_MS};
    stdio_t io = {.mcp = tq_mcp_new(&o, &err)};
    if (!io.mcp) {
        fprintf(stderr, "toolq mcp: %s: %s\n", err.code, err.message);
        return TQ_EXIT_USAGE;
    }
    pthread_mutex_init(&io.out_mu, NULL);
    pthread_mutex_init(&io.mu, NULL);
    pthread_cond_init(&io.cv, NULL);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (!n) continue;
        if (n > MCP_STDIO_MAX_LINE) {
            json_t *e = tq_mcp_error(NULL, -32600, "message larger than 4 MiB");
            write_msg(&io, e);
            json_decref(e);
            continue;
        }
        json_error_t jerr;
        json_t *msg = json_loadb(line, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
        if (!msg) {
            json_t *e = tq_mcp_error(NULL, -32700, "Parse error: not a JSON text");
            write_msg(&io, e);
            json_decref(e);
            continue;
        }
        dispatch(&io, msg);
        json_decref(msg);
    }
    free(line);
    /* end of input: let the calls in flight answer, then leave */
    pthread_mutex_lock(&io.mu);
    while (io.running > 0)
        pthread_cond_wait(&io.cv, &io.mu);
    pthread_mutex_unlock(&io.mu);
    tq_mcp_destroy(&io.mcp);
    pthread_cond_destroy(&io.cv);
    pthread_mutex_destroy(&io.mu);
    pthread_mutex_destroy(&io.out_mu);
    return TQ_EXIT_OK;
}
