#!/usr/bin/env bash
# MCP over Streamable HTTP at /mcp: the official TypeScript SDK client
# (tests/peers/mcp, pinned) with an API key lists and calls tools against the
# echo server (structuredContent, isError with the code, progress,
# cancellation); auth (no key, wrong key, another tenant's tool name, a key
# limited to one provider, a session used with another key) and the guards
# (Origin, Host, MCP-Protocol-Version, batches, sessions ending), each refusal
# leaving no job behind; notifications/tools/list_changed on the session's
# stream when a provider of its tenant is imported (and not for another tenant);
# GET streams whose clients hung up give their connections back at once.
source "$(dirname "$0")/lib.sh"
PEER="$TOOLQ_SOURCE_DIR/tests/peers/mcp"
[ -d "$PEER/node_modules/@modelcontextprotocol/sdk" ] || { echo "skip: npm ci in $PEER"; exit 77; }
tq_setup mcp_http
SPEC="$TOOLQ_SOURCE_DIR/tests/data/invoke/echo.yaml"
exec 5< <("$TOOLQ_BIN_DIR/tq-echo-server" --die-with-parent)
read -r PORT <&5
BASE="http://127.0.0.1:$PORT"
export TOOLQ_SSRF_ALLOW=127.0.0.1/32
HP=$(tq_free_port)
export TOOLQ_HTTP_LISTEN="127.0.0.1:$HP"
tq_start_broker --workers 2 --set log.level=debug
U="http://127.0.0.1:$HP/mcp"
cat >"$TQ_DIR/st.yaml" <<EOF
openapi: 3.0.3
info: {title: st, version: "1"}
servers: [{url: "$BASE"}]
paths:
  /slow/{ms}:
    get:
      operationId: slowGet
      parameters: [{name: ms, in: path, required: true, schema: {type: integer}}]
      responses: {"200": {description: ok}}
EOF
sed 's/slowGet/otherOnly/' "$TQ_DIR/st.yaml" >"$TQ_DIR/other.yaml"
toolq import --tenant acme --name echo --server-url "$BASE" "$SPEC" >/dev/null
toolq import --tenant acme --name st "$TQ_DIR/st.yaml" >/dev/null
toolq import --tenant other --name secret "$TQ_DIR/other.yaml" >/dev/null
newkey() { toolq --json apikey create "$@" | jq -r .key; }
KEY=$(newkey --tenant acme --name full)
KEY_ST=$(newkey --tenant acme --name only-st --tools 'st/*')
KEY_OTHER=$(newkey --tenant other --name other)
mcp() { node "$PEER/client.mjs" --http "$U" --key "$1" --do "$2"; }
jobs_now() { tq_psql -c "SELECT count(*) FROM tq_jobs WHERE op NOT LIKE 'refresh%'"; }
rpc() { # rpc KEY SESSION JSON [curl args...] -> status line, headers and body
  local key=$1 sid=$2 body=$3
  shift 3
  curl -s -i -X POST "$U" -H "Content-Type: application/json" \
    -H "Accept: application/json, text/event-stream" \
    ${key:+-H "Authorization: Bearer $key"} ${sid:+-H "Mcp-Session-Id: $sid"} "$@" -d "$body"
}
status() { head -1 | awk '{print $2}'; }
INIT='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}'

# --- the SDK client --------------------------------------------------------------
out=$(mcp "$KEY" '[["info"],["list"],["call","getItem",{"id":"a/b","limit":5}],
  ["call","getItem",{"id":"x","mode":"bogus"}],["call","otherOnly",{}],
  ["progress","slowGet",{"ms":2600}],["cancel","slowGet",{"ms":20000},1500],["ping"]]')
info=$(echo "$out" | sed -n 1p)
assert_eq "2025-11-25 true" "$(echo "$info" | jq -r '[.version, .capabilities.tools.listChanged] | join(" ")')" \
  "initialize: newest revision, tools.listChanged"
list=$(echo "$out" | sed -n 2p)
assert_eq 17 "$(echo "$list" | jq '.tools | length')" "tools/list: every tool of the key's tenant (16 of echo.yaml + 1)"
assert_eq true "$(echo "$list" | jq '[.tools[] | select(.name == "getItem")][0].annotations.readOnlyHint')" \
  "tools/list: annotations"
call=$(echo "$out" | sed -n 3p)
assert_eq "false 200 /items/a%2Fb?limit=5" \
  "$(echo "$call" | jq -r '[.isError, .structuredContent.status, .structuredContent.body.path] | join(" ")')" \
  "tools/call over HTTP: the HTTP answer as structuredContent"
check "tools/call: no API key reaches the API" test "$(echo "$call" | jq -r '.structuredContent.body.headers[][0]' | grep -ci authorization)" = 0
bad=$(echo "$out" | sed -n 4p)
assert_eq "true invalid_argument" "$(echo "$bad" | jq -r '[.isError, .structuredContent.error.code] | join(" ")')" \
  "bad argument: isError with the toolq code"
assert_eq -32602 "$(echo "$out" | sed -n 5p | jq .error.code)" "another tenant's tool name: unknown tool"
assert_eq 0 "$(tq_psql -c "SELECT count(*) FROM tq_jobs WHERE op = 'invoke' AND tenant_id IN ('other', (SELECT tenant_id::text FROM tool_api_providers WHERE name = 'secret'))")" \
  "another tenant's tool name: no job of that tenant"
p=$(echo "$out" | sed -n 6p)
check "progress notifications over the POST's SSE stream" test "$(echo "$p" | jq '.progress | length')" -ge 2
assert_eq "false 200" "$(echo "$p" | jq -r '[.result.isError, .result.structuredContent.status] | join(" ")')" "slow call answers"
assert_eq true "$(echo "$out" | sed -n 7p | jq .cancelled)" "client aborted a call"
sleep 0.5
assert_eq cancelled "$(tq_psql -c "SELECT state FROM tq_jobs WHERE op = 'invoke' ORDER BY created_at DESC LIMIT 1")" \
  "notifications/cancelled over HTTP cancelled the invoke job"
assert_eq true "$(echo "$out" | sed -n 8p | jq .pong)" "ping"

# --- a key limited to one provider -------------------------------------------------
out=$(mcp "$KEY_ST" '[["list"],["call","getItem",{"id":"1"}],["call","slowGet",{"ms":1}]]')
assert_eq '["slowGet"]' "$(echo "$out" | sed -n 1p | jq -c '[.tools[].name]')" "--tools st/*: tools/list shows that provider only"
assert_eq -32602 "$(echo "$out" | sed -n 2p | jq .error.code)" "--tools st/*: another provider's tool is unknown"
assert_eq false "$(echo "$out" | sed -n 3p | jq .isError)" "--tools st/*: its own tool works"
check "apikey create refuses a malformed --tools" \
  bash -c "! '$TOOLQ_BIN_DIR/toolq' apikey create --tenant acme --name badtools --tools 'nope' >/dev/null 2>&1"
assert_eq "st/*" "$(tq_psql -c "SELECT tools FROM tq_api_keys WHERE name = 'only-st'")" "the limit is stored with the key"

# --- refusals leave nothing behind -----------------------------------------------------
before=$(jobs_now)
r=$(rpc "" "" "$INIT")
assert_eq 401 "$(echo "$r" | status)" "no key: 401"
check "no key: WWW-Authenticate: Bearer" grep -qi '^WWW-Authenticate: Bearer' <<<"$r"
check "no key: no session id" bash -c "! grep -qi '^Mcp-Session-Id' <<<'$r'"
assert_eq 401 "$(rpc "tqk_wrongwrongwrongwrongwrongwrongwrongwrongwro" "" "$INIT" | status)" "wrong key: 401"
assert_eq 401 "$(rpc "" "" '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"getItem","arguments":{"id":"1"}}}' | status)" \
  "no key on tools/call: 401"
assert_eq 403 "$(rpc "$KEY" "" "$INIT" -H "Origin: http://evil.example" | status)" "foreign Origin: 403"
assert_eq 421 "$(rpc "$KEY" "" "$INIT" -H "Host: evil.example" | status)" "foreign Host: 421"
assert_eq "$before" "$(jobs_now)" "refused requests submitted no job"

# --- sessions ------------------------------------------------------------------------
r=$(rpc "$KEY" "" "$INIT" -H "Origin: http://127.0.0.1:$HP")
assert_eq 200 "$(echo "$r" | status)" "initialize with our own Origin"
assert_eq 2025-03-26 "$(echo "$r" | tail -1 | jq -r .result.protocolVersion)" "2025-03-26 requested: 2025-03-26 answered"
SID=$(echo "$r" | grep -i '^Mcp-Session-Id:' | awk '{print $2}' | tr -d '\r')
check "initialize: a session id" test ${#SID} -eq 32
LIST='{"jsonrpc":"2.0","id":3,"method":"tools/list"}'
assert_eq 200 "$(rpc "$KEY" "$SID" "$LIST" | status)" "the session works with its key"
assert_eq 404 "$(rpc "$KEY_ST" "$SID" "$LIST" | status)" "the session with another key of the tenant: 404"
assert_eq 404 "$(rpc "$KEY_OTHER" "$SID" "$LIST" | status)" "the session with another tenant's key: 404"
assert_eq 400 "$(rpc "$KEY" "" "$LIST" | status)" "no session id: 400"
assert_eq 400 "$(rpc "$KEY" "$SID" "$LIST" -H "MCP-Protocol-Version: 1999-01-01" | status)" "unknown MCP-Protocol-Version: 400"
assert_eq 400 "$(rpc "$KEY" "$SID" "[$LIST]" | status)" "a batch: 400"
assert_eq 202 "$(rpc "$KEY" "$SID" '{"jsonrpc":"2.0","method":"notifications/initialized"}' | status)" "a notification: 202"
r=$(rpc "$KEY" "$SID" '{"jsonrpc":"2.0","id":4,"method":"tools/list","params":{"cursor":"zz"}}')
assert_eq -32602 "$(echo "$r" | tail -1 | jq .error.code)" "a bad cursor: invalid params"
r=$(rpc "$KEY" "$SID" '{"jsonrpc":"2.0","id":5,"method":"resources/list"}')
assert_eq -32601 "$(echo "$r" | tail -1 | jq .error.code)" "a method a tools-only server lacks: method not found"
assert_eq 204 "$(curl -s -i -X DELETE "$U" -H "Authorization: Bearer $KEY" -H "Mcp-Session-Id: $SID" | status)" "DELETE ends the session"
assert_eq 404 "$(rpc "$KEY" "$SID" "$LIST" | status)" "an ended session: 404"

# --- streams of clients that hung up free their connection at once ----------------------
# 36 GET streams (more than the listener's 32 connections) opened at once and
# dropped by their clients after 0.3 s must not keep their slots for the 10 s
# until a keep-alive write would fail: a request 1.5 s later is served.
sids=()
for i in $(seq 1 36); do
  sids+=("$(rpc "$KEY" "" "$INIT" | grep -i '^Mcp-Session-Id:' | awk '{print $2}' | tr -d '\r')")
done
pids=()
for s in "${sids[@]}"; do
  curl -s -m 0.3 -o /dev/null "$U" -H "Authorization: Bearer $KEY" -H "Mcp-Session-Id: $s" \
    -H "Accept: text/event-stream" &
  pids+=($!)
done
wait "${pids[@]}" || true
sleep 1.5
assert_eq 200 "$(rpc "$KEY" "${sids[0]}" "$LIST" -m 3 | status)" "36 abandoned GET streams left connections free"

# --- list_changed ------------------------------------------------------------------------
streams() { grep -c "mcp: a session opened its GET stream" "$TQ_DIR/broker.log" || true; }
n0=$(streams)
exec 6< <(mcp "$KEY" '[["wait_list_changed",8000]]')
exec 8< <(mcp "$KEY_OTHER" '[["wait_list_changed",4000]]')
read -r ready <&6
read -r ready2 <&8
# the SDK opens the GET streams after initialized: wait until the broker has both
both_open() { [ "$(streams)" -ge $((n0 + 2)) ]; }
check "both sessions' GET streams are open" tq_wait_for 10 both_open
sed 's/slowGet/newTool/' "$TQ_DIR/st.yaml" >"$TQ_DIR/new.yaml"
toolq import --tenant acme --name fresh "$TQ_DIR/new.yaml" >/dev/null
read -r changed <&6
read -r changed2 <&8
assert_eq true "$(echo "$changed" | jq .list_changed)" "import for the tenant: notifications/tools/list_changed on the stream"
assert_eq false "$(echo "$changed2" | jq .list_changed)" "another tenant's session hears nothing"
assert_eq true "$(mcp "$KEY" '[["list"]]' | jq '[.tools[].name] | index("newTool") != null')" "the new tool is listed"

echo "done"
