/* opcat.c — the op catalogue generated from common/ops.def (see opcat.h).
 * Never contains an op that is not in ops.def. */
#include "opcat.h"

#include <string.h>

#define TQ_OP(name, ident, area, role, flags, doc) const char TQ_OP_##ident[] = name;
#include "ops.def"
#undef TQ_OP

static const tq_opinfo_t s_ops[] = {
#define TQ_OP(name, ident, area, role, flags, doc) {name, #area, TQ_ROLE_##role, flags, doc},
#include "ops.def"
#undef TQ_OP
};

#define NOPS (sizeof s_ops / sizeof s_ops[0])

const tq_opinfo_t *tq_opcat_find(const char *name)
{
    if (!name) return NULL;
    for (size_t i = 0; i < NOPS; i++)
        if (strcmp(s_ops[i].name, name) == 0) return &s_ops[i];
    return NULL;
}

const tq_opinfo_t *tq_opcat_all(size_t *n)
{
    *n = NOPS;
    return s_ops;
}

const char *tq_role_name(tq_role_t role)
{
    switch (role) {
    case TQ_ROLE_TENANT:
        return "tenant";
    case TQ_ROLE_INTEGRATOR:
        return "integrator";
    case TQ_ROLE_OPERATOR:
        return "operator";
    case TQ_ROLE_BROKER:
        return "broker";
    default:
        return "none";
    }
}

tq_role_t tq_role_parse(const char *s)
{
    static const tq_role_t named[] = {TQ_ROLE_TENANT, TQ_ROLE_INTEGRATOR, TQ_ROLE_OPERATOR};
    for (size_t i = 0; s && i < sizeof named / sizeof *named; i++)
        if (strcmp(s, tq_role_name(named[i])) == 0) return named[i];
    return TQ_ROLE_NONE;
}
