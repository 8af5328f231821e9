//! Writing ingest runs and batches of posts (RunStore, PostStore's writes).
//!
//! A batch is one write transaction ([`PgStore::write`]) made of a fixed
//! number of set-based statements, whatever its size: each table is written
//! by one statement over arrays (`UNNEST`), or, for the bulk of the rows
//! (new posts and fingerprints), by binary `COPY`, not one round trip per
//! post. The
//! SQLite store decides post by post, in batch order, what each post does;
//! here the same decisions are taken in that order in memory, from the
//! stored rows read up front (the writer lock keeps them from changing
//! meanwhile), and only their results are written. Every array statement
//! keeps the batch order (`WITH ORDINALITY … ORDER BY`), so that ids are
//! handed out in the order SQLite gives them.

use std::collections::{HashMap, HashSet};

use marsad_core::{Sha256, SourceKey, UtcTime};
use marsad_store::{
    BatchOutcome, MediaContent, NewFingerprint, NewMatch, NewMedia, NewPost, NewRun, NewSource, PostBatch,
    Result, RunId, RunSummary, StoreError, StoredRun,
};
use postgres::Transaction;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;

use crate::{PgStore, backend};

impl marsad_store::RunStore for PgStore {
    fn begin_run(&mut self, run: &NewRun) -> Result<RunId> {
        self.write(|tx| {
            let row = tx
                .query_one(
                    "INSERT INTO ingest_runs (kind, path, started_at, status)
                     VALUES ($1, $2, $3, 'running') RETURNING id",
                    &[&run.kind, &run.path, &run.started_at.unix_micros()],
                )
                .map_err(backend)?;
            Ok(RunId(row.try_get(0).map_err(backend)?))
        })
    }

    fn finish_run(&mut self, id: RunId, s: &RunSummary) -> Result<()> {
        let n = self.write(|tx| {
            tx.execute(
                "UPDATE ingest_runs SET finished_at = $2, status = $3, posts_added = $4,
                     posts_existing = $5, service_skipped = $6, media_added = $7,
                     media_missing = $8, errors = $9, error_details = $10
                 WHERE id = $1",
                &[
                    &id.0,
                    &UtcTime::now().unix_micros(),
                    &if s.completed { "completed" } else { "failed" },
                    &(s.posts_added as i64),
                    &(s.posts_existing as i64),
                    &(s.service_skipped as i64),
                    &(s.media_added as i64),
                    &(s.media_missing as i64),
                    &(s.errors as i64),
                    &s.error_details,
                ],
            )
            .map_err(backend)
        })?;
        if n == 0 {
            return Err(StoreError::Invalid(format!("no ingest run with id {}", id.0)));
        }
        Ok(())
    }

    fn runs(&self) -> Result<Vec<StoredRun>> {
        crate::read::runs(self)
    }
}

/// A source as cached: its id, name and kind.
type Cached = (i64, String, String);

/// The sources a batch wrote, with what the cache keeps of them.
type Fresh = Vec<(SourceKey, Cached)>;

/// [`marsad_store::PostStore::write_batch`]: the whole batch in one
/// transaction; the source ids it resolved join the store's cache only
/// once it is committed, so a rolled-back batch never leaves ids that do
/// not exist.
pub(crate) fn write_batch(store: &mut PgStore, run: RunId, batch: &PostBatch) -> Result<BatchOutcome> {
    // A post naming a source the batch does not have refuses the batch
    // before anything is written.
    if let Some(p) = batch.posts.iter().find(|p| p.source >= batch.sources.len()) {
        return Err(StoreError::Invalid(format!(
            "post {} refers to source #{} of a batch of {} sources",
            p.platform_post_id,
            p.source,
            batch.sources.len()
        )));
    }
    // The sources known by the name and kind the batch gives them need no
    // write; the others are inserted or renamed.
    let cached: Vec<Option<i64>> = batch
        .sources
        .iter()
        .map(|s| {
            store
                .source_ids
                .get(&s.key)
                .filter(|(_, name, kind)| *name == s.name && *kind == s.kind)
                .map(|c| c.0)
        })
        .collect();
    let (out, fresh) = store.write(|tx| {
        if let Some(receipt) = &batch.receipt
            && !crate::queue::claim(tx, run, receipt, batch.posts.len())?
        {
            return Ok((BatchOutcome { already_applied: true, ..BatchOutcome::default() }, Fresh::new()));
        }
        let (source_ids, fresh) = resolve_sources(tx, &batch.sources, &cached)?;
        let out = write_posts(tx, run, batch, &source_ids)?;
        crate::queue::settle(tx, run, batch, &out)?;
        Ok((out, fresh))
    })?;
    store.source_ids.extend(fresh);
    Ok(out)
}

/// The store id of each of `sources` (by index): the cached one, or the
/// one an upsert (which renames a known source) gives, for one statement
/// for all. Returns them with the sources written, for the cache.
fn resolve_sources(
    tx: &mut Transaction<'_>,
    sources: &[NewSource],
    cached: &[Option<i64>],
) -> Result<(Vec<i64>, Fresh)> {
    // A key listed twice takes the last name given, as one upsert after
    // another would leave it.
    let mut last: HashMap<&SourceKey, &NewSource> = HashMap::new();
    let mut order: Vec<&SourceKey> = Vec::new();
    for (s, c) in sources.iter().zip(cached) {
        if c.is_none() && last.insert(&s.key, s).is_none() {
            order.push(&s.key);
        }
    }
    let mut ids: HashMap<(String, String), i64> = HashMap::new();
    if !order.is_empty() {
        let written: Vec<&NewSource> = order.iter().filter_map(|k| last.get(k).copied()).collect();
        let platforms: Vec<&str> = written.iter().map(|s| s.key.platform.as_str()).collect();
        let platform_ids: Vec<&str> = written.iter().map(|s| s.key.platform_id.as_str()).collect();
        let names: Vec<&str> = written.iter().map(|s| s.name.as_str()).collect();
        let kinds: Vec<&str> = written.iter().map(|s| s.kind.as_str()).collect();
        let rows = tx
            .query(
                "INSERT INTO sources (platform, platform_id, name, kind)
                 SELECT u.platform, u.platform_id, u.name, u.kind
                 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY
                      AS u(platform, platform_id, name, kind, ord)
                 ORDER BY u.ord
                 ON CONFLICT (platform, platform_id) DO UPDATE SET name = excluded.name, kind = excluded.kind
                 RETURNING id, platform, platform_id",
                &[&platforms, &platform_ids, &names, &kinds],
            )
            .map_err(backend)?;
        for r in rows {
            let id: i64 = r.try_get(0).map_err(backend)?;
            ids.insert((r.try_get(1).map_err(backend)?, r.try_get(2).map_err(backend)?), id);
        }
    }
    let mut out = Vec::with_capacity(sources.len());
    let mut fresh = Vec::new();
    for (s, c) in sources.iter().zip(cached) {
        let id = match c {
            Some(id) => *id,
            None => {
                let key = (s.key.platform.as_str().to_owned(), s.key.platform_id.clone());
                let id = *ids
                    .get(&key)
                    .ok_or_else(|| StoreError::Backend(format!("source {} vanished after insert", s.key)))?;
                fresh.push((s.key.clone(), (id, s.name.clone(), s.kind.clone())));
                id
            }
        };
        out.push(id);
    }
    Ok((out, fresh))
}

/// A stored post as an incoming one is compared with it.
struct Stored {
    id: i64,
    text: String,
    edited_at: Option<i64>,
    seen_run: Option<i64>,
    release: Option<i64>,
}

/// What an incoming post that is not a repeat does to the stored one.
enum Fate {
    /// Not stored: inserted.
    New,
    /// Stored with the same text: only marked seen by the run.
    Same,
    /// Stored with another, older text than this one (by `edited_at`,
    /// `None` oldest; the incoming one on a tie): the text is replaced and
    /// the stored one kept as a version.
    Newer,
    /// Stored with a newer text: the incoming one is only kept as a
    /// version, and brings no fingerprint or match to the post.
    Older,
}

/// A post of the batch that is written (not a repeat).
struct Written<'b> {
    post: &'b NewPost,
    source_id: i64,
    /// Its store id, once known.
    id: i64,
    fate: Fate,
    /// The stored post, for one that was.
    stored: Option<Stored>,
}

impl Written<'_> {
    /// Whether the post's text is this one's after the batch (its
    /// fingerprints and matches are then the post's).
    fn text_is_current(&self) -> bool {
        !matches!(self.fate, Fate::Older)
    }
}

/// What a fingerprint or match is of.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Owner {
    Media(Sha256),
    Post(i64),
}

impl Owner {
    fn columns(self) -> (Option<Vec<u8>>, Option<i64>) {
        match self {
            Owner::Media(sha) => (Some(sha.0.to_vec()), None),
            Owner::Post(id) => (None, Some(id)),
        }
    }
}

/// Writes the posts of a batch whose sources have these ids; returns what
/// was new.
fn write_posts(
    tx: &mut Transaction<'_>,
    run: RunId,
    batch: &PostBatch,
    source_ids: &[i64],
) -> Result<BatchOutcome> {
    let mut out = BatchOutcome::default();
    let keyed: Vec<(i64, &str)> =
        batch.posts.iter().map(|p| (source_ids[p.source], p.platform_post_id.as_str())).collect();
    let mut stored = stored_posts(tx, &keyed)?;

    // Post by post, in order, as SQLite decides: a key met earlier in the
    // batch, or already seen by this run, is a repeat, ignored whole.
    let mut written: Vec<Written<'_>> = Vec::with_capacity(batch.posts.len());
    // For each post of the batch, its place in `written` (None: a repeat).
    let mut place: Vec<Option<usize>> = Vec::with_capacity(batch.posts.len());
    let mut met: HashSet<(i64, &str)> = HashSet::with_capacity(keyed.len());
    for (index, (p, &key)) in batch.posts.iter().zip(&keyed).enumerate() {
        let first = met.insert(key);
        let before = if first { stored.remove(&key) } else { None };
        let repeat = !first || before.as_ref().is_some_and(|s| s.seen_run == Some(run.0));
        if repeat {
            out.repeated.push(index);
            place.push(None);
            continue;
        }
        let fate = match &before {
            None => Fate::New,
            Some(s) if s.text == p.text => Fate::Same,
            Some(s) if p.edited_at.map(|t| t.unix_micros()) < s.edited_at => Fate::Older,
            Some(_) => Fate::Newer,
        };
        let id = before.as_ref().map_or(0, |s| s.id);
        place.push(Some(written.len()));
        written.push(Written { post: p, source_id: key.0, id, fate, stored: before });
    }

    out.posts_added = insert_new_posts(tx, run, &mut written)?;
    out.posts_existing = written.iter().filter(|w| w.stored.is_some()).count() as u64;
    out.posts_edited = apply_edits(tx, run, &written)?;

    // The media references, in order. The fingerprints and matches of a
    // media item travel with its first reference in the batch; when that
    // reference is a repeated post, which is skipped whole, they are
    // carried to the item's next reference instead of being lost.
    let mut carried: HashMap<Sha256, &NewMedia> = HashMap::new();
    let mut links = Links::default();
    let mut uses: Vec<&NewMedia> = Vec::new();
    // Fingerprint lists and matches by owner, in the order SQLite writes them.
    let mut fingerprints: Vec<(Owner, &[NewFingerprint])> = Vec::new();
    let mut matches: Vec<(Owner, &NewMatch)> = Vec::new();
    for (p, place) in batch.posts.iter().zip(&place) {
        let Some(w) = place.map(|i| &written[i]) else {
            for m in &p.media {
                if let MediaContent::Present(media) = &m.content
                    && (!media.fingerprints.is_empty() || !media.matches.is_empty())
                {
                    carried.entry(media.sha256).or_insert(media);
                }
            }
            continue;
        };
        for (position, m) in p.media.iter().enumerate() {
            let position = i32::try_from(position).map_err(|_| {
                StoreError::Invalid(format!("post {} has too many media", p.platform_post_id))
            })?;
            match &m.content {
                MediaContent::Present(media) => {
                    let media = carried.remove(&media.sha256).unwrap_or(media);
                    uses.push(media);
                    fingerprints.push((Owner::Media(media.sha256), &media.fingerprints));
                    matches.extend(media.matches.iter().map(|m| (Owner::Media(media.sha256), m)));
                    links.push(w.id, position, m.kind.as_str(), &m.path, Some(media.sha256.0.to_vec()), None);
                }
                MediaContent::Missing(why) => {
                    links.push(w.id, position, m.kind.as_str(), &m.path, None, Some(why))
                }
            }
        }
        if w.text_is_current() {
            fingerprints.push((Owner::Post(w.id), &p.fingerprints));
            matches.extend(p.matches.iter().map(|m| (Owner::Post(w.id), m)));
        }
    }

    let new_media = insert_media(tx, &uses)?;
    out.media_added = new_media.len() as u64;
    links.write(tx)?;
    // The fingerprints already stored of the owners that bring some: not
    // those of new media and new posts (they have none), nor those of
    // edited posts (replaced).
    let kept: HashSet<i64> =
        written.iter().filter(|w| matches!(w.fate, Fate::Same | Fate::Older)).map(|w| w.id).collect();
    let known: Vec<Owner> = fingerprints
        .iter()
        .filter(|(_, fps)| !fps.is_empty())
        .map(|(owner, _)| *owner)
        .filter(|owner| match owner {
            Owner::Media(sha) => !new_media.contains(sha),
            Owner::Post(id) => kept.contains(id),
        })
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut state = stored_fingerprints(tx, &known)?;
    out.fingerprints_added = insert_fingerprints(tx, &mut state, &fingerprints)?;
    out.matches_added = insert_matches(tx, &matches)?;
    Ok(out)
}

/// The stored posts among these (source id, platform post id) keys.
fn stored_posts<'k>(
    tx: &mut Transaction<'_>,
    keys: &[(i64, &'k str)],
) -> Result<HashMap<(i64, &'k str), Stored>> {
    let mut distinct: HashSet<(i64, &str)> = HashSet::with_capacity(keys.len());
    let (mut sources, mut ids) = (Vec::new(), Vec::new());
    for &key in keys {
        if distinct.insert(key) {
            sources.push(key.0);
            ids.push(key.1);
        }
    }
    let mut by_id: HashMap<(i64, String), Stored> = HashMap::new();
    if !ids.is_empty() {
        let rows = tx
            .query(
                "SELECT p.id, p.source_id, p.platform_post_id, p.text, p.edited_at, p.seen_run_id, p.release_id
                 FROM UNNEST($1::bigint[], $2::text[]) AS k(source_id, platform_post_id)
                 JOIN posts p ON p.source_id = k.source_id AND p.platform_post_id = k.platform_post_id",
                &[&sources, &ids],
            )
            .map_err(backend)?;
        for r in rows {
            let key = (r.try_get(1).map_err(backend)?, r.try_get(2).map_err(backend)?);
            by_id.insert(
                key,
                Stored {
                    id: r.try_get(0).map_err(backend)?,
                    text: r.try_get(3).map_err(backend)?,
                    edited_at: r.try_get(4).map_err(backend)?,
                    seen_run: r.try_get(5).map_err(backend)?,
                    release: r.try_get(6).map_err(backend)?,
                },
            );
        }
    }
    Ok(distinct
        .into_iter()
        .filter_map(|key| by_id.remove(&(key.0, key.1.to_owned())).map(|s| (key, s)))
        .collect())
}

/// Inserts the new posts of `written`, in order, and gives each its id;
/// returns how many there were.
fn insert_new_posts(tx: &mut Transaction<'_>, run: RunId, written: &mut [Written<'_>]) -> Result<u64> {
    let new: Vec<usize> = (0..written.len()).filter(|&i| matches!(written[i].fate, Fate::New)).collect();
    if new.is_empty() {
        return Ok(0);
    }
    let posts: Vec<(&NewPost, i64)> = new.iter().map(|&i| (written[i].post, written[i].source_id)).collect();
    let source_ids: Vec<i64> = posts.iter().map(|(_, s)| *s).collect();
    let post_ids: Vec<&str> = posts.iter().map(|(p, _)| p.platform_post_id.as_str()).collect();
    let posted: Vec<i64> = posts.iter().map(|(p, _)| p.posted_at.unix_micros()).collect();
    let edited: Vec<Option<i64>> = posts.iter().map(|(p, _)| p.edited_at.map(|t| t.unix_micros())).collect();
    let texts: Vec<&str> = posts.iter().map(|(p, _)| p.text.as_str()).collect();
    // The search index's text, as SQLite's triggers wrote it.
    let bodies: Vec<String> = posts.iter().map(|(p, _)| crate::search::search_body(&p.text)).collect();
    let urls: Vec<Option<&str>> = posts.iter().map(|(p, _)| p.url.as_deref()).collect();
    let forwarded: Vec<Option<&str>> = posts.iter().map(|(p, _)| p.forwarded_from.as_deref()).collect();
    let replies: Vec<Option<&str>> = posts.iter().map(|(p, _)| p.reply_to.as_deref()).collect();
    // The new posts' ids, drawn from the table's own sequence in batch
    // order (as SQLite hands them out), then the rows sent with COPY.
    let ids: Vec<i64> = {
        let mut ids = tx
            .query(
                "SELECT nextval(pg_get_serial_sequence('posts', 'id')) FROM generate_series(1, $1::bigint)",
                &[&(posts.len() as i64)],
            )
            .map_err(backend)?
            .iter()
            .map(|r| r.try_get::<_, i64>(0))
            .collect::<std::result::Result<Vec<i64>, _>>()
            .map_err(backend)?;
        ids.sort_unstable();
        ids
    };
    let sink = tx
        .copy_in(
            "COPY posts (id, source_id, platform_post_id, posted_at, edited_at, text, search_body, url,
                         forwarded_from, reply_to, ingest_run_id, seen_run_id) FROM STDIN (FORMAT binary)",
        )
        .map_err(backend)?;
    let (int8, text) = (Type::INT8, Type::TEXT);
    let columns = [
        int8.clone(),
        int8.clone(),
        text.clone(),
        int8.clone(),
        int8.clone(),
        text.clone(),
        text.clone(),
        text.clone(),
        text.clone(),
        text,
        int8.clone(),
        int8,
    ];
    let mut rows = BinaryCopyInWriter::new(sink, &columns);
    for (k, &id) in ids.iter().enumerate() {
        rows.write(&[
            &id,
            &source_ids[k],
            &post_ids[k],
            &posted[k],
            &edited[k],
            &texts[k],
            &bodies[k],
            &urls[k],
            &forwarded[k],
            &replies[k],
            &run.0,
            &run.0,
        ])
        .map_err(backend)?;
    }
    rows.finish().map_err(backend)?;
    for (&i, &id) in new.iter().zip(&ids) {
        written[i].id = id;
    }
    Ok(new.len() as u64)
}

/// Marks the stored posts of `written` seen by `run` and applies their
/// edits: the versions kept, the texts replaced, their text fingerprints
/// dropped (the batch's are of the new text) and their releases dissolved.
/// Returns how many posts' text changed.
fn apply_edits(tx: &mut Transaction<'_>, run: RunId, written: &[Written<'_>]) -> Result<u64> {
    let seen: Vec<i64> = written.iter().filter(|w| w.stored.is_some()).map(|w| w.id).collect();
    if seen.is_empty() {
        return Ok(0);
    }
    tx.execute("UPDATE posts SET seen_run_id = $1 WHERE id = ANY($2)", &[&run.0, &seen]).map_err(backend)?;

    // The texts kept as versions (once each per post): the incoming one
    // when it is older, else the stored one it replaces.
    let (mut version_posts, mut version_texts, mut version_edited) = (Vec::new(), Vec::new(), Vec::new());
    // The replacements.
    let (mut ids, mut texts, mut edited, mut bodies) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut releases: Vec<i64> = Vec::new();
    for w in written {
        let Some(s) = &w.stored else { continue };
        match w.fate {
            Fate::Older => {
                version_posts.push(s.id);
                version_texts.push(w.post.text.as_str());
                version_edited.push(w.post.edited_at.map(|t| t.unix_micros()));
            }
            Fate::Newer => {
                version_posts.push(s.id);
                version_texts.push(s.text.as_str());
                version_edited.push(s.edited_at);
                ids.push(s.id);
                texts.push(w.post.text.as_str());
                edited.push(w.post.edited_at.map(|t| t.unix_micros()));
                bodies.push(crate::search::search_body(&w.post.text));
                if let Some(release) = s.release
                    && !releases.contains(&release)
                {
                    releases.push(release);
                }
            }
            Fate::New | Fate::Same => {}
        }
    }
    if !version_posts.is_empty() {
        tx.execute(
            "INSERT INTO post_versions (post_id, text, edited_at, recorded_at, ingest_run_id)
             SELECT v.post_id, v.text, v.edited_at, $4, $5
             FROM UNNEST($1::bigint[], $2::text[], $3::bigint[]) WITH ORDINALITY AS v(post_id, text, edited_at, ord)
             WHERE NOT EXISTS (SELECT 1 FROM post_versions o WHERE o.post_id = v.post_id AND o.text = v.text)
             ORDER BY v.ord",
            &[&version_posts, &version_texts, &version_edited, &UtcTime::now().unix_micros(), &run.0],
        )
        .map_err(backend)?;
    }
    if ids.is_empty() {
        return Ok(0);
    }
    tx.execute(
        "UPDATE posts p SET text = u.text, edited_at = u.edited_at, search_body = u.search_body
         FROM UNNEST($1::bigint[], $2::text[], $3::bigint[], $4::text[]) AS u(id, text, edited_at, search_body)
         WHERE p.id = u.id",
        &[&ids, &texts, &edited, &bodies],
    )
    .map_err(backend)?;
    // The text fingerprints were of the old text; the batch's are of the new.
    tx.execute("DELETE FROM fingerprints WHERE post_id = ANY($1)", &[&ids]).map_err(backend)?;
    if !releases.is_empty() {
        // Releases only ever merge when grouping, so the one the old text
        // may have joined is dissolved: its posts are grouped again from
        // scratch, which gives the releases of the posts as they are now.
        tx.execute(
            "UPDATE posts SET release_id = NULL, text_linkable = FALSE WHERE release_id = ANY($1)",
            &[&releases],
        )
        .map_err(backend)?;
        tx.execute("DELETE FROM releases WHERE id = ANY($1)", &[&releases]).map_err(backend)?;
    }
    // Even an ungrouped post's edit changes what a grouping run reading it
    // meanwhile saw: that run must start again (one step per edit).
    let changed = ids.len() as i64;
    tx.execute("UPDATE meta SET value = value + $1 WHERE key = 'releases_generation'", &[&changed])
        .map_err(backend)?;
    Ok(changed as u64)
}

/// The media references of a batch's posts, as written in one statement.
#[derive(Default)]
struct Links<'b> {
    posts: Vec<i64>,
    positions: Vec<i32>,
    kinds: Vec<&'static str>,
    paths: Vec<&'b str>,
    shas: Vec<Option<Vec<u8>>>,
    missing: Vec<Option<&'b str>>,
}

impl<'b> Links<'b> {
    fn push(
        &mut self,
        post: i64,
        position: i32,
        kind: &'static str,
        path: &'b str,
        sha: Option<Vec<u8>>,
        missing: Option<&'b str>,
    ) {
        self.posts.push(post);
        self.positions.push(position);
        self.kinds.push(kind);
        self.paths.push(path);
        self.shas.push(sha);
        self.missing.push(missing);
    }

    /// Writes the references: a new one is inserted; a stored one is
    /// completed when it was missing and is present now, and otherwise
    /// left as it is (never erased again).
    fn write(&self, tx: &mut Transaction<'_>) -> Result<()> {
        if self.posts.is_empty() {
            return Ok(());
        }
        tx.execute(
            "INSERT INTO post_media (post_id, position, kind, path, media_sha256, missing)
             SELECT * FROM UNNEST($1::bigint[], $2::integer[], $3::text[], $4::text[], $5::bytea[], $6::text[])
             ON CONFLICT (post_id, position) DO UPDATE
                 SET kind = excluded.kind, path = excluded.path,
                     media_sha256 = excluded.media_sha256, missing = NULL
                 WHERE post_media.media_sha256 IS NULL AND excluded.media_sha256 IS NOT NULL",
            &[&self.posts, &self.positions, &self.kinds, &self.paths, &self.shas, &self.missing],
        )
        .map_err(backend)?;
        Ok(())
    }
}

/// Inserts the media items of these references (the first reference of an
/// item gives its row; one already stored is left as it is, except that a
/// retained copy is recorded when it had none). Returns the items that were
/// new.
fn insert_media(tx: &mut Transaction<'_>, uses: &[&NewMedia]) -> Result<HashSet<Sha256>> {
    let mut first: Vec<&NewMedia> = Vec::new();
    let mut retained: HashMap<Sha256, &str> = HashMap::new();
    let mut retained_order: Vec<Sha256> = Vec::new();
    let mut met = HashSet::new();
    for m in uses {
        if met.insert(m.sha256) {
            first.push(m);
        }
        if let Some(path) = &m.retained_path
            && !retained.contains_key(&m.sha256)
        {
            retained.insert(m.sha256, path);
            retained_order.push(m.sha256);
        }
    }
    let mut new = HashSet::new();
    if first.is_empty() {
        return Ok(new);
    }
    let shas: Vec<&[u8]> = first.iter().map(|m| m.sha256.0.as_slice()).collect();
    let md5s: Vec<&[u8]> = first.iter().map(|m| m.md5.0.as_slice()).collect();
    let kinds: Vec<&str> = first.iter().map(|m| m.kind.as_str()).collect();
    let sizes: Vec<i64> = first.iter().map(|m| m.byte_size as i64).collect();
    let mimes: Vec<Option<&str>> = first.iter().map(|m| m.mime.as_deref()).collect();
    let originals: Vec<&str> = first.iter().map(|m| m.original_path.as_str()).collect();
    let kept: Vec<Option<&str>> = first.iter().map(|m| m.retained_path.as_deref()).collect();
    let rows = tx
        .query(
            "INSERT INTO media (sha256, md5, kind, byte_size, mime, original_path, retained_path)
             SELECT u.sha256, u.md5, u.kind, u.byte_size, u.mime, u.original_path, u.retained_path
             FROM UNNEST($1::bytea[], $2::bytea[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[])
                  WITH ORDINALITY AS u(sha256, md5, kind, byte_size, mime, original_path, retained_path, ord)
             ORDER BY u.ord
             ON CONFLICT (sha256) DO NOTHING
             RETURNING sha256",
            &[&shas, &md5s, &kinds, &sizes, &mimes, &originals, &kept],
        )
        .map_err(backend)?;
    for r in rows {
        let sha: Vec<u8> = r.try_get(0).map_err(backend)?;
        new.insert(crate::sha(&sha)?);
    }
    if !retained_order.is_empty() {
        // Known media whose bytes are kept from now on.
        let shas: Vec<&[u8]> = retained_order.iter().map(|s| s.0.as_slice()).collect();
        let paths: Vec<&str> = retained_order.iter().filter_map(|s| retained.get(s).copied()).collect();
        tx.execute(
            "UPDATE media m SET retained_path = u.retained_path
             FROM UNNEST($1::bytea[], $2::text[]) AS u(sha256, retained_path)
             WHERE m.sha256 = u.sha256 AND m.retained_path IS NULL",
            &[&shas, &paths],
        )
        .map_err(backend)?;
    }
    Ok(new)
}

/// The fingerprints an owner holds, as far as writing more needs them.
#[derive(Default)]
struct Held {
    /// (signal type, variant) of each.
    keys: HashSet<(String, Option<String>)>,
    /// The value of the owner's own fingerprint of each signal type.
    own: HashMap<String, String>,
}

/// The fingerprints stored of these owners.
fn stored_fingerprints(tx: &mut Transaction<'_>, owners: &[Owner]) -> Result<HashMap<Owner, Held>> {
    let mut held: HashMap<Owner, Held> = HashMap::new();
    if owners.is_empty() {
        return Ok(held);
    }
    let mut shas: Vec<&[u8]> = Vec::new();
    let mut posts: Vec<i64> = Vec::new();
    for owner in owners {
        match owner {
            Owner::Media(sha) => shas.push(sha.0.as_slice()),
            Owner::Post(id) => posts.push(*id),
        }
    }
    let rows = tx
        .query(
            "SELECT media_sha256, NULL::bigint, signal_type, variant, value FROM fingerprints
             WHERE media_sha256 = ANY($1)
             UNION ALL
             SELECT NULL::bytea, post_id, signal_type, variant, value FROM fingerprints
             WHERE post_id = ANY($2)",
            &[&shas, &posts],
        )
        .map_err(backend)?;
    for r in rows {
        let sha: Option<Vec<u8>> = r.try_get(0).map_err(backend)?;
        let post: Option<i64> = r.try_get(1).map_err(backend)?;
        let owner = match (sha, post) {
            (Some(sha), _) => Owner::Media(crate::sha(&sha)?),
            (None, Some(id)) => Owner::Post(id),
            (None, None) => continue,
        };
        let signal_type: String = r.try_get(2).map_err(backend)?;
        let variant: Option<String> = r.try_get(3).map_err(backend)?;
        let value: String = r.try_get(4).map_err(backend)?;
        let h = held.entry(owner).or_default();
        if variant.is_none() {
            h.own.insert(signal_type.clone(), value);
        }
        h.keys.insert((signal_type, variant));
    }
    Ok(held)
}

/// Inserts the fingerprints of each owner's lists in order, each list's
/// own fingerprints before its variants, as SQLite inserts them one by one:
/// a variant whose value equals the owner's own fingerprint of its signal
/// type (stored, or written before it) is left out, and one whose signal
/// type and variant the owner holds already is left as it is. Returns how
/// many were new.
fn insert_fingerprints(
    tx: &mut Transaction<'_>,
    held: &mut HashMap<Owner, Held>,
    lists: &[(Owner, &[NewFingerprint])],
) -> Result<u64> {
    let (mut shas, mut posts, mut types, mut values, mut qualities, mut variants) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (owner, fps) in lists {
        let h = held.entry(*owner).or_default();
        let own = fps.iter().filter(|f| f.variant.is_none());
        let other = fps.iter().filter(|f| f.variant.is_some());
        for f in own.chain(other) {
            let signal_type = f.signal_type.as_str();
            if f.variant.is_some() && h.own.get(signal_type) == Some(&f.value) {
                continue;
            }
            let variant = f.variant.map(|v| v.as_str());
            if !h.keys.insert((signal_type.to_owned(), variant.map(str::to_owned))) {
                continue;
            }
            if variant.is_none() {
                h.own.insert(signal_type.to_owned(), f.value.clone());
            }
            let (sha, post) = owner.columns();
            shas.push(sha);
            posts.push(post);
            types.push(signal_type);
            values.push(f.value.as_str());
            qualities.push(f.quality.map(i32::from));
            variants.push(variant);
        }
    }
    if types.is_empty() {
        return Ok(0);
    }
    // Every row is new: `held` holds the owners' stored keys and those met
    // earlier in the batch (the writer lock keeps others from writing
    // meanwhile), so the rows go with COPY, in order; a key stored after
    // all would fail the batch on the unique index, never be lost.
    let sink = tx
        .copy_in(
            "COPY fingerprints (media_sha256, post_id, signal_type, value, quality, variant)
             FROM STDIN (FORMAT binary)",
        )
        .map_err(backend)?;
    let columns = [Type::BYTEA, Type::INT8, Type::TEXT, Type::TEXT, Type::INT4, Type::TEXT];
    let mut rows = BinaryCopyInWriter::new(sink, &columns);
    for k in 0..types.len() {
        rows.write(&[&shas[k], &posts[k], &types[k], &values[k], &qualities[k], &variants[k]])
            .map_err(backend)?;
    }
    rows.finish().map_err(backend)
}

/// Stores matches of media items and posts, in order; a match already
/// stored (or met earlier in the list), or whose pair a moderator rejected
/// (the ignore list), is left as it is. A match of an entry that does not
/// exist fails the statement, and so the batch. Returns how many were new.
fn insert_matches(tx: &mut Transaction<'_>, matches: &[(Owner, &NewMatch)]) -> Result<u64> {
    let mut met = HashSet::new();
    let (mut shas, mut posts, mut entries, mut types, mut distances, mut details, mut variants) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (owner, m) in matches {
        if !met.insert((*owner, m.entry_id.0)) {
            continue;
        }
        let (sha, post) = owner.columns();
        shas.push(sha);
        posts.push(post);
        entries.push(m.entry_id.0);
        types.push(m.signal_type.as_str());
        distances.push(m.distance);
        details.push(m.detail.as_deref());
        variants.push(m.variant.map(|v| v.as_str()));
    }
    if entries.is_empty() {
        return Ok(0);
    }
    let n = tx
        .execute(
            "INSERT INTO matches
                     (media_sha256, post_id, entry_id, signal_type, distance, detail, matched_at, variant)
             SELECT m.media_sha256, m.post_id, m.entry_id, m.signal_type, m.distance, m.detail, $8, m.variant
             FROM UNNEST($1::bytea[], $2::bigint[], $3::bigint[], $4::text[], $5::float8[], $6::text[],
                         $7::text[]) WITH ORDINALITY
                  AS m(media_sha256, post_id, entry_id, signal_type, distance, detail, variant, ord)
             WHERE NOT EXISTS (
                 SELECT 1 FROM ignored_matches i
                 JOIN bank_entries e ON e.id = m.entry_id JOIN banks b ON b.id = e.bank_id
                 WHERE i.bank = b.name AND i.signal_type = e.signal_type AND i.value = e.value
                   AND (i.media_sha256 = m.media_sha256 OR i.post_id = m.post_id))
             ORDER BY m.ord
             ON CONFLICT DO NOTHING",
            &[
                &shas,
                &posts,
                &entries,
                &types,
                &distances,
                &details,
                &variants,
                &UtcTime::now().unix_micros(),
            ],
        )
        .map_err(backend)?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use marsad_core::{Md5, MediaKind, Platform, SignalType, SignalVariant};
    use marsad_store::prelude::*;
    use marsad_store::{MediaRef, PostQuery};

    use super::*;

    fn post(id: &str, media: Vec<MediaRef>) -> NewPost {
        NewPost {
            source: 0,
            platform_post_id: id.to_owned(),
            posted_at: UtcTime::from_unix_seconds(1_700_000_000),
            edited_at: None,
            text: format!("post {id}"),
            url: None,
            forwarded_from: None,
            reply_to: None,
            media,
            fingerprints: Vec::new(),
            matches: Vec::new(),
        }
    }

    /// A post far longer than PostgreSQL's full-text limit is written
    /// whole; the first 128 KiB of its text are searchable.
    #[test]
    fn a_huge_text_is_kept_whole_and_its_beginning_searched() {
        let scratch = crate::ScratchStore::new().expect("test database");
        let mut store = scratch.open().expect("open");
        let run = store
            .begin_run(&NewRun {
                kind: "test".into(),
                path: "t".into(),
                started_at: UtcTime::from_unix_seconds(0),
            })
            .expect("run");
        let key = SourceKey { platform: Platform::telegram(), platform_id: "1".into() };
        // Distinct short words: the worst case for a tsvector's size.
        let words: Vec<String> = (0..400_000u32).map(|i| format!("w{i:x}")).collect();
        let mut huge = post("1", Vec::new());
        huge.text = words.join(" ");
        let batch = PostBatch {
            sources: vec![NewSource { key: key.clone(), name: "c".into(), kind: "public_channel".into() }],
            posts: vec![huge.clone()],
            receipt: None,
        };
        store.write_batch(run, &batch).expect("a huge post is written");
        assert_eq!(store.post(&key, "1").expect("read").expect("the post").text, huge.text);
        let found = |w: &str| {
            let q = PostQuery { words: vec![w.to_owned()], limit: 10, ..PostQuery::default() };
            store.search_posts(&q).expect("search").len()
        };
        assert_eq!(found("w1"), 1, "the beginning is searchable");
        assert_eq!(found(&format!("w{:x}", 399_999)), 0, "past the searchable part");
    }

    fn pdq(value: &str, variant: Option<SignalVariant>) -> NewFingerprint {
        NewFingerprint { signal_type: SignalType::Pdq, value: value.to_owned(), quality: Some(80), variant }
    }

    /// The bulk statements decide as SQLite's post-by-post writes: new
    /// posts get ids in batch order, a source listed twice takes its last
    /// name, an item's later reference records its retained copy, and each
    /// reference's fingerprints are weighed against those written before.
    #[test]
    fn a_batch_is_written_as_one_post_after_another_would_be() {
        let scratch = crate::ScratchStore::new().expect("test database");
        let mut store = scratch.open().expect("open");
        let run = store
            .begin_run(&NewRun {
                kind: "test".into(),
                path: "t".into(),
                started_at: UtcTime::from_unix_seconds(0),
            })
            .expect("run");
        let key = SourceKey { platform: Platform::telegram(), platform_id: "1".into() };
        let source =
            |name: &str| NewSource { key: key.clone(), name: name.into(), kind: "public_channel".into() };
        let item = |fingerprints, retained_path: Option<&str>| {
            let media = NewMedia {
                sha256: Sha256([4; 32]),
                md5: Md5([4; 16]),
                kind: MediaKind::Image,
                byte_size: 10,
                mime: None,
                original_path: "a.jpg".into(),
                retained_path: retained_path.map(str::to_owned),
                fingerprints,
                matches: Vec::new(),
            };
            MediaRef { kind: MediaKind::Image, path: "a.jpg".into(), content: MediaContent::Present(media) }
        };
        // The first reference brings a variant only; the second an own
        // fingerprint of the same value, which SQLite, meeting the variant
        // first, stores beside it.
        let posts = vec![
            post("9", vec![item(vec![pdq("ab", Some(SignalVariant::Pytx))], None)]),
            post("3", vec![item(vec![pdq("ab", None)], Some("kept/a.jpg"))]),
            post("5", Vec::new()),
        ];
        let batch = PostBatch { sources: vec![source("old"), source("new")], posts, receipt: None };
        let out = store.write_batch(run, &batch).expect("write");
        assert_eq!((out.posts_added, out.media_added, out.fingerprints_added), (3, 1, 2));
        assert_eq!(store.sources().expect("sources")[0].name, "new");
        let media = store.media(&Sha256([4; 32])).expect("media").expect("stored");
        assert_eq!(media.retained_path.as_deref(), Some("kept/a.jpg"));
        assert_eq!(media.fingerprints, [pdq("ab", None), pdq("ab", Some(SignalVariant::Pytx))]);
        let found = store.search_posts(&PostQuery { limit: 10, ..PostQuery::default() }).expect("search");
        let ids: Vec<&str> = found.iter().map(|f| f.post.platform_post_id.as_str()).collect();
        assert_eq!(ids, ["9", "3", "5"], "one time: by id, given in batch order");
        let words = PostQuery { words: vec!["post".into(), "3".into()], limit: 10, ..PostQuery::default() };
        let found = store.search_posts(&words).expect("search");
        assert_eq!(found.iter().map(|f| f.post.platform_post_id.as_str()).collect::<Vec<_>>(), ["3"]);
    }
}
