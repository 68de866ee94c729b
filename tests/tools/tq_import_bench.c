/* tq_import_bench.c — times the importer: parses one document N times and
 * prints "<file> <bytes> <tools> <best ms> <mean ms>" (scripts/bench-import
 * reads it). With --dump it prints the import result as JSON instead. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "openapi/openapi.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    int dump = argc > 1 && !strcmp(argv[1], "--dump");
    if (argc < 2 + dump) {
        fprintf(stderr, "usage: tq-import-bench [--dump] FILE [RUNS]\n");
        return 2;
    }
    const char *path = argv[1 + dump];
    int runs = argc > 2 + dump ? atoi(argv[2 + dump]) : 1;
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    size_t len = fread(buf, 1, (size_t)n, f);
    fclose(f);
    double best = 1e18, total = 0;
    size_t tools = 0;
    for (int i = 0; i < (runs > 0 ? runs : 1); i++) {
        json_t *out = NULL;
        tq_error_t err = {0};
        double t0 = now_ms();
        if (tq_openapi_parse(buf, len, NULL, &out, &err) < 0) {
            fprintf(stderr, "%s: %s: %s\n", path, err.code, err.message);
            free(buf);
            return 1;
        }
        double ms = now_ms() - t0;
        best = ms < best ? ms : best;
        total += ms;
        tools = json_array_size(json_object_get(out, "tools"));
        if (dump && i == 0) json_dumpf(out, stdout, JSON_INDENT(1));
        json_decref(out);
    }
    if (!dump)
        printf("%s %zu %zu %.1f %.1f\n", path, len, tools, best, total / (runs > 0 ? runs : 1));
    free(buf);
    return 0;
}
