#!/usr/bin/env bash
# The op catalogue through the broker: `ops.list` returns every op of
# common/ops.def (test ops only with worker.test_ops) with its role, read-only
# flag and payload schema; and every job's payload is checked against its
# op's schema before the handler runs: a wrong payload fails at once with
# invalid_payload naming every problem, is not retried, and leaves nothing
# behind (no provider, no credential row).
source "$(dirname "$0")/lib.sh"
tq_setup ops
tq_start_broker --workers 1
def="$TOOLQ_SOURCE_DIR/common/ops.def"

out=$(toolq --json submit ops.list --tenant acme)
assert_eq succeeded "$(echo "$out" | jq -r .state)" "ops.list succeeds for a tenant"
want=$(grep -c '^TQ_OP(' "$def")
tests=$(grep '^TQ_OP(' "$def" | grep -c TQ_OPF_TEST)
assert_eq $((want - tests)) "$(echo "$out" | jq '.result.ops | length')" "every op but the test ops is listed"
assert_eq "$(grep '^TQ_OP(' "$def" | grep -v TQ_OPF_TEST | sed -E 's/^TQ_OP\("([^"]+)".*/\1/' | sort | tr '\n' ' ')" \
  "$(echo "$out" | jq -r '.result.ops[].name' | sort | tr '\n' ' ')" "the listed names are the catalogue's"
assert_eq 'tenant true object' "$(echo "$out" | jq -r '.result.ops[] | select(.name=="ops.list") | "\(.role) \(.read_only) \(.payload.type)"')" \
  "ops.list describes itself: tenant, read-only"
assert_eq 'operator false' "$(echo "$out" | jq -r '.result.ops[] | select(.name=="admin.rotate_master") | "\(.role) \(.read_only)"')" \
  "a system op is listed as operator"
assert_eq '["name","schema"]' "$(echo "$out" | jq -c '.result.ops[] | select(.name=="provider.import") | .payload.required')" \
  "the payload schema comes along (provider.import requires name and schema)"

# central payload check
err=$(toolq --json submit provider.get --tenant acme --payload-json '{"name":5,"include_tools":"yes"}' || true)
assert_eq invalid_payload "$(echo "$err" | jq -r .error.code)" "a wrong payload -> invalid_payload"
msg=$(echo "$err" | jq -r .error.message)
check "the message names every problem ($msg)" grep -q '2 problems with the payload: .*name: expected string.*include_tools: expected boolean' <<<"$msg"
assert_eq 1 "$(echo "$err" | jq -r .attempts)" "a wrong payload is not retried"
err=$(toolq --json submit credential.create --tenant acme --payload-json '{"type":"bearer","fields":{"token":7},"origins":"https://a.example"}' || true)
assert_eq invalid_payload "$(echo "$err" | jq -r .error.code)" "credential.create with a wrong payload -> invalid_payload"
msg=$(echo "$err" | jq -r .error.message)
check "... naming the missing name, fields.token and origins ($msg)" \
  grep -q '3 problems with the payload: .*fields.token: expected string.*origins: expected array.*name: missing required' <<<"$msg"
check "... and the token value is not echoed" bash -c '! grep -q "7" <<<"$1"' _ "$(echo "$msg" | sed 's/[0-9] problems//')"
assert_eq 0 "$(tq_psql -c "select count(*) from tq_credentials")" "a refused credential leaves no row"
long=$(printf 'n%.0s' $(seq 256))
err=$(toolq --json submit credential.create --tenant acme --payload-json "{\"name\":\"$long\",\"type\":\"bearer\",\"fields\":{\"token\":\"t\"},\"origins\":[\"https://a.example\"]}" || true)
assert_eq 'invalid_payload 1 problem with the payload: name: must be at most 255 characters' \
  "$(echo "$err" | jq -r '"\(.error.code) \(.error.message)"')" "a bound of the spec (maxLength) is checked centrally"
assert_eq 0 "$(tq_psql -c "select count(*) from tq_credentials")" "... leaving no row"
err=$(toolq --json submit sleep --tenant acme --payload-json '{"ms":-1}' || true)
assert_eq 'invalid_payload 1 problem with the payload: ms: must be at least 0' \
  "$(echo "$err" | jq -r '"\(.error.code) \(.error.message)"')" "and a minimum"
err=$(toolq --json submit provider.import --tenant acme --payload-json '{"name":"p","schema":{"openapi":"3.0.0"}}' || true)
assert_eq invalid_payload "$(echo "$err" | jq -r .error.code)" "provider.import with a schema object -> invalid_payload"
assert_eq 0 "$(tq_psql -c "select count(*) from tool_api_providers")" "a refused import leaves no provider"
out=$(toolq --json submit provider.list --tenant acme --payload-json '{"unknown":1}')
assert_eq succeeded "$(echo "$out" | jq -r .state)" "fields a schema does not name are ignored, as before"

# the CLI's --help lists the ops from the same catalogue
help=$(toolq --help)
for op in $(grep '^TQ_OP(' "$def" | grep -v TQ_OPF_TEST | sed -E 's/^TQ_OP\("([^"]+)".*/\1/'); do
  grep -qE "^  $op +(tenant|operator) " <<<"$help" || fail "toolq --help does not list $op"
done
check "toolq --help lists every catalogue op ($((want - tests)))" \
  test "$(sed -n '/^ops /,/^$/p' <<<"$help" | grep -cE '^  [a-z_.]+ +(tenant|operator) ')" = $((want - tests))
