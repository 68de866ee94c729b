-- 010_broker_epoch.sql — fences a broker that lost the database lock
-- (broker/README.md, "Standby brokers and fencing").
--
-- One row. epoch: bumped by each broker that takes the broker lock (the
-- session advisory lock 7214530124); holder_pid: that broker's lock session
-- (pg_backend_pid), beat_at: the last time the active broker said it lives
-- (a standby ends the holder's session when beat_at is older than
-- broker.takeover_ms).
--
-- Every broker session sets toolq.epoch (libpq options) to the epoch it took.
-- A statement on tq_jobs from a session whose toolq.epoch is not the current
-- one fails here, in the database: a broker that lost the lock cannot write
-- a job row however late its statement arrives. The check takes a SHARE lock
-- on the row, so it orders itself with the bump: a write either commits
-- before the new broker's UPDATE (and its recovery sees it) or sees the new
-- epoch and fails. Sessions without toolq.epoch (migrations, psql, tools) are
-- not brokers and are not checked. Holds no secret.
CREATE TABLE IF NOT EXISTS tq_broker_epoch (
    id          boolean     PRIMARY KEY DEFAULT true CHECK (id),
    epoch       bigint      NOT NULL DEFAULT 0,
    holder_pid  integer,
    beat_at     timestamptz NOT NULL DEFAULT now()
);
INSERT INTO tq_broker_epoch DEFAULT VALUES ON CONFLICT DO NOTHING;

CREATE OR REPLACE FUNCTION tq_check_broker_epoch() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    mine text := current_setting('toolq.epoch', true);
    current bigint;
BEGIN
    IF mine IS NULL OR mine = '' THEN
        RETURN NULL;
    END IF;
    SELECT epoch INTO current FROM tq_broker_epoch WHERE id FOR SHARE;
    IF mine::bigint <> current THEN
        RAISE EXCEPTION 'stale broker epoch % (the broker lock is at epoch %)', mine, current
            USING ERRCODE = 'TQ001', HINT = 'this broker lost the database lock';
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS tq_jobs_broker_epoch ON tq_jobs;
CREATE TRIGGER tq_jobs_broker_epoch
    BEFORE INSERT OR UPDATE OR DELETE ON tq_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION tq_check_broker_epoch();
