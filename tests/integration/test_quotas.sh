#!/usr/bin/env bash
# test_quotas.sh — per-tenant quotas (review F11): open jobs, payload bytes,
# running jobs and the longest sleep, each refused with quota_exceeded and no
# journal row; another tenant is not affected.
source "$(dirname "$0")/lib.sh"
tq_setup quotas

code() { jq -r '.error.code // empty'; }

tq_start_broker --workers 1 --set jobs.journal_reads=true --set quota.queued_jobs=3 --set quota.payload_bytes=4000 \
  --set quota.running=1 --set quota.max_sleep_ms=5000

# running: one job of a tenant at a time, the others wait (parked) ---------------------
# The first sleep holds the three jobs open (the other two wait behind it)
# while the checks below run: a sanitizer-built CLI call on a loaded 2-core
# machine took 0.3-0.4 s, and with three 800 ms sleeps the first had ended
# before the 4th submit.
ids=()
for ms in 5000 200 200; do ids+=("$(toolq submit sleep --tenant a --payload-json "{\"ms\":$ms}" --no-wait)"); done
# queued jobs: a 4th open job of tenant a is refused, tenant b is not affected ----------
n=$(tq_job_rows)
err=$(toolq --json submit ping --tenant a --no-wait || true)
assert_eq quota_exceeded "$(echo "$err" | code)" "quota.queued_jobs: a 4th open job is refused"
check "the message names the setting" sh -c "echo '$err' | grep -q quota.queued_jobs"
assert_eq "$n" "$(tq_job_rows)" "the refused submit left no row"
max=0; waiting=0
for i in $(seq 1 12); do
  st=$(toolq --json stats)
  r=$(echo "$st" | jq .running); q=$(echo "$st" | jq .queue_depth)
  [ "$r" -gt "$max" ] && max=$r
  [ "$q" -gt 0 ] && waiting=1
  sleep 0.1
done
assert_eq 1 "$max" "quota.running: at most one of tenant a's jobs runs at once"
assert_eq 1 "$waiting" "... the others wait in the queue"

out=$(toolq --json submit ping --tenant b --payload-json '{"b":1}')
assert_eq succeeded "$(echo "$out" | jq -r .state)" "another tenant still runs (and is not held behind a)"
for id in "${ids[@]}"; do
  assert_eq succeeded "$(toolq --json wait "$id" | jq -r .state)" "tenant a's job $id ran in the end"
done
out=$(toolq --json submit ping --tenant a --payload-json '{"a":2}')
assert_eq succeeded "$(echo "$out" | jq -r .state)" "finished jobs free the quota"

# payload bytes ---------------------------------------------------------------------------
big=$(head -c 3000 /dev/zero | tr '\0' x)
id=$(toolq submit sleep --tenant c --payload-json "{\"ms\":4000,\"pad\":\"$big\"}" --no-wait)
n=$(tq_job_rows)
err=$(toolq --json submit ping --tenant c --payload-json "{\"pad\":\"$big\"}" || true)
assert_eq quota_exceeded "$(echo "$err" | code)" "quota.payload_bytes: a tenant's open payloads are bounded"
assert_eq "$n" "$(tq_job_rows)" "... and the refused submit left no row"
toolq wait "$id" >/dev/null

# max sleep -------------------------------------------------------------------------------
err=$(toolq --json submit sleep --tenant d --payload-json '{"ms":86400000}' || true)
assert_eq quota_exceeded "$(echo "$err" | code)" "quota.max_sleep_ms: a day-long sleep is refused"
out=$(toolq --json submit sleep --tenant d --payload-json '{"ms":10}')
assert_eq succeeded "$(echo "$out" | jq -r .state)" "a short sleep runs"
