#!/usr/bin/env bash
# The CLI's side of the security review (F14): relative $ref bundling stays
# in the entry document's folder unless --allow-outside DIR (symbolic links
# included), secrets given as "-" are read from stdin (--api-key-value -,
# oauth callback -), and the default endpoint is an absolute path whose
# folder and socket must belong to the caller.
source "$(dirname "$0")/lib.sh"
tq_setup cli_security
exec 5< <("$TOOLQ_BIN_DIR/tq-echo-server" --die-with-parent)
read -r PORT <&5
export TOOLQ_SSRF_ALLOW=127.0.0.1/32
tq_start_broker --workers 1
jobs_of() { tq_psql -c "select count(*) from tq_jobs where op = '$1'"; }

# --- $ref bundling stays inside the entry's folder ------------------------------
mkdir -p "$TQ_DIR/spec" "$TQ_DIR/private"
echo '{"auths": {"type": "object", "description": "PRIVATE-CONTENT-77"}}' >"$TQ_DIR/private/creds.json"
chmod 600 "$TQ_DIR/private/creds.json"
echo '{"Pet": {"type": "object"}}' >"$TQ_DIR/spec/common.json"
ln -s ../private/creds.json "$TQ_DIR/spec/link.json"
spec() { # spec FILE REF
  cat >"$TQ_DIR/spec/$1" <<EOF
openapi: 3.0.0
info: {title: t, version: "1"}
servers: [{url: "http://127.0.0.1:$PORT"}]
paths:
  /x:
    get:
      operationId: getX
      responses:
        "200":
          description: ok
          content: {application/json: {schema: {\$ref: "$2"}}}
EOF
}
spec out.yaml "../private/creds.json#/auths"
spec link.yaml "link.json#/auths"
spec in.yaml "common.json#/Pet"
before=$(jobs_of provider.import)
set +e
r=$(toolq --json import --tenant acme "$TQ_DIR/spec/out.yaml"); rc=$?
set -e
assert_eq ref_outside_folder "$(echo "$r" | jq -r .error.code)" "a \$ref out of the entry's folder is refused"
assert_eq 1 "$rc" "the refused import exits 1"
check "the error names the way out (--allow-outside)" grep -q -- --allow-outside <<<"$r"
set +e
r=$(toolq --json import --tenant acme "$TQ_DIR/spec/link.yaml"); rc=$?
set -e
assert_eq ref_outside_folder "$(echo "$r" | jq -r .error.code)" "a symbolic link inside the folder cannot lead out of it"
assert_eq "$before" "$(jobs_of provider.import)" "nothing was sent for a refused import (no job)"
r=$(toolq --json import --tenant acme "$TQ_DIR/spec/in.yaml")
assert_eq true "$(echo "$r" | jq .ok)" "a \$ref inside the folder is bundled"
r=$(toolq --json import --tenant acme --name out2 --allow-outside "$TQ_DIR/private" "$TQ_DIR/spec/out.yaml")
assert_eq true "$(echo "$r" | jq .ok)" "--allow-outside DIR lets that folder in"
set +e
r=$(toolq --json import --tenant acme --allow-outside "$TQ_DIR/nope" "$TQ_DIR/spec/in.yaml" 2>&1); rc=$?
set -e
assert_eq 2 "$rc" "--allow-outside with a missing folder is a usage error"

# --- secrets from stdin -----------------------------------------------------------
KEY="sk-stdin-$(head -c8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s\n' "$KEY" | toolq --json import --tenant acme --name echo --server-url "http://127.0.0.1:$PORT" \
  --auth api_key_header --api-key-header X-Api-Key --api-key-value - \
  "$TOOLQ_SOURCE_DIR/tests/data/invoke/echo.yaml" >/dev/null
r=$(toolq --json invoke --tenant acme echo getItem id=1)
assert_eq '[REDACTED]' "$(echo "$r" | jq -r '[.body.headers[] | select(.[0] == "X-Api-Key") | .[1]] | join("")')" \
  "--api-key-value - : the key read from stdin is the one sent (and redacted in the result)"
n=${#KEY}
assert_eq "${KEY:0:2}***${KEY: -2}" "$(toolq --json provider --tenant acme echo | jq -r .result.credentials.api_key_value)" \
  "the stored key is the stdin line without its line ending"
set +e
r=$(printf '' | toolq import --tenant acme --name e2 --auth api_key_header --api-key-value - "$TOOLQ_SOURCE_DIR/tests/data/invoke/echo.yaml" 2>&1); rc=$?
set -e
assert_eq 2 "$rc" "--api-key-value - with nothing on stdin is a usage error"
set +e
r=$(echo "http://127.0.0.1:8765/oauth/callback?state=no-such-state-$RANDOM&code=c0de" | toolq --json oauth callback -); rc=$?
set -e
assert_eq oauth_state_invalid "$(echo "$r" | jq -r .error.code)" "oauth callback - reads the URL from stdin (and submits it)"

# --- the default endpoint ----------------------------------------------------------
out=$(cd "$(dirname "$TQ_DIR")" && env -u TOOLQ_BROKER TOOLQ_HOME="$(basename "$TQ_DIR")" "$TOOLQ_BIN_DIR/toolq" ping)
check "a relative TOOLQ_HOME becomes an absolute endpoint: $out" grep -q "ipc://$TQ_DIR/broker.sock" <<<"$out"
mkdir -p "$TQ_DIR/open"
chmod 0777 "$TQ_DIR/open"
set +e
out=$(env -u TOOLQ_BROKER TOOLQ_HOME="$TQ_DIR/open" "$TOOLQ_BIN_DIR/toolq" --timeout 2 ping 2>&1); rc=$?
set -e
assert_eq 3 "$rc" "a folder others may write is refused"
check "with endpoint_unsafe: $out" grep -q "endpoint_unsafe.*writable by other users" <<<"$out"
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
  mkdir -p "$TQ_DIR/theirs" "$TQ_DIR/planted"
  chown nobody "$TQ_DIR/theirs"
  set +e
  out=$(env -u TOOLQ_BROKER TOOLQ_HOME="$TQ_DIR/theirs" "$TOOLQ_BIN_DIR/toolq" --timeout 2 ping 2>&1); rc=$?
  set -e
  assert_eq 3 "$rc" "a folder owned by another user is refused"
  check "with endpoint_unsafe: $out" grep -q "endpoint_unsafe.*belongs to another user" <<<"$out"
  python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$TQ_DIR/planted/broker.sock"
  chown nobody "$TQ_DIR/planted/broker.sock"
  set +e
  out=$(env -u TOOLQ_BROKER TOOLQ_HOME="$TQ_DIR/planted" "$TOOLQ_BIN_DIR/toolq" --timeout 2 ping 2>&1); rc=$?
  set -e
  assert_eq 3 "$rc" "a socket planted by another user in my folder is refused"
  check "names the socket: $out" grep -q "planted/broker.sock belongs to another user" <<<"$out"
else
  echo "ok - # SKIP other-user endpoint checks need root"
fi
