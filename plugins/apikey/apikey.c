/* apikey.c — the "apikey" auth plugin: an API key in a header (with prefix
 * none, basic, bearer or custom), a query parameter or a cookie.
 * Credential types and fields (docs/plugins.md):
 *   apikey:          location header|query|cookie, name, value,
 *                    prefix none|basic|bearer|custom, custom_prefix
 *   api_key_header, api_key (the seed's inline credentials):
 *                    api_key_header, api_key_value, api_key_header_prefix
 *   api_key_query:   api_key_query_param, api_key_value
 * The credential is read-only: the prefixed value is built in a scratch
 * buffer and wiped, so the second call sends exactly what the first did
 * (the system we replace wrote "Bearer " back and then sent "Bearer Bearer"). */
#include "toolq/plugin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const PROVIDERS[] = {"*", NULL};
static const char *const TYPES[] = {"apikey", "api_key_header", "api_key_query", "api_key", NULL};

typedef struct {
    const char *location, *name, *value, *prefix, *custom_prefix;
} key_spec_t;

static const char *or_default(const char *v, const char *def)
{
    return v && *v ? v : def;
}

/* Maps both field vocabularies onto one spec. */
static void read_spec(const tq_plugin_credential_t *cred, key_spec_t *s)
{
    const char *type = cred->type ? cred->type : "apikey";
    if (strcmp(type, "apikey") == 0) {
        s->location = or_default(tq_plugin_field(cred, "location"), "header");
        const char *def = strcmp(s->location, "query") == 0 ? "key" : "Authorization";
        s->name = or_default(tq_plugin_field(cred, "name"),
                             strcmp(s->location, "cookie") == 0 ? NULL : def);
        s->value = tq_plugin_field(cred, "value");
        s->prefix = or_default(tq_plugin_field(cred, "prefix"), "none");
        s->custom_prefix = tq_plugin_field(cred, "custom_prefix");
    } else if (strcmp(type, "api_key_query") == 0) {
        s->location = "query";
        s->name = or_default(tq_plugin_field(cred, "api_key_query_param"), "key");
        s->value = tq_plugin_field(cred, "api_key_value");
        s->prefix = "none";
        s->custom_prefix = NULL;
    } else {
        s->location = "header";
        s->name = or_default(tq_plugin_field(cred, "api_key_header"), "Authorization");
        s->value = tq_plugin_field(cred, "api_key_value");
        s->prefix = or_default(tq_plugin_field(cred, "api_key_header_prefix"), "none");
        s->custom_prefix = tq_plugin_field(cred, "custom_prefix");
    }
}

/* The text put before the key, or NULL for an unknown prefix kind. */
static const char *prefix_text(const key_spec_t *s)
{
    if (strcmp(s->prefix, "none") == 0) return "";
    if (strcmp(s->prefix, "basic") == 0) return "Basic ";
    if (strcmp(s->prefix, "bearer") == 0) return "Bearer ";
    if (strcmp(s->prefix, "custom") == 0) return s->custom_prefix ? s->custom_prefix : "";
    return NULL;
}

static int set_prefixed_header(const key_spec_t *s, const char *prefix,
                               tq_plugin_request_edit_t *out, char *errbuf, size_t errlen)
{
    /* A stored key that already carries the scheme (e.g. data damaged by the
     * old write-back bug) is not prefixed twice. */
    size_t plen = strlen(prefix);
    if (strcmp(s->prefix, "custom") != 0 && strncasecmp(s->value, prefix, plen) == 0) prefix = "";
    size_t n = strlen(prefix) + strlen(s->value) + 1;
    char *value = malloc(n);
    if (!value) {
        snprintf(errbuf, errlen, "out of memory");
        return -1;
    }
    snprintf(value, n, "%s%s", prefix, s->value);
    int rc = out->set_header(out, s->name, value);
    explicit_bzero(value, n);
    free(value);
    if (rc != 0)
        snprintf(errbuf, errlen, "header '%s': invalid name, or a value with CR/LF", s->name);
    return rc;
}

static int apply_auth(const tq_plugin_request_t *req, const tq_plugin_credential_t *cred,
                      tq_plugin_request_edit_t *out, char *errbuf, size_t errlen)
{
    (void)req;
    key_spec_t s;
    read_spec(cred, &s);
    if (!s.value || !*s.value) {
        snprintf(errbuf, errlen, "the API key value is missing or empty");
        return -1;
    }
    if (!s.name) {
        snprintf(errbuf, errlen, "credential field 'name' is required for location %s", s.location);
        return -1;
    }
    const char *prefix = prefix_text(&s);
    if (!prefix) {
        snprintf(errbuf, errlen, "unknown prefix '%.32s' (none, basic, bearer or custom)",
                 s.prefix);
        return -1;
    }
    if (strcmp(s.location, "header") == 0)
        return set_prefixed_header(&s, prefix, out, errbuf, errlen);
    int rc;
    if (strcmp(s.location, "query") == 0)
        rc = out->add_query(out, s.name, s.value);
    else if (strcmp(s.location, "cookie") == 0)
        rc = out->add_cookie(out, s.name, s.value);
    else {
        snprintf(errbuf, errlen, "unknown location '%.32s' (header, query or cookie)", s.location);
        return -1;
    }
    if (rc != 0)
        snprintf(errbuf, errlen, "%s '%s': invalid name, or a value with CR/LF", s.location,
                 s.name);
    return rc;
}

static const tq_plugin_t PLUGIN = {
    .abi_version = TQ_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(tq_plugin_t),
    .id = "apikey",
    .version = "1.0.0",
    .providers = PROVIDERS,
    .credential_types = TYPES,
    .apply_auth = apply_auth,
};

TQ_PLUGIN_EXPORT const tq_plugin_t *toolq_plugin_entry(void)
{
    return &PLUGIN;
}
