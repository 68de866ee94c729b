#!/usr/bin/env bash
# MCP over stdio: the official TypeScript SDK client (tests/peers/mcp, pinned)
# starts `toolq mcp --tenant acme`, lists the tenant's tools (names, titles,
# schemas, annotations, paging) and calls them against the echo server
# (tests/tools/tq_echo_server.c): a 200 as structuredContent, a 404 as an
# isError result with http_error, an unknown tool as a JSON-RPC error,
# progress notifications for a slow call, cancellation (the job ends
# cancelled) and a --tools limit.
source "$(dirname "$0")/lib.sh"
PEER="$TOOLQ_SOURCE_DIR/tests/peers/mcp"
[ -d "$PEER/node_modules/@modelcontextprotocol/sdk" ] || { echo "skip: npm ci in $PEER"; exit 77; }
tq_setup mcp_stdio
SPEC="$TOOLQ_SOURCE_DIR/tests/data/invoke/echo.yaml"
exec 5< <("$TOOLQ_BIN_DIR/tq-echo-server" --die-with-parent)
read -r PORT <&5
BASE="http://127.0.0.1:$PORT"
export TOOLQ_SSRF_ALLOW=127.0.0.1/32
tq_start_broker --workers 2
toolq import --tenant acme --name echo --server-url "$BASE" "$SPEC" >/dev/null
toolq import --tenant other --name secret --server-url "$BASE" "$SPEC" >/dev/null
mcp() { # mcp 'toolq mcp args' 'actions JSON'
  node "$PEER/client.mjs" --stdio "$TOOLQ_BIN_DIR/toolq $1" --do "$2"
}

out=$(mcp "mcp --tenant acme" '[["info"],["list"],["call","getItem",{"id":"a/b","limit":5}],
  ["call","getItem",{"id":"x","mode":"bogus"}],["call","nope",{}],["ping"]]')
info=$(echo "$out" | sed -n 1p)
assert_eq true "$(echo "$info" | jq ".capabilities.tools != null")" "initialize: tools capability"
assert_eq toolq "$(echo "$info" | jq -r .serverInfo.name)" "initialize: serverInfo"
list=$(echo "$out" | sed -n 2p)
n=$(toolq --json tools --tenant acme | jq '[.result.providers[].tools[]] | length')
assert_eq "$n" "$(echo "$list" | jq '.tools | length')" "tools/list: every tool of the tenant"
assert_eq 0 "$(echo "$list" | jq '[.tools[].name | select(test("^[a-zA-Z0-9_-]{1,64}$") | not)] | length')" \
  "tool names match ^[a-zA-Z0-9_-]{1,64}$"
assert_eq "$(echo "$list" | jq '.tools | length')" "$(echo "$list" | jq '[.tools[].name] | unique | length')" \
  "tool names unique"
get=$(echo "$list" | jq -c '.tools[] | select(.name == "getItem")')
assert_eq "true object string" "$(echo "$get" | jq -r '[.annotations.readOnlyHint, .inputSchema.type, .inputSchema.properties.id.type] | join(" ")')" \
  "getItem: readOnlyHint, inputSchema from the bundle"
assert_eq '["id"]' "$(echo "$get" | jq -c .inputSchema.required)" "getItem: required arguments"
post=$(echo "$list" | jq -c '.tools[] | select(.name == "createPet") | .annotations')
assert_eq "false false" "$(echo "$post" | jq -r '[.readOnlyHint, .destructiveHint] | join(" ")')" \
  "createPet (POST): neither read-only nor destructive"
call=$(echo "$out" | sed -n 3p)
assert_eq "false 200 /items/a%2Fb?limit=5" \
  "$(echo "$call" | jq -r '[.isError, .structuredContent.status, .structuredContent.body.path] | join(" ")')" \
  "tools/call: the HTTP answer as structuredContent"
assert_eq 200 "$(echo "$call" | jq -r '.content[0].text | fromjson | .status')" "tools/call: text block holds the same JSON"
bad=$(echo "$out" | sed -n 4p)
assert_eq true "$(echo "$bad" | jq .isError)" "bad argument: isError result"
check "bad argument: the toolq code in the text" grep -q invalid_argument <<<"$(echo "$bad" | jq -r '.content[0].text')"
unk=$(echo "$out" | sed -n 5p)
assert_eq -32602 "$(echo "$unk" | jq .error.code)" "unknown tool: JSON-RPC invalid params"
assert_eq true "$(echo "$out" | sed -n 6p | jq .pong)" "ping"

# an HTTP error status is a tool error with the code (echo answers /status/N)
cat >"$TQ_DIR/status.yaml" <<EOF
openapi: 3.0.3
info: {title: status, version: "1"}
servers: [{url: "$BASE"}]
paths:
  /status/{code}:
    delete:
      operationId: removeThing
      summary: Remove a thing
      parameters: [{name: code, in: path, required: true, schema: {type: integer}}]
      responses: {"204": {description: gone}}
  /slow/{ms}:
    put:
      operationId: slowPut
      parameters: [{name: ms, in: path, required: true, schema: {type: integer}}]
      responses: {"200": {description: ok}}
EOF
toolq import --tenant acme --name st "$TQ_DIR/status.yaml" >/dev/null
out=$(mcp "mcp --tenant acme" '[["list"],["call","removeThing",{"code":404}],
  ["progress","slowPut",{"ms":2600}],["cancel","slowPut",{"ms":20000},1500]]')
rm_tool=$(echo "$out" | sed -n 1p | jq -c '.tools[] | select(.name == "removeThing")')
assert_eq "Remove a thing true true" "$(echo "$rm_tool" | jq -r '[.title, .annotations.destructiveHint, (.annotations.readOnlyHint|not)] | join(" ")')" \
  "DELETE: title from the summary, destructiveHint"
assert_eq true "$(echo "$out" | sed -n 1p | jq '.tools[] | select(.name == "slowPut") | .annotations.idempotentHint')" \
  "PUT: idempotentHint"
r=$(echo "$out" | sed -n 2p)
assert_eq "true 404" "$(echo "$r" | jq -r '[.isError, .structuredContent.status] | join(" ")')" "HTTP 404: isError with the status"
check "HTTP 404: http_error code in the first text block" grep -q '^http_error' <<<"$(echo "$r" | jq -r '.content[0].text')"
p=$(echo "$out" | sed -n 3p)
check "progress notifications for a call longer than 1 s" test "$(echo "$p" | jq '.progress | length')" -ge 2
assert_eq "false 200" "$(echo "$p" | jq -r '[.result.isError, .result.structuredContent.status] | join(" ")')" \
  "slow call still answers"
c=$(echo "$out" | sed -n 4p)
assert_eq true "$(echo "$c" | jq .cancelled)" "client aborted the call"
sleep 0.5
assert_eq cancelled "$(tq_psql -c "SELECT state FROM tq_jobs WHERE op = 'invoke' ORDER BY created_at DESC LIMIT 1")" \
  "notifications/cancelled cancelled the invoke job"

# --tools limit; another tenant's tools are not reachable
out=$(mcp "mcp --tenant acme --tools st/*" '[["list"],["call","getItem",{"id":"1"}]]')
assert_eq '["removeThing","slowPut"]' "$(echo "$out" | sed -n 1p | jq -c '[.tools[].name] | sort')" "--tools st/*: only that provider"
assert_eq -32602 "$(echo "$out" | sed -n 2p | jq .error.code)" "--tools: a tool outside the limit is unknown"

echo "done"
