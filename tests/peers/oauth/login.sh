# login.sh — sourced by tests/integration/test_oauth*.sh: drives the
# devInteractions login and consent of tests/peers/oauth/server.mjs with curl
# and a cookie jar, one 303 hop per step. Needs AS (the server's base URL)
# and TQ_DIR. Never prints a token: only the final redirect (code + state).
drive_login() { # AUTHORIZATION_URL -> prints the callback URL
  local jar=$TQ_DIR/jar.$RANDOM L
  q() { curl -s -o /dev/null -w '%{redirect_url}' -b "$jar" -c "$jar" "$@"; }
  L=$(q "$1")
  L=$(q -X POST "$AS/interaction/${L##*/}" -d prompt=login -d login=alice -d password=x)
  L=$(q "$L")
  L=$(q -X POST "$AS/interaction/${L##*/}" -d prompt=consent)
  L=$(q "$L")
  echo "$L"
}
