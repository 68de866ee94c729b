/* cmd_providers.c — the provider commands: import (many files, concurrently,
 * with a progress bar), providers, provider, tools, delete-provider and
 * check-app. Talks to the broker only through libtoolq. Owns the bundling of
 * relative-file $refs: it reads the files an entry document references and
 * puts them into the job (workers never read the filesystem), only from the
 * entry document's folder and the --allow-outside folders. Never prints a
 * secret it did not receive masked from a worker, and never echoes
 * --api-key-value (give it as "-" to read it from stdin). */
#include "cli.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "doc.h"
#include "vault.h"

#define TQ_IMPORT_WINDOW 8      /* imports in flight at once */
#define TQ_BUNDLE_MAX_FILES 256 /* documents reachable through relative $refs */
#define TQ_FRAME_MARGIN 65536   /* bytes of a SUBMIT frame that are not the payload */
#define TQ_POLL_MS 250          /* progress bar refresh while waiting */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* --- small shared helpers ------------------------------------------------ */

/* Runs op and prints the job with --json; otherwise calls print on the result
 * of a succeeded job (or prints the job's error). Returns an exit code. */
static int run_op(tq_cli_t *cli, const char *tenant, const char *op, json_t *payload,
                  void (*print)(json_t *result))
{
    char *text = json_dumps(payload, JSON_COMPACT);
    json_decref(payload);
    if (!text) return tq_cli_usage_error(op, "cannot encode the payload%s", "");
    tq_job_info_t job;
    int rc = tq_client_call(cli->client, tenant, op, text, NULL, cli->timeout_ms, &job);
    free(text);
    if (rc) return tq_cli_fail(cli, rc);
    int code;
    if (cli->json || !print || strcmp(job.state, "succeeded") != 0 || !job.result) {
        if (!cli->json && job.error_code) {
            fprintf(stderr, "toolq %s: %s: %s\n", op, job.error_code,
                    job.error_message ? job.error_message : "");
            code = TQ_EXIT_FAILED;
        } else {
            code = tq_cli_print_job(cli, &job);
        }
    } else {
        json_error_t jerr;
        json_t *result = json_loads(job.result, JSON_DECODE_ANY, &jerr);
        print(result);
        json_decref(result);
        code = TQ_EXIT_OK;
    }
    tq_job_info_reset(&job);
    return code;
}

static void add_to_list(json_t *obj, const char *key, const char *value)
{
    json_t *list = json_object_get(obj, key);
    if (!list) {
        list = json_array();
        json_object_set_new(obj, key, list);
    }
    json_array_append_new(list, json_string(value));
}

/* Filter flags shared by import and tools: 1 when argv[*i] was one (consumed). */
static int filter_flag(json_t *filter, int argc, char **argv, int *i)
{
    static const char *const map[][2] = {
        {"--include-tag", "include_tags"},
        {"--exclude-tag", "exclude_tags"},
        {"--include-path", "include_paths"},
        {"--exclude-path", "exclude_paths"},
        {"--method", "methods"},
        {"--exclude-method", "exclude_methods"},
        {"--operation-id", "operation_ids"},
        {"--exclude-operation-id", "exclude_operation_ids"},
    };
    for (size_t k = 0; k < sizeof map / sizeof map[0]; k++) {
        if (strcmp(argv[*i], map[k][0]) == 0 && *i + 1 < argc) {
            add_to_list(filter, map[k][1], argv[++*i]);
            return 1;
        }
    }
    return 0;
}

/* --- relative $ref bundling ---------------------------------------------- */

/* Normalises an absolute path lexically ("." and ".." segments), in place. */
static void normalise_path(char *p)
{
    char *r = p, *w = p; /* w: end of the output, which never has a trailing '/' */
    while (*r) {
        while (*r == '/')
            r++;
        char *seg = r;
        while (*r && *r != '/')
            r++;
        size_t n = (size_t)(r - seg);
        if (n == 0 || (n == 1 && seg[0] == '.')) continue;
        if (n == 2 && seg[0] == '.' && seg[1] == '.') {
            while (w > p && *--w != '/')
                ;
            continue;
        }
        *w++ = '/';
        memmove(w, seg, n);
        w += n;
    }
    if (w == p) *w++ = '/';
    *w = '\0';
}

static char *absolute_path(const char *path)
{
    char cwd[PATH_MAX];
    size_t n = strlen(path);
    char *out;
    if (path[0] == '/') {
        out = strdup(path);
    } else {
        if (!getcwd(cwd, sizeof cwd)) return NULL;
        out = malloc(strlen(cwd) + n + 2);
        if (out) sprintf(out, "%s/%s", cwd, path);
    }
    if (out) normalise_path(out);
    return out;
}

/* Calls fn for every "$ref" value in text that names another file. */
static void scan_refs(const char *text, void (*fn)(void *ctx, const char *ref, size_t len),
                      void *ctx)
{
    const char *p = text;
    while ((p = strstr(p, "$ref")) != NULL) {
        p += 4;
        if (*p == '"' || *p == '\'') p++;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p != ':') continue;
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        const char *v = p, *end;
        if (*p == '"' || *p == '\'') {
            char q = *p++;
            v = p;
            while (*p && *p != q && *p != '\n')
                p += (*p == '\\' && p[1]) ? 2 : 1;
            end = p;
        } else {
            while (*p && *p != '\n' && *p != ',' && *p != '}' && *p != ']' &&
                   !((*p == ' ' || *p == '\t') && p[1] == '#'))
                p++;
            end = p;
            while (end > v && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
                end--;
        }
        const char *hash = memchr(v, '#', (size_t)(end - v));
        size_t len = (size_t)((hash ? hash : end) - v);
        if (len == 0 || len >= PATH_MAX) continue;
        if (memmem(v, len, "://", 3) || v[0] == '/') continue; /* remote or absolute */
        fn(ctx, v, len);
    }
}

typedef struct {
    json_t *docs;    /* absolute path -> text */
    json_t *queue;   /* absolute paths still to scan */
    const char *dir; /* directory of the file being scanned */
    size_t total, max_bytes;
    const char *root;         /* the entry document's folder (real path) */
    const char *const *allow; /* more folders (--allow-outside), real paths; NULL-terminated */
    char error[PATH_MAX + 256];
} bundle_t;

static int below(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    if (n == 1 && dir[0] == '/') return 1;
    return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* A referenced file may be read only inside the entry's folder or an
 * --allow-outside folder, by its path and (symbolic links) its real path. */
static int ref_allowed(const bundle_t *b, const char *path)
{
    char real[PATH_MAX];
    const char *check[2] = {path, realpath(path, real) ? real : NULL};
    for (int k = 0; k < 2; k++) {
        if (!check[k]) continue;
        int ok = below(check[k], b->root);
        for (size_t i = 0; !ok && b->allow && b->allow[i]; i++)
            ok = below(check[k], b->allow[i]);
        if (!ok) return 0;
    }
    return 1;
}

static void on_ref(void *arg, const char *ref, size_t len)
{
    bundle_t *b = arg;
    if (b->error[0] || json_object_size(b->docs) >= TQ_BUNDLE_MAX_FILES) return;
    char rel[PATH_MAX];
    size_t w = 0;
    for (size_t i = 0; i < len && w + 1 < sizeof rel; i++) /* JSON's "\/" */
        if (!(ref[i] == '\\' && i + 1 < len && ref[i + 1] == '/')) rel[w++] = ref[i];
    rel[w] = '\0';
    char *path = malloc(strlen(b->dir) + w + 2);
    if (!path) return;
    sprintf(path, "%s/%s", b->dir, rel);
    normalise_path(path);
    if (!ref_allowed(b, path)) {
        snprintf(b->error, sizeof b->error,
                 "ref_outside_folder: $ref %s leaves the folder of the entry document (%s); "
                 "allow another folder with --allow-outside DIR",
                 rel, b->root);
        free(path);
        return;
    }
    struct stat st;
    if (!json_object_get(b->docs, path) && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
        size_t n = 0;
        char *text = tq_cli_read_file(path, &n);
        if (text) {
            b->total += n;
            if (b->total > b->max_bytes) {
                snprintf(b->error, sizeof b->error,
                         "document_too_large: the document and its referenced files exceed "
                         "import.max_document_bytes (%zu)",
                         b->max_bytes);
            } else {
                json_t *s = json_stringn(text, n);
                if (s) {
                    json_object_set_new(b->docs, path, s);
                    json_array_append_new(b->queue, json_string(path));
                }
                /* not UTF-8: left out; the parser names the ref it cannot resolve */
            }
            free(text);
        }
    }
    free(path);
}

/* Reads the files reachable from entry (abs path, text already read) through
 * relative $refs; fills payload.files and payload.document_path, keyed by
 * path relative to the deepest directory holding them all. 0 or -1 with msg. */
static int bundle_refs(const char *entry, const char *text, size_t len, size_t max_bytes,
                       const char *const *allow, json_t *payload, char *msg, size_t msg_cap)
{
    char *edir = strdup(entry), root[PATH_MAX];
    if (!edir || !realpath(dirname(edir), root)) {
        free(edir);
        snprintf(msg, msg_cap, "invalid_argument: cannot resolve the folder of %s", entry);
        return -1;
    }
    free(edir);
    bundle_t b = {json_object(), json_array(), NULL, len, max_bytes, root, allow, {0}};
    json_object_set_new(b.docs, entry, json_string(""));
    for (size_t i = 0; i <= json_array_size(b.queue) && !b.error[0]; i++) {
        const char *path = i == 0 ? entry : json_string_value(json_array_get(b.queue, i - 1));
        const char *body = i == 0 ? text : json_string_value(json_object_get(b.docs, path));
        char *copy = strdup(path);
        b.dir = dirname(copy);
        scan_refs(body, on_ref, &b);
        free(copy);
    }
    int rc = 0;
    if (b.error[0]) {
        snprintf(msg, msg_cap, "%s", b.error);
        rc = -1;
    } else if (json_object_size(b.docs) > 1) {
        /* The common directory of every path. */
        char *root = strdup(entry);
        *strrchr(root, '/') = '\0';
        const char *k;
        json_t *v;
        json_object_foreach(b.docs, k, v)
        {
            size_t n = strlen(root);
            while (n && !(strncmp(k, root, n) == 0 && k[n] == '/')) {
                char *slash = strrchr(root, '/');
                n = slash ? (size_t)(slash - root) : 0;
                root[n] = '\0';
            }
        }
        size_t skip = strlen(root) + 1;
        json_t *files = json_object();
        json_object_foreach(b.docs, k, v)
        {
            if (strcmp(k, entry) != 0) json_object_set(files, k + skip, v);
        }
        json_object_set_new(payload, "files", files);
        json_object_set_new(payload, "document_path", json_string(entry + skip));
        free(root);
    }
    json_decref(b.docs);
    json_decref(b.queue);
    return rc;
}

/* --- import -------------------------------------------------------------- */

typedef struct {
    const char *file;
    char *name;
    char *payload; /* JSON text, NULL once sent or when it failed locally */
    uint64_t rid;
    int done, ok;
} import_item_t;

typedef struct {
    tq_cli_t *cli;
    import_item_t *items;
    int n, done, failed, inflight;
    long tools;
    bool bar;
    double t0;
} import_run_t;

static char *default_name(const char *file)
{
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    char *name = strdup(base);
    char *dot = strrchr(name, '.');
    if (dot && dot != name) *dot = '\0';
    return name;
}

static void draw_bar(import_run_t *r)
{
    if (!r->bar) return;
    int width = 30, filled = r->n ? (int)((long)width * r->done / r->n) : width;
    double el = now_s() - r->t0;
    fprintf(stderr, "\r\033[K[%.*s%*s] %d/%d  %.1f/s  %d failed", filled,
            "##############################", width - filled, "", r->done, r->n,
            el > 0 ? r->done / el : 0.0, r->failed);
    fflush(stderr);
}

static void item_finished(import_run_t *r, import_item_t *it, const char *code, const char *message,
                          json_t *result)
{
    it->done = 1;
    it->ok = code == NULL;
    r->done++;
    if (!it->ok) r->failed++;
    if (it->ok) r->tools += (long)json_integer_value(json_object_get(result, "tools"));
    if (r->cli->json) {
        json_t *o = json_pack("{s:s,s:s,s:b}", "file", it->file, "name", it->name, "ok", it->ok);
        if (it->ok)
            json_object_set(o, "result", result);
        else
            json_object_set_new(
                o, "error",
                json_pack("{s:s,s:s}", "code", code, "message", message ? message : ""));
        json_dumpf(o, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        fflush(stdout);
        json_decref(o);
    } else {
        if (r->bar) fputs("\r\033[K", stderr);
        if (it->ok)
            printf("ok %s -> %s: %lld tools, %zu warnings, %zu skipped, %zu degraded\n", it->file,
                   it->name, (long long)json_integer_value(json_object_get(result, "tools")),
                   json_array_size(json_object_get(result, "warnings")),
                   json_array_size(json_object_get(result, "skipped")),
                   json_array_size(json_object_get(result, "degraded")));
        else
            fprintf(stderr, "FAIL %s: %s: %s\n", it->file, code, message ? message : "");
        fflush(stdout);
    }
    draw_bar(r);
}

static import_item_t *by_rid(import_run_t *r, uint64_t rid)
{
    for (int i = 0; i < r->n; i++)
        if (r->items[i].rid == rid && !r->items[i].done) return &r->items[i];
    return NULL;
}

/* Builds one file's payload; NULL with code/message in msg when it fails locally. */
static char *import_payload(const char *file, const char *name, const json_t *common,
                            size_t max_bytes, size_t max_frame, const char *const *allow, char *msg,
                            size_t cap)
{
    size_t len = 0;
    struct stat st;
    if (stat(file, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(msg, cap, "invalid_argument: cannot read %s: %s", file,
                 errno ? strerror(errno) : "not a regular file");
        return NULL;
    }
    if ((size_t)st.st_size > max_bytes) {
        snprintf(msg, cap,
                 "document_too_large: %lld bytes, more than import.max_document_bytes (%zu)",
                 (long long)st.st_size, max_bytes);
        return NULL;
    }
    char *text = tq_cli_read_file(file, &len);
    if (!text) {
        snprintf(msg, cap, "invalid_argument: cannot read %s", file);
        return NULL;
    }
    json_t *schema = json_stringn(text, len);
    if (!schema) {
        free(text);
        snprintf(msg, cap, "invalid_document: %s is not UTF-8 text", file);
        return NULL;
    }
    json_t *p = json_deep_copy(common);
    json_object_set_new(p, "name", json_string(name));
    json_object_set_new(p, "schema", schema);
    char *abs = absolute_path(file);
    int rc = abs ? bundle_refs(abs, text, len, max_bytes, allow, p, msg, cap) : 0;
    free(abs);
    free(text);
    char *out = rc ? NULL : json_dumps(p, JSON_COMPACT);
    json_decref(p);
    if (out && strlen(out) + TQ_FRAME_MARGIN > max_frame) {
        snprintf(msg, cap,
                 "document_too_large: the import payload is %zu bytes, more than a frame "
                 "holds (broker.max_frame_bytes %zu)",
                 strlen(out), max_frame);
        free(out);
        return NULL;
    }
    return out;
}

static json_t *credentials_from_flags(const char *auth, const char *header, const char *value,
                                      const char *prefix, const char *param, const char *cred)
{
    if (cred) return json_pack("{s:s,s:s}", "auth_type", "credential", "credential", cred);
    if (!auth) return NULL;
    json_t *c = json_pack("{s:s}", "auth_type", auth);
    if (header) json_object_set_new(c, "api_key_header", json_string(header));
    if (value) json_object_set_new(c, "api_key_value", json_string(value));
    if (param) json_object_set_new(c, "api_key_query_param", json_string(param));
    if (prefix) {
        static const char *const known[] = {"none", "basic", "bearer", "custom"};
        int is_known = 0;
        for (size_t i = 0; i < 4; i++)
            is_known |= strcmp(prefix, known[i]) == 0;
        if (is_known) {
            json_object_set_new(c, "api_key_header_prefix", json_string(prefix));
        } else { /* any other text is a custom prefix */
            json_object_set_new(c, "api_key_header_prefix", json_string("custom"));
            json_object_set_new(c, "api_key_custom_prefix", json_string(prefix));
        }
    }
    return c;
}

int tq_cmd_import(tq_cli_t *cli, int argc, char **argv)
{
    const char *tenant = NULL, *name = NULL, *server_url = NULL, *auth = NULL, *header = NULL,
               *value = NULL, *prefix = NULL, *param = NULL, *cred = NULL, *description = NULL;
    bool update = false, no_tls_verify = false;
    json_t *filter = json_object();
    import_run_t r = {.cli = cli};
    r.items = calloc((size_t)argc, sizeof *r.items);
    char **allow = calloc((size_t)argc + 1, sizeof *allow); /* --allow-outside, real paths */
    size_t nallow = 0;
    char *secret = NULL; /* --api-key-value - (read from stdin) */
    if (!r.items || !allow) {
        free(r.items);
        free(allow);
        json_decref(filter);
        return TQ_EXIT_USAGE;
    }
    int usage = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (filter_flag(filter, argc, argv, &i)) continue;
        if (strcmp(a, "--tenant") == 0 && has)
            tenant = argv[++i];
        else if (strcmp(a, "--name") == 0 && has)
            name = argv[++i];
        else if (strcmp(a, "--server-url") == 0 && has)
            server_url = argv[++i];
        else if (strcmp(a, "--description") == 0 && has)
            description = argv[++i];
        else if (strcmp(a, "--update") == 0)
            update = true;
        else if (strcmp(a, "--auth") == 0 && has)
            auth = argv[++i];
        else if (strcmp(a, "--api-key-header") == 0 && has)
            header = argv[++i];
        else if (strcmp(a, "--api-key-value") == 0 && has)
            value = argv[++i];
        else if (strcmp(a, "--allow-outside") == 0 && has) {
            char real[PATH_MAX];
            if (!realpath(argv[++i], real)) {
                usage = tq_cli_usage_error("import", "--allow-outside: no such folder %s", argv[i]);
                break;
            }
            allow[nallow++] = strdup(real);
        } else if (strcmp(a, "--api-key-prefix") == 0 && has)
            prefix = argv[++i];
        else if (strcmp(a, "--api-key-query-param") == 0 && has)
            param = argv[++i];
        else if (strcmp(a, "--credential") == 0 && has)
            cred = argv[++i];
        else if (strcmp(a, "--no-tls-verify") == 0)
            no_tls_verify = true;
        else if (a[0] != '-' || strcmp(a, "-") == 0)
            r.items[r.n++].file = a;
        else {
            usage = tq_cli_usage_error("import", "unexpected argument %s", a);
            break;
        }
    }
    int stdin_doc = 0;
    for (int i = 0; i < r.n; i++)
        stdin_doc |= strcmp(r.items[i].file, "-") == 0;
    if (usage)
        ;
    else if (value && strcmp(value, "-") == 0 && stdin_doc)
        usage = tq_cli_usage_error("import",
                                   "stdin holds either the document (FILE -) or the key "
                                   "(--api-key-value -), not both%s",
                                   "");
    else if (!tenant)
        usage = tq_cli_usage_error("import", "missing --tenant T%s", "");
    else if (!r.n)
        usage = tq_cli_usage_error("import", "missing FILE%s", "");
    else if (name && r.n > 1)
        usage = tq_cli_usage_error("import", "--name needs exactly one FILE%s", "");
    else if (auth && cred)
        usage = tq_cli_usage_error("import", "give --auth or --credential, not both%s", "");
    else if (no_tls_verify && update && !auth && !cred)
        usage = tq_cli_usage_error("import",
                                   "--no-tls-verify with --update needs --auth or "
                                   "--credential (it replaces the credentials)%s",
                                   "");
    if (!usage && value && strcmp(value, "-") == 0) { /* the key never on the command line */
        secret = tq_cli_read_line();
        if (!secret || !*secret)
            usage = tq_cli_usage_error("import", "--api-key-value -: no key on stdin%s", "");
        value = secret;
    }
    if (usage) {
        json_decref(filter);
        free(r.items);
        for (size_t i = 0; i < nallow; i++)
            free(allow[i]);
        free(allow);
        if (secret) tq_secure_wipe_str(secret);
        free(secret);
        return usage;
    }

    /* Bounds the CLI can check before sending (env and config file). */
    tq_config_t *cfg = tq_config_new();
    tq_error_t cerr = {0};
    tq_config_load_env(cfg, &cerr);
    const char *cfg_file = tq_config_str(cfg, "config");
    if (cfg_file && *cfg_file) tq_config_load_file(cfg, cfg_file, &cerr);
    size_t max_bytes = (size_t)tq_config_int(cfg, "import.max_document_bytes");
    size_t max_frame = (size_t)tq_config_int(cfg, "broker.max_frame_bytes");
    tq_config_destroy(&cfg);

    json_t *common = json_object();
    if (server_url) json_object_set_new(common, "server_url", json_string(server_url));
    if (description) json_object_set_new(common, "description", json_string(description));
    if (json_object_size(filter)) json_object_set(common, "filter", filter);
    json_t *creds = credentials_from_flags(auth, header, value, prefix, param, cred);
    if (no_tls_verify) {
        if (!creds) creds = json_pack("{s:s}", "auth_type", "none");
        json_object_set_new(creds, "tls_verify", json_false());
    }
    if (creds) json_object_set_new(common, "credentials", creds);
    json_decref(filter);
    if (secret) tq_secure_wipe_str(secret);
    free(secret);

    r.bar = !cli->json && isatty(STDERR_FILENO);
    r.t0 = now_s();
    const char *op = update ? "provider.update" : "provider.import";
    int next = 0, unreachable = 0;
    double last_event = now_s();
    draw_bar(&r);
    while (r.done < r.n) {
        /* Keep the window full. */
        while (next < r.n && r.inflight < TQ_IMPORT_WINDOW) {
            import_item_t *it = &r.items[next++];
            it->name = name ? strdup(name) : default_name(it->file);
            char msg[PATH_MAX + 300];
            it->payload = import_payload(it->file, it->name, common, max_bytes, max_frame,
                                         (const char *const *)allow, msg, sizeof msg);
            if (!it->payload) {
                char *colon = strchr(msg, ':');
                *colon = '\0';
                item_finished(&r, it, msg, colon + 2, NULL);
                continue;
            }
            it->rid = tq_client_send_submit(cli->client, tenant, op, it->payload, NULL, true);
            tq_secure_wipe_str(it->payload); /* it may hold --api-key-value */
            free(it->payload);
            it->payload = NULL;
            if (!it->rid) {
                item_finished(&r, it, tq_client_error_code(cli->client),
                              tq_client_error_message(cli->client), NULL);
                continue;
            }
            r.inflight++;
        }
        if (r.done >= r.n) break;
        tq_client_event_t ev;
        int rc = tq_client_recv(cli->client, TQ_POLL_MS, &ev);
        if (rc == TQ_CLIENT_TIMEOUT) {
            draw_bar(&r);
            if ((now_s() - last_event) * 1000 > cli->timeout_ms) {
                for (int i = 0; i < r.n; i++)
                    if (r.items[i].rid && !r.items[i].done) {
                        item_finished(&r, &r.items[i], "timeout",
                                      "no answer from the broker in time (see --timeout)", NULL);
                        unreachable = 1;
                    }
                r.inflight = 0;
            }
            continue;
        }
        last_event = now_s();
        if (rc) break;
        import_item_t *it = by_rid(&r, ev.rid);
        if (!it && ev.type == TQ_EVENT_REJECTED && ev.rid == 0 && r.inflight == 1)
            for (int i = 0; i < r.n && !it; i++)
                if (r.items[i].rid && !r.items[i].done) it = &r.items[i];
        if (it && ev.type == TQ_EVENT_REJECTED) {
            r.inflight--;
            item_finished(&r, it, ev.job.error_code ? ev.job.error_code : "rejected",
                          ev.job.error_message, NULL);
        } else if (it && ev.type == TQ_EVENT_RESULT) {
            r.inflight--;
            if (ev.job.state && strcmp(ev.job.state, "succeeded") == 0) {
                json_error_t jerr;
                json_t *res = ev.job.result ? json_loads(ev.job.result, 0, &jerr) : NULL;
                item_finished(&r, it, NULL, NULL, res);
                json_decref(res);
            } else {
                item_finished(&r, it, ev.job.error_code ? ev.job.error_code : ev.job.state,
                              ev.job.error_message, NULL);
            }
        }
        tq_job_info_reset(&ev.job);
    }
    if (r.bar) fputs("\r\033[K", stderr);
    double el = now_s() - r.t0;
    fprintf(stderr, "%s %d of %d documents (%ld tools), %d failed, in %.1f s\n",
            update ? "updated" : "imported", r.n - r.failed, r.n, r.tools, r.failed, el);
    for (int i = 0; i < r.n; i++) {
        free(r.items[i].name);
        free(r.items[i].payload);
    }
    free(r.items);
    for (size_t i = 0; i < nallow; i++)
        free(allow[i]);
    free(allow);
    json_t *kv = json_object_get(json_object_get(common, "credentials"), "api_key_value");
    if (kv) tq_secure_wipe((char *)json_string_value(kv), json_string_length(kv));
    json_decref(common);
    if (unreachable && r.failed == r.n) return TQ_EXIT_UNREACHABLE;
    return r.failed ? TQ_EXIT_FAILED : TQ_EXIT_OK;
}

/* --- providers / provider / delete-provider --------------------------------- */

/* Parses "--tenant T [NAME]"; returns 0 or a usage exit code. */
static int tenant_and_name(const char *cmd, int argc, char **argv, bool want_name,
                           const char **tenant, const char **name, bool *schema)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--tenant") == 0 && i + 1 < argc)
            *tenant = argv[++i];
        else if (schema && strcmp(argv[i], "--schema") == 0)
            *schema = true;
        else if (want_name && argv[i][0] != '-' && !*name)
            *name = argv[i];
        else
            return tq_cli_usage_error(cmd, "unexpected argument %s", argv[i]);
    }
    if (!*tenant) return tq_cli_usage_error(cmd, "missing --tenant T%s", "");
    if (want_name && !*name) return tq_cli_usage_error(cmd, "missing NAME%s", "");
    return 0;
}

static void print_providers(json_t *result)
{
    size_t i;
    json_t *p;
    printf("%-32s %-13s %6s  %-24s %s\n", "NAME", "TYPE", "TOOLS", "UPDATED", "ID");
    json_array_foreach(json_object_get(result, "providers"), i, p)
    {
        printf("%-32s %-13s %6lld  %-24s %s\n", json_string_value(json_object_get(p, "name")),
               json_string_value(json_object_get(p, "schema_type")),
               (long long)json_integer_value(json_object_get(p, "tools")),
               json_string_value(json_object_get(p, "updated_at")),
               json_string_value(json_object_get(p, "id")));
    }
}

int tq_cmd_providers(tq_cli_t *cli, int argc, char **argv)
{
    const char *tenant = NULL, *name = NULL;
    int rc = tenant_and_name("providers", argc, argv, false, &tenant, &name, NULL);
    return rc ? rc : run_op(cli, tenant, "provider.list", json_object(), print_providers);
}

static void print_provider(json_t *r)
{
    const char *k;
    json_t *v;
    json_object_foreach(r, k, v)
    {
        if (json_is_string(v) && strcmp(k, "schema") != 0)
            printf("%-18s %s\n", k, json_string_value(v));
    }
    printf("%-18s ", "credentials");
    json_dumpf(json_object_get(r, "credentials"), stdout, JSON_COMPACT | JSON_SORT_KEYS);
    printf("\ntools (%lld):\n", (long long)json_integer_value(json_object_get(r, "tool_count")));
    size_t i;
    json_array_foreach(json_object_get(r, "tools"), i, v)
    {
        printf("  %-40s %-7s %s\n", json_string_value(json_object_get(v, "operation_id")),
               json_string_value(json_object_get(v, "method")),
               json_string_value(json_object_get(v, "path")));
    }
    if (json_is_string(json_object_get(r, "schema")))
        printf("schema:\n%s\n", json_string_value(json_object_get(r, "schema")));
}

int tq_cmd_provider(tq_cli_t *cli, int argc, char **argv)
{
    const char *tenant = NULL, *name = NULL;
    bool schema = false;
    int rc = tenant_and_name("provider", argc, argv, true, &tenant, &name, &schema);
    if (rc) return rc;
    json_t *p = json_pack("{s:s}", "name", name);
    if (schema) json_object_set_new(p, "include_schema", json_true());
    return run_op(cli, tenant, "provider.get", p, print_provider);
}

static void print_deleted(json_t *r)
{
    printf("deleted %s (%s)\n", json_string_value(json_object_get(r, "name")),
           json_string_value(json_object_get(r, "id")));
}

int tq_cmd_delete_provider(tq_cli_t *cli, int argc, char **argv)
{
    const char *tenant = NULL, *name = NULL;
    int rc = tenant_and_name("delete-provider", argc, argv, true, &tenant, &name, NULL);
    return rc ? rc
              : run_op(cli, tenant, "provider.delete", json_pack("{s:s}", "name", name),
                       print_deleted);
}

/* --- tools ------------------------------------------------------------------ */

static void print_tools(json_t *r)
{
    if (!json_object_get(r, "providers")) { /* openai form: it is meant for machines */
        json_dumpf(r, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
        return;
    }
    size_t i, k;
    json_t *p, *t;
    json_array_foreach(json_object_get(r, "providers"), i, p)
    {
        json_array_foreach(json_object_get(p, "tools"), k, t)
        {
            printf("%-24s %-40s %-7s %s\n", json_string_value(json_object_get(p, "provider")),
                   json_string_value(json_object_get(t, "operation_id")),
                   json_string_value(json_object_get(t, "method")),
                   json_string_value(json_object_get(t, "path")));
        }
    }
}

/* Appends page (a tools.list result) to all: openai tools and names, toolq
 * providers (a provider continued from the previous page is merged). */
static void merge_page(json_t *all, json_t *page)
{
    const char *k;
    json_t *v;
    json_object_foreach(page, k, v)
    {
        json_t *have = json_object_get(all, k);
        if (!strcmp(k, "next_cursor")) continue;
        if (!have) {
            json_object_set(all, k, v);
        } else if (!strcmp(k, "providers")) {
            size_t i;
            json_t *p;
            json_array_foreach(v, i, p)
            {
                json_t *last = json_array_get(have, json_array_size(have) - 1);
                if (i == 0 && last &&
                    json_equal(json_object_get(last, "id"), json_object_get(p, "id")))
                    json_array_extend(json_object_get(last, "tools"), json_object_get(p, "tools"));
                else
                    json_array_append(have, p);
            }
        } else if (json_is_array(have)) {
            json_array_extend(have, v);
        } else if (json_is_object(have)) {
            json_object_update(have, v);
        }
    }
}

int tq_cmd_tools(tq_cli_t *cli, int argc, char **argv)
{
    const char *tenant = NULL, *provider = NULL, *format = NULL, *prefix = NULL;
    long inline_depth = -1, limit = 0;
    json_t *filter = json_object();
    for (int i = 1; i < argc; i++) {
        bool has = i + 1 < argc;
        char *end = NULL;
        if (filter_flag(filter, argc, argv, &i)) continue;
        if (strcmp(argv[i], "--tenant") == 0 && has)
            tenant = argv[++i];
        else if (strcmp(argv[i], "--provider") == 0 && has)
            provider = argv[++i];
        else if (strcmp(argv[i], "--format") == 0 && has)
            format = argv[++i];
        else if (strcmp(argv[i], "--prefix") == 0 && has)
            prefix = argv[++i];
        else if (strcmp(argv[i], "--inline-depth") == 0 && has &&
                 (inline_depth = strtol(argv[++i], &end, 10)) >= 0 && !*end)
            ;
        else if (strcmp(argv[i], "--limit") == 0 && has &&
                 (limit = strtol(argv[++i], &end, 10)) > 0 && !*end)
            ;
        else {
            json_decref(filter);
            return tq_cli_usage_error("tools", "unexpected argument %s", argv[i]);
        }
    }
    if (!tenant) {
        json_decref(filter);
        return tq_cli_usage_error("tools", "missing --tenant T%s", "");
    }
    json_t *p = json_object();
    if (provider) json_object_set_new(p, "provider", json_string(provider));
    if (format) json_object_set_new(p, "format", json_string(format));
    if (prefix) json_object_set_new(p, "prefix", json_string(prefix));
    if (inline_depth >= 0) json_object_set_new(p, "inline_depth", json_integer(inline_depth));
    if (limit > 0) json_object_set_new(p, "limit", json_integer(limit));
    if (json_object_size(filter)) json_object_set(p, "filter", filter);
    json_decref(filter);
    /* Follows next_cursor: pages are printed as they come, or (--json) merged
     * into one job object. */
    json_t *all = json_object();
    int code = TQ_EXIT_OK;
    for (;;) {
        char *text = json_dumps(p, JSON_COMPACT);
        tq_job_info_t job;
        int rc =
            tq_client_call(cli->client, tenant, "tools.list", text, NULL, cli->timeout_ms, &job);
        free(text);
        if (rc) {
            code = tq_cli_fail(cli, rc);
            break;
        }
        if (strcmp(job.state, "succeeded") != 0 || !job.result) {
            if (!cli->json && job.error_code)
                fprintf(stderr, "toolq tools: %s: %s\n", job.error_code,
                        job.error_message ? job.error_message : "");
            else
                tq_cli_print_job(cli, &job);
            tq_job_info_reset(&job);
            code = TQ_EXIT_FAILED;
            break;
        }
        json_error_t jerr;
        json_t *page = json_loads(job.result, JSON_DECODE_ANY, &jerr);
        tq_job_info_reset(&job);
        if (cli->json)
            merge_page(all, page);
        else
            print_tools(page);
        json_t *next = json_object_get(page, "next_cursor");
        if (json_is_string(next)) json_object_set(p, "cursor", next);
        json_decref(page);
        if (!json_is_string(next)) break;
    }
    if (cli->json && code == TQ_EXIT_OK) {
        json_t *out = json_pack("{s:s,s:o}", "state", "succeeded", "result", all);
        json_dumpf(out, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(out);
    } else {
        json_decref(all);
    }
    json_decref(p);
    return code;
}

/* --- check-app ------------------------------------------------------------- */

static void print_check(json_t *r)
{
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(r, "deleted_tools"), i, d)
    {
        printf("deleted %s tool %s of provider %s: %s\n",
               json_string_value(json_object_get(d, "type")),
               json_string_value(json_object_get(d, "tool_name")),
               json_string_value(json_object_get(d, "provider_id")),
               json_string_value(json_object_get(d, "reason")));
    }
    json_array_foreach(json_object_get(r, "problems"), i, d)
    {
        printf("problem in tools[%lld]: %s\n",
               (long long)json_integer_value(json_object_get(d, "index")),
               json_string_value(json_object_get(d, "reason")));
    }
    if (!json_array_size(json_object_get(r, "deleted_tools")) &&
        !json_array_size(json_object_get(r, "problems")))
        printf("all tools present\n");
}

int tq_cmd_check_app(tq_cli_t *cli, int argc, char **argv)
{
    const char *tenant = NULL, *file = NULL;
    int rc = tenant_and_name("check-app", argc, argv, true, &tenant, &file, NULL);
    if (rc) return rc;
    size_t len = 0;
    char *text = tq_cli_read_file(file, &len);
    if (!text) return tq_cli_usage_error("check-app", "cannot read %s", file);
    json_t *doc = NULL;
    tq_error_t err = {0};
    rc = tq_doc_load(text, len, NULL, &doc, NULL, NULL, &err);
    free(text);
    if (rc) {
        fprintf(stderr, "toolq check-app: %s: %s: %s\n", file, err.code, err.message);
        return TQ_EXIT_USAGE;
    }
    /* An app config ({"agent_mode": ...}, maybe under model_config) or agent_mode itself. */
    json_t *agent = json_object_get(doc, "agent_mode");
    if (!agent) agent = json_object_get(json_object_get(doc, "model_config"), "agent_mode");
    if (!agent) agent = doc;
    json_t *p = json_pack("{s:O}", "agent_mode", agent);
    json_decref(doc);
    return run_op(cli, tenant, "app.check_tools", p, print_check);
}
