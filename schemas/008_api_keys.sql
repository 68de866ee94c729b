-- 008_api_keys.sql — the API keys of the HTTP API under /v1 (docs/api.md).
--
-- A key is 256 random bits that the toolq command draws and prints once;
-- only its SHA-256 (hex) reaches this table (the apikey.create /
-- apikey.grant ops store it). The broker's HTTP listener looks a presented
-- key up by that hash (broker/apikey.c), compares it in constant time and
-- takes the tenant and role from the row, never from the request.
-- tenant: the tenant name as given (jobs of the key run under it); tenant_id
-- its uuid (scoping of list/revoke). role: what the catalogue's roles
-- allow (common/opcat.h). expires_at NULL: never. revoked_at set: refused.
-- Must never hold a key in clear.
CREATE TABLE IF NOT EXISTS tq_api_keys (
    id          uuid PRIMARY KEY,
    key_hash    text NOT NULL UNIQUE CHECK (key_hash ~ '^[0-9a-f]{64}$'),
    tenant      text NOT NULL,
    tenant_id   uuid NOT NULL,
    name        text NOT NULL,
    role        text NOT NULL CHECK (role IN ('tenant', 'integrator', 'operator')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz,
    revoked_at  timestamptz
);
-- a live key's name is unique per tenant (revoke by name)
CREATE UNIQUE INDEX IF NOT EXISTS tq_api_keys_name
    ON tq_api_keys (tenant_id, name) WHERE revoked_at IS NULL;
