/* ops.h — lookup in the worker's op table (ops.c). */
#ifndef TQ_OPS_H
#define TQ_OPS_H

#include "op.h"

const tq_op_t *tq_ops_find(const char *name);

#endif
