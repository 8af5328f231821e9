-- Ingest jobs accepted by `marsad serve` (POST /api/v1/jobs). Times are
-- microseconds UTC; progress and summary are JSON texts.
CREATE TABLE ingest_jobs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    status          TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    kind            TEXT NOT NULL CHECK (kind IN ('telegram', 'jsonl')),
    created_by      TEXT NOT NULL,
    file_name       TEXT NOT NULL,
    bytes           INTEGER NOT NULL CHECK (bytes >= 0),
    retain_media    INTEGER NOT NULL CHECK (retain_media IN (0, 1)),
    no_fingerprints INTEGER NOT NULL CHECK (no_fingerprints IN (0, 1)),
    export_timezone TEXT,
    created_at      INTEGER NOT NULL,
    started_at      INTEGER,
    finished_at     INTEGER,
    progress        TEXT,
    summary         TEXT,
    error           TEXT
);
CREATE INDEX ingest_jobs_unfinished ON ingest_jobs (status) WHERE status IN ('queued', 'running');
