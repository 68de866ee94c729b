/* cmd_admin.c — operator commands: `toolq admin rotate-master` and
 * `toolq admin rotate-tenant-key --tenant T`, front ends of the system ops
 * admin.rotate_master and admin.rotate_tenant_key (operators only; anyone
 * else gets forbidden, exit 1). Prints the op's result; never a key. */
#include "cli.h"
#include "opcat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tq_cmd_admin(tq_cli_t *cli, int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "", *tenant = NULL;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--tenant") == 0 && i + 1 < argc)
            tenant = argv[++i];
        else
            return tq_cli_usage_error("admin", "unexpected argument %s", argv[i]);
    }
    const char *op;
    json_t *payload;
    if (strcmp(what, "rotate-master") == 0 && !tenant) {
        op = TQ_OP_admin_rotate_master;
        payload = json_object();
    } else if (strcmp(what, "rotate-tenant-key") == 0 && tenant) {
        op = TQ_OP_admin_rotate_tenant_key;
        payload = json_pack("{s:s}", "tenant", tenant);
    } else {
        return tq_cli_usage_error(
            "admin", "usage: admin rotate-master | admin rotate-tenant-key --tenant T%s", "");
    }
    char *text = json_dumps(payload, JSON_COMPACT);
    json_decref(payload);
    tq_job_info_t job;
    int rc = tq_client_call(cli->client, NULL, op, text, NULL, cli->timeout_ms, &job);
    free(text);
    if (rc) return tq_cli_fail(cli, rc);
    int code = tq_cli_print_job(cli, &job);
    tq_job_info_reset(&job);
    return code;
}
