#!/usr/bin/env bash
# test_remote.sh — remote workers (issue 15): toolq-worker processes that are
# not the broker's children, each with its own TOOLQ_HOME (own master key
# file copy, same database URL, plugin path), connect over tcp on loopback
# with a CURVE worker key, register like local workers, run jobs, show up in
# `toolq stats` with where they run, and are rescued like a local worker when
# they go silent (kill -9: no SIGCHLD reaches the broker, only silence).
# (Network namespaces with a veth pair are not used: loopback only.)
source "$(dirname "$0")/lib.sh"
tq_setup remote

K=$TQ_DIR/keys; A=$TQ_DIR/allowed
mkdir -p "$K" "$A"
toolq keygen broker --dir "$K" >/dev/null
toolq keygen wk1 --role worker --dir "$K" >/dev/null
toolq keygen wk2 --role worker --dir "$K" >/dev/null
cp "$K/wk1.key" "$K/wk2.key" "$A/"
BP=$(tq_free_port)
tq_start_broker --workers 1 --set broker.backend_tcp="tcp://127.0.0.1:$BP" \
  --set curve.secret_key_file="$K/broker.key_secret" --set curve.allow_dir="$A" \
  --set broker.heartbeat_ms=200 --set worker.concurrency=4

remote() { # remote NAME: a worker on "another host": own home, own key file copy
  local h=$TQ_DIR/host-$1
  mkdir -p "$h"; chmod 700 "$h"
  cp "$TOOLQ_MASTER_KEY_FILE" "$h/master.key"; chmod 600 "$h/master.key"
  cp "$K/broker.key" "$K/$1.key_secret" "$h/"
  env -u TOOLQ_BROKER -u TOOLQ_MASTER_KEY_FILE TOOLQ_HOME="$h" \
    "$TOOLQ_BIN_DIR/toolq-worker" --broker "tcp://127.0.0.1:$BP" \
    --curve-server-key "$h/broker.key" --curve-key "$h/$1.key_secret" \
    --set broker.heartbeat_ms=200 --set worker.concurrency=4 >"$h/worker.log" 2>&1 &
  echo $!
}
R1=$(remote wk1); R2=$(remote wk2)
# stats_is JQ VALUE: the stats' jq expression equals VALUE
stats_is() { [ "$(toolq --json stats | jq -c "$1")" = "$2" ]; }
stats_gt0() { [ "$(toolq --json stats | jq "$1")" -gt 0 ]; }
REMOTE='[.workers[] | select(.where | startswith("tcp 127.0.0.1 key wk"))]'
tq_wait_for 20 stats_is "$REMOTE | length" 2 \
  && ok "two remote workers registered over tcp+CURVE" || fail "remote workers did not register"
check "they are not the broker's children" test "$(ps -o ppid= -p "$R1" | tr -d ' ')" != "$TQ_BROKER_PID"
st=$(toolq stats)
echo "$st" | grep "worker pid"
check "toolq stats shows where each worker runs" bash -c "echo '$st' | grep -q 'key wk2' && echo '$st' | grep -q 'local'"

# jobs reach the remote workers: 36 sleeps of 400 ms over 3 workers x 4 credit
tq_load -n 36 -c 36 -k 1 --op sleep --tenant t1 --payload '{"ms":400}' >"$TQ_DIR/load1.json" &
load=$!
seen=0
for i in $(seq 1 60); do
  n=$(toolq --json stats | jq '[.workers[] | select(.where != "local") | .in_flight] | add // 0')
  [ "$n" -gt 0 ] && { seen=$n; break; }
  sleep 0.05
done
wait $load && ok "36 jobs succeeded with remote workers in the pool" || fail "load with remote workers"
check "remote workers ran jobs (in flight seen: $seen)" test "$seen" -gt 0

# silence: kill -9 a remote worker with jobs in flight; the broker re-queues
# them after the heartbeat window, as for a local worker
tq_load -n 24 -c 24 -k 1 --op sleep --tenant t2 --payload '{"ms":1500}' --timeout-ms 30000 >"$TQ_DIR/load2.json" &
load=$!
tq_wait_for 10 stats_gt0 '[.workers[] | select(.where | endswith("key wk1")) | .in_flight] | add // 0' \
  || fail "wk1 got no job"
kill -9 "$R1"
killed_at=$(date +%s%N)
tq_wait_for 10 grep -q "worker pid $R1 went silent" "$TQ_DIR/broker.log" \
  && ok "the broker noticed the silence in $(( ($(date +%s%N) - killed_at) / 1000000 )) ms (no SIGCHLD for a remote worker)" \
  || fail "the broker did not notice the remote worker's silence"
wait $load && ok "every job of the killed remote worker still succeeded" || fail "jobs lost with the remote worker"
assert_eq 0 "$(tq_psql -c "select count(*) from tq_jobs where state <> 'succeeded' and op='sleep'")" \
  "no sleep job ended other than succeeded"
check "the broker rescued the jobs it ran (since_start.rescued > 0)" stats_gt0 .since_start.rescued
tq_wait_for 10 stats_is "$REMOTE | length" 1 \
  && ok "the dead remote worker left the registry" || fail "dead remote worker still registered"

kill -TERM "$R2" 2>/dev/null || true
wait "$R2" 2>/dev/null || true
tq_stop_broker
