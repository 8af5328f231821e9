-- marsad store, schema version 4: outlets, releases, grouping state.

-- The outlet registry (replaced whole by `marsad outlets import`).
CREATE TABLE outlets (
    id       INTEGER PRIMARY KEY,
    name     TEXT NOT NULL UNIQUE,
    aliases  TEXT NOT NULL DEFAULT '[]',
    region   TEXT,
    parent   TEXT
);
CREATE TABLE outlet_channels (
    outlet_id   INTEGER NOT NULL REFERENCES outlets (id) ON DELETE CASCADE,
    platform    TEXT NOT NULL,
    platform_id TEXT NOT NULL,
    PRIMARY KEY (platform, platform_id)
) WITHOUT ROWID;

-- A release: a connected group of posts carrying the same content. Its
-- description (times, counts, format, language, outlet and the evidence
-- for it) is rewritten whenever its membership or the registry changes.
CREATE TABLE releases (
    id           INTEGER PRIMARY KEY,
    first_seen   INTEGER NOT NULL DEFAULT 0,
    last_seen    INTEGER NOT NULL DEFAULT 0,
    sightings    INTEGER NOT NULL DEFAULT 0,
    channels     INTEGER NOT NULL DEFAULT 0,
    format       TEXT NOT NULL DEFAULT 'text',
    language     TEXT,
    outlet       TEXT,
    evidence     TEXT NOT NULL DEFAULT '{}',
    first_source INTEGER REFERENCES sources (id)
);
CREATE INDEX releases_first_seen ON releases (first_seen);

-- Every post belongs to one release once grouped; text_linkable records
-- that its text has enough words to link, so later runs need not read it.
ALTER TABLE posts ADD COLUMN release_id INTEGER REFERENCES releases (id);
ALTER TABLE posts ADD COLUMN text_linkable INTEGER NOT NULL DEFAULT 0;
CREATE INDEX posts_release ON posts (release_id, posted_at);

INSERT INTO meta (key, value) VALUES ('releases_generation', 0);
