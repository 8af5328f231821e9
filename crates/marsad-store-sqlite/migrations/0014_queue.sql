-- marsad store, schema version 14: ingests run through the work queue.
-- A queued run's reader publishes its batches; each batch applied leaves
-- its receipt here, written in the batch's own transaction, so that a
-- batch the queue delivers again is not written twice; a batch given up
-- on after repeated failures is kept as a dead letter.
CREATE TABLE queue_runs (
    run_id        INTEGER PRIMARY KEY REFERENCES ingest_runs (id),
    batches_total INTEGER,
    reader        TEXT
);

CREATE TABLE queue_batches (
    run_id             INTEGER NOT NULL REFERENCES queue_runs (run_id),
    seq                INTEGER NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('applied', 'dead')),
    worker             TEXT NOT NULL,
    attempts           INTEGER NOT NULL,
    finished_at        INTEGER NOT NULL,
    posts              INTEGER NOT NULL DEFAULT 0,
    posts_added        INTEGER NOT NULL DEFAULT 0,
    posts_existing     INTEGER NOT NULL DEFAULT 0,
    posts_edited       INTEGER NOT NULL DEFAULT 0,
    media_added        INTEGER NOT NULL DEFAULT 0,
    fingerprints_added INTEGER NOT NULL DEFAULT 0,
    matches_added      INTEGER NOT NULL DEFAULT 0,
    repeated           TEXT NOT NULL DEFAULT '[]',
    report             TEXT NOT NULL DEFAULT '{}',
    error              TEXT,
    PRIMARY KEY (run_id, seq)
);
