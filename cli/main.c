/* main.c — the toolq command: global options, then one subcommand from the
 * table below. Subcommands live in cli/cmd_*.c, one file per area. --help
 * also lists the ops from the op catalogue (common/ops.def). */
#include "cli.h"
#include "opcat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tq_cmd_ping(tq_cli_t *, int, char **);
int tq_cmd_submit(tq_cli_t *, int, char **);
int tq_cmd_job(tq_cli_t *, int, char **);
int tq_cmd_wait(tq_cli_t *, int, char **);
int tq_cmd_cancel(tq_cli_t *, int, char **);
int tq_cmd_stats(tq_cli_t *, int, char **);
int tq_cmd_whoami(tq_cli_t *, int, char **);
int tq_cmd_admin(tq_cli_t *, int, char **);
int tq_cmd_import(tq_cli_t *, int, char **);
int tq_cmd_providers(tq_cli_t *, int, char **);
int tq_cmd_provider(tq_cli_t *, int, char **);
int tq_cmd_tools(tq_cli_t *, int, char **);
int tq_cmd_delete_provider(tq_cli_t *, int, char **);
int tq_cmd_check_app(tq_cli_t *, int, char **);
int tq_cmd_invoke(tq_cli_t *, int, char **);
int tq_cmd_credential(tq_cli_t *, int, char **);
int tq_cmd_apikey(tq_cli_t *, int, char **);
int tq_cmd_plugins(tq_cli_t *, int, char **);
int tq_cmd_oauth(tq_cli_t *, int, char **);
int tq_cmd_refresh(tq_cli_t *, int, char **);
int tq_cmd_sweep(tq_cli_t *, int, char **);
int tq_cmd_mcp(tq_cli_t *, int, char **);
int tq_cmd_keygen(tq_cli_t *, int, char **);

static const tq_cli_command_t s_commands[] = {
    {"ping", "[--tenant T]", "round trip through the broker and a worker", tq_cmd_ping},
    {"submit",
     "OP [--tenant T] [--payload-json JSON | --payload-file F] [--idempotency-key K] "
     "[--max-attempts N] [--priority P] [--job-timeout S] [--no-wait]",
     "submit a job and wait for its result (--no-wait prints the id alone); --tenant may be "
     "left out by a principal bound to one tenant",
     tq_cmd_submit},
    {"job", "ID [--wait] [--tenant T]",
     "show a job (--wait: until it ends; --tenant: only if it is T's)", tq_cmd_job},
    {"wait", "ID [--tenant T]", "wait for a job to end", tq_cmd_wait},
    {"cancel", "ID [--tenant T]", "cancel a queued or running job", tq_cmd_cancel},
    {"stats", "", "queue depth, jobs by state, workers (operators only)", tq_cmd_stats},
    {"keygen", "NAME --role operator|integrator|tenant:T|worker [--dir DIR]",
     "write a CURVE key pair for tcp:// (NAME.key public, NAME.key_secret 0600)", tq_cmd_keygen},
    {"whoami", "", "the principal and role the broker takes this caller for", tq_cmd_whoami},
    {"admin", "rotate-master | rotate-tenant-key --tenant T",
     "key rotation (operators only; rotate-master: restart the broker after)", tq_cmd_admin},
    {"import",
     "--tenant T [--name N] [--server-url U] [--update] [--auth none|api_key_header|api_key_query] "
     "[--api-key-header H] [--api-key-value V|-] [--api-key-prefix P] [--api-key-query-param Q] "
     "[--credential NAME] [--no-tls-verify] [--allow-outside DIR] [--include-tag T] "
     "[--exclude-tag T] [--include-path "
     "GLOB] "
     "[--exclude-path GLOB] [--method M] FILE...",
     "import API documents as providers (many at once; relative $ref files bundled)",
     tq_cmd_import},
    {"providers", "--tenant T", "list the tenant's providers", tq_cmd_providers},
    {"provider", "--tenant T [--schema] NAME", "show a provider (masked credentials, tools)",
     tq_cmd_provider},
    {"tools",
     "--tenant T [--provider NAME] [--format toolq|openai] [--prefix always|never|on_collision] "
     "[--inline-depth N] [--limit N] [filters]",
     "list tools, or OpenAI function-calling definitions (all pages)", tq_cmd_tools},
    {"delete-provider", "--tenant T NAME", "delete a provider", tq_cmd_delete_provider},
    {"check-app", "--tenant T FILE", "list an app's tools whose provider or operation is gone",
     tq_cmd_check_app},
    {"invoke",
     "--tenant T PROVIDER TOOL [name=value | name:=JSON | name=@FILE ...] [--args-json JSON] "
     "[--credential NAME] [--timeout-ms N]",
     "call one tool; exit 1 when the API answered >= 400 or the call failed", tq_cmd_invoke},
    {"credential",
     "add|list|show|delete --tenant T [NAME] [--type TYPE] [--plugin ID] [--origin URL ... | "
     "--provider P] [field=value|field=- ...]",
     "named credentials (values masked on every read)", tq_cmd_credential},
    {"plugins", "", "auth plugins the workers loaded", tq_cmd_plugins},
    {"apikey",
     "create --tenant T [--name N] [--role tenant|integrator|operator] [--expires N{s|m|h|d}] "
     "[--tools PROVIDER/OP,...] | "
     "list --tenant T | revoke --tenant T ID|NAME",
     "API keys of the HTTP API (create prints the key once)", tq_cmd_apikey},
    {"oauth",
     "system-client set|show|delete --plugin P [--provider X] [--client-id ID] "
     "[--client-secret S|-] [--param k=v ...] | tenant-client set|show|enable|disable|delete "
     "--tenant T ... | client --tenant T --plugin P [--provider X] | authorize --tenant T "
     "--plugin P [--provider X] [--credential-name N] [--scope S ...] [--headless] | "
     "client-credentials --tenant T --plugin P ... | callback URL|- [--binding TOKEN|-]",
     "OAuth clients (masked), authorization URLs, completing a pasted callback", tq_cmd_oauth},
    {"refresh", "--tenant T CREDENTIAL [--force]", "refresh an OAuth credential now",
     tq_cmd_refresh},
    {"sweep", "", "refresh every OAuth credential due within oauth.refresh_ahead_s", tq_cmd_sweep},
    {"mcp", "[--tenant T] [--tools PATTERNS]",
     "serve the tenant's tools as an MCP server on stdin/stdout (docs/mcp.md)", tq_cmd_mcp},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: toolq [--broker ENDPOINT] [--json] [--timeout SECONDS] COMMAND ...\n\n");
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++)
        fprintf(out, "  %-8s %s\n           %s\n", s_commands[i].name, s_commands[i].usage,
                s_commands[i].help);
    size_t nops = 0;
    const tq_opinfo_t *ops = tq_opcat_all(&nops);
    fprintf(out, "\nops (any of them: toolq submit OP --payload-json JSON; docs/ops.md):\n");
    for (size_t i = 0; i < nops; i++)
        if (!(ops[i].flags & TQ_OPF_TEST))
            fprintf(out, "  %-28s %-8s %s\n", ops[i].name, tq_role_name(ops[i].role), ops[i].doc);
    fprintf(out, "\nexit codes: 0 ok, 1 the job failed or was refused (forbidden, unknown_op, "
                 "quota_exceeded), 2 usage error, "
                 "3 broker unreachable or timed out\n"
                 "environment: TOOLQ_BROKER (endpoint), TOOLQ_HOME (default ./.toolq)\n");
}

int main(int argc, char **argv)
{
    tq_cli_t cli = {.timeout_ms = 30000};
    const char *endpoint = NULL;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--broker") == 0 && i + 1 < argc) {
            endpoint = argv[++i];
        } else if (strcmp(argv[i], "--json") == 0) {
            cli.json = true;
        } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            double s = atof(argv[++i]);
            if (s <= 0)
                return tq_cli_usage_error("", "--timeout needs a positive number of seconds%s", "");
            cli.timeout_ms = (int)(s * 1000);
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return TQ_EXIT_OK;
        } else {
            fprintf(stderr, "toolq: unknown option %s\n", argv[i]);
            usage(stderr);
            return TQ_EXIT_USAGE;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return TQ_EXIT_USAGE;
    }
    for (size_t k = 0; k < sizeof s_commands / sizeof s_commands[0]; k++) {
        if (strcmp(argv[i], s_commands[k].name) != 0) continue;
        cli.client = tq_client_new(endpoint);
        if (!cli.client) {
            fprintf(stderr, "toolq: cannot create a client\n");
            return TQ_EXIT_USAGE;
        }
        int rc = s_commands[k].run(&cli, argc - i, argv + i);
        tq_client_destroy(&cli.client);
        return rc;
    }
    fprintf(stderr, "toolq: unknown command %s\n", argv[i]);
    usage(stderr);
    return TQ_EXIT_USAGE;
}
