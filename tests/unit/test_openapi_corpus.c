/* test_openapi_corpus.c — every document of the shared corpus
 * (tq_corpus_dir()/specs, multi-file ones from their entry file) imports;
 * tools plus skipped operations equal the operation count in SOURCES.md;
 * the known quirks are handled as issue 3 says. Prints one line per file and
 * the totals. Skipped (exit 77) when the corpus is absent. Never writes into
 * the corpus. */
#include <dirent.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#include "openapi/openapi.h"
#include "tq_corpus.h"

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!buf) {
        fclose(f);
        return NULL;
    }
    *len = fread(buf, 1, (size_t)n, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

/* ops column of SOURCES.md for a file name, -1 when not listed. */
static long sources_ops(const char *sources, const char *file)
{
    char needle[300];
    snprintf(needle, sizeof needle, "| `%s` |", file);
    const char *row = strstr(sources, needle);
    if (!row) return -1;
    /* | file | version | fmt | size | ops | */
    const char *p = row;
    for (int col = 0; col < 4 && p; col++)
        p = strchr(p + 1, '|');
    return p ? strtol(p + 1, NULL, 10) : -1;
}

static int count_code(const json_t *res, const char *code, int with_operation)
{
    int n = 0;
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(res, "warnings"), i, w)
    {
        if (!strcmp(json_string_value(json_object_get(w, "code")), code) &&
            (!with_operation || json_object_get(w, "operation")))
            n++;
    }
    return n;
}

/* Invariants every import result must satisfy; returns a problem or NULL. */
#define TOOL_MAX_BYTES (256 * 1024) /* one tool with its $defs (issue 9) */
#define STORED_MAX_BYTES (3 << 20)  /* tools + definitions of one provider */

/* What a provider stores: its tools and its definitions, encoded. */
static size_t stored_bytes(const json_t *res)
{
    return json_dumpb(json_object_get(res, "tools"), NULL, 0, JSON_COMPACT) +
           json_dumpb(json_object_get(res, "defs"), NULL, 0, JSON_COMPACT);
}

static const char *check_tools(const json_t *res, char *why, size_t size)
{
    regex_t re;
    regcomp(&re, "^[a-zA-Z0-9_-]{1,64}$", REG_EXTENDED | REG_NOSUB);
    json_t *seen = json_object();
    size_t i;
    json_t *t;
    const char *problem = NULL;
    json_array_foreach(json_object_get(res, "tools"), i, t)
    {
        const char *id = json_string_value(json_object_get(t, "operation_id"));
        json_t *schema = json_object_get(t, "input_schema");
        json_t *props = json_object_get(schema, "properties");
        if (!id || regexec(&re, id, 0, NULL, 0) != 0) {
            snprintf(why, size, "invalid operation_id %s", id ? id : "(none)");
            problem = why;
            break;
        }
        if (json_object_get(seen, id)) {
            snprintf(why, size, "duplicate operation_id %s", id);
            problem = why;
            break;
        }
        json_object_set_new(seen, id, json_true());
        /* a tool as delivered (with the definitions it reaches) stays small */
        json_t *view = tq_openapi_tool_view(t, json_object_get(res, "defs"), -1);
        size_t bytes = json_dumpb(view, NULL, 0, JSON_COMPACT);
        json_decref(view);
        if (bytes > TOOL_MAX_BYTES) {
            snprintf(why, size, "%s: %zu bytes with its $defs, more than 256 KB", id, bytes);
            problem = why;
            break;
        }
        if (!json_is_object(props) ||
            json_object_size(props) != json_array_size(json_object_get(t, "parameters"))) {
            snprintf(why, size, "%s: arguments and schema properties differ", id);
            problem = why;
            break;
        }
        size_t j;
        json_t *r;
        json_array_foreach(json_object_get(schema, "required"), j, r)
        {
            if (!json_object_get(props, json_string_value(r))) {
                snprintf(why, size, "%s: required %s is not a property", id, json_string_value(r));
                problem = why;
            }
        }
        if (problem) break;
    }
    if (!problem && stored_bytes(res) > STORED_MAX_BYTES) {
        snprintf(why, size, "stores %zu bytes of tools and definitions, more than 3 MB",
                 stored_bytes(res));
        problem = why;
    }
    json_decref(seen);
    regfree(&re);
    return problem;
}

typedef struct {
    int docs, failures;
    long tools;
    char *sources;
    json_t *results; /* file -> result */
} corpus_t;

static void record(corpus_t *c, const char *name, int rc, json_t *res, const tq_error_t *err,
                   double ms)
{
    char why[512];
    c->docs++;
    if (rc < 0) {
        c->failures++;
        printf("FAIL %-45s %s: %s\n", name, err->code, err->message);
        return;
    }
    const char *problem = check_tools(res, why, sizeof why);
    size_t tools = json_array_size(json_object_get(res, "tools"));
    size_t skipped = json_array_size(json_object_get(res, "skipped"));
    long ops = sources_ops(c->sources, name);
    if (!problem && ops >= 0 && (long)(tools + skipped) != ops) {
        snprintf(why, sizeof why, "%zu tools + %zu skipped, SOURCES.md says %ld operations", tools,
                 skipped, ops);
        problem = why;
    }
    if (problem) {
        c->failures++;
        printf("FAIL %-45s %s\n", name, problem);
    } else {
        printf("ok   %-45s %-13s %4zu tools %3zu skipped %4zu warnings %8.1f ms %6zu KB stored\n",
               name, json_string_value(json_object_get(res, "schema_type")), tools, skipped,
               json_array_size(json_object_get(res, "warnings")), ms, stored_bytes(res) >> 10);
    }
    c->tools += (long)tools;
    json_object_set(c->results, name, res);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Loads every file under dir (recursively) into files, keyed by relative path. */
static void load_tree(const char *root, const char *rel, json_t *files)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    DIR *d = opendir(path);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char sub[1024], full[2400];
        snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
        snprintf(full, sizeof full, "%s/%s", root, sub);
        struct stat st;
        if (stat(full, &st) < 0) continue;
        if (S_ISDIR(st.st_mode)) {
            load_tree(root, sub, files);
        } else {
            size_t len = 0;
            char *buf = read_file(full, &len);
            json_object_set_new(files, sub, json_stringn(buf, len));
            free(buf);
        }
    }
    closedir(d);
}

static void import_multi(corpus_t *c, const char *dir, const char *name)
{
    json_t *files = json_object();
    load_tree(dir, "", files);
    /* The entry file is the one that says which format it is. */
    const char *entry = NULL, *k;
    json_t *v;
    json_object_foreach(files, k, v)
    {
        json_t *root = NULL;
        if (tq_doc_load(json_string_value(v), json_string_length(v), NULL, &root, NULL, NULL,
                        NULL) == 0 &&
            (json_object_get(root, "openapi") || json_object_get(root, "swagger")))
            entry = k;
        json_decref(root);
    }
    char label[300];
    snprintf(label, sizeof label, "multi/%s", name);
    tq_openapi_opts_t opts;
    tq_openapi_opts_default(&opts);
    opts.files = files;
    opts.document_path = entry;
    json_t *res = NULL;
    tq_error_t err = {0};
    json_t *content = json_object_get(files, entry ? entry : "");
    double t0 = now_ms();
    int rc = entry ? tq_openapi_parse(json_string_value(content), json_string_length(content),
                                      &opts, &res, &err)
                   : tq_error_set(&err, "test", "no entry file");
    record(c, label, rc, res, &err, now_ms() - t0);
    if (rc == 0) assert_true(json_array_size(json_object_get(res, "tools")) > 0);
    json_decref(res);
    json_decref(files);
}

static void test_corpus(void **state)
{
    (void)state;
    char path[1024];
    size_t len = 0;
    corpus_t c = {0};
    c.results = json_object();
    snprintf(path, sizeof path, "%s/SOURCES.md", tq_corpus_dir());
    c.sources = read_file(path, &len);
    assert_non_null(c.sources);
    snprintf(path, sizeof path, "%s/specs", tq_corpus_dir());
    struct dirent **list;
    int n = scandir(path, &list, NULL, alphasort);
    assert_true(n > 0);
    for (int i = 0; i < n; i++) {
        const char *name = list[i]->d_name;
        char full[1400];
        snprintf(full, sizeof full, "%s/%s", path, name);
        struct stat st;
        if (name[0] != '.' && stat(full, &st) == 0 && S_ISREG(st.st_mode)) {
            char *buf = read_file(full, &len);
            tq_openapi_opts_t opts;
            tq_openapi_opts_default(&opts);
            json_t *res = NULL;
            tq_error_t err = {0};
            double t0 = now_ms();
            int rc = tq_openapi_parse(buf, len, &opts, &res, &err);
            record(&c, name, rc, res, &err, now_ms() - t0);
            json_decref(res);
            free(buf);
        }
        free(list[i]);
    }
    free(list);
    snprintf(path, sizeof path, "%s/specs/multi", tq_corpus_dir());
    n = scandir(path, &list, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        char full[1400];
        snprintf(full, sizeof full, "%s/%s", path, list[i]->d_name);
        if (list[i]->d_name[0] != '.') import_multi(&c, full, list[i]->d_name);
        free(list[i]);
    }
    if (n > 0) free(list);
    printf("corpus: %d documents, %ld tools, %d failures\n", c.docs, c.tools, c.failures);
    assert_int_equal(c.failures, 0);
    assert_int_equal(c.docs, 62);

    /* Known quirks (SOURCES.md). */
    json_t *r = json_object_get(c.results, "docusign-esignature-v2.json");
    assert_true(json_array_size(json_object_get(r, "skipped")) > 0);
    assert_true(count_code(r, "ref_not_found", 1) > 0);
    r = json_object_get(c.results, "kubernetes-v1.12-swagger.json");
    assert_int_equal(json_array_size(json_object_get(r, "tools")), 826);
    assert_true(count_code(r, "duplicate_operation_id", 0) >= 300);
    const char *webhooks[] = {"adyen-webhooks-v1.json", "oai-webhook-example.yaml",
                              "xero-webhooks.yaml"};
    for (int i = 0; i < 3; i++) {
        r = json_object_get(c.results, webhooks[i]);
        assert_int_equal(json_array_size(json_object_get(r, "tools")), 0);
        assert_int_equal(count_code(r, "no_operations", 0), 1);
    }
    r = json_object_get(c.results, "train-travel-openapi.yaml");
    assert_true(json_array_size(json_object_get(r, "tools")) > 0);
    assert_int_equal(json_array_size(json_object_get(r, "skipped")), 0);
    r = json_object_get(c.results, "moby-engine-swagger.yaml");
    assert_true(json_array_size(json_object_get(r, "tools")) > 100);
    json_decref(c.results);
    free(c.sources);
}

int main(void)
{
    TQ_NEED_CORPUS();
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_corpus)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
