/* openapi_opid.c — operation ids and tool names: sanitise, fit, generate,
 * de-duplicate. Deterministic: the same document always gives the same
 * names. Must never abbreviate words (only a stable hash suffix shortens). */
#include "openapi_opid.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int name_char(unsigned char c)
{
    return isalnum(c) || c == '_' || c == '-';
}

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

void tq_oa_name_fit(const char *s, size_t max, char *out)
{
    char buf[1024];
    size_t n = 0;
    int changed = 0;
    for (const char *p = s; *p && n + 1 < sizeof buf; p++) {
        if (name_char((unsigned char)*p)) {
            buf[n++] = *p;
        } else {
            changed = 1;
            if (n == 0 || buf[n - 1] != '_') buf[n++] = '_';
        }
    }
    buf[n] = '\0';
    char *b = buf;
    if (changed) {
        while (*b == '_')
            b++;
        while (n > (size_t)(b - buf) && buf[n - 1] == '_')
            buf[--n] = '\0';
    }
    if (!*b) b = "op";
    if (max > TQ_OA_NAME_MAX) max = TQ_OA_NAME_MAX;
    size_t len = strlen(b);
    if (len <= max && strlen(s) < sizeof buf) {
        memcpy(out, b, len + 1);
        return;
    }
    /* Stable truncation: the hash covers the whole original name. */
    size_t keep = max > 9 ? max - 9 : 0;
    if (keep > len) keep = len;
    snprintf(out, TQ_OA_NAME_MAX + 1, "%.*s_%08x", (int)keep, b, fnv1a(s));
}

void tq_oa_opid_generate(const char *method, const char *path, char *out)
{
    char buf[1024];
    size_t n = (size_t)snprintf(buf, sizeof buf, "%s", method);
    int words = 0;
    for (const char *p = path; *p && n + 2 < sizeof buf; p++) {
        if (isalnum((unsigned char)*p)) {
            if (n > 0 && buf[n - 1] != '_' && (p == path || !isalnum((unsigned char)p[-1])))
                buf[n++] = '_';
            buf[n++] = *p;
            words = 1;
        }
    }
    buf[n] = '\0';
    if (!words && n + 6 < sizeof buf) strcat(buf, "_root");
    tq_oa_name_fit(buf, TQ_OA_NAME_MAX, out);
}

void tq_oa_name_unique(json_t *taken, const char *name, char *out)
{
    tq_oa_name_fit(name, TQ_OA_NAME_MAX, out);
    for (unsigned i = 2; json_object_get(taken, out); i++) {
        char suffix[16];
        int sl = snprintf(suffix, sizeof suffix, "_%u", i);
        tq_oa_name_fit(name, TQ_OA_NAME_MAX - (size_t)sl, out);
        memcpy(out + strlen(out), suffix, (size_t)sl + 1);
    }
    json_object_set_new(taken, out, json_true());
}

void tq_oa_opid_assign(tq_oa_ctx_t *ctx, json_t *models)
{
    json_t *taken = json_object(), *owner = json_object();
    size_t i;
    json_t *m;
    char name[TQ_OA_NAME_MAX + 1];
    /* Pass 1: the first operation to use a document id owns it. */
    json_array_foreach(models, i, m)
    {
        const char *id = tq_oa_str(m, "operation_id");
        if (!id) continue;
        tq_oa_name_fit(id, TQ_OA_NAME_MAX, name);
        if (!json_object_get(owner, name)) {
            json_object_set_new(owner, name, json_integer((json_int_t)i));
            json_object_set_new(taken, name, json_true());
        }
    }
    /* Pass 2: everybody else gets a unique name, in document order. */
    json_array_foreach(models, i, m)
    {
        const char *id = tq_oa_str(m, "operation_id");
        char want[TQ_OA_NAME_MAX + 1];
        if (id)
            tq_oa_name_fit(id, TQ_OA_NAME_MAX, want);
        else
            tq_oa_opid_generate(tq_oa_str(m, "method"), tq_oa_str(m, "path"), want);
        if (id && json_integer_value(json_object_get(owner, want)) == (json_int_t)i &&
            json_object_get(owner, want)) {
            memcpy(name, want, sizeof name);
        } else {
            tq_oa_name_unique(taken, want, name);
            if (id) {
                ctx->op = NULL;
                tq_oa_warn(ctx, "duplicate_operation_id",
                           "operationId %s of %s %s is already used; this operation is named %s",
                           id, tq_oa_str(m, "method"), tq_oa_str(m, "path"), name);
            }
        }
        if (id && strcmp(id, name))
            json_object_set_new(m, "original_operation_id", json_string(id));
        json_object_set_new(m, "operation_id", json_string(name));
    }
    json_decref(taken);
    json_decref(owner);
}
