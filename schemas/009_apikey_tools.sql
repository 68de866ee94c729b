-- 009_apikey_tools.sql — an API key may be limited to some tools (docs/mcp.md):
-- tools is a comma-separated list of "provider/operation" globs (fnmatch),
-- e.g. 'github/*,petstore/getPetById'; NULL: every tool of the key's tenant.
-- The MCP endpoint lists and calls only the tools it matches. Written by
-- apikey.create / apikey.grant (worker/apikey), read by broker/apikey.c.
ALTER TABLE tq_api_keys ADD COLUMN IF NOT EXISTS tools text
    CHECK (tools IS NULL OR (length(tools) BETWEEN 3 AND 1000
                             AND tools ~ '^[^/,]+/[^/,]+(,[^/,]+/[^/,]+)*$'));
