/* ops.h — lookup in the worker's op table (ops.c, generated from common/ops.def). */
#ifndef TQ_OPS_H
#define TQ_OPS_H

#include "op.h"

const tq_op_t *tq_ops_find(const char *name);
/* Start-up check: every handler is named as its common/ops.def line. */
int tq_ops_check(tq_error_t *err);

#endif
