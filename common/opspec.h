/* opspec.h — the second half of the op catalogue: each op's spec, written
 * once in common/ops/<op>.json and embedded at build time
 * (cmake/embed_sql.cmake): {"payload": JSON Schema, "result": a note on the
 * result's shape, "errors": [codes it may return], "example": a valid
 * payload}. The worker core checks every job's payload against it before the
 * handler runs (tq_opspec_check_payload); docs/ops.md and the README ops table
 * are generated from it (scripts/gen-opdocs). Owns the parsed specs (parsed
 * once, never freed, read-only after); never runs an op. */
#ifndef TQ_OPSPEC_H
#define TQ_OPSPEC_H

#include <jansson.h>

#include "error.h"

typedef struct {
    const char *name; /* the op ("provider.import") */
    const char *text; /* the JSON of common/ops/<name>.json */
} tq_opspec_text_t;

/* Generated; terminated by {NULL, NULL}, sorted by name. */
extern const tq_opspec_text_t tq_opspec_texts[];

/* The spec of an op, or NULL for an op without one. Borrowed (lives as long
 * as the process). Thread-safe. */
const json_t *tq_opspec(const char *op);
/* The op's payload schema ({"type": "object"} for an op without a spec).
 * Borrowed. */
const json_t *tq_opspec_payload(const char *op);

/* Every catalogue op (common/ops.def) has a spec whose payload is an object
 * schema, and every spec names a catalogue op: 0, or -1 with err = internal
 * naming the first that does not. */
int tq_opspec_check_all(tq_error_t *err);

/* Checks a payload strictly (no coercion) against the op's schema. A field
 * given as null that the schema does not require counts as absent (as the
 * handlers always treated it). 0 when it fits; otherwise -1 with
 * err = invalid_payload whose message names every problem, and *problems (if
 * problems is not NULL) a new array of {"field", "problem"}. */
int tq_opspec_check_payload(const char *op, const json_t *payload, json_t **problems,
                            tq_error_t *err);

#endif
