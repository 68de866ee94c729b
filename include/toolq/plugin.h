/* toolq/plugin.h — the versioned C ABI between toolq workers and auth plugins.
 *
 * A plugin is a shared object exporting one function:
 *
 *     TQ_PLUGIN_EXPORT const tq_plugin_t *toolq_plugin_entry(void);
 *
 * returning a pointer to a static, constant tq_plugin_t. Plugins are PURE:
 * they build and parse (add authentication to a request description; later,
 * build OAuth URLs and token requests and parse token responses). They do no
 * I/O, keep no global mutable state, never log, and never retain a pointer
 * they were given after the call returns. All calls may come from several
 * threads at once.
 *
 * Versioning: abi_version must equal the host's TQ_PLUGIN_ABI_VERSION (an
 * incompatible change bumps it). Compatible growth appends fields at the end
 * of tq_plugin_t; struct_size (= sizeof(tq_plugin_t) as the plugin was built)
 * tells the host which fields exist (TQ_PLUGIN_HAS). Hosts skip, with a log
 * line, a plugin whose ABI version differs, whose struct_size is smaller than
 * version 1's, that lacks the entry point, or whose id is already loaded.
 *
 * Memory: every string a plugin hands back goes through a host callback that
 * copies it; plugins never allocate anything the host must free.
 * Secrets: credential values must never appear in errbuf messages.
 * Return values: 0 on success, -1 on failure with a NUL-terminated message
 * in errbuf (at most errlen bytes including the NUL). */
#ifndef TOOLQ_PLUGIN_H
#define TOOLQ_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TQ_PLUGIN_ABI_VERSION 1u
#define TQ_PLUGIN_ENTRY_SYMBOL "toolq_plugin_entry"
#define TQ_PLUGIN_EXPORT __attribute__((visibility("default")))

/* A name/value pair: a request header, or a credential field. */
typedef struct {
    const char *name;
    const char *value;
} tq_plugin_kv_t;

/* The request as it will be sent, before authentication. */
typedef struct {
    const char *method;            /* "GET", "POST", ... upper case */
    const char *url;               /* absolute, percent-encoded as it goes on the wire */
    const tq_plugin_kv_t *headers; /* in order; names as given (compare case-insensitively) */
    size_t header_count;
    const unsigned char *body; /* may be NULL when body_len is 0 */
    size_t body_len;
    int64_t now; /* Unix time in seconds, for signatures */
} tq_plugin_request_t;

/* A decrypted credential, read-only: plugins never modify it. */
typedef struct {
    const char *type; /* e.g. "apikey", "basic", "aws_sigv4" */
    const tq_plugin_kv_t *fields;
    size_t field_count;
} tq_plugin_credential_t;

/* How a plugin changes a request. The host provides the object and applies
 * the recorded edits after apply_auth returns 0 (nothing on failure). Each
 * callback copies its arguments and returns 0, or -1 when the edit is
 * refused (a header name that is not an HTTP token, a value with CR, LF or
 * NUL, out of memory); the plugin then fails with a message. */
typedef struct tq_plugin_request_edit_t tq_plugin_request_edit_t;
struct tq_plugin_request_edit_t {
    /* Sets a header, replacing every header of that name (case-insensitive). */
    int (*set_header)(tq_plugin_request_edit_t *self, const char *name, const char *value);
    /* Appends a query parameter; name and value are raw: the host encodes them. */
    int (*add_query)(tq_plugin_request_edit_t *self, const char *name, const char *value);
    /* Adds a cookie to the Cookie header; raw, the host encodes. */
    int (*add_cookie)(tq_plugin_request_edit_t *self, const char *name, const char *value);
};

/* The OAuth hooks (NULL-able; worker/oauth/ calls them). Inputs are
 * name/value parameters: client_id, client_secret,
 * authorize_url, token_url, redirect_uri, scope, state, code_challenge,
 * code_challenge_method, code, code_verifier, refresh_token, grant_type.
 * Outputs go through an output object, one put() per named value. */
typedef struct tq_plugin_output_t tq_plugin_output_t;
struct tq_plugin_output_t {
    /* Records value (len bytes, not necessarily NUL-terminated) under key;
     * a key may be put several times (e.g. "header"). Copies; 0 or -1. */
    int (*put)(tq_plugin_output_t *self, const char *key, const char *value, size_t len);
};

/* An HTTP response handed to a parsing hook. */
typedef struct {
    int status;
    const tq_plugin_kv_t *headers;
    size_t header_count;
    const unsigned char *body;
    size_t body_len;
} tq_plugin_response_t;

typedef struct tq_plugin_t {
    uint32_t abi_version; /* TQ_PLUGIN_ABI_VERSION */
    uint32_t struct_size; /* sizeof(tq_plugin_t) */
    const char *id;       /* unique, [a-z0-9_]+, e.g. "apikey" */
    const char *version;  /* the plugin's own version, e.g. "1.0.0" */
    /* NULL-terminated lists. providers: provider names this plugin serves,
     * "*" for any provider. credential_types: types it can apply. */
    const char *const *providers;
    const char *const *credential_types;

    /* Required. Adds authentication for cred to req through out. */
    int (*apply_auth)(const tq_plugin_request_t *req, const tq_plugin_credential_t *cred,
                      tq_plugin_request_edit_t *out, char *errbuf, size_t errlen);

    /* Optional (may be NULL), for the OAuth issue. Puts "url". */
    int (*build_authorize_url)(const tq_plugin_kv_t *params, size_t param_count,
                               tq_plugin_output_t *out, char *errbuf, size_t errlen);
    /* Optional. Puts "method", "url", "header" ("Name: value", repeatable),
     * "body" for the token request (code exchange or refresh per grant_type). */
    int (*build_token_request)(const tq_plugin_kv_t *params, size_t param_count,
                               tq_plugin_output_t *out, char *errbuf, size_t errlen);
    /* Optional. Puts "access_token", "token_type", "expires_in", "refresh_token",
     * "scope", or on an OAuth error "error" and "error_description". */
    int (*parse_token_response)(const tq_plugin_response_t *resp, tq_plugin_output_t *out,
                                char *errbuf, size_t errlen);

    /* --- Appended after version 1 (OAuth); test with TQ_PLUGIN_HAS. ------------
     * The OAuth hooks above receive the client configuration merged over
     * oauth_defaults' values (docs/oauth.md lists the names): client_id,
     * client_secret, authorize_url, token_url, revocation_url, redirect_uri,
     * scope (space-separated; the plugin joins with its separator), state,
     * code_challenge, code_challenge_method, code, code_verifier,
     * refresh_token, grant_type, token_auth_method, body_format,
     * "authorize.<name>" / "token.<name>" extra parameters, and provider
     * specific ones (microsoft "tenant", slack "user_scope").
     * parse_token_response may also put "refresh_token_expires_in" and
     * "meta.<name>" (non-secret provider metadata: Slack team id ...). */

    /* Optional. The provider's defaults, given the configured params: any of
     * authorize_url, token_url, revocation_url, issuer (enables discovery
     * and the RFC 9207 iss check), scope, scope_separator, token_auth_method
     * (client_secret_basic | client_secret_post | none), body_format
     * (form | json), pkce ("S256" or "none": the provider rejects PKCE),
     * refresh_ahead_s, revocation ("1" when supported), authorize.<name>,
     * token.<name>. */
    int (*oauth_defaults)(const tq_plugin_kv_t *params, size_t param_count, tq_plugin_output_t *out,
                          char *errbuf, size_t errlen);
    /* Optional. RFC 7009 (or the provider's own revocation): puts "method",
     * "url", "header", "body" for params token + token_type_hint. */
    int (*build_revoke_request)(const tq_plugin_kv_t *params, size_t param_count,
                                tq_plugin_output_t *out, char *errbuf, size_t errlen);
    /* Optional. RFC 8414 / OIDC discovery from params "issuer": puts "url"
     * once per candidate document, in the order to try. */
    int (*build_discovery_request)(const tq_plugin_kv_t *params, size_t param_count,
                                   tq_plugin_output_t *out, char *errbuf, size_t errlen);
    /* Optional. Parses a discovery document: puts issuer, authorize_url,
     * token_url, revocation_url, iss_parameter_supported ("1"/"0"), pkce
     * ("S256" or "none"), token_auth_methods (space-separated). */
    int (*parse_discovery_response)(const tq_plugin_response_t *resp, tq_plugin_output_t *out,
                                    char *errbuf, size_t errlen);
} tq_plugin_t;

/* The smallest struct_size a version-1 host accepts. */
#define TQ_PLUGIN_MIN_SIZE (offsetof(tq_plugin_t, parse_token_response) + sizeof(void *))

/* Whether plugin p was built with field f (fields added after version 1). */
#define TQ_PLUGIN_HAS(p, f)                                                                        \
    ((p)->struct_size >= offsetof(tq_plugin_t, f) + sizeof(((tq_plugin_t *)0)->f))

typedef const tq_plugin_t *(*tq_plugin_entry_fn)(void);

/* Convenience for plugins: the value of credential field name, or NULL. */
static inline const char *tq_plugin_field(const tq_plugin_credential_t *cred, const char *name)
{
    for (size_t i = 0; i < cred->field_count; i++) {
        const char *a = cred->fields[i].name, *b = name;
        while (*a && *a == *b)
            a++, b++;
        if (*a == *b) return cred->fields[i].value;
    }
    return NULL;
}

#ifdef __cplusplus
}
#endif

#endif
