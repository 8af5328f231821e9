//! Bringing a store's releases up to date: group the posts added since the
//! last run (they join or merge existing releases), then describe every
//! release whose membership changed — or all of them, when the outlet
//! registry changed.

use std::collections::{BTreeSet, HashMap};

use marsad_core::{PostId, ReleaseId, SourceId, SourceKey, UtcTime};
use marsad_hash::pdq::PdqHash;
use marsad_hash::text::{MinHashSignature, MinHasher, normalize, shingles};
use marsad_store::{
    GroupingStore, GroupingUpdate, RegistryStore, ReleaseMember, ReleaseRecord, ReleaseSlot, Result, sighting,
};

use crate::describe::{Attributor, MatchedLabels, ReleasePost, format_of, language_of};
use crate::group::{GroupConfig, Grouper, MediaFeature, PostFeatures, Shingles, TextFeature};
use crate::registry::Outlet;

/// What an update did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct UpdateSummary {
    /// Posts grouped for the first time.
    pub new_posts: u64,
    /// Releases created.
    pub releases_created: u64,
    /// Releases merged into others.
    pub releases_merged: u64,
    /// Releases whose description was rewritten.
    pub releases_described: u64,
    /// Where the time went.
    #[serde(skip)]
    pub timings: Timings,
}

/// Time spent in each phase of an update.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timings {
    /// Reading the posts and their fingerprints.
    pub read: std::time::Duration,
    /// Linking new posts (the grouper).
    pub group: std::time::Duration,
    /// Writing the assignments.
    pub apply: std::time::Duration,
    /// Describing the changed releases.
    pub describe: std::time::Duration,
}

/// Texts for exact Jaccard, read from the store when grouping asks.
struct StoreShingles<'a, S: ?Sized> {
    store: &'a S,
    cached: HashMap<PostId, String>,
}

impl<S: GroupingStore + ?Sized> Shingles for StoreShingles<'_, S> {
    fn shingles(&self, posts: &[PostId]) -> Result<Vec<Option<Vec<u64>>>> {
        let missing: Vec<PostId> = posts.iter().copied().filter(|p| !self.cached.contains_key(p)).collect();
        let fetched: HashMap<PostId, String> = self.store.post_texts(&missing)?.into_iter().collect();
        Ok(posts
            .iter()
            .map(|p| {
                let t = self.cached.get(p).or_else(|| fetched.get(p))?;
                let n = normalize(t);
                (!n.is_empty()).then(|| shingles(&n))
            })
            .collect())
    }
}

/// A stored fingerprint, or `None` with a warning naming the post when it
/// cannot be read (the store validates what it writes, so this is damage):
/// the post is still grouped by its other links.
fn readable<T, E: std::fmt::Display>(
    post: PostId,
    what: &str,
    value: std::result::Result<T, E>,
) -> Option<T> {
    value
        .map_err(|e| tracing::warn!(post = post.0, "stored {what} unreadable, not used for grouping: {e}"))
        .ok()
}

/// How many times grouping is tried when another process changes the
/// releases between its read and its write.
const ATTEMPTS: u32 = 6;

/// The wait before the second attempt; doubled before each later one
/// (0.1 + 0.2 + 0.4 + 0.8 + 1.6 s in all): another run that changed the
/// releases has usually finished writing by then.
const FIRST_BACKOFF: std::time::Duration = std::time::Duration::from_millis(100);

/// Groups the posts not yet grouped, then describes the releases that
/// changed (all of them when `describe_all`).
///
/// The posts are read from one snapshot of the store, so an ingest writing
/// meanwhile changes nothing that is read; the posts it adds are grouped
/// by the next run. If another process changes the releases themselves
/// (another grouping run, a registry import) between the read and the
/// write, the store refuses the write and grouping starts again, up to
/// [`ATTEMPTS`] times with a growing pause, then fails with
/// [`marsad_store::StoreError::Changed`] saying so.
pub fn update<S: GroupingStore + RegistryStore + ?Sized>(
    store: &mut S,
    cfg: &GroupConfig,
    describe_all: bool,
) -> Result<UpdateSummary> {
    let mut backoff = FIRST_BACKOFF;
    let mut attempt = 1;
    loop {
        match update_once(store, cfg, describe_all) {
            Err(marsad_store::StoreError::Conflict(why)) if attempt < ATTEMPTS => {
                tracing::info!(%why, attempt, "grouping again");
                std::thread::sleep(backoff);
                backoff *= 2;
                attempt += 1;
            }
            Err(marsad_store::StoreError::Conflict(why)) => {
                return Err(marsad_store::StoreError::Changed(format!(
                    "another process kept changing the releases while this one grouped the new posts \
                     ({attempt} attempts; last: {why}): nothing was written, run it again"
                )));
            }
            other => return other,
        }
    }
}

fn update_once<S: GroupingStore + RegistryStore + ?Sized>(
    store: &mut S,
    cfg: &GroupConfig,
    describe_all: bool,
) -> Result<UpdateSummary> {
    // Nothing new: nothing to read (the common case of every analytics
    // command).
    if !describe_all && store.ungrouped_posts()? == 0 {
        return Ok(UpdateSummary::default());
    }
    // One grouping leader at a time on a shared store: the others wait,
    // then find the posts grouped.
    store.lead_grouping()?;
    let led = if !describe_all && store.ungrouped_posts()? == 0 {
        Ok(UpdateSummary::default())
    } else {
        group_new(store, cfg, describe_all)
    };
    let ended = store.end_grouping();
    let summary = led?;
    ended?;
    Ok(summary)
}

fn group_new<S: GroupingStore + RegistryStore + ?Sized>(
    store: &mut S,
    cfg: &GroupConfig,
    describe_all: bool,
) -> Result<UpdateSummary> {
    let minhash = MinHasher::default();
    let mut grouper = Grouper::new(*cfg);
    let mut new_posts = 0u64;
    let mut new_texts: HashMap<PostId, String> = HashMap::new();
    let mut linkable = Vec::new();
    let mut clock = std::time::Instant::now();
    let mut lap = || {
        let now = std::time::Instant::now();
        let d = now - clock;
        clock = now;
        d
    };
    let generation = store.grouping_posts(&mut |p| {
        let new = p.release_id.is_none();
        let text = if new {
            new_posts += 1;
            let text = p.text.as_deref().unwrap_or_default();
            let normalized = normalize(text);
            let words = normalized.split(' ').filter(|w| !w.is_empty()).count();
            if words >= cfg.text_min_words {
                linkable.push(p.id);
                new_texts.insert(p.id, text.to_owned());
                let signature = p
                    .text_signature
                    .as_deref()
                    .and_then(|s| {
                        MinHashSignature::from_hex(s)
                            .map_err(|e| {
                                tracing::warn!(
                                    post = p.id.0,
                                    "stored text signature unreadable, signed again: {e}"
                                )
                            })
                            .ok()
                    })
                    .unwrap_or_else(|| minhash.sign(&normalized));
                Some(TextFeature { signature, words })
            } else {
                None
            }
        } else {
            p.text_signature
                .as_deref()
                .and_then(|s| readable(p.id, "text signature", MinHashSignature::from_hex(s)))
                .map(|signature| TextFeature { signature, words: cfg.text_min_words })
        };
        let media = p
            .media
            .iter()
            .map(|m| MediaFeature {
                sha256: m.sha256,
                pdq: m
                    .pdq
                    .as_ref()
                    .and_then(|(v, q)| readable(p.id, "PDQ hash", PdqHash::from_hex(v)).map(|h| (h, *q))),
                vpdq: m
                    .vpdq
                    .as_deref()
                    .and_then(|v| readable(p.id, "vPDQ signal", marsad_hash::vpdq::parse_signal(v))),
                audio: m.audio.as_deref().and_then(|v| {
                    readable(p.id, "Chromaprint fingerprint", marsad_hash::audio::parse_raw_text(v))
                }),
            })
            .collect();
        grouper.add(PostFeatures {
            post: p.id,
            source: p.source_id,
            second: sighting::sighting_second(p.posted_at),
            release: p.release_id,
            text,
            media,
        });
        Ok(())
    })?;
    let mut summary = UpdateSummary { new_posts, ..UpdateSummary::default() };
    summary.timings.read = lap();
    let mut touched: Vec<ReleaseId> = Vec::new();
    if new_posts > 0 {
        let grouping = grouper.finish(&StoreShingles { store: &*store, cached: new_texts })?;
        summary.timings.group = lap();
        let update = GroupingUpdate {
            assign: grouping.assign,
            text_linkable: linkable,
            merged: grouping.merged.clone(),
            generation,
        };
        let ids = store.apply_grouping(&update)?;
        summary.timings.apply = lap();
        summary.releases_created = ids.len() as u64;
        summary.releases_merged = grouping.merged.len() as u64;
        touched = grouping
            .touched
            .iter()
            .filter_map(|r| match *r {
                ReleaseSlot::Existing(id) => Some(id),
                // The store gave every new slot an id (it wrote them all).
                ReleaseSlot::New(n) => ids.get(&n).copied(),
            })
            .collect();
        tracing::info!(new_posts, created = ids.len(), merged = grouping.merged.len(), "posts grouped");
    }
    if describe_all {
        summary.releases_described = describe(store, None)?;
    } else if !touched.is_empty() {
        summary.releases_described = describe(store, Some(&touched))?;
    }
    summary.timings.describe = lap();
    Ok(summary)
}

/// The registry as the store keeps it.
pub fn registry<S: RegistryStore + ?Sized>(store: &S) -> Result<Vec<Outlet>> {
    Ok(store
        .outlets()?
        .into_iter()
        .map(|o| Outlet {
            name: o.name,
            aliases: o.aliases,
            channels: o.channels,
            region: o.region,
            parent: o.parent,
        })
        .collect())
}

/// Rewrites the descriptions of releases (all when `None`): times, counts,
/// format, language and attribution. Returns how many.
pub fn describe<S: GroupingStore + RegistryStore + ?Sized>(
    store: &mut S,
    releases: Option<&[ReleaseId]>,
) -> Result<u64> {
    let attributor = Attributor::new(&registry(&*store)?)
        .map_err(|e| marsad_store::StoreError::Invalid(format!("outlet registry: {e}")))?;
    let mut labels: HashMap<ReleaseId, Vec<MatchedLabels>> = HashMap::new();
    for (release, e) in store.release_matches(releases)? {
        labels.entry(release).or_default().push(MatchedLabels {
            bank: e.bank,
            entry_id: e.id,
            labels: e.labels,
        });
    }
    let mut records = Vec::new();
    let mut current: Vec<ReleaseMember> = Vec::new();
    let flush = |members: &mut Vec<ReleaseMember>, records: &mut Vec<ReleaseRecord>| {
        if let Some(first) = members.first() {
            let id = first.release_id;
            records.push(describe_one(
                &attributor,
                id,
                members.as_mut_slice(),
                labels.get(&id).map_or(&[][..], Vec::as_slice),
            ));
        }
        members.clear();
    };
    store.release_members(releases, &mut |m| {
        if current.first().is_some_and(|c| c.release_id != m.release_id) {
            flush(&mut current, &mut records);
        }
        current.push(m);
        Ok(())
    })?;
    flush(&mut current, &mut records);
    let n = records.len() as u64;
    for chunk in records.chunks(20_000) {
        store.update_releases(chunk)?;
    }
    Ok(n)
}

/// Most characters of text looked at to tell its language.
const LANGUAGE_SAMPLE: usize = 400;

/// A post of a release as the sighting rule sees it.
fn key(p: &ReleaseMember) -> sighting::SightingPost<'_> {
    sighting::SightingPost {
        source_id: p.source_id.0,
        posted_at: p.posted_at,
        platform_post_id: &p.platform_post_id,
    }
}

/// Describes one release from its posts.
fn describe_one(
    attributor: &Attributor,
    id: ReleaseId,
    posts: &mut [ReleaseMember],
    labels: &[MatchedLabels],
) -> ReleaseRecord {
    // The first post is the one the sighting rule puts first.
    posts.sort_by(|a, b| sighting::post_order(&key(a), &key(b)));
    let keys: Vec<sighting::SightingPost<'_>> = posts.iter().map(key).collect();
    let sightings = sighting::sightings_of(&keys);
    let channels: BTreeSet<SourceId> = posts.iter().map(|p| p.source_id).collect();
    let first = &posts[0];
    let first_second = sighting::sighting_second(first.posted_at);
    let kinds: Vec<marsad_core::MediaKind> = posts
        .iter()
        .filter(|p| p.source_id == first.source_id && sighting::sighting_second(p.posted_at) == first_second)
        .flat_map(|p| p.media_kinds.iter().copied())
        .collect();
    let format = format_of(&kinds);
    let language = posts
        .iter()
        .map(|p| p.text.trim())
        .find(|t| !t.is_empty())
        .and_then(|t| language_of(&t.chars().take(LANGUAGE_SAMPLE).collect::<String>()));
    let attribution_posts: Vec<ReleasePost> = posts
        .iter()
        .map(|p| ReleasePost {
            source: p.source.clone(),
            post_id: p.platform_post_id.clone(),
            time: p.posted_at.unix_micros(),
            text: p.text.clone(),
        })
        .collect();
    let attribution = attributor.attribute(&attribution_posts, labels);
    let last = posts.iter().map(|p| p.posted_at).max().unwrap_or(first.posted_at);
    ReleaseRecord {
        id,
        first_seen: first.posted_at,
        last_seen: last,
        sightings: sightings.len() as u64,
        channels: channels.len() as u64,
        format,
        language,
        outlet: attribution.outlet,
        evidence: attribution.evidence,
        first_source: Some(first.source.clone()),
    }
}

/// The source key of a record, or the empty string.
pub fn source_text(s: &Option<SourceKey>) -> String {
    s.as_ref().map(ToString::to_string).unwrap_or_default()
}

/// RFC 3339 of a stored time.
pub fn time_text(t: UtcTime) -> String {
    t.to_rfc3339()
}
