// ops.cjs — for tests/integration/test_import_diff.sh: dereferences one
// document with @apidevtools/swagger-parser (circular refs allowed) and prints
// one JSON object {"ops": {"GET /path": {"params": [[name, in, required]...],
// "body": [property names...], "readOnly": [those marked readOnly]}}} (or
// {"error": message}). Parameters are the
// path-level ones overridden by operation-level ones with the same (name, in),
// as the OpenAPI rules say; "body" holds the top-level property names of the
// request body schema (allOf members unioned) of the media type a tool would
// send (JSON first, then urlencoded, then multipart, else the first listed), or
// the Swagger 2.0 formData parameter names. Reads only its argument.
const SwaggerParser = require("@apidevtools/swagger-parser");
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

function mediaKind(mt) {
  const base = mt.split(";")[0].trim().toLowerCase();
  if (base === "application/json" || base.endsWith("+json")) return 0;
  if (base === "application/x-www-form-urlencoded") return 1;
  if (base.startsWith("multipart/")) return 2;
  return 3;
}

function choose(types) {
  for (let k = 0; k < 3; k++) for (const t of types) if (mediaKind(t) === k) return t;
  return types[0];
}

// Top-level property names, allOf members unioned (depth-bounded for cycles);
// the readOnly ones also go to ro.
function props(schema, out, depth, ro) {
  if (!schema || typeof schema !== "object" || depth > 32) return out;
  for (const [k, v] of Object.entries(schema.properties || {})) {
    out.add(k);
    if (v && v.readOnly === true) ro.add(k);
  }
  for (const m of schema.allOf || []) props(m, out, depth + 1, ro);
  return out;
}

const file = process.argv[2];
SwaggerParser.dereference(file, { dereference: { circular: true } })
  .then((api) => {
    const ops = {};
    const swagger = !!api.swagger;
    for (const [path, item] of Object.entries(api.paths || {})) {
      if (!item || typeof item !== "object") continue;
      for (const m of METHODS) {
        const op = item[m];
        if (!op || typeof op !== "object") continue;
        const merged = new Map();
        for (const p of [...(item.parameters || []), ...(op.parameters || [])]) {
          if (!p || typeof p !== "object") continue;
          merged.set(`${p.in}\u0000${p.name}`, p);
        }
        const params = [], body = new Set(), ro = new Set();
        for (const p of merged.values()) {
          if (p.in === "body") props(p.schema, body, 0, ro);
          else if (p.in === "formData") body.add(p.name);
          else params.push([p.name, p.in, p.required === true]);
        }
        if (!swagger && op.requestBody && op.requestBody.content) {
          const types = Object.keys(op.requestBody.content);
          if (types.length) props((op.requestBody.content[choose(types)] || {}).schema, body, 0, ro);
        }
        ops[`${m.toUpperCase()} ${path}`] = { params, body: [...body], readOnly: [...ro] };
      }
    }
    process.stdout.write(JSON.stringify({ ops }) + "\n");
  })
  .catch((e) => {
    process.stdout.write(JSON.stringify({ error: String(e.message).split("\n")[0] }) + "\n");
  });
