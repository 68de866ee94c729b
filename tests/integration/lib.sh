# tests/integration/lib.sh — shared by every integration test script.
# Each test gets its own run folder, database and broker:
#   source "$(dirname "$0")/lib.sh"; tq_setup NAME; tq_start_broker [--workers N]
# Needs (set by ctest and scripts/test): TOOLQ_BIN_DIR, TOOLQ_PLUGIN_PATH,
# TOOLQ_SOURCE_DIR and TOOLQ_TEST_DB_ADMIN_URL (libpq conninfo of the private
# cluster's admin database). Everything is torn down on exit.
# A test that needs the external corpus calls `tq_need_corpus` first: it sets
# TQ_CORPUS, or prints one line and exits 77 (ctest: skipped) when absent.
# Waiting for something is `tq_wait_for SECONDS command...` (polls), never a
# bare sleep followed by an assertion.
set -euo pipefail

: "${TOOLQ_BIN_DIR:?run through ctest (scripts/test)}"
: "${TOOLQ_TEST_DB_ADMIN_URL:?TOOLQ_TEST_DB_ADMIN_URL is not set: run through scripts/test}"

TQ_PASSED=0
TQ_FAILED=0
TQ_BROKER_PID=""

toolq() { "$TOOLQ_BIN_DIR/toolq" "$@"; }
tq_load() { "$TOOLQ_BIN_DIR/tq-load" "$@"; }
tq_admin_psql() { psql "$TOOLQ_TEST_DB_ADMIN_URL" -v ON_ERROR_STOP=1 -qAt "$@"; }
tq_psql() { psql "$TOOLQ_DATABASE_URL" -v ON_ERROR_STOP=1 -qAt "$@"; }
# Journal rows, without the scheduler's refresh.sweep jobs: a sweep is
# submitted at every oauth.sweep_interval_s wall-clock boundary (+ jitter),
# so it may land between any two counts ("nothing was journaled" checks).
tq_job_rows() { tq_psql -c "select count(*) from tq_jobs where op <> 'refresh.sweep'"; }

ok() { TQ_PASSED=$((TQ_PASSED + 1)); echo "ok - $*"; }
fail() { TQ_FAILED=$((TQ_FAILED + 1)); echo "FAIL - $*"; }
check() { # check "description" command...
  local what=$1; shift
  if "$@"; then ok "$what"; else fail "$what"; fi
}
assert_eq() { # assert_eq EXPECTED ACTUAL "description"
  if [ "$1" = "$2" ]; then ok "$3"; else fail "$3 (expected '$1', got '$2')"; fi
}

# The external corpus: $TOOLQ_CORPUS_DIR, else $TOOLQ_CORPUS_DEFAULT (set by
# ctest: ../shared/corpus beside the checkout). Exits 77 when it is absent.
tq_need_corpus() {
  TQ_CORPUS=${TOOLQ_CORPUS_DIR:-${TOOLQ_CORPUS_DEFAULT:-$TOOLQ_SOURCE_DIR/../shared/corpus}}
  if [ ! -d "$TQ_CORPUS/specs" ]; then
    echo "corpus not found at $TQ_CORPUS; set TOOLQ_CORPUS_DIR"
    exit 77
  fi
}

# tq_wait_for SECONDS command... — true as soon as the command succeeds,
# false when it has not within SECONDS (polled every 0.1 s).
tq_wait_for() {
  local limit=$1 i
  shift
  for i in $(seq 1 $((limit * 10))); do
    if "$@"; then return 0; fi
    sleep 0.1
  done
  "$@"
}

# A free TCP port on 127.0.0.1 for a listener the test starts: random below
# the kernel's ephemeral range (so no outgoing connection takes it before the
# listener binds), checked free by binding it.
tq_free_port() {
  python3 - <<'PY'
import random, socket
lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
while True:
    p = random.randint(10000, lo - 1)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        print(p)
        break
    except OSError:
        pass
    finally:
        s.close()
PY
}

# tq_wait_up SECONDS URL... — waits until every URL answers HTTP (a peer the
# test started is listening); a peer that never does fails the test here,
# not later as an unrelated assertion.
tq_wait_up() {
  local limit=$1 u
  shift
  for u in "$@"; do
    if ! tq_wait_for "$limit" curl -s -o /dev/null "$u"; then
      fail "$u did not come up within $limit s"
      exit 1
    fi
  done
}

# tq_check_function_names JSON — the OpenAI form of a tools listing: at least
# one function, every name matches ^[a-zA-Z0-9_-]{1,64}$ and is unique.
# Sets TQ_FN_COUNT to how many functions there are (not in a subshell: the
# checks count).
tq_check_function_names() {
  local n
  n=$(echo "$1" | jq '.result.tools | length')
  check "openai form lists functions" test "$n" -gt 0
  assert_eq "$n" "$(echo "$1" | jq '[.result.tools[].function.name | select(test("^[a-zA-Z0-9_-]{1,64}$"))] | length')" \
    "every function name matches ^[a-zA-Z0-9_-]{1,64}$"
  assert_eq "$n" "$(echo "$1" | jq '[.result.tools[].function.name] | unique | length')" \
    "function names are unique across providers"
  TQ_FN_COUNT=$n
}

# tq_bg COMMAND... — starts a helper (a peer server, a capture server) in the
# background; tq_cleanup stops it. VAR=value prefixes and redirections on the
# call apply to the command as usual.
TQ_BG_PIDS=()
tq_bg() {
  "$@" &
  TQ_BG_PIDS+=($!)
}

tq_cleanup() {
  local rc=$? p
  for p in "${TQ_BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  tq_stop_broker 2>/dev/null || true
  if [ -n "${TQ_DB:-}" ]; then
    tq_admin_psql -c "DROP DATABASE IF EXISTS $TQ_DB WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  if [ "$TQ_FAILED" -gt 0 ] || [ "$rc" -ne 0 ]; then
    echo "--- broker log (last 40 lines) ---"
    tail -n 40 "$TQ_DIR/broker.log" 2>/dev/null || true
  fi
  [ -n "${TQ_DIR:-}" ] && rm -rf "$TQ_DIR"
  [ $((TQ_PASSED + TQ_FAILED)) -gt 0 ] && echo "$TQ_PASSED passed, $TQ_FAILED failed"
  if [ "$rc" -eq 0 ] && [ "$TQ_FAILED" -gt 0 ]; then exit 1; fi
  exit "$rc"
}

tq_setup() {
  local name=$1
  TQ_DIR=$(mktemp -d /tmp/tqit.XXXXXX)
  TQ_DB="tq_it_${name}_$$"
  trap tq_cleanup EXIT
  tq_admin_psql -c "CREATE DATABASE $TQ_DB" >/dev/null
  export TOOLQ_HOME=$TQ_DIR
  export TOOLQ_DATABASE_URL="$(echo "$TOOLQ_TEST_DB_ADMIN_URL" | sed -E "s/dbname=[^ ]*/dbname=$TQ_DB/")"
  export TOOLQ_BROKER="ipc://$TQ_DIR/broker.sock"
  export TOOLQ_MASTER_KEY_FILE="$TQ_DIR/master.key"
  unset TOOLQ_HTTP_LISTEN   # no HTTP listener unless a test sets one (see tq_start_broker)
  head -c32 /dev/urandom | base64 >"$TOOLQ_MASTER_KEY_FILE"
  chmod 600 "$TOOLQ_MASTER_KEY_FILE"
}

# Starts the broker in the background and waits until a ping goes through.
# The HTTP listener is off unless the test exported TOOLQ_HTTP_LISTEN (an empty
# environment value means "unset", so the flag turns it off).
tq_start_broker() {
  local http=()
  [ -n "${TOOLQ_HTTP_LISTEN:-}" ] || http=(--set http.listen=)
  "$TOOLQ_BIN_DIR/toolq-broker" "${http[@]}" "$@" >>"$TQ_DIR/broker.log" 2>&1 &
  TQ_BROKER_PID=$!
  local i
  for i in $(seq 1 200); do
    if toolq --timeout 2 ping >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$TQ_BROKER_PID" 2>/dev/null; then
      echo "broker exited during start-up:"; tail -20 "$TQ_DIR/broker.log"; return 1
    fi
    sleep 0.1
  done
  echo "broker did not answer a ping within 20 s"; return 1
}

tq_stop_broker() {
  [ -n "$TQ_BROKER_PID" ] || return 0
  kill -TERM "$TQ_BROKER_PID" 2>/dev/null || true
  local i
  for i in $(seq 1 300); do
    kill -0 "$TQ_BROKER_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$TQ_BROKER_PID" 2>/dev/null || true
  TQ_BROKER_EXIT=0
  wait "$TQ_BROKER_PID" 2>/dev/null || TQ_BROKER_EXIT=$?
  TQ_BROKER_PID=""
}

# PIDs of the broker's worker children.
tq_worker_pids() { pgrep -P "$TQ_BROKER_PID" -f toolq-worker || true; }
