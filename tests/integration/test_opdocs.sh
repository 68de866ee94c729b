#!/usr/bin/env bash
# test_opdocs.sh — docs/ops.md and the README ops table are what the op
# catalogue (common/ops.def + common/ops/<op>.json) generates, and the
# generator notices a stale table (it fails on a copy with one op's doc line
# changed). Needs no database and no build.
set -euo pipefail
src=${TOOLQ_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
command -v jq >/dev/null || { echo "jq not found"; exit 77; }
fails=0
"$src/scripts/gen-opdocs" || { echo "FAIL: the committed op tables are stale"; fails=$((fails + 1)); }
copy=$(mktemp -d)
trap 'rm -rf "$copy"' EXIT
mkdir -p "$copy/scripts" "$copy/common" "$copy/docs"
cp "$src/scripts/gen-opdocs" "$copy/scripts/"
cp -r "$src/common/ops.def" "$src/common/ops" "$copy/common/"
cp "$src/README.md" "$copy/"
cp "$src/docs/ops.md" "$copy/docs/"
sed -i 's/"echo the payload"/"echo the payload back"/' "$copy/common/ops.def"
if "$copy/scripts/gen-opdocs" >/dev/null; then
  echo "FAIL: a changed doc line went unnoticed"; fails=$((fails + 1))
else
  echo "ok: a changed doc line is noticed"
fi
"$copy/scripts/gen-opdocs" --write >/dev/null
grep -q 'echo the payload back' "$copy/docs/ops.md" && grep -q 'echo the payload back' "$copy/README.md" \
  && echo "ok: --write regenerates both tables" || { echo "FAIL: --write"; fails=$((fails + 1)); }
[ "$fails" = 0 ]
