-- 003_providers.sql — indexes for the provider ops (worker/provider/).
-- Every read of tool_api_providers is tenant-scoped; the seed's unique
-- (name, tenant_id) index leads with name, so listing a tenant's providers
-- needs one that leads with tenant_id.
CREATE INDEX IF NOT EXISTS tool_api_providers_tenant_name_idx
    ON tool_api_providers (tenant_id, name);
