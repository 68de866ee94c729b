/* oauth2.c — the generic "oauth2" plugin: any RFC 6749 provider whose
 * endpoints come from the client configuration or from RFC 8414 / OIDC
 * discovery of its issuer. Client authentication client_secret_basic
 * (default with a secret), client_secret_post or none; scope separator,
 * body format, extra authorize/token parameters all configurable. Applies
 * an oauth2 credential as Authorization: Bearer (RFC 6750). Pure. */
#include "../oauth_kit/oauth_kit.h"

static const char *const PROVIDERS[] = {"*", NULL};

static const kit_profile_t PROFILE = {
    .scope_separator = " ",
    .body_format = "form",
    .pkce = "S256",
};

KIT_PROFILE_HOOKS(PROFILE)

KIT_PLUGIN("oauth2", "1.0.0", PROVIDERS, kit_apply_bearer, defaults, kit_build_authorize_url,
           kit_build_token_request, parse, kit_build_revoke_request, kit_build_discovery_request,
           kit_parse_discovery_response)
