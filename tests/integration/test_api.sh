#!/usr/bin/env bash
# The HTTP/JSON API under /v1 (docs/api.md) against a real broker, workers,
# PostgreSQL and the echo server: API keys (toolq apikey create|list|revoke;
# no, wrong, malformed, revoked, expired key -> 401 and nothing journaled),
# every route (jobs, providers incl. multipart import, tools with pages,
# invoke, credentials, OAuth authorize, whoami, openapi.json), tenant
# isolation (tenant B cannot see, invoke, cancel or wait on tenant A's
# anything; nothing leaked), a tenant key cannot run an operator op,
# idempotency, long-poll wakes on completion, malformed JSON / wrong content
# type / oversize body -> problem+json with a code and no job, toolq importing
# its own description and calling its own GET /v1/tools as a tool, the
# per-key rate limit (429 + Retry-After), and the listener's TLS rule.
source "$(dirname "$0")/lib.sh"
tq_setup api
SPEC="$TOOLQ_SOURCE_DIR/tests/data/invoke/echo.yaml"
exec 5< <("$TOOLQ_BIN_DIR/tq-echo-server" --die-with-parent)
read -r EPORT <&5
ECHO="http://127.0.0.1:$EPORT"
PORT=$(tq_free_port)
BASE="http://127.0.0.1:$PORT"
export TOOLQ_HTTP_LISTEN="127.0.0.1:$PORT"
export TOOLQ_SSRF_ALLOW=127.0.0.1/32
tq_start_broker --workers 2 --set apikey.cache_ms=0 --set http.max_body_bytes=65536

# api KEY [curl args...] -> status; body in $TQ_DIR/body, headers in $TQ_DIR/hdr
api() {
  local key=$1
  shift
  curl -s -o "$TQ_DIR/body" -D "$TQ_DIR/hdr" -w '%{http_code}' --max-time 60 \
    ${key:+-H "Authorization: Bearer $key"} "$@"
}
body() { cat "$TQ_DIR/body"; }
jb() { jq -r "$1" "$TQ_DIR/body"; }
header() { { grep -i "^$1:" "$TQ_DIR/hdr" || true; } | head -1 | cut -d' ' -f2- | tr -d '\r'; }
JSON=(-H "Content-Type: application/json")

# --- keys -------------------------------------------------------------------------------
KA=$(toolq apikey create --tenant acme --name a1 2>"$TQ_DIR/create.err")
check "apikey create prints a 256-bit key once" grep -qE '^tqk_[A-Za-z0-9_-]{43}$' <<<"$KA"
check "and says it is shown once (stderr)" grep -q "shown once" "$TQ_DIR/create.err"
KB=$(toolq apikey create --tenant beta --name b1 2>/dev/null)
KOP=$(toolq apikey create --tenant acme --name ops --role operator 2>/dev/null)
KREV=$(toolq apikey create --tenant acme --name gone 2>/dev/null)
KEXP=$(toolq apikey create --tenant acme --name short --expires 1s 2>/dev/null)
check "the database holds only the SHA-256 of a key" \
  test "$(tq_psql -c "SELECT count(*) FROM tq_api_keys WHERE key_hash = encode(sha256('$KA'::bytea), 'hex')")" = 1
check "and never the key itself" test "$(tq_psql -c "SELECT count(*) FROM tq_api_keys WHERE key_hash = '$KA' OR name = '$KA'")" = 0
assert_eq "revoked gone (" "$(toolq apikey revoke --tenant acme gone | cut -c1-14)" "apikey revoke by name"
toolq --json apikey list --tenant acme >"$TQ_DIR/list.json"
assert_eq "a1 ops gone short" "$(jq -r '[.keys[].name] | join(" ")' "$TQ_DIR/list.json")" "apikey list: the tenant's keys"
assert_eq "revoked" "$(jq -r '.keys[] | select(.name == "gone") | .state' "$TQ_DIR/list.json")" "a revoked key is listed as revoked"
check "apikey list never shows a hash" bash -c "! grep -q key_hash $TQ_DIR/list.json"
out=$(toolq apikey create --tenant acme --name a1 2>&1 || true)
check "a second live key with the same name is apikey_exists" grep -q apikey_exists <<<"$out"
out=$(toolq apikey create --tenant acme --name $'two\nlines' 2>&1 || true)
check "a key name with a control character is invalid_payload (names reach log lines)" grep -q invalid_payload <<<"$out"
sleep 1.2 # KEXP expires

# --- 401 before anything else -------------------------------------------------------------
before=$(tq_job_rows)
WRONG="tqk_$(head -c32 /dev/urandom | base64 -w0 | tr '+/' '-_' | cut -c1-43)"
for k in "" "$WRONG" "not-a-key" "$KREV" "$KEXP"; do
  s=$(api "$k" -X POST "${JSON[@]}" -d '{"op":"ping","payload":{}}' "$BASE/v1/jobs")
  assert_eq 401 "$s" "POST /v1/jobs with key '${k:0:8}…' is 401"
  assert_eq unauthorized "$(jb .code)" "  with code unauthorized"
done
assert_eq "application/problem+json" "$(header Content-Type)" "401 is problem+json"
assert_eq 'Bearer realm="toolq"' "$(header WWW-Authenticate)" "401 names the Bearer scheme"
assert_eq 401 "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Basic $KA" "$BASE/v1/whoami")" "another scheme is 401"
assert_eq 401 "$(api "" "$BASE/v1/openapi.json")" "even the description needs a key"
head -c 70000 /dev/zero | tr '\0' 'a' >"$TQ_DIR/big"
assert_eq 401 "$(api "$WRONG" -X POST "${JSON[@]}" --data-binary @"$TQ_DIR/big" "$BASE/v1/jobs")" \
  "an unauthenticated oversize body gets 401, not 413 (the key is checked first)"
assert_eq "$before" "$(tq_job_rows)" "refused requests journaled nothing"

# --- whoami and jobs ------------------------------------------------------------------------
assert_eq 200 "$(api "$KA" "$BASE/v1/whoami")" "GET /v1/whoami"
assert_eq "tenant acme" "$(jb '.role + " " + .tenant')" "the key's role and tenant, from the key"
check "whoami names the key" grep -q "API key a1" "$TQ_DIR/body"
assert_eq 200 "$(api "$KA" -X POST "${JSON[@]}" -H 'Prefer: wait=10' -d '{"op":"ping","payload":{"x":1}}' "$BASE/v1/jobs")" \
  "POST /v1/jobs with Prefer: wait ends with 200"
assert_eq "succeeded 1" "$(jb '.state + " " + (.result.x|tostring)')" "the job's result"
JID=$(jb .id)
assert_eq "acme" "$(tq_psql -c "SELECT tenant_id FROM tq_jobs WHERE id = '$JID'")" "the job runs under the key's tenant"
assert_eq 202 "$(api "$KA" -X POST "${JSON[@]}" -d '{"op":"sleep","payload":{"ms":1500}}' "$BASE/v1/jobs")" "without Prefer: 202"
SID=$(jb .id)
assert_eq "/v1/jobs/$SID" "$(header Location)" "Location names the job"
t0=$(date +%s%N)
assert_eq 200 "$(api "$KA" "$BASE/v1/jobs/$SID?wait=30")" "GET /v1/jobs/{id}?wait=30"
ms=$((($(date +%s%N) - t0) / 1000000))
assert_eq succeeded "$(jb .state)" "long-poll returns the ended job"
check "long-poll wakes on completion (${ms} ms, not 30 s)" test "$ms" -lt 10000
assert_eq 200 "$(api "$KA" "$BASE/v1/jobs/$SID")" "GET /v1/jobs/{id}"
# idempotency over HTTP
api "$KA" -X POST "${JSON[@]}" -H 'Idempotency-Key: order-7' -H 'Prefer: wait=10' -d '{"op":"ping","payload":{"n":7}}' "$BASE/v1/jobs" >/dev/null
I1=$(jb .id)
api "$KA" -X POST "${JSON[@]}" -H 'Idempotency-Key: order-7' -H 'Prefer: wait=10' -d '{"op":"ping","payload":{"n":8}}' "$BASE/v1/jobs" >/dev/null
assert_eq "$I1 true 7" "$(jb '.id + " " + (.duplicate|tostring) + " " + (.result.n|tostring)')" \
  "a second submit with the same Idempotency-Key returns the first job and its result"
assert_eq 1 "$(tq_psql -c "SELECT count(*) FROM tq_jobs WHERE idempotency_key = 'order-7'")" "one journal row for the key"
# cancel
api "$KA" -X POST "${JSON[@]}" -d '{"op":"sleep","payload":{"ms":20000}}' "$BASE/v1/jobs" >/dev/null
CID=$(jb .id)

# --- tenant isolation ---------------------------------------------------------------------
for spec in "GET /v1/jobs/$SID" "GET /v1/jobs/$SID?wait=2" "DELETE /v1/jobs/$CID"; do
  s=$(api "$KB" -X "${spec%% *}" "$BASE${spec#* }")
  assert_eq "404 not_found" "$s $(jb .code)" "tenant B: $spec is 404"
  check "  and leaks nothing of tenant A" bash -c "! grep -qiE 'acme|sleep|ping' $TQ_DIR/body"
done
assert_eq 403 "$(api "$KB" -X POST "${JSON[@]}" -d '{"op":"ping","tenant":"acme"}' "$BASE/v1/jobs")" \
  "tenant B cannot submit for tenant A (body tenant)"
assert_eq 403 "$(api "$KB" -X POST "${JSON[@]}" -H 'X-Toolq-Tenant: acme' -d '{"op":"ping"}' "$BASE/v1/jobs")" \
  "nor with X-Toolq-Tenant"
assert_eq forbidden "$(jb .code)" "  forbidden"
assert_eq 200 "$(api "$KA" -X DELETE "$BASE/v1/jobs/$CID")" "tenant A cancels its job: DELETE /v1/jobs/{id}"
assert_eq cancelled "$(jb .state)" "  cancelled"
assert_eq 409 "$(api "$KA" -X DELETE "$BASE/v1/jobs/$CID")" "cancelling an ended job is 409"
assert_eq not_cancellable "$(jb .code)" "  not_cancellable"

# --- roles ----------------------------------------------------------------------------------
before=$(tq_job_rows)
assert_eq 403 "$(api "$KA" -X POST "${JSON[@]}" -d '{"op":"admin.rotate_tenant_key","payload":{"tenant":"acme"}}' "$BASE/v1/jobs")" \
  "a tenant key cannot run an operator op"
check "  the problem names the missing role" grep -q "operator" "$TQ_DIR/body"
assert_eq 403 "$(api "$KA" -X POST "${JSON[@]}" -d '{"op":"apikey.grant","payload":{"tenant":"acme","role":"operator","hash":"'"$(printf %064d 0)"'"}}' "$BASE/v1/jobs")" \
  "a tenant key cannot mint an operator key"
assert_eq 400 "$(api "$KA" -X POST "${JSON[@]}" -d '{"op":"no.such.op"}' "$BASE/v1/jobs")" "unknown op is 400"
assert_eq unknown_op "$(jb .code)" "  unknown_op"
# the on-behalf claim is the broker's own: the toolq user (an operator on the
# frontend) claiming to be an operator key for another tenant is refused
assert_eq "rejected forbidden" "$("$TOOLQ_BIN_DIR/tq-on-behalf" operator acme admin.rotate_master || true)" \
  "a frontend client that claims to act on behalf of a key is forbidden"
check "  and the refusal is logged" grep -q "refused a request on behalf of another principal" "$TQ_DIR/broker.log"
assert_eq "$before" "$(tq_job_rows)" "refused submits journaled nothing"
assert_eq 200 "$(api "$KOP" -X POST "${JSON[@]}" -H 'Prefer: wait=20' -d '{"op":"admin.rotate_tenant_key","payload":{"tenant":"acme"}}' "$BASE/v1/jobs")" \
  "an operator key runs an operator op"
assert_eq "*system*" "$(tq_psql -c "SELECT tenant_id FROM tq_jobs WHERE id = '$(jb .id)'")" "  under *system*"
assert_eq 200 "$(api "$KOP" "$BASE/v1/jobs/$SID")" "an operator key sees any tenant's job"

# --- malformed requests -----------------------------------------------------------------------
before=$(tq_job_rows)
assert_eq "400 invalid_request" "$(api "$KA" -X POST "${JSON[@]}" -d '{"op":' "$BASE/v1/jobs") $(jb .code)" "malformed JSON"
assert_eq "400 invalid_request" "$(api "$KA" -X POST "${JSON[@]}" -d '[1]' "$BASE/v1/jobs") $(jb .code)" "JSON that is not an object"
assert_eq "415 unsupported_media_type" "$(api "$KA" -X POST -H 'Content-Type: text/plain' -d '{"op":"ping"}' "$BASE/v1/jobs") $(jb .code)" "wrong content type"
assert_eq "413 payload_too_large" "$(api "$KA" -X POST "${JSON[@]}" --data-binary @"$TQ_DIR/big" "$BASE/v1/jobs") $(jb .code)" "oversize body (http.max_body_bytes)"
assert_eq "413 payload_too_large" "$(api "$KA" -X POST "${JSON[@]}" -H 'Transfer-Encoding: chunked' --data-binary @"$TQ_DIR/big" "$BASE/v1/jobs") $(jb .code)" "oversize chunked body"
assert_eq "404 route_not_found" "$(api "$KA" "$BASE/v1/nope") $(jb .code)" "unknown path"
assert_eq "405 method_not_allowed" "$(api "$KA" -X PATCH "$BASE/v1/jobs") $(jb .code)" "wrong method"
assert_eq "POST" "$(header Allow)" "  with Allow"
assert_eq "400 invalid_request" "$(api "$KA" "$BASE/v1/providers/%FF%FE") $(jb .code)" "a path that is not UTF-8"
assert_eq "$before" "$(tq_job_rows)" "malformed requests journaled nothing"

# --- providers, tools, invoke ------------------------------------------------------------------
assert_eq 201 "$(api "$KA" -X POST -H 'Content-Type: application/yaml' --data-binary @"$SPEC" "$BASE/v1/providers?name=echo&server_url=$ECHO")" \
  "POST /v1/providers: the body is the document"
check "  tools counted" test "$(jb .tools)" -gt 3
cp "$SPEC" "$TQ_DIR/main.yaml"
echo "unused: true" >"$TQ_DIR/extra.yaml"
assert_eq 201 "$(api "$KA" -X POST -F name=echo2 -F "server_url=$ECHO" -F "entry=@$TQ_DIR/main.yaml" -F "extra=@$TQ_DIR/extra.yaml" "$BASE/v1/providers")" \
  "POST /v1/providers multipart with several files"
assert_eq echo2 "$(jb .name)" "  named by the form field"
M="$TOOLQ_SOURCE_DIR/tests/data/openapi/multi"
parts=()
for f in api/openapi.yaml api/paths/order.yaml api/paths/orders.yaml schemas/order.json schemas/common.yaml; do
  parts+=(-F "f=@$M/$f;filename=$f")
done
assert_eq 201 "$(api "$KA" -X POST -F name=multi "${parts[@]}" "$BASE/v1/providers")" \
  "multipart import of a multi-file document"
assert_eq "3 []" "$(jb '(.tools|tostring) + " " + (.skipped|tostring)')" "  its relative \$refs resolve across the parts"
assert_eq "409 provider_exists" "$(api "$KA" -X POST -H 'Content-Type: application/yaml' --data-binary @"$SPEC" "$BASE/v1/providers?name=echo") $(jb .code)" "a second import of a name"
assert_eq 200 "$(api "$KA" "$BASE/v1/providers")" "GET /v1/providers"
assert_eq "echo echo2 multi" "$(jb '[.providers[].name] | join(" ")')" "  lists the tenant's providers"
assert_eq 200 "$(api "$KA" "$BASE/v1/providers/echo")" "GET /v1/providers/{name}"
assert_eq 200 "$(api "$KA" -X PUT -H 'Content-Type: application/yaml' --data-binary @"$SPEC" "$BASE/v1/providers/echo?server_url=$ECHO")" "PUT /v1/providers/{name}"
assert_eq true "$(jb .updated)" "  updated"
assert_eq "404 provider_not_found" "$(api "$KB" "$BASE/v1/providers/echo") $(jb .code)" "tenant B cannot see tenant A's provider"
assert_eq 0 "$(api "$KB" "$BASE/v1/providers" >/dev/null; jb '.providers | length')" "tenant B lists none"
assert_eq 200 "$(api "$KA" "$BASE/v1/tools?format=openai&provider=echo")" "GET /v1/tools?format=openai"
N=$(jb '.tools | length')
assert_eq function "$(jb '.tools[0].type')" "  OpenAI function-calling definitions"
assert_eq 200 "$(api "$KA" "$BASE/v1/tools?format=openai&provider=echo&limit=2")" "GET /v1/tools, a page"
assert_eq "2 2" "$(jb '(.tools | length | tostring) + " " + .next_cursor')" "  two tools and the next cursor"
api "$KA" "$BASE/v1/tools?format=openai&provider=echo&limit=1000&cursor=2" >/dev/null
assert_eq "$((N - 2)) null" "$(jb '(.tools | length | tostring) + " " + (.next_cursor | tostring)')" "  the last page"
api "$KA" "$BASE/v1/tools?limit=3" >/dev/null
assert_eq 3 "$(jb '[.tools[] | select(.provider != null)] | length')" "  toolq bundles, paged across providers"
assert_eq 200 "$(api "$KA" -X POST "${JSON[@]}" -d '{"id":"a b"}' "$BASE/v1/providers/echo/tools/getItem:invoke")" \
  "POST /v1/providers/{p}/tools/{t}:invoke"
assert_eq "/items/a%20b" "$(jb .body.path)" "  the call reached the API"
assert_eq "404 provider_not_found" "$(api "$KB" -X POST "${JSON[@]}" -d '{"id":"x"}' "$BASE/v1/providers/echo/tools/getItem:invoke") $(jb .code)" \
  "tenant B cannot invoke tenant A's tool"
check "  and the problem names the job, not tenant A" bash -c "! grep -qi acme $TQ_DIR/body"

# --- credentials, OAuth ---------------------------------------------------------------------------
assert_eq 201 "$(api "$KA" -X POST "${JSON[@]}" -d '{"name":"gh","type":"bearer","origins":["https://api.github.com"],"fields":{"token":"tok-SECRET-42"}}' "$BASE/v1/credentials")" \
  "POST /v1/credentials"
assert_eq 200 "$(api "$KA" "$BASE/v1/credentials")" "GET /v1/credentials"
assert_eq gh "$(jb '.credentials[0].name')" "  lists it"
assert_eq 200 "$(api "$KA" "$BASE/v1/credentials/gh")" "GET /v1/credentials/{name}"
check "  masked" bash -c "! grep -q tok-SECRET-42 $TQ_DIR/body"
assert_eq 404 "$(api "$KB" "$BASE/v1/credentials/gh")" "tenant B cannot read it"
assert_eq 200 "$(api "$KA" -X DELETE "$BASE/v1/credentials/gh")" "DELETE /v1/credentials/{name}"
s=$(api "$KA" -X POST "${JSON[@]}" -d '{"plugin":"no-such-plugin"}' "$BASE/v1/oauth/authorize")
check "POST /v1/oauth/authorize runs oauth.authorize (an unknown plugin is a problem with a code: $s $(jb .code))" \
  test "$(jb .code)" != null -a "$(jb .code)" != route_not_found
check "no secret in the broker log" bash -c "! grep -qE 'tok-SECRET-42|$KA' $TQ_DIR/broker.log"

# --- its own description, imported and called ----------------------------------------------------
assert_eq 200 "$(api "$KA" "$BASE/v1/openapi.json")" "GET /v1/openapi.json"
cp "$TQ_DIR/body" "$TQ_DIR/openapi.json"
assert_eq 3.1.0 "$(jb .openapi)" "  OpenAPI 3.1"
check "  the op catalogue is the enum of POST /v1/jobs" \
  test "$(jb '.paths["/v1/jobs"].post.requestBody.content["application/json"].schema.properties.op.enum | index("provider.import")')" != null
assert_eq 201 "$(api "$KA" -X POST "${JSON[@]}" --data-binary @"$TQ_DIR/openapi.json" "$BASE/v1/providers?name=self")" \
  "toolq imports its own API description"
api "$KA" -X POST "${JSON[@]}" -d '{"name":"self-key","type":"bearer","provider":"self","fields":{"token":"'"$KA"'"}}' "$BASE/v1/credentials" >/dev/null
assert_eq 200 "$(api "$KA" -X POST "${JSON[@]}" -d '{"format":"openai","provider":"echo"}' "$BASE/v1/providers/self/tools/listTools:invoke?credential=self-key")" \
  "and calls its own GET /v1/tools as a tool"
assert_eq "200 $N" "$(jb '(.status|tostring) + " " + (.body.tools | length | tostring)')" "  which answered the tenant's tools"
api "$KA" -X DELETE "$BASE/v1/providers/echo2" >/dev/null
assert_eq true "$(jb .deleted)" "DELETE /v1/providers/{name}"

# --- rate limit, listener rules ---------------------------------------------------------------------
tq_stop_broker
tq_start_broker --workers 1 --set apikey.rate_per_second=1 --set apikey.rate_burst=2
codes=""
for i in 1 2 3; do codes="$codes $(api "$KA" "$BASE/v1/whoami")"; done
assert_eq " 200 200 429" "$codes" "the per-key rate limit: burst 2, then 429"
mst=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$BASE/mcp" -H "Authorization: Bearer $KA" \
  -H "Content-Type: application/json" -H "Accept: application/json, text/event-stream" \
  -d '{"jsonrpc":"2.0","id":1,"method":"ping"}')
assert_eq 429 "$mst" "  /mcp spends the same key's bucket (one key store for the listener)"
assert_eq rate_limited "$(jb .code)" "  rate_limited"
check "  with Retry-After" test -n "$(header Retry-After)"
assert_eq 200 "$(api "$KB" "$BASE/v1/whoami")" "another key has its own bucket"
tq_stop_broker
P2=$(tq_free_port)
set +e
timeout 20 "$TOOLQ_BIN_DIR/toolq-broker" --set "http.listen=0.0.0.0:$P2" >"$TQ_DIR/plain.log" 2>&1
rc=$?
set -e
check "a non-loopback listener without TLS does not start (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
check "  and says why (invalid_config, http.tls_cert)" grep -q "http.tls_cert" "$TQ_DIR/plain.log"
if openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -days 1 -keyout "$TQ_DIR/tls.key" \
  -out "$TQ_DIR/tls.crt" >/dev/null 2>&1; then
  export TOOLQ_HTTP_LISTEN="0.0.0.0:$P2"
  tq_start_broker --workers 1 --set "http.tls_cert=$TQ_DIR/tls.crt" --set "http.tls_key=$TQ_DIR/tls.key" \
    --set "http.allowed_hosts=127.0.0.1:$P2"
  assert_eq 200 "$(api "$KA" --cacert "$TQ_DIR/tls.crt" "https://127.0.0.1:$P2/v1/whoami")" "with http.tls_cert the API is served over HTTPS"
  assert_eq 000 "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$P2/v1/whoami")" "  and not in plain text"
fi
