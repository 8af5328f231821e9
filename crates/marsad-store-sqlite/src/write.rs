use std::collections::HashMap;

use marsad_core::SourceKey;
use marsad_store::{
    BatchOutcome, MediaContent, NewFingerprint, NewMedia, NewRun, PostBatch, Result, RunId, RunSummary,
    StoreError,
};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::backend;

pub(crate) fn begin_run(conn: &Connection, run: &NewRun) -> Result<RunId> {
    conn.execute(
        "INSERT INTO ingest_runs (kind, path, started_at, status) VALUES (?1, ?2, ?3, 'running')",
        params![run.kind, run.path, run.started_at.unix_micros()],
    )
    .map_err(backend)?;
    Ok(RunId(conn.last_insert_rowid()))
}

pub(crate) fn finish_run(conn: &Connection, id: RunId, s: &RunSummary) -> Result<()> {
    let n = conn
        .execute(
            "UPDATE ingest_runs SET finished_at = ?2, status = ?3, posts_added = ?4,
                 posts_existing = ?5, service_skipped = ?6, media_added = ?7,
                 media_missing = ?8, errors = ?9, error_details = ?10
             WHERE id = ?1",
            params![
                id.0,
                marsad_core::UtcTime::now().unix_micros(),
                if s.completed { "completed" } else { "failed" },
                s.posts_added as i64,
                s.posts_existing as i64,
                s.service_skipped as i64,
                s.media_added as i64,
                s.media_missing as i64,
                s.errors as i64,
                s.error_details,
            ],
        )
        .map_err(backend)?;
    if n == 0 {
        return Err(StoreError::Invalid(format!("no ingest run with id {}", id.0)));
    }
    Ok(())
}

type SourceCache = HashMap<SourceKey, (i64, String, String)>;

pub(crate) fn write_batch(
    conn: &mut Connection,
    cache: &mut SourceCache,
    run: RunId,
    batch: &PostBatch,
) -> Result<BatchOutcome> {
    let tx = conn.transaction().map_err(backend)?;
    if let Some(receipt) = &batch.receipt
        && !crate::queue::claim(&tx, run, receipt, batch.posts.len())?
    {
        return Ok(BatchOutcome { already_applied: true, ..BatchOutcome::default() });
    }
    // Resolved within the transaction; merged into the cache only on commit,
    // so a rolled-back batch never leaves ids that do not exist.
    let mut fresh: Vec<(SourceKey, (i64, String, String))> = Vec::new();
    let mut source_ids = Vec::with_capacity(batch.sources.len());
    for s in &batch.sources {
        let cached = cache.get(&s.key).filter(|(_, name, kind)| *name == s.name && *kind == s.kind);
        let id = match cached {
            Some((id, _, _)) => *id,
            None => {
                let id = upsert_source(&tx, s)?;
                fresh.push((s.key.clone(), (id, s.name.clone(), s.kind.clone())));
                id
            }
        };
        source_ids.push(id);
    }

    let mut out = BatchOutcome::default();
    {
        let mut insert_post = tx
            .prepare_cached(
                "INSERT INTO posts (source_id, platform_post_id, posted_at, edited_at, text, url,
                                    forwarded_from, reply_to, ingest_run_id, seen_run_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)
                 ON CONFLICT (source_id, platform_post_id) DO NOTHING",
            )
            .map_err(backend)?;
        let mut find_post = tx
            .prepare_cached(
                "SELECT id, text, edited_at, seen_run_id, release_id FROM posts
                 WHERE source_id = ?1 AND platform_post_id = ?2",
            )
            .map_err(backend)?;
        let mut seen =
            tx.prepare_cached("UPDATE posts SET seen_run_id = ?2 WHERE id = ?1").map_err(backend)?;
        let mut link = tx
            .prepare_cached(
                "INSERT INTO post_media (post_id, position, kind, path, media_sha256, missing)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (post_id, position) DO UPDATE
                     SET kind = excluded.kind, path = excluded.path,
                         media_sha256 = excluded.media_sha256, missing = NULL
                     WHERE post_media.media_sha256 IS NULL AND excluded.media_sha256 IS NOT NULL",
            )
            .map_err(backend)?;

        // The fingerprints and matches of a media item travel with its first
        // reference in the batch; when that reference is a repeated post,
        // which is skipped whole, they are carried to the item's next
        // reference instead of being lost.
        let mut carried: std::collections::HashMap<&[u8], &NewMedia> = std::collections::HashMap::new();
        for (index, p) in batch.posts.iter().enumerate() {
            let source_id = *source_ids.get(p.source).ok_or_else(|| {
                StoreError::Invalid(format!(
                    "post {} refers to source #{} of a batch of {} sources",
                    p.platform_post_id,
                    p.source,
                    source_ids.len()
                ))
            })?;
            let mut text_is_current = true;
            let added = insert_post
                .execute(params![
                    source_id,
                    p.platform_post_id,
                    p.posted_at.unix_micros(),
                    p.edited_at.map(|t| t.unix_micros()),
                    p.text,
                    p.url,
                    p.forwarded_from,
                    p.reply_to,
                    run.0,
                ])
                .map_err(backend)?;
            let post_id = if added == 1 {
                out.posts_added += 1;
                tx.last_insert_rowid()
            } else {
                let stored: Stored = find_post
                    .query_row(params![source_id, p.platform_post_id], |r| {
                        Ok(Stored {
                            id: r.get(0)?,
                            text: r.get(1)?,
                            edited_at: r.get(2)?,
                            seen_run: r.get(3)?,
                            release: r.get(4)?,
                        })
                    })
                    .map_err(backend)?;
                if stored.seen_run == Some(run.0) {
                    // The same id twice in one input: the first is kept whole.
                    out.repeated.push(index);
                    for m in &p.media {
                        if let MediaContent::Present(media) = &m.content
                            && (!media.fingerprints.is_empty() || !media.matches.is_empty())
                        {
                            carried.entry(media.sha256.0.as_slice()).or_insert(media);
                        }
                    }
                    continue;
                }
                out.posts_existing += 1;
                seen.execute(params![stored.id, run.0]).map_err(backend)?;
                if stored.text != p.text {
                    let changed = edit(&tx, run, &stored, p)?;
                    out.posts_edited += u64::from(changed);
                    // An older text kept only as a version: its fingerprints
                    // and matches are not the post's.
                    text_is_current = changed;
                }
                stored.id
            };
            for (position, m) in p.media.iter().enumerate() {
                let (sha, missing) = match &m.content {
                    MediaContent::Present(media) => {
                        let media = carried.remove(media.sha256.0.as_slice()).unwrap_or(media);
                        let (added, fps) = insert_media(&tx, media)?;
                        out.media_added += added;
                        out.fingerprints_added += fps;
                        out.matches_added +=
                            insert_matches(&tx, Some(media.sha256.0.as_slice()), None, &media.matches)?;
                        (Some(media.sha256.0.as_slice()), None)
                    }
                    MediaContent::Missing(why) => (None, Some(why.as_str())),
                };
                link.execute(params![post_id, position as i64, m.kind.as_str(), m.path, sha, missing])
                    .map_err(backend)?;
            }
            if !text_is_current {
                continue;
            }
            out.fingerprints_added += insert_fingerprints(&tx, Owner::Post(post_id), &p.fingerprints)?;
            out.matches_added += insert_matches(&tx, None, Some(post_id), &p.matches)?;
        }
    }
    crate::queue::settle(&tx, run, batch, &out)?;
    tx.commit().map_err(backend)?;
    cache.extend(fresh);
    Ok(out)
}

/// A stored post as an incoming one is compared with it.
struct Stored {
    id: i64,
    text: String,
    edited_at: Option<i64>,
    seen_run: Option<i64>,
    release: Option<i64>,
}

/// A stored post met again with another text. The newer text (by
/// `edited_at`, `None` oldest; the incoming one on a tie) becomes the post's,
/// the other is kept as a version. Returns whether the post's text changed.
fn edit(tx: &Transaction<'_>, run: RunId, stored: &Stored, p: &marsad_store::NewPost) -> Result<bool> {
    let now = marsad_core::UtcTime::now().unix_micros();
    let incoming_edited = p.edited_at.map(|t| t.unix_micros());
    let mut keep = tx
        .prepare_cached(
            "INSERT INTO post_versions (post_id, text, edited_at, recorded_at, ingest_run_id)
             SELECT ?1, ?2, ?3, ?4, ?5
             WHERE NOT EXISTS (SELECT 1 FROM post_versions WHERE post_id = ?1 AND text = ?2)",
        )
        .map_err(backend)?;
    if incoming_edited < stored.edited_at {
        // An older export than the one stored: its text is an earlier version.
        keep.execute(params![stored.id, p.text, incoming_edited, now, run.0]).map_err(backend)?;
        return Ok(false);
    }
    keep.execute(params![stored.id, stored.text, stored.edited_at, now, run.0]).map_err(backend)?;
    tx.prepare_cached("UPDATE posts SET text = ?2, edited_at = ?3 WHERE id = ?1")
        .map_err(backend)?
        .execute(params![stored.id, p.text, incoming_edited])
        .map_err(backend)?;
    // The text fingerprints were of the old text; the batch's are of the new.
    tx.prepare_cached("DELETE FROM fingerprints WHERE post_id = ?1")
        .map_err(backend)?
        .execute([stored.id])
        .map_err(backend)?;
    if let Some(release) = stored.release {
        // Releases only ever merge when grouping, so the one the old text may
        // have joined is dissolved: its posts are grouped again from scratch,
        // which gives the releases of the posts as they are now.
        tx.prepare_cached("UPDATE posts SET release_id = NULL, text_linkable = 0 WHERE release_id = ?1")
            .map_err(backend)?
            .execute([release])
            .map_err(backend)?;
        tx.prepare_cached("DELETE FROM releases WHERE id = ?1")
            .map_err(backend)?
            .execute([release])
            .map_err(backend)?;
    }
    // Even an ungrouped post's edit changes what a grouping run reading it
    // meanwhile saw: that run must start again.
    tx.execute("UPDATE meta SET value = value + 1 WHERE key = 'releases_generation'", []).map_err(backend)?;
    Ok(true)
}

fn upsert_source(tx: &Transaction<'_>, s: &marsad_store::NewSource) -> Result<i64> {
    tx.execute(
        "INSERT INTO sources (platform, platform_id, name, kind) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (platform, platform_id) DO UPDATE SET name = excluded.name, kind = excluded.kind",
        params![s.key.platform.as_str(), s.key.platform_id, s.name, s.kind],
    )
    .map_err(backend)?;
    tx.query_row(
        "SELECT id FROM sources WHERE platform = ?1 AND platform_id = ?2",
        params![s.key.platform.as_str(), s.key.platform_id],
        |r| r.get(0),
    )
    .optional()
    .map_err(backend)?
    .ok_or_else(|| StoreError::Backend(format!("source {} vanished after insert", s.key)))
}

/// Inserts a media item and its fingerprints; returns (media added, fingerprints added).
fn insert_media(tx: &Transaction<'_>, m: &NewMedia) -> Result<(u64, u64)> {
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO media (sha256, md5, kind, byte_size, mime, original_path, retained_path)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (sha256) DO NOTHING",
        )
        .map_err(backend)?;
    let added = insert
        .execute(params![
            m.sha256.0.as_slice(),
            m.md5.0.as_slice(),
            m.kind.as_str(),
            m.byte_size as i64,
            m.mime,
            m.original_path,
            m.retained_path,
        ])
        .map_err(backend)? as u64;
    if added == 0 && m.retained_path.is_some() {
        // Known media whose bytes are kept from now on.
        tx.prepare_cached("UPDATE media SET retained_path = ?2 WHERE sha256 = ?1 AND retained_path IS NULL")
            .map_err(backend)?
            .execute(params![m.sha256.0.as_slice(), m.retained_path])
            .map_err(backend)?;
    }
    let fps = insert_fingerprints(tx, Owner::Media(m.sha256.0.as_slice()), &m.fingerprints)?;
    Ok((added, fps))
}

/// What a fingerprint is of.
#[derive(Clone, Copy)]
enum Owner<'a> {
    Media(&'a [u8]),
    Post(i64),
}

/// Inserts an item's fingerprints, its own before its variants, so that a
/// variant whose value equals the own fingerprint of its signal type is
/// seen to and left out; one already stored is left as it is. Returns how
/// many were new.
fn insert_fingerprints(tx: &Transaction<'_>, owner: Owner<'_>, fps: &[NewFingerprint]) -> Result<u64> {
    if fps.is_empty() {
        return Ok(0);
    }
    let (owner_is, media, post) = match owner {
        Owner::Media(sha) => ("media_sha256 = ?1", Some(sha), None),
        Owner::Post(id) => ("post_id = ?2", None, Some(id)),
    };
    let sql = format!(
        "INSERT OR IGNORE INTO fingerprints (media_sha256, post_id, signal_type, value, quality, variant)
         SELECT ?1, ?2, ?3, ?4, ?5, ?6
         WHERE ?6 IS NULL OR NOT EXISTS (
             SELECT 1 FROM fingerprints
             WHERE {owner_is} AND signal_type = ?3 AND variant IS NULL AND value = ?4)"
    );
    let mut insert = tx.prepare_cached(&sql).map_err(backend)?;
    let own = fps.iter().filter(|f| f.variant.is_none());
    let variants = fps.iter().filter(|f| f.variant.is_some());
    let mut n = 0;
    for f in own.chain(variants) {
        n += insert
            .execute(params![
                media,
                post,
                f.signal_type.as_str(),
                f.value,
                f.quality,
                f.variant.map(|v| v.as_str())
            ])
            .map_err(backend)? as u64;
    }
    Ok(n)
}

/// Stores matches of a media item or a post (one of the two); a match
/// already stored, or whose pair a moderator rejected (the ignore list),
/// is left as it is. Returns how many were new.
pub(crate) fn insert_matches(
    tx: &Transaction<'_>,
    media: Option<&[u8]>,
    post: Option<i64>,
    matches: &[marsad_store::NewMatch],
) -> Result<u64> {
    if matches.is_empty() {
        return Ok(0);
    }
    let mut insert = tx
        .prepare_cached(&format!(
            "INSERT OR IGNORE INTO matches
                     (media_sha256, post_id, entry_id, signal_type, distance, detail, matched_at, variant)
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 WHERE {}",
            crate::review::NOT_IGNORED
        ))
        .map_err(backend)?;
    let now = marsad_core::UtcTime::now().unix_micros();
    let mut n = 0;
    for m in matches {
        n += insert
            .execute(params![
                media,
                post,
                m.entry_id.0,
                m.signal_type.as_str(),
                m.distance,
                m.detail,
                now,
                m.variant.map(|v| v.as_str())
            ])
            .map_err(backend)? as u64;
    }
    Ok(n)
}
