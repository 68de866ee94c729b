/* output.c — how the toolq command prints jobs and errors: human text on a
 * terminal, one JSON object per result with --json. Never prints secrets:
 * results are what the broker returned, already masked by the workers. */
#include "cli.h"

#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int tq_cli_usage_error(const char *cmd, const char *fmt, const char *arg)
{
    fprintf(stderr, "toolq %s: ", cmd);
    fprintf(stderr, fmt, arg ? arg : "");
    fprintf(stderr, "\n(see toolq --help)\n");
    return TQ_EXIT_USAGE;
}

int tq_cli_fail(tq_cli_t *cli, int rc)
{
    const char *code = tq_client_error_code(cli->client);
    const char *msg = tq_client_error_message(cli->client);
    if (cli->json) {
        json_t *o = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
        json_dumpf(o, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(o);
    } else {
        fprintf(stderr, "toolq: %s: %s\n", code, msg);
    }
    /* a refusal or an unreachable broker: the code's exit status (errcodes.txt) */
    return rc == TQ_CLIENT_ERROR ? TQ_EXIT_USAGE : tq_error_exit_code(code);
}

static bool job_ok(const tq_job_info_t *j)
{
    return j->state && (strcmp(j->state, "succeeded") == 0 || strcmp(j->state, "queued") == 0 ||
                        strcmp(j->state, "running") == 0);
}

int tq_cli_print_job(tq_cli_t *cli, const tq_job_info_t *j)
{
    json_error_t jerr;
    json_t *result = j->result ? json_loads(j->result, JSON_DECODE_ANY, &jerr) : NULL;
    if (cli->json) {
        json_t *o = json_pack("{s:s,s:s?,s:s?,s:i}", "id", j->id, "op", j->op, "state", j->state,
                              "attempts", j->attempts);
        json_object_set_new(o, "result", result ? result : json_null());
        json_object_set_new(o, "error",
                            j->error_code ? json_pack("{s:s,s:s?}", "code", j->error_code,
                                                      "message", j->error_message)
                                          : json_null());
        json_dumpf(o, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(o);
    } else {
        printf("job %s %s: %s (attempts %d)\n", j->id, j->op ? j->op : "", j->state, j->attempts);
        if (j->error_code)
            printf("error %s: %s\n", j->error_code, j->error_message ? j->error_message : "");
        if (result) {
            size_t flags = isatty(STDOUT_FILENO) ? JSON_INDENT(2) : JSON_COMPACT;
            json_dumpf(result, stdout, flags | JSON_ENCODE_ANY);
            fputc('\n', stdout);
        }
        json_decref(result);
    }
    return job_ok(j) ? TQ_EXIT_OK : TQ_EXIT_FAILED;
}

char *tq_cli_read_file(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap + 1);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            cap *= 2;
            char *nb = realloc(buf, cap + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
            }
            buf = nb;
        }
    }
    if (f != stdin) fclose(f);
    if (buf) {
        buf[n] = '\0';
        if (len) *len = n;
    }
    return buf;
}

char *tq_cli_read_line(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) {
        free(line);
        return NULL;
    }
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    return line;
}
