#!/usr/bin/env bash
# The Python client (clients/python, pytest with Debian's python3-pytest)
# against a real broker started here (workers, PostgreSQL, the echo server),
# and README's "From any language" examples (the curl and Python blocks
# between the from-any-language markers), run as they are written.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
if ! "$PY" -c 'import pytest' 2>/dev/null; then
  echo "skip: python3-pytest is not installed (scripts/bootstrap with TOOLQ_BOOTSTRAP_TEST=1)"
  exit 77
fi
tq_setup api_python
exec 5< <("$TOOLQ_BIN_DIR/tq-echo-server" --die-with-parent)
read -r EPORT <&5
PORT=$(tq_free_port)
export TOOLQ_HTTP_LISTEN="127.0.0.1:$PORT"
export TOOLQ_SSRF_ALLOW=127.0.0.1/32
tq_start_broker --workers 2
export TOOLQ_URL="http://127.0.0.1:$PORT"
# assigned before export: `export X=$(cmd)` would hide a failing cmd from set -e,
# and pytest would then skip every test and pass
KA=$(toolq apikey create --tenant acme --name py)
KB=$(toolq apikey create --tenant beta --name py)
check "the two API keys were created" test -n "$KA" -a -n "$KB"
export TOOLQ_KEY_A=$KA TOOLQ_KEY_B=$KB
export TOOLQ_ECHO_URL="http://127.0.0.1:$EPORT"
export TOOLQ_ECHO_SPEC="$TOOLQ_SOURCE_DIR/tests/data/invoke/echo.yaml"
export PYTHONPATH="$TOOLQ_SOURCE_DIR/clients/python"
export PYTHONDONTWRITEBYTECODE=1

check "pytest clients/python/tests" "$PY" -m pytest -q -p no:cacheprovider "$TOOLQ_SOURCE_DIR/clients/python/tests"

# README "From any language": every fenced block between the markers, as written
block() { # block LANG -> the Nth fenced block of LANG inside the section
  awk -v lang="$1" '/<!-- from-any-language:begin -->/ {on=1} /<!-- from-any-language:end -->/ {on=0}
    on && $0 == "```" lang {inb=1; next} on && inb && $0 == "```" {inb=0; next} on && inb {print}' \
    "$TOOLQ_SOURCE_DIR/README.md"
}
block sh >"$TQ_DIR/readme.sh"
block python >"$TQ_DIR/readme.py"
check "README has a curl example" grep -q curl "$TQ_DIR/readme.sh"
check "README has a Python example" grep -q toolq_client "$TQ_DIR/readme.py"
export TOOLQ_KEY="$TOOLQ_KEY_A" PETSTORE="$TOOLQ_ECHO_SPEC" PETSTORE_URL="$TOOLQ_ECHO_URL"
cd "$TQ_DIR"
check "README curl examples run" bash -euo pipefail "$TQ_DIR/readme.sh"
check "README Python example runs (the agent loop calls a tool)" "$PY" "$TQ_DIR/readme.py"
