/* cmd_invoke.c — `toolq invoke`: call one tool through the broker.
 *   toolq invoke --tenant T PROVIDER TOOL [name=value | name:=JSON | name=@FILE ...]
 *                [--args-json JSON] [--credential NAME] [--timeout-ms N]
 * name=value passes text (the worker coerces it to the argument's type),
 * name:=JSON a JSON value, name=@FILE a file argument {filename,
 * content_type, data (base64)}. Prints the result (body pretty-printed on a
 * terminal; one JSON object with --json); exit 1 when ok is false or the
 * job failed. Talks to the broker only through libtoolq; never prints a
 * secret (results are redacted by the worker). */
#include "cli.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char *guess_type(const char *path)
{
    const char *dot = strrchr(path, '.');
    static const char *const map[][2] = {
        {".png", "image/png"},       {".jpg", "image/jpeg"},      {".jpeg", "image/jpeg"},
        {".gif", "image/gif"},       {".txt", "text/plain"},      {".json", "application/json"},
        {".pdf", "application/pdf"}, {".csv", "text/csv"},        {".xml", "application/xml"},
        {".html", "text/html"},      {".zip", "application/zip"},
    };
    for (size_t i = 0; dot && i < sizeof map / sizeof map[0]; i++)
        if (!strcasecmp(dot, map[i][0])) return map[i][1];
    return "application/octet-stream";
}

static json_t *file_arg(const char *path)
{
    size_t len = 0;
    char *data = tq_cli_read_file(path, &len);
    if (!data) return NULL;
    char *b64 = malloc(4 * ((len + 2) / 3) + 1);
    if (!b64) {
        free(data);
        return NULL;
    }
    EVP_EncodeBlock((unsigned char *)b64, (unsigned char *)data, (int)len);
    free(data);
    const char *base = strrchr(path, '/');
    json_t *o = json_pack("{s:s,s:s,s:s}", "filename", base ? base + 1 : path, "content_type",
                          guess_type(path), "data", b64);
    free(b64);
    return o;
}

static void print_human(json_t *r)
{
    int status = (int)json_integer_value(json_object_get(r, "status"));
    json_t *body = json_object_get(r, "body");
    const char *enc = json_string_value(json_object_get(r, "body_encoding"));
    const char *ct = json_string_value(json_object_get(r, "content_type"));
    fprintf(stderr, "HTTP %d%s%s (%lld bytes, %lld ms, %lld attempt%s)\n", status, ct ? " " : "",
            ct ? ct : "", (long long)json_integer_value(json_object_get(r, "size")),
            (long long)json_integer_value(json_object_get(r, "elapsed_ms")),
            (long long)json_integer_value(json_object_get(r, "attempts")),
            json_integer_value(json_object_get(r, "attempts")) == 1 ? "" : "s");
    json_t *err = json_object_get(r, "error");
    if (err)
        fprintf(stderr, "error %s: %s\n", json_string_value(json_object_get(err, "code")),
                json_string_value(json_object_get(err, "message")));
    if (!body || json_is_null(body)) return;
    if (enc && !strcmp(enc, "json")) {
        size_t flags = isatty(STDOUT_FILENO) ? JSON_INDENT(2) : JSON_COMPACT;
        json_dumpf(body, stdout, flags | JSON_ENCODE_ANY);
        fputc('\n', stdout);
    } else if (enc && !strcmp(enc, "text")) {
        fputs(json_string_value(body), stdout);
        if (json_string_length(body) &&
            json_string_value(body)[json_string_length(body) - 1] != '\n')
            fputc('\n', stdout);
    } else {
        if (isatty(STDOUT_FILENO)) printf("(binary body, base64)\n");
        printf("%s\n", json_string_value(body));
    }
}

int tq_cmd_invoke(tq_cli_t *cli, int argc, char **argv)
{
    const char *tenant = NULL, *provider = NULL, *tool = NULL, *args_json = NULL, *cred = NULL;
    long timeout_ms = 0;
    json_t *args = json_object();
    int rc = TQ_EXIT_USAGE;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--tenant") && v) {
            tenant = argv[++i];
        } else if (!strcmp(a, "--args-json") && v) {
            args_json = argv[++i];
        } else if (!strcmp(a, "--credential") && v) {
            cred = argv[++i];
        } else if (!strcmp(a, "--timeout-ms") && v) {
            timeout_ms = atol(argv[++i]);
        } else if (a[0] == '-' && a[1] == '-') {
            tq_cli_usage_error("invoke", "unexpected option %s", a);
            goto out;
        } else if (!provider) {
            provider = a;
        } else if (!tool) {
            tool = a;
        } else {
            const char *eq = strchr(a, '=');
            if (!eq || eq == a) {
                tq_cli_usage_error("invoke", "arguments are name=value, got %s", a);
                goto out;
            }
            int raw = eq > a && eq[-1] == ':';
            char *name = strndup(a, (size_t)(eq - a - raw));
            json_t *val;
            if (raw) {
                val = json_loads(eq + 1, JSON_DECODE_ANY, NULL);
                if (!val) {
                    free(name);
                    tq_cli_usage_error("invoke", "not valid JSON: %s", a);
                    goto out;
                }
            } else if (eq[1] == '@') {
                val = file_arg(eq + 2);
                if (!val) {
                    free(name);
                    tq_cli_usage_error("invoke", "cannot read file %s", eq + 2);
                    goto out;
                }
            } else {
                val = json_string(eq + 1);
            }
            json_object_set_new(args, name, val);
            free(name);
        }
    }
    if (!tenant || !provider || !tool) {
        tq_cli_usage_error("invoke", "usage: invoke --tenant T PROVIDER TOOL [name=value ...]%s",
                           "");
        goto out;
    }
    if (args_json) {
        json_t *extra = json_loads(args_json, 0, NULL);
        if (!json_is_object(extra)) {
            json_decref(extra);
            tq_cli_usage_error("invoke", "--args-json needs a JSON object%s", "");
            goto out;
        }
        json_object_update_missing(args, extra);
        json_decref(extra);
    }
    json_t *payload = json_pack("{s:s,s:s,s:O}", "provider", provider, "tool", tool, "args", args);
    if (cred) json_object_set_new(payload, "credential", json_string(cred));
    if (timeout_ms > 0) json_object_set_new(payload, "timeout_ms", json_integer(timeout_ms));
    char *text = json_dumps(payload, JSON_COMPACT);
    json_decref(payload);
    tq_job_info_t job;
    int crc = tq_client_call(cli->client, tenant, "invoke", text, NULL, cli->timeout_ms, &job);
    free(text);
    if (crc) {
        rc = tq_cli_fail(cli, crc);
        goto out;
    }
    json_t *result = job.result ? json_loads(job.result, JSON_ALLOW_NUL, NULL) : NULL;
    if (strcmp(job.state, "succeeded") != 0 || !result) {
        if (cli->json) {
            json_t *o =
                json_pack("{s:b,s:s,s:{s:s?,s:s?},s:i}", "ok", 0, "job", job.id, "error", "code",
                          job.error_code, "message", job.error_message, "attempts", job.attempts);
            json_dumpf(o, stdout, JSON_COMPACT);
            fputc('\n', stdout);
            json_decref(o);
        } else {
            fprintf(stderr, "toolq invoke: %s: %s\n", job.error_code ? job.error_code : job.state,
                    job.error_message ? job.error_message : "");
        }
        rc = TQ_EXIT_FAILED;
    } else {
        if (cli->json) {
            json_dumpf(result, stdout, JSON_COMPACT);
            fputc('\n', stdout);
        } else {
            print_human(result);
        }
        rc = json_is_true(json_object_get(result, "ok")) ? TQ_EXIT_OK : TQ_EXIT_FAILED;
    }
    json_decref(result);
    tq_job_info_reset(&job);
out:
    json_decref(args);
    return rc;
}
