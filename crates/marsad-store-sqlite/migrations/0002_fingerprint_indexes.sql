-- marsad store, schema version 2.
-- An item has at most one fingerprint per signal type, and only the short
-- hashes that are looked up by value (PDQ, MD5, SHA-256) are indexed by
-- value: vPDQ, audio and text values are long and are only ever read by
-- item, and indexing them tripled the size of a store of posts.

DROP INDEX fingerprints_media;
DROP INDEX fingerprints_post;
DROP INDEX fingerprints_signal;

CREATE UNIQUE INDEX fingerprints_media ON fingerprints (media_sha256, signal_type)
    WHERE media_sha256 IS NOT NULL;
CREATE UNIQUE INDEX fingerprints_post ON fingerprints (post_id, signal_type)
    WHERE post_id IS NOT NULL;
CREATE INDEX fingerprints_value ON fingerprints (signal_type, value)
    WHERE signal_type IN ('pdq', 'md5', 'sha256');
