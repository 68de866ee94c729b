#!/usr/bin/env bash
# Import of the external corpus (issue 3 §6/§7; skipped when it is absent, see
# tests/CMakeLists.txt): every corpus document imports through `toolq import`
# in one command, the multi-file ones from their entry file; a provider has
# over 500 tools; the webhooks-only document gives zero tools; OpenAI
# function names stay valid and unique over real documents.
source "$(dirname "$0")/lib.sh"
tq_need_corpus
SPECS=$TQ_CORPUS/specs
tq_setup import_corpus
# A wide heartbeat window (30 missed beats): a worker parsing a large document
# under ASan on a busy machine can miss 3 beats and be declared dead, which is
# not what this test checks.
tq_start_broker --workers 2 --set broker.heartbeat_liveness=30

# --- the corpus: every document, one command --------------------------------
files=()
for f in "$SPECS"/*; do [ -f "$f" ] && files+=("$f"); done
files+=("$SPECS/multi/oai-v2-petstore-separate/spec/swagger.yaml")
files+=("$SPECS/multi/vonage-application-v2/application.v2.yml")
set +e
# its spec/swagger.yaml refers to ../common/: $refs leave the entry's folder only when allowed
toolq --json --timeout 300 import --tenant corpus --allow-outside "$SPECS/multi/oai-v2-petstore-separate" \
  "${files[@]}" >"$TQ_DIR/corpus.jsonl" 2>"$TQ_DIR/corpus.err"
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

# --- OpenAI function-calling form over real documents ---------------------------------
toolq --json import --tenant fn "$SPECS/oai-v2-uber.json" "$SPECS/readme-parameters-style.json" \
  "$SPECS/oai-v2-petstore.json" >/dev/null
fns=$(toolq --json tools --tenant fn --format openai)
tq_check_function_names "$fns"
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
