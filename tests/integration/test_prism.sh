#!/usr/bin/env bash
# Validation by a real peer (issue 4 §9): run `prism mock`
# (@stoplight/prism-cli, tests/peers/prism) on 127.0.0.1 for each document,
# import the document with its server URL pointed at Prism, invoke every
# operation with arguments generated from its input schema
# (prism_args.jq) and a credential matching its security scheme, and count
# the calls whose request Prism accepts (no 400/404/405/415/422 carrying
# validation violations: sl-violations header or a problem+json body).
# Pass: >= 95% of operations and at least PRISM_MIN_OPS of them tried.
# Prism instances run one at a time; the whole run is time-boxed
# (PRISM_TIME_BOX seconds, default 420).
# By default the documents are the repository's own (tests/data/openapi:
# OpenAPI 3.0 YAML, Swagger 2.0 JSON, OpenAPI 3.1 JSON); test_prism_corpus.sh
# runs the same check over the external corpus by setting PRISM_DIR,
# PRISM_DOCS (space-separated names in PRISM_DIR) and PRISM_MIN_OPS.
source "$(dirname "$0")/lib.sh"
PRISM="$TOOLQ_SOURCE_DIR/tests/peers/prism/node_modules/.bin/prism"
DIR=${PRISM_DIR:-$TOOLQ_SOURCE_DIR/tests/data/openapi}
DOCS=${PRISM_DOCS:-"petstore-3.0.yaml petstore-2.0.json library-3.1.json"}
MIN_OPS=${PRISM_MIN_OPS:-15}
if [ ! -x "$PRISM" ]; then
  echo "Prism is not installed (npm ci --prefix tests/peers/prism): skipped"; exit 77
fi
tq_setup prism
export TOOLQ_SSRF_ALLOW=127.0.0.1/32
# A wide heartbeat window (30 missed beats): a worker parsing a large document
# under ASan on a busy machine can miss 3 beats and be declared dead, which is
# not what this test checks.
tq_start_broker --workers 2 --set broker.heartbeat_liveness=30
BOX=${PRISM_TIME_BOX:-420}
START=$(date +%s)
TOTAL=0; ACCEPTED=0; REPORT="$TQ_DIR/prism-report.txt"; : >"$REPORT"
PRISM_PID=""
stop_prism() { if [ -n "$PRISM_PID" ]; then kill "$PRISM_PID" 2>/dev/null || true; wait "$PRISM_PID" 2>/dev/null || true; fi; PRISM_PID=""; }
trap 'stop_prism; tq_cleanup' EXIT

d=0
for doc in $DOCS; do
  if [ $(($(date +%s) - START)) -gt "$BOX" ]; then echo "time box reached: skipping the rest"; break; fi
  f="$DIR/$doc"; [ -f "$f" ] || { echo "missing $doc"; continue; }
  d=$((d + 1)); up=0
  for try in 1 2 3; do # a new port when another process took this one first
    port=$(tq_free_port)
    "$PRISM" mock -h 127.0.0.1 -p "$port" "$f" >"$TQ_DIR/prism-$d.log" 2>&1 &
    PRISM_PID=$!
    for _ in $(seq 1 600); do
      kill -0 "$PRISM_PID" 2>/dev/null && curl -s -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null && { up=1; break; }
      kill -0 "$PRISM_PID" 2>/dev/null || break
      sleep 0.1
    done
    [ "$up" = 1 ] && break
    stop_prism
    grep -q EADDRINUSE "$TQ_DIR/prism-$d.log" || break
  done
  if [ "$up" != 1 ]; then echo "prism did not start for $doc"; tail -3 "$TQ_DIR/prism-$d.log"; stop_prism; continue; fi
  base="http://127.0.0.1:$port"
  toolq import --tenant prism --name "p$d" --server-url "$base" "$f" >/dev/null
  dump=$("$TOOLQ_BIN_DIR/tq-oa-dump" "$f" "$base")
  # one named credential per security scheme
  while IFS=$'\t' read -r sname stype sin sparam sscheme; do
    [ -n "$sname" ] || continue
    cname="d${d}_$(echo "$sname" | tr -c 'A-Za-z0-9_\n' '_')"
    case "$stype/$sscheme" in
      apiKey/*) toolq credential add --tenant prism "$cname" --provider "p$d" --type apikey "location=$sin" "name=$sparam" value=prism-test-key >/dev/null ;;
      http/basic|http/Basic) toolq credential add --tenant prism "$cname" --provider "p$d" --type basic username=ann password=prism-pass >/dev/null ;;
      *) toolq credential add --tenant prism "$cname" --provider "p$d" --type bearer token=prism-test-token >/dev/null ;;
    esac
  done < <(echo "$dump" | jq -r '.security_schemes // {} | to_entries[] | [.key, .value.type, (.value.in // ""), (.value.name // ""), (.value.scheme // "")] | @tsv')
  n=0; okn=0
  while IFS= read -r tool; do
    op=$(echo "$tool" | jq -r .operation_id)
    args=$(echo "$tool" | jq -c -f "$TOOLQ_SOURCE_DIR/tests/integration/prism_args.jq")
    sec=$(echo "$tool" | jq -r '(.security // [])[0] // {} | keys[0] // ""')
    cred=()
    [ -n "$sec" ] && cred=(--credential "d${d}_$(echo "$sec" | tr -c 'A-Za-z0-9_\n' '_')")
    r=$(toolq --json invoke --tenant prism "p$d" "$op" --args-json "$args" "${cred[@]}" 2>/dev/null || true)
    n=$((n + 1))
    verdict=$(echo "$r" | jq -r '
      if .status == null then "error:" + (.error.code // "none")
      elif (.status as $s | [400,404,405,415,422] | any(.[]; . == $s))
           and ((.headers["sl-violations"] != null) or ((.content_type // "") | test("problem\\+json")))
        then "rejected"
      else "accepted" end' 2>/dev/null || echo "error:badjson")
    if [ "$verdict" = accepted ]; then okn=$((okn + 1)); else
      echo "$doc $op $verdict $(echo "$r" | jq -c '{status, v: (.headers["sl-violations"] // .body.validation // .body.detail // .error.message)}' 2>/dev/null | head -c 400)" >>"$REPORT"
    fi
  done < <(echo "$dump" | jq -c '.tools[]')
  echo "$doc: $okn/$n accepted"
  TOTAL=$((TOTAL + n)); ACCEPTED=$((ACCEPTED + okn))
  stop_prism
done
echo "--- rejected calls ---"; cat "$REPORT"
rate=$(awk -v a="$ACCEPTED" -v t="$TOTAL" 'BEGIN { printf "%.1f", t ? 100 * a / t : 0 }')
echo "Prism accepted $ACCEPTED of $TOTAL operations ($rate%) in $(($(date +%s) - START)) s"
check "at least $MIN_OPS operations were tried ($TOTAL)" test "$TOTAL" -ge "$MIN_OPS"
check "Prism accepts >= 95% of the calls ($rate%)" awk -v a="$ACCEPTED" -v t="$TOTAL" 'BEGIN { exit !(t > 0 && a * 100 >= 95 * t) }'
