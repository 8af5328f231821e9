-- marsad store, schema version 12: a job's server says it is alive. A
-- queued or running job whose server has not said so for a while is
-- failed by any server (its upload was a temporary file of a process that
-- is gone); the jobs of a live server are left alone.
ALTER TABLE ingest_jobs ADD COLUMN heartbeat_at INTEGER;
UPDATE ingest_jobs SET heartbeat_at = coalesce(started_at, created_at);
