#!/usr/bin/env bash
# test_oauth.sh — OAuth 2.0 end to end against real servers on 127.0.0.1:
# oidc-provider 9.13.3 (tests/peers/oauth/server.mjs: discovery, PKCE S256,
# iss, rotating refresh tokens, 5 s access tokens) and oauth2-mock-server
# 8.2.3 (mock.mjs: invalid_grant, 503, counts per refresh token).
# Covers: client resolution matrix (tenant/system/disabled/none), the whole
# flow `toolq oauth authorize` -> devInteractions login/consent (curl +
# cookie jar) -> `toolq oauth callback URL` -> stored oauth2 credential;
# state replay, mismatch, expiry and access_denied refused; an imported tool
# (userinfo) keeps working across access-token expiry (refresh before use);
# 50 concurrent refresh jobs -> one token request, rotated token persisted;
# invalid_grant -> reauth_required; a sweep refreshes only what is due;
# pg_dump holds no client secret or token in clear.
source "$(dirname "$0")/lib.sh"
tq_setup oauth

PEERS="$TOOLQ_SOURCE_DIR/tests/peers/oauth"
if [ ! -d "$PEERS/node_modules/oidc-provider" ]; then
  (cd "$PEERS" && npm ci --no-audit --no-fund >/dev/null 2>&1) || { echo "SKIP: npm ci failed"; exit 0; }
fi
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
AP=$(free_port); MP=$(free_port)
AS="http://127.0.0.1:$AP"; MS="http://127.0.0.1:$MP"
REDIRECT="http://127.0.0.1:8765/oauth/callback"
PEER_PIDS=()
stop_peers() { for p in "${PEER_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap 'rc=$?; stop_peers; cp "$TQ_DIR/broker.log" "${TOOLQ_OAUTH_KEEP_LOG:-/dev/null}" 2>/dev/null; (exit $rc); tq_cleanup' EXIT
PORT=$AP REDIRECT=$REDIRECT AT_TTL=5 node "$PEERS/server.mjs" >"$TQ_DIR/oidc.log" 2>&1 &
PEER_PIDS+=($!)
PORT=$MP node "$PEERS/mock.mjs" >"$TQ_DIR/mock.log" 2>&1 &
PEER_PIDS+=($!)
for i in $(seq 1 100); do
  curl -sf "$AS/__stats" >/dev/null 2>&1 && curl -sf "$MS/__stats" >/dev/null 2>&1 && break
  sleep 0.1
done

export TOOLQ_SSRF_ALLOW=127.0.0.1/32
export TOOLQ_OAUTH_REDIRECT_URI=$REDIRECT
export TOOLQ_HTTP_LISTEN=127.0.0.1:$(free_port) # the listener is not under test here
tq_start_broker --workers 2
T=acme
ec() { toolq --json "$@" | jq -r '.error.code // .state' || true; } # a failing job's error code

# --- client configuration and the resolution matrix ------------------------
toolq oauth system-client set --plugin oauth2 --provider oidc --client-id basic-client \
  --client-secret basic-secret --param issuer="$AS" --param "scopes=openid offline_access" \
  --param authorize.prompt=consent --param token_auth_method=client_secret_basic >/dev/null
shown=$(toolq --json oauth system-client show --plugin oauth2 --provider oidc)
check "system client secret masked on read" bash -c "! grep -q basic-secret <<<'$shown'"
tier() { toolq --json oauth client --tenant "$T" --plugin oauth2 --provider oidc | jq -r .tier; }
assert_eq system "$(tier)" "no tenant client: the system client"
toolq oauth tenant-client set --tenant $T --plugin oauth2 --provider oidc --client-id post-client \
  --client-secret post-secret --param issuer="$AS" --param "scopes=openid offline_access" \
  --param authorize.prompt=consent --param token_auth_method=client_secret_post >/dev/null
assert_eq tenant "$(tier)" "enabled tenant client wins"
toolq oauth tenant-client disable --tenant $T --plugin oauth2 --provider oidc >/dev/null
assert_eq system "$(tier)" "disabled tenant client: back to the system client"
assert_eq system "$(toolq --json oauth client --tenant other --plugin oauth2 --provider oidc | jq -r .tier)" \
  "another tenant sees the system client"
toolq oauth system-client delete --plugin oauth2 --provider oidc >/dev/null
err=$(ec oauth client --tenant $T --plugin oauth2 --provider oidc)
assert_eq oauth_client_not_configured "$err" "neither tier: oauth_client_not_configured"
toolq oauth tenant-client enable --tenant $T --plugin oauth2 --provider oidc >/dev/null
assert_eq tenant "$(tier)" "re-enabled tenant client"

# --- authorize -> login/consent -> callback -> credential ------------------
drive_login() { # URL -> prints the callback URL
  local jar=$TQ_DIR/jar.$RANDOM q L
  q() { curl -s -o /dev/null -w '%{redirect_url}' -b "$jar" -c "$jar" "$@"; }
  L=$(q "$1")
  L=$(q -X POST "$AS/interaction/${L##*/}" -d prompt=login -d login=alice -d password=x)
  L=$(q "$L")
  L=$(q -X POST "$AS/interaction/${L##*/}" -d prompt=consent)
  L=$(q "$L")
  echo "$L"
}
url=$(toolq oauth authorize --tenant $T --plugin oauth2 --provider oidc --credential-name me)
check "authorization URL has PKCE S256 and a 43-char state" \
  bash -c "grep -q 'code_challenge_method=S256' <<<'$url' && grep -Eq 'state=[A-Za-z0-9_-]{43}(&|$)' <<<'$url'"
cb=$(drive_login "$url")
check "the server redirected to the callback with code and iss" bash -c "grep -q 'code=' <<<'$cb' && grep -q 'iss=' <<<'$cb'"
res=$(toolq --json oauth callback "$cb" || true); echo "callback: $res" | sed -E "s/(code=)[^&]*/\1.../"
assert_eq true "$(jq -r .connected <<<"$res")" "callback stored a credential"
assert_eq true "$(jq -r .refresh_token <<<"$res")" "a refresh token was issued (offline_access + consent)"
assert_eq oauth2 "$(toolq --json credential list --tenant $T | jq -r '.result.credentials[] | select(.name=="me") | .type')" \
  "credential me is oauth2"
assert_eq active "$(tq_psql -c "SELECT status FROM tq_credentials WHERE name='me'")" "status active"
assert_eq oauth_state_used "$(ec oauth callback "$cb")" "state replay refused"
bad=$(sed -E 's/state=[^&]*/state=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/' <<<"$cb")
assert_eq oauth_state_invalid "$(ec oauth callback "$bad")" "state mismatch refused"
url2=$(toolq oauth authorize --tenant $T --plugin oauth2 --provider oidc --credential-name me2)
s2=$(grep -Eo 'state=[A-Za-z0-9_-]+' <<<"$url2" | cut -d= -f2)
tq_psql -c "UPDATE tq_oauth_states SET expires_at = now() - interval '1 second' WHERE used_at IS NULL" >/dev/null
assert_eq oauth_state_expired "$(ec oauth callback "$REDIRECT?code=x&state=$s2")" \
  "expired state refused"
url3=$(toolq oauth authorize --tenant $T --plugin oauth2 --provider oidc --credential-name me3)
s3=$(grep -Eo 'state=[A-Za-z0-9_-]+' <<<"$url3" | cut -d= -f2)
assert_eq oauth_access_denied \
  "$(ec oauth callback "$REDIRECT?error=access_denied&error_description=no&state=$s3")" \
  "access_denied shown as a clear failure"

# --- an imported tool protected by the server's tokens ---------------------
cat >"$TQ_DIR/userinfo.yaml" <<YAML
openapi: 3.0.3
info: {title: oidc userinfo, version: "1"}
servers: [{url: "$AS"}]
paths:
  /me:
    get:
      operationId: userinfo
      responses: {"200": {description: ok}}
YAML
toolq import --tenant $T --name oidc --credential me "$TQ_DIR/userinfo.yaml" >/dev/null
st() { toolq --json invoke --tenant $T oidc userinfo | jq -r '.result.status // .status // .error.code' || true; }
assert_eq 200 "$(st)" "userinfo with the stored token"
sleep 6
assert_eq 200 "$(st)" "userinfo still works after the access token expired (refreshed before use)"
assert_eq refreshed "$(tq_psql -c "SELECT last_refresh_outcome FROM tq_credentials WHERE name='me'")" \
  "the refresh was recorded"

# --- 50 concurrent refresh jobs -> exactly one token request ---------------
before=$(curl -s "$AS/__stats" | jq .token) # every POST /token in this window is a refresh
exp=$(tq_psql -c "SELECT (extract(epoch from expires_at)*1000)::bigint FROM tq_credentials WHERE name='me'")
old_ct=$(tq_psql -c "SELECT encrypted_data FROM tq_credentials WHERE name='me'")
jobs_pids=()
for i in $(seq 1 50); do
  toolq --json submit refresh --tenant $T --payload-json "{\"credential\":\"me\",\"expires_at_ms\":$exp}" >"$TQ_DIR/r.$i" 2>&1 &
  jobs_pids+=($!)
done
wait "${jobs_pids[@]}" || true
outcomes=$(cat "$TQ_DIR"/r.* | jq -r '.result.outcome // .error.code' | sort | uniq -c | tr -s ' ' | tr '\n' ';')
echo "# 50 refresh jobs: $outcomes"
after=$(curl -s "$AS/__stats" | jq .token)
assert_eq 1 "$((after - before))" "50 concurrent refresh jobs made one token request"
new_ct=$(tq_psql -c "SELECT encrypted_data FROM tq_credentials WHERE name='me'")
check "the rotated tokens were persisted" test "$old_ct" != "$new_ct"
assert_eq 200 "$(st)" "the rotated refresh token is the live one (userinfo after rotation)"
sleep 6
assert_eq 200 "$(st)" "and refreshing again with it works (no reuse revocation)"

# --- invalid_grant -> reauth_required; sweep refreshes only what is due ----
toolq oauth system-client set --plugin oauth2 --provider mock --client-id m --client-secret mock-secret-xyz \
  --param token_url="$MS/token" --param authorize_url="$MS/authorize" >/dev/null
mk() { # name refresh_token expires_in_seconds
  toolq submit credential.create --tenant $T --payload-json \
    "{\"name\":\"$1\",\"type\":\"oauth2\",\"plugin\":\"oauth2\",\"fields\":{\"access_token\":\"at-$1-zzz\",\"refresh_token\":\"$2\"},\"metadata\":{\"provider\":\"mock\",\"grant\":\"authorization_code\"}}" >/dev/null
  tq_psql -c "UPDATE tq_credentials SET expires_at = now() + interval '$3 seconds' WHERE name='$1'" >/dev/null
}
mk dead revoked-rt-1 30
r=$(ec refresh --tenant $T dead)
assert_eq oauth_invalid_grant "$r" "invalid_grant fails the refresh"
assert_eq reauth_required "$(toolq --json credential list --tenant $T | jq -r '.result.credentials[] | select(.name=="dead") | .status')" \
  "status reauth_required, visible in credential list"
assert_eq 1 "$(tq_psql -c "SELECT count(*) FROM tq_credential_refreshes r JOIN tq_credentials c ON c.id=r.credential_id WHERE c.name='dead' AND r.outcome='reauth_required'")" \
  "the attempt was recorded"
mk due good-rt-due 120
mk later good-rt-later 7200
sw=$(toolq --json sweep)
assert_eq 1 "$(curl -s "$MS/__stats" | jq '.by_token["good-rt-due"] // 0')" "the sweep refreshed the due credential once"
assert_eq 0 "$(curl -s "$MS/__stats" | jq '.by_token["good-rt-later"] // 0')" "and not the one expiring later"
check "sweep result counts" bash -c "jq -e '.refreshed >= 1' <<<'$sw' >/dev/null"
sw2=$(toolq --json sweep)
assert_eq 1 "$(curl -s "$MS/__stats" | jq '.by_token["good-rt-due"] // 0')" "a second sweep does not refresh it again"

# --- nothing secret in clear in a dump -------------------------------------
dump=$TQ_DIR/dump.sql
pg_dump "$TOOLQ_DATABASE_URL" >"$dump"
for s in basic-secret post-secret mock-secret-xyz good-rt-due good-rt-later revoked-rt-1 at-due-zzz; do
  check "pg_dump has no '$s'" bash -c "! grep -q -- '$s' '$dump'"
done
check "pg_dump has no bearer JWT" bash -c "! grep -q 'eyJ0eXAi' '$dump'"
