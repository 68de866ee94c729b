/* ops.c — the table of op handlers a worker knows. Adding an op = one line
 * here plus its handler file. Never contains handler logic itself. */
#include "ops.h"

#include <string.h>

extern const tq_op_t tq_op_ping;
extern const tq_op_t tq_op_sleep;
extern const tq_op_t tq_op_test_crash;

static const tq_op_t *const s_ops[] = {
    &tq_op_ping,
    &tq_op_sleep,
    &tq_op_test_crash,
    NULL,
};

const tq_op_t *tq_ops_find(const char *name)
{
    for (size_t i = 0; s_ops[i]; i++)
        if (strcmp(s_ops[i]->name, name) == 0)
            return s_ops[i];
    return NULL;
}
