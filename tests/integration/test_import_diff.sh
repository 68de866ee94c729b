#!/usr/bin/env bash
# Differential test against @apidevtools/swagger-parser (issue 9): for every
# document of the shared corpus and every operation, the set of parameters
# (name, in, required) and the top-level request body property names of
# toolq's tool bundle equal those of swagger-parser's dereferenced document.
# Differences are allowed only from the reasoned list in ALLOWED below.
# Needs the corpus ($TOOLQ_CORPUS_DIR) and node; skips (exit 77) without them.
set -euo pipefail
: "${TOOLQ_BIN_DIR:?run through ctest (scripts/test)}"
: "${TOOLQ_SOURCE_DIR:?run through ctest (scripts/test)}"
corpus=${TOOLQ_CORPUS_DIR:-$TOOLQ_SOURCE_DIR/../shared/corpus}
[ -d "$corpus" ] || { echo "corpus not found at $corpus; set TOOLQ_CORPUS_DIR"; exit 77; }
PEER=$TOOLQ_SOURCE_DIR/tests/peers/swagger-parser
if [ ! -d "$PEER/node_modules/@apidevtools/swagger-parser" ]; then
  npm install --no-audit --no-fund --prefix "$PEER" >/dev/null 2>&1 ||
    { echo "swagger-parser peer not installed (npm install --prefix $PEER)"; exit 77; }
fi
WORK=$(mktemp -d /tmp/tqdiff.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# document (relative to specs/) and, for multi-file ones, the root of its set
docs=()
for f in "$corpus"/specs/*; do [ -f "$f" ] && docs+=("$(basename "$f")|"); done
docs+=("multi/oai-v2-petstore-separate/spec/swagger.yaml|multi/oai-v2-petstore-separate")
docs+=("multi/vonage-application-v2/application.v2.yml|multi/vonage-application-v2")

i=0
for d in "${docs[@]}"; do
  doc=${d%%|*} root=${d#*|}
  i=$((i + 1))
  if [ -n "$root" ]; then
    "$TOOLQ_BIN_DIR/tq-oa-dump" --root "$corpus/specs/$root" "$corpus/specs/$doc" >"$WORK/$i.toolq" 2>"$WORK/$i.err" || true
  else
    "$TOOLQ_BIN_DIR/tq-oa-dump" "$corpus/specs/$doc" >"$WORK/$i.toolq" 2>"$WORK/$i.err" || true
  fi
  node "$PEER/ops.cjs" "$corpus/specs/$doc" >"$WORK/$i.peer"
  echo "$doc" >"$WORK/$i.name"
done

node - "$WORK" "$i" <<'JS'
const fs = require("fs");
const [dir, n] = [process.argv[2], Number(process.argv[3])];
// ALLOWED: the only differences toolq may have from swagger-parser, and why.
const ALLOWED = {
  // OpenAPI 3 §Parameter Object: a header named Accept, Content-Type or
  // Authorization "SHALL be ignored" (content negotiation and auth are the
  // invoker's); toolq drops them, swagger-parser keeps them as data.
  ignored_header: (p) => p[1] === "header" && /^(accept|content-type|authorization)$/i.test(p[0]),
  // A parameter without a name or an in, or with a location that is not
  // path/query/header/cookie (nor Swagger body/formData), cannot be sent:
  // toolq skips it with a warning (invalid_parameter / unsupported_parameter_location).
  unsendable: (p) => typeof p[0] !== "string" || !["path", "query", "header", "cookie"].includes(p[1]),
};
// Path parameters are always required (OpenAPI: "required: true" MUST be
// given); toolq enforces it, so a document that forgets it differs only there.
const norm = (p) => [p[0], p[1], p[1] === "path" ? true : p[2]];
const key = (p) => JSON.stringify(norm(p));
// A schema given by {"$ref": "#/$defs/NAME"}: its definition (the provider's defs).
const resolve = (s, defs) => {
  for (let i = 0; s && s.$ref && i < 64; i++) s = defs[s.$ref.slice("#/$defs/".length)];
  return s || {};
};
let docs = 0, ops = 0, compared = 0, allowed = 0, skippedDocs = [], problems = [];
for (let i = 1; i <= n; i++) {
  const name = fs.readFileSync(`${dir}/${i}.name`, "utf8").trim();
  const peer = JSON.parse(fs.readFileSync(`${dir}/${i}.peer`, "utf8"));
  const text = fs.readFileSync(`${dir}/${i}.toolq`, "utf8");
  docs++;
  if (peer.error) { skippedDocs.push(`${name} (swagger-parser: ${peer.error})`); continue; }
  if (!text.trim()) { problems.push(`${name}: toolq failed: ${fs.readFileSync(`${dir}/${i}.err`, "utf8").trim()}`); continue; }
  const res = JSON.parse(text);
  const tools = {};
  for (const t of res.tools) tools[`${t.method.toUpperCase()} ${t.path}`] = t;
  for (const [op, want] of Object.entries(peer.ops)) {
    ops++;
    const t = tools[op];
    if (!t) { problems.push(`${name} ${op}: no tool (skipped: ${res.skipped.includes(op)})`); continue; }
    compared++;
    const got = new Set(t.parameters.filter((a) => a.in !== "body")
      .map((a) => key([a.original_name || a.name, a.in, a.required])));
    const exp = new Set();
    for (const p of want.params) {
      const why = Object.keys(ALLOWED).find((k) => ALLOWED[k](p));
      if (why) { allowed++; continue; }
      exp.add(key(p));
    }
    const missing = [...exp].filter((k) => !got.has(k)), extra = [...got].filter((k) => !exp.has(k));
    if (missing.length || extra.length)
      problems.push(`${name} ${op}: parameters missing ${missing.join(" ")} extra ${extra.join(" ")}`);
    let body = [];
    const rb = t.request_body;
    if (rb && rb.hoisted) body = t.parameters.filter((a) => a.in === "body").map((a) => a.name);
    else if (rb) body = Object.keys(resolve(t.input_schema.properties[rb.argument], res.defs).properties || {});
    // readOnly properties are not inputs (JSON Schema / OpenAPI: "SHOULD NOT be
    // sent in a request"); toolq removes them, the peer lists every property.
    const wantBody = want.body.filter((b) => !want.readOnly.includes(b));
    allowed += want.body.length - wantBody.length;
    const bm = wantBody.filter((b) => !body.includes(b)), bx = body.filter((b) => !wantBody.includes(b));
    if (bm.length || bx.length)
      problems.push(`${name} ${op}: body properties missing [${bm}] extra [${bx}]`);
  }
}
for (const p of problems) console.log(`FAIL - ${p}`);
for (const s of skippedDocs) console.log(`not compared: ${s}`);
console.log(`${docs} documents (${skippedDocs.length} not compared), ${ops} operations, ${compared} compared, ` +
  `${allowed} allowed differences, ${problems.length} problems`);
process.exit(problems.length ? 1 : 0);
JS
