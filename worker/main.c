/* main.c — toolq-worker: reads configuration (flags > env > file > default),
 * then runs one worker process. Normally forked and exec'd by toolq-broker,
 * which passes its own configuration flags along and a one-time registration
 * secret (environment); a worker started by hand has none and is refused on
 * ipc. A remote worker is started by an operator on another host:
 *   toolq-worker --broker tcp://HOST:PORT[,tcp://STANDBY:PORT]
 *                --curve-server-key broker.key --curve-key NAME.key_secret
 * and is admitted by its CURVE worker key (docs/scaling.md). For the worker,
 * --broker names the broker's backend (broker.backend), not its frontend. */
#include "cmdline.h"
#include "vault.h"
#include "log.h"
#include "ops.h"
#include "worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <signal.h>

int main(int argc, char **argv)
{
    tq_secure_process(); /* no core dumps with keys in them, no ptrace */
    tq_config_t *cfg = tq_config_new();
    tq_error_t err = {0};
    int first = 0;
    /* --broker X means broker.backend=X here (cmdline.c maps it to the
     * frontend, which is what clients and the broker mean by it). */
    char **args = calloc((size_t)argc + 1, sizeof *args);
    char *set = NULL;
    for (int i = 0; args && i < argc; i++) {
        if (strcmp(argv[i], "--broker") == 0 && i + 1 < argc && !set) {
            size_t n = strlen(argv[i + 1]) + 32;
            set = malloc(n);
            if (set) snprintf(set, n, "broker.backend=%s", argv[i + 1]);
            args[i] = "--set";
            args[i + 1] = set;
            i++;
        } else {
            args[i] = argv[i];
        }
    }
    if (!args) return 2;
    int rc0 = tq_cmdline_load(cfg, argc, args, &first, &err);
    argv = args;
    if (rc0) {
        fprintf(stderr, "toolq-worker: %s: %s\n", err.code, err.message);
        tq_config_destroy(&cfg);
        return 2;
    }
    int die_with_parent = 0;
    for (int i = first; i < argc; i++) {
        if (strcmp(argv[i], "--die-with-parent") == 0) {
            die_with_parent = 1;
        } else {
            fprintf(stderr, "toolq-worker: unknown argument %s\n", argv[i]);
            tq_config_destroy(&cfg);
            return 2;
        }
    }
    if (die_with_parent) {
        /* Supervised: the broker decides when we stop (DISCONNECT or
         * SIGTERM); a terminal's Ctrl-C must not kill jobs it is draining. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        signal(SIGINT, SIG_IGN);
    }
    tq_log_level_t level = TQ_LOG_INFO;
    tq_log_level_parse(tq_config_str(cfg, "log.level"), &level);
    tq_log_init("toolq-worker", level);
    tq_worker_t *w = tq_ops_check(&err) ? NULL : tq_worker_new(cfg, tq_ops_table(), &err);
    if (!w) {
        tq_err("cannot start: %s: %s", err.code, err.message);
        tq_config_destroy(&cfg);
        return 1;
    }
    int rc = tq_worker_run(w);
    tq_worker_destroy(&w);
    tq_config_destroy(&cfg);
    free(set);
    free(args);
    return rc;
}
