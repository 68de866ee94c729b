/* plugin_edits.h — records the edits an auth plugin asks for (headers to set,
 * query parameters and cookies to add) through the tq_plugin_request_edit_t
 * callbacks, validating each one. The request builder applies them; this
 * module never touches a request itself. Values may be secrets: they are
 * wiped when the object is reset or destroyed, and never logged. */
#ifndef TQ_PLUGIN_EDITS_H
#define TQ_PLUGIN_EDITS_H

#include "toolq/plugin.h"

#include <stddef.h>

typedef enum { TQ_EDIT_HEADER, TQ_EDIT_QUERY, TQ_EDIT_COOKIE } tq_plugin_edit_kind_t;

typedef struct {
    tq_plugin_edit_kind_t kind;
    char *name; /* raw (query and cookie names/values are not yet encoded) */
    char *value;
} tq_plugin_edit_t;

typedef struct tq_plugin_edits_t tq_plugin_edits_t;

tq_plugin_edits_t *tq_plugin_edits_new(void);
void tq_plugin_edits_destroy(tq_plugin_edits_t **self_p);

/* The object handed to a plugin's apply_auth. Lives as long as self. */
tq_plugin_request_edit_t *tq_plugin_edits_sink(tq_plugin_edits_t *self);

/* Recorded edits in call order. A header set twice keeps only the last. */
size_t tq_plugin_edits_count(const tq_plugin_edits_t *self);
const tq_plugin_edit_t *tq_plugin_edits_at(const tq_plugin_edits_t *self, size_t i);

/* Drops (and wipes) every recorded edit. */
void tq_plugin_edits_reset(tq_plugin_edits_t *self);

#endif
