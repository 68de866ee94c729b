/* fuzz_openapi.c — libFuzzer target for the importer (worker/openapi/): any
 * document must import or fail with an error code; the result must also go
 * through the function-calling form. Never crashes, loops or leaks. */
#include <stddef.h>
#include <stdint.h>

#include "openapi/openapi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tq_openapi_opts_t opts;
    tq_openapi_opts_default(&opts);
    opts.limits.max_depth = 64;
    opts.limits.max_alias_nodes = 10000;
    json_t *out = NULL;
    tq_error_t err = {0};
    if (tq_openapi_parse((const char *)data, size, &opts, &out, &err) == 0) {
        json_t *providers =
            json_pack("[{s:s,s:O}]", "provider", "p", "tools", json_object_get(out, "tools"));
        json_t *fns = tq_openapi_functions(providers, NULL, &err);
        if (!fns) __builtin_trap();
        json_decref(fns);
        json_decref(providers);
        json_decref(out);
    } else if (!err.code[0]) {
        __builtin_trap();
    }
    return 0;
}
