/* notion.c — the "notion" OAuth plugin: authorize with owner=user, token
 * requests with HTTP Basic client authentication and a JSON body (Notion's
 * documented shape), no scopes, no PKCE. Keeps workspace_id,
 * workspace_name, bot_id and duplicated_template_id as metadata. Notion now
 * documents refresh tokens on the same endpoint: when one is returned it
 * is stored and rotated like any other. */
#include "../oauth_kit/oauth_kit.h"

static const char *const PROVIDERS[] = {"notion", NULL};
static const char *const AUTHZ_EXTRA[] = {"owner", "user", NULL};
static const char *const META[] = {"workspace_id",           "workspace_name", "bot_id",
                                   "duplicated_template_id", "owner.user.id",  NULL};

static const kit_profile_t PROFILE = {
    .authorize_url = "https://api.notion.com/v1/oauth/authorize",
    .token_url = "https://api.notion.com/v1/oauth/token",
    .scope_separator = " ",
    .token_auth_method = "client_secret_basic",
    .body_format = "json",
    .pkce = "none",
    .authorize_extra = AUTHZ_EXTRA,
    .meta_paths = META,
};

KIT_PROFILE_HOOKS(PROFILE)

KIT_PLUGIN("notion", "1.0.0", PROVIDERS, kit_apply_bearer, defaults, kit_build_authorize_url,
           kit_build_token_request, parse, NULL, NULL, NULL)
