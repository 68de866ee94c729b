/* ops.h — the worker's op table (ops.c, generated from common/ops.def). It is
 * part of the toolq-worker executable, not of the worker core: the core gets
 * the table through tq_worker_new and never names an area's handler. */
#ifndef TQ_OPS_H
#define TQ_OPS_H

#include "op.h"

/* Borrowed (static): every handler, NULL-terminated. */
const tq_op_t *const *tq_ops_table(void);
/* Start-up check: every handler is named as its common/ops.def line. */
int tq_ops_check(tq_error_t *err);

#endif
