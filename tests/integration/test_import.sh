#!/usr/bin/env bash
# Import (issue 3 §6/§7): every corpus document imports through `toolq import`
# in one command; provider_exists; --update keeps credentials (masked value =
# keep); masked credentials on read; OpenAI function names; import filters;
# check-app; tenant isolation; no api key in clear in pg_dump; a 40 MiB
# document is refused with document_too_large and nothing goes down.
source "$(dirname "$0")/lib.sh"
: "${TOOLQ_CORPUS_DIR:?run through ctest}"
SPECS=$TOOLQ_CORPUS_DIR/specs
tq_setup import
tq_start_broker --workers 2

# --- the corpus: every document, one command --------------------------------
files=()
for f in "$SPECS"/*; do [ -f "$f" ] && files+=("$f"); done
files+=("$SPECS/multi/oai-v2-petstore-separate/spec/swagger.yaml")
files+=("$SPECS/multi/vonage-application-v2/application.v2.yml")
set +e
toolq --json --timeout 300 import --tenant corpus "${files[@]}" >"$TQ_DIR/corpus.jsonl" 2>"$TQ_DIR/corpus.err"
rc=$?
set -e
ndocs=$(wc -l <"$TQ_DIR/corpus.jsonl")
nok=$(jq -s '[.[] | select(.ok)] | length' "$TQ_DIR/corpus.jsonl")
ntools=$(jq -s '[.[] | select(.ok) | .result.tools] | add' "$TQ_DIR/corpus.jsonl")
echo "corpus: $ndocs documents, $nok imported, $ntools tools"
jq -r 'select(.ok | not) | "  failed: \(.file): \(.error.code): \(.error.message)"' "$TQ_DIR/corpus.jsonl"
assert_eq "${#files[@]}" "$ndocs" "one JSON line per corpus document"
assert_eq "${#files[@]}" "$nok" "every corpus document imports"
assert_eq 0 "$rc" "the corpus import exits 0"
assert_eq "${#files[@]}" "$(toolq --json providers --tenant corpus | jq '.result.providers | length')" \
  "toolq providers lists every corpus provider"
check "no cap on operations: some corpus provider has over 500 tools" \
  test "$(toolq --json providers --tenant corpus | jq '[.result.providers[].tools] | max')" -gt 500
assert_eq 0 "$(jq -s '[.[] | select(.file | endswith("swagger.yaml")) | select(.name=="swagger") | .result.skipped | length] | .[0]' "$TQ_DIR/corpus.jsonl")" \
  "the multi-file petstore resolves its relative refs (nothing skipped)"
assert_eq 0 "$(jq -s '[.[] | select(.name=="oai-webhook-example") | .result.tools] | .[0]' "$TQ_DIR/corpus.jsonl")" \
  "a webhooks-only document imports with zero tools"

# --- operation objects by $ref in other files (issue 9) ---------------------
out=$(toolq --json import --tenant oprefs "$TOOLQ_SOURCE_DIR/tests/data/multifile-oprefs/openapi.yaml")
assert_eq '4 ["GET /broken"] ["GET /degraded"]' "$(echo "$out" | jq -r '"\(.result.tools) \(.result.skipped|tojson) \(.result.degraded|tojson)"')" \
  "operation refs are followed through the CLI's bundle; a missing one is skipped, a missing example degrades"
assert_eq '["limit","tag"]' "$(toolq --json tools --tenant oprefs --provider openapi | jq -c '[.result.providers[0].tools[] | select(.operation_id=="listItems") | .parameters[].name]')" \
  "the referenced operation's parameters reach the tool"

# --- one provider, credentials ---------------------------------------------
PET=$TOOLQ_SOURCE_DIR/tests/data/openapi/petstore-3.0.yaml
KEY=sk-test-$(head -c12 /dev/urandom | od -An -tx1 | tr -d ' \n')
out=$(toolq --json import --tenant acme --name pets --auth api_key_header --api-key-header X-Api-Key \
  --api-key-value "$KEY" --api-key-prefix bearer "$PET")
assert_eq true "$(echo "$out" | jq -r .ok)" "petstore imports with an api key"
set +e
out=$(toolq --json import --tenant acme --name pets "$PET"); rc=$?
set -e
assert_eq provider_exists "$(echo "$out" | jq -r .error.code)" "a duplicate name gives provider_exists"
assert_eq 1 "$rc" "a failed import exits 1"

masked="${KEY:0:2}***${KEY: -2}"
got=$(toolq --json provider --tenant acme pets)
assert_eq "$masked" "$(echo "$got" | jq -r .result.credentials.api_key_value)" "toolq provider shows the key masked"
assert_eq X-Api-Key "$(echo "$got" | jq -r .result.credentials.api_key_header)" "header name shown"
check "the key never appears in toolq provider" bash -c "! grep -q -- '$KEY' <<<'$got'"
check "provider shows tools" test "$(echo "$got" | jq '.result.tools | length')" -gt 0

# --update without credentials keeps them; with the masked value keeps the key
toolq --json import --tenant acme --name pets --update "$PET" >/dev/null
toolq --json import --tenant acme --name pets --update --auth api_key_header --api-key-header X-Other \
  --api-key-value "$masked" --api-key-prefix bearer "$PET" >/dev/null
got=$(toolq --json provider --tenant acme pets)
assert_eq "$masked" "$(echo "$got" | jq -r .result.credentials.api_key_value)" "update with the masked value keeps the key"
assert_eq X-Other "$(echo "$got" | jq -r .result.credentials.api_key_header)" "update changes the header name"
# the sealed plaintext has the length of the original key's JSON (not of the mask)
plain="{\"api_key_header\":\"X-Other\",\"api_key_header_prefix\":\"bearer\",\"api_key_value\":\"$KEY\",\"auth_type\":\"api_key_header\"}"
assert_eq "${#plain}" "$(tq_psql -c "select length(decode(substr(credentials_str, 6), 'base64')) - 33 from tool_api_providers where name='pets'")" \
  "the stored secret is the original key, not the mask"
# the stored secret really is the original: decrypt-free check through a second update that changes it
toolq --json import --tenant acme --name pets --update --auth api_key_query --api-key-query-param k \
  --api-key-value "$masked" "$PET" >/dev/null 2>&1 || true
got=$(toolq --json provider --tenant acme pets)
assert_eq api_key_query "$(echo "$got" | jq -r .result.credentials.auth_type)" "auth type can change"

# --- secrets at rest ---------------------------------------------------------
toolq --json import --tenant acme --name pets2 --auth api_key_header --api-key-value "$KEY" "$PET" >/dev/null
pg_dump "$TOOLQ_DATABASE_URL" >"$TQ_DIR/dump.sql"
check "pg_dump holds tool_api_providers rows" grep -q "pets2" "$TQ_DIR/dump.sql"
check "the api key never appears in clear in pg_dump" bash -c "! grep -q -- '$KEY' '$TQ_DIR/dump.sql'"

# --- OpenAI function-calling form --------------------------------------------
toolq --json import --tenant fn "$TOOLQ_SOURCE_DIR/tests/data/openapi/petstore-3.0.yaml" \
  "$TOOLQ_SOURCE_DIR/tests/data/openapi/petstore-2.0.json" "$SPECS/oai-v2-uber.json" \
  "$SPECS/readme-parameters-style.json" >/dev/null
fns=$(toolq --json tools --tenant fn --format openai)
n=$(echo "$fns" | jq '.result.tools | length')
check "openai form lists functions" test "$n" -gt 0
assert_eq "$n" "$(echo "$fns" | jq '[.result.tools[].function.name | select(test("^[a-zA-Z0-9_-]{1,64}$"))] | length')" \
  "every function name matches ^[a-zA-Z0-9_-]{1,64}$"
assert_eq "$n" "$(echo "$fns" | jq '[.result.tools[].function.name] | unique | length')" \
  "function names are unique across providers"
assert_eq "$n" "$(echo "$fns" | jq '[.result.tools[] | select(.type=="function" and (.function.parameters|type)=="object")] | length')" \
  "each is {type: function, function: {name, description, parameters}}"
k8s=$(toolq --json providers --tenant corpus | jq '.result.providers[] | select(.name=="kubernetes-v1.12-swagger") | .tools')
assert_eq "$k8s" "$(toolq --json tools --tenant corpus --provider kubernetes-v1.12-swagger --format openai | jq '.result.tools | length')" \
  "openai form of kubernetes: one function per tool"

# --- compact schemas and paged listings (issue 9) ----------------------------
k8s_bytes=$(tq_psql -c "select length(tools_str) + length(defs_str) from tool_api_providers p where name = 'kubernetes-v1.12-swagger' and tenant_id = (select tenant_id from tool_api_providers where name = 'kubernetes-v1.12-swagger' limit 1)")
echo "kubernetes stored tools + definitions: $k8s_bytes bytes"
check "the kubernetes provider stores at most 3 MB of tools and definitions" test "$k8s_bytes" -le 3145728
page=$(toolq --json submit tools.list --tenant corpus --payload-json '{"provider": "kubernetes-v1.12-swagger", "limit": 100}')
assert_eq '100 "100"' "$(echo "$page" | jq -c '"\(.result.providers[0].tools | length) \(.result.next_cursor|tojson)"' -r)" \
  "tools.list pages: limit 100 gives 100 tools and a cursor"
page2=$(toolq --json submit tools.list --tenant corpus --payload-json '{"provider": "kubernetes-v1.12-swagger", "limit": 100, "cursor": "100"}')
check "the cursor gives the next page" test "$(echo "$page" | jq -r '.result.providers[0].tools[99].operation_id')" != \
  "$(echo "$page2" | jq -r '.result.providers[0].tools[0].operation_id')"
echo "$page" >"$TQ_DIR/page.json"
assert_eq 0 "$(jq '[.result.providers[0].tools[].input_schema | . as $s | [.. | objects | .["$ref"]? // empty | ltrimstr("#/$defs/") | select($s["$defs"][.] == null)] | length] | add' "$TQ_DIR/page.json")" \
  "every \$ref of a listed tool resolves in its own \$defs"
total=$(toolq --json providers --tenant corpus | jq '[.result.providers[].tools] | add')
export_n=$(toolq --json --timeout 300 tools --tenant corpus --format openai | jq '.result.tools | length')
assert_eq "$total" "$export_n" "the whole-tenant OpenAI export of every corpus provider works (all pages)"
inl=$(toolq --json tools --tenant corpus --provider kubernetes-v1.12-swagger --inline-depth 3 \
  --operation-id createNamespacedPod --operation-id replaceNamespacedDeployment)
assert_eq 2 "$(echo "$inl" | jq '.result.providers[0].tools | length')" "two kubernetes tools inlined"
assert_eq 0 "$(echo "$inl" | jq '[.. | objects | select(has("$ref") or has("$defs"))] | length')" \
  "--inline-depth inlines every definition (cut past the depth and at cycles)"

# invoke validation follows \$ref into \$defs exactly
cat >"$TQ_DIR/defs.yaml" <<'YAML'
openapi: 3.0.3
info: {title: defs, version: "1"}
servers: [{url: "http://127.0.0.1:9"}]
paths:
  /things:
    get:
      operationId: listThings
      parameters:
        - {name: color, in: query, required: true, schema: {$ref: "#/components/schemas/Color"}}
      responses: {"200": {description: ok}}
components:
  schemas:
    Color: {type: string, enum: [red, blue]}
YAML
toolq --json import --tenant acme --name defs "$TQ_DIR/defs.yaml" >/dev/null
assert_eq '{"$ref":"#/$defs/Color"}' "$(toolq --json tools --tenant acme --provider defs | jq -c '.result.providers[0].tools[0].input_schema.properties.color | {"$ref"}')" \
  "a parameter schema given by \$ref refers to a shared definition"
out=$(toolq --json invoke --tenant acme defs listThings color=green || true)
assert_eq invalid_arguments "$(echo "$out" | jq -r .error.code)" "invoke validates through the \$ref (enum enforced)"

# --- filters at import -------------------------------------------------------
cat >"$TQ_DIR/admin.yaml" <<'YAML'
openapi: 3.0.3
info: {title: admin, version: "1"}
servers: [{url: https://api.example.com}]
paths:
  /items:
    get: {operationId: listItems, tags: [items], responses: {"200": {description: ok}}}
  /admin/users:
    get: {operationId: adminListUsers, tags: [admin], responses: {"200": {description: ok}}}
    delete: {operationId: adminDeleteUsers, tags: [admin], responses: {"200": {description: ok}}}
YAML
toolq --json import --tenant acme --name filtered --exclude-path '/admin/*' "$TQ_DIR/admin.yaml" >/dev/null
assert_eq '["listItems"]' "$(toolq --json provider --tenant acme filtered | jq -c '[.result.tools[].operation_id]')" \
  "--exclude-path drops admin endpoints"
toolq --json import --tenant acme --name filtered2 --exclude-tag admin "$TQ_DIR/admin.yaml" >/dev/null
assert_eq '["listItems"]' "$(toolq --json provider --tenant acme filtered2 | jq -c '[.result.tools[].operation_id]')" \
  "--exclude-tag drops admin endpoints"
toolq --json import --tenant acme --name full "$TQ_DIR/admin.yaml" >/dev/null
assert_eq '["listItems"]' "$(toolq --json tools --tenant acme --provider full --exclude-tag admin | jq -c '[.result.providers[0].tools[].operation_id]')" \
  "a listing filter hides admin endpoints"

# --- check-app ---------------------------------------------------------------
full_id=$(toolq --json provider --tenant acme full | jq -r .result.id)
gone_id=$(toolq --json provider --tenant acme filtered2 | jq -r .result.id)
toolq delete-provider --tenant acme filtered2 >/dev/null
upper_braced="{$(echo "$full_id" | tr a-f A-F)}"
cat >"$TQ_DIR/app.json" <<JSON
{"agent_mode": {"enabled": true, "tools": [
  {"provider_type": "api", "provider_id": "$upper_braced", "tool_name": "listItems", "enabled": true},
  {"provider_type": "api", "provider_id": "$gone_id", "tool_name": "listItems", "enabled": true},
  {"provider_type": "api", "provider_id": "$full_id", "tool_name": "removedOperation", "enabled": true},
  {"provider_type": "api", "tool_name": "x", "enabled": true},
  "not an entry",
  {"provider_type": "builtin", "provider_id": "time", "tool_name": "current_time", "enabled": true}
]}}
JSON
ca=$(toolq --json check-app --tenant acme "$TQ_DIR/app.json")
assert_eq '[["listItems","provider_not_found"],["removedOperation","tool_not_found"]]' \
  "$(echo "$ca" | jq -c '[.result.deleted_tools[] | [.tool_name, .reason]]')" \
  "check-app reports a deleted provider and a removed operation (ids compared normalised)"
assert_eq "$gone_id" "$(echo "$ca" | jq -r '.result.deleted_tools[0].provider_id')" "deleted entry keeps the given provider_id"
assert_eq '[3,4]' "$(echo "$ca" | jq -c '[.result.problems[].index]')" "malformed entries are reported, not fatal"
cb=$(toolq --json check-app --tenant other "$TQ_DIR/app.json")
assert_eq 3 "$(echo "$cb" | jq '.result.deleted_tools | length')" "check-app is tenant-scoped"

# --- tenant isolation --------------------------------------------------------
assert_eq provider_not_found "$(toolq --json provider --tenant other pets | jq -r .error.code)" "tenant B cannot get A's provider"
assert_eq provider_not_found "$(toolq --json delete-provider --tenant other pets | jq -r .error.code)" "tenant B cannot delete A's provider"
assert_eq 0 "$(toolq --json providers --tenant other | jq '.result.providers | length')" "tenant B lists nothing"
assert_eq provider_not_found "$(toolq --json tools --tenant other --provider pets | jq -r .error.code)" "tenant B cannot list A's tools"
assert_eq pets "$(toolq --json provider --tenant acme pets | jq -r .result.name)" "A's provider is still there"
assert_eq provider_not_found "$(toolq --json provider --tenant acme filtered2 | jq -r .error.code)" "a deleted provider is gone"

# --- a 40 MiB document -------------------------------------------------------
big=$TQ_DIR/big.json
python3 - "$big" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write('{"openapi":"3.0.3","info":{"title":"big","version":"1"},"paths":{},"x-pad":"')
    f.write("a" * (40 * 1024 * 1024))
    f.write('"}')
PY
set +e
out=$(toolq --json import --tenant acme --name big "$big"); rc=$?
set -e
assert_eq document_too_large "$(echo "$out" | jq -r .error.code)" "toolq import refuses a 40 MiB document (document_too_large)"
assert_eq 1 "$rc" "... and exits 1"
# the same document past the CLI, straight to a worker (broker frames raised for it)
jq -n --rawfile s "$big" '{name: "big", schema: $s}' >"$TQ_DIR/big-payload.json"
tq_stop_broker
printf 'broker:\n  max_frame_bytes: 64M\n' >"$TQ_DIR/big.yaml"
TOOLQ_CONFIG=$TQ_DIR/big.yaml tq_start_broker --workers 2
out=$(TOOLQ_CONFIG=$TQ_DIR/big.yaml toolq --json --timeout 120 submit provider.import --tenant acme \
  --payload-file "$TQ_DIR/big-payload.json" || true)
assert_eq document_too_large "$(echo "$out" | jq -r .error.code)" "a worker refuses a 40 MiB document (document_too_large)"
check "the broker and workers stay up" toolq ping
assert_eq 2 "$(tq_worker_pids | wc -l)" "both workers are alive"
assert_eq pets "$(toolq --json provider --tenant acme pets | jq -r .result.name)" "providers survive"
