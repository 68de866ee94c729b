#!/usr/bin/env bash
# test_failover.sh — standby brokers (issue 15). Two brokers on one database,
# each with its own home, local workers and CURVE tcp frontend; clients list
# both (TOOLQ_BROKER=tcp://a,tcp://b). Under a stream of 5,000 jobs (20 ms
# sleeps, so some are always open) from 8
# clients the active broker is killed with SIGKILL 5 times (the killed one
# comes back as the standby): every ACCEPTED job ends succeeded, no
# idempotency key has two jobs, and each takeover time (kill -> the standby
# answers a client) is printed with their median. Then fencing: a session
# with a stale epoch cannot write tq_jobs (the database refuses), and a hung
# active broker (SIGSTOP) is cut off by the standby and stops at once when it
# wakes.
source "$(dirname "$0")/lib.sh"
tq_setup failover

K=$TQ_DIR/keys; AL=$TQ_DIR/allowed
mkdir -p "$K" "$AL"
toolq keygen broker --dir "$K" >/dev/null
toolq keygen op --role operator --dir "$K" >/dev/null
toolq keygen wk --role worker --dir "$K" >/dev/null
cp "$K/op.key" "$K/wk.key" "$AL/"
P0=$(tq_free_port); P1=$(tq_free_port); Q0=$(tq_free_port); Q1=$(tq_free_port)
PORT=("$P0" "$P1"); BACK=("$Q0" "$Q1"); PID=("" ""); NAME=(a b)

start() { # start I: broker I (own home), active or standby
  local h=$TQ_DIR/${NAME[$1]}
  mkdir -p "$h"; chmod 700 "$h"
  env -u TOOLQ_BROKER TOOLQ_HOME="$h" "$TOOLQ_BIN_DIR/toolq-broker" --workers 2 --set http.listen= \
    --set broker.frontend_tcp="tcp://127.0.0.1:${PORT[$1]}" \
    --set broker.backend_tcp="tcp://127.0.0.1:${BACK[$1]}" \
    --set curve.secret_key_file="$K/broker.key_secret" --set curve.allow_dir="$AL" \
    >>"$h/broker.log" 2>&1 &
  PID[$1]=$!
}
export TOOLQ_BROKER="tcp://127.0.0.1:$P0,tcp://127.0.0.1:$P1"
export TOOLQ_CURVE_SERVER_KEY=$K/broker.key TOOLQ_CURVE_KEY=$K/op.key_secret
answers() { toolq --timeout 1 whoami >/dev/null 2>&1; }
STARTS=(0 0) # standby() is true once broker I logged its STARTS[I]-th standby line
standby() { [ "$(grep -c "standby: another broker holds" "$TQ_DIR/${NAME[$1]}/broker.log")" -ge "${STARTS[$1]}" ]; }
accepted() { tq_psql -c "select count(*) from tq_jobs where idempotency_key like 'fo-%'"; }

start 0
tq_wait_for 30 answers && ok "broker a serves over tcp" || { fail "broker a did not start"; exit 1; }
start 1
STARTS[1]=1
tq_wait_for 20 standby 1 && ok "a second broker on the same database waits as a standby" || fail "no standby"
check "the standby does not exit" kill -0 "${PID[1]}"

# a remote worker that knows both brokers (its own home)
mkdir -p "$TQ_DIR/remote"; chmod 700 "$TQ_DIR/remote"
cp "$TOOLQ_MASTER_KEY_FILE" "$TQ_DIR/remote/master.key"
env -u TOOLQ_BROKER -u TOOLQ_MASTER_KEY_FILE TOOLQ_HOME="$TQ_DIR/remote" "$TOOLQ_BIN_DIR/toolq-worker" \
  --broker "tcp://127.0.0.1:$Q0,tcp://127.0.0.1:$Q1" --curve-server-key "$K/broker.key" \
  --curve-key "$K/wk.key_secret" >"$TQ_DIR/remote/worker.log" 2>&1 &
RW=$!
remote_registered() { toolq --json stats | jq -e '[.workers[] | select(.where | endswith("key wk"))] | length == 1' >/dev/null; }
tq_wait_for 20 remote_registered && ok "a remote worker with both brokers' endpoints registered" || fail "remote worker"

"$TOOLQ_BIN_DIR/tq-failover" -n 5000 -c 8 --rate 300 --op sleep --payload '{"ms":20}' --prefix fo --ids "$TQ_DIR/ids.txt" \
  >"$TQ_DIR/stream.json" 2>"$TQ_DIR/stream.err" &
stream=$!
active=0
times=()
for k in 1 2 3 4 5; do
  tq_wait_for 60 bash -c "[ \$(psql '$TOOLQ_DATABASE_URL' -qAt -c \"select count(*) from tq_jobs where idempotency_key like 'fo-%'\") -ge $((k * 800)) ]" \
    || fail "the stream stalled before kill $k"
  other=$((1 - active))
  tq_wait_for 20 standby "$other" || fail "no standby before kill $k"
  t0=$(date +%s%N)
  kill -9 "${PID[$active]}"
  wait "${PID[$active]}" 2>/dev/null || true
  tq_wait_for 30 answers || fail "no broker answered after kill $k"
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  times+=("$ms")
  echo "kill $k: broker ${NAME[$active]} killed at $(accepted) jobs; ${NAME[$other]} answered after $ms ms"
  STARTS[$active]=$((STARTS[$active] + 1))
  start "$active"
  active=$other
done
set +e; wait "$stream"; rc=$?; set -e # under set -e a failing stream would end the script here
cat "$TQ_DIR/stream.json"
assert_eq 0 "$rc" "every ACCEPTED job of the 5,000 ended succeeded across 5 kills"
check "the stream saw no refusal" bash -c "! grep -q refused '$TQ_DIR/stream.err' && ! grep -q 'two ids' '$TQ_DIR/stream.err'"
assert_eq 5000 "$(jq .accepted "$TQ_DIR/stream.json")" "all 5,000 were accepted (resent with their keys)"
assert_eq 5000 "$(cut -d' ' -f2 "$TQ_DIR/ids.txt" | sort -u | wc -l)" "5,000 distinct job ids"
assert_eq 5000 "$(tq_psql -c "select count(*) from tq_jobs where idempotency_key like 'fo-%' and state = 'succeeded'")" \
  "the journal holds each key once, succeeded"
assert_eq 0 "$(tq_psql -c "select count(*) from (select idempotency_key from tq_jobs where idempotency_key like 'fo-%' group by 1 having count(*) > 1) d")" \
  "no key recorded twice"
check "a standby recovered open jobs from the journal" grep -q "recovered .* open jobs" "$TQ_DIR/a/broker.log" "$TQ_DIR/b/broker.log"
sorted=$(printf '%s\n' "${times[@]}" | sort -n | tr '\n' ' ')
median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)
echo "takeover times (ms): $sorted; median $median ms (broker.takeover_ms 3000)"
check "median takeover within broker.takeover_ms (3000)" test "$median" -le 3000

tq_wait_for 20 remote_registered && ok "the remote worker re-registered with the broker that took over (5 times)" \
  || fail "the remote worker did not follow the takeovers"

# fencing in the database: a write with a stale epoch is refused
epoch=$(tq_psql -c "select epoch from tq_broker_epoch")
set +e
out=$(PGOPTIONS="-c toolq.epoch=$((epoch - 1))" psql "$TOOLQ_DATABASE_URL" -qAt \
  -c "update tq_jobs set priority = priority where idempotency_key = 'fo-1'" 2>&1); rc=$?
set -e
check "a stale epoch's UPDATE of tq_jobs fails in the database" test "$rc" -ne 0
check "... naming the stale epoch" bash -c "echo '$out' | grep -q 'stale broker epoch'"
check "the current epoch may write (control)" env PGOPTIONS="-c toolq.epoch=$epoch" \
  psql "$TOOLQ_DATABASE_URL" -qAt -v ON_ERROR_STOP=1 \
  -c "update tq_jobs set priority = priority where idempotency_key = 'fo-1'"

# a hung active broker: the standby ends its session after takeover_ms;
# the old one stops at once when it wakes
tq_wait_for 20 standby $((1 - active)) || fail "no standby before SIGSTOP"
kill -STOP "${PID[$active]}"
t0=$(date +%s%N)
tq_wait_for 30 answers && ok "the standby took over from a hung broker after $(( ($(date +%s%N) - t0) / 1000000 )) ms" \
  || fail "no takeover from a hung broker"
check "... by ending the silent holder's session" grep -q "has not beaten" "$TQ_DIR/${NAME[$((1 - active))]}/broker.log"
kill -CONT "${PID[$active]}"
gone() { ! kill -0 "${PID[$active]}" 2>/dev/null; }
tq_wait_for 10 gone && ok "the old broker stopped when it woke" || fail "the fenced broker kept running"
check "... saying it lost the lock" grep -q "lost the database lock" "$TQ_DIR/${NAME[$active]}/broker.log"
wait "${PID[$active]}" 2>/dev/null || true
check "jobs still run on the new active broker" toolq --timeout 10 ping --tenant after

kill -TERM "$RW" 2>/dev/null || true
for i in 0 1; do
  kill -TERM "${PID[$i]}" 2>/dev/null || true
done
wait "$RW" 2>/dev/null || true
for i in 0 1; do wait "${PID[$i]}" 2>/dev/null || true; done
