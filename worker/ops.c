/* ops.c — the table of op handlers a worker knows, generated from the op
 * catalogue (common/ops.def): adding an op = one line there plus its handler
 * file `tq_op_<ident>`. Built into the toolq-worker executable (with
 * main.c), above the areas and the worker core. Never contains handler logic. */
#include "ops.h"

#include "opcat.h"

#include <string.h>

#define TQ_OP(name, ident, area, role, flags, doc) extern const tq_op_t tq_op_##ident;
#include "ops.def"
#undef TQ_OP

static const tq_op_t *const s_ops[] = {
#define TQ_OP(name, ident, area, role, flags, doc) &tq_op_##ident,
#include "ops.def"
#undef TQ_OP
    NULL,
};

int tq_ops_check(tq_error_t *err)
{
    size_t n = 0;
    const tq_opinfo_t *all = tq_opcat_all(&n);
    for (size_t i = 0; i < n; i++)
        if (!s_ops[i] || strcmp(s_ops[i]->name, all[i].name) != 0)
            return tq_error_set(err, "internal",
                                "op handler tq_op_* for '%s' is named '%s' (common/ops.def)",
                                all[i].name, s_ops[i] ? s_ops[i]->name : "(none)");
    return 0;
}

const tq_op_t *const *tq_ops_table(void)
{
    return s_ops;
}
