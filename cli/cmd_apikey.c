/* cmd_apikey.c — `toolq apikey create|list|revoke` (API keys of the HTTP
 * API, docs/api.md):
 *   toolq apikey create --tenant T [--name N] [--role tenant|integrator|operator]
 *                       [--expires DURATION]   (N s|m|h|d; e.g. 90d)
 *                       [--tools PATTERNS]   (MCP: only these provider/operation globs)
 *   toolq apikey list --tenant T
 *   toolq apikey revoke --tenant T ID-or-NAME
 * create draws the key here (common/apitoken.h), sends only its SHA-256
 * (apikey.create; apikey.grant — operators only — for integrator and
 * operator keys) and prints the key once, on stdout. Must never: send, log
 * or keep the key. */
#include "cli.h"

#include "apitoken.h"
#include "opcat.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "90d" / "12h" / "30m" / "3600s" / "3600" -> seconds; -1 when malformed. */
static long long parse_duration(const char *s)
{
    char *end = NULL;
    long long n = strtoll(s, &end, 10);
    if (end == s || n < 1) return -1;
    long long mul = 1;
    if (*end == 'm') mul = 60;
    if (*end == 'h') mul = 3600;
    if (*end == 'd') mul = 86400;
    if (*end && (end[1] || !strchr("smhd", *end))) return -1;
    return n > 316224000 / mul ? -1 : n * mul;
}

static int run(tq_cli_t *cli, const char *tenant, const char *op, json_t *payload, json_t **out)
{
    char *text = json_dumps(payload, JSON_COMPACT);
    json_decref(payload);
    tq_job_info_t job;
    int rc = tq_client_call(cli->client, tenant, op, text, NULL, cli->timeout_ms, &job);
    free(text);
    if (rc) return tq_cli_fail(cli, rc);
    if (strcmp(job.state, "succeeded") != 0 || !job.result) {
        int code = tq_cli_print_job(cli, &job);
        tq_job_info_reset(&job);
        return code ? code : TQ_EXIT_FAILED;
    }
    *out = json_loads(job.result, 0, NULL);
    tq_job_info_reset(&job);
    return *out ? TQ_EXIT_OK : TQ_EXIT_FAILED;
}

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "-";
}

int tq_cmd_apikey(tq_cli_t *cli, int argc, char **argv)
{
    if (argc < 2)
        return tq_cli_usage_error("apikey", "usage: apikey create|list|revoke --tenant T ...%s",
                                  "");
    const char *sub = argv[1], *tenant = NULL, *name = NULL, *role = "tenant", *which = NULL,
               *tools = NULL;
    long long expires = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--tenant") && v) {
            tenant = argv[++i];
        } else if (!strcmp(a, "--name") && v) {
            name = argv[++i];
        } else if (!strcmp(a, "--tools") && v) {
            tools = argv[++i];
        } else if (!strcmp(a, "--role") && v) {
            role = argv[++i];
        } else if (!strcmp(a, "--expires") && v) {
            if ((expires = parse_duration(argv[++i])) < 0)
                return tq_cli_usage_error("apikey",
                                          "--expires: N s|m|h|d, at most 10 years, got %s", v);
        } else if (a[0] != '-' && !which) {
            which = a;
        } else {
            return tq_cli_usage_error("apikey", "unknown argument %s", a);
        }
    }
    if (!tenant) return tq_cli_usage_error("apikey", "--tenant is required%s", "");
    json_t *r = NULL;
    int rc;
    if (!strcmp(sub, "create")) {
        if (tq_role_parse(role) == TQ_ROLE_NONE)
            return tq_cli_usage_error("apikey", "--role: tenant, integrator or operator, got %s",
                                      role);
        char key[TQ_APITOKEN_LEN + 1], hash[65];
        if (tq_apitoken_new(key)) {
            fprintf(stderr, "toolq apikey: crypto_error: no random bytes\n");
            return TQ_EXIT_FAILED;
        }
        tq_apitoken_hash(key, hash);
        json_t *pl = json_pack("{s:s}", "hash", hash);
        if (name) json_object_set_new(pl, "name", json_string(name));
        if (expires) json_object_set_new(pl, "expires_in_s", json_integer(expires));
        if (tools) json_object_set_new(pl, "tools", json_string(tools));
        bool grant = strcmp(role, "tenant") != 0;
        if (grant) {
            json_object_set_new(pl, "tenant", json_string(tenant));
            json_object_set_new(pl, "role", json_string(role));
        }
        rc = run(cli, grant ? NULL : tenant, grant ? "apikey.grant" : "apikey.create", pl, &r);
        if (rc == TQ_EXIT_OK) {
            if (cli->json) {
                json_object_set_new(r, "key", json_string(key));
                char *t = json_dumps(r, JSON_COMPACT);
                printf("%s\n", t ? t : "{}");
                free(t);
            } else {
                printf("%s\n", key);
                fprintf(stderr,
                        "API key %s (%s, role %s, tenant %s, expires %s): shown once, store it "
                        "now\n",
                        str(r, "name"), str(r, "id"), str(r, "role"), str(r, "tenant"),
                        json_is_string(json_object_get(r, "expires_at")) ? str(r, "expires_at")
                                                                         : "never");
            }
        }
        OPENSSL_cleanse(key, sizeof key);
    } else if (!strcmp(sub, "list")) {
        rc = run(cli, tenant, "apikey.list", json_object(), &r);
        if (rc == TQ_EXIT_OK && cli->json) {
            char *t = json_dumps(r, JSON_COMPACT);
            printf("%s\n", t ? t : "{}");
            free(t);
        } else if (rc == TQ_EXIT_OK) {
            size_t i;
            json_t *k;
            json_array_foreach(json_object_get(r, "keys"), i, k)
                printf("%-36s %-24s %-10s %-8s %s\n", str(k, "id"), str(k, "name"), str(k, "role"),
                       str(k, "state"), str(k, "expires_at"));
        }
    } else if (!strcmp(sub, "revoke")) {
        if (!which) return tq_cli_usage_error("apikey", "revoke needs the key's id or name%s", "");
        rc = run(cli, tenant, "apikey.revoke", json_pack("{s:s}", "key", which), &r);
        if (rc == TQ_EXIT_OK) printf("revoked %s (%s)\n", str(r, "name"), str(r, "id"));
    } else {
        return tq_cli_usage_error("apikey", "unknown subcommand %s", sub);
    }
    json_decref(r);
    return rc;
}
