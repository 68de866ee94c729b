#!/usr/bin/env bash
# The broker's HTTP listener: /healthz (200 with live workers, 503 when they
# are frozen), /metrics (Prometheus text that moves with the jobs; one STATS
# per http.stats_cache_ms however many scrapes), the Host check (421), the
# OAuth callback (400 without state, provider errors shown escaped, codes
# never echoed or logged, redirect to oauth.return_url; 1000 junk callbacks
# journal no job; HEAD is 405 and leaves the state usable; per-address rate
# limit 429), /oauth/start (binding cookie, 302 to the provider with
# prompt=consent), and the periodic refresh.sweep submitted by the scheduler.
source "$(dirname "$0")/lib.sh"
tq_setup http

PORT=$(tq_free_port)
BASE="http://127.0.0.1:$PORT"
export TOOLQ_HTTP_LISTEN="127.0.0.1:$PORT"
# the public host differs from the listen address, as behind a proxy
export TOOLQ_OAUTH_REDIRECT_URI="http://toolq.test:$PORT/oauth/callback"

# GET URL -> body in $TQ_DIR/body, headers in $TQ_DIR/hdr, prints the status.
get() { curl -s -o "$TQ_DIR/body" -D "$TQ_DIR/hdr" -w '%{http_code}' --max-time 40 "$@"; }
header() { { grep -i "^$1:" "$TQ_DIR/hdr" || true; } | head -1 | cut -d' ' -f2- | tr -d '\r'; }
metric() { # metric 'name{labels}' -> value (0 when absent), past the STATS cache
  local v
  sleep 0.6
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

tq_start_broker --workers 2 --set oauth.sweep_interval_s=1 --set log.level=debug --set http.stats_cache_ms=500 \
  --set http.oauth_rate_per_minute=0 # no rate limit here: the junk flood below must reach the checks

# --- /healthz ----------------------------------------------------------------------
check "/healthz answers 200 once workers registered" wait_status 200 /healthz 20
assert_eq "ok" "$(cat "$TQ_DIR/body")" "/healthz body is ok"
assert_eq "text/plain; charset=utf-8" "$(header Content-Type)" "/healthz is plain text"
assert_eq "no-store" "$(header Cache-Control)" "Cache-Control: no-store"
assert_eq "nosniff" "$(header X-Content-Type-Options)" "X-Content-Type-Options: nosniff"
assert_eq "no-referrer" "$(header Referrer-Policy)" "Referrer-Policy: no-referrer"
check "CSP default-src 'none'" grep -qi "^Content-Security-Policy: default-src 'none'" "$TQ_DIR/hdr"

# --- Host header (DNS rebinding) --------------------------------------------------------
assert_eq 421 "$(get -H "Host: attacker.example:$PORT" "$BASE/metrics")" "/metrics with a foreign Host -> 421"
assert_eq 421 "$(get -H "Host: attacker.example" "$BASE/healthz")" "/healthz with a foreign Host -> 421"
check "the 421 names misdirected_request" grep -q misdirected_request "$TQ_DIR/body"
assert_eq 421 "$(get -H "Host: 127.0.0.1:1$PORT" "$BASE/healthz")" "the right host on another port -> 421"
assert_eq 400 "$(get --http1.0 -H "Host:" "$BASE/healthz")" "no Host header -> 400"
assert_eq 200 "$(get -H "Host: TOOLQ.test:$PORT" "$BASE/healthz")" "the public host of oauth.redirect_uri is accepted"
assert_eq 200 "$(get "$BASE/healthz")" "http.listen (127.0.0.1:$PORT) is accepted"

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

# 200 scrapes as fast as one curl goes: the broker counts the journal once per
# http.stats_cache_ms (500 ms here), not once per request.
jc() { toolq --json stats | jq -r '.journal_counts // empty'; }
j0=$(jc)
check "STATS reports journal_counts ($j0)" test -n "$j0"
j0=${j0:-0}
for i in $(seq 1 100); do printf 'url = "%s"\noutput = "/dev/null"\n' "$BASE/metrics" "$BASE/healthz"; done >"$TQ_DIR/scrapes"
t0=$(date +%s%N)
n200=$(curl -s -K "$TQ_DIR/scrapes" -o /dev/null -w '%{http_code}\n' | grep -c '^200$')
ms=$((($(date +%s%N) - t0) / 1000000))
j1=$(jc)
j1=${j1:-999}
assert_eq 200 "$n200" "200 scrapes of /metrics and /healthz answered"
check "they cost $((j1 - j0 - 1)) journal counts in $ms ms (at most one per 500 ms, not 200)" \
  test $((j1 - j0 - 1)) -le $((ms / 500 + 2))

# --- /oauth/callback -------------------------------------------------------------------
assert_eq 400 "$(get "$BASE/oauth/callback?code=abc")" "callback without state -> 400"
check "the 400 page says failed" grep -q 'id="status">failed<' "$TQ_DIR/body"
check "the 400 page names missing_state" grep -q missing_state "$TQ_DIR/body"
assert_eq "text/html; charset=utf-8" "$(header Content-Type)" "the page is HTML"
assert_eq "no-store" "$(header Cache-Control)" "the page is not cached"
check "the page has a CSP" grep -qi "^Content-Security-Policy: default-src 'none'" "$TQ_DIR/hdr"

st=$(get -G "$BASE/oauth/callback" --data-urlencode "state=denied-state-1" \
  --data-urlencode "error=access_denied" --data-urlencode "error_description=Call +1 555 0100 now")
assert_eq 400 "$st" "access_denied with a state toolq did not make -> 400"
check "and its text is not shown (content injection)" bash -c "! grep -q '555 0100' '$TQ_DIR/body'"

SECRET="SplxlOBeZQQYbYS6WxSbIA-secret-code"
st=$(get -G "$BASE/oauth/callback" --data-urlencode "state=unknown-state-1" \
  --data-urlencode "code=$SECRET")
assert_eq 400 "$st" "a state toolq does not make -> 400"
check "unknown state page says failed" grep -q 'id="status">failed<' "$TQ_DIR/body"
code=$(sed -n 's|.*<dt>Error code</dt><dd>\([^<]*\)</dd>.*|\1|p' "$TQ_DIR/body")
assert_eq oauth_state_invalid "$code" "the page shows oauth_state_invalid"
check "the authorization code is not in the page" bash -c "! grep -qF '$SECRET' '$TQ_DIR/body'"
st=$(get -G "$BASE/oauth/callback" --data-urlencode "state=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')" \
  --data-urlencode "code=$SECRET")
assert_eq "400 oauth_state_invalid" "$st $(sed -n 's|.*<dt>Error code</dt><dd>\([^<]*\)</dd>.*|\1|p' "$TQ_DIR/body")" \
  "a well-formed state that does not exist -> 400 oauth_state_invalid"

# The review's F8 reproduction: 1000 junk callbacks (800 malformed states, 200
# well-formed unknown ones) must journal nothing.
for i in $(seq 1 800); do printf 'url = "%s"\noutput = "/dev/null"\n' "$BASE/oauth/callback?state=junk$i&code=x"; done >"$TQ_DIR/junk"
for i in $(seq 1 200); do
  printf 'url = "%s"\noutput = "/dev/null"\n' \
    "$BASE/oauth/callback?state=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')&code=x"
done >>"$TQ_DIR/junk"
n400=$(curl -s -K "$TQ_DIR/junk" -o /dev/null -w '%{http_code}\n' | grep -c '^400$')
assert_eq 1000 "$n400" "1000 junk callbacks -> 1000 x 400"
assert_eq 0 "$(tq_psql -c "select count(*) from tq_jobs where tenant_id='*oauth*' or op='oauth.exchange'")" \
  "no job journaled for any of them (nor for the callbacks above)"

# --- /oauth/start, HEAD, and a real state ---------------------------------------------------
# A system-tier client whose token endpoint is refused (SSRF guard, closed
# port): the exchange fails at the token request, enough to see the state
# consumed.
toolq oauth system-client set --plugin oauth2 --provider closed --client-id cid \
  --param authorize_url=http://127.0.0.1:9/authorize --param token_url=http://127.0.0.1:9/token >/dev/null
start=$(toolq oauth authorize --tenant acme --plugin oauth2 --provider closed --credential-name c1)
check "authorize prints the start URL on the public host ($start)" \
  bash -c "[[ '$start' =~ ^http://toolq\.test:$PORT/oauth/start\?state=[A-Za-z0-9_-]{43}$ ]]"
S=$(grep -Eo 'state=[A-Za-z0-9_-]{43}' <<<"$start" | cut -d= -f2)
# link scanners and prefetchers send HEAD: it must not spend the state
assert_eq 405 "$(get -I "$BASE/oauth/callback?state=$S&code=c")" "HEAD /oauth/callback -> 405"
assert_eq "GET" "$(header Allow)" "405 on /oauth/ allows GET only"
assert_eq 0 "$(tq_psql -c "select count(*) from tq_jobs where op='oauth.exchange'")" "HEAD submitted nothing"
assert_eq 1 "$(tq_psql -c "select count(*) from tq_oauth_states where used_at is null")" \
  "the state is still unused after HEAD"
assert_eq 405 "$(get -I "$BASE/oauth/start?state=$S")" "HEAD /oauth/start -> 405"
JAR=$TQ_DIR/jar
assert_eq 302 "$(get -c "$JAR" "$BASE/oauth/start?state=$S")" "GET /oauth/start -> 302"
loc=$(header Location)
check "to the provider's authorization URL with the state ($loc)" \
  bash -c "[[ '$loc' == http://127.0.0.1:9/authorize\?* ]] && grep -q 'state=$S' <<<'$loc'"
check "with prompt=consent (system-tier client)" grep -Eq '[?&]prompt=consent(&|$)' <<<"$loc"
ck=$(header Set-Cookie)
check "the cookie is HttpOnly, SameSite=Lax, Path=/" \
  bash -c "[[ '$ck' == toolq_oauth_*=*'; Path=/; Max-Age='*'; HttpOnly; SameSite=Lax' ]]"
assert_eq 405 "$(get -I -b "$JAR" "$BASE/oauth/callback?state=$S&code=c")" "HEAD with the cookie -> 405 too"
assert_eq 1 "$(tq_psql -c "select count(*) from tq_oauth_states where used_at is null and binding_hash is not null")" \
  "the state is bound to the browser and still unused"
assert_eq 400 "$(get "$BASE/oauth/callback?state=$S&code=c")" "GET without the cookie -> 400"
assert_eq 0 "$(tq_psql -c "select count(*) from tq_jobs where op='oauth.exchange'")" "no job without the cookie"
st=$(get -b "$JAR" "$BASE/oauth/callback?state=$S&code=c")
code=$(sed -n 's|.*<dt>Error code</dt><dd>\([^<]*\)</dd>.*|\1|p' "$TQ_DIR/body")
check "GET with the cookie ran the exchange ($st $code: the token endpoint is refused)" \
  bash -c "[ '$code' != oauth_browser_mismatch ] && [ '$code' != oauth_state_invalid ] && [ -n '$code' ]"
assert_eq "1 1" "$(tq_psql -c "select count(*) from tq_jobs where op='oauth.exchange'") $(tq_psql -c "select count(*) from tq_oauth_states where used_at is not null")" \
  "one exchange job, and the state is consumed"
get -b "$JAR" "$BASE/oauth/callback?state=$S&code=c" >/dev/null
assert_eq "1 $code" "$(tq_psql -c "select count(*) from tq_jobs where op='oauth.exchange'") $(sed -n 's|.*<dt>Error code</dt><dd>\([^<]*\)</dd>.*|\1|p' "$TQ_DIR/body")" \
  "a reloaded callback (same browser) shows the first outcome without a new job"
assert_eq 0 "$(tq_psql -c "select count(*) from tq_jobs where idempotency_key like '%$S%'")" \
  "the state is not stored in clear as a key"
# a provider error on a real state: recorded by the op, its text shown escaped
start2=$(toolq oauth authorize --tenant acme --plugin oauth2 --provider closed --credential-name c2)
get -c "$JAR" "${start2/toolq.test/127.0.0.1}" >/dev/null
st=$(get -G -b "$JAR" "$BASE/oauth/callback" --data-urlencode "state=${start2##*state=}" \
  --data-urlencode "error=access_denied" \
  --data-urlencode "error_description=<script>alert(1)</script> & \"quotes\"")
assert_eq 400 "$st" "access_denied -> 400"
check "access_denied page says failed" grep -q 'id="status">failed<' "$TQ_DIR/body"
check "oauth_access_denied is shown" grep -q '<dd>oauth_access_denied</dd>' "$TQ_DIR/body"
check "the description is escaped" grep -qF '&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;' "$TQ_DIR/body"
check "no raw <script> in the page" bash -c "! grep -qi '<script' '$TQ_DIR/body'"

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
check "no state in the broker log" bash -c "! grep -qF 'unknown-state-1' '$TQ_DIR/broker.log' && ! grep -qF '$S' '$TQ_DIR/broker.log'"

# --- oauth.return_url: a redirect instead of a page ----------------------------------------
tq_stop_broker
sub=$(grep -o 'scheduler: sweep:[0-9]* submitted job' "$TQ_DIR/broker.log" || true)
check "the scheduler logged its sweeps ($(echo "$sub" | grep -c . || true))" test -n "$sub"
assert_eq "$(echo "$sub" | wc -l)" "$(echo "$sub" | sort -u | wc -l)" "one sweep per interval bucket (no key submitted twice)"
assert_eq 0 "$(grep -c 'scheduler: sweep:[0-9]* already submitted' "$TQ_DIR/broker.log" || true)" \
  "no bucket was submitted again as a duplicate"
tq_start_broker --workers 1 --set oauth.sweep_interval_s=0 \
  --set "oauth.return_url=https://app.example/done?x=1#frag" \
  --set http.oauth_rate_per_minute=1 --set http.oauth_rate_burst=5 \
  --set oauth.redirect_uri=https://toolq.test/oauth/callback # public URL https: __Host- cookie
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

start3=$(toolq oauth authorize --tenant acme --plugin oauth2 --provider closed --credential-name c3)
check "with an https public URL the start URL is https ($start3)" bash -c "[[ '$start3' == https://toolq.test/oauth/start\?state=* ]]"
assert_eq 302 "$(get "$BASE/oauth/start?state=${start3##*state=}")" "its start answers 302"
ck=$(header Set-Cookie)
check "the cookie is __Host- prefixed and Secure" \
  bash -c "[[ '$ck' == __Host-toolq_oauth_*'; Path=/; Max-Age='*'; HttpOnly; SameSite=Lax; Secure' ]]"
assert_eq 421 "$(get -H "Host: toolq.test:$PORT" "$BASE/healthz")" "the old public host is refused now"
assert_eq 200 "$(get -H "Host: toolq.test" "$BASE/healthz")" "the new one (default port) is accepted"

# --- per-address rate limit on /oauth/ (burst 5, 1 a minute) --------------------------------
# One token a minute: no refill can come between the burst and the checks
# after it, however slow the machine (with 60 a minute, a loaded run let one
# token back in and /oauth/start answered 400 instead of 429). Three of the
# five were spent above (two callbacks and a start).
for i in $(seq 1 12); do printf 'url = "%s"\noutput = "/dev/null"\n' "$BASE/oauth/callback?state=junk-rate-$i"; done >"$TQ_DIR/rate"
codes=$(curl -s -K "$TQ_DIR/rate" -o /dev/null -w '%{http_code}\n' | sort | uniq -c | tr -s ' ' | tr '\n' ';')
n429=$(grep -Eo '[0-9]+ 429' <<<"$codes" | cut -d' ' -f1)
check "12 quick callbacks from one address: some answered 429 ($codes)" test "${n429:-0}" -ge 5
assert_eq 429 "$(get "$BASE/oauth/start?state=junk")" "/oauth/start shares the bucket"
check "429 says when to come back (Retry-After: $(header Retry-After))" test "$(header Retry-After)" -ge 1
assert_eq 200 "$(get "$BASE/healthz")" "/healthz is not rate-limited"
