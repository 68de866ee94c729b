#!/usr/bin/env bash
# Reliability: kill -9 a worker under sleep jobs, kill -9 the broker after
# ACCEPTED and restart — under each durability class (sync, async, and the
# unjournaled reads), each checked against what broker/README.md promises —,
# a frozen worker's late result is fenced out, a poison job is stopped after
# a few rescues, and garbage on both sockets crashes nothing. sleep is a
# read-only op: --journal makes it a journaled job.
source "$(dirname "$0")/lib.sh"
tq_setup reliability
export TOOLQ_WORKER_TEST_OPS=true
tq_start_broker --workers 2 --set jobs.max_rescues=2 --set jobs.backoff_base_ms=50
# busy: sets busy_pid to a worker the broker reports running a job (polled with tq_wait_for)
busy() { busy_pid=$(toolq --json stats | jq -r '.workers[] | select(.in_flight > 0) | .pid' | head -n1); [ -n "$busy_pid" ]; }

# 1. kill -9 a worker while it runs sleep jobs, for each class: every job
# ends succeeded (rescued at once); sync and async journal all 300 outcomes
# (async: in the next batch, so polled), an unjournaled read writes nothing.
rows() { tq_psql -c "select count(*) from tq_jobs where tenant_id='$1' and state='succeeded' ${2:-}"; }
for class in sync async read; do
  flags=(--journal --durability "$class")
  [ "$class" = read ] && flags=()
  tq_load -n 300 -c 300 -k 3 --op sleep "${flags[@]}" --tenant "rel$class" --payload '{"ms":800}' \
    >"$TQ_DIR/load1.json" 2>"$TQ_DIR/load1.err" &
  load=$!
  tq_wait_for 20 busy
  kill -9 "$busy_pid"
  set +e; wait "$load"; rc=$?; set -e
  assert_eq 0 "$rc" "[$class] every sleep job ends succeeded after kill -9 of a worker"
  assert_eq 300 "$(jq .ok "$TQ_DIR/load1.json")" "[$class] 300 of 300 succeeded"
  if [ "$class" = read ]; then
    assert_eq 0 "$(tq_psql -c "select count(*) from tq_jobs where tenant_id='relread'")" \
      "[read] unjournaled reads leave no row, even when rescued"
  else
    all300() { [ "$(rows "rel$class")" = 300 ]; }
    check "[$class] the journal holds all 300 outcomes" tq_wait_for 5 all300
    check "[$class] some jobs were rescued (attempts > 1)" test "$(rows "rel$class" "and rescues > 0 and attempts > 1")" -gt 0
  fi
  check "[$class] the dead worker was replaced" tq_wait_for 10 bash -c "[ \$(pgrep -P $TQ_BROKER_PID -f toolq-worker | wc -l) -eq 2 ]"
done

# 2. kill -9 the broker after ACCEPTED; restart. sync: every accepted job
# ends succeeded. async: ACCEPTED came before the row was written, so the
# broker is killed at once: every job the journal holds was accepted and ends
# succeeded after the restart (none is left open); the accepted jobs missing
# from the journal are those still staged at the kill (README: a broker crash
# loses the async rows and outcomes not yet written).
tq_load -n 400 -c 400 -k 4 --op sleep --journal --tenant crash --payload '{"ms":300}' --submit-only "$TQ_DIR/ids" >/dev/null 2>&1
assert_eq 400 "$(wc -l <"$TQ_DIR/ids" | tr -d ' ')" "[sync] 400 jobs accepted"
tq_load -n 400 -c 400 -k 4 --op sleep --journal --durability async --tenant crashasync \
  --payload '{"ms":300}' --submit-only "$TQ_DIR/ids_async" >/dev/null 2>&1
old_workers=$(tq_worker_pids)
kill -9 "$TQ_BROKER_PID"
wait "$TQ_BROKER_PID" 2>/dev/null || true
TQ_BROKER_PID=""
assert_eq 400 "$(wc -l <"$TQ_DIR/ids_async" | tr -d ' ')" "[async] 400 jobs accepted before the kill"
alive() { # how many of the old workers still run
  local p st n=0
  for p in $old_workers; do
    st=$(ps -o stat= -p "$p" 2>/dev/null || true)
    case "$st" in ""|Z*) ;; *) n=$((n + 1)) ;; esac
  done
  echo "$n"
}
none_alive() { [ "$(alive)" = 0 ]; }
check "workers died with their broker" tq_wait_for 10 none_alive
rm -f "$TQ_DIR/broker.sock" "$TQ_DIR/backend.sock"
tq_start_broker --workers 2 --set jobs.max_rescues=2 --set jobs.backoff_base_ms=50
check "the restarted broker recovered the open jobs" grep -q "recovered .* open jobs" "$TQ_DIR/broker.log"
set +e
tq_load --wait-ids "$TQ_DIR/ids" -c 4 -k 4 >"$TQ_DIR/wait.json"; rc=$?
set -e
assert_eq 0 "$rc" "[sync] every accepted job ends succeeded after kill -9 of the broker"
assert_eq 400 "$(tq_psql -c "select count(*) from tq_jobs where tenant_id='crash' and state='succeeded'")" "[sync] the journal agrees: 400 succeeded"
async_open() { [ "$(tq_psql -c "select count(*) from tq_jobs where tenant_id='crashasync' and state not in ('succeeded')")" = 0 ]; }
check "[async] every job the journal holds ends succeeded after the restart" tq_wait_for 20 async_open
held=$(tq_psql -c "select count(*) from tq_jobs where tenant_id='crashasync'")
tq_psql -c "select id from tq_jobs where tenant_id='crashasync'" | sort >"$TQ_DIR/held_async"
assert_eq 0 "$(comm -13 <(sort "$TQ_DIR/ids_async") "$TQ_DIR/held_async" | wc -l | tr -d ' ')" \
  "[async] the journal holds only jobs that were accepted"
echo "# async: $held of 400 accepted jobs were written before kill -9 (the rest were staged)"

# 3. a frozen worker: its jobs move on, its late RESULT is ignored
id=$(toolq submit sleep --journal --tenant frozen --payload-json '{"ms":1500}' --no-wait)
# find which worker runs it: freeze both in turn would stall everything, so
# freeze the one the broker reports busy (polled: dispatch takes a moment)
tq_wait_for 10 busy
kill -STOP "$busy_pid"
sleep 4.5   # > 3 missed heartbeats
kill -CONT "$busy_pid"
res=$(toolq --json --timeout 20 job --wait "$id")
assert_eq succeeded "$(echo "$res" | jq -r .state)" "the frozen worker's job still ends succeeded"
assert_eq 2 "$(echo "$res" | jq -r .attempts)" "it ran a second time elsewhere"
sleep 1
assert_eq "succeeded|2" "$(tq_psql -c "select state || '|' || attempts from tq_jobs where id='$id'")" "the journal records one outcome"

# 4. a poison job that kills its worker every time is stopped
res=$(toolq --json --timeout 60 submit test.crash --tenant poison || true)
assert_eq dead "$(echo "$res" | jq -r .state)" "a poison job ends dead"
assert_eq worker_crashed "$(echo "$res" | jq -r .error.code)" "with error worker_crashed"
assert_eq 3 "$(echo "$res" | jq -r .attempts)" "after max_rescues+1 crashes"
check "the broker still works after the poison job" toolq --timeout 10 ping

# 5. transient failures retry with backoff; past max_attempts the job is dead
res=$(toolq --json submit test.fail --tenant retry --payload-json '{"fail_times":2}' --max-attempts 5)
assert_eq "succeeded|3" "$(echo "$res" | jq -r '.state + "|" + (.attempts|tostring)')" "retried twice, then succeeded"
res=$(toolq --json submit test.fail --tenant retry --payload-json '{"fail_times":9}' --max-attempts 3 || true)
assert_eq "dead|3|test_transient" "$(echo "$res" | jq -r '.state + "|" + (.attempts|tostring) + "|" + .error.code')" \
  "dead after max_attempts, with its last error"

# 6. a job that outlives its lease is retried; its late RESULT (same worker,
# still registered) is fenced out by the attempt number
res=$(toolq --json --timeout 30 submit sleep --journal --tenant lease --payload-json '{"ms":5000}' \
  --job-timeout 0.3 --max-attempts 2 || true)
assert_eq "dead|2|lease_expired" "$(echo "$res" | jq -r '.state + "|" + (.attempts|tostring) + "|" + .error.code')" \
  "lease expiry retries, and attempt 1's late success does not count"
sleep 3   # let the second attempt's late RESULT arrive too
assert_eq "dead|2" "$(tq_psql -c "select state || '|' || attempts from tq_jobs where tenant_id='lease'")" \
  "the journal keeps the fenced outcome"

# 7. the database connections are cut under load: lanes reconnect, batches
# are retried, nothing is lost or refused
tq_load -n 3000 -c 64 --op sleep --journal --tenant dbcut --payload '{"ms":5}' >"$TQ_DIR/cut.json" 2>"$TQ_DIR/cut.err" &
load=$!
sleep 0.7
tq_psql -c "select count(pg_terminate_backend(pid)) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()" >/dev/null
sleep 0.3
tq_psql -c "select count(pg_terminate_backend(pid)) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()" >/dev/null
set +e; wait "$load"; rc=$?; set -e
assert_eq 0 "$rc" "every job succeeds although the broker's connections were cut twice"
assert_eq 3000 "$(tq_psql -c "select count(*) from tq_jobs where tenant_id='dbcut' and state='succeeded'")" \
  "the journal has all 3,000 outcomes"

# 8. garbage on both sockets
"$TOOLQ_BIN_DIR/tq-garbage" "ipc://$TQ_DIR/broker.sock" 3000 >/dev/null
"$TOOLQ_BIN_DIR/tq-garbage" "ipc://$TQ_DIR/backend.sock" 3000 >/dev/null
sleep 0.5
check "broker alive after garbage frames" kill -0 "$TQ_BROKER_PID"
check "ping works after garbage frames" toolq --timeout 10 ping
r=$(tq_load -n 200 -c 20 --op ping --tenant after)
assert_eq 200 "$(echo "$r" | jq .ok)" "jobs still flow after garbage frames"
# and batches: a waiting submit of an unjournaled read gets its RESULT alone
r=$("$TOOLQ_BIN_DIR/tq-batch" "ipc://$TQ_DIR/broker.sock" after 20)
assert_eq "20 0" "$(echo "$r" | jq -r '"\(.results) \(.accepted)"')" \
  "20 waiting pings in one message: 20 RESULTs, no ACCEPTED (the RESULT carries the id)"
