#!/usr/bin/env bash
# test_principals.sh — who may do what (issue 8, review F1, F3, F11):
# roles from the peer's uid (SO_PEERCRED), system ops for operators only,
# tenant principals bound to their tenant, reserved tenants and idempotency
# keys for the broker alone, job requests scoped by tenant, STATS for
# operators, refusals that leave no journal row, and a rogue worker that
# registers without the broker's secret and gets no job.
# Other uids are played with setpriv (needs root, as in CI); without root the
# multi-user part is skipped.
source "$(dirname "$0")/lib.sh"
tq_setup principals

code() { jq -r '.error.code // empty'; }
# as UID CMD...: the toolq CLI as another user (group nogroup: the frontend group).
as() { local uid=$1; shift; setpriv --reuid="$uid" --regid=65534 --clear-groups -- "$TOOLQ_BIN_DIR/toolq" "$@"; }

# --- the operator (the broker's own user) -----------------------------------------------
chmod 755 "$TQ_DIR"
tq_start_broker --workers 1 --set jobs.journal_reads=true # rows of reads are checked
assert_eq 700 "$(stat -c %a "$TQ_DIR")" "the broker closes its socket folder (0700)"
assert_eq 0 "$(( 0$(stat -c %a "$TQ_DIR/broker.sock") & 077 ))" "the frontend socket is owner-only"
who=$(toolq --json whoami)
assert_eq operator "$(echo "$who" | jq -r .role)" "the broker's own user is operator"
assert_eq "$(id -u)" "$(echo "$who" | jq -r .uid)" "whoami reports the caller's uid"
check "toolq whoami (text) names the role" sh -c "'$TOOLQ_BIN_DIR/toolq' whoami | grep -q ': operator'"

n=$(tq_job_rows)
err=$(toolq --json submit ping --tenant '*system*' || true)
assert_eq forbidden "$(echo "$err" | code)" "operator: reserved tenant *system* refused"
err=$(toolq --json submit ping --tenant acme --idempotency-key "sweep:$(date +%s)" || true)
assert_eq forbidden "$(echo "$err" | code)" "operator: reserved key prefix sweep: refused (F11)"
err=$(toolq --json submit refresh --tenant acme --idempotency-key "refresh:x:1" \
  --payload-json '{"credential":"gh"}' || true)
assert_eq forbidden "$(echo "$err" | code)" "operator: reserved key prefix refresh: refused"
err=$(toolq --json submit test.crash --tenant acme || true)
assert_eq unknown_op "$(echo "$err" | code)" "test ops are unknown_op with worker.test_ops off"
set +e; toolq submit ping --tenant acme --idempotency-key "sweep:1" >/dev/null 2>&1; rc=$?; set -e
assert_eq 1 "$rc" "a refusal exits 1"
assert_eq "$n" "$(tq_job_rows)" "refused requests leave no journal row"
out=$(toolq --json submit oauth.system_client.show --tenant acme --payload-json '{"plugin":"github"}' || true)
check "operator may run a system op (not forbidden)" test "$(echo "$out" | code)" != forbidden
check "a system op runs under *system*" \
  test "$(tq_psql -c "select tenant_id from tq_jobs where op='oauth.system_client.show'")" = '*system*'

# the F11 reproduction: pre-claiming the scheduler's sweep keys
claimed=0
for b in $(seq $(( $(date +%s)/60*60 )) 60 $(( $(date +%s)/60*60 + 600 ))); do
  toolq submit ping --tenant '*system*' --idempotency-key "sweep:$b" --no-wait >/dev/null 2>&1 && claimed=$((claimed + 1))
done
assert_eq 0 "$claimed" "F11: no sweep bucket can be pre-claimed"

# --- the backend: a process the broker did not fork (F3) ---------------------------------
"$TOOLQ_BIN_DIR/tq-rogue-worker" "ipc://$TQ_DIR/backend.sock" 4 >"$TQ_DIR/rogue.out" &
rogue=$!
sleep 0.5
for i in $(seq 1 40); do toolq submit ping --journal --tenant acme --payload-json "{\"i\":$i}" --no-wait >/dev/null; done
ok_jobs=0
wait "$rogue"
assert_eq "jobs 0" "$(cut -d" " -f1-2 "$TQ_DIR/rogue.out")" "F3: a rogue READY gets no job"
check "the broker logged the refused READY" grep -q "refused a READY" "$TQ_DIR/broker.log"
pings_done() { [ "$(tq_psql -c "select count(*) from tq_jobs where op='ping' and tenant_id = 'acme' and state = 'succeeded'")" -ge 40 ]; }
tq_wait_for 20 pings_done || true
assert_eq "40 0" "$(tq_psql -c "select count(*) filter (where state = 'succeeded'), count(*) filter (where state <> 'succeeded') from tq_jobs where op='ping' and tenant_id = 'acme'" | tr '|' ' ')" \
  "every ping still ran on the real worker (40 journaled, all succeeded)"
st=$(toolq --json stats)
assert_eq 1 "$(echo "$st" | jq '.workers | length')" "only the forked worker is registered"
check "credit is capped at worker.concurrency" test "$(echo "$st" | jq '.workers[0].credit')" -le 128
tq_stop_broker

# tcp endpoints stay refused (no peer identity without CURVE)
set +e
"$TOOLQ_BIN_DIR/toolq-broker" --set broker.frontend=tcp://127.0.0.1:5599 --set http.listen= \
  >"$TQ_DIR/tcp.log" 2>&1; rc=$?
set -e
assert_eq 1 "$rc" "a tcp frontend is refused at start"
check "... with invalid_config" grep -q invalid_config "$TQ_DIR/tcp.log"

# the socket folder must be the broker's own: a shared, writable folder is refused
mkdir -p "$TQ_DIR/shared"; chmod 1777 "$TQ_DIR/shared"
set +e
"$TOOLQ_BIN_DIR/toolq-broker" --set broker.frontend="ipc://$TQ_DIR/shared/broker.sock" \
  --set http.listen= >"$TQ_DIR/shared.log" 2>&1; rc=$?
set -e
assert_eq 1 "$rc" "a frontend socket in a world-writable folder is refused"
check "... and the folder's mode is left alone" test "$(stat -c %a "$TQ_DIR/shared")" = 1777

if [ "$(id -u)" != 0 ]; then
  echo "skip: the multi-user part needs root (setpriv); the checks above ran"; exit 77
fi

# --- other users: daemon (uid 1) a tenant of acme, nobody an integrator, bin nothing -----
tq_start_broker --workers 1 --set jobs.journal_reads=true --set frontend.group=nogroup --set frontend.integrators=nobody \
  --set frontend.tenants=1=acme
victim=$(toolq submit ping --tenant victim --payload-json '{"v":1}' --no-wait)
toolq wait "$victim" >/dev/null

who=$(as 2 --json whoami)
assert_eq none "$(echo "$who" | jq -r .role)" "a user without a grant is role none"
n=$(tq_job_rows)
err=$(as 2 --json submit ping --tenant acme || true)
assert_eq forbidden "$(echo "$err" | code)" "role none: every submit is forbidden"
check "the refusal names the missing role" sh -c "echo '$err' | jq -r .error.message | grep -q 'needs the'"

who=$(as 1 --json whoami)
assert_eq tenant "$(echo "$who" | jq -r .role)" "daemon is a tenant principal"
assert_eq acme "$(echo "$who" | jq -r .tenant)" "... of tenant acme"
out=$(as 1 --json submit ping --payload-json '{"t":1}')
assert_eq succeeded "$(echo "$out" | jq -r .state)" "a tenant principal submits without --tenant"
id=$(echo "$out" | jq -r .id)
assert_eq acme "$(tq_psql -c "select tenant_id from tq_jobs where id='$id'")" "... and the job is its tenant's"
err=$(as 1 --json submit ping --tenant victim || true)
assert_eq forbidden "$(echo "$err" | code)" "a tenant principal cannot name another tenant"
err=$(as 1 --json job "$victim" || true)
assert_eq not_found "$(echo "$err" | code)" "F3: a tenant cannot read another tenant's job"
err=$(as 1 --json cancel "$victim" || true)
assert_eq not_found "$(echo "$err" | code)" "F3: nor cancel it"
err=$(as 1 --json stats || true)
assert_eq forbidden "$(echo "$err" | code)" "STATS is operator-only"

# F1, the lab reproduction: system-client ops from a non-operator
for op in oauth.system_client.set oauth.system_client.show oauth.system_client.delete refresh.sweep; do
  err=$(as 1 --json submit "$op" --tenant acme --payload-json \
    '{"plugin":"oauth2","provider":"idp","params":{"token_url":"http://127.0.0.1:58766/STEAL"}}' || true)
  assert_eq forbidden "$(echo "$err" | code)" "F1: tenant runs $op -> forbidden"
  err=$(as 65534 --json submit "$op" --tenant evil --payload-json \
    '{"plugin":"oauth2","provider":"idp","params":{"token_url":"http://127.0.0.1:58766/STEAL"}}' || true)
  assert_eq forbidden "$(echo "$err" | code)" "F1: integrator runs $op -> forbidden"
done
check "the refusal names the operator role" sh -c "echo '$err' | jq -r .error.message | grep -q 'operator role'"

assert_eq integrator "$(as 65534 --json whoami | jq -r .role)" "nobody is an integrator (by name)"
out=$(as 65534 --json submit ping --tenant beta --payload-json '{"b":1}')
assert_eq succeeded "$(echo "$out" | jq -r .state)" "an integrator acts for a tenant it names"
err=$(as 65534 --json submit ping --tenant '*oauth*' || true)
assert_eq forbidden "$(echo "$err" | code)" "an integrator cannot use a reserved tenant"
err=$(as 65534 --json job "$victim" || true)
assert_eq forbidden "$(echo "$err" | code)" "F3: an integrator needs the job's tenant"
out=$(as 65534 --json job "$victim" --tenant victim)
assert_eq succeeded "$(echo "$out" | jq -r .state)" "... and with it sees the job"
err=$(as 65534 --json job "$victim" --tenant beta || true)
assert_eq not_found "$(echo "$err" | code)" "... but not under another tenant"
assert_eq "$((n + 2))" "$(tq_job_rows)" "only the two allowed submits left rows"
tq_stop_broker


# a socket folder that also holds another user's files (the postgres user's
# cluster under TOOLQ_HOME with scripts/run as root) keeps its mode
mkdir -p "$TQ_DIR/home2/pg"; chmod 755 "$TQ_DIR/home2"; chown 65534 "$TQ_DIR/home2/pg"
TOOLQ_BROKER="ipc://$TQ_DIR/home2/broker.sock" tq_start_broker --workers 1 --set jobs.journal_reads=true
assert_eq 755 "$(stat -c %a "$TQ_DIR/home2")" "a folder shared with another user's files keeps its mode"
assert_eq 0 "$(( 0$(stat -c %a "$TQ_DIR/home2/broker.sock") & 077 ))" "... and the socket is still owner-only"
check "... with a warning" grep -q "also holds files of uid 65534" "$TQ_DIR/broker.log"
tq_stop_broker
