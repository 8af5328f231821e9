-- marsad store, schema version 5: the store's identity.

-- One row: a random UUID (version 4) given to the store when this migration
-- runs (a new store, or an older one on upgrade) and never changed. Caches
-- beside the store record it, so that a store deleted and made again at the
-- same path, whose counters start again from the same values, is not served
-- the old store's caches. The row is inserted by the migration code, which
-- draws the UUID from the operating system's random source.
CREATE TABLE store_meta (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    identity TEXT NOT NULL
);
