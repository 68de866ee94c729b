/* jschema.h — the one JSON Schema checker of toolq: checks a JSON value
 * against a schema (type, properties, required, additionalProperties, items,
 * enum, const, oneOf/anyOf, "$ref": "#/$defs/NAME"; with TQ_JSCHEMA_BOUNDS
 * also minimum, maximum, exclusiveMinimum, exclusiveMaximum, minLength,
 * maxLength, minItems, maxItems) and collects EVERY
 * problem as {"<key>": path, "problem": text}. Two users: invoke coerces a
 * tool's arguments to its input schema (worker/invoke/invoke_args.c, with
 * TQ_JSCHEMA_COERCE: "5" -> 5 for an integer ...), and the worker core checks
 * a job's payload strictly against its op's schema (common/opspec.h).
 * Pure: no I/O, no logging, never puts a value into a problem text. */
#ifndef TQ_JSCHEMA_H
#define TQ_JSCHEMA_H

#include <jansson.h>
#include <stddef.h>

#include "error.h"

/* Nesting depth checked inside one value. */
#define TQ_JSCHEMA_MAX_DEPTH 32

#define TQ_JSCHEMA_COERCE 1u /* a value of another type may be converted */
#define TQ_JSCHEMA_BOUNDS 2u /* minimum/maximum, min/maxLength, min/maxItems are checked */

typedef struct {
    const json_t *defs; /* the "$defs" refs resolve against (NULL: none) */
    const char *key;    /* the path's key in a problem object ("field" if NULL) */
    unsigned flags;     /* TQ_JSCHEMA_* */
} tq_jschema_t;

/* Checks v against schema, the problems appended to problems under path
 * ("" at the top). Returns a new value (coerced with TQ_JSCHEMA_COERCE), or
 * NULL when v itself does not fit. Container members that do not fit are
 * left out of the returned value and recorded as problems. */
json_t *tq_jschema_check(const tq_jschema_t *s, const json_t *schema, json_t *v, const char *path,
                         json_t *problems);
/* The definition a {"$ref": "#/$defs/NAME"} schema names, chains followed;
 * schema itself when it is not such a ref or the name is unknown. Borrowed. */
const json_t *tq_jschema_resolve(const tq_jschema_t *s, const json_t *schema);
/* Appends one problem. */
void tq_jschema_problem(const tq_jschema_t *s, json_t *problems, const char *path, const char *fmt,
                        ...) __attribute__((format(printf, 4, 5)));
/* A file value {filename?, content_type?, data: base64}: fits a string with
 * format binary/byte. */
int tq_jschema_is_file(const json_t *value);
/* Sets err = code with "N problem(s) with the <what>: path: problem; ..."
 * (at most ~400 bytes of problems, then "... (K more)"). Returns -1. */
int tq_jschema_fail(const tq_jschema_t *s, const json_t *problems, const char *code,
                    const char *what, tq_error_t *err);

#endif
