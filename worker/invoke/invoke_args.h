/* invoke_args.h — checks a tool's arguments against its input schema and
 * coerces them to the schema's types before anything is sent: "5" -> 5 for
 * an integer, "true" -> true for a boolean, JSON text parsed for an object
 * or array, a number -> text for a string. Every problem (missing required,
 * wrong type, not in enum, unknown argument) is collected, so the caller
 * gets them all in one invalid_argument error. The checking itself is
 * common/jschema.c.
 * Pure: no I/O, no logging, never echoes argument values in a message. */
#ifndef TQ_INVOKE_ARGS_H
#define TQ_INVOKE_ARGS_H

#include <jansson.h>

#include "error.h"

/* args: a JSON object (NULL = {}). Returns a new object of coerced arguments
 * (optional arguments given as null are dropped), or NULL with
 * err = invalid_argument whose message lists every problem; *problems (if
 * problems is not NULL) then gets a new array of {"argument", "problem"}. */
json_t *tq_invoke_args_check(const json_t *input_schema, const json_t *args, json_t **problems,
                             tq_error_t *err);

/* A file argument {filename?, content_type?, data: base64}. */
int tq_invoke_args_is_file(const json_t *value);

#endif
