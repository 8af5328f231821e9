-- marsad store, schema version 3: hash banks and matches.

CREATE TABLE banks (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

-- An entry's value is in its signal's canonical text form; labels are a
-- JSON object of strings. Ids only grow (AUTOINCREMENT), so an index that
-- knows the largest id it holds can tell which entries are new.
CREATE TABLE bank_entries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    bank_id     INTEGER NOT NULL REFERENCES banks (id) ON DELETE CASCADE,
    signal_type TEXT NOT NULL,
    value       TEXT NOT NULL,
    labels      TEXT NOT NULL DEFAULT '{}',
    added_at    INTEGER NOT NULL,
    UNIQUE (bank_id, signal_type, value)
);
CREATE INDEX bank_entries_signal ON bank_entries (signal_type, id);

-- A match of a media item or a post against a bank entry, found at ingest.
CREATE TABLE matches (
    id           INTEGER PRIMARY KEY,
    media_sha256 BLOB REFERENCES media (sha256),
    post_id      INTEGER REFERENCES posts (id),
    entry_id     INTEGER NOT NULL REFERENCES bank_entries (id) ON DELETE CASCADE,
    signal_type  TEXT NOT NULL,
    distance     REAL NOT NULL,
    detail       TEXT,
    matched_at   INTEGER NOT NULL,
    CHECK ((media_sha256 IS NULL) <> (post_id IS NULL))
);
CREATE UNIQUE INDEX matches_media ON matches (media_sha256, entry_id) WHERE media_sha256 IS NOT NULL;
CREATE UNIQUE INDEX matches_post ON matches (post_id, entry_id) WHERE post_id IS NOT NULL;
CREATE INDEX matches_entry ON matches (entry_id);

-- Counters: bank_generation changes whenever entries are removed.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO meta (key, value) VALUES ('bank_generation', 0);
