#!/usr/bin/env bash
# test_reliability_durability.sh — issue 16: one commit for a short job (its
# INSERT holds its outcome), unjournaled reads (no row; quotas, roles and
# idempotency keys still apply), the durability classes (sync: ACCEPTED only
# once the row is committed; async: answered at once, written in the next
# batch; per submit and per op from jobs.async_ops) and the STATS profile.
# The kill -9 variants per class are in test_reliability.sh.
source "$(dirname "$0")/lib.sh"
tq_setup durability
code() { jq -r '.error.code // empty'; }
rows() { tq_psql -c "select count(*) from tq_jobs where tenant_id='$1' ${2:-}"; }
[ "$(id -u)" = 0 ] && chmod 755 "$TQ_DIR"
# broker.commit_linger_ms=200 (default 10): the load check below asks most of
# 3,000 jobs at 32 in flight to end within the linger, which a slow or shared
# machine (sanitizer build, 2 cores) cannot promise in 10 ms
tq_start_broker --workers 2 --set broker.commit_linger_ms=200

# 1. one commit for a short job: 200 journaled pings, one at a time; an
# UPDATE of tq_jobs would be the second commit (the old path wrote each job
# twice: INSERT queued, UPDATE succeeded). A job slower than
# broker.commit_linger_ms still takes two: a loaded machine may have a few.
# Then the same under load (32 in flight): each INSERT waits for its own job's
# outcome. Before, only a batch with fewer than 4 open jobs waited, so under
# load most jobs were written twice (26,766 UPDATEs for 40,000 jobs at 64).
tq_psql -c "create table upd_seen (n int); insert into upd_seen values (0);
  create function upd_count() returns trigger language plpgsql as
  \$\$ begin update upd_seen set n = n + 1; return new; end \$\$;
  create trigger upd_count after update on tq_jobs for each row
  when (new.tenant_id = 'once') execute function upd_count();" >/dev/null
r=$(tq_load -n 200 -c 1 --op ping --journal --tenant once)
assert_eq 200 "$(echo "$r" | jq .ok)" "200 journaled pings succeeded"
assert_eq 200 "$(rows once "and state='succeeded' and started_at is not null and finished_at is not null and result is not null")" \
  "each row holds its final state, times and sealed result"
upd=$(tq_psql -c "select n from upd_seen")
check "most short jobs were written once, by their INSERT ($upd UPDATEs for 200 jobs)" test "$upd" -lt 100
tq_psql -c "update upd_seen set n = 0" >/dev/null
r=$(tq_load -n 3000 -c 32 -k 4 --op ping --journal --tenant once)
assert_eq 3000 "$(echo "$r" | jq .ok)" "3,000 journaled pings at 32 in flight succeeded"
upd=$(tq_psql -c "select n from upd_seen")
check "under load too, most were written once ($upd UPDATEs for 3,000 jobs)" test "$upd" -lt 600
tq_psql -c "drop trigger upd_count on tq_jobs" >/dev/null

# 2. sync: ACCEPTED only after a commit that holds the job
id=$(toolq submit sleep --journal --tenant syncj --payload-json '{"ms":300}' --no-wait)
assert_eq 1 "$(tq_psql -c "select count(*) from tq_jobs where id='$id'")" "sync: the row exists when ACCEPTED arrives"
assert_eq succeeded "$(toolq --json job --wait "$id" | jq -r .state)" "sync: the job ends succeeded"

# 3. unjournaled reads: answered from memory, no row
res=$(toolq --json submit ping --tenant reads --payload-json '{"hello":1}')
assert_eq succeeded "$(echo "$res" | jq -r .state)" "an unjournaled ping succeeds"
assert_eq 1 "$(echo "$res" | jq -r .result.hello)" "with its result"
assert_eq 0 "$(rows reads)" "and leaves no journal row"
rid=$(echo "$res" | jq -r .id)
assert_eq not_found "$(toolq --json job "$rid" | code)" "a finished unjournaled read is not found later (documented)"
toolq submit ping --tenant reads --journal >/dev/null
assert_eq 1 "$(rows reads)" "--journal writes a read"
a=$(toolq --json submit ping --tenant reads --idempotency-key rk1 | jq -r .id)
b=$(toolq --json submit ping --tenant reads --idempotency-key rk1 | jq -r .id)
assert_eq "$a" "$b" "a keyed read is deduplicated (the key makes it journaled)"
assert_eq 1 "$(rows reads "and idempotency_key='rk1'")" "one row for the key"
assert_eq unknown_op "$(toolq --json submit nope.op --tenant reads | code)" "an unknown op is still refused"

# 5. async: answered at once, written in the next batch
res=$(toolq --json submit ping --journal --durability async --tenant asy --payload-json '{"x":2}')
assert_eq succeeded "$(echo "$res" | jq -r .state)" "an async job succeeds"
aid=$(echo "$res" | jq -r .id)
written() { [ "$(tq_psql -c "select state from tq_jobs where id='$aid'")" = succeeded ]; }
check "its outcome reaches the journal in the next batch" tq_wait_for 3 written
r=$(tq_load -n 2000 -c 32 -k 4 --op ping --journal --durability async --tenant asy2)
assert_eq 2000 "$(echo "$r" | jq .ok)" "2,000 async jobs succeeded"
all() { [ "$(rows asy2 "and state='succeeded'")" = 2000 ]; }
check "and all 2,000 outcomes are written" tq_wait_for 5 all
set +e; toolq submit ping --durability sometimes >/dev/null 2>&1; rc=$?; set -e
assert_eq 2 "$rc" "--durability takes sync or async (usage error otherwise)"

# 6. the STATS profile: where the time of each class goes
st=$(toolq --json stats)
check "the profile counts sync jobs" test "$(echo "$st" | jq .profile.sync.jobs)" -ge 200
check "the profile counts async jobs" test "$(echo "$st" | jq .profile.async.jobs)" -ge 2000
check "the profile counts unjournaled reads" test "$(echo "$st" | jq .profile.read.jobs)" -ge 1
check "a sync job's time includes its journal commit" \
  awk -v j="$(echo "$st" | jq .profile.sync.journal_us)" 'BEGIN { exit !(j > 0) }'

# 7. per-op default durability (jobs.async_ops); then quotas and roles
tq_stop_broker
set +e
out=$(timeout 20 "$TOOLQ_BIN_DIR/toolq-broker" --set jobs.async_ops=ping,pingg 2>&1)
rc=$?
set -e
check "an op jobs.async_ops names that does not exist stops the broker (exit $rc)" \
  test "$rc" -ne 0 -a "$rc" -ne 124
check "  naming it" grep -q "jobs.async_ops: 'pingg' is not an op" <<<"$out"
tq_start_broker --workers 1 --set jobs.async_ops=ping,tools.list --set quota.queued_jobs=3 \
  --set frontend.group=nogroup
toolq submit ping --journal --tenant byop >/dev/null
toolq submit sleep --journal --tenant byop --payload-json '{"ms":1}' >/dev/null
toolq submit ping --journal --durability sync --tenant byop >/dev/null
st=$(toolq --json stats)
assert_eq "2 1" "$(echo "$st" | jq -r '"\(.profile.sync.jobs) \(.profile.async.jobs)"')" \
  "jobs.async_ops makes ping async by default; a submit's --durability sync wins"

# 8. quotas and roles apply to unjournaled reads (5 s sleeps: the checks below
# need them still open, and a sanitizer-built CLI call on a loaded 2-core
# machine took 0.3-0.4 s; with 1.5 s sleeps the WAIT came after the first ended)
ids=()
for i in 1 2 3; do ids+=("$(toolq submit sleep --tenant q --payload-json '{"ms":5000}' --no-wait)"); done
assert_eq quota_exceeded "$(toolq --json submit sleep --tenant q --payload-json '{"ms":10}' | code)" \
  "quota.queued_jobs counts unjournaled reads"
assert_eq quota_exceeded "$(toolq --json submit sleep --tenant q2 --payload-json '{"ms":99999999}' | code)" \
  "quota.max_sleep_ms applies to an unjournaled sleep"
assert_eq succeeded "$(toolq --json job --wait "${ids[0]}" | jq -r .state)" "WAIT on a running unjournaled read gets its RESULT"
assert_eq forbidden "$(toolq --json submit ping --tenant '*system*' | code)" "a reserved tenant is refused for a read too"
if [ "$(id -u)" = 0 ]; then
  out=$(setpriv --reuid=65534 --regid=65534 --clear-groups -- "$TOOLQ_BIN_DIR/toolq" --json submit ping --tenant acme || true)
  assert_eq forbidden "$(echo "$out" | code)" "a peer without a role may not submit a read"
else
  echo "# skipped: the role check as another uid needs root"
fi
assert_eq "0 0" "$(rows q) $(rows q2)" "refused and unjournaled reads left no row"

