/* main.c — toolq-broker: configuration (flags > environment > file >
 * defaults), --print-config, then the broker loop. The configuration flags
 * it was given are passed on to every worker it forks. */
#include "broker.h"
#include "vault.h"
#include "cmdline.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: toolq-broker [-c FILE] [--set NAME=VALUE]... [--home DIR] [--broker ENDPOINT]\n"
            "                    [--database-url URL] [--workers N] [--log-level LEVEL]\n"
            "                    [--plugin-path DIRS] [--print-config] [--version]\n"
            "Runs the toolq broker and its workers in the foreground; SIGTERM or Ctrl-C\n"
            "drains in-flight jobs and stops. Settings: docs/configuration.md.\n");
}

int main(int argc, char **argv)
{
    tq_secure_process(); /* no core dumps with keys in them, no ptrace */
    tq_config_t *cfg = tq_config_new();
    tq_error_t err = {0};
    int first = 0, rc = 2;
    tq_broker_t *b = NULL;
    if (tq_cmdline_load(cfg, argc, argv, &first, &err)) {
        fprintf(stderr, "toolq-broker: %s: %s\n", err.code, err.message);
        goto out;
    }
    int print_config = 0;
    for (int i = first; i < argc; i++) {
        if (strcmp(argv[i], "--print-config") == 0) {
            print_config = 1;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            rc = 0;
            goto out;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("toolq-broker %s\n", TOOLQ_VERSION);
            rc = 0;
            goto out;
        } else {
            fprintf(stderr, "toolq-broker: unknown argument %s\n", argv[i]);
            usage(stderr);
            goto out;
        }
    }
    if (print_config) {
        tq_config_print(cfg, stdout);
        rc = 0;
        goto out;
    }
    tq_log_level_t level = TQ_LOG_INFO;
    tq_log_level_parse(tq_config_str(cfg, "log.level"), &level);
    tq_log_init("toolq-broker", level);

    /* Workers get the same configuration flags plus --die-with-parent; for
     * toolq-worker --broker names the backend, so ours goes as a --set. */
    char **wargv = calloc((size_t)first + 1, sizeof *wargv);
    char *front = NULL;
    int n = 0;
    for (int i = 1; i < first; i++) {
        if (strcmp(argv[i], "--broker") == 0 && i + 1 < first && !front) {
            size_t len = strlen(argv[i + 1]) + 32;
            if ((front = malloc(len)) != NULL)
                snprintf(front, len, "broker.frontend=%s", argv[i + 1]);
            wargv[n++] = "--set";
            wargv[n++] = front ? front : "broker.frontend=";
            i++;
        } else {
            wargv[n++] = argv[i];
        }
    }
    wargv[n++] = "--die-with-parent";
    wargv[n] = NULL;
    b = tq_broker_new(cfg, wargv, &err);
    free(wargv);
    free(front);
    if (!b) {
        tq_err("cannot start: %s: %s", err.code, err.message);
        rc = 1;
        goto out;
    }
    rc = tq_broker_run(b);
out:
    tq_broker_destroy(&b);
    tq_config_destroy(&cfg);
    return rc;
}
