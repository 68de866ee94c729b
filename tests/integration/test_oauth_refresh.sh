#!/usr/bin/env bash
# test_oauth_refresh.sh — issue 10 and the OAuth side of security finding F1,
# against real servers on 127.0.0.1: oidc-provider 9.13.3
# (tests/peers/oauth/server.mjs; access-token lifetimes set at run time with
# GET /__ttl?s=N, rotating refresh tokens), oauth2-mock-server 8.2.3
# (mock.mjs) and a capture server (capture.py) standing in for an attacker's
# token endpoint. Covers:
# * the refresh rule: due when less than min(refresh window, lifetime ×
#   oauth.refresh_fraction) remains — 15 s tokens are not refreshed (by
#   invoke or sweep) while more than 7.5 s remain, and are once less does;
#   50 concurrent invokes just after expiry make exactly one token request;
#   100 invokes/s for 20 s with 10 s tokens make at most 4 (the issue's 60 s
#   with 30 s tokens, scaled by 1/3: same ratio of run time to lifetime);
# * a credential without a refresh token is used while valid, fails with
#   oauth_reauth_required (status reauth_required) once expired, and a sweep
#   marks an expired one so without any token request;
# * the reference's parameter names (authorization_url ..., authorize_url an
#   alias), unknown ones refused at set with invalid_params (and a hint for
#   a plain prompt=consent);
# * F1: client_credentials with a system client only with the operator's
#   allow_client_credentials; a credential records its issuing client and
#   refresh and revoke refuse another token endpoint (oauth_client_changed,
#   status client_changed): nothing reaches the capture server;
# * the broker's log names the HTTP port it could not bind.
source "$(dirname "$0")/lib.sh"
tq_setup oauth_refresh

PEERS="$TOOLQ_SOURCE_DIR/tests/peers/oauth"
if [ ! -d "$PEERS/node_modules/oidc-provider" ]; then
  (cd "$PEERS" && npm ci --no-audit --no-fund >/dev/null 2>&1) || { echo "the OAuth peer is not installed (npm ci failed in tests/peers/oauth): skipped"; exit 77; }
fi
AP=$(tq_free_port); MP=$(tq_free_port); CP=$(tq_free_port)
AS="http://127.0.0.1:$AP"; MS="http://127.0.0.1:$MP"; CS="http://127.0.0.1:$CP"
REDIRECT="http://127.0.0.1:$(tq_free_port)/oauth/callback" # never followed: drive_login stops there
PORT=$AP REDIRECT=$REDIRECT AT_TTL=120 tq_bg node "$PEERS/server.mjs" >"$TQ_DIR/oidc.log" 2>&1
PORT=$MP tq_bg node "$PEERS/mock.mjs" >"$TQ_DIR/mock.log" 2>&1
tq_bg python3 "$PEERS/capture.py" "$CP" "$TQ_DIR/captured" >"$TQ_DIR/capture.log" 2>&1
tq_wait_up 10 "$AS/__stats" "$MS/__stats" "$CS/up"
: >"$TQ_DIR/captured" # forget the readiness probe
source "$PEERS/login.sh" # oauth_authorize, drive_login, oauth_callback

export TOOLQ_SSRF_ALLOW=127.0.0.1/32
export TOOLQ_OAUTH_REDIRECT_URI=$REDIRECT
T=acme
ec() { toolq --json "$@" | jq -r '.error.code // .state' || true; } # a failing job's error code
tokens() { curl -s "$AS/__stats" | jq .token; }                    # POST /token seen by oidc-provider
ttl() { curl -s "$AS/__ttl?s=$1" >/dev/null; }
now_ms() { date +%s%3N; }
exp_ms() { tq_psql -c "SELECT (extract(epoch from expires_at)*1000)::bigint FROM tq_credentials WHERE name='$1'"; }
status() { toolq --json credential list --tenant $T | jq -r ".result.credentials[] | select(.name==\"$1\") | .status"; }

# --- the broker names the HTTP port it could not bind ------------------------
BP=$(tq_free_port)
# the holder says when it listens: a fixed sleep lost the race on a loaded
# machine (the broker then bound the port itself and ran until the timeout)
exec 7< <(python3 -c "import socket,time;s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(('127.0.0.1',$BP));s.listen();print('listening',flush=True);time.sleep(60)")
holder=$!
read -r -t 30 _ <&7 || true
timeout 20 "$TOOLQ_BIN_DIR/toolq-broker" --workers 1 --set "http.listen=127.0.0.1:$BP" >"$TQ_DIR/bind.log" 2>&1 || true
kill $holder 2>/dev/null || true
exec 7<&-
echo "# bind failure log: $(grep -i bind "$TQ_DIR/bind.log" | head -2 | tr '\n' ' ')"
check "the bind failure names port $BP" grep -q "port $BP" "$TQ_DIR/bind.log"
check "and not port 0" bash -c "! grep -q 'port 0\b' '$TQ_DIR/bind.log'"

tq_start_broker --workers 2 --set oauth.sweep_interval_s=0 # sweeps by hand only

toolq oauth system-client set --plugin oauth2 --provider oidc --client-id basic-client \
  --client-secret basic-secret --param issuer="$AS" --param "scopes=openid offline_access" \
  --param authorize.prompt=consent >/dev/null
cat >"$TQ_DIR/userinfo.yaml" <<YAML
openapi: 3.0.3
info: {title: oidc userinfo, version: "1"}
servers: [{url: "$AS"}]
paths:
  /me: {get: {operationId: userinfo, responses: {"200": {description: ok}}}}
YAML
connect() { # NAME: authorization code flow at oidc-provider -> credential NAME + tool oidc-NAME
  oauth_authorize --tenant $T --plugin oauth2 --provider oidc --credential-name "$1"
  oauth_callback "$(drive_login "$AUTH_URL")" >/dev/null
  toolq import --tenant $T --name "oidc-$1" --credential "$1" "$TQ_DIR/userinfo.yaml" >/dev/null
}
inv() { toolq --json invoke --tenant $T "$1" "$2" | jq -r '.result.status // .status // .error.code' || true; }

# --- 15 s tokens: nothing refreshed while more than 7.5 s remain ------------
ttl 15
connect c15
assert_eq 15 "$(tq_psql -c "SELECT metadata->>'expires_in' FROM tq_credentials WHERE name='c15'")" \
  "the token's lifetime (expires_in) is stored with it"
t0=$(tokens)
sw=$(toolq --json sweep)
assert_eq 0 "$(jq .due <<<"$sw")" "a sweep with 15 s left of a 15 s token: not due (window min(600, 7.5) s)"
calls=0 bad=0 until=$(($(now_ms) + 10000)) # bounded: a storm keeps the token young forever
while [ $(($(exp_ms c15) - $(now_ms))) -gt 8500 ] && [ "$(now_ms)" -lt $until ]; do
  [ "$(inv oidc-c15 userinfo)" = 200 ] || bad=$((bad + 1))
  calls=$((calls + 1))
  sleep 0.2
done
echo "# $calls invokes while more than 8.5 s remained"
check "several invokes ran meanwhile ($calls)" test "$calls" -ge 3
assert_eq 0 "$bad" "they all succeeded"
assert_eq 0 "$(($(tokens) - t0))" "no token request while more than 7.5 s remained"
while [ $(($(exp_ms c15) - $(now_ms))) -gt 7000 ]; do sleep 0.1; done
assert_eq 200 "$(inv oidc-c15 userinfo)" "an invoke with less than 7.5 s left"
assert_eq 1 "$(($(tokens) - t0))" "refreshes first: one token request"

# --- 50 concurrent invokes just after expiry: one token request -------------
ttl 4
connect c50
ttl 30 # the refreshed token lives 30 s: not due again (window min(60, 15) s)
while [ "$(now_ms)" -le "$(exp_ms c50)" ]; do sleep 0.1; done
t0=$(tokens)
pids=()
for i in $(seq 1 50); do
  (toolq --json invoke --tenant $T oidc-c50 userinfo | jq -r '.result.status // .status // .error.code' >"$TQ_DIR/i50.$i" 2>&1) &
  pids+=($!)
done
wait "${pids[@]}" || true
echo "# 50 invokes: $(cat "$TQ_DIR"/i50.* | sort | uniq -c | tr -s ' ' | tr '\n' ';')"
assert_eq 50 "$(grep -l '^200$' "$TQ_DIR"/i50.* | wc -l)" "50 concurrent invokes after expiry all succeeded"
assert_eq 1 "$(($(tokens) - t0))" "with exactly one token request"

# --- 100 invokes/s for 20 s with 10 s tokens: at most 4 token requests --------
# The issue's case is 60 s at 100/s with 30 s tokens (refreshed every 15 s:
# 4); scaled by 1/3. Counted from the token's issue, so at most 3-4 fit.
ttl 10
connect crate
issued=$(($(exp_ms crate) - 10000))
t0=$(tokens)
payload='{"provider":"oidc-crate","tool":"userinfo","args":{}}'
sent=0 lfail=0
while [ $(($(now_ms) - issued)) -lt 19500 ]; do
  s=$(now_ms)
  tq_load -n 100 -c 10 --op invoke --tenant $T --payload "$payload" >"$TQ_DIR/load.json" 2>&1 || lfail=$((lfail + 1))
  sent=$((sent + 100))
  left=$((1000 - ($(now_ms) - s)))
  [ "$left" -gt 0 ] && sleep "$(awk -v l="$left" 'BEGIN{print l/1000}')"
done
reqs=$(($(tokens) - t0))
echo "# $sent invokes in $((($(now_ms) - issued) / 1000)) s since the token was issued: $reqs token requests"
# the count shows that load ran across the whole refresh window; its rate is
# the machine's (a sanitizer build on a loaded 2-core VM managed 60/s)
check "invokes ran all along for 20 s ($sent, at most 100/s)" test "$sent" -ge 1000
assert_eq 0 "$lfail" "every invoke succeeded"
check "at most 4 token requests ($reqs)" test "$reqs" -le 4 -a "$reqs" -ge 2
ttl 120

# --- no refresh token: used while valid, reauth_required once expired ---------
toolq oauth system-client set --plugin oauth2 --provider mock --client-id m --client-secret mock-secret \
  --param token_url="$MS/token" --param authorization_url="$MS/authorize" >/dev/null
cat >"$TQ_DIR/mockapi.yaml" <<YAML
openapi: 3.0.3
info: {title: mock api, version: "1"}
servers: [{url: "$MS"}]
paths:
  /userinfo: {get: {operationId: userinfo, responses: {"200": {description: ok}}}}
YAML
mk_nort() { # NAME EXPIRES_IN_SECONDS: an access token alone
  toolq submit credential.create --tenant $T --payload-json \
    "{\"name\":\"$1\",\"type\":\"oauth2\",\"plugin\":\"oauth2\",\"fields\":{\"access_token\":\"at-$1-zzz\"},\"metadata\":{\"provider\":\"mock\",\"grant\":\"authorization_code\"}}" >/dev/null
  tq_psql -c "UPDATE tq_credentials SET expires_at = now() + interval '$2 seconds' WHERE name='$1'" >/dev/null
}
mk_nort nort 30 # inside the 60 s window before use
toolq import --tenant $T --name mnort --credential nort "$TQ_DIR/mockapi.yaml" >/dev/null
r0=$(curl -s "$MS/__stats" | jq .refresh)
assert_eq 200 "$(inv mnort userinfo)" "a valid token without a refresh token is used inside the refresh window"
assert_eq active "$(status nort)" "and the credential stays active"
tq_psql -c "UPDATE tq_credentials SET expires_at = now() - interval '1 second' WHERE name='nort'" >/dev/null
assert_eq oauth_reauth_required "$(inv mnort userinfo)" "once expired the call fails with oauth_reauth_required"
assert_eq reauth_required "$(status nort)" "status reauth_required in credential list"
mk_nort nort2 -5
sw=$(toolq --json sweep)
assert_eq reauth_required "$(status nort2)" "a sweep marks an expired one without a refresh token reauth_required"
assert_eq "$r0" "$(curl -s "$MS/__stats" | jq .refresh)" "without any token request"
mk_nort nort3 20
toolq --json sweep >/dev/null
assert_eq active "$(status nort3)" "a sweep leaves a still valid one alone"

# --- parameter names ----------------------------------------------------------
oauth_authorize --tenant $T --plugin oauth2 --provider mock --credential-name names || true
check "authorization_url is used by authorize" bash -c "[[ '$AUTH_URL' == '$MS/authorize?'* ]]"
shown=$(toolq --json oauth system-client show --plugin oauth2 --provider mock)
assert_eq "$MS/authorize" "$(jq -r .params.authorization_url <<<"$shown")" "shown as authorization_url"
toolq oauth system-client set --plugin oauth2 --provider alias --client-id a --param token_url="$MS/token" \
  --param authorize_url="$MS/authorize" >/dev/null
assert_eq "$MS/authorize null" \
  "$(toolq --json oauth system-client show --plugin oauth2 --provider alias | jq -r '"\(.params.authorization_url) \(.params.authorize_url)"')" \
  "authorize_url is an alias, stored as authorization_url"
bad=$(toolq --json oauth system-client set --plugin oauth2 --provider mock --param prompt=consent || true)
assert_eq invalid_params "$(jq -r .error.code <<<"$bad")" "a plain prompt=consent is refused at set"
check "with a hint to authorize.prompt and the accepted names" \
  bash -c "jq -r .error.message <<<'$bad' | grep -q 'authorize.prompt' && jq -r .error.message <<<'$bad' | grep -q 'authorization_url'"
assert_eq null "$(toolq --json oauth system-client show --plugin oauth2 --provider mock | jq -r .params.prompt)" \
  "and nothing was stored"
assert_eq invalid_params "$(ec oauth tenant-client set --tenant $T --plugin oauth2 --provider mock --param tokn_url=x)" \
  "a misspelt name is refused (tenant client)"
assert_eq 0 "$(tq_psql -c "SELECT count(*) FROM tool_oauth_tenant_clients")" "leaving no row behind"

# --- F1: client_credentials with a system client needs the operator's opt-in --
assert_eq oauth_client_credentials_not_allowed \
  "$(ec oauth client-credentials --tenant $T --plugin oauth2 --provider mock --credential-name app)" \
  "client_credentials with the system client is refused by default"
assert_eq 0 "$(tq_psql -c "SELECT count(*) FROM tq_credentials WHERE name='app'")" "no credential was stored"
toolq oauth system-client set --plugin oauth2 --provider mock --param allow_client_credentials=true >/dev/null
assert_eq true "$(toolq --json oauth client-credentials --tenant $T --plugin oauth2 --provider mock --credential-name app | jq -r .connected || true)" \
  "allowed once the operator opts in (allow_client_credentials=true)"
assert_eq invalid_params "$(ec oauth tenant-client set --tenant $T --plugin oauth2 --provider mock --param allow_client_credentials=true)" \
  "allow_client_credentials is a system-client parameter only"

# --- F1: tokens only go to the token endpoint that issued them ---------------
# (through the alias, so that this part also runs against a build without the new names)
toolq oauth system-client set --plugin oauth2 --provider mock --param authorize_url="$MS/authorize" >/dev/null
oauth_authorize --tenant $T --plugin oauth2 --provider mock --credential-name victim || true
cb=$(curl -s -o /dev/null -w '%{redirect_url}' "$AUTH_URL" || true) # the mock redirects at once
assert_eq true "$(oauth_callback "$cb" | jq -r .refresh_token || true)" "a credential with a refresh token from the mock"
assert_eq "system m $MS/token" \
  "$(tq_psql -c "SELECT concat_ws(' ', metadata->'client'->>'tier', metadata->'client'->>'client_id', metadata->'client'->>'token_url') FROM tq_credentials WHERE name='victim'")" \
  "it records the client that issued it (tier, client_id, token endpoint)"
# and one stored by hand with the same record (as an older build would have left it)
toolq submit credential.create --tenant $T --payload-json \
  "{\"name\":\"victim2\",\"type\":\"oauth2\",\"plugin\":\"oauth2\",\"fields\":{\"access_token\":\"at-v2-zzz\",\"refresh_token\":\"good-rt-v2\"},\"metadata\":{\"provider\":\"mock\",\"grant\":\"authorization_code\",\"client\":{\"tier\":\"system\",\"client_id\":\"m\",\"token_url\":\"$MS/token\"}}}" >/dev/null
toolq oauth system-client set --plugin oauth2 --provider mock --param token_url="$CS/steal" \
  --param revocation_url="$CS/revoke" >/dev/null
assert_eq oauth_client_changed "$(ec refresh --tenant $T victim2 --force)" \
  "its refresh is refused too"
assert_eq oauth_client_changed "$(ec refresh --tenant $T victim --force)" \
  "a refresh after the system client's token_url changed is refused"
assert_eq client_changed "$(status victim)" "status client_changed in credential list"
assert_eq oauth_client_changed "$(ec refresh --tenant $T app --force)" "also for a client_credentials credential"
toolq import --tenant $T --name mvictim --credential victim "$TQ_DIR/mockapi.yaml" >/dev/null
tq_psql -c "UPDATE tq_credentials SET expires_at = now() + interval '30 seconds' WHERE name='victim'" >/dev/null
assert_eq 200 "$(inv mvictim userinfo)" "a valid access token still reaches the API while its refresh is refused"
assert_eq 0 "$(wc -l <"$TQ_DIR/captured")" "nothing was sent to the new token endpoint"
toolq oauth system-client set --plugin oauth2 --provider mock --param token_url="$MS/token" >/dev/null
assert_eq refreshed "$(toolq --json refresh --tenant $T victim --force | jq -r '.outcome // .error.code' || true)" \
  "with the issuing endpoint restored the refresh works again"
assert_eq active "$(status victim)" "and the credential is active"
toolq oauth system-client set --plugin oauth2 --provider mock --param token_url="$CS/steal" >/dev/null
del=$(toolq --json credential delete --tenant $T victim || true)
assert_eq "true false oauth_client_changed" "$(jq -r '.result | "\(.deleted) \(.revoked) \(.revoke_error)"' <<<"$del")" \
  "a delete does not revoke through the changed client"
assert_eq 0 "$(wc -l <"$TQ_DIR/captured")" "still nothing sent to the new endpoints"
