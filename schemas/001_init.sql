-- 001_init.sql — toolq's first schema: the seed's tool tables (names,
-- columns, constraints and index names kept exactly), the vault's key
-- tables, and the jobs journal. Applied by the broker under an advisory lock.

CREATE TABLE tool_api_providers (
    id               uuid         NOT NULL DEFAULT gen_random_uuid(),
    name             varchar(255) NOT NULL,
    tenant_id        uuid         NOT NULL,
    user_id          uuid         NOT NULL,
    icon             varchar(255) NOT NULL,
    schema           text         NOT NULL,
    schema_type_str  varchar(40)  NOT NULL,
    tools_str        text         NOT NULL,
    credentials_str  text         NOT NULL,
    description      text         NOT NULL,
    privacy_policy   varchar(255),
    custom_disclaimer text        NOT NULL DEFAULT '',
    created_at       timestamptz  NOT NULL DEFAULT now(),
    updated_at       timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT tool_api_provider_pkey PRIMARY KEY (id),
    CONSTRAINT unique_api_tool_provider UNIQUE (name, tenant_id)
);

CREATE TABLE tool_oauth_system_clients (
    id                     uuid         NOT NULL DEFAULT gen_random_uuid(),
    plugin_id              varchar(512) NOT NULL,
    provider               varchar(255) NOT NULL,
    encrypted_oauth_params text         NOT NULL,
    CONSTRAINT tool_oauth_system_client_pkey PRIMARY KEY (id)
);
CREATE UNIQUE INDEX tool_oauth_system_client_plugin_id_provider_idx
    ON tool_oauth_system_clients (plugin_id, provider);

CREATE TABLE tool_oauth_tenant_clients (
    id                     uuid         NOT NULL DEFAULT gen_random_uuid(),
    tenant_id              uuid         NOT NULL,
    plugin_id              varchar(255) NOT NULL,
    provider               varchar(255) NOT NULL,
    enabled                boolean      NOT NULL DEFAULT true,
    encrypted_oauth_params text         NOT NULL,
    CONSTRAINT tool_oauth_tenant_client_pkey PRIMARY KEY (id),
    CONSTRAINT unique_tool_oauth_tenant_client UNIQUE (tenant_id, plugin_id, provider)
);

-- Vault: the master key's check value, and each tenant's wrapped data keys.
-- tenant_id is text so the system scope ('*system*', used for the journal)
-- fits beside tenant uuids.
CREATE TABLE tq_vault_meta (
    id           int         PRIMARY KEY CHECK (id = 1),
    master_check bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    rotated_at   timestamptz
);

CREATE TABLE tq_tenant_keys (
    tenant_id   text        NOT NULL,
    version     int         NOT NULL CHECK (version > 0),
    wrapped_key bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, version)
);

-- Jobs journal. payload and result are vault ciphertexts bound to
-- (tenant_id, 'tq_jobs', column, id).
CREATE TABLE tq_jobs (
    id              uuid        PRIMARY KEY,
    tenant_id       text        NOT NULL,
    op              text        NOT NULL,
    state           text        NOT NULL CHECK (state IN
                        ('queued', 'running', 'succeeded', 'failed', 'dead', 'cancelled')),
    attempts        int         NOT NULL DEFAULT 0,
    rescues         int         NOT NULL DEFAULT 0,
    max_attempts    int         NOT NULL,
    priority        int         NOT NULL DEFAULT 0,
    timeout_ms      int         NOT NULL,
    idempotency_key text,
    payload         bytea       NOT NULL,
    result          bytea,
    error_code      text,
    error_message   text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    finished_at     timestamptz,
    run_after       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX tq_jobs_idempotency_idx ON tq_jobs (tenant_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX tq_jobs_open_idx ON tq_jobs (priority DESC, run_after, id)
    WHERE state IN ('queued', 'running');
-- BRIN: finished_at grows with insertion order and is only range-scanned by
-- the retention purge, so a tiny BRIN beats a b-tree on the hot update path.
CREATE INDEX tq_jobs_finished_idx ON tq_jobs USING brin (finished_at);
