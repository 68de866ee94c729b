-- 006_oauth_binding.sql — binds an OAuth authorization to the browser (or
-- headless client) that started it (docs/oauth.md, "Start URL and browser
-- binding").
--
-- binding_hash: SHA-256 (hex) of the binding token. Set when the row is
-- created for a headless authorization (the token goes back to the caller),
-- or by the first GET /oauth/start (the token goes into that browser's
-- cookie). oauth.exchange consumes the state only with the matching token.
-- authorize_url: the provider's authorization URL without its state
-- parameter (the listener appends the state it was given), so the table
-- still never holds a state in clear. tenant_name: the tenant as the client
-- named it, shown on the callback page. started_at: when /oauth/start ran.
ALTER TABLE tq_oauth_states
    ADD COLUMN IF NOT EXISTS binding_hash  text,
    ADD COLUMN IF NOT EXISTS authorize_url text,
    ADD COLUMN IF NOT EXISTS tenant_name   text,
    ADD COLUMN IF NOT EXISTS started_at    timestamptz;
