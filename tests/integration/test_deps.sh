#!/usr/bin/env bash
# test_deps.sh — the dependency guard (scripts/check-deps): green on the tree
# (every include edge between parts allowed, 0 cycles), and red, naming the
# file, line and edge, on a copy of the tree where oauth/ includes invoke/ (a
# disallowed edge that closes the old oauth <-> invoke cycle) and where the
# worker core includes the executable's op table, and where oauth/ has SQL on
# tq_credentials (the credential store's table). Needs no database.
set -euo pipefail
src=${TOOLQ_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok - $*"; }
fail() { failed=$((failed + 1)); echo "FAIL - $*"; }

# With the build beside it (ctest sets TOOLQ_BIN_DIR), the symbol edges too.
build=$(cd "${TOOLQ_BIN_DIR:-/nonexistent}/.." 2>/dev/null && pwd || true)
nm_args=()
[ -n "$build" ] && [ -d "$build/lib" ] && nm_args=(--nm "$build")
if out=$("$src/scripts/check-deps" "${nm_args[@]}" 2>&1) && grep -q ', 0 cycles' <<<"$out"; then
  ok "the tree: all edges allowed, 0 cycles (${nm_args[*]:-includes only})"
else
  fail "scripts/check-deps on the tree"; echo "$out"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$src" && tar cf - CMakeLists.txt scripts/check-deps common libtoolq include cli broker worker plugins) |
  (cd "$tmp" && tar xf -)
printf '#include "invoke/invoke_request.h"\n' >>"$tmp/worker/oauth/oauth_http.h"
printf '#include "ops.h"\n' >>"$tmp/worker/worker.c"
if out=$("$tmp/scripts/check-deps" 2>&1); then
  fail "disallowed edges are refused"; echo "$out"
else
  for want in "worker/oauth/oauth_http.h:$(wc -l <"$tmp/worker/oauth/oauth_http.h"): #include \"invoke/invoke_request.h\" makes worker/oauth depend on worker/invoke" \
              "worker/worker.c:$(wc -l <"$tmp/worker/worker.c"): #include \"ops.h\" makes worker/core depend on worker/exe" \
              "cycle in the include graph: worker/oauth -> worker/invoke -> worker/oauth" \
              "cycle in the include graph: worker/core -> worker/exe -> worker/core"; do
    if grep -qF "$want" <<<"$out"; then ok "reported: $want"; else fail "not reported: $want"; echo "$out"; fi
  done
fi

# A part with no entry in the list is refused too (a new area must be placed).
sed -i '/#include "ops.h"/d' "$tmp/worker/worker.c"
sed -i '/#include "invoke\/invoke_request.h"/d' "$tmp/worker/oauth/oauth_http.h"
mkdir -p "$tmp/worker/newarea"
printf '#include "op.h"\n' >"$tmp/worker/newarea/newarea.c"
if out=$("$tmp/scripts/check-deps" 2>&1); then
  fail "an area missing from the allowed edges is refused"; echo "$out"
else
  grep -qF "worker/newarea/newarea.c:1: worker/newarea has no entry" <<<"$out" &&
    ok "an area missing from the allowed edges is refused" || { fail "new area message"; echo "$out"; }
fi

# Symbol edges: a worker core library that calls a handler of an area, and an
# area that calls back into the core (the old --start-group cycle).
mkdir -p "$tmp/build/lib"
printf 'int tq_op_fake(void);\nint tq_worker_fake(void) { return tq_op_fake(); }\n' >"$tmp/core.c"
printf 'int tq_worker_fake(void);\nint tq_op_fake(void) { return tq_worker_fake() + 1; }\n' >"$tmp/admin.c"
cc -c -o "$tmp/core.o" "$tmp/core.c" && ar rc "$tmp/build/lib/libtoolq_worker_core.a" "$tmp/core.o"
cc -c -o "$tmp/admin.o" "$tmp/admin.c" && ar rc "$tmp/build/lib/libtoolq_worker_admin.a" "$tmp/admin.o"
rm -rf "$tmp/worker/newarea"
if out=$("$tmp/scripts/check-deps" --nm "$tmp/build" 2>&1); then
  fail "a core library calling an area is refused"; echo "$out"
else
  for want in "libtoolq_worker_core.a uses tq_op_fake from libtoolq_worker_admin.a: worker/core depending on worker/admin is not an allowed edge" \
              "cycle in the symbol graph (nm): worker/admin -> worker/core -> worker/admin"; do
    if grep -qF "$want" <<<"$out"; then ok "reported: $want"; else fail "not reported: $want"; echo "$out"; fi
  done
fi

# Ownership: SQL on tq_credentials or tq_credential_refreshes outside
# worker/credstore/ is refused with the file and line, also when the table
# name starts the next literal; a vault AAD's bare "tq_credentials" is not SQL.
printf 'static const char *sneak = "UPDATE tq_credentials SET status = \x27active\x27 WHERE id = $1";\n' \
  >>"$tmp/worker/oauth/oauth_cred.c"
printf 'static const char *sneak2 = "SELECT id FROM"\n    " tq_credential_refreshes WHERE id = $1";\n' \
  >>"$tmp/worker/oauth/op_refresh.c"
printf 'static const char q = \x27"\x27; static tq_aad_t aad = {"t", "tq_credentials", "encrypted_data", "i"};\n' \
  >>"$tmp/worker/oauth/oauth_revoke.c"
if out=$("$tmp/scripts/check-deps" 2>&1); then
  fail "SQL on the credential tables outside worker/credstore/ is refused"; echo "$out"
else
  for want in "worker/oauth/oauth_cred.c:$(wc -l <"$tmp/worker/oauth/oauth_cred.c"): SQL on tq_credentials outside worker/credstore/" \
              "worker/oauth/op_refresh.c:$(wc -l <"$tmp/worker/oauth/op_refresh.c"): SQL on tq_credential_refreshes outside worker/credstore/"; do
    if grep -qF "$want" <<<"$out"; then ok "reported: $want"; else fail "not reported: $want"; echo "$out"; fi
  done
  if grep -qF "worker/oauth/oauth_revoke.c" <<<"$out"; then
    fail "an AAD table name is not SQL"; echo "$out"
  else
    ok "an AAD table name is not SQL"
  fi
fi

echo "passed $passed, failed $failed"
[ "$failed" -eq 0 ]
