//! Reading posts, media, sources and runs (RunStore and PostStore's reads).
//!
//! Text is ordered as SQLite orders it, byte by byte (`COLLATE "C"`),
//! whatever the database's collation. A post's media references are read
//! for a whole list of posts in one statement ([`finish_posts`]).

use std::collections::{HashMap, HashSet};

use marsad_core::{Md5, MediaKind, Sha256, SignalType, SourceKey, UtcTime};
use marsad_store::{
    NewFingerprint, PostVersion, Result, RunId, RunSummary, Stats, StoreError, StoredMedia, StoredMediaRef,
    StoredPost, StoredRun, StoredSource,
};
use postgres::types::FromSql;
use postgres::{Client, Row};

use crate::{PgStore, backend, sha, source_key, time};

impl marsad_store::PostStore for PgStore {
    fn write_batch(
        &mut self,
        run: RunId,
        batch: &marsad_store::PostBatch,
    ) -> Result<marsad_store::BatchOutcome> {
        crate::write::write_batch(self, run, batch)
    }

    fn repeats(&self, run: RunId, posts: &[(&SourceKey, &str)]) -> Result<Vec<usize>> {
        repeats(self, run, posts)
    }

    fn post_versions(&self, source: &SourceKey, platform_post_id: &str) -> Result<Option<Vec<PostVersion>>> {
        post_versions(self, source, platform_post_id)
    }

    fn stats(&self) -> Result<Stats> {
        stats(self)
    }

    fn sources(&self) -> Result<Vec<StoredSource>> {
        sources(self)
    }

    fn source_counts(&self) -> Result<Vec<marsad_store::SourceCount>> {
        crate::search::source_counts(self)
    }

    fn search_posts(&self, query: &marsad_store::PostQuery) -> Result<Vec<marsad_store::FoundPost>> {
        // The posts, then their media references: one snapshot.
        self.in_snapshot(|| crate::search::search_posts(self, query))
    }

    fn post(&self, source: &SourceKey, platform_post_id: &str) -> Result<Option<StoredPost>> {
        post(self, source, platform_post_id)
    }

    fn posts_of_source(&self, source: &SourceKey) -> Result<Vec<StoredPost>> {
        posts_of_source(self, source)
    }

    fn media(&self, sha256: &Sha256) -> Result<Option<StoredMedia>> {
        media(self, sha256)
    }

    fn fingerprinted_media(&self, sha256: &[Sha256]) -> Result<HashSet<Sha256>> {
        fingerprinted_media(self, sha256)
    }
}

/// Column `i` of a row, or a backend error (never a panic).
pub(crate) fn get<'a, T: FromSql<'a>>(r: &'a Row, i: usize) -> Result<T> {
    r.try_get(i).map_err(backend)
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Backend(format!("corrupt store: invalid {what} {value:?}"))
}

fn kind(s: &str) -> Result<MediaKind> {
    MediaKind::parse(s).ok_or_else(|| corrupt("media kind", s))
}

/// What the store holds, counted in one statement (so from one snapshot).
fn stats(store: &PgStore) -> Result<Stats> {
    let r = store
        .db()?
        .query_one(
            "SELECT (SELECT count(*) FROM sources), (SELECT count(*) FROM posts),
                    (SELECT count(*) FROM media), (SELECT count(*) FROM fingerprints)",
            &[],
        )
        .map_err(backend)?;
    Ok(Stats {
        sources: get::<i64>(&r, 0)? as u64,
        posts: get::<i64>(&r, 1)? as u64,
        media: get::<i64>(&r, 2)? as u64,
        fingerprints: get::<i64>(&r, 3)? as u64,
    })
}

fn sources(store: &PgStore) -> Result<Vec<StoredSource>> {
    let rows = store
        .db()?
        .query(
            r#"SELECT platform, platform_id, name, kind FROM sources
               ORDER BY platform COLLATE "C", platform_id COLLATE "C""#,
            &[],
        )
        .map_err(backend)?;
    rows.iter()
        .map(|r| {
            Ok(StoredSource { key: source_key(get(r, 0)?, get(r, 1)?)?, name: get(r, 2)?, kind: get(r, 3)? })
        })
        .collect()
}

/// The columns [`post_row`] reads, in its order (`p` is `posts`).
pub(crate) const POST_COLUMNS: &str = "p.id, p.platform_post_id, p.posted_at, p.edited_at, p.text, p.url,
                            p.forwarded_from, p.reply_to";

/// A post as read with [`POST_COLUMNS`], before its media references.
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

/// The post in the first columns of `r` ([`POST_COLUMNS`]).
pub(crate) fn post_row(r: &Row) -> Result<PostRow> {
    Ok(PostRow {
        id: get(r, 0)?,
        platform_post_id: get(r, 1)?,
        posted_at: get(r, 2)?,
        edited_at: get(r, 3)?,
        text: get(r, 4)?,
        url: get(r, 5)?,
        forwarded_from: get(r, 6)?,
        reply_to: get(r, 7)?,
    })
}

/// The posts of these rows, each of its source, with their media
/// references (read for all of them in one statement), in the same order.
pub(crate) fn finish_posts(c: &mut Client, rows: Vec<(SourceKey, PostRow)>) -> Result<Vec<StoredPost>> {
    let ids: Vec<i64> = rows.iter().map(|(_, row)| row.id).collect();
    let mut refs: HashMap<i64, Vec<StoredMediaRef>> = HashMap::new();
    if !ids.is_empty() {
        let found = c
            .query(
                "SELECT post_id, kind, path, media_sha256, missing FROM post_media
                 WHERE post_id = ANY($1) ORDER BY post_id, position",
                &[&ids],
            )
            .map_err(backend)?;
        for r in &found {
            let sha256: Option<Vec<u8>> = get(r, 3)?;
            refs.entry(get(r, 0)?).or_default().push(StoredMediaRef {
                kind: kind(get(r, 1)?)?,
                path: get(r, 2)?,
                sha256: sha256.as_deref().map(sha).transpose()?,
                missing: get(r, 4)?,
            });
        }
    }
    rows.into_iter()
        .map(|(source, row)| {
            Ok(StoredPost {
                source,
                media: refs.remove(&row.id).unwrap_or_default(),
                platform_post_id: row.platform_post_id,
                posted_at: time(row.posted_at)?,
                edited_at: row.edited_at.map(time).transpose()?,
                text: row.text,
                url: row.url,
                forwarded_from: row.forwarded_from,
                reply_to: row.reply_to,
            })
        })
        .collect()
}

fn post(store: &PgStore, source: &SourceKey, platform_post_id: &str) -> Result<Option<StoredPost>> {
    let mut c = store.db()?;
    let row = c
        .query_opt(
            &format!(
                "SELECT {POST_COLUMNS} FROM posts p JOIN sources s ON s.id = p.source_id
                 WHERE s.platform = $1 AND s.platform_id = $2 AND p.platform_post_id = $3"
            ),
            &[&source.platform.as_str(), &source.platform_id, &platform_post_id],
        )
        .map_err(backend)?;
    let Some(row) = row else { return Ok(None) };
    let row = post_row(&row)?;
    Ok(finish_posts(&mut c, vec![(source.clone(), row)])?.pop())
}

fn posts_of_source(store: &PgStore, source: &SourceKey) -> Result<Vec<StoredPost>> {
    let mut c = store.db()?;
    let rows = c
        .query(
            &format!(
                r#"SELECT {POST_COLUMNS} FROM posts p JOIN sources s ON s.id = p.source_id
                   WHERE s.platform = $1 AND s.platform_id = $2
                   ORDER BY p.posted_at, length(p.platform_post_id), p.platform_post_id COLLATE "C""#
            ),
            &[&source.platform.as_str(), &source.platform_id],
        )
        .map_err(backend)?;
    let rows = rows.iter().map(|r| Ok((source.clone(), post_row(r)?))).collect::<Result<Vec<_>>>()?;
    finish_posts(&mut c, rows)
}

fn media(store: &PgStore, sha256: &Sha256) -> Result<Option<StoredMedia>> {
    let mut c = store.db()?;
    let row = c
        .query_opt(
            "SELECT md5, kind, byte_size, mime, original_path, retained_path FROM media WHERE sha256 = $1",
            &[&sha256.0.as_slice()],
        )
        .map_err(backend)?;
    let Some(row) = row else { return Ok(None) };
    let md5: Vec<u8> = get(&row, 0)?;
    let md5 = Md5(md5.as_slice().try_into().map_err(|_| corrupt("md5", &format!("{md5:?}")))?);
    let found = c
        .query(
            r#"SELECT signal_type, value, quality, variant FROM fingerprints WHERE media_sha256 = $1
               ORDER BY signal_type COLLATE "C", variant IS NOT NULL, variant COLLATE "C", value COLLATE "C""#,
            &[&sha256.0.as_slice()],
        )
        .map_err(backend)?;
    let fingerprints = found
        .iter()
        .map(|r| {
            let t: String = get(r, 0)?;
            let quality: Option<i32> = get(r, 2)?;
            let signal_type = SignalType::parse(&t).ok_or_else(|| corrupt("signal type", &t))?;
            let variant =
                crate::variant(get(r, 3)?, || format!("{t} fingerprint of media {}", sha256.to_hex()))?;
            let quality = quality
                .map(|q| u8::try_from(q).map_err(|_| corrupt("fingerprint quality", &q.to_string())))
                .transpose()?;
            Ok(NewFingerprint { signal_type, value: get(r, 1)?, quality, variant })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Some(StoredMedia {
        sha256: *sha256,
        md5,
        kind: kind(get(&row, 1)?)?,
        byte_size: get::<i64>(&row, 2)? as u64,
        mime: get(&row, 3)?,
        original_path: get(&row, 4)?,
        retained_path: get(&row, 5)?,
        fingerprints,
    }))
}

/// Every ingest run, oldest first.
pub(crate) fn runs(store: &PgStore) -> Result<Vec<StoredRun>> {
    runs_where(store, None)
}

/// The ingest runs, or only run `only`.
pub(crate) fn runs_where(store: &PgStore, only: Option<RunId>) -> Result<Vec<StoredRun>> {
    let rows = store
        .db()?
        .query(
            "SELECT id, kind, path, started_at, finished_at, status, posts_added, posts_existing,
                    service_skipped, media_added, media_missing, errors, error_details
             FROM ingest_runs WHERE $1::BIGINT IS NULL OR id = $1 ORDER BY id",
            &[&only.map(|r| r.0)],
        )
        .map_err(backend)?;
    rows.iter()
        .map(|r| {
            let status: String = get(r, 5)?;
            let count = |i| get::<i64>(r, i).map(|n| n as u64);
            Ok(StoredRun {
                id: RunId(get(r, 0)?),
                kind: get(r, 1)?,
                path: get(r, 2)?,
                started_at: time(get(r, 3)?)?,
                finished_at: get::<Option<i64>>(r, 4)?.map(time).transpose()?,
                summary: RunSummary {
                    completed: status == "completed",
                    posts_added: count(6)?,
                    posts_existing: count(7)?,
                    service_skipped: count(8)?,
                    media_added: count(9)?,
                    media_missing: count(10)?,
                    errors: count(11)?,
                    error_details: get(r, 12)?,
                },
                status,
            })
        })
        .collect()
}

fn fingerprinted_media(store: &PgStore, shas: &[Sha256]) -> Result<HashSet<Sha256>> {
    if shas.is_empty() {
        return Ok(HashSet::new());
    }
    let asked: Vec<&[u8]> = shas.iter().map(|s| s.0.as_slice()).collect();
    let rows = store
        .db()?
        .query(
            "SELECT a.sha256 FROM UNNEST($1::bytea[]) AS a(sha256)
             WHERE EXISTS (SELECT 1 FROM fingerprints f WHERE f.media_sha256 = a.sha256)",
            &[&asked],
        )
        .map_err(backend)?;
    rows.iter().map(|r| sha(&get::<Vec<u8>>(r, 0)?)).collect()
}

/// Which of `posts` are repeats in `run`: listed earlier, or already seen
/// by the run (all asked in one statement, so from one snapshot).
fn repeats(store: &PgStore, run: RunId, posts: &[(&SourceKey, &str)]) -> Result<Vec<usize>> {
    if posts.is_empty() {
        return Ok(Vec::new());
    }
    let platforms: Vec<&str> = posts.iter().map(|(s, _)| s.platform.as_str()).collect();
    let platform_ids: Vec<&str> = posts.iter().map(|(s, _)| s.platform_id.as_str()).collect();
    let post_ids: Vec<&str> = posts.iter().map(|(_, id)| *id).collect();
    let rows = store
        .db()?
        .query(
            "SELECT k.ord FROM UNNEST($1::text[], $2::text[], $3::text[]) WITH ORDINALITY
                 AS k(platform, platform_id, platform_post_id, ord)
             JOIN sources s ON s.platform = k.platform AND s.platform_id = k.platform_id
             JOIN posts p ON p.source_id = s.id AND p.platform_post_id = k.platform_post_id
             WHERE p.seen_run_id = $4",
            &[&platforms, &platform_ids, &post_ids, &run.0],
        )
        .map_err(backend)?;
    // ORDINALITY counts from 1.
    let seen: HashSet<i64> = rows.iter().map(|r| get::<i64>(r, 0)).collect::<Result<_>>()?;
    let mut listed = HashSet::with_capacity(posts.len());
    let mut out = Vec::new();
    for (i, &(source, id)) in posts.iter().enumerate() {
        let listed_before = !listed.insert((source, id));
        if listed_before || seen.contains(&(i as i64 + 1)) {
            out.push(i);
        }
    }
    Ok(out)
}

/// The earlier texts of a post, oldest first, in one statement: `None`
/// when the post is not stored.
fn post_versions(
    store: &PgStore,
    source: &SourceKey,
    platform_post_id: &str,
) -> Result<Option<Vec<PostVersion>>> {
    let rows = store
        .db()?
        .query(
            "SELECT v.id, v.text, v.edited_at, v.recorded_at
             FROM posts p JOIN sources s ON s.id = p.source_id
             LEFT JOIN post_versions v ON v.post_id = p.id
             WHERE s.platform = $1 AND s.platform_id = $2 AND p.platform_post_id = $3
             ORDER BY v.edited_at IS NOT NULL, v.edited_at, v.id",
            &[&source.platform.as_str(), &source.platform_id, &platform_post_id],
        )
        .map_err(backend)?;
    if rows.is_empty() {
        return Ok(None);
    }
    let time = |micros: i64| {
        UtcTime::from_unix_micros(micros).ok_or_else(|| corrupt("post version time", &micros.to_string()))
    };
    let mut out = Vec::new();
    for r in &rows {
        // The post without versions: one row of NULLs.
        if get::<Option<i64>>(r, 0)?.is_none() {
            continue;
        }
        out.push(PostVersion {
            text: get(r, 1)?,
            edited_at: get::<Option<i64>>(r, 2)?.map(time).transpose()?,
            recorded_at: time(get(r, 3)?)?,
        });
    }
    Ok(Some(out))
}
