/* plugin_host.c — dlopen(RTLD_NOW|RTLD_LOCAL) of every plugin file, ABI and
 * identity checks, lookups. Never calls a plugin function other than the
 * entry point and, through tq_plugin_apply_auth, apply_auth. */
#include "plugin_host.h"

#include "log.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const tq_plugin_t *plugin;
    void *handle;
    char *file;
} loaded_t;

struct tq_plugin_host_t {
    loaded_t *items;
    size_t count, cap;
};

static int so_file(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return d->d_name[0] != '.' && n > 3 && strcmp(d->d_name + n - 3, ".so") == 0;
}

static int valid_id(const char *id)
{
    if (!id || !*id) return 0;
    for (; *id; id++)
        if (!((*id >= 'a' && *id <= 'z') || (*id >= '0' && *id <= '9') || *id == '_')) return 0;
    return 1;
}

/* Checks what the host relies on; returns a reason, or NULL when usable. */
static const char *invalid_reason(const tq_plugin_t *p, char *buf, size_t len)
{
    if (!p) return "the entry point returned NULL";
    if (p->abi_version != TQ_PLUGIN_ABI_VERSION) {
        snprintf(buf, len, "ABI version %u, this host speaks %u", (unsigned)p->abi_version,
                 TQ_PLUGIN_ABI_VERSION);
        return buf;
    }
    if (p->struct_size < TQ_PLUGIN_MIN_SIZE) {
        snprintf(buf, len, "struct_size %u is smaller than version 1's %zu",
                 (unsigned)p->struct_size, (size_t)TQ_PLUGIN_MIN_SIZE);
        return buf;
    }
    if (!valid_id(p->id)) return "its id is missing or not [a-z0-9_]+";
    if (!p->version || !p->providers || !p->credential_types || !p->apply_auth)
        return "version, providers, credential_types or apply_auth is missing";
    return NULL;
}

static const loaded_t *find_loaded(const tq_plugin_host_t *self, const char *id)
{
    for (size_t i = 0; i < self->count; i++)
        if (strcmp(self->items[i].plugin->id, id) == 0) return &self->items[i];
    return NULL;
}

static void load_file(tq_plugin_host_t *self, const char *file)
{
    void *handle = dlopen(file, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        tq_warn("skipping plugin %s: %s", file, dlerror());
        return;
    }
    tq_plugin_entry_fn entry;
    *(void **)&entry = dlsym(handle, TQ_PLUGIN_ENTRY_SYMBOL);
    if (!entry) {
        tq_warn("skipping plugin %s: no %s entry point", file, TQ_PLUGIN_ENTRY_SYMBOL);
        dlclose(handle);
        return;
    }
    const tq_plugin_t *p = entry();
    char buf[128];
    const char *why = invalid_reason(p, buf, sizeof buf);
    if (why) {
        tq_warn("skipping plugin %s: %s", file, why);
        dlclose(handle);
        return;
    }
    const loaded_t *dup = find_loaded(self, p->id);
    if (dup) {
        tq_warn("skipping plugin %s: id '%s' is already loaded from %s", file, p->id, dup->file);
        dlclose(handle);
        return;
    }
    if (self->count == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 8;
        loaded_t *grown = realloc(self->items, cap * sizeof *grown);
        if (!grown) {
            dlclose(handle);
            return;
        }
        self->items = grown;
        self->cap = cap;
    }
    char *copy = strdup(file);
    if (!copy) {
        dlclose(handle);
        return;
    }
    self->items[self->count++] = (loaded_t){p, handle, copy};
    tq_info("loaded plugin %s %s from %s", p->id, p->version, file);
}

static void load_folder(tq_plugin_host_t *self, const char *dir)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, so_file, alphasort);
    if (n < 0) {
        tq_warn("plugin folder %s: %s", dir, strerror(errno));
        return;
    }
    for (int i = 0; i < n; i++) {
        char file[4096];
        if (snprintf(file, sizeof file, "%s/%s", dir, names[i]->d_name) < (int)sizeof file)
            load_file(self, file);
        free(names[i]);
    }
    free(names);
}

tq_plugin_host_t *tq_plugin_host_new(const char *path)
{
    tq_plugin_host_t *self = calloc(1, sizeof *self);
    char *list = strdup(path ? path : "");
    if (!self || !list) {
        free(self);
        free(list);
        return NULL;
    }
    char *save = NULL;
    for (char *dir = strtok_r(list, ":", &save); dir; dir = strtok_r(NULL, ":", &save))
        load_folder(self, dir);
    free(list);
    return self;
}

void tq_plugin_host_destroy(tq_plugin_host_t **self_p)
{
    if (!self_p || !*self_p) return;
    tq_plugin_host_t *self = *self_p;
    for (size_t i = 0; i < self->count; i++) {
        dlclose(self->items[i].handle);
        free(self->items[i].file);
    }
    free(self->items);
    free(self);
    *self_p = NULL;
}

size_t tq_plugin_host_count(const tq_plugin_host_t *self)
{
    return self->count;
}

const tq_plugin_t *tq_plugin_host_at(const tq_plugin_host_t *self, size_t i)
{
    return i < self->count ? self->items[i].plugin : NULL;
}

const char *tq_plugin_host_file(const tq_plugin_host_t *self, size_t i)
{
    return i < self->count ? self->items[i].file : NULL;
}

const tq_plugin_t *tq_plugin_host_find(const tq_plugin_host_t *self, const char *id)
{
    const loaded_t *l = find_loaded(self, id);
    return l ? l->plugin : NULL;
}

const tq_plugin_t *tq_plugin_host_find_for_credential(const tq_plugin_host_t *self,
                                                      const char *type)
{
    for (size_t i = 0; i < self->count; i++)
        for (const char *const *t = self->items[i].plugin->credential_types; *t; t++)
            if (strcmp(*t, type) == 0) return self->items[i].plugin;
    return NULL;
}

static json_t *string_list(const char *const *list)
{
    json_t *a = json_array();
    for (; *list; list++)
        json_array_append_new(a, json_string(*list));
    return a;
}

json_t *tq_plugin_host_list_json(const tq_plugin_host_t *self)
{
    json_t *out = json_array();
    for (size_t i = 0; i < self->count; i++) {
        const tq_plugin_t *p = self->items[i].plugin;
        const char *base = strrchr(self->items[i].file, '/'); /* the name, never the folder */
        json_array_append_new(out, json_pack("{ss ss ss so so}", "id", p->id, "version", p->version,
                                             "file", base ? base + 1 : self->items[i].file,
                                             "providers", string_list(p->providers),
                                             "credential_types", string_list(p->credential_types)));
    }
    return out;
}

int tq_plugin_apply_auth(const tq_plugin_t *plugin, const tq_plugin_request_t *req,
                         const tq_plugin_credential_t *cred, tq_plugin_edits_t *edits,
                         tq_error_t *err)
{
    char msg[256] = "";
    if (plugin->apply_auth(req, cred, tq_plugin_edits_sink(edits), msg, sizeof msg) == 0) return 0;
    tq_plugin_edits_reset(edits);
    msg[sizeof msg - 1] = '\0';
    return tq_error_set(err, "invalid_credential", "plugin %s: %s", plugin->id,
                        msg[0] ? msg : "authentication failed");
}
