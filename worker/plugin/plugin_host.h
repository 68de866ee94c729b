/* plugin_host.h — loads auth plugins (include/toolq/plugin.h) from a
 * colon-separated list of folders, checks their ABI, and finds them by id or
 * credential type. Bad plugins are skipped with a log line, never fatal.
 * Owns the dlopen handles; plugin pointers live as long as the host. */
#ifndef TQ_PLUGIN_HOST_H
#define TQ_PLUGIN_HOST_H

#include "error.h"
#include "plugin/plugin_edits.h"
#include "toolq/plugin.h"

#include <jansson.h>
#include <stddef.h>

typedef struct tq_plugin_host_t tq_plugin_host_t;

/* Loads every *.so of each folder in path (in path order, then by file
 * name). A missing folder is logged and skipped. NULL only when out of
 * memory. */
tq_plugin_host_t *tq_plugin_host_new(const char *path);
void tq_plugin_host_destroy(tq_plugin_host_t **self_p);

size_t tq_plugin_host_count(const tq_plugin_host_t *self);
const tq_plugin_t *tq_plugin_host_at(const tq_plugin_host_t *self, size_t i);
/* The file plugin i was loaded from. */
const char *tq_plugin_host_file(const tq_plugin_host_t *self, size_t i);

const tq_plugin_t *tq_plugin_host_find(const tq_plugin_host_t *self, const char *id);
/* The first loaded plugin that lists type among its credential types. */
const tq_plugin_t *tq_plugin_host_find_for_credential(const tq_plugin_host_t *self,
                                                      const char *type);

/* [{"id", "version", "file" (the file name, never its folder), "providers": [...],
 *   "credential_types": [...]}]
 * for `toolq plugins`. New reference. */
json_t *tq_plugin_host_list_json(const tq_plugin_host_t *self);

/* Calls plugin->apply_auth with edits' sink. On failure the edits are reset
 * and err gets "invalid_credential" with the plugin's message (plugins never
 * put secrets there). */
int tq_plugin_apply_auth(const tq_plugin_t *plugin, const tq_plugin_request_t *req,
                         const tq_plugin_credential_t *cred, tq_plugin_edits_t *edits,
                         tq_error_t *err);

#endif
