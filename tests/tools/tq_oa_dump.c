/* tq_oa_dump.c — test helper: runs the importer (tq_openapi_parse) on one
 * document and prints its result as JSON (tools, security_schemes,
 * warnings, skipped, degraded, defs; each tool with its "$defs" as
 * tools.list delivers it), with an optional server URL override:
 *   tq-oa-dump [--root DIR] FILE [SERVER_URL]
 * --root DIR: every .yaml/.yml/.json file under DIR is passed as opts.files
 * (keys relative to DIR; FILE must be under DIR), as the CLI bundles a
 * multi-file document. Used by tests/integration/test_prism.sh (credentials
 * per security scheme) and test_import_diff.sh. Test-only; reads files, never
 * writes any. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "openapi/openapi.h"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0, r;
    char *buf = malloc(cap + 1);
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) buf = realloc(buf, (cap *= 2) + 1);
    }
    fclose(f);
    if (buf) buf[n] = '\0';
    *len = n;
    return buf;
}

static int wanted(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (!strcmp(dot, ".yaml") || !strcmp(dot, ".yml") || !strcmp(dot, ".json"));
}

/* Adds the files under dir/rel to files, keyed by their path below dir. */
static void load_tree(json_t *files, const char *dir, const char *rel, int depth)
{
    char path[4096];
    snprintf(path, sizeof path, "%s%s%s", dir, *rel ? "/" : "", rel);
    DIR *d = depth < 16 ? opendir(path) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char sub[4096], full[8192];
        snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
        snprintf(full, sizeof full, "%s/%s", dir, sub);
        struct stat st;
        if (stat(full, &st)) continue;
        if (S_ISDIR(st.st_mode)) {
            load_tree(files, dir, sub, depth + 1);
        } else if (S_ISREG(st.st_mode) && wanted(e->d_name)) {
            size_t n;
            char *text = slurp(full, &n);
            json_t *s = text ? json_stringn(text, n) : NULL;
            if (s) json_object_set_new(files, sub, s);
            free(text);
        }
    }
    if (d) closedir(d);
}

int main(int argc, char **argv)
{
    const char *root = NULL;
    int a = 1;
    if (argc > 2 && !strcmp(argv[1], "--root")) {
        root = argv[2];
        a = 3;
    }
    if (argc <= a) {
        fprintf(stderr, "usage: tq-oa-dump [--root DIR] FILE [SERVER_URL]\n");
        return 2;
    }
    const char *file = argv[a];
    size_t n;
    char *buf = slurp(file, &n);
    if (!buf) {
        perror(file);
        return 1;
    }
    tq_openapi_opts_t o;
    tq_openapi_opts_default(&o);
    if (argc > a + 1) o.server_url = argv[a + 1];
    json_t *files = NULL;
    if (root) {
        size_t rl = strlen(root);
        if (strncmp(file, root, rl) || file[rl] != '/') {
            fprintf(stderr, "%s is not under %s\n", file, root);
            free(buf);
            return 2;
        }
        files = json_object();
        load_tree(files, root, "", 0);
        o.files = files;
        o.document_path = file + rl + 1;
    }
    json_t *out = NULL;
    tq_error_t err = {0};
    int rc = tq_openapi_parse(buf, n, &o, &out, &err);
    free(buf);
    json_decref(files);
    if (rc) {
        fprintf(stderr, "%s: %s\n", err.code, err.message);
        return 1;
    }
    /* tools as tools.list delivers them: each with the $defs it reaches */
    json_t *tools = json_object_get(out, "tools"), *t;
    size_t i;
    json_array_foreach(tools, i, t)
        json_array_set_new(tools, i, tq_openapi_tool_view(t, json_object_get(out, "defs"), -1));
    json_dumpf(out, stdout, JSON_COMPACT);
    fputc('\n', stdout);
    json_decref(out);
    return 0;
}
