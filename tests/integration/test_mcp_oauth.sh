#!/usr/bin/env bash
# MCP and OAuth: a tool protected by a real OAuth server (oidc-provider,
# tests/peers/oauth, access tokens that live 4 s) keeps working within one MCP
# session after its token expired: the SDK client calls it, waits past the
# expiry in the same session, calls again — the worker refreshes the token
# behind the call, the agent sees two 200s and never a token.
source "$(dirname "$0")/lib.sh"
PEER="$TOOLQ_SOURCE_DIR/tests/peers/mcp"
PEERS="$TOOLQ_SOURCE_DIR/tests/peers/oauth"
[ -d "$PEER/node_modules/@modelcontextprotocol/sdk" ] || { echo "skip: npm ci in $PEER"; exit 77; }
[ -d "$PEERS/node_modules/oidc-provider" ] || { echo "skip: npm ci in $PEERS"; exit 77; }
tq_setup mcp_oauth
AP=$(tq_free_port); HP=$(tq_free_port)
AS="http://127.0.0.1:$AP"
REDIRECT="http://127.0.0.1:$HP/oauth/callback"
PORT=$AP REDIRECT=$REDIRECT AT_TTL=4 tq_bg node "$PEERS/server.mjs" >"$TQ_DIR/oidc.log" 2>&1
tq_wait_up 10 "$AS/__stats"
export TOOLQ_SSRF_ALLOW=127.0.0.1/32 TOOLQ_OAUTH_REDIRECT_URI=$REDIRECT TOOLQ_HTTP_LISTEN=127.0.0.1:$HP
tq_start_broker --workers 2 --set oauth.sweep_interval_s=0 # no sweep: the refresh happens behind the call
T=acme
toolq oauth system-client set --plugin oauth2 --provider oidc --client-id basic-client \
  --client-secret basic-secret --param issuer="$AS" --param "scopes=openid offline_access" \
  --param authorize.prompt=consent --param token_auth_method=client_secret_basic >/dev/null
auth=$(toolq --json oauth authorize --tenant $T --plugin oauth2 --provider oidc --credential-name me --headless)
source "$PEERS/login.sh" # drive_login: login and consent
L=$(drive_login "$(jq -r .authorization_url <<<"$auth")")
assert_eq true "$(toolq --json oauth callback "$L" --binding "$(jq -r .binding <<<"$auth")" | jq -r .connected)" \
  "the OAuth credential is connected"
cat >"$TQ_DIR/userinfo.yaml" <<YAML
openapi: 3.0.3
info: {title: oidc userinfo, version: "1"}
servers: [{url: "$AS"}]
paths:
  /me:
    get:
      operationId: userinfo
      summary: The signed-in user
      responses: {"200": {description: ok}}
YAML
toolq import --tenant $T --name oidc --credential me "$TQ_DIR/userinfo.yaml" >/dev/null
KEY=$(toolq --json apikey create --tenant $T --name agent | jq -r .key)
exp1=$(tq_psql -c "SELECT expires_at FROM tq_credentials WHERE name='me'")
out=$(node "$PEER/client.mjs" --http "http://127.0.0.1:$HP/mcp" --key "$KEY" \
  --do '[["call","userinfo",{}],["sleep",5500],["call","userinfo",{}]]')
assert_eq "false 200" "$(echo "$out" | sed -n 1p | jq -r '[.isError, .structuredContent.status] | join(" ")')" \
  "first call: 200 with the stored token"
assert_eq "false 200 alice" "$(echo "$out" | sed -n 3p | jq -r '[.isError, .structuredContent.status, .structuredContent.body.sub] | join(" ")')" \
  "same session after the token expired: 200 (refreshed behind the call)"
assert_eq refreshed "$(tq_psql -c "SELECT last_refresh_outcome FROM tq_credentials WHERE name='me'")" \
  "the worker refreshed the credential"
check "the credential has a new expiry" test "$(tq_psql -c "SELECT expires_at FROM tq_credentials WHERE name='me'")" != "$exp1"
check "no token reached the agent" bash -c "! grep -qi 'bearer\|access_token' <<<'$(echo "$out" | tr -d "'")'"
echo "done"
