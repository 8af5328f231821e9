//! Sources with their post counts, and posts by filter and full-text
//! search (`post_search`, migration 10, kept by triggers).

use marsad_core::PostId;
use marsad_store::{FoundPost, PostQuery, Result, SourceCount, StoredSource};
use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};

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

/// An FTS5 query every one of whose words must occur: each word a quoted
/// string (a quote inside doubled), so no word is read as an operator.
fn match_expression(words: &[String]) -> String {
    words.iter().map(|w| format!("\"{}\"", w.replace('"', "\"\""))).collect::<Vec<_>>().join(" ")
}

pub(crate) fn search_posts(conn: &Connection, q: &PostQuery) -> Result<Vec<FoundPost>> {
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
        sql.push_str(" AND p.id IN (SELECT rowid FROM post_search WHERE post_search MATCH ?)");
        args.push(Value::Text(match_expression(&q.words)));
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
