#!/usr/bin/env bash
# Foundation: ping round trip, 1,000 jobs, batched messages, failures, idempotency, cancel,
# stats, CLI exit codes, encryption at rest, migrations idempotent, clean
# shutdown with exit 0.
source "$(dirname "$0")/lib.sh"
tq_setup jobs
tq_start_broker --workers 2 --set jobs.journal_reads=true # ping and sleep rows are checked

check "ping round trip" toolq ping
out=$(toolq --json submit ping --tenant acme --payload-json '{"hello":"world"}')
assert_eq '{"hello":"world"}' "$(echo "$out" | jq -c .result)" "ping echoes its payload"
assert_eq succeeded "$(echo "$out" | jq -r .state)" "ping job succeeded"

r=$(tq_load -n 1000 -c 32 --op ping --tenant load --payload '{"n":1}')
assert_eq 1000 "$(echo "$r" | jq .ok)" "1,000 jobs all succeed"
assert_eq 1000 "$(tq_psql -c "select count(*) from tq_jobs where tenant_id='load' and state='succeeded' and attempts=1 and finished_at is not null and started_at is not null")" \
  "the journal holds all 1,000 as succeeded"

# batches (schemas/wire-protocol.md "Batches"): 50 SUBMITs in one ZeroMQ
# message are 50 requests, and their replies come batched (several per message)
r=$("$TOOLQ_BIN_DIR/tq-batch" "ipc://$TQ_DIR/broker.sock" batch 50)
assert_eq 50 "$(echo "$r" | jq .results)" "50 SUBMITs sent as one multi-frame message all succeed"
check "the replies come in batches (most frames in one message: $(echo "$r" | jq .largest))" \
  test "$(echo "$r" | jq .largest)" -gt 1
# past broker.max_batch_frames (256) the frames are dropped, and the client told once
r=$("$TOOLQ_BIN_DIR/tq-batch" "ipc://$TQ_DIR/broker.sock" batch 300 2000)
assert_eq "256 1" "$(echo "$r" | jq -r '"\(.results) \(.rejected)"')" \
  "a 300-frame message: 256 requests run, one batch_too_large for the 44 past broker.max_batch_frames"

# payload and result encrypted at rest
assert_eq 0 "$(tq_psql -c "select count(*) from tq_jobs where position(convert_to('hello','UTF8') in payload) > 0 or position(convert_to('hello','UTF8') in coalesce(result,'')) > 0")" \
  "payload and result are not stored in clear"
assert_eq 1 "$(tq_psql -c "select count(*) from tq_jobs where payload is not null and result is not null and tenant_id='acme' and op='ping'")" \
  "the ping job has a stored payload and result"

# bad input
set +e
toolq submit ping --tenant acme --payload-json '[1,2]' >/dev/null 2>&1; rc=$?
set -e
assert_eq 1 "$rc" "a non-object payload is refused (exit 1)"
err=$(toolq --json submit ping --tenant acme --payload-json '{' || true)
assert_eq invalid_payload "$(echo "$err" | jq -r .error.code)" "invalid JSON payload -> invalid_payload"
before=$(tq_job_rows)
err=$(toolq --json submit nosuch.op --tenant acme || true)
assert_eq unknown_op "$(echo "$err" | jq -r .error.code)" "unknown op is refused with unknown_op"
assert_eq "$before" "$(tq_job_rows)" "an unknown op leaves no journal row"
err=$(toolq --json submit sleep --tenant acme --payload-json '{"ms":"x"}' || true)
assert_eq invalid_payload "$(echo "$err" | jq -r .error.code)" "a job's own error fails it"
assert_eq 1 "$(echo "$err" | jq -r .attempts)" "a job's own error is not retried"
set +e
toolq submit >/dev/null 2>&1; rc=$?
set -e
assert_eq 2 "$rc" "usage error exits 2"
set +e
TOOLQ_BROKER=ipc:///nonexistent/sock toolq ping >/dev/null 2>&1; rc=$?
set -e
assert_eq 3 "$rc" "unreachable broker exits 3"

# idempotency: same key -> same job, result delivered to both
a=$(toolq --json submit sleep --tenant acme --payload-json '{"ms":50}' --idempotency-key k1)
b=$(toolq --json submit sleep --tenant acme --payload-json '{"ms":50}' --idempotency-key k1)
assert_eq "$(echo "$a" | jq -r .id)" "$(echo "$b" | jq -r .id)" "same idempotency key returns the first job"
assert_eq succeeded "$(echo "$b" | jq -r .state)" "the duplicate gets the first job's result"
c=$(toolq --json submit sleep --tenant other --payload-json '{"ms":1}' --idempotency-key k1)
check "idempotency keys are per tenant" test "$(echo "$a" | jq -r .id)" != "$(echo "$c" | jq -r .id)"
assert_eq 1 "$(tq_psql -c "select count(*) from tq_jobs where idempotency_key='k1' and tenant_id='acme'")" "one journal row per key"

# ten concurrent submits with one key: one job
pids=""
for i in $(seq 1 10); do
  toolq --json submit sleep --tenant acme --payload-json '{"ms":100}' --idempotency-key race >"$TQ_DIR/race.$i" &
  pids="$pids $!"
done
wait $pids   # not a bare `wait`: the broker runs in the background too
assert_eq 1 "$(cat "$TQ_DIR"/race.* | jq -r .id | sort -u | wc -l | tr -d ' ')" "concurrent submits with one key share one job"
assert_eq 1 "$(tq_psql -c "select count(*) from tq_jobs where idempotency_key='race'")" "and one journal row"

# --no-wait prints the id alone; job shows it; cancel a long one
id=$(toolq submit sleep --tenant acme --payload-json '{"ms":60000}' --no-wait)
check "--no-wait prints a uuid" bash -c "[[ '$id' =~ ^[0-9a-f-]{36}$ ]]"
state_of() { toolq --json job "$id" | jq -r .state; }
is_running() { [ "$(state_of)" = running ]; }
tq_wait_for 10 is_running || true # dispatch takes a moment
assert_eq running "$(state_of)" "a long job shows running"
set +e
cj=$(toolq --json cancel "$id"); rc=$?
set -e
assert_eq cancelled "$(echo "$cj" | jq -r .state)" "cancel ends a running job"
assert_eq cancelled "$(tq_psql -c "select state from tq_jobs where id='$id'")" "cancel is journaled"
ida=$(echo "$a" | jq -r .id)
assert_eq succeeded "$(toolq --json job --tenant acme "$ida" | jq -r .state)" "a tenant-scoped status of its own job"
assert_eq not_found "$(toolq --json job --tenant other "$ida" | jq -r .error.code)" "another tenant's job is not_found"
assert_eq not_found "$(toolq --json cancel --tenant other "$id" | jq -r .error.code)" "and cannot be cancelled by another tenant"
nf=$(toolq --json job 00000000-0000-4000-8000-000000000000 || true)
assert_eq not_found "$(echo "$nf" | jq -r .error.code)" "unknown job id -> not_found"

st=$(toolq --json stats)
assert_eq 2 "$(echo "$st" | jq .workers_alive)" "stats shows 2 workers"
check "stats counts succeeded jobs" test "$(echo "$st" | jq .jobs_by_state.succeeded)" -ge 1000

# with broker.takeover_ms=0 (no standby) a second broker on the same database is refused
set +e
timeout 20 "$TOOLQ_BIN_DIR/toolq-broker" --set http.listen= --broker "ipc://$TQ_DIR/b2.sock" \
  --set broker.backend="ipc://$TQ_DIR/b2back.sock" --set broker.takeover_ms=0 >"$TQ_DIR/second.log" 2>&1; rc=$?
set -e
assert_eq 1 "$rc" "a second broker on the same database refuses to start"
check "it says why" grep -q broker_running "$TQ_DIR/second.log"

# a restart applies no migration again
tq_stop_broker
assert_eq 0 "$TQ_BROKER_EXIT" "SIGTERM: the broker exits 0 (no leak reports under ASan)"
grep -q "broker stopped" "$TQ_DIR/broker.log" && ok "SIGTERM stops the broker cleanly" || fail "clean stop"
n1=$(tq_psql -c "select count(*) from tq_migrations")
tq_start_broker --workers 1 --set jobs.journal_reads=true
assert_eq "$n1" "$(tq_psql -c "select count(*) from tq_migrations")" "migrations are not re-applied on restart"
check "finished jobs survive a restart" test "$(toolq --json job "$(echo "$a" | jq -r .id)" | jq -r .state)" = succeeded

# a wrong master key is refused at start-up
tq_stop_broker
(umask 077; head -c32 /dev/urandom | base64 >"$TQ_DIR/other.key")
set +e
TOOLQ_MASTER_KEY_FILE="$TQ_DIR/other.key" timeout 20 "$TOOLQ_BIN_DIR/toolq-broker" >"$TQ_DIR/wrongkey.log" 2>&1; rc=$?
set -e
assert_eq 1 "$rc" "broker refuses to start with a wrong master key"
check "the error names the key mismatch" grep -q master_key_mismatch "$TQ_DIR/wrongkey.log"
set +e
TOOLQ_MASTER_KEY_FILE="$TQ_DIR/missing.key" timeout 20 "$TOOLQ_BIN_DIR/toolq-broker" >"$TQ_DIR/nokey.log" 2>&1; rc=$?
set -e
assert_eq 1 "$rc" "broker refuses to start without its key"
check "no key file was invented" test ! -e "$TQ_DIR/missing.key"
