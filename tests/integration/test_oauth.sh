#!/usr/bin/env bash
# test_oauth.sh — OAuth 2.0 end to end against real servers on 127.0.0.1:
# oidc-provider 9.13.3 (tests/peers/oauth/server.mjs: discovery, PKCE S256,
# iss, rotating refresh tokens, 5 s access tokens) and oauth2-mock-server
# 8.2.3 (mock.mjs: invalid_grant, 503, counts per refresh token).
# Covers: client resolution matrix (tenant/system/disabled/none), the whole
# headless flow `toolq oauth authorize --headless` -> devInteractions
# login/consent (curl + cookie jar) -> `toolq oauth callback URL --binding`
# -> stored oauth2 credential (refused without or with another binding);
# state replay, mismatch, expiry and access_denied refused; the browser flow
# through the listener's /oauth/start (binding cookie; refused without it,
# nothing consumed; start URL single use; the page names tenant and
# credential); prompt=consent for system-tier clients; an imported tool
# (userinfo) keeps working across access-token expiry (refresh before use);
# 50 concurrent refresh jobs -> one token request, rotated token persisted;
# invalid_grant -> reauth_required; a sweep refreshes only what is due;
# the broker's HTTP listener end to end (browser lands on GET
# /oauth/callback: connected page, or a 302 to oauth.return_url);
# credential.delete revokes at the provider (RFC 7009; a failed revocation
# never blocks the delete); credential show lists refresh attempts; a
# transient (503) refresh is retried by the broker and the credential stays
# usable until expiry; a 401 invalid_token triggers one refresh and one
# retry, a 403 insufficient_scope none; pg_dump holds no client secret or
# token in clear.
source "$(dirname "$0")/lib.sh"
tq_setup oauth

PEERS="$TOOLQ_SOURCE_DIR/tests/peers/oauth"
if [ ! -d "$PEERS/node_modules/oidc-provider" ]; then
  (cd "$PEERS" && npm ci --no-audit --no-fund >/dev/null 2>&1) || { echo "the OAuth peer is not installed (npm ci failed in tests/peers/oauth): skipped"; exit 77; }
fi
AP=$(tq_free_port); MP=$(tq_free_port)
AS="http://127.0.0.1:$AP"; MS="http://127.0.0.1:$MP"
HP=$(tq_free_port) # the broker's HTTP listener: the browser lands on its /oauth/callback
REDIRECT="http://127.0.0.1:$HP/oauth/callback"
trap 'rc=$?; cp "$TQ_DIR/broker.log" "${TOOLQ_OAUTH_KEEP_LOG:-/dev/null}" 2>/dev/null; (exit $rc); tq_cleanup' EXIT
PORT=$AP REDIRECT=$REDIRECT AT_TTL=5 tq_bg node "$PEERS/server.mjs" >"$TQ_DIR/oidc.log" 2>&1
PORT=$MP tq_bg node "$PEERS/mock.mjs" >"$TQ_DIR/mock.log" 2>&1
tq_wait_up 10 "$AS/__stats" "$MS/__stats"

export TOOLQ_SSRF_ALLOW=127.0.0.1/32
export TOOLQ_OAUTH_REDIRECT_URI=$REDIRECT
export TOOLQ_HTTP_LISTEN=127.0.0.1:$HP
tq_start_broker --workers 2 --set oauth.sweep_interval_s=0 # sweeps by hand only
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
source "$PEERS/login.sh" # drive_login URL [JAR]: login and consent, prints the callback URL
# headless: the provider's URL and the binding token; `oauth callback --binding`
auth=$(toolq --json oauth authorize --tenant $T --plugin oauth2 --provider oidc --credential-name me --headless)
url=$(jq -r .authorization_url <<<"$auth"); bnd=$(jq -r .binding <<<"$auth")
check "authorization URL has PKCE S256 and a 43-char state" \
  bash -c "grep -q 'code_challenge_method=S256' <<<'$url' && grep -Eq 'state=[A-Za-z0-9_-]{43}(&|$)' <<<'$url'"
check "headless authorize returns a 43-char binding token" bash -c "[[ '$bnd' =~ ^[A-Za-z0-9_-]{43}$ ]]"
cb=$(drive_login "$url")
check "the server redirected to the callback with code and iss" bash -c "grep -q 'code=' <<<'$cb' && grep -q 'iss=' <<<'$cb'"
assert_eq oauth_browser_mismatch "$(ec oauth callback "$cb")" "a callback without the binding token is refused"
assert_eq oauth_browser_mismatch "$(ec oauth callback "$cb" --binding AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA)" \
  "a callback with another binding token is refused"
res=$(toolq --json oauth callback "$cb" --binding "$bnd" || true); echo "callback: $res" | sed -E "s/(code=)[^&]*/\1.../"
assert_eq true "$(jq -r .connected <<<"$res")" "callback with the binding stored a credential (the refusals consumed nothing)"
assert_eq true "$(jq -r .refresh_token <<<"$res")" "a refresh token was issued (offline_access + consent)"
assert_eq "acme me" "$(jq -r '"\(.tenant) \(.credential)"' <<<"$res")" "the result names the tenant and the credential"
assert_eq oauth2 "$(toolq --json credential list --tenant $T | jq -r '.result.credentials[] | select(.name=="me") | .type')" \
  "credential me is oauth2"
assert_eq active "$(tq_psql -c "SELECT status FROM tq_credentials WHERE name='me'")" "status active"
assert_eq oauth_state_used "$(ec oauth callback "$cb" --binding "$bnd")" "state replay refused"
bad=$(sed -E 's/state=[^&]*/state=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/' <<<"$cb")
assert_eq oauth_state_invalid "$(ec oauth callback "$bad" --binding "$bnd")" "state mismatch refused"
auth2=$(toolq --json oauth authorize --tenant $T --plugin oauth2 --provider oidc --credential-name me2 --headless)
s2=$(jq -r .authorization_url <<<"$auth2" | grep -Eo 'state=[A-Za-z0-9_-]+' | cut -d= -f2)
tq_psql -c "UPDATE tq_oauth_states SET expires_at = now() - interval '1 second' WHERE used_at IS NULL" >/dev/null
assert_eq oauth_state_expired "$(ec oauth callback "$REDIRECT?code=x&state=$s2" --binding "$(jq -r .binding <<<"$auth2")")" \
  "expired state refused"
auth3=$(toolq --json oauth authorize --tenant $T --plugin oauth2 --provider oidc --credential-name me3 --headless)
s3=$(jq -r .authorization_url <<<"$auth3" | grep -Eo 'state=[A-Za-z0-9_-]+' | cut -d= -f2)
assert_eq oauth_access_denied \
  "$(ec oauth callback "$REDIRECT?error=access_denied&error_description=no&state=$s3" --binding "$(jq -r .binding <<<"$auth3")")" \
  "access_denied shown as a clear failure"

# --- the browser goes through the listener: /oauth/start, cookie, callback ---
url4=$(toolq oauth authorize --tenant $T --plugin oauth2 --provider oidc --credential-name web)
check "oauth authorize prints the listener's start URL ($url4)" \
  bash -c "[[ '$url4' =~ ^http://127\.0\.0\.1:$HP/oauth/start\?state=[A-Za-z0-9_-]{43}$ ]]"
jar4=$TQ_DIR/jar.web
cb4=$(drive_login "$url4" "$jar4")
check "the start set an HttpOnly binding cookie" grep -q '^#HttpOnly_127.0.0.1.*toolq_oauth_[0-9a-f]\{16\}' "$jar4"
check "the server redirects the browser to the broker's listener" bash -c "[[ '$cb4' == '$REDIRECT?'* ]]"
assert_eq "400 oauth_start_used" "$(curl -s -o "$TQ_DIR/start2" -w '%{http_code}' "$url4") $(sed -n 's|.*<dt>Error code</dt><dd>\([^<]*\)</dd>.*|\1|p' "$TQ_DIR/start2")" \
  "a start URL works once: a second browser is refused"
code4=$(grep -Eo '[?&]code=[^&]+' <<<"$cb4" | cut -d= -f2)
jobs_before=$(tq_psql -c "SELECT count(*) FROM tq_jobs WHERE op='oauth.exchange'")
nocookie=$(curl -s -w '\n%{http_code}' "$cb4")
assert_eq 400 "$(tail -n1 <<<"$nocookie")" "the callback without the start's cookie answers 400"
check "the page names oauth_browser_mismatch" grep -q '<dd>oauth_browser_mismatch</dd>' <<<"$nocookie"
assert_eq "$jobs_before" "$(tq_psql -c "SELECT count(*) FROM tq_jobs WHERE op='oauth.exchange'")" \
  "no oauth.exchange job for a callback without the cookie"
page=$(curl -s -b "$jar4" -c "$jar4" -w '\n%{http_code}' "$cb4")
assert_eq 200 "$(tail -n1 <<<"$page")" "GET /oauth/callback with the cookie answers 200 (the refusal consumed nothing)"
check "the page says connected" grep -q 'id="status">connected<' <<<"$page"
check "the page names the tenant (acme)" grep -q '<dt>Tenant</dt><dd>acme</dd>' <<<"$page"
check "the page names the credential (web)" grep -q '<dt>Credential</dt><dd>web</dd>' <<<"$page"
check "the page holds no code and no token" bash -c "! grep -qF -- '$code4' <<<'$page' && ! grep -q 'eyJ\|access_token\|refresh_token' <<<'$page'"
web_id=$(tq_psql -c "SELECT id FROM tq_credentials WHERE name='web' AND type='oauth2' AND status='active'")
check "the callback stored credential web" test -n "$web_id"
check "the page names the credential id" grep -qF "$web_id" <<<"$page"
check "the binding cookie is removed after the exchange" bash -c "! grep -q 'toolq_oauth_' '$jar4'"
check "the state is stored hashed only (no start URL state in the database)" \
  bash -c "! pg_dump '$TOOLQ_DATABASE_URL' --data-only -t tq_oauth_states | grep -qF '${url4##*state=}'"

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
  toolq --json submit refresh --tenant $T --payload-json "{\"credential\":\"me\",\"expires_at_ms\":$exp,\"force\":true}" >"$TQ_DIR/r.$i" 2>&1 &
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
# --- a system-tier client asks for consent again (F6) -----------------------
pu=$(toolq --json oauth authorize --tenant $T --plugin oauth2 --provider mock --credential-name pm --headless | jq -r .authorization_url)
check "a system-tier authorization URL carries prompt=consent" grep -Eq '[?&]prompt=consent(&|$)' <<<"$pu"
toolq oauth system-client set --plugin oauth2 --provider mock --param authorize.prompt=select_account >/dev/null
pu=$(toolq --json oauth authorize --tenant $T --plugin oauth2 --provider mock --credential-name pm --headless | jq -r .authorization_url)
check "the operator's authorize.prompt overrides it" bash -c "grep -q 'prompt=select_account' <<<'$pu' && ! grep -q 'prompt=consent' <<<'$pu'"
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

# --- credential show lists the refresh attempts ---------------------------
shown=$(toolq --json credential show --tenant $T dead)
assert_eq "reauth_required oauth_invalid_grant" \
  "$(jq -r '.result.refresh_attempts[0] | "\(.outcome) \(.error_code)"' <<<"$shown")" \
  "credential.get lists the refresh attempt (outcome, error code)"
check "attempts carry a time" bash -c "jq -e '.result.refresh_attempts[0].at | test(\"^20[0-9-]+T\")' <<<'$shown' >/dev/null"
check "toolq credential show prints them" bash -c "$TOOLQ_BIN_DIR/toolq credential show --tenant $T dead | grep -q 'reauth_required *oauth_invalid_grant'"
assert_eq 0 "$(toolq --json credential show --tenant $T later | jq '.result.refresh_attempts | length')" \
  "no attempts: an empty list"

# --- transient refresh failures (503) ---------------------------------------
# blip-*: 503 twice, then a new token: the broker retries the refresh job.
mk blip blip-rt-1 30
r=$(toolq --json refresh --tenant $T blip)
assert_eq refreshed "$(jq -r '.outcome // .error.code' <<<"$r")" "a 503 refresh is retried by the broker until it succeeds"
assert_eq 3 "$(curl -s "$MS/__stats" | jq '.by_token["blip-rt-1"] // 0')" "three token requests (503, 503, 200)"
assert_eq "refreshed transient transient" \
  "$(toolq --json credential show --tenant $T blip | jq -r '[.result.refresh_attempts[].outcome] | join(" ")')" \
  "each attempt recorded, newest first"
assert_eq active "$(tq_psql -c "SELECT status FROM tq_credentials WHERE name='blip'")" "status active after the retry"
# flaky-*: 503 always. Refresh before use fails transiently: the old token
# is used while it is valid; the credential never needs re-authorization.
cat >"$TQ_DIR/mockapi.yaml" <<YAML
openapi: 3.0.3
info: {title: mock api, version: "1"}
servers: [{url: "$MS"}]
paths:
  /userinfo: {get: {operationId: userinfo, responses: {"200": {description: ok}}}}
  /api/r401: {get: {operationId: r401, responses: {"200": {description: ok}}}}
  /api/r403: {get: {operationId: r403, responses: {"200": {description: ok}}}}
YAML
mk flaky flaky-rt-1 30
toolq import --tenant $T --name mflaky --credential flaky "$TQ_DIR/mockapi.yaml" >/dev/null
inv() { toolq --json invoke --tenant $T "$1" "$2" | jq -r '.result.status // .status // .error.code' || true; }
assert_eq 200 "$(inv mflaky userinfo)" "a transient refresh failure before use: the valid old token is used"
check "the refresh before use was attempted" bash -c "[ \"\$(curl -s '$MS/__stats' | jq '.by_token[\"flaky-rt-1\"] // 0')\" -ge 1 ]"
fst=$(tq_psql -c "SELECT status FROM tq_credentials WHERE name='flaky'")
check "still usable, not reauth_required (status $fst)" bash -c "[ '$fst' = active ] || [ '$fst' = refresh_failing ]"
tq_psql -c "UPDATE tq_credentials SET expires_at = now() - interval '1 second' WHERE name='flaky'" >/dev/null
assert_eq oauth_temporarily_unavailable "$(inv mflaky userinfo)" "once expired, the transient failure is reported"

# --- 401 invalid_token: one refresh, one retry; 403: none ---------------------
mk c401 rt401-1 3600
toolq import --tenant $T --name m401 --credential c401 "$TQ_DIR/mockapi.yaml" >/dev/null
assert_eq 200 "$(inv m401 r401)" "a 401 invalid_token is answered by a refresh and a retry"
assert_eq "1 2" "$(curl -s "$MS/__stats" | jq -r '"\(.by_token["rt401-1"] // 0) \(.api["/api/r401"] // 0)"')" \
  "exactly one refresh and one retry"
assert_eq 200 "$(inv m401 r401)" "the refreshed token is used next time"
assert_eq "1 3" "$(curl -s "$MS/__stats" | jq -r '"\(.by_token["rt401-1"] // 0) \(.api["/api/r401"] // 0)"')" \
  "no further refresh"
mk c403 rt403-1 3600
toolq import --tenant $T --name m403 --credential c403 "$TQ_DIR/mockapi.yaml" >/dev/null
r403=$(toolq --json invoke --tenant $T m403 r403 || true)
check "a 403 insufficient_scope is reported" bash -c "grep -q 403 <<<'$(jq -c '{s: .result.status, e: .error}' <<<"$r403")'"
assert_eq "0 1" "$(curl -s "$MS/__stats" | jq -r '"\(.by_token["rt403-1"] // 0) \(.api["/api/r403"] // 0)"')" \
  "a 403 insufficient_scope neither refreshes nor retries"

# --- delete revokes at the provider (RFC 7009) ------------------------------
# Tokens obtained by hand (curl: PKCE, code exchange) so the test knows the
# refresh token, then stored as credential rv under the tenant client.
v=$(head -c 48 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
ch=$(printf %s "$v" | openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d '=\n')
cb5=$(drive_login "$AS/auth?client_id=post-client&response_type=code&redirect_uri=$(jq -rn --arg u "$REDIRECT" '$u|@uri')&scope=openid%20offline_access&prompt=consent&code_challenge=$ch&code_challenge_method=S256&state=by-hand-0123456789")
code5=$(grep -Eo '[?&]code=[^&]+' <<<"$cb5" | cut -d= -f2)
tok=$(curl -s -X POST "$AS/token" -d grant_type=authorization_code --data-urlencode "code=$code5" \
  --data-urlencode "redirect_uri=$REDIRECT" -d "code_verifier=$v" -d client_id=post-client -d client_secret=post-secret)
rt5=$(jq -r .refresh_token <<<"$tok"); at5=$(jq -r .access_token <<<"$tok")
check "tokens obtained by hand" test -n "$rt5" -a "$rt5" != null
intro() { curl -s -X POST "$AS/token/introspection" -d client_id=post-client -d client_secret=post-secret \
  --data-urlencode "token=$1" | jq -r .active; }
assert_eq true "$(intro "$rt5")" "the refresh token is active before the delete"
toolq submit credential.create --tenant $T --payload-json \
  "{\"name\":\"rv\",\"type\":\"oauth2\",\"plugin\":\"oauth2\",\"fields\":{\"access_token\":\"$at5\",\"refresh_token\":\"$rt5\"},\"metadata\":{\"provider\":\"oidc\",\"grant\":\"authorization_code\"}}" >/dev/null
del=$(toolq --json credential delete --tenant $T rv)
assert_eq "true true null" "$(jq -r '.result | "\(.deleted) \(.revoked) \(.revoke_error)"' <<<"$del")" \
  "credential.delete revoked the tokens (revoked: true)"
check "the delete result holds no token" bash -c "! grep -qF -- '$rt5' <<<'$del' && ! grep -qF -- '$at5' <<<'$del'"
assert_eq invalid_grant "$(curl -s -X POST "$AS/token" -d grant_type=refresh_token --data-urlencode "refresh_token=$rt5" \
  -d client_id=post-client -d client_secret=post-secret | jq -r .error)" "the revoked refresh token is refused at the token endpoint"
check "toolq credential delete says so" bash -c "$TOOLQ_BIN_DIR/toolq credential delete --tenant $T web | grep -q 'tokens revoked at the provider'"
# no revocation endpoint / an unreachable one: deleted anyway, reported
del=$(toolq --json credential delete --tenant $T later)
assert_eq "true false oauth_revocation_unsupported" "$(jq -r '.result | "\(.deleted) \(.revoked) \(.revoke_error)"' <<<"$del")" \
  "no revocation endpoint: deleted, revoked false, the reason given"
toolq oauth system-client set --plugin oauth2 --provider mock --param revocation_url="http://127.0.0.1:$(tq_free_port)/revoke" >/dev/null
del=$(toolq --json credential delete --tenant $T due)
assert_eq "true false" "$(jq -r '.result | "\(.deleted) \(.revoked)"' <<<"$del")" "revocation endpoint down: deleted anyway"
echo "# revoke_error when the endpoint is down: $(jq -r .result.revoke_error <<<"$del")"
assert_eq 0 "$(tq_psql -c "SELECT count(*) FROM tq_credentials WHERE name IN ('rv','web','later','due')")" "the rows are gone"
assert_eq 0 "$(tq_psql -c "SELECT count(*) FROM tq_credential_refreshes r WHERE NOT EXISTS (SELECT 1 FROM tq_credentials c WHERE c.id = r.credential_id)")" \
  "their refresh attempts went with them"

# --- nothing secret in clear in a dump -------------------------------------
dump=$TQ_DIR/dump.sql
pg_dump "$TOOLQ_DATABASE_URL" >"$dump"
for s in basic-secret post-secret mock-secret-xyz good-rt-due good-rt-later revoked-rt-1 at-due-zzz; do
  check "pg_dump has no '$s'" bash -c "! grep -q -- '$s' '$dump'"
done
check "pg_dump has no bearer JWT" bash -c "! grep -q 'eyJ0eXAi' '$dump'"

# --- the callback redirects to oauth.return_url when one is set --------------
tq_stop_broker
export TOOLQ_OAUTH_RETURN_URL="http://127.0.0.1:9/app/connected?from=toolq"
tq_start_broker --workers 2 --set oauth.sweep_interval_s=0 # sweeps by hand only
url6=$(toolq oauth authorize --tenant $T --plugin oauth2 --provider oidc --credential-name ret)
cb6=$(drive_login "$url6" "$TQ_DIR/jar.ret")
hdr=$(curl -s -o /dev/null -b "$TQ_DIR/jar.ret" -w '%{http_code} %{redirect_url}' "$cb6")
ret_id=$(tq_psql -c "SELECT id FROM tq_credentials WHERE name='ret' AND status='active'")
assert_eq "302 $TOOLQ_OAUTH_RETURN_URL&status=connected&credential_id=$ret_id" "$hdr" \
  "with oauth.return_url: a 302 to it with status=connected&credential_id"
