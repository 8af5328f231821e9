use marsad_core::{Md5, MediaKind, Platform, Sha256, SignalType, SignalVariant, SourceKey, UtcTime};
use marsad_store::{
    NewFingerprint, Result, RunId, RunSummary, Stats, StoreError, StoredMedia, StoredMediaRef, StoredPost,
    StoredRun, StoredSource,
};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::backend;

fn count(conn: &Connection, table: &str) -> Result<u64> {
    let n: i64 =
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0)).map_err(backend)?;
    Ok(n as u64)
}

pub(crate) fn stats(conn: &Connection) -> Result<Stats> {
    Ok(Stats {
        sources: count(conn, "sources")?,
        posts: count(conn, "posts")?,
        media: count(conn, "media")?,
        fingerprints: count(conn, "fingerprints")?,
    })
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Backend(format!("corrupt store: invalid {what} {value:?}"))
}

pub(crate) fn source_key(platform: &str, platform_id: String) -> Result<SourceKey> {
    let platform = Platform::new(platform).map_err(|_| corrupt("platform", platform))?;
    Ok(SourceKey { platform, platform_id })
}

pub(crate) fn time(micros: i64) -> Result<UtcTime> {
    UtcTime::from_unix_micros(micros).ok_or_else(|| corrupt("time", &micros.to_string()))
}

fn kind(s: &str) -> Result<MediaKind> {
    MediaKind::parse(s).ok_or_else(|| corrupt("media kind", s))
}

/// A stored variant name (`None` for marsad's own fingerprint), or an error
/// naming `record`, the fingerprint or match that holds it.
pub(crate) fn variant(
    name: Option<String>,
    record: impl FnOnce() -> String,
) -> Result<Option<SignalVariant>> {
    let Some(name) = name else { return Ok(None) };
    SignalVariant::parse(&name)
        .map(Some)
        .ok_or_else(|| StoreError::Corrupt { record: record(), problem: format!("unknown variant {name:?}") })
}

pub(crate) fn sha(bytes: &[u8]) -> Result<Sha256> {
    bytes.try_into().map(Sha256).map_err(|_| corrupt("sha256", &format!("{bytes:?}")))
}

pub(crate) fn sources(conn: &Connection) -> Result<Vec<StoredSource>> {
    let mut stmt = conn
        .prepare("SELECT platform, platform_id, name, kind FROM sources ORDER BY platform, platform_id")
        .map_err(backend)?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .map_err(backend)?;
    rows.map(|row| {
        let (platform, id, name, kind) = row.map_err(backend)?;
        Ok(StoredSource { key: source_key(&platform, id)?, name, kind })
    })
    .collect()
}

pub(crate) const POST_COLUMNS: &str = "p.id, p.platform_post_id, p.posted_at, p.edited_at, p.text, p.url,
                            p.forwarded_from, p.reply_to";

pub(crate) struct PostRow {
    pub(crate) id: i64,
    platform_post_id: String,
    posted_at: i64,
    edited_at: Option<i64>,
    text: String,
    url: Option<String>,
    forwarded_from: Option<String>,
    reply_to: Option<String>,
}

pub(crate) fn post_row(r: &Row<'_>) -> rusqlite::Result<PostRow> {
    Ok(PostRow {
        id: r.get(0)?,
        platform_post_id: r.get(1)?,
        posted_at: r.get(2)?,
        edited_at: r.get(3)?,
        text: r.get(4)?,
        url: r.get(5)?,
        forwarded_from: r.get(6)?,
        reply_to: r.get(7)?,
    })
}

pub(crate) fn finish_post(conn: &Connection, source: &SourceKey, row: PostRow) -> Result<StoredPost> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT kind, path, media_sha256, missing FROM post_media WHERE post_id = ?1 ORDER BY position",
        )
        .map_err(backend)?;
    let refs = stmt
        .query_map([row.id], |r| {
            Ok((r.get::<_, String>(0)?, r.get(1)?, r.get::<_, Option<Vec<u8>>>(2)?, r.get(3)?))
        })
        .map_err(backend)?;
    let media = refs
        .map(|r| {
            let (k, path, sha256, missing) = r.map_err(backend)?;
            Ok(StoredMediaRef {
                kind: kind(&k)?,
                path,
                sha256: sha256.as_deref().map(sha).transpose()?,
                missing,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(StoredPost {
        source: source.clone(),
        platform_post_id: row.platform_post_id,
        posted_at: time(row.posted_at)?,
        edited_at: row.edited_at.map(time).transpose()?,
        text: row.text,
        url: row.url,
        forwarded_from: row.forwarded_from,
        reply_to: row.reply_to,
        media,
    })
}

pub(crate) fn post(
    conn: &Connection,
    source: &SourceKey,
    platform_post_id: &str,
) -> Result<Option<StoredPost>> {
    let row = conn
        .query_row(
            &format!(
                "SELECT {POST_COLUMNS} FROM posts p JOIN sources s ON s.id = p.source_id
                 WHERE s.platform = ?1 AND s.platform_id = ?2 AND p.platform_post_id = ?3"
            ),
            params![source.platform.as_str(), source.platform_id, platform_post_id],
            post_row,
        )
        .optional()
        .map_err(backend)?;
    row.map(|row| finish_post(conn, source, row)).transpose()
}

pub(crate) fn posts_of_source(conn: &Connection, source: &SourceKey) -> Result<Vec<StoredPost>> {
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {POST_COLUMNS} FROM posts p JOIN sources s ON s.id = p.source_id
             WHERE s.platform = ?1 AND s.platform_id = ?2
             ORDER BY p.posted_at, length(p.platform_post_id), p.platform_post_id"
        ))
        .map_err(backend)?;
    let rows = stmt
        .query_map(params![source.platform.as_str(), source.platform_id], post_row)
        .map_err(backend)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(backend)?;
    rows.into_iter().map(|row| finish_post(conn, source, row)).collect()
}

pub(crate) fn media(conn: &Connection, sha256: &Sha256) -> Result<Option<StoredMedia>> {
    let row = conn
        .query_row(
            "SELECT md5, kind, byte_size, mime, original_path, retained_path FROM media WHERE sha256 = ?1",
            [sha256.0.as_slice()],
            |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            },
        )
        .optional()
        .map_err(backend)?;
    let Some((md5, k, byte_size, mime, original_path, retained_path)) = row else {
        return Ok(None);
    };
    let md5 = Md5(md5.as_slice().try_into().map_err(|_| corrupt("md5", &format!("{md5:?}")))?);
    let mut stmt = conn
        .prepare_cached(
            "SELECT signal_type, value, quality, variant FROM fingerprints WHERE media_sha256 = ?1
             ORDER BY signal_type, variant IS NOT NULL, variant, value",
        )
        .map_err(backend)?;
    let fingerprints = stmt
        .query_map([sha256.0.as_slice()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<u8>>(2)?,
                r.get::<_, Option<String>>(3)?,
            ))
        })
        .map_err(backend)?
        .map(|r| {
            let (t, value, quality, v) = r.map_err(backend)?;
            let signal_type = SignalType::parse(&t).ok_or_else(|| corrupt("signal type", &t))?;
            let variant = variant(v, || format!("{t} fingerprint of media {}", sha256.to_hex()))?;
            Ok(NewFingerprint { signal_type, value, quality, variant })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Some(StoredMedia {
        sha256: *sha256,
        md5,
        kind: kind(&k)?,
        byte_size: byte_size as u64,
        mime,
        original_path,
        retained_path,
        fingerprints,
    }))
}

pub(crate) fn runs(conn: &Connection) -> Result<Vec<StoredRun>> {
    runs_where(conn, None)
}

/// The ingest runs, or only run `only`.
pub(crate) fn runs_where(conn: &Connection, only: Option<RunId>) -> Result<Vec<StoredRun>> {
    let mut stmt = conn
        .prepare(
            "SELECT id, kind, path, started_at, finished_at, status, posts_added, posts_existing,
                    service_skipped, media_added, media_missing, errors, error_details
             FROM ingest_runs WHERE ?1 IS NULL OR id = ?1 ORDER BY id",
        )
        .map_err(backend)?;
    let rows = stmt
        .query_map([only.map(|r| r.0)], |r| {
            let status: String = r.get(5)?;
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, Option<i64>>(4)?,
                RunSummary {
                    completed: status == "completed",
                    posts_added: r.get::<_, i64>(6)? as u64,
                    posts_existing: r.get::<_, i64>(7)? as u64,
                    service_skipped: r.get::<_, i64>(8)? as u64,
                    media_added: r.get::<_, i64>(9)? as u64,
                    media_missing: r.get::<_, i64>(10)? as u64,
                    errors: r.get::<_, i64>(11)? as u64,
                    error_details: r.get(12)?,
                },
                status,
            ))
        })
        .map_err(backend)?;
    rows.map(|row| {
        let (id, kind, path, started, finished, summary, status) = row.map_err(backend)?;
        Ok(StoredRun {
            id: RunId(id),
            kind,
            path,
            started_at: time(started)?,
            finished_at: finished.map(time).transpose()?,
            status,
            summary,
        })
    })
    .collect()
}

pub(crate) fn fingerprinted_media(
    conn: &Connection,
    shas: &[Sha256],
) -> Result<std::collections::HashSet<Sha256>> {
    let mut stmt =
        conn.prepare_cached("SELECT 1 FROM fingerprints WHERE media_sha256 = ?1 LIMIT 1").map_err(backend)?;
    let mut out = std::collections::HashSet::new();
    for sha in shas {
        if stmt.exists([sha.0.as_slice()]).map_err(backend)? {
            out.insert(*sha);
        }
    }
    Ok(out)
}

pub(crate) fn repeats(conn: &Connection, run: RunId, posts: &[(&SourceKey, &str)]) -> Result<Vec<usize>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT 1 FROM posts p JOIN sources s ON s.id = p.source_id
             WHERE s.platform = ?1 AND s.platform_id = ?2 AND p.platform_post_id = ?3 AND p.seen_run_id = ?4",
        )
        .map_err(backend)?;
    let mut listed = std::collections::HashSet::with_capacity(posts.len());
    let mut out = Vec::new();
    for (i, &(source, id)) in posts.iter().enumerate() {
        let repeat = !listed.insert((source, id))
            || stmt
                .exists(params![source.platform.as_str(), source.platform_id, id, run.0])
                .map_err(backend)?;
        if repeat {
            out.push(i);
        }
    }
    Ok(out)
}

pub(crate) fn post_versions(
    conn: &Connection,
    source: &SourceKey,
    platform_post_id: &str,
) -> Result<Option<Vec<marsad_store::PostVersion>>> {
    let post: Option<i64> = conn
        .query_row(
            "SELECT p.id FROM posts p JOIN sources s ON s.id = p.source_id
             WHERE s.platform = ?1 AND s.platform_id = ?2 AND p.platform_post_id = ?3",
            params![source.platform.as_str(), source.platform_id, platform_post_id],
            |r| r.get(0),
        )
        .optional()
        .map_err(backend)?;
    let Some(post) = post else { return Ok(None) };
    let mut stmt = conn
        .prepare_cached(
            "SELECT text, edited_at, recorded_at FROM post_versions WHERE post_id = ?1
             ORDER BY edited_at IS NOT NULL, edited_at, id",
        )
        .map_err(backend)?;
    let rows = stmt
        .query_map([post], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<i64>>(1)?, r.get::<_, i64>(2)?)))
        .map_err(backend)?;
    let time = |micros: i64| {
        UtcTime::from_unix_micros(micros).ok_or_else(|| corrupt("post version time", &micros.to_string()))
    };
    let mut out = Vec::new();
    for row in rows {
        let (text, edited_at, recorded_at) = row.map_err(backend)?;
        out.push(marsad_store::PostVersion {
            text,
            edited_at: edited_at.map(time).transpose()?,
            recorded_at: time(recorded_at)?,
        });
    }
    Ok(Some(out))
}
