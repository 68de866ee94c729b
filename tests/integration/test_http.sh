#!/usr/bin/env bash
# The broker's HTTP listener: /healthz (200 with live workers, 503 when they
# are frozen), /metrics (Prometheus text that moves with the jobs), the OAuth
# callback (400 without state, provider errors shown escaped, the op's failure
# code shown, codes never echoed or logged, redirect to oauth.return_url), and
# the periodic refresh.sweep submitted by the scheduler.
source "$(dirname "$0")/lib.sh"
tq_setup http

PORT=$(tq_free_port)
BASE="http://127.0.0.1:$PORT"
export TOOLQ_HTTP_LISTEN="127.0.0.1:$PORT"

# GET URL -> body in $TQ_DIR/body, headers in $TQ_DIR/hdr, prints the status.
get() { curl -s -o "$TQ_DIR/body" -D "$TQ_DIR/hdr" -w '%{http_code}' --max-time 40 "$@"; }
header() { grep -i "^$1:" "$TQ_DIR/hdr" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
metric() { # metric 'name{labels}' -> value (0 when absent)
  local v
  v=$(curl -s --max-time 10 "$BASE/metrics" | awk -v k="$1" '$1 == k { print $2 }')
  echo "${v:-0}"
}
wait_status() { # wait_status CODE PATH SECONDS
  local i
  for i in $(seq 1 $(($3 * 10))); do
    [ "$(get "$BASE$2")" = "$1" ] && return 0
    sleep 0.1
  done
  return 1
}

tq_start_broker --workers 2 --set oauth.sweep_interval_s=1 --set log.level=debug

# --- /healthz ----------------------------------------------------------------------
check "/healthz answers 200 once workers registered" wait_status 200 /healthz 20
assert_eq "ok" "$(cat "$TQ_DIR/body")" "/healthz body is ok"
assert_eq "text/plain; charset=utf-8" "$(header Content-Type)" "/healthz is plain text"
assert_eq "no-store" "$(header Cache-Control)" "Cache-Control: no-store"
assert_eq "nosniff" "$(header X-Content-Type-Options)" "X-Content-Type-Options: nosniff"
assert_eq "no-referrer" "$(header Referrer-Policy)" "Referrer-Policy: no-referrer"
check "CSP default-src 'none'" grep -qi "^Content-Security-Policy: default-src 'none'" "$TQ_DIR/hdr"

assert_eq 404 "$(get "$BASE/nope")" "unknown path -> 404"
assert_eq 405 "$(get -X POST "$BASE/healthz")" "POST -> 405"
assert_eq "GET, HEAD" "$(header Allow)" "405 names the allowed methods"

# --- /metrics ------------------------------------------------------------------------
assert_eq 200 "$(get "$BASE/metrics")" "/metrics answers 200"
assert_eq "text/plain; version=0.0.4; charset=utf-8" "$(header Content-Type)" \
  "/metrics is Prometheus text 0.0.4"
bad=$(grep -Evc '^(# (HELP|TYPE) .*|[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? -?[0-9.eE+-]+|[a-zA-Z_:][a-zA-Z0-9_:]* (NaN|[+-]Inf))$' "$TQ_DIR/body" || true)
assert_eq 0 "$bad" "every /metrics line is a comment or name{labels} value"
for m in toolq_queue_depth toolq_workers_alive toolq_worker_restarts_total toolq_jobs_running \
  'toolq_jobs{state="succeeded"}' 'toolq_jobs_total{outcome="submitted"}' \
  'toolq_refresh_outcomes_total{outcome="succeeded"}'; do
  check "/metrics has $m" grep -qF "$m " "$TQ_DIR/body"
done
assert_eq 2 "$(metric toolq_workers_alive)" "toolq_workers_alive is 2"

before=$(metric 'toolq_jobs_total{outcome="submitted"}')
pings=$(metric 'toolq_op_jobs_total{op="ping",state="succeeded"}') # tq_start_broker pinged
for i in 1 2 3 4 5; do toolq submit ping --tenant acme --payload-json '{"n":1}' >/dev/null; done
toolq submit sleep --tenant acme --payload-json '{"ms":"x"}' >/dev/null 2>&1 || true
after=$(metric 'toolq_jobs_total{outcome="submitted"}')
check "submitted counter moves (+6: $before -> $after)" test "$after" -ge $((before + 6))
assert_eq $((pings + 5)) "$(metric 'toolq_op_jobs_total{op="ping",state="succeeded"}')" "per-op counter: +5 ping succeeded"
assert_eq 1 "$(metric 'toolq_op_errors_total{op="sleep",code="invalid_payload"}')" "per-op error code counted"
assert_eq $((pings + 5)) "$(metric 'toolq_job_duration_seconds_count{op="ping"}')" "latency histogram counts the pings"
assert_eq $((pings + 5)) "$(metric 'toolq_job_duration_seconds_bucket{op="ping",le="+Inf"}')" "+Inf bucket = count"
check "journal gauge sees succeeded jobs" test "$(metric 'toolq_jobs{state="succeeded"}')" -ge 5

# --- /oauth/callback -------------------------------------------------------------------
assert_eq 400 "$(get "$BASE/oauth/callback?code=abc")" "callback without state -> 400"
check "the 400 page says failed" grep -q 'id="status">failed<' "$TQ_DIR/body"
check "the 400 page names missing_state" grep -q missing_state "$TQ_DIR/body"
assert_eq "text/html; charset=utf-8" "$(header Content-Type)" "the page is HTML"
assert_eq "no-store" "$(header Cache-Control)" "the page is not cached"
check "the page has a CSP" grep -qi "^Content-Security-Policy: default-src 'none'" "$TQ_DIR/hdr"

st=$(get -G "$BASE/oauth/callback" --data-urlencode "state=denied-state-1" \
  --data-urlencode "error=access_denied" \
  --data-urlencode "error_description=<script>alert(1)</script> & \"quotes\"")
check "access_denied -> a failure status ($st)" test "$st" -ge 400
check "access_denied page says failed" grep -q 'id="status">failed<' "$TQ_DIR/body"
check "access_denied is shown" grep -q access_denied "$TQ_DIR/body"
check "the description is escaped" grep -qF '&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;' "$TQ_DIR/body"
check "no raw <script> in the page" bash -c "! grep -qi '<script' '$TQ_DIR/body'"

SECRET="SplxlOBeZQQYbYS6WxSbIA-secret-code"
st=$(get -G "$BASE/oauth/callback" --data-urlencode "state=unknown-state-1" \
  --data-urlencode "code=$SECRET")
check "unknown state -> a failure status ($st)" test "$st" -ge 400
check "unknown state page says failed" grep -q 'id="status">failed<' "$TQ_DIR/body"
code=$(sed -n 's|.*<dt>Error code</dt><dd>\([^<]*\)</dd>.*|\1|p' "$TQ_DIR/body")
check "the page shows the op's error code ('$code')" test -n "$code"
check "the authorization code is not in the page" bash -c "! grep -qF '$SECRET' '$TQ_DIR/body'"
assert_eq 2 "$(tq_psql -c "select count(*) from tq_jobs where op='oauth.exchange' and tenant_id='*oauth*' and state in ('failed','dead') and max_attempts=1")" \
  "one oauth.exchange job per callback state (access_denied too), failed, never retried"
get -G "$BASE/oauth/callback" --data-urlencode "state=unknown-state-1" \
  --data-urlencode "code=$SECRET" >/dev/null
assert_eq 2 "$(tq_psql -c "select count(*) from tq_jobs where op='oauth.exchange' and error_code is not null and idempotency_key like 'oauth.callback:%'")" \
  "a reloaded callback reuses its job (idempotency key from the state)"
assert_eq 0 "$(tq_psql -c "select count(*) from tq_jobs where idempotency_key like '%unknown-state%'")" \
  "the state is not stored in clear as a key"

# --- sweeps ---------------------------------------------------------------------------------
# Counted in one snapshot (a sweep may land between two queries); whether any
# bucket was submitted twice is read from the scheduler's debug lines once the
# broker has stopped (below).
sweeps_at_least() { [ "$(tq_psql -c "select count(*) from tq_jobs where op='refresh.sweep' and tenant_id='*system*'")" -ge "$1" ]; }
check "the scheduler submits refresh.sweep jobs (2 within 20 s)" tq_wait_for 20 sweeps_at_least 2
snap=$(tq_psql -c "select count(*), count(distinct idempotency_key),
  count(*) filter (where idempotency_key ~ '^sweep:[0-9]+$' and max_attempts = 1)
  from tq_jobs where op='refresh.sweep' and tenant_id='*system*'")
n=${snap%%|*}
assert_eq "$n|$n|$n" "$snap" "every sweep job has its own bucket key sweep:<epoch s> and max_attempts 1"

# --- /healthz 503 with frozen workers ----------------------------------------------------
pids=$(tq_worker_pids)
kill -STOP $pids
check "/healthz answers 503 when the workers are frozen" wait_status 503 /healthz 15
check "the 503 says why" grep -q "no live workers" "$TQ_DIR/body"
kill -CONT $pids
check "/healthz recovers to 200" wait_status 200 /healthz 20

check "no authorization code in the broker log" bash -c "! grep -qF '$SECRET' '$TQ_DIR/broker.log'"
check "no state in the broker log" bash -c "! grep -qF 'unknown-state-1' '$TQ_DIR/broker.log'"

# --- oauth.return_url: a redirect instead of a page ----------------------------------------
tq_stop_broker
sub=$(grep -o 'scheduler: sweep:[0-9]* submitted job' "$TQ_DIR/broker.log" || true)
check "the scheduler logged its sweeps ($(echo "$sub" | grep -c . || true))" test -n "$sub"
assert_eq "$(echo "$sub" | wc -l)" "$(echo "$sub" | sort -u | wc -l)" "one sweep per interval bucket (no key submitted twice)"
assert_eq 0 "$(grep -c 'scheduler: sweep:[0-9]* already submitted' "$TQ_DIR/broker.log" || true)" \
  "no bucket was submitted again as a duplicate"
tq_start_broker --workers 1 --set oauth.sweep_interval_s=0 \
  --set "oauth.return_url=https://app.example/done?x=1#frag"
assert_eq 302 "$(get -G "$BASE/oauth/callback" --data-urlencode "state=unknown-state-2" --data-urlencode "code=c2")" \
  "with oauth.return_url the callback redirects"
loc=$(header Location)
check "Location carries status=failed and the error code ($loc)" \
  bash -c "[[ '$loc' =~ ^https://app\.example/done\?x=1\&status=failed\&error=[a-z_]+#frag$ ]]"
assert_eq 302 "$(get "$BASE/oauth/callback")" "missing state redirects too"
assert_eq "https://app.example/done?x=1&status=failed&error=missing_state#frag" "$(header Location)" \
  "missing state -> error=missing_state"
before=$(tq_psql -c "select count(*) from tq_jobs where op='refresh.sweep'")
sleep 1.5 # an absence: 1.5 intervals of the first broker's 1 s
assert_eq "$before" "$(tq_psql -c "select count(*) from tq_jobs where op='refresh.sweep'")" \
  "oauth.sweep_interval_s=0 submits no sweeps"
