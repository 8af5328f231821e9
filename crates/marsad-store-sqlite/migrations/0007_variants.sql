-- marsad store, schema version 7: variants of fingerprints.

-- A fingerprint computed as another tool computes it, kept beside marsad's
-- own so that banks made by that tool still match: 'pytx' for
-- python-threatexchange's PDQ of a palette or CMYK image. NULL for
-- marsad's own (every fingerprint stored before this version).
ALTER TABLE fingerprints ADD COLUMN variant TEXT;

-- The variant of the item's fingerprint that found the match, when it was
-- not marsad's own. An item matches an entry once: an entry both match is
-- the own fingerprint's match.
ALTER TABLE matches ADD COLUMN variant TEXT;

-- An item has at most one fingerprint per signal type as marsad computes
-- it, and beside it at most one per variant. The key stays led by the item,
-- so reading an item's fingerprints still uses it.
DROP INDEX fingerprints_media;
DROP INDEX fingerprints_post;
CREATE UNIQUE INDEX fingerprints_media ON fingerprints (media_sha256, signal_type, coalesce(variant, ''))
    WHERE media_sha256 IS NOT NULL;
CREATE UNIQUE INDEX fingerprints_post ON fingerprints (post_id, signal_type, coalesce(variant, ''))
    WHERE post_id IS NOT NULL;
