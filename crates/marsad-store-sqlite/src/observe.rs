//! Outlets, releases and the grouping state.

use std::collections::HashMap;

use marsad_core::{Evidence, MediaKind, PostId, ReleaseFormat, ReleaseId, SourceId, SourceKey, UtcTime};
use marsad_store::{
    BankEntry, GroupMedia, GroupPost, GroupingUpdate, OutletRecord, ReleaseMember, ReleaseRecord,
    ReleaseSlot, Result, SightingRecord, StoreError, sighting,
};
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use crate::backend;
use crate::read::{sha, source_key};

/// A stored record that cannot be read back.
fn corrupt(record: String, problem: String) -> StoreError {
    StoreError::Corrupt { record, problem }
}

/// A stored time of a record, or an error naming the record.
fn stored_time(record: impl FnOnce() -> String, column: &str, micros: i64) -> Result<UtcTime> {
    UtcTime::from_unix_micros(micros).ok_or_else(|| {
        corrupt(record(), format!("{column} {micros} µs after 1970 is outside years 1 to 9999"))
    })
}

/// When a post was posted, or an error naming the post.
fn post_time(post: i64, micros: i64) -> Result<UtcTime> {
    stored_time(|| format!("post {post}"), "posted_at", micros)
}

fn bump_generation(tx: &Connection) -> Result<()> {
    tx.execute("UPDATE meta SET value = value + 1 WHERE key = 'releases_generation'", []).map_err(backend)?;
    Ok(())
}

pub(crate) fn releases_generation(conn: &Connection) -> Result<i64> {
    conn.query_row("SELECT value FROM meta WHERE key = 'releases_generation'", [], |r| r.get(0))
        .map_err(backend)
}

pub(crate) fn replace_outlets(conn: &mut Connection, outlets: &[OutletRecord]) -> Result<()> {
    let tx = conn.transaction().map_err(backend)?;
    tx.execute("DELETE FROM outlet_channels", []).map_err(backend)?;
    tx.execute("DELETE FROM outlets", []).map_err(backend)?;
    for (i, o) in outlets.iter().enumerate() {
        tx.execute(
            "INSERT INTO outlets (id, name, aliases, region, parent) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                i as i64 + 1,
                o.name,
                serde_json::to_string(&o.aliases)
                    .map_err(|e| StoreError::Invalid(format!("aliases of outlet {:?}: {e}", o.name)))?,
                o.region,
                o.parent
            ],
        )
        .map_err(backend)?;
        for c in &o.channels {
            tx.execute(
                "INSERT INTO outlet_channels (outlet_id, platform, platform_id) VALUES (?1, ?2, ?3)",
                params![i as i64 + 1, c.platform.as_str(), c.platform_id],
            )
            .map_err(|e| StoreError::Invalid(format!("channel {c}: {e}")))?;
        }
    }
    bump_generation(&tx)?;
    tx.commit().map_err(backend)
}

/// id, name, aliases (JSON), region, parent.
type OutletRow = (i64, String, String, Option<String>, Option<String>);

pub(crate) fn outlets(conn: &Connection) -> Result<Vec<OutletRecord>> {
    let mut stmt =
        conn.prepare("SELECT id, name, aliases, region, parent FROM outlets ORDER BY id").map_err(backend)?;
    let rows: Vec<OutletRow> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .map_err(backend)?
        .collect::<rusqlite::Result<_>>()
        .map_err(backend)?;
    let mut chans = conn
        .prepare("SELECT platform, platform_id FROM outlet_channels WHERE outlet_id = ?1 ORDER BY platform, platform_id")
        .map_err(backend)?;
    rows.into_iter()
        .map(|(id, name, aliases, region, parent)| {
            let channels = chans
                .query_map([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                .map_err(backend)?
                .map(|row| {
                    let (p, pid) = row.map_err(backend)?;
                    source_key(&p, pid)
                })
                .collect::<Result<Vec<_>>>()?;
            let aliases = serde_json::from_str(&aliases).map_err(|e| {
                corrupt(
                    format!("outlet {name:?}"),
                    format!("aliases {aliases:?} are not a JSON list of names: {e}"),
                )
            })?;
            Ok(OutletRecord { name, aliases, channels, region, parent })
        })
        .collect()
}

fn kind(s: &str) -> Option<MediaKind> {
    MediaKind::parse(s)
}

/// Called inside one read transaction (see [`crate::in_snapshot`]): the
/// generation returned is that of the posts visited.
pub(crate) fn grouping_posts(
    conn: &Connection,
    visit: &mut dyn FnMut(GroupPost) -> Result<()>,
) -> Result<i64> {
    let generation = releases_generation(conn)?;
    // Posts, with the text signature when it may be needed and the text of
    // posts not yet grouped.
    let mut posts = conn
        .prepare(
            "SELECT p.id, p.source_id, p.posted_at, p.release_id,
                    CASE WHEN p.release_id IS NULL OR p.text_linkable = 1 THEN f.value END,
                    CASE WHEN p.release_id IS NULL THEN p.text END
             FROM posts p
             LEFT JOIN fingerprints f ON f.post_id = p.id AND f.signal_type = 'text' AND f.variant IS NULL
             ORDER BY p.id",
        )
        .map_err(backend)?;
    // Media of every post, in the same order, with their own fingerprints:
    // a variant (python-threatexchange's PDQ of a palette image) is of the
    // same image, and grouping compares images by marsad's own hashes.
    let mut media = conn
        .prepare(
            "SELECT pm.post_id, pm.kind, pm.media_sha256,
                    (SELECT value FROM fingerprints
                     WHERE media_sha256 = pm.media_sha256 AND signal_type = 'pdq' AND variant IS NULL),
                    (SELECT quality FROM fingerprints
                     WHERE media_sha256 = pm.media_sha256 AND signal_type = 'pdq' AND variant IS NULL),
                    (SELECT value FROM fingerprints
                     WHERE media_sha256 = pm.media_sha256 AND signal_type = 'vpdq' AND variant IS NULL),
                    (SELECT value FROM fingerprints
                     WHERE media_sha256 = pm.media_sha256 AND signal_type = 'audio' AND variant IS NULL)
             FROM post_media pm ORDER BY pm.post_id, pm.position",
        )
        .map_err(backend)?;
    let mut media_rows = media.query([]).map_err(backend)?;
    let mut pending: Option<(i64, GroupMedia)> = None;
    let mut next_media = |pending: &mut Option<(i64, GroupMedia)>| -> Result<Option<(i64, GroupMedia)>> {
        if let Some(p) = pending.take() {
            return Ok(Some(p));
        }
        let Some(r) = media_rows.next().map_err(backend)? else { return Ok(None) };
        let post: i64 = r.get(0).map_err(backend)?;
        let k: String = r.get(1).map_err(backend)?;
        let sha256: Option<Vec<u8>> = r.get(2).map_err(backend)?;
        let pdq: Option<String> = r.get(3).map_err(backend)?;
        let quality: Option<i64> = r.get(4).map_err(backend)?;
        // Ingest stores a known kind and a PDQ hash with its quality (0–100):
        // anything else is damage, not a default.
        let media_kind =
            kind(&k).ok_or_else(|| corrupt(format!("post {post}"), format!("unknown media kind {k:?}")))?;
        let pdq = match (pdq, quality) {
            (None, _) => None,
            (Some(v), Some(q)) if (0..=100).contains(&q) => Some((v, q as u8)),
            (Some(_), q) => {
                return Err(corrupt(format!("post {post}"), format!("PDQ quality {q:?} is not 0 to 100")));
            }
        };
        Ok(Some((
            post,
            GroupMedia {
                kind: Some(media_kind),
                sha256: sha256.map(|b| sha(&b)).transpose()?,
                pdq,
                vpdq: r.get(5).map_err(backend)?,
                audio: r.get(6).map_err(backend)?,
            },
        )))
    };
    let mut rows = posts.query([]).map_err(backend)?;
    while let Some(r) = rows.next().map_err(backend)? {
        let id: i64 = r.get(0).map_err(backend)?;
        let release_id: Option<i64> = r.get(3).map_err(backend)?;
        let mut post = GroupPost {
            id: PostId(id),
            source_id: SourceId(r.get(1).map_err(backend)?),
            posted_at: post_time(id, r.get(2).map_err(backend)?)?,
            release_id: release_id.map(ReleaseId),
            text_signature: r.get(4).map_err(backend)?,
            text: r.get(5).map_err(backend)?,
            media: Vec::new(),
        };
        while let Some((pid, m)) = next_media(&mut pending)? {
            if pid < id {
                continue;
            }
            if pid > id {
                pending = Some((pid, m));
                break;
            }
            post.media.push(m);
        }
        visit(post)?;
    }
    Ok(generation)
}

pub(crate) fn post_texts(conn: &Connection, posts: &[PostId]) -> Result<Vec<(PostId, String)>> {
    let mut out = Vec::with_capacity(posts.len());
    for chunk in posts.chunks(500) {
        let sql = format!("SELECT id, text FROM posts WHERE id IN ({})", vec!["?"; chunk.len()].join(","));
        let mut stmt = conn.prepare(&sql).map_err(backend)?;
        let rows = stmt
            .query_map(params_from_iter(chunk.iter().map(|p| p.0)), |r| Ok((PostId(r.get(0)?), r.get(1)?)))
            .map_err(backend)?;
        for row in rows {
            out.push(row.map_err(backend)?);
        }
    }
    Ok(out)
}

pub(crate) fn ungrouped_posts(conn: &Connection) -> Result<u64> {
    conn.query_row("SELECT count(*) FROM posts WHERE release_id IS NULL", [], |r| r.get::<_, i64>(0))
        .map(|n| n as u64)
        .map_err(backend)
}

pub(crate) fn apply_grouping(
    conn: &mut Connection,
    update: &GroupingUpdate,
) -> Result<HashMap<u32, ReleaseId>> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(backend)?;
    // Only grouping, describing and the registry change the generation:
    // posts an ingest added since the read leave it as it was (they are
    // still ungrouped, for the next run), so an update is refused only when
    // another run changed the releases it was computed from.
    let now = releases_generation(&tx)?;
    if now != update.generation {
        return Err(StoreError::Conflict(format!(
            "releases changed while grouping (generation {now} now, {} when the posts were read)",
            update.generation
        )));
    }
    let mut ids: HashMap<u32, ReleaseId> = HashMap::new();
    {
        let mut new_release = tx.prepare_cached("INSERT INTO releases DEFAULT VALUES").map_err(backend)?;
        // One write per post: its release and whether its text may link.
        let linkable: std::collections::HashSet<PostId> = update.text_linkable.iter().copied().collect();
        let mut assign = tx
            .prepare_cached(
                "UPDATE posts SET release_id = ?2, text_linkable = (text_linkable OR ?3) WHERE id = ?1",
            )
            .map_err(backend)?;
        let mut assigned: std::collections::HashSet<PostId> = std::collections::HashSet::new();
        for &(post, release) in &update.assign {
            let real = match release {
                ReleaseSlot::Existing(r) => r,
                ReleaseSlot::New(n) => match ids.get(&n) {
                    Some(&r) => r,
                    None => {
                        new_release.execute([]).map_err(backend)?;
                        let r = ReleaseId(tx.last_insert_rowid());
                        ids.insert(n, r);
                        r
                    }
                },
            };
            assign.execute(params![post.0, real.0, linkable.contains(&post)]).map_err(backend)?;
            if linkable.contains(&post) {
                assigned.insert(post);
            }
        }
        // Linkable posts whose release did not change.
        let mut mark =
            tx.prepare_cached("UPDATE posts SET text_linkable = 1 WHERE id = ?1").map_err(backend)?;
        for p in update.text_linkable.iter().filter(|p| !assigned.contains(p)) {
            mark.execute([p.0]).map_err(backend)?;
        }
        let mut drop = tx.prepare_cached("DELETE FROM releases WHERE id = ?1").map_err(backend)?;
        for &r in &update.merged {
            drop.execute([r.0]).map_err(backend)?;
        }
    }
    bump_generation(&tx)?;
    tx.commit().map_err(backend)?;
    Ok(ids)
}

/// `only` in chunks of at most `size` ids (SQLite bounds a statement's
/// parameters), or one pass over every release when `None`, each with its
/// SQL condition on `column`.
fn id_chunks<'a>(only: Option<&'a [ReleaseId]>, column: &str, size: usize) -> Vec<(String, &'a [ReleaseId])> {
    match only {
        None => vec![(format!("{column} IS NOT NULL"), &[][..])],
        Some(ids) => {
            ids.chunks(size).map(|c| (format!("{column} IN ({})", vec!["?"; c.len()].join(",")), c)).collect()
        }
    }
}

pub(crate) fn release_members(
    conn: &Connection,
    releases: Option<&[ReleaseId]>,
    visit: &mut dyn FnMut(ReleaseMember) -> Result<()>,
) -> Result<()> {
    for (condition, chunk) in id_chunks(releases, "p.release_id", 500) {
        let sql = format!(
            "SELECT p.release_id, p.id, s.platform, s.platform_id, s.id, p.platform_post_id, p.posted_at, p.text,
                    (SELECT group_concat(kind, ',') FROM (SELECT kind FROM post_media WHERE post_id = p.id ORDER BY position))
             FROM posts p JOIN sources s ON s.id = p.source_id
             WHERE {condition} ORDER BY p.release_id, p.posted_at, p.id"
        );
        let mut stmt = conn.prepare(&sql).map_err(backend)?;
        let mut rows = stmt.query(params_from_iter(chunk.iter().map(|r| r.0))).map_err(backend)?;
        while let Some(r) = rows.next().map_err(backend)? {
            let platform: String = r.get(2).map_err(backend)?;
            let kinds: Option<String> = r.get(8).map_err(backend)?;
            let post_id: i64 = r.get(1).map_err(backend)?;
            // No media: no kinds (NULL); an unknown kind is damage.
            let media_kinds = kinds
                .as_deref()
                .unwrap_or_default()
                .split(',')
                .filter(|k| !k.is_empty())
                .map(|k| {
                    kind(k).ok_or_else(|| {
                        corrupt(format!("post {post_id}"), format!("unknown media kind {k:?}"))
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            visit(ReleaseMember {
                release_id: ReleaseId(r.get(0).map_err(backend)?),
                post_id: PostId(post_id),
                source: source_key(&platform, r.get(3).map_err(backend)?)?,
                source_id: SourceId(r.get(4).map_err(backend)?),
                platform_post_id: r.get(5).map_err(backend)?,
                posted_at: post_time(post_id, r.get(6).map_err(backend)?)?,
                text: r.get(7).map_err(backend)?,
                media_kinds,
            })?;
        }
    }
    Ok(())
}

pub(crate) fn release_matches(
    conn: &Connection,
    releases: Option<&[ReleaseId]>,
) -> Result<Vec<(ReleaseId, BankEntry)>> {
    let mut pairs: Vec<(i64, i64)> = Vec::new();
    // each id is a parameter twice
    for (filter, chunk) in id_chunks(releases, "p.release_id", 400) {
        let sql = format!(
            "SELECT DISTINCT p.release_id, m.entry_id FROM matches m JOIN posts p ON p.id = m.post_id WHERE {filter}
             UNION
             SELECT DISTINCT p.release_id, m.entry_id FROM matches m
                JOIN post_media pm ON pm.media_sha256 = m.media_sha256 JOIN posts p ON p.id = pm.post_id WHERE {filter}"
        );
        let mut stmt = conn.prepare(&sql).map_err(backend)?;
        let args = chunk.iter().chain(chunk).map(|r| r.0);
        let rows = stmt.query_map(params_from_iter(args), |r| Ok((r.get(0)?, r.get(1)?))).map_err(backend)?;
        for row in rows {
            pairs.push(row.map_err(backend)?);
        }
    }
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<marsad_core::EntryId> = pairs.iter().map(|p| marsad_core::EntryId(p.1)).collect();
    let mut entries: HashMap<i64, BankEntry> = HashMap::new();
    crate::banks::bank_entries(
        conn,
        &marsad_store::EntryFilter { ids: Some(ids), ..marsad_store::EntryFilter::default() },
        &mut |e| {
            entries.insert(e.id.0, e);
            Ok(())
        },
    )?;
    Ok(pairs.into_iter().filter_map(|(r, e)| entries.get(&e).map(|e| (ReleaseId(r), e.clone()))).collect())
}

pub(crate) fn update_releases(conn: &mut Connection, releases: &[ReleaseRecord]) -> Result<()> {
    let tx = conn.transaction().map_err(backend)?;
    {
        let mut source_id = tx
            .prepare_cached("SELECT id FROM sources WHERE platform = ?1 AND platform_id = ?2")
            .map_err(backend)?;
        let mut update = tx
            .prepare_cached(
                "UPDATE releases SET first_seen = ?2, last_seen = ?3, sightings = ?4, channels = ?5, format = ?6,
                        language = ?7, outlet = ?8, evidence = ?9, first_source = ?10 WHERE id = ?1",
            )
            .map_err(backend)?;
        for r in releases {
            let src: Option<i64> = match &r.first_source {
                Some(k) => Some(
                    source_id
                        .query_row(params![k.platform.as_str(), k.platform_id], |row| row.get(0))
                        .optional()
                        .map_err(backend)?
                        .ok_or_else(|| {
                            StoreError::Invalid(format!("release {}: first source {k} is not stored", r.id))
                        })?,
                ),
                None => None,
            };
            update
                .execute(params![
                    r.id.0,
                    r.first_seen.unix_micros(),
                    r.last_seen.unix_micros(),
                    r.sightings as i64,
                    r.channels as i64,
                    r.format.as_str(),
                    r.language,
                    r.outlet,
                    r.evidence.to_json(),
                    src
                ])
                .map_err(backend)?;
        }
    }
    bump_generation(&tx)?;
    tx.commit().map_err(backend)
}

pub(crate) fn releases(
    conn: &Connection,
    only: Option<&[ReleaseId]>,
    visit: &mut dyn FnMut(ReleaseRecord) -> Result<()>,
) -> Result<()> {
    if let Some(ids) = only.filter(|ids| ids.len() > 500) {
        // several queries: their rows are put in order of first seen here
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut found = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            releases(conn, Some(chunk), &mut |r| {
                found.push(r);
                Ok(())
            })?;
        }
        found.sort_by_key(|r| (r.first_seen, r.id));
        return found.into_iter().try_for_each(visit);
    }
    let Some((condition, args)) = id_chunks(only, "r.id", 500).pop() else { return Ok(()) };
    let sql = format!(
        "SELECT r.id, r.first_seen, r.last_seen, r.sightings, r.channels, r.format, r.language, r.outlet, r.evidence,
                s.platform, s.platform_id
         FROM releases r LEFT JOIN sources s ON s.id = r.first_source
         WHERE {condition}
         ORDER BY r.first_seen, r.id"
    );
    let mut stmt = conn.prepare(&sql).map_err(backend)?;
    let mut rows = stmt.query(params_from_iter(args.iter().map(|r| r.0))).map_err(backend)?;
    while let Some(r) = rows.next().map_err(backend)? {
        let platform: Option<String> = r.get(9).map_err(backend)?;
        let first_source = match platform {
            Some(p) => Some(source_key(&p, r.get(10).map_err(backend)?)?),
            None => None,
        };
        let id = ReleaseId(r.get(0).map_err(backend)?);
        let record = || format!("release {id}");
        let format: String = r.get(5).map_err(backend)?;
        let format = ReleaseFormat::parse(&format)
            .ok_or_else(|| StoreError::Invalid(format!("release {id} has an unknown format {format:?}")))?;
        let evidence: String = r.get(8).map_err(backend)?;
        // '{}' is the column's default: a release grouped but not described
        // yet (a run stopped between grouping and describing) is attributed
        // to no one. Anything else must parse.
        let evidence = if evidence == "{}" {
            Evidence::None
        } else {
            Evidence::from_json(&evidence)
                .map_err(|e| StoreError::Invalid(format!("release {id} has unreadable evidence: {e}")))?
        };
        visit(ReleaseRecord {
            id,
            first_seen: stored_time(record, "first_seen", r.get(1).map_err(backend)?)?,
            last_seen: stored_time(record, "last_seen", r.get(2).map_err(backend)?)?,
            sightings: r.get::<_, i64>(3).map_err(backend)? as u64,
            channels: r.get::<_, i64>(4).map_err(backend)? as u64,
            format,
            language: r.get(6).map_err(backend)?,
            outlet: r.get(7).map_err(backend)?,
            evidence,
            first_source,
        })?;
    }
    Ok(())
}

pub(crate) fn release_points(
    conn: &Connection,
    visit: &mut dyn FnMut(ReleaseId, SourceId, i64) -> Result<()>,
) -> Result<()> {
    // A plain scan of the table in storage order: the unary `+` keeps
    // SQLite off the release index, whose order would cost a random table
    // read per post.
    let mut stmt = conn
        .prepare("SELECT id, release_id, source_id, posted_at FROM posts WHERE +release_id IS NOT NULL")
        .map_err(backend)?;
    let mut rows = stmt.query([]).map_err(backend)?;
    while let Some(r) = rows.next().map_err(backend)? {
        let time = post_time(r.get(0).map_err(backend)?, r.get(3).map_err(backend)?)?;
        visit(
            ReleaseId(r.get(1).map_err(backend)?),
            SourceId(r.get(2).map_err(backend)?),
            time.unix_micros(),
        )?;
    }
    Ok(())
}

pub(crate) fn source_ids(conn: &Connection) -> Result<Vec<(SourceId, SourceKey)>> {
    let mut stmt =
        conn.prepare("SELECT id, platform, platform_id FROM sources ORDER BY id").map_err(backend)?;
    let mut rows = stmt.query([]).map_err(backend)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(backend)? {
        let platform: String = r.get(1).map_err(backend)?;
        out.push((SourceId(r.get(0).map_err(backend)?), source_key(&platform, r.get(2).map_err(backend)?)?));
    }
    Ok(out)
}

/// A grouped post as sightings need it.
struct SightingRow {
    source_id: i64,
    source: SourceKey,
    posted_at: UtcTime,
    platform_post_id: String,
}

/// The sightings of one release, by [`marsad_store::sighting`]'s rule.
fn visit_sightings(
    release_id: i64,
    posts: &[SightingRow],
    visit: &mut dyn FnMut(SightingRecord) -> Result<()>,
) -> Result<()> {
    let keys: Vec<sighting::SightingPost<'_>> = posts
        .iter()
        .map(|p| sighting::SightingPost {
            source_id: p.source_id,
            posted_at: p.posted_at,
            platform_post_id: &p.platform_post_id,
        })
        .collect();
    for s in sighting::sightings_of(&keys) {
        let first = &posts[s.first];
        visit(SightingRecord {
            release_id: ReleaseId(release_id),
            source: first.source.clone(),
            posted_at: first.posted_at,
            post_id: first.platform_post_id.clone(),
            posts: s.posts,
        })?;
    }
    Ok(())
}

pub(crate) fn sightings(
    conn: &Connection,
    only: Option<&[ReleaseId]>,
    visit: &mut dyn FnMut(SightingRecord) -> Result<()>,
) -> Result<()> {
    let mut ids: Vec<ReleaseId> = only.unwrap_or_default().to_vec();
    ids.sort_unstable();
    ids.dedup();
    for (condition, args) in id_chunks(only.map(|_| ids.as_slice()), "p.release_id", 500) {
        sightings_where(conn, &condition, args, visit)?;
    }
    Ok(())
}

fn sightings_where(
    conn: &Connection,
    condition: &str,
    args: &[ReleaseId],
    visit: &mut dyn FnMut(SightingRecord) -> Result<()>,
) -> Result<()> {
    // The posts of each release together; the sightings are made of them
    // in Rust, by the one definition (SQL's `/` truncates negative times
    // towards zero, and `min()` compares post ids as text).
    let sql = format!(
        "SELECT p.release_id, p.id, p.source_id, s.platform, s.platform_id, p.posted_at, p.platform_post_id
         FROM posts p JOIN sources s ON s.id = p.source_id
         WHERE {condition}
         ORDER BY p.release_id"
    );
    let mut stmt = conn.prepare(&sql).map_err(backend)?;
    let mut rows = stmt.query(params_from_iter(args.iter().map(|r| r.0))).map_err(backend)?;
    let mut release: Option<i64> = None;
    let mut posts: Vec<SightingRow> = Vec::new();
    while let Some(r) = rows.next().map_err(backend)? {
        let release_id: i64 = r.get(0).map_err(backend)?;
        if release.is_some_and(|x| x != release_id) {
            visit_sightings(release.unwrap_or(release_id), &posts, visit)?;
            posts.clear();
        }
        release = Some(release_id);
        let post: i64 = r.get(1).map_err(backend)?;
        let platform: String = r.get(3).map_err(backend)?;
        posts.push(SightingRow {
            source_id: r.get(2).map_err(backend)?,
            source: source_key(&platform, r.get(4).map_err(backend)?)?,
            posted_at: post_time(post, r.get(5).map_err(backend)?)?,
            platform_post_id: r.get(6).map_err(backend)?,
        });
    }
    if let Some(release_id) = release {
        visit_sightings(release_id, &posts, visit)?;
    }
    Ok(())
}
