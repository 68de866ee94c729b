#!/usr/bin/env bash
# test_curve.sh — tcp:// endpoints are CURVE only (issue 15): a client or
# worker is admitted by its public key from curve.allow_dir, with the role of
# that key's metadata; no key, an unknown key, a revoked (removed) key, a
# plaintext peer, a worker key on the frontend and a client key on the
# backend are refused at the handshake. ipc keeps the uid rule.
source "$(dirname "$0")/lib.sh"
tq_setup curve

K=$TQ_DIR/keys; A=$TQ_DIR/allowed
mkdir -p "$K" "$A"
toolq keygen broker --dir "$K" >/dev/null
for spec in op:operator ten:tenant:acme wk:worker gone:integrator stranger:operator late:integrator; do
  toolq keygen "${spec%%:*}" --role "${spec#*:}" --dir "$K" >/dev/null
done
check "keygen: the secret file is 0600" test "$(stat -c %a "$K/op.key_secret")" = 600
check "keygen: the public file carries the role" grep -q 'role = "tenant:acme"' "$K/ten.key"
check "keygen never overwrites" bash -c "! '$TOOLQ_BIN_DIR/toolq' keygen op --role operator --dir '$K' 2>/dev/null"
set +e; toolq keygen x --role root --dir "$K" >/dev/null 2>&1; rc=$?; set -e
assert_eq 2 "$rc" "keygen: an unknown role is a usage error"
cp "$K/op.key" "$K/ten.key" "$K/wk.key" "$K/gone.key" "$K/late.key" "$A/"   # not stranger
toolq keygen forged --role operator --dir "$K" >/dev/null          # allowed, with a bad role
sed 's/role = "operator"/role = "root"/' "$K/forged.key" >"$A/forged.key"

FP=$(tq_free_port); BP=$(tq_free_port)
CURVE=(--set broker.frontend_tcp="tcp://127.0.0.1:$FP" --set broker.backend_tcp="tcp://127.0.0.1:$BP"
       --set curve.secret_key_file="$K/broker.key_secret" --set curve.allow_dir="$A")

# the broker's secret key must be owner-only
chmod 644 "$K/broker.key_secret"
set +e
timeout 20 "$TOOLQ_BIN_DIR/toolq-broker" --set http.listen= "${CURVE[@]}" >"$TQ_DIR/perm.log" 2>&1; rc=$?
set -e
assert_eq 1 "$rc" "a readable broker secret key is refused at start"
check "... with invalid_config" grep -q "invalid_config.*readable by others" "$TQ_DIR/perm.log"
chmod 600 "$K/broker.key_secret"

tq_start_broker --workers 1 "${CURVE[@]}"
TCP="tcp://127.0.0.1:$FP"
as() { # as KEYNAME toolq-args... (over tcp with that key)
  local k=$1; shift
  TOOLQ_BROKER=$TCP TOOLQ_CURVE_SERVER_KEY="$K/broker.key" TOOLQ_CURVE_KEY="$K/$k.key_secret" \
    "$TOOLQ_BIN_DIR/toolq" --timeout 3 "$@"
}

w=$(as op --json whoami)
assert_eq operator "$(echo "$w" | jq -r .role)" "an operator key is operator over tcp"
assert_eq "key op" "$(echo "$w" | jq -r .principal)" "... and is named by its key file"
check "an operator key runs a job over tcp" as op ping --tenant t1
check "an operator key may read stats" as op stats
w=$(as ten --json whoami)
assert_eq "tenant acme" "$(echo "$w" | jq -r '.role + " " + .tenant')" "a tenant key acts for its tenant"
r=$(as ten --json submit ping --tenant other || true)
assert_eq forbidden "$(echo "$r" | jq -r .error.code)" "a tenant key cannot act for another tenant"
r=$(as ten --json stats || true)
assert_eq forbidden "$(echo "$r" | jq -r .error.code)" "a tenant key may not read stats"

# refusals at the handshake: the broker never answers
set +e
as stranger whoami >/dev/null 2>&1; rc=$?
assert_eq 3 "$rc" "an unknown key is refused (no answer: unreachable)"
check "... the broker logged the refusal" grep -q "CURVE: refused .*key not allowed" "$TQ_DIR/broker.log"
as forged whoami >/dev/null 2>&1; rc=$?
assert_eq 3 "$rc" "a key whose role is not one of the four is refused"
check "... logged at load" grep -q "forged.key has no valid role" "$TQ_DIR/broker.log"
as wk whoami >/dev/null 2>&1; rc=$?
assert_eq 3 "$rc" "a worker key is refused on the frontend"
check "... logged" grep -q "a worker key is for the backend only" "$TQ_DIR/broker.log"
out=$(TOOLQ_BROKER=$TCP TOOLQ_CURVE_SERVER_KEY= TOOLQ_CURVE_KEY= "$TOOLQ_BIN_DIR/toolq" --json --timeout 3 whoami); rc=$?
set -e
assert_eq curve_keys "$(echo "$out" | jq -r .error.code)" "no key: the client says which keys are missing"
# a plaintext peer (no CURVE at all) on either tcp endpoint hears nothing
"$TOOLQ_BIN_DIR/tq-rogue-worker" "$TCP" 2 >"$TQ_DIR/plain-front.out"
assert_eq "jobs 0 replies 0" "$(cat "$TQ_DIR/plain-front.out")" "a plaintext peer gets no answer on the tcp frontend"
"$TOOLQ_BIN_DIR/tq-rogue-worker" "tcp://127.0.0.1:$BP" 2 >"$TQ_DIR/plain-back.out"
assert_eq "jobs 0 replies 0" "$(cat "$TQ_DIR/plain-back.out")" "a plaintext worker gets nothing on the tcp backend"
# a client key on the backend is refused; the worker key is admitted (control)
TOOLQ_CURVE_SERVER_KEY="$K/broker.key" TOOLQ_CURVE_KEY="$K/op.key_secret" \
  "$TOOLQ_BIN_DIR/tq-rogue-worker" "tcp://127.0.0.1:$BP" 2 >"$TQ_DIR/opback.out"
assert_eq "jobs 0 replies 0" "$(cat "$TQ_DIR/opback.out")" "an operator key is refused on the backend"
check "... logged" grep -q "not a worker key" "$TQ_DIR/broker.log"
TOOLQ_CURVE_SERVER_KEY="$K/broker.key" TOOLQ_CURVE_KEY="$K/wk.key_secret" \
  "$TOOLQ_BIN_DIR/tq-rogue-worker" "tcp://127.0.0.1:$BP" 4 >"$TQ_DIR/wkback.out" &
rogue=$!
tq_wait_for 10 bash -c "TOOLQ_BROKER='ipc://$TQ_DIR/broker.sock' '$TOOLQ_BIN_DIR/toolq' --json stats | jq -e '[.workers[] | select(.where | startswith(\"tcp 127.0.0.1 key wk\"))] | length == 1' >/dev/null" \
  && ok "a worker key registers on the backend without a fork secret; stats shows where" \
  || fail "the worker key's READY was not admitted"
wait $rogue

# revocation: a key removed from the folder is refused at the next handshake
assert_eq integrator "$(as gone --json whoami | jq -r .role)" "the 'gone' key works while allowed"
rm "$A/gone.key"
set +e; as gone whoami >/dev/null 2>&1; rc=$?; set -e
assert_eq 3 "$rc" "a revoked (removed) key is refused at the handshake"
# ... and a connection it opened before has no role from the next heartbeat on
TOOLQ_BROKER=$TCP TOOLQ_CURVE_SERVER_KEY="$K/broker.key" TOOLQ_CURVE_KEY="$K/late.key_secret" \
  "$TOOLQ_BIN_DIR/tq-failover" -n 200 -c 1 --rate 40 --tenant t9 --prefix late --deadline-s 30 \
  >"$TQ_DIR/late.json" 2>"$TQ_DIR/late.err" &
late=$!
accepted_late() { [ "$(tq_psql -c "select count(*) from tq_jobs where idempotency_key like 'late-%'")" -ge 20 ]; }
tq_wait_for 20 accepted_late || fail "the 'late' key's stream did not start"
rm "$A/late.key"
wait $late || true
check "submits on the live connection are refused once the key is removed" grep -q "refused: forbidden" "$TQ_DIR/late.err"
check "... so the stream did not complete" test "$(jq .accepted "$TQ_DIR/late.json")" -lt 200

# ipc keeps the uid rule (same broker)
assert_eq operator "$(toolq --json whoami | jq -r .role)" "ipc: the broker's own uid is still operator"
tq_stop_broker
