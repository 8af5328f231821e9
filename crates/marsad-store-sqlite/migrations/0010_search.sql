-- marsad store, schema version 10: full-text search over posts.
--
-- `post_search` holds each post's text as marsad normalizes it
-- (`marsad_normalize`, the normalizer ingestion fingerprints text with,
-- registered on every connection marsad opens: NFKC, diacritics, tatweel
-- and invisible characters dropped, hamza and other letter variants
-- mapped, punctuation to spaces, lowercase), keyed by the post's id. A
-- query normalized the same way therefore finds a post whether either was
-- typed with diacritics, tatweel or hamza forms or without them.
--
-- Triggers keep it in step with `posts` in the writer's own transaction:
-- a post written, and an edit replacing its text. (A program other than
-- marsad writing posts needs the function too; it fails without it rather
-- than leave the index behind.)
CREATE VIRTUAL TABLE post_search USING fts5 (body, tokenize = 'unicode61 remove_diacritics 0');

INSERT INTO post_search (rowid, body) SELECT id, marsad_normalize(text) FROM posts;

CREATE TRIGGER post_search_insert AFTER INSERT ON posts BEGIN
    INSERT INTO post_search (rowid, body) VALUES (new.id, marsad_normalize(new.text));
END;

CREATE TRIGGER post_search_update AFTER UPDATE OF text ON posts BEGIN
    UPDATE post_search SET body = marsad_normalize(new.text) WHERE rowid = new.id;
END;

CREATE TRIGGER post_search_delete AFTER DELETE ON posts BEGIN
    DELETE FROM post_search WHERE rowid = old.id;
END;
