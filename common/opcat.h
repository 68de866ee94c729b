/* opcat.h — the op catalogue (common/ops.def) as data: the role each op
 * needs, its flags and doc line, and one name constant per op (TQ_OP_<ident>)
 * that the broker, the scheduler, the HTTP listener and the CLI use instead
 * of string literals. Owns nothing but the table; never decides access on
 * its own (broker/principal.c does). */
#ifndef TQ_OPCAT_H
#define TQ_OPCAT_H

#include <stddef.h>

/* Roles, least to most. A principal with a role may do what the roles below
 * it may (see docs/security.md), except that TENANT is bound to one tenant. */
typedef enum {
    TQ_ROLE_NONE = 0,   /* unknown peer: may only ask who it is */
    TQ_ROLE_TENANT,     /* acts for one tenant, fixed by its credential */
    TQ_ROLE_INTEGRATOR, /* acts for any tenant it names; no system op */
    TQ_ROLE_OPERATOR,   /* system ops, all tenants, stats */
    TQ_ROLE_BROKER,     /* the broker's own clients: reserved tenants and keys */
} tq_role_t;

#define TQ_OPF_READ_ONLY 1u /* changes nothing */
#define TQ_OPF_TEST 2u      /* only with worker.test_ops */

typedef struct {
    const char *name;
    const char *area;
    tq_role_t role; /* TQ_ROLE_TENANT or TQ_ROLE_OPERATOR */
    unsigned flags;
    const char *doc;
} tq_opinfo_t;

#define TQ_OP(name, ident, area, role, flags, doc) extern const char TQ_OP_##ident[];
#include "ops.def"
#undef TQ_OP

/* The catalogue entry of an op, or NULL for a name toolq does not know. */
const tq_opinfo_t *tq_opcat_find(const char *name);
/* Every entry, in ops.def order; *n gets the count. */
const tq_opinfo_t *tq_opcat_all(size_t *n);
/* "none", "tenant", "integrator", "operator", "broker". */
const char *tq_role_name(tq_role_t role);
/* "tenant", "integrator" or "operator" -> the role; anything else (NULL
 * too) -> TQ_ROLE_NONE. The roles a key or a request may name. */
tq_role_t tq_role_parse(const char *s);

#endif
