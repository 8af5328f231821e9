-- marsad store, schema version 6: repeated message ids and edits.

-- The last ingest run that read the post: a post the current run has
-- already written is a repeated id within the input (ignored whole, so the
-- first message is never mixed with the second's media); NULL for posts
-- stored before this version.
ALTER TABLE posts ADD COLUMN seen_run_id INTEGER REFERENCES ingest_runs (id);

-- Earlier texts of a post, kept when a later ingest brings an edit (or an
-- older export brings an older text).
CREATE TABLE post_versions (
    id            INTEGER PRIMARY KEY,
    post_id       INTEGER NOT NULL REFERENCES posts (id),
    text          TEXT NOT NULL,
    edited_at     INTEGER,
    recorded_at   INTEGER NOT NULL,
    ingest_run_id INTEGER REFERENCES ingest_runs (id)
);
CREATE INDEX post_versions_post ON post_versions (post_id);
