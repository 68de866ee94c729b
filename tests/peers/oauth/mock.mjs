// mock.mjs — oauth2-mock-server 8.2.3 for fault injection in
// tests/integration/test_oauth.sh and scripts/bench-refresh.
// Usage: PORT=N node mock.mjs (binds 127.0.0.1). Refresh tokens starting
// with "revoked" get 400 invalid_grant; "flaky" get 503; "blip" get 503 the
// first two times, then succeed; others succeed with a new refresh token
// and expires_in 3600. GET /__stats -> {"refresh": n, "by_token": {rt:
// count}, "api": {path: count}} (double refreshes show as a count > 1).
// A protected API for the refresh-on-401 rules: GET /api/r401 answers 401
// with WWW-Authenticate: Bearer error="invalid_token" to an access token
// starting with "at-" (the tests' seeded, "stale" ones) and 200 to the
// tokens this server issued; GET /api/r403 always answers 403
// insufficient_scope.
import { OAuth2Server } from 'oauth2-mock-server';

const port = Number(process.env.PORT);
const s = new OAuth2Server();
await s.issuer.keys.generate('RS256');
const stats = { refresh: 0, by_token: {}, api: {} };
s.service.on('beforeResponse', (resp, req) => {
  const rt = req.body && req.body.refresh_token;
  if (req.body && req.body.grant_type === 'refresh_token') {
    stats.refresh++;
    stats.by_token[rt] = (stats.by_token[rt] || 0) + 1;
    if (rt.startsWith('revoked')) {
      resp.statusCode = 400;
      resp.body = { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' };
    } else if (rt.startsWith('flaky') || (rt.startsWith('blip') && stats.by_token[rt] <= 2)) {
      resp.statusCode = 503;
      resp.body = { error: 'temporarily_unavailable' };
    } else {
      resp.body.expires_in = 3600;
      delete resp.body.id_token;
    }
  }
});
s.service.on('beforeUserinfo', (resp) => { resp.body = { sub: 'mock-user' }; });
const app = s.service.requestHandler;
import http from 'node:http';
const server = http.createServer((req, res) => {
  if (req.url === '/__stats') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(stats));
    return;
  }
  if (req.url === '/api/r401' || req.url === '/api/r403') {
    stats.api[req.url] = (stats.api[req.url] || 0) + 1;
    const tok = (req.headers.authorization || '').replace(/^Bearer /i, '');
    res.setHeader('content-type', 'application/json');
    if (req.url === '/api/r403') {
      res.statusCode = 403;
      res.setHeader('www-authenticate', 'Bearer error="insufficient_scope", scope="admin"');
      res.end('{"error":"insufficient_scope"}');
    } else if (!tok || tok.startsWith('at-')) {
      res.statusCode = 401;
      res.setHeader('www-authenticate', 'Bearer error="invalid_token"');
      res.end('{"error":"invalid_token"}');
    } else {
      res.end('{"ok":true}');
    }
    return;
  }
  app(req, res);
});
server.keepAliveTimeout = 60000;
server.listen(port, '127.0.0.1');
s.issuer.url = `http://127.0.0.1:${port}`;
