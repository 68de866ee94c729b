#!/usr/bin/env bash
# test_errcodes.sh — the error-code registry guard (scripts/check-errcodes):
# green on the tree, and red, naming file, line and code, on a copy of the
# tree that uses an unregistered code or whose docs/errors.md is stale.
# Needs no database and no broker.
set -euo pipefail
src=${TOOLQ_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok - $*"; }
fail() { failed=$((failed + 1)); echo "FAIL - $*"; }

if out=$("$src/scripts/check-errcodes" 2>&1); then
  ok "the tree's error codes are all registered and docs/errors.md is current"
else
  fail "scripts/check-errcodes on the tree"; echo "$out"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/scripts" "$tmp/common" "$tmp/docs" "$tmp/worker/x"
cp "$src/scripts/check-errcodes" "$src/scripts/gen-errcodes" "$tmp/scripts/"
cp "$src/common/errcodes.txt" "$tmp/common/"
cp "$src/docs/errors.md" "$tmp/docs/"
cat >"$tmp/worker/x/x.c" <<'C'
static int f(tq_error_t *err, tq_job_t *job, int lost)
{
    tq_job_fail(job, "db_unavailable", "fine", true);
    tq_error_set(err, lost ? "invalid_argument" : "not_a_registered_code",
                 "second branch of a ternary");
    if (!strcmp(err->code, "compared_but_unknown")) return 0;
    return tq_error_set(
        err, "on_the_next_line", "a call split over lines");
}
C
if out=$("$tmp/scripts/check-errcodes" 2>&1); then
  fail "unregistered codes are refused"; echo "$out"
else
  for want in "worker/x/x.c:4: not_a_registered_code" "worker/x/x.c:6: compared_but_unknown" \
              "worker/x/x.c:7: on_the_next_line"; do
    if grep -qF "$want" <<<"$out"; then ok "reported: $want"; else fail "not reported: $want"; echo "$out"; fi
  done
  if grep -qE 'db_unavailable|: invalid_argument' <<<"$out"; then fail "registered codes reported"; else ok "registered codes pass"; fi
fi

rm "$tmp/worker/x/x.c"
echo "| \`extra\` | input | no | 1 | edited by hand |" >>"$tmp/docs/errors.md"
if out=$("$tmp/scripts/check-errcodes" 2>&1); then
  fail "a stale docs/errors.md is refused"
else
  if grep -q 'docs/errors.md does not match' <<<"$out"; then ok "a stale docs/errors.md is refused"; else fail "stale docs message"; echo "$out"; fi
fi
"$tmp/scripts/check-errcodes" --write >/dev/null && "$tmp/scripts/check-errcodes" >/dev/null &&
  ok "--write regenerates docs/errors.md" || fail "--write regenerates docs/errors.md"

printf 'dup_code  input  no  1  first\ndup_code  input  no  1  second\n' >>"$tmp/common/errcodes.txt"
if out=$("$tmp/scripts/check-errcodes" 2>&1); then
  fail "a code declared twice is refused"
else
  grep -q 'dup_code is declared twice' <<<"$out" && ok "a code declared twice is refused" || { fail "duplicate message"; echo "$out"; }
fi

echo "passed $passed, failed $failed"
[ "$failed" -eq 0 ]
