// client.mjs — a real MCP client (the official TypeScript SDK, pinned in
// package.json) driven by tests/integration/test_mcp*.sh and scripts/bench-mcp.
//
//   node client.mjs (--stdio 'CMD ARG...' | --http URL [--key KEY] [--version V])
//                   --do '[ACTION, ...]'
//
// Actions (each prints one JSON line on stdout, in order):
//   ["list"]                          every tool, following nextCursor: {"tools": [...], "pages": N}
//   ["call", NAME, ARGS]              the CallToolResult (or {"error": {code, message}})
//   ["progress", NAME, ARGS]          {"progress": [notifications...], "result": ...}
//   ["cancel", NAME, ARGS, MS]        aborts the call after MS: {"cancelled": true} or the result
//   ["wait_list_changed", MS]         prints {"ready": true} at once, then
//                                     {"list_changed": true|false} within MS
//   ["ping"]                          {"pong": true}
//   ["sleep", MS]                     waits in the session: {"slept": MS}
//   ["info"]                          {"version", "capabilities", "serverInfo"}
// Exits 0 when every action ran (a tool error is a result, not a failure).
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";

const argv = process.argv.slice(2);
const opt = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const actions = JSON.parse(opt("--do") || '[["list"]]');
const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");

let transport;
if (opt("--stdio")) {
  const [command, ...args] = opt("--stdio").split(" ");
  transport = new StdioClientTransport({ command, args, env: process.env, stderr: "inherit" });
} else {
  const headers = {};
  if (opt("--key")) headers.Authorization = `Bearer ${opt("--key")}`;
  transport = new StreamableHTTPClientTransport(new URL(opt("--http")), { requestInit: { headers } });
}
const client = new Client({ name: "toolq-test", version: "1.0.0" });
let listChanged = 0;
client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
  listChanged++;
});

const err = (e) => ({ error: { code: e.code ?? null, message: String(e.message ?? e) } });

try {
  await client.connect(transport);
} catch (e) {
  out({ connect_error: err(e).error });
  process.exit(1);
}
for (const a of actions) {
  try {
    if (a[0] === "list") {
      const tools = [];
      let cursor, pages = 0;
      do {
        const r = await client.listTools(cursor ? { cursor } : {});
        tools.push(...r.tools);
        cursor = r.nextCursor;
        pages++;
      } while (cursor);
      out({ tools, pages });
    } else if (a[0] === "call") {
      out(await client.callTool({ name: a[1], arguments: a[2] ?? {} }));
    } else if (a[0] === "progress") {
      const progress = [];
      const result = await client.callTool({ name: a[1], arguments: a[2] ?? {} }, undefined, {
        onprogress: (p) => progress.push(p),
        timeout: 60000,
      });
      out({ progress, result });
    } else if (a[0] === "cancel") {
      const ac = new AbortController();
      setTimeout(() => ac.abort("test cancels"), a[3]);
      try {
        const r = await client.callTool({ name: a[1], arguments: a[2] ?? {} }, undefined, {
          signal: ac.signal,
        });
        out({ cancelled: false, result: r });
      } catch (e) {
        out({ cancelled: ac.signal.aborted, error: err(e).error });
      }
    } else if (a[0] === "wait_list_changed") {
      const before = listChanged;
      out({ ready: true });
      const until = Date.now() + a[1];
      while (listChanged === before && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      out({ list_changed: listChanged > before });
    } else if (a[0] === "sleep") {
      await new Promise((r) => setTimeout(r, a[1]));
      out({ slept: a[1] });
    } else if (a[0] === "ping") {
      await client.ping();
      out({ pong: true });
    } else if (a[0] === "info") {
      out({
        version: transport.protocolVersion ?? null,
        capabilities: client.getServerCapabilities(),
        serverInfo: client.getServerVersion(),
      });
    } else {
      out({ error: { message: `unknown action ${a[0]}` } });
    }
  } catch (e) {
    out(err(e));
  }
}
await client.close();
process.exit(0);
