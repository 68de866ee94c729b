# login.sh — sourced by tests/integration/test_oauth.sh and
# test_oauth_refresh.sh (after lib.sh): the OAuth authorization steps of a test, headless.
#   oauth_authorize ARGS...  `toolq oauth authorize ARGS`: sets AUTH_URL (the
#                            provider's URL) and AUTH_BINDING (the browser
#                            binding token when the broker binds states to a
#                            browser — `--headless` — else empty)
#   drive_login URL [JAR]    devInteractions login and consent of
#                            tests/peers/oauth/server.mjs with curl and a
#                            cookie jar (a listener /oauth/start URL first);
#                            prints the callback URL. Needs AS and TQ_DIR.
#   oauth_callback URL       `toolq --json oauth callback URL` (+ --binding)
# Never prints a token: only redirects (code + state).
oauth_authorize() {
  local j
  if j=$(toolq --json oauth authorize "$@" --headless 2>/dev/null) &&
    [ -n "$(jq -r '.binding // empty' <<<"$j" 2>/dev/null)" ]; then
    AUTH_URL=$(jq -r .authorization_url <<<"$j")
    AUTH_BINDING=$(jq -r .binding <<<"$j")
  else
    AUTH_URL=$(toolq oauth authorize "$@")
    AUTH_BINDING=""
  fi
}
drive_login() {
  local jar=${2:-$TQ_DIR/jar.$RANDOM} L
  q() { curl -s -o /dev/null -w '%{redirect_url}' -b "$jar" -c "$jar" "$@"; }
  L=$1
  if [[ $L == */oauth/start\?* ]]; then L=$(q "$L"); fi
  L=$(q "$L")
  L=$(q -X POST "$AS/interaction/${L##*/}" -d prompt=login -d login=alice -d password=x)
  L=$(q "$L")
  L=$(q -X POST "$AS/interaction/${L##*/}" -d prompt=consent)
  L=$(q "$L")
  echo "$L"
}
oauth_callback() {
  if [ -n "$AUTH_BINDING" ]; then
    toolq --json oauth callback "$1" --binding "$AUTH_BINDING"
  else
    toolq --json oauth callback "$1"
  fi
}
