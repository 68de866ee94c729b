#!/usr/bin/env bash
# The official MCP conformance suite (@modelcontextprotocol/conformance,
# pinned in tests/peers/mcp) against toolq's /mcp: the server scenarios that
# apply to a tools-only server whose tools are imported HTTP APIs. The suite
# connects without credentials, so it goes through tests/peers/mcp/keyproxy.mjs,
# which adds an API key and nothing else. The tools the scenarios call by name
# are real toolq tools of the echo server (tests/data/mcp/conformance.yaml).
# Scenarios that need other server features (resources, prompts, completion,
# logging, sampling, elicitation) or a fixed tool result (text, image, audio,
# embedded resource, a JSON Schema 2020-12 document) do not apply: docs/mcp.md.
source "$(dirname "$0")/lib.sh"
PEER="$TOOLQ_SOURCE_DIR/tests/peers/mcp"
[ -d "$PEER/node_modules/@modelcontextprotocol/conformance" ] || { echo "skip: npm ci in $PEER"; exit 77; }
tq_setup mcp_conformance
exec 5< <("$TOOLQ_BIN_DIR/tq-echo-server" --die-with-parent)
read -r PORT <&5
export TOOLQ_SSRF_ALLOW=127.0.0.1/32
HP=$(tq_free_port)
export TOOLQ_HTTP_LISTEN="127.0.0.1:$HP"
tq_start_broker --workers 2
toolq import --tenant conf --name conformance --server-url "http://127.0.0.1:$PORT" \
  "$TOOLQ_SOURCE_DIR/tests/data/mcp/conformance.yaml" >/dev/null
KEY=$(toolq --json apikey create --tenant conf --name suite | jq -r .key)
exec 6< <(node "$PEER/keyproxy.mjs" "http://127.0.0.1:$HP/mcp" "$KEY")
read -r PP <&6
SCENARIOS="server-initialize ping tools-list tools-call-error tools-call-with-progress
  server-sse-multiple-streams server-sse-polling dns-rebinding-protection"
for s in $SCENARIOS; do
  res=$(timeout 120 node "$PEER/node_modules/@modelcontextprotocol/conformance/dist/index.js" server \
    --url "http://localhost:$PP/mcp" --scenario "$s" 2>&1 | sed 's/\x1b\[[0-9;]*m//g' || true)
  line=$(echo "$res" | grep -E '^Passed: ' | tail -1)
  if [ -n "$line" ] && echo "$line" | grep -q ', 0 failed'; then
    ok "conformance $s: $line"
  else
    fail "conformance $s: ${line:-no result}"
    echo "$res" | grep -E 'FAILURE|Error' | head -5
  fi
done
echo "done"
