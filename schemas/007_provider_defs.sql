-- 007_provider_defs.sql — a provider's shared schema definitions, stored once
-- (worker/openapi, docs/tool-bundle.md "input_schema"): the tools in
-- tools_str refer to them with {"$ref": "#/$defs/NAME"}; a JSON object
-- name -> JSON Schema. Providers imported before it have none ('{}').
ALTER TABLE tool_api_providers ADD COLUMN IF NOT EXISTS defs_str text NOT NULL DEFAULT '{}';
