/* fuzz_msg.c — libFuzzer target for the wire decoder (common/msg.c): any
 * byte string must decode or be refused, never crash, leak or read past. */
#include "msg.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tq_msg_t m;
    tq_error_t err;
    if (tq_msg_decode(data, size, 1u << 20, &m, &err) == 0) {
        unsigned char *buf;
        size_t n;
        if (tq_msg_encode(&m, &buf, &n) == 0) free(buf);
        tq_msg_reset(&m);
    }
    return 0;
}
