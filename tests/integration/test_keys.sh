#!/usr/bin/env bash
# test_keys.sh — journal day keys and key rotation (review F15): job payloads
# and results are sealed with a key of the day derived from the system key;
# `toolq admin rotate-tenant-key` and `toolq admin rotate-master` are
# operator-only; everything written before a rotation still opens after it
# (the master rotation followed by the restart it asks for).
source "$(dirname "$0")/lib.sh"
tq_setup keys

code() { jq -r '.error.code // empty'; }
as() { local uid=$1; shift; setpriv --reuid="$uid" --regid=65534 --clear-groups -- "$TOOLQ_BIN_DIR/toolq" "$@"; }
extra=()
[ "$(id -u)" = 0 ] && extra=(--set frontend.group=nogroup --set frontend.integrators=daemon)

tq_start_broker --workers 2 --set worker.concurrency=1 --set jobs.journal_reads=true "${extra[@]}"
j1=$(toolq --json submit ping --tenant acme --payload-json '{"before":"rotation"}' | jq -r .id)
out=$(toolq --json submit credential.create --tenant acme --payload-json \
  '{"name":"gh","type":"bearer","origins":["https://api.github.com"],"fields":{"token":"TOKEN-BEFORE-ROTATION-1234"}}')
assert_eq succeeded "$(echo "$out" | jq -r .state)" "a credential is stored"

# the day the row was written (not the clock now: a run may cross midnight UTC)
day=$(tq_psql -c "select (extract(epoch from created_at)::bigint / 86400) from tq_jobs where id='$j1'")
v=$(tq_psql -c "select (get_byte(payload,1)<<24) + (get_byte(payload,2)<<16) + (get_byte(payload,3)<<8) + get_byte(payload,4) from tq_jobs where id='$j1'")
check "the payload is sealed with the key of the day (version $v, day $day)" \
  test "$v" -eq $(( day * 1000 + 1 ))
v=$(tq_psql -c "select (get_byte(result,1)<<24) + (get_byte(result,2)<<16) + (get_byte(result,3)<<8) + get_byte(result,4) from tq_jobs where id='$j1'")
check "so is the result" test "$v" -eq $(( day * 1000 + 1 ))

if [ "$(id -u)" = 0 ]; then
  n=$(tq_job_rows)
  set +e; as 1 admin rotate-master >/dev/null 2>&1; rc=$?; set -e
  assert_eq 1 "$rc" "rotate-master by a non-operator exits 1"
  err=$(as 1 --json admin rotate-tenant-key --tenant acme || true)
  assert_eq forbidden "$(echo "$err" | code)" "rotate-tenant-key by an integrator is forbidden"
  check "... naming the operator role" sh -c "echo '$err' | grep -q 'operator role'"
  assert_eq "$n" "$(tq_job_rows)" "the refusals left no row"
else
  echo "skip: non-operator refusal needs root (setpriv)"
fi

# creates credentials NAME1 and NAME2 of acme on the two workers, one each:
# with one job per worker, a create submitted while a sleep holds one worker
# runs on the other, and the next sleep then holds that one.
create_on_both() {
  local s1 s2 c1 c2 i
  body() { echo "{\"name\":\"$1\",\"type\":\"bearer\",\"origins\":[\"https://api.github.com\"],\"fields\":{\"token\":\"T-$1-0123456789\"}}"; }
  s1=$(toolq submit sleep --tenant acme --no-wait --payload-json '{"ms":1500}')
  c1=$(toolq submit credential.create --tenant acme --no-wait --payload-json "$(body "${1}1")")
  toolq wait "$c1" --tenant acme >/dev/null
  s2=$(toolq submit sleep --tenant acme --no-wait --payload-json '{"ms":1500}')
  c2=$(toolq submit credential.create --tenant acme --no-wait --payload-json "$(body "${1}2")")
  for i in "$c2" "$s1" "$s2"; do toolq wait "$i" --tenant acme >/dev/null; done
}
# the tenant key version of the credentials whose name starts with $1
key_versions() {
  tq_psql -c "select string_agg(distinct ((get_byte(b,1)<<24) + (get_byte(b,2)<<16) + (get_byte(b,3)<<8) + get_byte(b,4))::text, ',')
    from (select decode(substr(encrypted_data, 6), 'base64') b from tq_credentials where name like '$1%') s"
}
create_on_both warm # both workers hold acme's key version 1 now
assert_eq 1 "$(key_versions warm)" "before the rotation credentials are sealed with key version 1"
out=$(toolq --json admin rotate-tenant-key --tenant acme)
assert_eq 2 "$(echo "$out" | jq -r .result.version)" "rotate-tenant-key adds version 2"
create_on_both after
assert_eq 2 "$(tq_psql -c "select count(*) from tq_credentials where name like 'after%'")" \
  "a credential stored by each worker after the rotation"
assert_eq 2 "$(key_versions after)" \
  "every worker seals with version 2 after the rotation (the other worker reloaded the tenant's keys)"
out=$(toolq --json submit credential.get --tenant acme --payload-json '{"name":"gh"}')
assert_eq succeeded "$(echo "$out" | jq -r .state)" "a credential sealed before the tenant rotation still opens"
out=$(toolq --json submit credential.create --tenant acme --payload-json \
  '{"name":"gh2","type":"bearer","origins":["https://api.github.com"],"fields":{"token":"TOKEN-AFTER-ROTATION-5678"}}')
assert_eq succeeded "$(echo "$out" | jq -r .state)" "a credential is stored after it"

cp "$TOOLQ_MASTER_KEY_FILE" "$TQ_DIR/old.key"
out=$(toolq --json admin rotate-master)
assert_eq succeeded "$(echo "$out" | jq -r .state)" "rotate-master succeeds"
check "it re-wrapped the tenant keys ($(echo "$out" | jq -c .result))" \
  test "$(echo "$out" | jq -r .result.rewrapped)" -ge 3
assert_eq true "$(echo "$out" | jq -r .result.restart_required)" "and asks for a restart"
check "the key file now holds a new key" sh -c "! cmp -s '$TOOLQ_MASTER_KEY_FILE' '$TQ_DIR/old.key'"
check "no .new key file is left" test ! -e "$TOOLQ_MASTER_KEY_FILE.new"
check "the new key file is 0600" test "$(stat -c %a "$TOOLQ_MASTER_KEY_FILE")" = 600
tq_stop_broker

tq_start_broker --workers 1 --set jobs.journal_reads=true
out=$(toolq --json job "$j1")
assert_eq '{"before":"rotation"}' "$(echo "$out" | jq -c .result)" "a job written before both rotations opens after them"
for c in gh gh2; do
  out=$(toolq --json submit credential.get --tenant acme --payload-json "{\"name\":\"$c\"}")
  assert_eq succeeded "$(echo "$out" | jq -r .state)" "credential $c opens under the new master key"
done
tq_stop_broker

set +e
TOOLQ_MASTER_KEY_FILE="$TQ_DIR/old.key" "$TOOLQ_BIN_DIR/toolq-broker" --set http.listen= \
  >"$TQ_DIR/old.log" 2>&1; rc=$?
set -e
assert_eq 1 "$rc" "the old master key no longer starts the broker"
check "... master_key_mismatch" grep -q master_key_mismatch "$TQ_DIR/old.log"
