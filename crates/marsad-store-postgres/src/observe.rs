//! The outlet registry, grouping and the observatory (RegistryStore,
//! GroupingStore, ObservatoryStore): outlets, releases and the grouping
//! state, as the SQLite store's `observe` module keeps them.
//!
//! The releases generation (`meta.releases_generation`) changes with every
//! grouping run, every description of releases and every new registry,
//! each in the transaction that makes the change; a grouping computed on
//! an older generation is refused. Large writes are one statement per
//! table over `UNNEST` arrays; reads of many rows stream them (`query_raw`)
//! to their visitor.

use std::collections::{HashMap, HashSet};

use marsad_core::{Evidence, MediaKind, PostId, ReleaseFormat, ReleaseId, SourceId, SourceKey, UtcTime};
use marsad_store::{
    BankEntry, EntryFilter, GroupMedia, GroupPost, GroupingUpdate, OutletRecord, ReleaseMember,
    ReleaseRecord, ReleaseSlot, Result, SightingRecord, StoreError, sighting,
};
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::{FromSql, ToSql};
use postgres::{Client, GenericClient, Row, RowIter};

use crate::{PgStore, backend, sha, source_key};

/// A stored record that cannot be read back.
fn corrupt(record: String, problem: String) -> StoreError {
    StoreError::Corrupt { record, problem }
}

/// Column `i` of a row, or the backend's error when it is not of type `T`.
fn col<'a, T: FromSql<'a>>(r: &'a Row, i: usize) -> Result<T> {
    r.try_get(i).map_err(backend)
}

/// The rows of `sql`, streamed as the server sends them.
fn stream<'a>(c: &'a mut Client, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<RowIter<'a>> {
    c.query_raw(sql, params.iter().copied()).map_err(backend)
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

/// A stored media kind, or an error naming the post that holds it.
fn media_kind(post: i64, kind: &str) -> Result<MediaKind> {
    MediaKind::parse(kind)
        .ok_or_else(|| corrupt(format!("post {post}"), format!("unknown media kind {kind:?}")))
}

/// Changes the releases generation (in the transaction that changes the
/// releases or the registry).
fn bump_generation(tx: &mut impl GenericClient) -> Result<()> {
    tx.execute("UPDATE meta SET value = value + 1 WHERE key = 'releases_generation'", &[])
        .map_err(backend)?;
    Ok(())
}

/// The releases generation now (as the connection's transaction sees it).
fn generation(c: &mut impl GenericClient) -> Result<i64> {
    c.query_one("SELECT value FROM meta WHERE key = 'releases_generation'", &[])
        .map_err(backend)?
        .try_get(0)
        .map_err(backend)
}

/// The SQL condition selecting rows of `column` in `only` (every row with
/// one when `None`), with its parameters: `only` is `$1`.
fn release_filter<'a>(column: &str, only: Option<&'a Vec<i64>>) -> (String, Vec<&'a (dyn ToSql + Sync)>) {
    match only {
        None => (format!("{column} IS NOT NULL"), Vec::new()),
        Some(ids) => (format!("{column} = ANY($1)"), vec![ids as &(dyn ToSql + Sync)]),
    }
}

/// The store's ids of `releases`.
fn release_ids(releases: Option<&[ReleaseId]>) -> Option<Vec<i64>> {
    releases.map(|ids| ids.iter().map(|r| r.0).collect())
}

impl marsad_store::RegistryStore for PgStore {
    fn replace_outlets(&mut self, outlets: &[OutletRecord]) -> Result<()> {
        // Outlet `i` (from 0) is stored with id `i + 1`: ids keep the order.
        let mut ids = Vec::with_capacity(outlets.len());
        let mut aliases = Vec::with_capacity(outlets.len());
        let (mut chan_outlets, mut platforms, mut platform_ids) = (Vec::new(), Vec::new(), Vec::new());
        // A channel given twice is refused as the SQLite store refuses it
        // (an invalid registry), unless an outlet's name given twice comes
        // first: the insert refuses that one, as SQLite's does.
        let mut names = HashSet::new();
        let mut channels: HashMap<&SourceKey, &str> = HashMap::new();
        let mut checking = true;
        for (i, o) in outlets.iter().enumerate() {
            let id = i as i64 + 1;
            ids.push(id);
            aliases.push(
                serde_json::to_string(&o.aliases)
                    .map_err(|e| StoreError::Invalid(format!("aliases of outlet {:?}: {e}", o.name)))?,
            );
            checking &= names.insert(o.name.as_str());
            for c in &o.channels {
                if let Some(other) = channels.insert(c, &o.name).filter(|_| checking) {
                    return Err(StoreError::Invalid(format!(
                        "channel {c}: it is a channel of outlet {other:?} already"
                    )));
                }
                chan_outlets.push(id);
                platforms.push(c.platform.as_str());
                platform_ids.push(c.platform_id.as_str());
            }
        }
        let names: Vec<&str> = outlets.iter().map(|o| o.name.as_str()).collect();
        let regions: Vec<Option<&str>> = outlets.iter().map(|o| o.region.as_deref()).collect();
        let parents: Vec<Option<&str>> = outlets.iter().map(|o| o.parent.as_deref()).collect();
        self.write(|tx| {
            tx.execute("DELETE FROM outlet_channels", &[]).map_err(backend)?;
            tx.execute("DELETE FROM outlets", &[]).map_err(backend)?;
            tx.execute(
                "INSERT INTO outlets (id, name, aliases, region, parent)
                 SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[])",
                &[&ids, &names, &aliases, &regions, &parents],
            )
            .map_err(backend)?;
            tx.execute(
                "INSERT INTO outlet_channels (outlet_id, platform, platform_id)
                 SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[])",
                &[&chan_outlets, &platforms, &platform_ids],
            )
            .map_err(|e| StoreError::Invalid(format!("channels: {}", backend(e))))?;
            bump_generation(tx)
        })
    }

    fn outlets(&self) -> Result<Vec<OutletRecord>> {
        let mut c = self.db()?;
        // Channels by outlet, in SQLite's (bytewise) order of their keys.
        let mut channels: HashMap<i64, Vec<SourceKey>> = HashMap::new();
        let rows = c
            .query(
                "SELECT outlet_id, platform, platform_id FROM outlet_channels
                 ORDER BY outlet_id, platform COLLATE \"C\", platform_id COLLATE \"C\"",
                &[],
            )
            .map_err(backend)?;
        for r in &rows {
            let platform: String = col(r, 1)?;
            channels.entry(col(r, 0)?).or_default().push(source_key(&platform, col(r, 2)?)?);
        }
        let rows = c
            .query("SELECT id, name, aliases, region, parent FROM outlets ORDER BY id", &[])
            .map_err(backend)?;
        rows.iter()
            .map(|r| {
                let id: i64 = col(r, 0)?;
                let name: String = col(r, 1)?;
                let aliases: String = col(r, 2)?;
                let aliases = serde_json::from_str(&aliases).map_err(|e| {
                    corrupt(
                        format!("outlet {name:?}"),
                        format!("aliases {aliases:?} are not a JSON list of names: {e}"),
                    )
                })?;
                Ok(OutletRecord {
                    name,
                    aliases,
                    channels: channels.remove(&id).unwrap_or_default(),
                    region: col(r, 3)?,
                    parent: col(r, 4)?,
                })
            })
            .collect()
    }
}

/// Every post as grouping reads it, by id: the text signature when it may
/// be needed, the text of posts not yet grouped, and the post's media as
/// one array per column, in the order of the media (NULL for a post
/// without media).
const GROUPING_POSTS: &str = "
    SELECT p.id, p.source_id, p.posted_at, p.release_id,
           CASE WHEN p.release_id IS NULL OR p.text_linkable THEN f.value END,
           CASE WHEN p.release_id IS NULL THEN p.text END,
           m.kinds, m.shas, m.pdqs, m.qualities, m.vpdqs, m.audios
    FROM posts p
    LEFT JOIN fingerprints f ON f.post_id = p.id AND f.signal_type = 'text' AND f.variant IS NULL
    LEFT JOIN LATERAL (
        SELECT array_agg(pm.kind ORDER BY pm.position) AS kinds,
               array_agg(pm.media_sha256 ORDER BY pm.position) AS shas,
               array_agg(pdq.value ORDER BY pm.position) AS pdqs,
               array_agg(pdq.quality ORDER BY pm.position) AS qualities,
               array_agg(vpdq.value ORDER BY pm.position) AS vpdqs,
               array_agg(audio.value ORDER BY pm.position) AS audios
        FROM post_media pm
        LEFT JOIN fingerprints pdq
               ON pdq.media_sha256 = pm.media_sha256 AND pdq.signal_type = 'pdq' AND pdq.variant IS NULL
        LEFT JOIN fingerprints vpdq
               ON vpdq.media_sha256 = pm.media_sha256 AND vpdq.signal_type = 'vpdq' AND vpdq.variant IS NULL
        LEFT JOIN fingerprints audio
               ON audio.media_sha256 = pm.media_sha256 AND audio.signal_type = 'audio' AND audio.variant IS NULL
        WHERE pm.post_id = p.id
    ) m ON TRUE
    ORDER BY p.id";

/// A row of [`GROUPING_POSTS`] as grouping reads it. Media carry their
/// marsad fingerprints only: a variant (python-threatexchange's PDQ of a
/// palette image) is of the same image, and grouping compares images by
/// marsad's own hashes.
fn grouping_post(r: &Row) -> Result<GroupPost> {
    let id: i64 = col(r, 0)?;
    let release_id: Option<i64> = col(r, 3)?;
    let kinds: Vec<String> = col::<Option<_>>(r, 6)?.unwrap_or_default();
    let shas: Vec<Option<Vec<u8>>> = col::<Option<_>>(r, 7)?.unwrap_or_default();
    let pdqs: Vec<Option<String>> = col::<Option<_>>(r, 8)?.unwrap_or_default();
    let qualities: Vec<Option<i32>> = col::<Option<_>>(r, 9)?.unwrap_or_default();
    let vpdqs: Vec<Option<String>> = col::<Option<_>>(r, 10)?.unwrap_or_default();
    let audios: Vec<Option<String>> = col::<Option<_>>(r, 11)?.unwrap_or_default();
    let media = kinds
        .iter()
        .zip(shas)
        .zip(pdqs.into_iter().zip(qualities))
        .zip(vpdqs.into_iter().zip(audios))
        .map(|(((kind, sha256), (pdq, quality)), (vpdq, audio))| {
            // Ingest stores a known kind and a PDQ hash with its quality
            // (0–100): anything else is damage, not a default.
            let pdq = match (pdq, quality) {
                (None, _) => None,
                (Some(v), Some(q)) if (0..=100).contains(&q) => Some((v, q as u8)),
                (Some(_), q) => {
                    return Err(corrupt(format!("post {id}"), format!("PDQ quality {q:?} is not 0 to 100")));
                }
            };
            Ok(GroupMedia {
                kind: Some(media_kind(id, kind)?),
                sha256: sha256.map(|b| sha(&b)).transpose()?,
                pdq,
                vpdq,
                audio,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(GroupPost {
        id: PostId(id),
        source_id: SourceId(col(r, 1)?),
        posted_at: post_time(id, col(r, 2)?)?,
        release_id: release_id.map(ReleaseId),
        text_signature: col(r, 4)?,
        text: col(r, 5)?,
        media,
    })
}

impl marsad_store::GroupingStore for PgStore {
    fn lead_grouping(&self) -> Result<()> {
        // A session lock: released by end_grouping, or by the server when
        // this connection closes (a leader killed mid-way).
        let started = std::time::Instant::now();
        let mut said = false;
        loop {
            let got: bool = self
                .db()?
                .query_one("SELECT pg_try_advisory_lock($1)", &[&crate::GROUPING_LOCK])
                .map_err(backend)?
                .try_get(0)
                .map_err(backend)?;
            if got {
                return Ok(());
            }
            if !said {
                tracing::info!("another process is grouping the new posts: waiting for it");
                said = true;
            }
            if started.elapsed() > crate::GROUPING_WAIT {
                return Err(StoreError::Busy { seconds: crate::GROUPING_WAIT.as_secs() });
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    fn end_grouping(&self) -> Result<()> {
        self.db()?.execute("SELECT pg_advisory_unlock($1)", &[&crate::GROUPING_LOCK]).map_err(backend)?;
        Ok(())
    }

    fn grouping_posts(&self, visit: &mut dyn FnMut(GroupPost) -> Result<()>) -> Result<i64> {
        // One snapshot: the generation returned is that of the posts visited.
        self.in_snapshot(|| {
            let mut c = self.db()?;
            let generation = generation(&mut **c)?;
            let mut rows = stream(&mut c, GROUPING_POSTS, &[])?;
            while let Some(r) = rows.next().map_err(backend)? {
                visit(grouping_post(&r)?)?;
            }
            Ok(generation)
        })
    }

    fn ungrouped_posts(&self) -> Result<u64> {
        let n: i64 = col(
            &self
                .db()?
                .query_one("SELECT count(*) FROM posts WHERE release_id IS NULL", &[])
                .map_err(backend)?,
            0,
        )?;
        Ok(n as u64)
    }

    fn post_texts(&self, posts: &[PostId]) -> Result<Vec<(PostId, String)>> {
        if posts.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = posts.iter().map(|p| p.0).collect();
        let rows = self
            .db()?
            .query("SELECT id, text FROM posts WHERE id = ANY($1) ORDER BY id", &[&ids])
            .map_err(backend)?;
        rows.iter().map(|r| Ok((PostId(col(r, 0)?), col(r, 1)?))).collect()
    }

    fn apply_grouping(&mut self, update: &GroupingUpdate) -> Result<HashMap<u32, ReleaseId>> {
        // The new slots, in the order they first appear: each gets one new
        // release, the earlier slots the smaller ids (as SQLite gives them).
        let mut slots: Vec<u32> = Vec::new();
        let mut seen = HashSet::new();
        for &(_, slot) in &update.assign {
            if let ReleaseSlot::New(n) = slot
                && seen.insert(n)
            {
                slots.push(n);
            }
        }
        // One move per post: the last decision for a post stands, as when
        // they are written one after another.
        let mut last: HashMap<PostId, usize> = HashMap::new();
        for (i, &(post, _)) in update.assign.iter().enumerate() {
            last.insert(post, i);
        }
        let linkable: Vec<i64> = update.text_linkable.iter().map(|p| p.0).collect();
        let merged: Vec<i64> = update.merged.iter().map(|r| r.0).collect();
        self.write(|tx| {
            // Only grouping, describing and the registry change the
            // generation: posts an ingest added since the read leave it as
            // it was (they are still ungrouped, for the next run), so an
            // update is refused only when another run changed the releases
            // it was computed from. The writer lock keeps it from changing
            // until this commits.
            let now = generation(tx)?;
            if now != update.generation {
                return Err(StoreError::Conflict(format!(
                    "releases changed while grouping (generation {now} now, {} when the posts were read)",
                    update.generation
                )));
            }
            let mut ids: HashMap<u32, ReleaseId> = HashMap::with_capacity(slots.len());
            if !slots.is_empty() {
                let mut new: Vec<i64> = tx
                    .query(
                        "INSERT INTO releases (first_seen) SELECT 0 FROM generate_series(1, $1::bigint)
                         RETURNING id",
                        &[&(slots.len() as i64)],
                    )
                    .map_err(backend)?
                    .iter()
                    .map(|r| col(r, 0))
                    .collect::<Result<_>>()?;
                new.sort_unstable();
                ids.extend(slots.iter().zip(new).map(|(&n, id)| (n, ReleaseId(id))));
            }
            let (mut posts, mut releases) = (Vec::with_capacity(last.len()), Vec::with_capacity(last.len()));
            for (i, &(post, slot)) in update.assign.iter().enumerate() {
                if last.get(&post) != Some(&i) {
                    continue;
                }
                let release = match slot {
                    ReleaseSlot::Existing(r) => r,
                    ReleaseSlot::New(n) => ids
                        .get(&n)
                        .copied()
                        .ok_or_else(|| StoreError::Backend(format!("release slot {n} was given no id")))?,
                };
                posts.push(post.0);
                releases.push(release.0);
            }
            if !posts.is_empty() {
                tx.execute(
                    "UPDATE posts p SET release_id = u.release_id
                     FROM UNNEST($1::bigint[], $2::bigint[]) AS u(id, release_id) WHERE p.id = u.id",
                    &[&posts, &releases],
                )
                .map_err(backend)?;
            }
            if !linkable.is_empty() {
                tx.execute(
                    "UPDATE posts SET text_linkable = TRUE WHERE id = ANY($1) AND NOT text_linkable",
                    &[&linkable],
                )
                .map_err(backend)?;
            }
            if !merged.is_empty() {
                tx.execute("DELETE FROM releases WHERE id = ANY($1)", &[&merged]).map_err(backend)?;
            }
            bump_generation(tx)?;
            Ok(ids)
        })
    }

    fn release_members(
        &self,
        releases: Option<&[ReleaseId]>,
        visit: &mut dyn FnMut(ReleaseMember) -> Result<()>,
    ) -> Result<()> {
        let ids = release_ids(releases);
        let (condition, params) = release_filter("p.release_id", ids.as_ref());
        let sql = format!(
            "SELECT p.release_id, p.id, s.platform, s.platform_id, s.id, p.platform_post_id, p.posted_at, p.text,
                    (SELECT array_agg(kind ORDER BY position) FROM post_media WHERE post_id = p.id)
             FROM posts p JOIN sources s ON s.id = p.source_id
             WHERE {condition} ORDER BY p.release_id, p.posted_at, p.id"
        );
        let mut c = self.db()?;
        let mut rows = stream(&mut c, &sql, &params)?;
        while let Some(r) = rows.next().map_err(backend)? {
            let post_id: i64 = col(&r, 1)?;
            let platform: String = col(&r, 2)?;
            // No media: no kinds (NULL); an unknown kind is damage.
            let kinds: Vec<String> = col::<Option<_>>(&r, 8)?.unwrap_or_default();
            let media_kinds = kinds.iter().map(|k| media_kind(post_id, k)).collect::<Result<Vec<_>>>()?;
            visit(ReleaseMember {
                release_id: ReleaseId(col(&r, 0)?),
                post_id: PostId(post_id),
                source: source_key(&platform, col(&r, 3)?)?,
                source_id: SourceId(col(&r, 4)?),
                platform_post_id: col(&r, 5)?,
                posted_at: post_time(post_id, col(&r, 6)?)?,
                text: col(&r, 7)?,
                media_kinds,
            })?;
        }
        Ok(())
    }

    fn release_matches(&self, releases: Option<&[ReleaseId]>) -> Result<Vec<(ReleaseId, BankEntry)>> {
        let ids = release_ids(releases);
        let (filter, params) = release_filter("p.release_id", ids.as_ref());
        let sql = format!(
            "SELECT p.release_id, m.entry_id FROM matches m JOIN posts p ON p.id = m.post_id WHERE {filter}
             UNION
             SELECT p.release_id, m.entry_id FROM matches m
                JOIN post_media pm ON pm.media_sha256 = m.media_sha256 JOIN posts p ON p.id = pm.post_id
             WHERE {filter}
             ORDER BY 1, 2"
        );
        let mut c = self.db()?;
        let rows = c.query(&sql, &params).map_err(backend)?;
        let pairs: Vec<(i64, i64)> =
            rows.iter().map(|r| Ok((col(r, 0)?, col(r, 1)?))).collect::<Result<_>>()?;
        if pairs.is_empty() {
            return Ok(Vec::new());
        }
        let wanted: Vec<marsad_core::EntryId> = pairs.iter().map(|p| marsad_core::EntryId(p.1)).collect();
        let mut entries: HashMap<i64, BankEntry> = HashMap::new();
        crate::banks::bank_entries(
            &mut c,
            &EntryFilter { ids: Some(wanted), ..EntryFilter::default() },
            &mut |e| {
                entries.insert(e.id.0, e);
                Ok(())
            },
        )?;
        Ok(pairs
            .into_iter()
            .filter_map(|(r, e)| entries.get(&e).map(|e| (ReleaseId(r), e.clone())))
            .collect())
    }

    fn update_releases(&mut self, releases: &[ReleaseRecord]) -> Result<()> {
        // First sources, to be found among the stored ones: the first
        // release (in the order given) naming one not stored is refused.
        let named: Vec<(usize, &SourceKey)> = releases
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.first_source.as_ref().map(|k| (i, k)))
            .collect();
        let named_platforms: Vec<&str> = named.iter().map(|(_, k)| k.platform.as_str()).collect();
        let named_ids: Vec<&str> = named.iter().map(|(_, k)| k.platform_id.as_str()).collect();
        // One row per release: the last description of a release stands,
        // as when they are written one after another.
        let mut last: HashMap<ReleaseId, usize> = HashMap::new();
        for (i, r) in releases.iter().enumerate() {
            last.insert(r.id, i);
        }
        let rows: Vec<&ReleaseRecord> =
            releases.iter().enumerate().filter(|(i, r)| last.get(&r.id) == Some(i)).map(|(_, r)| r).collect();
        let ids: Vec<i64> = rows.iter().map(|r| r.id.0).collect();
        let first_seen: Vec<i64> = rows.iter().map(|r| r.first_seen.unix_micros()).collect();
        let last_seen: Vec<i64> = rows.iter().map(|r| r.last_seen.unix_micros()).collect();
        let sightings: Vec<i64> = rows.iter().map(|r| r.sightings as i64).collect();
        let channels: Vec<i64> = rows.iter().map(|r| r.channels as i64).collect();
        let formats: Vec<&str> = rows.iter().map(|r| r.format.as_str()).collect();
        let languages: Vec<Option<&str>> = rows.iter().map(|r| r.language.as_deref()).collect();
        let outlets: Vec<Option<&str>> = rows.iter().map(|r| r.outlet.as_deref()).collect();
        let evidence: Vec<String> = rows.iter().map(|r| r.evidence.to_json()).collect();
        let platforms: Vec<Option<&str>> =
            rows.iter().map(|r| r.first_source.as_ref().map(|k| k.platform.as_str())).collect();
        let platform_ids: Vec<Option<&str>> =
            rows.iter().map(|r| r.first_source.as_ref().map(|k| k.platform_id.as_str())).collect();
        self.write(|tx| {
            if !named.is_empty() {
                let missing = tx
                    .query_opt(
                        "SELECT u.ord FROM UNNEST($1::text[], $2::text[]) WITH ORDINALITY AS u(platform, platform_id, ord)
                         WHERE NOT EXISTS (SELECT 1 FROM sources s
                                           WHERE s.platform = u.platform AND s.platform_id = u.platform_id)
                         ORDER BY u.ord LIMIT 1",
                        &[&named_platforms, &named_ids],
                    )
                    .map_err(backend)?;
                if let Some(r) = missing {
                    let ord: i64 = col(&r, 0)?;
                    let (i, k) = usize::try_from(ord - 1)
                        .ok()
                        .and_then(|n| named.get(n))
                        .ok_or_else(|| StoreError::Backend(format!("no first source at ordinal {ord}")))?;
                    return Err(StoreError::Invalid(format!(
                        "release {}: first source {k} is not stored",
                        releases[*i].id
                    )));
                }
            }
            if !ids.is_empty() {
                tx.execute(
                    "UPDATE releases r SET first_seen = u.first_seen, last_seen = u.last_seen,
                            sightings = u.sightings, channels = u.channels, format = u.format,
                            language = u.language, outlet = u.outlet, evidence = u.evidence, first_source = s.id
                     FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[],
                                 $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])
                          AS u(id, first_seen, last_seen, sightings, channels, format, language, outlet,
                               evidence, platform, platform_id)
                     LEFT JOIN sources s ON s.platform = u.platform AND s.platform_id = u.platform_id
                     WHERE r.id = u.id",
                    &[
                        &ids,
                        &first_seen,
                        &last_seen,
                        &sightings,
                        &channels,
                        &formats,
                        &languages,
                        &outlets,
                        &evidence,
                        &platforms,
                        &platform_ids,
                    ],
                )
                .map_err(backend)?;
            }
            bump_generation(tx)
        })
    }
}

/// A row of releases (`r`) joined to their first sources (`s`), in this
/// order of columns, as [`release`] reads it.
const RELEASE_COLUMNS: &str =
    "r.id, r.first_seen, r.last_seen, r.sightings, r.channels, r.format, r.language,
                               r.outlet, r.evidence, s.platform, s.platform_id";

/// A release read with [`RELEASE_COLUMNS`].
fn release(r: &Row) -> Result<ReleaseRecord> {
    let platform: Option<String> = col(r, 9)?;
    let first_source = match platform {
        Some(p) => Some(source_key(&p, col(r, 10)?)?),
        None => None,
    };
    let id = ReleaseId(col(r, 0)?);
    let record = || format!("release {id}");
    let format: String = col(r, 5)?;
    let format = ReleaseFormat::parse(&format)
        .ok_or_else(|| StoreError::Invalid(format!("release {id} has an unknown format {format:?}")))?;
    let evidence: String = col(r, 8)?;
    // '{}' is the column's default: a release grouped but not described
    // yet (a run stopped between grouping and describing) is attributed to
    // no one. Anything else must parse.
    let evidence = if evidence == "{}" {
        Evidence::None
    } else {
        Evidence::from_json(&evidence)
            .map_err(|e| StoreError::Invalid(format!("release {id} has unreadable evidence: {e}")))?
    };
    Ok(ReleaseRecord {
        id,
        first_seen: stored_time(record, "first_seen", col(r, 1)?)?,
        last_seen: stored_time(record, "last_seen", col(r, 2)?)?,
        sightings: col::<i64>(r, 3)? as u64,
        channels: col::<i64>(r, 4)? as u64,
        format,
        language: col(r, 6)?,
        outlet: col(r, 7)?,
        evidence,
        first_source,
    })
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
        let Some(first) = posts.get(s.first) else { continue };
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

impl marsad_store::ObservatoryStore for PgStore {
    fn releases(
        &self,
        only: Option<&[ReleaseId]>,
        visit: &mut dyn FnMut(ReleaseRecord) -> Result<()>,
    ) -> Result<()> {
        let ids = release_ids(only);
        let (condition, params) = release_filter("r.id", ids.as_ref());
        let sql = format!(
            "SELECT {RELEASE_COLUMNS}
             FROM releases r LEFT JOIN sources s ON s.id = r.first_source
             WHERE {condition}
             ORDER BY r.first_seen, r.id"
        );
        let mut c = self.db()?;
        let mut rows = stream(&mut c, &sql, &params)?;
        while let Some(r) = rows.next().map_err(backend)? {
            visit(release(&r)?)?;
        }
        Ok(())
    }

    fn release_points(&self, visit: &mut dyn FnMut(ReleaseId, SourceId, i64) -> Result<()>) -> Result<()> {
        // A plain scan of the table, in no particular order.
        let mut c = self.db()?;
        let mut rows = stream(
            &mut c,
            "SELECT id, release_id, source_id, posted_at FROM posts WHERE release_id IS NOT NULL",
            &[],
        )?;
        while let Some(r) = rows.next().map_err(backend)? {
            let time = post_time(col(&r, 0)?, col(&r, 3)?)?;
            visit(ReleaseId(col(&r, 1)?), SourceId(col(&r, 2)?), time.unix_micros())?;
        }
        Ok(())
    }

    fn source_ids(&self) -> Result<Vec<(SourceId, SourceKey)>> {
        let rows = self
            .db()?
            .query("SELECT id, platform, platform_id FROM sources ORDER BY id", &[])
            .map_err(backend)?;
        rows.iter()
            .map(|r| {
                let platform: String = col(r, 1)?;
                Ok((SourceId(col(r, 0)?), source_key(&platform, col(r, 2)?)?))
            })
            .collect()
    }

    fn sightings(
        &self,
        only: Option<&[ReleaseId]>,
        visit: &mut dyn FnMut(SightingRecord) -> Result<()>,
    ) -> Result<()> {
        // The posts of each release together; the sightings are made of
        // them in Rust, by the one definition (SQL's `/` truncates negative
        // times towards zero, and `min()` compares post ids as text).
        let ids = release_ids(only);
        let (condition, params) = release_filter("p.release_id", ids.as_ref());
        let sql = format!(
            "SELECT p.release_id, p.id, p.source_id, s.platform, s.platform_id, p.posted_at, p.platform_post_id
             FROM posts p JOIN sources s ON s.id = p.source_id
             WHERE {condition}
             ORDER BY p.release_id"
        );
        let mut c = self.db()?;
        let mut rows = stream(&mut c, &sql, &params)?;
        let mut release: Option<i64> = None;
        let mut posts: Vec<SightingRow> = Vec::new();
        while let Some(r) = rows.next().map_err(backend)? {
            let release_id: i64 = col(&r, 0)?;
            if let Some(previous) = release.filter(|&x| x != release_id) {
                visit_sightings(previous, &posts, visit)?;
                posts.clear();
            }
            release = Some(release_id);
            let post: i64 = col(&r, 1)?;
            let platform: String = col(&r, 3)?;
            posts.push(SightingRow {
                source_id: col(&r, 2)?,
                source: source_key(&platform, col(&r, 4)?)?,
                posted_at: post_time(post, col(&r, 5)?)?,
                platform_post_id: col(&r, 6)?,
            });
        }
        if let Some(release_id) = release {
            visit_sightings(release_id, &posts, visit)?;
        }
        Ok(())
    }

    fn releases_generation(&self) -> Result<i64> {
        generation(&mut **self.db()?)
    }
}

#[cfg(test)]
mod tests {
    use marsad_core::Platform;
    use marsad_store::{GroupingStore, ObservatoryStore};

    use super::*;

    /// The bulk writes keep the order of one-by-one writes: new slots get
    /// ids in the order they first appear, the last decision for a post or
    /// a release stands, and a refused description writes nothing.
    #[test]
    fn bulk_writes_keep_the_order_of_single_ones() {
        let scratch = crate::ScratchStore::new().expect("the test database");
        let mut store = scratch.open().expect("open");
        store
            .db()
            .expect("connection")
            .batch_execute(
                "INSERT INTO sources (platform, platform_id, name, kind) VALUES ('telegram', '1', 'a', 'c');
                 INSERT INTO posts (source_id, platform_post_id, posted_at) VALUES (1, '1', 0), (1, '2', 0)",
            )
            .expect("posts");
        let (a, b) = (PostId(1), PostId(2));
        let ids = store
            .apply_grouping(&GroupingUpdate {
                assign: vec![(a, ReleaseSlot::New(7)), (b, ReleaseSlot::New(3)), (b, ReleaseSlot::New(9))],
                text_linkable: vec![b],
                merged: vec![],
                generation: 0,
            })
            .expect("apply");
        assert!(ids[&7] < ids[&3] && ids[&3] < ids[&9], "{ids:?}");
        let mut of = HashMap::new();
        store
            .grouping_posts(&mut |p| {
                of.insert(p.id, p.release_id);
                Ok(())
            })
            .expect("posts");
        assert_eq!((of[&a], of[&b]), (Some(ids[&7]), Some(ids[&9])));

        let key = SourceKey { platform: Platform::telegram(), platform_id: "1".to_owned() };
        let record = |id: ReleaseId, first_seen: i64, first_source: Option<SourceKey>| ReleaseRecord {
            id,
            first_seen: UtcTime::from_unix_seconds(first_seen),
            last_seen: UtcTime::from_unix_seconds(first_seen),
            sightings: 1,
            channels: 1,
            format: ReleaseFormat::Text,
            language: None,
            outlet: None,
            evidence: Evidence::None,
            first_source,
        };
        let generation = store.releases_generation().expect("generation");
        let unknown = SourceKey { platform: Platform::telegram(), platform_id: "404".to_owned() };
        let refused = [record(ids[&7], 5, Some(key.clone())), record(ids[&9], 5, Some(unknown))];
        match store.update_releases(&refused) {
            Err(StoreError::Invalid(m)) => assert!(m.contains(&format!("release {}", ids[&9])), "{m}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(store.releases_generation().expect("generation"), generation, "nothing written");
        store
            .update_releases(&[record(ids[&7], 5, None), record(ids[&7], 1, Some(key.clone()))])
            .expect("update");
        let mut first = None;
        store
            .releases(Some(&[ids[&7]]), &mut |r| {
                first = Some((r.first_seen, r.first_source));
                Ok(())
            })
            .expect("releases");
        assert_eq!(first, Some((UtcTime::from_unix_seconds(1), Some(key))), "the last description");
    }
}
