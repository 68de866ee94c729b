/* cmd_oauth.c — `toolq oauth ...`, `toolq refresh`, `toolq sweep`:
 *   toolq oauth system-client set|show|delete --plugin P [--provider X]
 *         [--client-id ID] [--client-secret S|-] [--param k=v ...]
 *         (k: authorization_url, token_url, scopes, redirect_uri, ... or
 *         authorize.<name> / token.<name>; the worker refuses other names
 *         with invalid_params, docs/oauth.md)
 *   toolq oauth tenant-client set|show|enable|disable|delete --tenant T --plugin P ...
 *   toolq oauth client --tenant T --plugin P [--provider X]
 *   toolq oauth authorize --tenant T --plugin P [--provider X]
 *         [--credential-name N] [--scope S ...]            prints the start URL
 *         [--headless]     prints the provider's URL; the binding token to stderr
 *   toolq oauth client-credentials --tenant T --plugin P [--provider X] [--credential-name N]
 *   toolq oauth callback URL|- [--binding TOKEN|-]
 *                          the pasted redirect ("-": from stdin) -> oauth.exchange;
 *                          --binding: the token of a headless authorization
 *   toolq refresh --tenant T CREDENTIAL [--force]
 *   toolq sweep
 * libtoolq only (one job each); a secret given as "-" is read from stdin.
 * Prints what workers returned (masked). */
#include "cli.h"
#include "vault.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The tenant oauth.exchange and refresh.sweep are submitted under when the
 * command names none (the state and the rows carry the real tenants). */
#define TQ_OAUTH_SYSTEM_TENANT "toolq"

static int run(tq_cli_t *cli, const char *tenant, const char *op, json_t *payload,
               const char *print_key)
{
    char *text = json_dumps(payload, JSON_COMPACT);
    json_decref(payload);
    tq_job_info_t job;
    int rc = tq_client_call(cli->client, tenant, op, text, NULL, cli->timeout_ms, &job);
    if (text) tq_secure_wipe_str(text);
    free(text);
    if (rc) return tq_cli_fail(cli, rc);
    int code = TQ_EXIT_OK;
    if (strcmp(job.state, "succeeded")) {
        if (cli->json) {
            code = tq_cli_print_job(cli, &job);
        } else {
            fprintf(stderr, "toolq %s: %s: %s\n", op, job.error_code ? job.error_code : job.state,
                    job.error_message ? job.error_message : "");
            code = TQ_EXIT_FAILED;
        }
    } else if (cli->json || !print_key) {
        json_t *r = json_loads(job.result, 0, NULL);
        char *out = r ? json_dumps(r, cli->json ? JSON_COMPACT : JSON_INDENT(2)) : NULL;
        printf("%s\n", out ? out : job.result);
        free(out);
        json_decref(r);
    } else {
        json_t *r = json_loads(job.result, 0, NULL);
        printf("%s\n", json_string_value(json_object_get(r, print_key)));
        const char *binding = json_string_value(json_object_get(r, "binding"));
        if (binding) /* headless: the token that finishes this authorization, and only it */
            fprintf(stderr,
                    "open the URL in any browser, then run:\n"
                    "  toolq oauth callback 'REDIRECTED-URL' --binding %s\n",
                    binding);
        json_decref(r);
    }
    tq_job_info_reset(&job);
    return code;
}

static int hexval(int c)
{
    return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
}

/* Percent-decodes a query component (with '+' as space). */
static char *qdecode(const char *s, size_t n)
{
    char *o = malloc(n + 1), *w = o;
    if (!o) return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            *w++ = ' ';
        } else if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
                   isxdigit((unsigned char)s[i + 2])) {
            *w++ = (char)(hexval((unsigned char)s[i + 1]) * 16 + hexval((unsigned char)s[i + 2]));
            i += 2;
        } else {
            *w++ = s[i];
        }
    }
    *w = '\0';
    return o;
}

/* state, code, iss, error, error_description of a callback URL. */
static json_t *callback_payload(const char *url)
{
    const char *q = strchr(url, '?');
    if (!q) return NULL;
    q++;
    size_t qn = strcspn(q, "#");
    json_t *p = json_object();
    static const char *const keep[] = {"state", "code", "iss", "error", "error_description", NULL};
    while (qn > 0) {
        size_t n = 0;
        while (n < qn && q[n] != '&')
            n++;
        const char *eq = memchr(q, '=', n);
        if (eq) {
            char *k = qdecode(q, (size_t)(eq - q));
            char *v = qdecode(eq + 1, n - (size_t)(eq - q) - 1);
            for (int i = 0; k && v && keep[i]; i++)
                if (!strcmp(k, keep[i])) json_object_set_new(p, k, json_string(v));
            free(k);
            if (v) tq_secure_wipe_str(v);
            free(v);
        }
        q += n;
        qn -= n;
        if (qn) q++, qn--;
    }
    return p;
}

int tq_cmd_oauth(tq_cli_t *cli, int argc, char **argv)
{
    if (argc < 2)
        return tq_cli_usage_error("oauth",
                                  "usage: oauth system-client|tenant-client|client|"
                                  "authorize|client-credentials|callback ...%s",
                                  "");
    const char *area = argv[1];
    int first = 2;
    const char *action = NULL;
    if (!strcmp(area, "system-client") || !strcmp(area, "tenant-client")) {
        if (argc < 3) return tq_cli_usage_error("oauth", "%s needs an action", area);
        action = argv[2];
        first = 3;
    }
    if (!strcmp(area, "callback")) {
        bool with_binding = argc == 5 && !strcmp(argv[3], "--binding");
        if (argc != 3 && !with_binding)
            return tq_cli_usage_error("oauth", "usage: oauth callback URL|- [--binding TOKEN|-]%s",
                                      "");
        char *line = !strcmp(argv[2], "-") ? tq_cli_read_line() : NULL; /* code off argv */
        json_t *p = callback_payload(line ? line : argv[2]);
        if (line) tq_secure_wipe_str(line);
        free(line);
        if (!p || !json_object_get(p, "state")) {
            json_decref(p);
            return tq_cli_usage_error("oauth", "the URL carries no state parameter%s", "");
        }
        if (with_binding) { /* the token `oauth authorize --headless` gave */
            char *tok = !strcmp(argv[4], "-") ? tq_cli_read_line() : NULL;
            json_object_set_new(p, "binding", json_string(tok ? tok : argv[4]));
            if (tok) tq_secure_wipe_str(tok);
            free(tok);
        }
        return run(cli, TQ_OAUTH_SYSTEM_TENANT, "oauth.exchange", p, NULL);
    }
    const char *tenant = NULL, *plugin = NULL, *provider = NULL, *name = NULL;
    json_t *params = json_object(), *scopes = json_array(), *payload = json_object();
    int rc = TQ_EXIT_USAGE;
    bool headless = false;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--headless") && !strcmp(area, "authorize")) {
            headless = true;
            continue;
        }
        if (!v) {
            tq_cli_usage_error("oauth", "unexpected argument %s", a);
            goto out;
        }
        if (!strcmp(a, "--tenant")) {
            tenant = v;
        } else if (!strcmp(a, "--plugin")) {
            plugin = v;
        } else if (!strcmp(a, "--provider")) {
            provider = v;
        } else if (!strcmp(a, "--credential-name")) {
            name = v;
        } else if (!strcmp(a, "--scope")) {
            json_array_append_new(scopes, json_string(v));
        } else if (!strcmp(a, "--client-id")) {
            json_object_set_new(params, "client_id", json_string(v));
        } else if (!strcmp(a, "--client-secret")) {
            char *line = !strcmp(v, "-") ? tq_cli_read_line() : NULL;
            json_object_set_new(params, "client_secret", json_string(line ? line : v));
            if (line) tq_secure_wipe_str(line);
            free(line);
        } else if (!strcmp(a, "--param") && strchr(v, '=')) {
            const char *eq = strchr(v, '=');
            char *k = strndup(v, (size_t)(eq - v));
            json_object_set_new(params, k, json_string(eq + 1));
            free(k);
        } else {
            tq_cli_usage_error("oauth", "unexpected argument %s", a);
            goto out;
        }
        i++;
    }
    if (!plugin) {
        tq_cli_usage_error("oauth", "missing --plugin P%s", "");
        goto out;
    }
    json_object_set_new(payload, "plugin", json_string(plugin));
    if (provider) json_object_set_new(payload, "provider", json_string(provider));
    if (strcmp(area, "system-client") && !tenant) {
        tq_cli_usage_error("oauth", "missing --tenant T%s", "");
        goto out;
    }
    char op[64];
    const char *print_key = NULL;
    if (action) {
        snprintf(op, sizeof op, "oauth.%s.%s",
                 !strcmp(area, "system-client") ? "system_client" : "tenant_client", action);
        if (!strcmp(action, "set")) json_object_set(payload, "params", params);
    } else if (!strcmp(area, "client")) {
        snprintf(op, sizeof op, "oauth.client");
    } else if (!strcmp(area, "authorize") || !strcmp(area, "client-credentials")) {
        snprintf(op, sizeof op, "%s",
                 !strcmp(area, "authorize") ? "oauth.authorize" : "oauth.client_credentials");
        if (name) json_object_set_new(payload, "credential_name", json_string(name));
        if (json_array_size(scopes)) json_object_set(payload, "scopes", scopes);
        if (!strcmp(area, "authorize")) {
            print_key = headless ? "authorization_url" : "start_url";
            if (headless) json_object_set_new(payload, "headless", json_true());
        }
    } else {
        tq_cli_usage_error("oauth", "unknown subcommand %s", area);
        goto out;
    }
    rc = run(cli, tenant ? tenant : TQ_OAUTH_SYSTEM_TENANT, op, payload, print_key);
    payload = NULL;
out:
    json_decref(payload);
    {
        const char *k;
        json_t *v;
        json_object_foreach(params, k, v)
            tq_secure_wipe((char *)json_string_value(v), json_string_length(v));
    }
    json_decref(params);
    json_decref(scopes);
    return rc;
}

int tq_cmd_refresh(tq_cli_t *cli, int argc, char **argv)
{
    const char *tenant = NULL, *name = NULL;
    int force = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--tenant") && i + 1 < argc)
            tenant = argv[++i];
        else if (!strcmp(argv[i], "--force"))
            force = 1;
        else if (argv[i][0] != '-' && !name)
            name = argv[i];
        else
            return tq_cli_usage_error("refresh", "unexpected argument %s", argv[i]);
    }
    if (!tenant || !name)
        return tq_cli_usage_error("refresh", "usage: refresh --tenant T CREDENTIAL [--force]%s",
                                  "");
    return run(cli, tenant, "refresh", json_pack("{s:s,s:b}", "credential", name, "force", force),
               NULL);
}

int tq_cmd_sweep(tq_cli_t *cli, int argc, char **argv)
{
    if (argc > 1) return tq_cli_usage_error("sweep", "unexpected argument %s", argv[1]);
    return run(cli, TQ_OAUTH_SYSTEM_TENANT, "refresh.sweep", json_object(), NULL);
}
