-- The review queue's decisions: a log, each undoable. An item's standing
-- decision is its latest not undone; an item without one is open.
CREATE TABLE review_decisions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT NOT NULL CHECK (kind IN ('match', 'release')),
    target     INTEGER NOT NULL,
    verdict    TEXT NOT NULL CHECK (verdict IN ('confirm', 'reject', 'escalate')),
    note       TEXT,
    actor      TEXT NOT NULL,
    at         INTEGER NOT NULL,
    bank       TEXT,
    undone_at  INTEGER,
    undone_by  TEXT
);
CREATE INDEX review_decisions_standing ON review_decisions (kind, target, id) WHERE undone_at IS NULL;

-- A rejected match's pair: the item (a media item or a post) and the bank
-- entry by bank name, signal type and value, so that a bank emptied and
-- filled again, or an entry removed and added again, does not bring the
-- false positive back. Matching never stores an ignored pair.
CREATE TABLE ignored_matches (
    media_sha256 BLOB,
    post_id      INTEGER,
    bank         TEXT NOT NULL,
    signal_type  TEXT NOT NULL,
    value        TEXT NOT NULL,
    decision_id  INTEGER NOT NULL REFERENCES review_decisions (id),
    CHECK ((media_sha256 IS NULL) <> (post_id IS NULL))
);
CREATE UNIQUE INDEX ignored_matches_media ON ignored_matches (media_sha256, bank, signal_type, value) WHERE media_sha256 IS NOT NULL;
CREATE UNIQUE INDEX ignored_matches_post ON ignored_matches (post_id, bank, signal_type, value) WHERE post_id IS NOT NULL;
CREATE INDEX ignored_matches_decision ON ignored_matches (decision_id);

-- Reviewer protection: the admin's settings (the blur floor, the daily
-- exposure soft limit), each user's blur level, and the items each user
-- revealed per UTC day.
CREATE TABLE ui_settings (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE user_preferences (
    user_id INTEGER PRIMARY KEY REFERENCES users (id),
    blur    INTEGER
);
CREATE TABLE exposures (
    user_name TEXT NOT NULL,
    day       INTEGER NOT NULL,
    items     INTEGER NOT NULL,
    PRIMARY KEY (user_name, day)
) WITHOUT ROWID;

-- Theme coding: the taxonomy in use (its TOML) and each analyst's code of
-- a release (a primary theme, secondary ones as a JSON array).
CREATE TABLE taxonomy (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    body TEXT NOT NULL
);
CREATE TABLE theme_codes (
    taxonomy   TEXT NOT NULL,
    release_id INTEGER NOT NULL,
    coder      TEXT NOT NULL,
    primary_theme TEXT NOT NULL,
    secondary  TEXT NOT NULL DEFAULT '[]',
    at         INTEGER NOT NULL,
    PRIMARY KEY (taxonomy, release_id, coder)
) WITHOUT ROWID;

-- The review queue's releases (those of no outlet), by first seen.
CREATE INDEX releases_unattributed ON releases (first_seen, id) WHERE outlet IS NULL;
