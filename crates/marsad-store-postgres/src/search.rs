//! Sources with their counts, and posts by filter and full-text search.
//!
//! A post's `search_body` is its text as marsad normalizes it
//! (`marsad_hash::text::normalize`, the normalizer ingestion fingerprints
//! text with), written by [`crate::write`] with the text, where SQLite's
//! triggers wrote its index; the full-text index is PostgreSQL's own, a GIN
//! index over `to_tsvector('simple', search_body)` (the `simple`
//! configuration only splits and lowercases: no stemming, no stop words).
//! A query normalized the same way therefore finds a post whether either
//! was typed with diacritics, tatweel or hamza forms or without them.

use marsad_core::PostId;

/// How much of a post's normalized text is searchable: PostgreSQL refuses
/// a `tsvector` over 1 MB, which a text of a few hundred KiB of short
/// distinct words reaches; 128 KiB (a Telegram message is at most 4096
/// characters) keeps every post writable.
pub(crate) const SEARCHED_BYTES: usize = 128 * 1024;

/// A post's `search_body`: its text normalized, cut at a character
/// boundary to [`SEARCHED_BYTES`].
pub(crate) fn search_body(text: &str) -> String {
    let mut body = marsad_hash::text::normalize(text);
    if body.len() > SEARCHED_BYTES {
        let mut end = SEARCHED_BYTES;
        while !body.is_char_boundary(end) {
            end -= 1;
        }
        body.truncate(end);
    }
    body
}
use marsad_store::{FoundPost, PostQuery, Result, SourceCount, StoredSource};
use postgres::types::ToSql;

use crate::read::{POST_COLUMNS, finish_posts, get, post_row};
use crate::{PgStore, backend, source_key};

/// Every source with its post count, by platform then platform id (byte
/// order, as SQLite), in one statement.
pub(crate) fn source_counts(store: &PgStore) -> Result<Vec<SourceCount>> {
    let rows = store
        .db()?
        .query(
            r#"SELECT s.platform, s.platform_id, s.name, s.kind,
                      (SELECT count(*) FROM posts p WHERE p.source_id = s.id)
               FROM sources s ORDER BY s.platform COLLATE "C", s.platform_id COLLATE "C""#,
            &[],
        )
        .map_err(backend)?;
    rows.iter()
        .map(|r| {
            Ok(SourceCount {
                source: StoredSource {
                    key: source_key(get(r, 0)?, get(r, 1)?)?,
                    name: get(r, 2)?,
                    kind: get(r, 3)?,
                },
                posts: get::<i64>(r, 4)? as u64,
            })
        })
        .collect()
}

/// The posts `q` selects, by time then id, at most `q.limit`. Each of the
/// words (normalized by the caller) must be a word of the post's
/// normalized text: `plainto_tsquery` of the words joined by spaces is
/// every one of them, each only text (no operator), matched against the
/// GIN-indexed `to_tsvector` of `search_body`. Runs in the caller's
/// snapshot (the posts, then their media references).
pub(crate) fn search_posts(store: &PgStore, q: &PostQuery) -> Result<Vec<FoundPost>> {
    let mut sql = format!(
        "SELECT {POST_COLUMNS}, s.platform, s.platform_id FROM posts p JOIN sources s ON s.id = p.source_id
         WHERE TRUE"
    );
    let mut args: Vec<Box<dyn ToSql + Sync>> = Vec::new();
    // The next placeholder, for the argument pushed with it.
    fn arg(args: &mut Vec<Box<dyn ToSql + Sync>>, value: impl ToSql + Sync + 'static) -> String {
        args.push(Box::new(value));
        format!("${}", args.len())
    }
    if let Some(source) = &q.source {
        let platform = arg(&mut args, source.platform.as_str().to_owned());
        let id = arg(&mut args, source.platform_id.clone());
        sql.push_str(&format!(" AND s.platform = {platform} AND s.platform_id = {id}"));
    }
    if let Some(from) = q.from {
        let from = arg(&mut args, from.unix_micros());
        sql.push_str(&format!(" AND p.posted_at >= {from}"));
    }
    if let Some(to) = q.to {
        let to = arg(&mut args, to.unix_micros());
        sql.push_str(&format!(" AND p.posted_at < {to}"));
    }
    if let Some(after) = q.after {
        let at = arg(&mut args, after.posted_at.unix_micros());
        let id = arg(&mut args, after.id.0);
        sql.push_str(&format!(" AND (p.posted_at, p.id) > ({at}::bigint, {id}::bigint)"));
    }
    if !q.words.is_empty() {
        let words = arg(&mut args, q.words.join(" "));
        sql.push_str(&format!(
            " AND to_tsvector('simple', p.search_body) @@ plainto_tsquery('simple', {words}::text)"
        ));
    }
    let limit = arg(&mut args, i64::try_from(q.limit).unwrap_or(i64::MAX));
    sql.push_str(&format!(" ORDER BY p.posted_at, p.id LIMIT {limit}"));
    let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a.as_ref()).collect();
    let mut c = store.db()?;
    let rows = c.query(&sql, &params).map_err(backend)?;
    let rows = rows
        .iter()
        .map(|r| Ok((source_key(get(r, 8)?, get(r, 9)?)?, post_row(r)?)))
        .collect::<Result<Vec<_>>>()?;
    let ids: Vec<PostId> = rows.iter().map(|(_, row)| PostId(row.id)).collect();
    let posts = finish_posts(&mut c, rows)?;
    Ok(ids.into_iter().zip(posts).map(|(id, post)| FoundPost { id, post }).collect())
}
