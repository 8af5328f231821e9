//! Sources with their post counts, and posts by filter and full-text
//! search (`post_search`, migration 10, kept by triggers).

use marsad_core::PostId;
use marsad_store::{FoundPost, PostQuery, Result, SourceCount, StoredSource};
use rusqlite::types::Value;
use rusqlite::{Connection, params, params_from_iter};

use crate::backend;
use crate::read::{POST_COLUMNS, finish_post, post_row, source_key};

/// The SQL function the search index is filled with: marsad's text
/// normalizer, the one ingestion fingerprints text with. Registered on
/// every connection before migrating (migration 10 fills the index with it).
pub(crate) fn register_normalizer(conn: &Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function(
        "marsad_normalize",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let text = ctx.get_raw(0);
            Ok(match text {
                rusqlite::types::ValueRef::Text(t) => {
                    marsad_hash::text::normalize(&String::from_utf8_lossy(t))
                }
                _ => String::new(),
            })
        },
    )
}

pub(crate) fn source_counts(conn: &Connection) -> Result<Vec<SourceCount>> {
    let mut stmt = conn
        .prepare(
            "SELECT s.platform, s.platform_id, s.name, s.kind,
                    (SELECT count(*) FROM posts p WHERE p.source_id = s.id)
             FROM sources s ORDER BY s.platform, s.platform_id",
        )
        .map_err(backend)?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get::<_, i64>(4)?)))
        .map_err(backend)?;
    rows.map(|row| {
        let (platform, id, name, kind, posts) = row.map_err(backend)?;
        Ok(SourceCount {
            source: StoredSource { key: source_key(&platform, id)?, name, kind },
            posts: posts as u64,
        })
    })
    .collect()
}

/// Matches from which a search's words count as common ([`search_posts`]).
const COMMON: i64 = 20_000;

/// An FTS5 query every one of whose words must occur: each word a quoted
/// string (a quote inside doubled), so no word is read as an operator.
fn match_expression(words: &[String]) -> String {
    words.iter().map(|w| format!("\"{}\"", w.replace('"', "\"\""))).collect::<Vec<_>>().join(" ")
}

pub(crate) fn search_posts(conn: &Connection, q: &PostQuery) -> Result<Vec<FoundPost>> {
    search_posts_with(conn, q, COMMON)
}

/// [`search_posts`], words counting as common from `common` matches.
fn search_posts_with(conn: &Connection, q: &PostQuery, common_from: i64) -> Result<Vec<FoundPost>> {
    let mut sql = format!(
        "SELECT {POST_COLUMNS}, s.platform, s.platform_id FROM posts p JOIN sources s ON s.id = p.source_id
         WHERE 1"
    );
    let mut args: Vec<Value> = Vec::new();
    if let Some(source) = &q.source {
        sql.push_str(" AND s.platform = ? AND s.platform_id = ?");
        args.push(Value::Text(source.platform.as_str().to_owned()));
        args.push(Value::Text(source.platform_id.clone()));
    }
    if let Some(from) = q.from {
        sql.push_str(" AND p.posted_at >= ?");
        args.push(Value::Integer(from.unix_micros()));
    }
    if let Some(to) = q.to {
        sql.push_str(" AND p.posted_at < ?");
        args.push(Value::Integer(to.unix_micros()));
    }
    if let Some(after) = q.after {
        sql.push_str(" AND (p.posted_at, p.id) > (?, ?)");
        args.push(Value::Integer(after.posted_at.unix_micros()));
        args.push(Value::Integer(after.id.0));
    }
    if !q.words.is_empty() {
        let expression = match_expression(&q.words);
        // Two plans, the same answer. Words found in few posts: the set of
        // their posts, then the page of it by time. Words found in many:
        // the posts by time, each checked against the index, until the
        // page is full — a set of half the store would cost more than the
        // few hundred checks a page of a common word needs. Which one is
        // told by counting the matches up to COMMON (streamed, cheap).
        let common: i64 = conn
            .query_row(
                "SELECT count(*) FROM (SELECT rowid FROM post_search WHERE post_search MATCH ?1 LIMIT ?2)",
                params![expression, common_from],
                |r| r.get(0),
            )
            .map_err(backend)?;
        if common >= common_from {
            sql.push_str(
                " AND EXISTS (SELECT 1 FROM post_search WHERE post_search MATCH ? AND rowid = p.id)",
            );
        } else {
            sql.push_str(" AND p.id IN (SELECT rowid FROM post_search WHERE post_search MATCH ?)");
        }
        args.push(Value::Text(expression));
    }
    sql.push_str(" ORDER BY p.posted_at, p.id LIMIT ?");
    args.push(Value::Integer(i64::try_from(q.limit).unwrap_or(i64::MAX)));
    let mut stmt = conn.prepare(&sql).map_err(backend)?;
    let rows = stmt
        .query_map(params_from_iter(args), |r| {
            Ok((post_row(r)?, r.get::<_, String>(8)?, r.get::<_, String>(9)?))
        })
        .map_err(backend)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(backend)?;
    rows.into_iter()
        .map(|(row, platform, platform_id)| {
            let id = PostId(row.id);
            let key = source_key(&platform, platform_id)?;
            Ok(FoundPost { id, post: finish_post(conn, &key, row)? })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use marsad_core::{Platform, SourceKey, UtcTime};
    use marsad_store::prelude::*;
    use marsad_store::{NewPost, NewRun, NewSource, PostBatch, PostCursor, PostQuery};

    use super::*;
    use crate::SqliteStore;

    #[test]
    fn both_plans_find_the_same_posts_in_the_same_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = SqliteStore::open(&dir.path().join("s.db")).expect("open");
        let run = store
            .begin_run(&NewRun {
                kind: "test".into(),
                path: "t".into(),
                started_at: UtcTime::from_unix_seconds(0),
            })
            .expect("run");
        let key = SourceKey { platform: Platform::telegram(), platform_id: "1".into() };
        let posts = (0..300)
            .map(|i: i64| NewPost {
                source: 0,
                platform_post_id: i.to_string(),
                // times out of id order, some equal
                posted_at: UtcTime::from_unix_seconds((i * 7919) % 101),
                edited_at: None,
                text: if i % 3 == 0 { format!("بيان رقم {i}") } else { format!("نشرة {i}") },
                url: None,
                forwarded_from: None,
                reply_to: None,
                media: Vec::new(),
                fingerprints: Vec::new(),
                matches: Vec::new(),
            })
            .collect();
        let batch = PostBatch {
            sources: vec![NewSource { key, name: "c".into(), kind: "public_channel".into() }],
            posts,
            receipt: None,
        };
        store.write_batch(run, &batch).expect("write");
        for words in
            [vec!["بيان".to_owned()], vec!["نشره".to_owned(), "17".to_owned()], vec!["absent".to_owned()]]
        {
            let mut q = PostQuery { words, limit: 25, ..PostQuery::default() };
            // Page through with each plan: the same posts, in the same order.
            let mut pages = [Vec::new(), Vec::new()];
            for (plan, threshold) in [(0, 1), (1, i64::MAX)] {
                q.after = None;
                loop {
                    let found = search_posts_with(&store.conn, &q, threshold).expect("search");
                    let Some(last) = found.last() else { break };
                    q.after = Some(PostCursor { posted_at: last.post.posted_at, id: last.id });
                    pages[plan].extend(found.iter().map(|f| f.id));
                }
            }
            assert_eq!(pages[0], pages[1], "{:?}", q.words);
        }
        let all = PostQuery { words: vec!["بيان".to_owned()], limit: 1000, ..PostQuery::default() };
        assert_eq!(search_posts_with(&store.conn, &all, 1).expect("search").len(), 100);
    }
}
