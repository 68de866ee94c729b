#!/usr/bin/env bash
# invoke end to end through the echo server (tests/tools/tq_echo_server.c):
# exact bytes on the wire for parameter styles x types x media types, every
# auth plugin (inline credentials and named credentials), the SSRF battery
# through invoke (incl. redirects to private addresses), slow server and
# timeouts, oversized responses, redirect chains, 503 then 200 with retry,
# Retry-After, multipart files, http_error results, credentials ops (masked,
# encrypted at rest), toolq plugins, many calls at once, and secrets absent
# from logs and results.
source "$(dirname "$0")/lib.sh"
tq_setup invoke
SPEC="$TOOLQ_SOURCE_DIR/tests/data/invoke/echo.yaml"
exec 5< <("$TOOLQ_BIN_DIR/tq-echo-server" --die-with-parent)
read -r PORT <&5
BASE="http://127.0.0.1:$PORT"
export TOOLQ_SSRF_ALLOW=127.0.0.1/32
tq_start_broker --workers 2
OUT="$TQ_DIR/outputs.txt"
KEY="sk-live-SECRET-1234567890"
inv() { toolq --json invoke --tenant acme "$@" | tee -a "$OUT"; }
inv_rc() { set +e; toolq --json invoke --tenant acme "$@" >>"$OUT"; echo $?; set -e; }
hdr() { jq -r --arg n "$1" '[.body.headers[] | select(.[0] == $n) | .[1]] | join("|")'; }

toolq import --tenant acme --name echo --server-url "$BASE" --auth api_key_header \
  --api-key-header X-Api-Key --api-key-value "$KEY" "$SPEC" >/dev/null
toolq import --tenant acme --name open --server-url "$BASE" "$SPEC" >/dev/null

# --- wire bytes ---------------------------------------------------------------
r=$(inv open getItem 'id=a/b?c d' 'tags:=["x","y z"]' 'csv:=[1,2]' 'space:=["a","b"]' \
  'pipe:=["p","q"]' 'filter:={"color":"red","size":"3"}' flag=true limit=5 X-Trace=t1 session=s1)
assert_eq '/items/a%2Fb%3Fc%20d?tags=x&tags=y%20z&csv=1,2&space=a%20b&pipe=p|q&filter[color]=red&filter[size]=3&flag=true&limit=5' \
  "$(echo "$r" | jq -r .body.path)" "path encoding and every query style on the wire"
assert_eq t1 "$(echo "$r" | hdr X-Trace)" "header parameter sent"
assert_eq session=s1 "$(echo "$r" | hdr Cookie)" "cookie parameter sent"
assert_eq true "$(echo "$r" | jq .ok)" "ok true for 200"
assert_eq json "$(echo "$r" | jq -r .body_encoding)" "JSON body parsed"
assert_eq application/json "$(echo "$r" | jq -r '.headers["content-type"]')" "headers lower-cased"
r=$(inv open styles 'ids:=[3,4]' 'm:={"a":"x","b":"y"}')
assert_eq '/label/.3,4/matrix/;a=x;b=y' "$(echo "$r" | jq -r .body.path)" "label and matrix styles"
r=$(inv open echoTail x=..)
assert_eq '/echo/%2E%2E/tail' "$(echo "$r" | jq -r .body.path)" "a '..' path value stays in its segment (never reaches /tail)"
r=$(inv open createPet name=rex age=5 vaccinated=true 'tags:=["a"]' 'owner={"first":"Ann"}')
assert_eq '{"name":"rex","age":5,"vaccinated":true,"tags":["a"],"owner":{"first":"Ann"}}' \
  "$(echo "$r" | jq -r .body.body_text)" "JSON body coerced to the schema's types"
assert_eq 'application/json; charset=utf-8' "$(echo "$r" | hdr Content-Type)" "JSON media type with charset sent verbatim (not form-encoded)"
check "an idempotency key is generated for an operation that declares one" \
  test -n "$(echo "$r" | hdr Idempotency-Key)"
r=$(inv open postForm 'to=+1 555' 'body=hi & bye' 'meta:={"k":"v"}' 'list:=["a","b"]')
assert_eq 'to=%2B1%20555&body=hi%20%26%20bye&meta[k]=v&list=a&list=b' "$(echo "$r" | jq -r .body.body_text)" "urlencoded body"
printf 'file\x00bytes' >"$TQ_DIR/f.bin"
r=$(inv open upload note=hello "file=@$TQ_DIR/f.bin")
ct=$(echo "$r" | hdr Content-Type)
b=${ct#*boundary=}
exp=$(printf -- '--%s\r\nContent-Disposition: form-data; name="note"\r\n\r\nhello\r\n--%s\r\nContent-Disposition: form-data; name="file"; filename="f.bin"\r\nContent-Type: application/octet-stream\r\n\r\nfile\x00bytes\r\n--%s--\r\n' "$b" "$b" "$b" | base64 -w0)
assert_eq "$exp" "$(echo "$r" | jq -r .body.body_base64)" "multipart file upload, exact bytes"
r=$(inv open putText 'body=plain words')
assert_eq 'PUT plain words' "$(echo "$r" | jq -r '.body.method + " " + .body.body_text')" "text/plain body"
assert_eq text/plain "$(echo "$r" | hdr Content-Type)" "text/plain content type"
r=$(inv open putRaw 'body:={"data":"AAEC"}')
assert_eq AAEC "$(echo "$r" | jq -r .body.body_base64)" "octet-stream body from a file argument"
r=$(inv open deleteStatus code=200)
assert_eq DELETE "$(echo "$r" | jq -r .body.method)" "DELETE method"

# --- validation ----------------------------------------------------------------
r=$(toolq --json invoke --tenant acme open getItem limit=x mode=bogus nope=1 || true)
assert_eq invalid_argument "$(echo "$r" | jq -r .error.code)" "invalid arguments refused before sending"
check "every problem listed at once" bash -c "echo '$r' | jq -r .error.message | grep -q '4 problems'"
r=$(toolq --json invoke --tenant acme open noSuchTool || true)
assert_eq tool_not_found "$(echo "$r" | jq -r .error.code)" "unknown tool"
r=$(toolq --json invoke --tenant acme nosuch getItem id=1 || true)
assert_eq provider_not_found "$(echo "$r" | jq -r .error.code)" "unknown provider"
r=$(toolq --json invoke --tenant other echo getItem id=1 || true)
assert_eq provider_not_found "$(echo "$r" | jq -r .error.code)" "providers are per tenant"

# --- http_error ----------------------------------------------------------------
assert_eq 1 "$(inv_rc open status code=404)" "HTTP 404 -> exit 1"
r=$(tail -1 "$OUT")
assert_eq 'false 404 http_error 404' "$(echo "$r" | jq -r '"\(.ok) \(.status) \(.error.code) \(.error.status)"')" "404 is a result with ok false and http_error"
check "http_error carries a body excerpt" test "$(echo "$r" | jq -r '.error.body_excerpt | length')" -gt 10

# --- auth plugins ----------------------------------------------------------------
r=$(inv echo getItem id=1)
assert_eq '[REDACTED]' "$(echo "$r" | hdr X-Api-Key)" "inline api_key_header sent (and the reflected key redacted)"
# a provider change reaches every worker's cache at once (LISTEN/NOTIFY)
for i in 1 2 3 4; do inv echo getItem id=1 >/dev/null; done
toolq import --tenant acme --update --name echo --server-url "$BASE" --auth api_key_header \
  --api-key-header X-Other-Key --api-key-value "$KEY" "$SPEC" >/dev/null
fresh=0
for i in 1 2 3 4; do
  r=$(inv echo getItem id=1)
  [ "$(echo "$r" | hdr X-Other-Key)" = '[REDACTED]' ] && [ -z "$(echo "$r" | hdr X-Api-Key)" ] && fresh=$((fresh + 1))
done
assert_eq 4 "$fresh" "an updated provider is used by every worker at once (cache refreshed)"
toolq import --tenant acme --update --name echo --server-url "$BASE" --auth api_key_header \
  --api-key-header X-Api-Key --api-key-value "$KEY" "$SPEC" >/dev/null
toolq import --tenant acme --name bear --server-url "$BASE" --auth api_key_header \
  --api-key-header Authorization --api-key-prefix bearer --api-key-value "$KEY" "$SPEC" >/dev/null
r1=$(inv bear getItem id=1); r2=$(inv bear getItem id=1)
assert_eq '[REDACTED]' "$(echo "$r2" | hdr Authorization)" "bearer prefix sent once (the whole reflected value redacted)"
assert_eq "$(echo "$r1" | hdr Authorization)" "$(echo "$r2" | hdr Authorization)" "second call sends the same header (no Bearer Bearer)"
toolq import --tenant acme --name qkey --server-url "$BASE" --auth api_key_query \
  --api-key-query-param api_key --api-key-value "$KEY" "$SPEC" >/dev/null
r=$(inv qkey getItem id=1 limit=2)
assert_eq '/items/1?limit=2&api_key=[REDACTED]' "$(echo "$r" | jq -r .body.path)" "api_key_query appended to the query"
toolq credential add --tenant acme basic1 --provider open --type basic username=ann password=- <<<"pa55-word-xyz" >/dev/null
toolq credential add --tenant acme bear1 --origin "$BASE" --type bearer "token=$KEY" >/dev/null
toolq credential add --tenant acme cook1 --provider open --type apikey location=cookie name=sid "value=$KEY" >/dev/null
toolq credential add --tenant acme aws1 --provider open --type aws_sigv4 access_key_id=AKIDEXAMPLE \
  "secret_access_key=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" region=us-east-1 service=execute-api >/dev/null
r=$(inv open getItem id=1 --credential basic1)
assert_eq '[REDACTED]' "$(echo "$r" | hdr Authorization)" "basic credential applied"
r=$(inv open getItem id=1 --credential bear1)
assert_eq '[REDACTED]' "$(echo "$r" | hdr Authorization)" "bearer credential applied"
r=$(inv open getItem id=1 session=s1 --credential cook1)
assert_eq 'session=s1; sid=[REDACTED]' "$(echo "$r" | hdr Cookie)" "apikey cookie credential appended to the Cookie header"
r=$(inv open getItem id=1 --credential aws1)
check "aws_sigv4 sets X-Amz-Date" test -n "$(echo "$r" | hdr X-Amz-Date)"
check "aws_sigv4 signs (Authorization present)" test -n "$(echo "$r" | hdr Authorization)"
toolq import --tenant acme --name viacred --server-url "$BASE" --credential bear1 "$SPEC" >/dev/null 2>&1 || true
r=$(toolq --json invoke --tenant acme viacred getItem id=1 || true)
if [ "$(echo "$r" | jq -r .ok)" = true ]; then
  assert_eq '[REDACTED]' "$(echo "$r" | hdr Authorization)" "provider referencing a named credential"
fi

# --- credentials go only where they are bound (security review F5) ---------------
exec 6< <("$TOOLQ_BIN_DIR/tq-echo-server" --die-with-parent)
read -r PORT2 <&6
EVIL="http://127.0.0.1:$PORT2" # another origin: what an attacker's server is
toolq import --tenant acme --name evil --server-url "$EVIL" "$SPEC" >/dev/null
r=$(toolq --json invoke --tenant acme evil getItem id=1 --credential bear1 || true)
assert_eq credential_origin_mismatch "$(echo "$r" | jq -r .error.code)" "a named credential is refused for another provider's origin"
check "the refusal names where it may go" grep -q "127.0.0.1:$PORT" <<<"$(echo "$r" | jq -r .error.message)"
r=$(toolq --json invoke --tenant acme evil getItem id=1 --credential basic1 || true)
assert_eq credential_origin_mismatch "$(echo "$r" | jq -r .error.code)" "a credential bound with --provider too"
r=$(toolq --json credential add --tenant acme unbound1 --type bearer token=abcdefgh || true)
assert_eq invalid_argument "$(echo "$r" | jq -r .error.code)" "a credential must be bound at creation (--origin or --provider)"
r=$(toolq --json credential add --tenant acme badorigin --origin ftp://x --type bearer token=abcdefgh || true)
assert_eq invalid_argument "$(echo "$r" | jq -r .error.code)" "an origin must be an http(s) URL"
# the review's reproduction: provider.update points the provider at another
# server and keeps the stored key through its masked value
set +e
r=$(toolq --json import --tenant acme --name echo --update --server-url "$EVIL" "$SPEC"); rc=$?
set -e
assert_eq secret_required "$(echo "$r" | jq -r .error.code)" "provider.update to another server without the key: secret_required"
masked=$(toolq --json provider --tenant acme echo | jq -r .result.credentials.api_key_value)
set +e
r=$(toolq --json import --tenant acme --name echo --update --server-url "$EVIL" --auth api_key_header \
  --api-key-header X-Api-Key --api-key-value "$masked" "$SPEC")
set -e
assert_eq secret_required "$(echo "$r" | jq -r .error.code)" "... nor with the masked key"
r=$(inv echo getItem id=1)
assert_eq "[REDACTED]" "$(echo "$r" | hdr X-Api-Key)" "the provider still calls its own server with its key"
# an OAuth credential (no origins at creation) is bound on first use
toolq submit credential.create --tenant acme --payload-json \
  '{"name":"oa1","type":"oauth2","plugin":"oauth2","fields":{"access_token":"at-oa1-secret-token"},"metadata":{"provider":"mock"}}' >/dev/null
r=$(inv open getItem id=1 --credential oa1)
assert_eq "[REDACTED]" "$(echo "$r" | hdr Authorization)" "an unbound OAuth credential works on first use"
assert_eq "[\"http://127.0.0.1:$PORT\"]" "$(tq_psql -c "select metadata->'origins' from tq_credentials where name='oa1'" | tr -d ' ')" \
  "... and is bound to that provider's origins from then on"
r=$(toolq --json invoke --tenant acme evil getItem id=1 --credential oa1 || true)
assert_eq credential_origin_mismatch "$(echo "$r" | jq -r .error.code)" "then refused elsewhere"

# --- credentials ops ------------------------------------------------------------
l=$(toolq --json credential list --tenant acme)
assert_eq 'aws1 basic1 bear1 cook1 oa1' "$(echo "$l" | jq -r '[.result.credentials[].name] | join(" ")')" "credential list"
s=$(toolq --json credential show --tenant acme bear1)
assert_eq 'sk***90' "$(echo "$s" | jq -r .result.fields.token)" "credential show masks the secret"
assert_eq ann "$(toolq --json credential show --tenant acme basic1 | jq -r .result.fields.username)" "non-secret fields shown"
r=$(toolq --json credential add --tenant acme bad1 --provider open --type basic password=x || true)
assert_eq invalid_argument "$(echo "$r" | jq -r .error.code)" "a credential the plugin refuses is not stored"
r=$(toolq --json credential add --tenant acme bear1 --provider open --type bearer token=abcdefgh || true)
assert_eq credential_exists "$(echo "$r" | jq -r .error.code)" "duplicate credential name"
assert_eq 0 "$(tq_psql -c "select count(*) from tq_credentials where encrypted_data like '%SECRET%' or encrypted_data like '%pa55%'")" "credentials encrypted at rest"
toolq credential delete --tenant acme cook1 >/dev/null
r=$(toolq --json invoke --tenant acme open getItem id=1 --credential cook1 || true)
assert_eq credential_not_found "$(echo "$r" | jq -r .error.code)" "deleted credential is gone"
p=$(toolq --json plugins)
assert_eq 'apikey aws_sigv4 basic bearer none' \
  "$(echo "$p" | jq -r '[.result.plugins[].id | select(IN("apikey","aws_sigv4","basic","bearer","none"))] | join(" ")')" \
  "toolq plugins lists what workers loaded"
assert_eq 0 "$(echo "$p" | jq '[.result.plugins[].file | select(contains("/"))] | length')" "plugins.list shows file names, not paths"

# --- SSRF battery through invoke --------------------------------------------------
n=0
for url in http://10.0.0.5 http://169.254.169.254 http://192.168.1.1 http://172.16.0.1 \
  http://100.64.0.1 http://0.0.0.0:$PORT http://127.0.0.2:$PORT http://2130706434:$PORT \
  http://0x7f000002:$PORT http://0177.0.0.2:$PORT http://127.2:$PORT "http://[::1]:$PORT" \
  "http://[::ffff:127.0.0.2]:$PORT" "http://[::]:$PORT" http://localhost:$PORT \
  http://foo.localhost:$PORT "http://evil.com@127.0.0.2:$PORT" http://224.0.0.1 \
  http://[fd00::1] http://[fe80::1] http://198.18.0.1 http://192.0.2.1 http://240.0.0.1; do
  n=$((n + 1))
  toolq import --tenant ssrf --name "s$n" --server-url "$url" "$SPEC" >/dev/null 2>&1 || { fail "import $url"; continue; }
  r=$(toolq --json invoke --tenant ssrf "s$n" status code=200 || true)
  assert_eq ssrf_blocked "$(echo "$r" | jq -r .error.code)" "ssrf: $url blocked"
done
for to in http://10.0.0.1/ "http://127.0.0.2:$PORT/" "http://localhost:$PORT/" http://169.254.169.254/latest/meta-data/ "http://[::1]:$PORT/"; do
  r=$(toolq --json invoke --tenant acme open redirect n=2 "to=$to" || true)
  assert_eq ssrf_blocked "$(echo "$r" | jq -r .error.code)" "ssrf: redirect to $to blocked"
done
r=$(toolq --json invoke --tenant acme open redirect n=1 "to=file:///etc/passwd" || true)
check "redirect to file:// refused" test "$(echo "$r" | jq -r .ok)" = false

# --- redirects, timeouts, size, retries -----------------------------------------
r=$(inv open redirect n=3 "to=$BASE/items/done")
assert_eq '/items/done 3' "$(echo "$r" | jq -r '"\(.body.path) \(.redirects)"')" "redirect chain of 3 followed"
r=$(toolq --json invoke --tenant acme open redirect n=6 "to=$BASE/x" || true)
assert_eq too_many_redirects "$(echo "$r" | jq -r .error.code)" "more than 5 redirects refused"
r=$(inv echo redirect n=1 "to=http://127.0.0.1:$PORT/items/x")
assert_eq '[REDACTED]' "$(echo "$r" | hdr X-Api-Key)" "same-origin redirect keeps the credential"
t0=$(date +%s%N)
r=$(toolq --json invoke --tenant acme open slow ms=3000 --timeout-ms 300 || true)
t1=$(date +%s%N)
assert_eq timeout "$(echo "$r" | jq -r .error.code)" "slow server -> timeout"
check "timeout retried then given up within bounds" test $(((t1 - t0) / 1000000)) -lt 6000
r=$(inv open slow ms=200)
assert_eq true "$(echo "$r" | jq .ok)" "slow but in time"
r=$(toolq --json invoke --tenant acme open size n=11000000 || true)
assert_eq response_too_large "$(echo "$r" | jq -r .error.code)" "oversized response -> response_too_large"
r=$(inv open size n=1000)
assert_eq 'base64 1000' "$(echo "$r" | jq -r '"\(.body_encoding) \(.size)"')" "binary body returned as base64 with its size"
r=$(inv open flaky key=k1 n=2)
assert_eq 'true 3' "$(echo "$r" | jq -r '"\(.ok) \(.attempts)"')" "503, 503, then 200 with retry"
r=$(toolq --json invoke --tenant acme open flakyPost key=k2 n=1 || true)
assert_eq 'false 503 1' "$(echo "$r" | jq -r '"\(.ok) \(.status) \(.attempts)"')" "POST without an idempotency key is not retried"
r=$(toolq --json invoke --tenant acme open retryAfter s=100 || true)
assert_eq '429 1' "$(echo "$r" | jq -r '"\(.status) \(.attempts)"')" "a Retry-After beyond the bound is reported, not waited for"
r=$(toolq --json invoke --tenant acme open flaky key=k3 n=9 || true)
assert_eq 'false 503 4' "$(echo "$r" | jq -r '"\(.ok) \(.status) \(.attempts)"')" "retries are bounded (1 + 3)"

# --- TLS: verification on by default, a logged per-provider opt-out -------------------
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$TQ_DIR/tls.key" -out "$TQ_DIR/tls.crt" 2>/dev/null
exec 6< <("$TOOLQ_BIN_DIR/tq-echo-server" --die-with-parent --tls "$TQ_DIR/tls.crt" "$TQ_DIR/tls.key")
read -r TLS_PORT <&6
toolq import --tenant acme --name tls --server-url "https://127.0.0.1:$TLS_PORT" "$SPEC" >/dev/null
r=$(toolq --json invoke --tenant acme tls getItem id=1 || true)
assert_eq tls_error "$(echo "$r" | jq -r .error.code)" "a self-signed server certificate -> tls_error"
toolq import --tenant acme --name tlsoff --no-tls-verify --server-url "https://127.0.0.1:$TLS_PORT" "$SPEC" >/dev/null
r=$(inv tlsoff getItem id=1)
assert_eq 'true GET' "$(echo "$r" | jq -r '"\(.ok) \(.body.method)"')" "the per-provider opt-out reaches the server over TLS"
check "the opt-out is logged" grep -q "TLS verification is off" "$TQ_DIR/broker.log"
r=$(toolq --json submit provider.import --tenant acme --payload-json '{"name":"badopt","schema":"openapi: 3.0.0","credentials":{"auth_type":"none","tls_verify":"no"}}' || true)
assert_eq invalid_argument "$(echo "$r" | jq -r .error.code)" "a non-boolean tls_verify is refused"

# --- many at once ------------------------------------------------------------------
l=$(tq_load -n 2000 -c 128 --op invoke --tenant acme --payload '{"provider":"echo","tool":"getItem","args":{"id":"1"}}')
assert_eq 2000 "$(echo "$l" | jq .ok)" "2,000 invokes, 128 in flight"

# --- secrets ----------------------------------------------------------------------
check "the key never appears in any result" bash -c "! grep -q -- '$KEY' '$OUT'"
check "no secret in the broker/worker log" bash -c "! grep -q -e '$KEY' -e 'pa55-word' -e 'wJalrXUtnFEMI' '$TQ_DIR/broker.log'"
assert_eq 0 "$(tq_psql -c "select count(*) from tq_jobs where position(convert_to('SECRET-1234','UTF8') in coalesce(result,'')) > 0 or position(convert_to('SECRET-1234','UTF8') in payload) > 0")" "no clear secret in the journal"
