// server.mjs — oidc-provider 9.13.3 for tests/integration/test_oauth.sh.
// Usage: PORT=N REDIRECT=URI AT_TTL=S node server.mjs  (binds 127.0.0.1).
// Clients: basic-client/basic-secret (client_secret_basic), post-client/
// post-secret (client_secret_post). devInteractions login/consent (driven by
// curl), PKCE S256 required, refresh tokens rotate (reuse revokes the grant).
// GET /__stats -> {"token": n, ...}: POST /token requests counted before
// oidc-provider handles them, so tests can prove single-flight refresh
// (refresh/code split by grant_type only when the body was already parsed).
// GET /__ttl?s=N sets the lifetime (expires_in) of access tokens issued from
// then on (AT_TTL is the first one): short lifetimes for the refresh-rule
// tests without restarting the server (which would lose every grant).
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const redirect = process.env.REDIRECT;
const c = (id, secret, m) => ({
  client_id: id, client_secret: secret, redirect_uris: [redirect], response_types: ['code'],
  grant_types: ['authorization_code', 'refresh_token'], token_endpoint_auth_method: m,
});
const stats = { token: 0, refresh: 0, code: 0 };
let atTtl = Number(process.env.AT_TTL || 120);
const p = new Provider(issuer, {
  clients: [c('basic-client', 'basic-secret', 'client_secret_basic'),
            c('post-client', 'post-secret', 'client_secret_post')],
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true }, revocation: { enabled: true },
              introspection: { enabled: true } },
  scopes: ['openid', 'offline_access', 'profile', 'email'],
  rotateRefreshToken: true,
  ttl: { AccessToken: () => atTtl, AuthorizationCode: 60, IdToken: 3600,
         RefreshToken: 1209600, Grant: 1209600, Interaction: 600, Session: 3600 },
  findAccount: async (ctx, sub) => ({ accountId: sub, claims: async () => ({ sub, email: `${sub}@example.com` }) }),
  claims: { openid: ['sub'], email: ['email'] },
  cookies: { keys: ['test-only-key'] },
});
p.use(async (ctx, next) => {
  if (ctx.path === '/__stats') { ctx.body = stats; return; }
  if (ctx.path === '/__ttl') { atTtl = Number(ctx.query.s); ctx.body = { ttl: atTtl }; return; }
  if (ctx.path === '/token' && ctx.method === 'POST') {
    stats.token++;
    await next();
    const gt = ctx.request.body && ctx.request.body.grant_type;
    if (gt === 'refresh_token') stats.refresh++;
    if (gt === 'authorization_code') stats.code++;
    return;
  }
  await next();
});
p.listen(port, '127.0.0.1');
