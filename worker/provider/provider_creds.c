/* provider_creds.c — validation, masking and the keep-on-masked update rule
 * for provider credentials (provider_creds.h). Owns the stored shape of
 * credentials_str's plaintext. Never logs, never puts a secret into an error
 * message, never touches SQL or the vault. */
#include "provider_creds.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "ssrf.h"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

#define TQ_CREDS_FIELD_MAX 4096 /* bytes of any one credential field */

static const char *const s_fields[] = {
    "auth_type",
    "api_key_header",
    "api_key_value",
    "api_key_header_prefix",
    "api_key_custom_prefix",
    "api_key_query_param",
    "credential",
    /* per-provider call options (not secrets; see docs/invoking.md) */
    "tls_verify",
    "timeout_ms",
    "connect_timeout_ms",
    /* computed (the tool origins the secret is bound to): ignored on input */
    "origins",
    NULL,
};

static int known_field(const char *k)
{
    for (size_t i = 0; s_fields[i]; i++)
        if (strcmp(s_fields[i], k) == 0) return 1;
    return 0;
}

/* Reads an optional string field; -1 with err when present but not a short string. */
static int get_str(const json_t *in, const char *key, const char **out, tq_error_t *err)
{
    json_t *v = json_object_get(in, key);
    *out = NULL;
    if (!v || json_is_null(v)) return 0;
    if (!json_is_string(v))
        return tq_error_set(err, "invalid_argument", "credentials.%s must be a string", key);
    if (json_string_length(v) > TQ_CREDS_FIELD_MAX ||
        strlen(json_string_value(v)) != json_string_length(v))
        return tq_error_set(err, "invalid_argument",
                            "credentials.%s is longer than %d bytes or holds a NUL", key,
                            TQ_CREDS_FIELD_MAX);
    *out = json_string_value(v);
    return 0;
}

/* Header names: RFC 7230 token characters. */
static int is_token(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("!#$%&'*+-.^_`|~", *s)) return 0;
    return 1;
}

static int has_ctl(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) return 1;
    return 0;
}

/* auth_type trimmed and lower-cased into buf; "api_key" -> api_key_header. */
static int auth_type_of(const char *raw, char *buf, size_t cap, tq_error_t *err)
{
    while (*raw && isspace((unsigned char)*raw))
        raw++;
    size_t n = strlen(raw);
    while (n && isspace((unsigned char)raw[n - 1]))
        n--;
    if (n >= cap) n = cap - 1;
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)tolower((unsigned char)raw[i]);
    buf[n] = '\0';
    if (strcmp(buf, "api_key") == 0) snprintf(buf, cap, "api_key_header");
    if (strcmp(buf, "none") && strcmp(buf, "api_key_header") && strcmp(buf, "api_key_query") &&
        strcmp(buf, "credential"))
        return tq_error_set(err, "invalid_argument",
                            "invalid auth_type '%.40s', expected one of: none, api_key_header, "
                            "api_key_query, credential",
                            buf);
    return 0;
}

/* The api_key_value to store: the submitted one, or the stored one when the
 * submitted is missing or equals the stored value masked (*kept set). */
static const char *key_value(const char *submitted, const json_t *stored, int *kept)
{
    const char *old = stored ? json_string_value(json_object_get(stored, "api_key_value")) : NULL;
    *kept = 0;
    if (!old || !*old) return submitted;
    if (!submitted || !*submitted) return *kept = 1, old;
    char *masked = tq_mask_secret(old);
    int keep = masked && strcmp(masked, submitted) == 0;
    free(masked);
    *kept = keep;
    return keep ? old : submitted;
}

static int same_text(const json_t *a, const json_t *b, const char *key, int nocase)
{
    const char *x = json_string_value(json_object_get(a, key));
    const char *y = json_string_value(json_object_get(b, key));
    if (!x || !y) return x == y;
    return nocase ? strcasecmp(x, y) == 0 : strcmp(x, y) == 0;
}

/* A kept secret goes only where it went and the way it went: same origins,
 * same placement (header name, prefix, query parameter). */
static int may_keep(const json_t *out, const json_t *stored, const json_t *origins, tq_error_t *err)
{
    if (json_equal(json_object_get(stored, "origins"), (json_t *)origins) &&
        same_text(out, stored, "api_key_header", 1) &&
        same_text(out, stored, "api_key_header_prefix", 0) &&
        same_text(out, stored, "api_key_custom_prefix", 0) &&
        same_text(out, stored, "api_key_query_param", 0))
        return 0;
    return tq_error_set(err, "secret_required",
                        "the provider's server or the key's placement changes: give "
                        "credentials.api_key_value again (a stored key never follows a "
                        "provider to another origin or placement)");
}

json_t *tq_provider_tool_origins(const json_t *tools)
{
    json_t *set = json_object();
    size_t i;
    const char *k;
    json_t *t;
    if (json_is_array(tools)) {
        json_array_foreach(tools, i, t)
        {
            char o[TQ_ORIGIN_MAX];
            const char *u = json_string_value(json_object_get(t, "server_url"));
            if (u && !tq_ssrf_url_origin(u, o, sizeof o)) json_object_set_new(set, o, json_true());
        }
    } else {
        json_object_foreach((json_t *)tools, k, t)
        {
            char o[TQ_ORIGIN_MAX];
            const char *u = json_string_value(json_object_get(t, "server_url"));
            if (u && !tq_ssrf_url_origin(u, o, sizeof o)) json_object_set_new(set, o, json_true());
        }
    }
    json_t *out = json_array(); /* sorted: two sets compare with json_equal */
    const char **keys = calloc(json_object_size(set) + 1, sizeof *keys);
    size_t n = 0;
    json_object_foreach(set, k, t) keys[n++] = k;
    qsort(keys, n, sizeof *keys, cmp_str);
    for (i = 0; i < n; i++)
        json_array_append_new(out, json_string(keys[i]));
    free(keys);
    json_decref(set);
    return out;
}

void tq_provider_creds_bind(json_t *creds, const json_t *origins)
{
    if (origins && json_string_value(json_object_get(creds, "api_key_value")))
        json_object_set(creds, "origins", (json_t *)origins);
}

int tq_provider_creds_check_rebind(const json_t *stored, const json_t *origins, tq_error_t *err)
{
    const char *v = json_string_value(json_object_get(stored, "api_key_value"));
    if (!v || !*v || json_equal(json_object_get(stored, "origins"), (json_t *)origins)) return 0;
    return tq_error_set(err, "secret_required",
                        "the new document moves the provider to other servers: give "
                        "credentials.api_key_value again (a stored key never follows a "
                        "provider to another origin)");
}

static json_t *normalize_auth(const json_t *in, const json_t *stored, const json_t *origins,
                              tq_error_t *err);

/* Copies the call options (tls_verify bool; timeouts in ms, 1 ms to 24 h). */
static int copy_options(const json_t *in, json_t *out, tq_error_t *err)
{
    static const char *const timeouts[] = {"timeout_ms", "connect_timeout_ms"};
    json_t *v = json_object_get(in, "tls_verify");
    if (v) {
        if (!json_is_boolean(v))
            return tq_error_set(err, "invalid_argument",
                                "credentials.tls_verify must be a boolean");
        json_object_set(out, "tls_verify", v);
    }
    for (size_t i = 0; i < 2; i++) {
        v = json_object_get(in, timeouts[i]);
        if (!v) continue;
        if (!json_is_integer(v) || json_integer_value(v) < 1 ||
            json_integer_value(v) > 24 * 3600 * 1000)
            return tq_error_set(err, "invalid_argument",
                                "credentials.%s must be milliseconds between 1 and 86400000",
                                timeouts[i]);
        json_object_set(out, timeouts[i], v);
    }
    return 0;
}

json_t *tq_provider_creds_normalize(const json_t *in, const json_t *stored, const json_t *origins,
                                    tq_error_t *err)
{
    json_t *out = normalize_auth(in, stored, origins, err);
    if (out && in && json_is_object(in) && copy_options(in, out, err)) {
        json_decref(out);
        return NULL;
    }
    return out;
}

static json_t *normalize_auth(const json_t *in, const json_t *stored, const json_t *origins,
                              tq_error_t *err)
{
    if (!in || json_is_null(in)) return json_pack("{s:s}", "auth_type", "none");
    if (!json_is_object(in)) {
        tq_error_set(err, "invalid_argument", "credentials must be an object");
        return NULL;
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)in, k, v)
    {
        if (!known_field(k)) {
            tq_error_set(err, "invalid_argument", "unknown credentials field '%.64s'", k);
            return NULL;
        }
    }
    const char *raw_type, *header, *value, *prefix, *custom, *param, *cred;
    if (get_str(in, "auth_type", &raw_type, err) || get_str(in, "api_key_header", &header, err) ||
        get_str(in, "api_key_value", &value, err) ||
        get_str(in, "api_key_header_prefix", &prefix, err) ||
        get_str(in, "api_key_custom_prefix", &custom, err) ||
        get_str(in, "api_key_query_param", &param, err) || get_str(in, "credential", &cred, err))
        return NULL;
    if (!raw_type) {
        tq_error_set(err, "invalid_argument", "credentials.auth_type is required");
        return NULL;
    }
    char type[32];
    if (auth_type_of(raw_type, type, sizeof type, err)) return NULL;

    if (strcmp(type, "none") == 0) return json_pack("{s:s}", "auth_type", "none");
    if (strcmp(type, "credential") == 0) {
        if (!cred || !*cred || has_ctl(cred)) {
            tq_error_set(err, "invalid_argument",
                         "auth_type credential needs credentials.credential (a credential name)");
            return NULL;
        }
        return json_pack("{s:s,s:s}", "auth_type", "credential", "credential", cred);
    }
    /* Same auth type as stored: the stored secret may be kept. */
    const char *stored_type =
        stored ? json_string_value(json_object_get(stored, "auth_type")) : NULL;
    int kept;
    value = key_value(value, stored_type && strcmp(stored_type, type) == 0 ? stored : NULL, &kept);
    if (!value || !*value) {
        tq_error_set(err, "invalid_argument", "auth_type %s needs credentials.api_key_value", type);
        return NULL;
    }
    if (has_ctl(value)) {
        tq_error_set(err, "invalid_argument", "credentials.api_key_value holds control characters");
        return NULL;
    }
    if (strcmp(type, "api_key_query") == 0) {
        if (!param || !*param) param = "key";
        if (has_ctl(param)) {
            tq_error_set(err, "invalid_argument", "credentials.api_key_query_param is invalid");
            return NULL;
        }
        json_t *q = json_pack("{s:s,s:s,s:s}", "auth_type", type, "api_key_query_param", param,
                              "api_key_value", value);
        tq_provider_creds_bind(q, origins);
        if (kept && may_keep(q, stored, origins, err)) {
            json_decref(q);
            return NULL;
        }
        return q;
    }
    if (!header || !*header) header = "Authorization";
    if (!is_token(header)) {
        tq_error_set(err, "invalid_argument",
                     "credentials.api_key_header '%.64s' is not a valid "
                     "header name",
                     header);
        return NULL;
    }
    char pbuf[16];
    if (!prefix || !*prefix) prefix = "none";
    snprintf(pbuf, sizeof pbuf, "%s", prefix);
    for (char *p = pbuf; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (strcmp(pbuf, "none") && strcmp(pbuf, "basic") && strcmp(pbuf, "bearer") &&
        strcmp(pbuf, "custom")) {
        tq_error_set(err, "invalid_argument",
                     "invalid api_key_header_prefix '%.16s', expected none, basic, bearer or "
                     "custom",
                     prefix);
        return NULL;
    }
    json_t *out = json_pack("{s:s,s:s,s:s,s:s}", "auth_type", type, "api_key_header", header,
                            "api_key_value", value, "api_key_header_prefix", pbuf);
    if (strcmp(pbuf, "custom") == 0) {
        if (!custom || !*custom || has_ctl(custom)) {
            json_decref(out);
            tq_error_set(err, "invalid_argument",
                         "api_key_header_prefix custom needs credentials.api_key_custom_prefix");
            return NULL;
        }
        json_object_set_new(out, "api_key_custom_prefix", json_string(custom));
    }
    tq_provider_creds_bind(out, origins);
    if (kept && may_keep(out, stored, origins, err)) {
        json_decref(out);
        return NULL;
    }
    return out;
}

json_t *tq_provider_creds_mask(const json_t *creds)
{
    json_t *out = json_deep_copy(creds);
    const char *value = json_string_value(json_object_get(out, "api_key_value"));
    if (value) {
        char *masked = tq_mask_secret(value);
        json_object_set_new(out, "api_key_value", json_string(masked ? masked : "******"));
        free(masked);
    }
    return out;
}
