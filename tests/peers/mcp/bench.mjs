// bench.mjs — MCP tools/call round trips for scripts/bench-mcp: SESSIONS
// concurrent sessions of the official SDK client (Streamable HTTP, one API
// key), each calling TOOL with ARGS back to back until TOTAL calls are done.
//   node bench.mjs URL KEY SESSIONS TOTAL TOOL ARGS_JSON
// Prints {"rps", "p50_ms", "p99_ms", "ok", "n"} (connect time excluded).
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [url, key, sessions, total, tool, args] = process.argv.slice(2);
const n = Number(total), c = Number(sessions), a = JSON.parse(args);
const clients = await Promise.all(
  Array.from({ length: c }, async () => {
    const cl = new Client({ name: "toolq-bench", version: "1.0.0" });
    await cl.connect(
      new StreamableHTTPClientTransport(new URL(url), {
        requestInit: { headers: { Authorization: `Bearer ${key}` } },
      }),
    );
    return cl;
  }),
);
const lat = [];
let next = 0, ok = 0;
const t0 = performance.now();
await Promise.all(
  clients.map(async (cl) => {
    while (next < n) {
      next++;
      const s = performance.now();
      try {
        const r = await cl.callTool({ name: tool, arguments: a });
        if (!r.isError) ok++;
      } catch {}
      lat.push(performance.now() - s);
    }
  }),
);
const secs = (performance.now() - t0) / 1000;
lat.sort((x, y) => x - y);
const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
console.log(JSON.stringify({ rps: n / secs, p50_ms: q(0.5), p99_ms: q(0.99), ok, n }));
await Promise.all(clients.map((cl) => cl.close()));
process.exit(0);
