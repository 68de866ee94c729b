#!/usr/bin/env bash
# test_deps.sh — the dependency guard (scripts/check-deps): green on the tree
# (every include edge between parts allowed, 0 cycles), and red, naming the
# file, line and edge, on a copy of the tree where oauth/ includes invoke/ (a
# disallowed edge that closes the old oauth <-> invoke cycle) and where the
# worker core includes the executable's op table. Needs no database.
set -euo pipefail
src=${TOOLQ_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok - $*"; }
fail() { failed=$((failed + 1)); echo "FAIL - $*"; }

if out=$("$src/scripts/check-deps" 2>&1) && grep -q ', 0 cycles' <<<"$out"; then
  ok "the tree: all edges allowed, 0 cycles"
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

echo "passed $passed, failed $failed"
[ "$failed" -eq 0 ]
