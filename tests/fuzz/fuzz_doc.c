/* fuzz_doc.c — libFuzzer target for the JSON/YAML loader (common/doc.c):
 * any input must load or fail with an error code, never crash or leak.
 * Small bounds so deep and alias-heavy inputs hit them quickly. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "doc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tq_doc_limits_t lim;
    tq_doc_limits_default(&lim);
    lim.max_depth = 64;
    lim.max_alias_nodes = 10000;
    json_t *out = NULL, *warnings = json_array();
    tq_error_t err = {0};
    if (tq_doc_load((const char *)data, size, &lim, &out, warnings, NULL, &err) == 0) {
        char *s = json_dumps(out, JSON_ENCODE_ANY | JSON_COMPACT);
        free(s);
        json_decref(out);
    } else if (!err.code[0]) {
        __builtin_trap();
    }
    json_decref(warnings);
    return 0;
}
