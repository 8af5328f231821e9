-- marsad store, schema version 1.
-- Times are INTEGER microseconds since the Unix epoch, UTC.
-- Digests are BLOBs (32 bytes SHA-256, 16 bytes MD5).

CREATE TABLE sources (
    id          INTEGER PRIMARY KEY,
    platform    TEXT NOT NULL,
    platform_id TEXT NOT NULL,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    UNIQUE (platform, platform_id)
);

CREATE TABLE ingest_runs (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL,
    path            TEXT NOT NULL,
    started_at      INTEGER NOT NULL,
    finished_at     INTEGER,
    status          TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
    posts_added     INTEGER NOT NULL DEFAULT 0,
    posts_existing  INTEGER NOT NULL DEFAULT 0,
    service_skipped INTEGER NOT NULL DEFAULT 0,
    media_added     INTEGER NOT NULL DEFAULT 0,
    media_missing   INTEGER NOT NULL DEFAULT 0,
    errors          INTEGER NOT NULL DEFAULT 0,
    error_details   TEXT NOT NULL DEFAULT '[]'
);

CREATE TABLE posts (
    id               INTEGER PRIMARY KEY,
    source_id        INTEGER NOT NULL REFERENCES sources (id),
    platform_post_id TEXT NOT NULL,
    posted_at        INTEGER NOT NULL,
    edited_at        INTEGER,
    text             TEXT NOT NULL DEFAULT '',
    url              TEXT,
    forwarded_from   TEXT,
    reply_to         TEXT,
    ingest_run_id    INTEGER REFERENCES ingest_runs (id),
    UNIQUE (source_id, platform_post_id)
);
CREATE INDEX posts_posted_at ON posts (posted_at);

CREATE TABLE media (
    sha256        BLOB PRIMARY KEY CHECK (length(sha256) = 32),
    md5           BLOB NOT NULL CHECK (length(md5) = 16),
    kind          TEXT NOT NULL CHECK (kind IN ('image', 'video', 'audio', 'document')),
    byte_size     INTEGER NOT NULL,
    mime          TEXT,
    original_path TEXT NOT NULL,
    retained_path TEXT
) WITHOUT ROWID;
CREATE INDEX media_md5 ON media (md5);

-- A post's media references, in order. A reference whose file could not be
-- read keeps its path and the reason in `missing`, so nothing is lost silently.
CREATE TABLE post_media (
    post_id      INTEGER NOT NULL REFERENCES posts (id),
    position     INTEGER NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('image', 'video', 'audio', 'document')),
    path         TEXT NOT NULL,
    media_sha256 BLOB REFERENCES media (sha256),
    missing      TEXT,
    CHECK ((media_sha256 IS NULL) <> (missing IS NULL)),
    PRIMARY KEY (post_id, position)
) WITHOUT ROWID;
CREATE INDEX post_media_media ON post_media (media_sha256);

-- A fingerprint belongs to a media item or to a post, never both.
CREATE TABLE fingerprints (
    id           INTEGER PRIMARY KEY,
    media_sha256 BLOB REFERENCES media (sha256),
    post_id      INTEGER REFERENCES posts (id),
    signal_type  TEXT NOT NULL,
    value        TEXT NOT NULL,
    quality      INTEGER,
    CHECK ((media_sha256 IS NULL) <> (post_id IS NULL))
);
CREATE UNIQUE INDEX fingerprints_media ON fingerprints (media_sha256, signal_type, value)
    WHERE media_sha256 IS NOT NULL;
CREATE UNIQUE INDEX fingerprints_post ON fingerprints (post_id, signal_type, value)
    WHERE post_id IS NOT NULL;
CREATE INDEX fingerprints_signal ON fingerprints (signal_type, value);
