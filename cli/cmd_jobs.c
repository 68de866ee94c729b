/* cmd_jobs.c — the foundation's commands: ping, submit, job, wait, cancel,
 * stats, whoami. Each parses its own flags and talks to the broker through
 * libtoolq. */
#include "cli.h"
#include "opcat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int tq_cmd_ping(tq_cli_t *cli, int argc, char **argv)
{
    const char *tenant = "toolq";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--tenant") == 0 && i + 1 < argc)
            tenant = argv[++i];
        else
            return tq_cli_usage_error("ping", "unexpected argument %s", argv[i]);
    }
    tq_job_info_t job;
    double t0 = now_s();
    int rc = tq_client_call(cli->client, tenant, TQ_OP_ping, "{\"ping\":true}", NULL,
                            cli->timeout_ms, &job);
    if (rc) return tq_cli_fail(cli, rc);
    double ms = (now_s() - t0) * 1000;
    int exit_code = strcmp(job.state, "succeeded") == 0 ? TQ_EXIT_OK : TQ_EXIT_FAILED;
    if (cli->json)
        printf("{\"ok\":%s,\"id\":\"%s\",\"ms\":%.3f}\n", exit_code ? "false" : "true", job.id, ms);
    else if (exit_code == TQ_EXIT_OK)
        printf("pong from %s in %.2f ms (job %s)\n", tq_client_endpoint(cli->client), ms, job.id);
    else
        exit_code = tq_cli_print_job(cli, &job);
    tq_job_info_reset(&job);
    return exit_code;
}

int tq_cmd_submit(tq_cli_t *cli, int argc, char **argv)
{
    const char *op = NULL, *tenant = NULL, *payload = NULL, *file = NULL;
    tq_submit_opts_t opts = {0};
    bool wait = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--tenant") == 0 && v)
            tenant = argv[++i];
        else if (strcmp(a, "--payload-json") == 0 && v)
            payload = argv[++i];
        else if (strcmp(a, "--payload-file") == 0 && v)
            file = argv[++i];
        else if (strcmp(a, "--idempotency-key") == 0 && v)
            opts.idempotency_key = argv[++i];
        else if (strcmp(a, "--max-attempts") == 0 && v)
            opts.max_attempts = atoi(argv[++i]);
        else if (strcmp(a, "--priority") == 0 && v)
            opts.priority = atoi(argv[++i]);
        else if (strcmp(a, "--job-timeout") == 0 && v)
            opts.timeout_ms = (int)(atof(argv[++i]) * 1000);
        else if (strcmp(a, "--no-wait") == 0)
            wait = false;
        else if (strcmp(a, "--journal") == 0)
            opts.journal = true;
        else if (strcmp(a, "--durability") == 0 && v && strcmp(v, "sync") == 0 && ++i)
            opts.durability = TQ_DURABILITY_SYNC;
        else if (strcmp(a, "--durability") == 0 && v && strcmp(v, "async") == 0 && ++i)
            opts.durability = TQ_DURABILITY_ASYNC;
        else if (strcmp(a, "--durability") == 0)
            return tq_cli_usage_error("submit", "--durability is sync or async%s", "");
        else if (a[0] != '-' && !op)
            op = a;
        else
            return tq_cli_usage_error("submit", "unexpected argument %s", a);
    }
    if (!op) return tq_cli_usage_error("submit", "missing OP%s", "");
    if (payload && file)
        return tq_cli_usage_error("submit", "give --payload-json or --payload-file, not both%s",
                                  "");
    char *text = NULL;
    if (file) {
        text = tq_cli_read_file(file, NULL);
        if (!text) return tq_cli_usage_error("submit", "cannot read payload file %s", file);
        payload = text;
    }
    int rc, exit_code;
    if (wait) {
        tq_job_info_t job;
        rc = tq_client_call(cli->client, tenant, op, payload, &opts, cli->timeout_ms, &job);
        if (rc == TQ_CLIENT_TIMEOUT && job.id[0])
            fprintf(stderr,
                    "toolq: job %s was accepted but did not finish in time "
                    "(toolq job %s)\n",
                    job.id, job.id);
        exit_code = rc ? tq_cli_fail(cli, rc) : tq_cli_print_job(cli, &job);
        tq_job_info_reset(&job);
    } else {
        char id[37];
        bool dup = false;
        rc = tq_client_submit(cli->client, tenant, op, payload, &opts, cli->timeout_ms, id, &dup);
        if (rc) {
            exit_code = tq_cli_fail(cli, rc);
        } else {
            if (cli->json)
                printf("{\"id\":\"%s\",\"duplicate\":%s}\n", id, dup ? "true" : "false");
            else
                printf("%s\n", id);
            exit_code = TQ_EXIT_OK;
        }
    }
    free(text);
    return exit_code;
}

static int job_command(tq_cli_t *cli, int argc, char **argv,
                       int (*fn)(tq_client_t *, const char *, int, tq_job_info_t *))
{
    const char *id = NULL;
    bool wait = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--wait") == 0 && strcmp(argv[0], "job") == 0)
            wait = true;
        else if (strcmp(argv[i], "--tenant") == 0 && i + 1 < argc)
            tq_client_set_tenant(cli->client, argv[++i]);
        else if (argv[i][0] != '-' && !id)
            id = argv[i];
        else
            return tq_cli_usage_error(argv[0], "unexpected argument %s", argv[i]);
    }
    if (!id) return tq_cli_usage_error(argv[0], "missing job ID%s", "");
    tq_job_info_t job;
    int rc = (wait ? tq_client_wait : fn)(cli->client, id, cli->timeout_ms, &job);
    if (rc) return tq_cli_fail(cli, rc);
    int exit_code = tq_cli_print_job(cli, &job);
    tq_job_info_reset(&job);
    return exit_code;
}

int tq_cmd_job(tq_cli_t *cli, int argc, char **argv)
{
    return job_command(cli, argc, argv, tq_client_status);
}

int tq_cmd_wait(tq_cli_t *cli, int argc, char **argv)
{
    return job_command(cli, argc, argv, tq_client_wait);
}

int tq_cmd_cancel(tq_cli_t *cli, int argc, char **argv)
{
    return job_command(cli, argc, argv, tq_client_cancel);
}

int tq_cmd_stats(tq_cli_t *cli, int argc, char **argv)
{
    if (argc > 1) return tq_cli_usage_error("stats", "unexpected argument %s", argv[1]);
    char *text = NULL;
    int rc = tq_client_stats(cli->client, cli->timeout_ms, &text);
    if (rc) return tq_cli_fail(cli, rc);
    json_error_t jerr;
    json_t *s = json_loads(text, 0, &jerr);
    free(text);
    if (!s) return TQ_EXIT_FAILED;
    if (cli->json) {
        json_dumpf(s, stdout, JSON_COMPACT);
        fputc('\n', stdout);
    } else {
        printf("queue depth   %lld (delayed %lld)\n",
               (long long)json_integer_value(json_object_get(s, "queue_depth")),
               (long long)json_integer_value(json_object_get(s, "delayed")));
        printf("running       %lld\n",
               (long long)json_integer_value(json_object_get(s, "running")));
        printf("workers       %lld alive, %lld restarts\n",
               (long long)json_integer_value(json_object_get(s, "workers_alive")),
               (long long)json_integer_value(json_object_get(s, "worker_restarts")));
        size_t wi;
        json_t *wk;
        json_array_foreach(json_object_get(s, "workers"), wi, wk)
            printf("  worker pid %-7lld %s, credit %lld, in flight %lld\n",
                   (long long)json_integer_value(json_object_get(wk, "pid")),
                   json_string_value(json_object_get(wk, "where")),
                   (long long)json_integer_value(json_object_get(wk, "credit")),
                   (long long)json_integer_value(json_object_get(wk, "in_flight")));
        printf("jobs by state (journal):");
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(s, "jobs_by_state"), k, v)
            printf(" %s=%lld", k, (long long)json_integer_value(v));
        printf("\nsince start:");
        json_object_foreach(json_object_get(s, "since_start"), k, v)
            printf(" %s=%lld", k, (long long)json_integer_value(v));
        printf("\n");
    }
    json_decref(s);
    return TQ_EXIT_OK;
}

int tq_cmd_whoami(tq_cli_t *cli, int argc, char **argv)
{
    if (argc > 1) return tq_cli_usage_error("whoami", "unexpected argument %s", argv[1]);
    char *text = NULL;
    int rc = tq_client_whoami(cli->client, cli->timeout_ms, &text);
    if (rc) return tq_cli_fail(cli, rc);
    json_t *o = json_loads(text, 0, NULL);
    free(text);
    if (!o) return TQ_EXIT_FAILED;
    if (cli->json) {
        json_dumpf(o, stdout, JSON_COMPACT);
        fputc('\n', stdout);
    } else {
        const char *tenant = json_string_value(json_object_get(o, "tenant"));
        printf("%s: %s", json_string_value(json_object_get(o, "principal")),
               json_string_value(json_object_get(o, "role")));
        if (tenant && strcmp(tenant, "*") != 0) printf(" of tenant %s", tenant);
        printf("\n");
    }
    json_decref(o);
    return TQ_EXIT_OK;
}
