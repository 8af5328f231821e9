-- marsad store, schema version 8: serving banks as HMA does (matching
-- settings, content items of several signals, a change log for live
-- indexes), access tokens and the audit log.

-- A bank's name in HMA's API (`^[A-Z_][A-Z0-9_]*$`), filled by marsad for
-- the banks already here; its matching settings.
ALTER TABLE banks ADD COLUMN hma_name TEXT;
ALTER TABLE banks ADD COLUMN enabled_ratio REAL NOT NULL DEFAULT 1.0;
ALTER TABLE banks ADD COLUMN pdq_threshold INTEGER;
CREATE UNIQUE INDEX banks_hma_name ON banks (hma_name);

-- Entries get a content id: NULL for an entry that is its own content (as
-- `bank import` adds them: such entries are unique per bank, signal type
-- and value), else the id of the first entry of the content item they
-- belong to (one per signal type). The table is made again because SQLite
-- cannot drop the old unique constraint; ids and the AUTOINCREMENT counter
-- are kept, so ids still only grow. Foreign keys are off while migrating.
CREATE TABLE bank_entries_v8 (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    bank_id     INTEGER NOT NULL REFERENCES banks (id) ON DELETE CASCADE,
    signal_type TEXT NOT NULL,
    value       TEXT NOT NULL,
    labels      TEXT NOT NULL DEFAULT '{}',
    added_at    INTEGER NOT NULL,
    content_id  INTEGER
);
INSERT INTO bank_entries_v8 (id, bank_id, signal_type, value, labels, added_at)
    SELECT id, bank_id, signal_type, value, labels, added_at FROM bank_entries;
DELETE FROM sqlite_sequence WHERE name = 'bank_entries_v8';
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'bank_entries_v8', seq FROM sqlite_sequence WHERE name = 'bank_entries';
DROP TABLE bank_entries;
ALTER TABLE bank_entries_v8 RENAME TO bank_entries;
CREATE UNIQUE INDEX bank_entries_value ON bank_entries (bank_id, signal_type, value) WHERE content_id IS NULL;
CREATE UNIQUE INDEX bank_entries_content ON bank_entries (content_id, signal_type) WHERE content_id IS NOT NULL;
CREATE INDEX bank_entries_signal ON bank_entries (signal_type, id);
CREATE INDEX bank_entries_bank ON bank_entries (bank_id, id);

-- A content item's attributes, when it has any beyond its entries (its id
-- is its content id).
CREATE TABLE bank_content (
    id                 INTEGER PRIMARY KEY,
    note               TEXT,
    metadata           TEXT,
    disable_until_ts   INTEGER NOT NULL DEFAULT 1,
    original_media_uri TEXT
);

-- Every change to banks other than an entry added (those are told by their
-- growing ids): what a live index applies to follow the store.
CREATE TABLE bank_log (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT NOT NULL CHECK (kind IN ('bank', 'bank_deleted', 'content', 'content_deleted', 'signal_types')),
    bank_id    INTEGER,
    content_id INTEGER,
    at         INTEGER NOT NULL
);

-- Signal type settings (HMA's enabled ratio), for the types set.
CREATE TABLE signal_type_config (
    name          TEXT PRIMARY KEY,
    enabled_ratio REAL NOT NULL
) WITHOUT ROWID;

-- Access tokens: only their SHA-256 is kept.
CREATE TABLE tokens (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('viewer', 'analyst', 'moderator', 'admin')),
    hash       BLOB NOT NULL UNIQUE,
    prefix     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE UNIQUE INDEX tokens_name ON tokens (name) WHERE revoked_at IS NULL;

-- The audit log: appended to, never changed.
CREATE TABLE audit_log (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     INTEGER NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    status INTEGER,
    detail TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
