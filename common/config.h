/* config.h — effective configuration: defaults < YAML file < environment < flags.
 * Every setting is one row of the table in config.c (name, environment variable,
 * type, default, secret flag, one-line doc); docs/toolq.example.yaml documents
 * them all. Values may reference "${home}" (the run folder), expanded at read.
 * Owns only configuration; never reads anything but the YAML file and environ. */
#ifndef TQ_CONFIG_H
#define TQ_CONFIG_H

#include "error.h"
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

typedef struct tq_config_t tq_config_t;

/* Defaults for every known setting. */
tq_config_t *tq_config_new(void);
void tq_config_destroy(tq_config_t **self_p);

/* Layers, applied in this order by callers: file, then env, then flags.
 * Unknown keys in the file or in --set are errors (code "invalid_config")
 * naming the key (and line for the file); a value of the wrong type too. */
int tq_config_load_file(tq_config_t *self, const char *path, tq_error_t *err);
int tq_config_load_env(tq_config_t *self, tq_error_t *err);
/* Sets one setting from a flag (precedence: flag). */
int tq_config_set(tq_config_t *self, const char *name, const char *value, tq_error_t *err);

/* Typed reads; name must be a known setting (abort() otherwise: a programming bug).
 * Strings have ${home} expanded; the returned pointer lives as long as self. */
const char *tq_config_str(tq_config_t *self, const char *name);
int64_t tq_config_int(tq_config_t *self, const char *name);
int tq_config_bool(tq_config_t *self, const char *name);
/* A fraction setting (0..1). */
double tq_config_fraction(tq_config_t *self, const char *name);
/* Where the effective value came from: "default", "file", "env" or "flag". */
const char *tq_config_source(tq_config_t *self, const char *name);

/* Writes the effective configuration as YAML, secrets masked, each line
 * commented with its source. */
void tq_config_print(tq_config_t *self, FILE *out);

/* Masks a secret for display, the one rule for every place that shows a
 * secret: under 8 characters "******"; under 16 the first and last character
 * ("sk-abcdef" -> "s***f"); from 16 on the first 2 and last 2. Counts
 * characters, not bytes. Masking hides the value from a reader, it does not
 * make the secret safe to publish. Returns a malloc'd string. */
char *tq_mask_secret(const char *value);
/* True when a key name (n bytes) names a secret: it contains password,
 * passwd, secret, token, private or assertion (any case). The rule for
 * conninfo and query strings and for OAuth client parameters. */
int tq_mask_name_is_secret(const char *key, size_t n);
/* A copy of obj (new) whose string values under the keys is_secret(key)
 * accepts are masked with tq_mask_secret; the rest deep-copied. */
json_t *tq_mask_object(const json_t *obj, int (*is_secret)(const char *key));

#endif
