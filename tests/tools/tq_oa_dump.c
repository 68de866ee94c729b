/* tq_oa_dump.c — test helper: runs the importer (tq_openapi_parse) on one
 * document and prints its result as JSON (tools, security_schemes,
 * warnings), with an optional server URL override:
 *   tq-oa-dump FILE [SERVER_URL]
 * Used by tests/integration/test_prism.sh to pick credentials that satisfy
 * each document's security schemes. Test-only. */
#include <stdio.h>
#include <stdlib.h>

#include "openapi/openapi.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: tq-oa-dump FILE [SERVER_URL]\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    size_t cap = 1 << 20, n = 0, r;
    char *buf = malloc(cap);
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    if (!buf) return 1;
    tq_openapi_opts_t o;
    tq_openapi_opts_default(&o);
    if (argc > 2) o.server_url = argv[2];
    json_t *out = NULL;
    tq_error_t err = {0};
    int rc = tq_openapi_parse(buf, n, &o, &out, &err);
    free(buf);
    if (rc) {
        fprintf(stderr, "%s: %s\n", err.code, err.message);
        return 1;
    }
    json_dumpf(out, stdout, JSON_COMPACT);
    fputc('\n', stdout);
    json_decref(out);
    return 0;
}
