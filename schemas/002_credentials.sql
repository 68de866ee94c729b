-- 002_credentials.sql — named credentials of a tenant (credential.* ops,
-- worker/credential/). encrypted_data is a vault text ciphertext of the JSON
-- object of fields, bound to (tenant_id, 'tq_credentials', 'encrypted_data', id).
-- type is the plugin credential type (api_key/apikey, basic, bearer,
-- aws_sigv4; oauth2 later); plugin_id the plugin that applies it. The OAuth
-- issue extends this table (refresh state, reauth) with new columns.
CREATE TABLE IF NOT EXISTS tq_credentials (
    id             uuid         PRIMARY KEY,
    tenant_id      uuid         NOT NULL,
    name           varchar(255) NOT NULL,
    type           varchar(64)  NOT NULL,
    plugin_id      varchar(255) NOT NULL,
    encrypted_data text         NOT NULL,
    status         varchar(32)  NOT NULL DEFAULT 'active',
    expires_at     timestamptz,
    metadata       jsonb        NOT NULL DEFAULT '{}',
    created_at     timestamptz  NOT NULL DEFAULT now(),
    updated_at     timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT tq_credentials_tenant_name_key UNIQUE (tenant_id, name)
);
