-- 004_oauth.sql — OAuth 2.0 (worker/oauth/, docs/oauth.md).
--
-- tq_oauth_states: one row per authorization in progress. The primary key is
-- the SHA-256 (hex) of the state, never the state itself, so a database dump
-- cannot complete anyone's authorization. code_verifier is a vault text
-- ciphertext bound to (tenant_id, 'tq_oauth_states', 'code_verifier',
-- state_hash). Single use: used_at is set by the one UPDATE that consumes it.
CREATE TABLE IF NOT EXISTS tq_oauth_states (
    state_hash      text         PRIMARY KEY,
    tenant_id       uuid         NOT NULL,
    plugin_id       varchar(255) NOT NULL,
    provider        varchar(255) NOT NULL,
    code_verifier   text,
    redirect_uri    text         NOT NULL,
    scopes          text         NOT NULL DEFAULT '',
    credential_name varchar(255) NOT NULL,
    issuer          text,
    iss_required    boolean      NOT NULL DEFAULT false,
    created_at      timestamptz  NOT NULL DEFAULT now(),
    expires_at      timestamptz  NOT NULL,
    used_at         timestamptz
);
CREATE INDEX IF NOT EXISTS tq_oauth_states_expires_idx ON tq_oauth_states (expires_at);

-- Credential refresh bookkeeping. status: active | refresh_failing |
-- reauth_required. The refresh lease (refresh_owner, refresh_lease_until) is
-- the cross-worker, cross-broker single-flight lock of one credential: taken
-- by one conditional UPDATE, fenced on release (docs/oauth.md, "Refresh").
-- refreshed_at: when the tokens last changed (the "already renewed" check).
ALTER TABLE tq_credentials
    ADD COLUMN IF NOT EXISTS refresh_owner        text,
    ADD COLUMN IF NOT EXISTS refresh_lease_until  timestamptz,
    ADD COLUMN IF NOT EXISTS refreshed_at         timestamptz,
    ADD COLUMN IF NOT EXISTS refresh_failures     int NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS last_refresh_at      timestamptz,
    ADD COLUMN IF NOT EXISTS last_refresh_outcome varchar(32),
    ADD COLUMN IF NOT EXISTS last_refresh_error   varchar(64);

-- Sweeps scan due OAuth credentials by expiry.
CREATE INDEX IF NOT EXISTS tq_credentials_oauth_due_idx ON tq_credentials (expires_at)
    WHERE type = 'oauth2' AND status <> 'reauth_required';

-- Every refresh attempt: time, outcome (refreshed, already_renewed,
-- not_due, reauth_required, transient), error code. Never a token.
CREATE TABLE IF NOT EXISTS tq_credential_refreshes (
    id            bigserial    PRIMARY KEY,
    credential_id uuid         NOT NULL REFERENCES tq_credentials (id) ON DELETE CASCADE,
    tenant_id     uuid         NOT NULL,
    attempted_at  timestamptz  NOT NULL DEFAULT now(),
    outcome       varchar(32)  NOT NULL,
    error_code    varchar(64),
    job_id        text
);
CREATE INDEX IF NOT EXISTS tq_credential_refreshes_cred_idx
    ON tq_credential_refreshes (credential_id, attempted_at DESC);
