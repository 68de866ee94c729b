#!/usr/bin/env bash
# Remote documents at import: refused by default; with import.allow_remote_refs
# a remote $ref and an OpenAI plugin manifest's api.url are fetched through the
# SSRF guard (a local static server, allowlisted), and a $ref to a private
# address is still blocked and costs only its operation.
source "$(dirname "$0")/lib.sh"
tq_setup remote
WEB=$TQ_DIR/web
mkdir -p "$WEB"
cat >"$WEB/common.yaml" <<'YAML'
components:
  schemas:
    Pet:
      type: object
      required: [name]
      properties:
        name: {type: string}
        age: {type: integer}
YAML
exec 7< <(node -e '
const http = require("http"), fs = require("fs"), path = require("path");
const root = process.argv[1];
const s = http.createServer((q, r) => {
  if (q.url.startsWith("/moved/")) { r.writeHead(302, {Location: q.url.slice(6)}); return r.end(); }
  fs.readFile(path.join(root, path.normalize(q.url.split("?")[0])), (e, d) => {
    if (e) { r.writeHead(404); return r.end("no"); }
    r.writeHead(200, {"Content-Type": "text/plain"}); r.end(d);
  });
});
s.listen(0, "127.0.0.1", () => console.log(s.address().port));
process.on("SIGTERM", () => process.exit(0));
setInterval(() => { if (process.ppid === 1) process.exit(0); }, 500);
' "$WEB")
read -r PORT <&7
WEBPID=$!
BASE="http://127.0.0.1:$PORT"
cat >"$WEB/spec.yaml" <<YAML
openapi: 3.0.3
info: {title: remote, version: "1"}
servers: [{url: "$BASE"}]
paths:
  /pets:
    post:
      operationId: addPet
      requestBody:
        content:
          application/json:
            schema: {\$ref: "$BASE/moved/common.yaml#/components/schemas/Pet"}
      responses: {"200": {description: ok}}
  /meta:
    get:
      operationId: getMeta
      parameters:
        - {\$ref: "http://169.254.169.254/latest/params.yaml#/p"}
      responses: {"200": {description: ok}}
YAML
cp "$WEB/spec.yaml" "$WEB/plugin-api.yaml"
cat >"$WEB/manifest.json" <<JSON
{"schema_version": "v1", "name_for_model": "remote", "name_for_human": "Remote",
 "description_for_model": "d", "description_for_human": "d",
 "auth": {"type": "none"}, "api": {"type": "openapi", "url": "$BASE/plugin-api.yaml"}}
JSON

# 1. off by default: the remote $ref is refused, only its operation is lost
tq_start_broker --workers 1
r=$(toolq --json import --tenant t --name off "$WEB/spec.yaml")
check "remote refs are refused by default" bash -c "echo '$r' | grep -q remote_ref_refused"
tq_stop_broker

# 2. allowed: fetched through the guard (redirect followed and re-checked)
export TOOLQ_SSRF_ALLOW=127.0.0.1/32
tq_start_broker --workers 1 --set import.allow_remote_refs=true
r=$(toolq --json import --tenant t --name on "$WEB/spec.yaml")
check "the import succeeds" test "$(echo "$r" | jq -r '.result.tools // .tools // empty')" != ""
s=$(toolq --json tools --tenant t --provider on)
assert_eq '["name"]' "$(echo "$s" | jq -c '[.. | objects | select(.operation_id? == "addPet")][0].input_schema.required')" \
  "the remote schema's required list reached the tool"
check "a \$ref to the metadata address is blocked by the SSRF guard" \
  bash -c "echo '$r' | grep -q ssrf_blocked"
check "and costs only its operation" \
  test "$(echo "$s" | jq '[.. | objects | select(.operation_id? == "getMeta")] | length')" -eq 0

# 3. an OpenAI plugin manifest: api.url fetched
r=$(toolq --json import --tenant t --name plugin "$WEB/manifest.json")
p=$(toolq --json provider --tenant t plugin)
assert_eq openai_plugin "$(echo "$p" | jq -r '.. | objects | .schema_type? // empty' | head -1)" \
  "a plugin manifest imports as openai_plugin from its api.url"
tq_stop_broker

# 4. fetch failures, each costing only its operation (the fetch goes through
# worker/http/httpc_get.c; the importer names the failure in its own codes)
head -c 1200000 /dev/zero | tr '\0' '#' >"$WEB/big.yaml"
cat >"$WEB/failing.yaml" <<YAML
openapi: 3.0.3
info: {title: failing, version: "1"}
servers: [{url: "$BASE"}]
paths:
  /missing:
    get:
      operationId: missing
      parameters: [{name: q, in: query, schema: {\$ref: "$BASE/nothing-here.yaml#/Q"}}]
      responses: {"200": {description: ok}}
  /refused:
    get:
      operationId: refused
      parameters: [{name: q, in: query, schema: {\$ref: "http://127.0.0.1:9/q.yaml#/Q"}}]
      responses: {"200": {description: ok}}
  /big:
    get:
      operationId: big
      parameters: [{name: q, in: query, schema: {\$ref: "$BASE/big.yaml#/Q"}}]
      responses: {"200": {description: ok}}
  /fine:
    get:
      operationId: fine
      responses: {"200": {description: ok}}
YAML
tq_start_broker --workers 1 --set import.allow_remote_refs=true --set import.max_document_bytes=1048576
r=$(toolq --json import --tenant t --name failing "$WEB/failing.yaml")
echo "$r" | jq -r '.. | objects | select(.code? and .message?) | "\(.code) \(.message)"' >"$TQ_DIR/warnings.txt"
check "an HTTP 404 is remote_ref_failed, naming the status" \
  grep -q "^remote_ref_failed GET $BASE/nothing-here.yaml: HTTP 404" "$TQ_DIR/warnings.txt"
check "a refused connection is remote_ref_failed, naming the URL and the reason" \
  grep -q "^remote_ref_failed GET http://127.0.0.1:9/q.yaml: ." "$TQ_DIR/warnings.txt"
check "a remote document over import.max_document_bytes is document_too_large" \
  grep -q "^document_too_large $BASE/big.yaml is larger than 1048576 bytes (import.max_document_bytes)" \
  "$TQ_DIR/warnings.txt"
assert_eq '["fine"]' "$(toolq --json tools --tenant t --provider failing | jq -c '[.. | objects | .operation_id? // empty]')" \
  "only the operation without a failing \$ref is a tool"
kill "$WEBPID" 2>/dev/null || true
