// keyproxy.mjs — a loopback reverse proxy for the MCP conformance suite, whose
// server scenarios connect without credentials: it forwards every request to
// TARGET (toolq's /mcp) adding `Authorization: Bearer KEY`, and streams the
// answer back unchanged (SSE included). A Host or Origin naming the proxy
// itself becomes TARGET's; any other Host or Origin passes through as sent,
// so the suite's DNS-rebinding checks reach toolq's own guards.
//   node keyproxy.mjs TARGET_URL KEY   -> prints its port on the first line
// Exits when its parent does. Test-only.
import http from "node:http";

const [target, key] = process.argv.slice(2);
const t = new URL(target);
const server = http.createServer((req, res) => {
  const headers = { ...req.headers, authorization: `Bearer ${key}` };
  const own = `localhost:${server.address().port}`;
  const own4 = `127.0.0.1:${server.address().port}`;
  if (headers.host === own || headers.host === own4) headers.host = t.host;
  if (headers.origin === `http://${own}` || headers.origin === `http://${own4}`)
    headers.origin = t.origin;
  const up = http.request(
    { host: t.hostname, port: t.port, method: req.method, path: req.url, headers },
    (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    },
  );
  up.on("error", () => {
    res.writeHead(502);
    res.end();
  });
  req.pipe(up);
  res.on("close", () => up.destroy());
});
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
// leave with the test that started it
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(0);
}, 500).unref();
