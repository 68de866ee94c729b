/* cli.h — what the toolq command's subcommands share: global options, the
 * connected client, output helpers and exit codes. */
#ifndef TQ_CLI_H
#define TQ_CLI_H

#include "toolq/client.h"
#include <jansson.h>
#include <stdbool.h>

/* Exit codes (documented in README). */
#define TQ_EXIT_OK 0
#define TQ_EXIT_FAILED 1 /* the job failed (or was refused) */
#define TQ_EXIT_USAGE 2
#define TQ_EXIT_UNREACHABLE 3 /* broker unreachable or timed out */

typedef struct {
    tq_client_t *client;
    bool json;
    int timeout_ms;
} tq_cli_t;

typedef struct {
    const char *name;
    const char *usage;                                /* one line: arguments */
    const char *help;                                 /* one line: what it does */
    int (*run)(tq_cli_t *cli, int argc, char **argv); /* argv[0] = command name */
} tq_cli_command_t;

/* Prints a client error and maps the return code to an exit code. */
int tq_cli_fail(tq_cli_t *cli, int rc);
/* Prints a job (human form, or one JSON object with --json) and returns
 * TQ_EXIT_OK when it succeeded (or is still open), TQ_EXIT_FAILED otherwise. */
int tq_cli_print_job(tq_cli_t *cli, const tq_job_info_t *job);
int tq_cli_usage_error(const char *cmd, const char *fmt, const char *arg);
/* One line from stdin without its line ending (a secret typed or piped in);
 * malloc'd, NULL at end of input. */
char *tq_cli_read_line(void);
/* Reads a whole file (or "-" for stdin); malloc'd, NUL-terminated. */
char *tq_cli_read_file(const char *path, size_t *len);

#endif
