/* google.c — the "google" OAuth plugin: Google's OAuth 2.0 endpoints
 * (accounts.google.com / oauth2.googleapis.com), access_type=offline and
 * prompt=consent so a refresh token is issued every time, PKCE S256,
 * client_secret_post, revocation at oauth2.googleapis.com/revoke, OIDC
 * issuer https://accounts.google.com. Google does not rotate refresh
 * tokens: the refresh response has none and the host keeps the old one. */
#include "../oauth_kit/oauth_kit.h"

static const char *const PROVIDERS[] = {"google", NULL};
static const char *const AUTHZ_EXTRA[] = {
    "access_type", "offline", "prompt", "consent", "include_granted_scopes", "true", NULL};

static const kit_profile_t PROFILE = {
    .authorize_url = "https://accounts.google.com/o/oauth2/v2/auth",
    .token_url = "https://oauth2.googleapis.com/token",
    .revocation_url = "https://oauth2.googleapis.com/revoke",
    .scope = "openid email",
    .scope_separator = " ",
    .token_auth_method = "client_secret_post",
    .body_format = "form",
    .pkce = "S256",
    .authorize_extra = AUTHZ_EXTRA,
};

KIT_PROFILE_HOOKS(PROFILE)

KIT_PLUGIN("google", "1.0.0", PROVIDERS, kit_apply_bearer, defaults, kit_build_authorize_url,
           kit_build_token_request, parse, kit_build_revoke_request, NULL, NULL)
