/* cmd_credentials.c — `toolq credential add|list|show|delete` (named
 * credentials of a tenant) and `toolq plugins` (what the workers loaded).
 *   toolq credential add --tenant T NAME --type TYPE [--plugin ID]
 *                        (--origin URL ... | --provider NAME)
 *                        [field=value ...] [--fields-json JSON] [--fields-file F]
 *   toolq credential list|show NAME|delete NAME --tenant T
 * Field values given as field=- are read from stdin (keeps secrets out of
 * the process list). Talks to the broker only through libtoolq; prints only
 * what workers returned (masked). */
#include "cli.h"
#include "vault.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int call_print(tq_cli_t *cli, const char *tenant, const char *op, json_t *payload,
                      void (*print)(json_t *))
{
    char *text = json_dumps(payload, JSON_COMPACT);
    json_decref(payload);
    tq_job_info_t job;
    int rc = tq_client_call(cli->client, tenant, op, text, NULL, cli->timeout_ms, &job);
    if (text) tq_secure_wipe_str(text);
    free(text);
    if (rc) return tq_cli_fail(cli, rc);
    int code;
    json_t *result = job.result ? json_loads(job.result, 0, NULL) : NULL;
    if (cli->json || !result || strcmp(job.state, "succeeded") != 0) {
        if (!cli->json && job.error_code) {
            fprintf(stderr, "toolq %s: %s: %s\n", op, job.error_code,
                    job.error_message ? job.error_message : "");
            code = TQ_EXIT_FAILED;
        } else {
            code = tq_cli_print_job(cli, &job);
        }
    } else {
        print(result);
        code = TQ_EXIT_OK;
    }
    json_decref(result);
    tq_job_info_reset(&job);
    return code;
}

static void print_one(json_t *r)
{
    printf("%s  type=%s plugin=%s status=%s\n", json_string_value(json_object_get(r, "name")),
           json_string_value(json_object_get(r, "type")),
           json_string_value(json_object_get(r, "plugin")),
           json_string_value(json_object_get(r, "status"))
               ? json_string_value(json_object_get(r, "status"))
               : "active");
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(r, "fields"), k, v)
        printf("  %s: %s\n", k, json_string_value(v) ? json_string_value(v) : "");
    json_t *attempts = json_object_get(r, "refresh_attempts");
    if (!json_is_array(attempts)) return;
    printf("  refresh attempts (newest first): %s\n", json_array_size(attempts) ? "" : "none");
    size_t i;
    json_array_foreach(attempts, i, v)
    {
        const char *e = json_string_value(json_object_get(v, "error_code"));
        printf("    %s  %-16s %s\n", json_string_value(json_object_get(v, "at")),
               json_string_value(json_object_get(v, "outcome")), e ? e : "");
    }
}

static void print_list(json_t *r)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(r, "credentials"), i, c)
        printf("%-32s %-14s %-12s %-16s %-21s %s\n", json_string_value(json_object_get(c, "name")),
               json_string_value(json_object_get(c, "type")),
               json_string_value(json_object_get(c, "plugin")),
               json_string_value(json_object_get(c, "status")),
               json_string_value(json_object_get(c, "expires_at"))
                   ? json_string_value(json_object_get(c, "expires_at"))
                   : "-",
               json_string_value(json_object_get(c, "updated_at")));
}

static void print_deleted(json_t *r)
{
    printf("deleted %s", json_string_value(json_object_get(r, "name")));
    json_t *rv = json_object_get(r, "revoked");
    if (json_is_true(rv)) printf(" (tokens revoked at the provider)");
    if (json_is_false(rv))
        printf(" (tokens NOT revoked at the provider: %s)",
               json_string_value(json_object_get(r, "revoke_error"))
                   ? json_string_value(json_object_get(r, "revoke_error"))
                   : "unknown");
    printf("\n");
}

int tq_cmd_credential(tq_cli_t *cli, int argc, char **argv)
{
    if (argc < 2)
        return tq_cli_usage_error("credential", "usage: credential add|list|show|delete ...%s", "");
    const char *sub = argv[1];
    const char *tenant = NULL, *name = NULL, *type = NULL, *plugin = NULL, *provider = NULL;
    json_t *fields = json_object(), *origins = json_array();
    int rc = TQ_EXIT_USAGE;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--tenant") && v) {
            tenant = argv[++i];
        } else if (!strcmp(a, "--type") && v) {
            type = argv[++i];
        } else if (!strcmp(a, "--plugin") && v) {
            plugin = argv[++i];
        } else if (!strcmp(a, "--origin") && v) {
            json_array_append_new(origins, json_string(argv[++i]));
        } else if (!strcmp(a, "--provider") && v) {
            provider = argv[++i];
        } else if ((!strcmp(a, "--fields-json") || !strcmp(a, "--fields-file")) && v) {
            char *text =
                !strcmp(a, "--fields-file") ? tq_cli_read_file(argv[++i], NULL) : strdup(argv[++i]);
            json_t *f = text ? json_loads(text, 0, NULL) : NULL;
            free(text);
            if (!json_is_object(f)) {
                json_decref(f);
                tq_cli_usage_error("credential", "%s needs a JSON object", a);
                goto out;
            }
            json_object_update(fields, f);
            json_decref(f);
        } else if (a[0] == '-' && a[1] == '-') {
            tq_cli_usage_error("credential", "unexpected option %s", a);
            goto out;
        } else if (!name) {
            name = a;
        } else if (strchr(a, '=') && !strcmp(sub, "add")) {
            const char *eq = strchr(a, '=');
            char *k = strndup(a, (size_t)(eq - a));
            if (!strcmp(eq + 1, "-")) {
                char *line = tq_cli_read_line();
                json_object_set_new(fields, k, json_string(line ? line : ""));
                if (line) tq_secure_wipe_str(line);
                free(line);
            } else {
                json_object_set_new(fields, k, json_string(eq + 1));
            }
            free(k);
        } else {
            tq_cli_usage_error("credential", "unexpected argument %s", a);
            goto out;
        }
    }
    if (!tenant) {
        tq_cli_usage_error("credential", "missing --tenant T%s", "");
        goto out;
    }
    if (!strcmp(sub, "list")) {
        rc = call_print(cli, tenant, "credential.list", json_object(), print_list);
    } else if (!name) {
        tq_cli_usage_error("credential", "%s needs a NAME", sub);
    } else if (!strcmp(sub, "add")) {
        if (!type) {
            tq_cli_usage_error("credential", "add needs --type TYPE (see toolq plugins)%s", "");
            goto out;
        }
        json_t *p = json_pack("{s:s,s:s,s:O}", "name", name, "type", type, "fields", fields);
        if (plugin) json_object_set_new(p, "plugin", json_string(plugin));
        if (json_array_size(origins)) json_object_set(p, "origins", origins);
        if (provider) json_object_set_new(p, "provider", json_string(provider));
        rc = call_print(cli, tenant, "credential.create", p, print_one);
    } else if (!strcmp(sub, "show")) {
        rc = call_print(cli, tenant, "credential.get", json_pack("{s:s}", "name", name), print_one);
    } else if (!strcmp(sub, "delete")) {
        rc = call_print(cli, tenant, "credential.delete", json_pack("{s:s}", "name", name),
                        print_deleted);
    } else {
        tq_cli_usage_error("credential", "unknown subcommand %s", sub);
    }
out : {
    const char *k;
    json_t *v;
    json_object_foreach(fields, k, v) if (json_is_string(v))
        tq_secure_wipe((char *)json_string_value(v), json_string_length(v));
}
    json_decref(fields);
    json_decref(origins);
    return rc;
}

static void print_plugins(json_t *r)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(r, "plugins"), i, p)
    {
        char *types = json_dumps(json_object_get(p, "credential_types"), JSON_COMPACT);
        char *prov = json_dumps(json_object_get(p, "providers"), JSON_COMPACT);
        printf("%-12s %-8s types=%s providers=%s\n", json_string_value(json_object_get(p, "id")),
               json_string_value(json_object_get(p, "version")), types ? types : "[]",
               prov ? prov : "[]");
        free(types);
        free(prov);
    }
}

int tq_cmd_plugins(tq_cli_t *cli, int argc, char **argv)
{
    const char *tenant = "toolq";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--tenant") && i + 1 < argc)
            tenant = argv[++i];
        else
            return tq_cli_usage_error("plugins", "unexpected argument %s", argv[i]);
    }
    return call_print(cli, tenant, "plugins.list", json_object(), print_plugins);
}
