-- 005_provider_notify.sql — every change to a provider row notifies channel
-- toolq_providers with "<tenant_id>/<name>", so workers drop their cached
-- copy (worker/provider/provider_cache.c). A trigger covers every writer.
CREATE FUNCTION tq_provider_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM pg_notify('toolq_providers', OLD.tenant_id::text || '/' || OLD.name);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM pg_notify('toolq_providers', NEW.tenant_id::text || '/' || NEW.name);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER tq_provider_notify AFTER INSERT OR UPDATE OR DELETE ON tool_api_providers
    FOR EACH ROW EXECUTE FUNCTION tq_provider_notify();
