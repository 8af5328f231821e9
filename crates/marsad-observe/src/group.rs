//! Grouping sightings into releases.
//!
//! Two posts carry the same content — belong to the same release — when
//! they are linked, and a release is a connected group of linked posts.
//! Posts are linked when:
//! - they share a media item (same SHA-256);
//! - their images are PDQ-near: within 31 bits, both of quality ≥ 50;
//! - their videos match by vPDQ (80 % of either's frames match);
//! - their audio matches by Chromaprint (bit error rate ≤ 0.2);
//! - their texts are near-duplicates: Jaccard ≥ 0.8 of the character
//!   4-gram sets of the normalized texts, both of at least 5 words (so that
//!   a one-word caption like "عاجل" links nothing);
//! - they are one album: posted by the same source in the same second, both
//!   with media (Telegram exports an album as consecutive messages with one
//!   date).
//!
//! Every rule is symmetric, so the groups do not depend on the order in
//! which posts are added, nor on how they are split into batches.
//! [`Grouper`] is incremental: posts already grouped are added with their
//! release (and are not compared again among themselves); new posts are
//! compared with everything, and join or merge existing releases.

use std::collections::HashMap;

use marsad_core::{PostId, ReleaseId, Sha256, SourceId};
use marsad_hash::pdq::PdqHash;
use marsad_hash::text::{MinHashSignature, jaccard};
use marsad_hash::vpdq::VpdqFeature;
use marsad_index::audio::{AudioConfig, AudioIndex};
use marsad_index::pdq::PdqIndex;
use marsad_index::text::{LshConfig, TextLsh};
use marsad_index::vpdq::{VpdqConfig, VpdqIndex};
use marsad_store::ReleaseSlot;

/// Thresholds of the link rules.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GroupConfig {
    /// Largest PDQ distance between linked images.
    pub pdq_threshold: u32,
    /// Least PDQ quality of both images.
    pub pdq_quality: u8,
    /// Least Jaccard similarity of linked texts.
    pub text_jaccard: f64,
    /// Least normalized words of a text that may link.
    pub text_min_words: usize,
    /// vPDQ: least share of either video's frames that must match.
    pub vpdq_percent: f64,
    /// Audio thresholds.
    pub audio: AudioConfig,
}

impl Default for GroupConfig {
    /// 31 / 50, Jaccard 0.8 over texts of 5 words or more, vPDQ 80 %,
    /// audio bit error rate 0.2.
    fn default() -> Self {
        GroupConfig {
            pdq_threshold: 31,
            pdq_quality: 50,
            text_jaccard: 0.8,
            text_min_words: 5,
            vpdq_percent: 80.0,
            audio: AudioConfig::default(),
        }
    }
}

/// A post's text as grouping needs it.
#[derive(Clone, Debug, PartialEq)]
pub struct TextFeature {
    /// The MinHash signature of the normalized text.
    pub signature: MinHashSignature,
    /// Number of normalized words.
    pub words: usize,
}

/// A media item of a post as grouping needs it.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct MediaFeature {
    /// Its SHA-256.
    pub sha256: Option<Sha256>,
    /// PDQ hash and quality of an image.
    pub pdq: Option<(PdqHash, u8)>,
    /// vPDQ frames of a video.
    pub vpdq: Option<Vec<VpdqFeature>>,
    /// Chromaprint items of audio.
    pub audio: Option<Vec<u32>>,
}

/// A post to group.
#[derive(Clone, Debug, PartialEq)]
pub struct PostFeatures {
    /// The post's id in the store.
    pub post: PostId,
    /// Its source's id in the store.
    pub source: SourceId,
    /// When it was posted (seconds, UTC).
    pub second: i64,
    /// Its release, when it was grouped before.
    pub release: Option<ReleaseId>,
    /// Its text, when it has one.
    pub text: Option<TextFeature>,
    /// Its media.
    pub media: Vec<MediaFeature>,
}

/// Where exact Jaccard similarity gets the shingle sets of texts it must
/// compare (the signatures only estimate it).
pub trait Shingles {
    /// The sorted, deduplicated shingle hashes of each post's normalized
    /// text (`None` for a post without text). An error (a store that cannot
    /// be read) ends the grouping: a link must not be lost silently.
    fn shingles(&self, posts: &[PostId]) -> marsad_store::Result<Vec<Option<Vec<u64>>>>;
}

/// The outcome of grouping: every post's release.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Grouping {
    /// `(post, release)` for every new post and every post whose release
    /// changed (by a merge). New groups are numbered from 0
    /// ([`ReleaseSlot::New`]): the store gives them real ids.
    pub assign: Vec<(PostId, ReleaseSlot)>,
    /// Existing releases merged into another (now empty).
    pub merged: Vec<ReleaseId>,
    /// Releases whose membership changed (existing and new).
    pub touched: Vec<ReleaseSlot>,
}

/// Union-find over post slots.
#[derive(Clone, Debug, Default)]
struct Forest {
    parent: Vec<u32>,
    rank: Vec<u8>,
}

impl Forest {
    fn add(&mut self) -> u32 {
        let i = self.parent.len() as u32;
        self.parent.push(i);
        self.rank.push(0);
        i
    }

    fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let p = self.parent[x as usize];
            self.parent[x as usize] = self.parent[p as usize];
            x = p;
        }
        x
    }

    fn union(&mut self, a: u32, b: u32) {
        let (a, b) = (self.find(a), self.find(b));
        if a == b {
            return;
        }
        let (ra, rb) = (self.rank[a as usize], self.rank[b as usize]);
        if ra < rb {
            self.parent[a as usize] = b;
        } else if ra > rb {
            self.parent[b as usize] = a;
        } else {
            self.parent[b as usize] = a;
            self.rank[a as usize] += 1;
        }
    }
}

/// Groups posts into releases, incrementally. See the module docs.
#[derive(Debug)]
pub struct Grouper {
    cfg: GroupConfig,
    forest: Forest,
    /// Per slot: post id, release before this run, new?
    posts: Vec<(PostId, Option<ReleaseId>, bool)>,
    by_sha: HashMap<Sha256, u32>,
    album: HashMap<(SourceId, i64), u32>,
    pdq: PdqIndex,
    /// Images to index, in one build when [`Grouper::finish`] runs
    /// (inserting them one by one would rebuild the index's last segment
    /// every few thousand).
    images: Vec<(PdqHash, u32)>,
    /// New images, to search once they are all indexed.
    new_images: Vec<(PdqHash, u32)>,
    vpdq: VpdqIndex,
    vpdq_slots: Vec<u32>,
    audio: AudioIndex,
    audio_slots: Vec<u32>,
    text: TextLsh,
    text_slots: Vec<u32>,
    /// New texts to search: (slot, signature).
    new_texts: Vec<(u32, MinHashSignature)>,
    /// New videos and audio to search.
    new_videos: Vec<(u32, Vec<VpdqFeature>)>,
    new_audio: Vec<(u32, Vec<u32>)>,
    release_slot: HashMap<ReleaseId, u32>,
}

impl Grouper {
    /// An empty grouper.
    pub fn new(cfg: GroupConfig) -> Self {
        Grouper {
            cfg,
            forest: Forest::default(),
            posts: Vec::new(),
            by_sha: HashMap::new(),
            album: HashMap::new(),
            pdq: PdqIndex::new(),
            images: Vec::new(),
            new_images: Vec::new(),
            vpdq: VpdqIndex::new(VpdqConfig::default().quality_threshold),
            vpdq_slots: Vec::new(),
            audio: AudioIndex::new(),
            audio_slots: Vec::new(),
            text: TextLsh::new(LshConfig::default()),
            text_slots: Vec::new(),
            new_texts: Vec::new(),
            new_videos: Vec::new(),
            new_audio: Vec::new(),
            release_slot: HashMap::new(),
        }
    }

    /// Number of posts added.
    pub fn len(&self) -> usize {
        self.posts.len()
    }

    /// Whether no post was added.
    pub fn is_empty(&self) -> bool {
        self.posts.is_empty()
    }

    /// Adds a post. A post with a release was grouped before: it joins its
    /// release and is found by new posts, but is not compared with other
    /// grouped posts. A post without a release is compared with every post
    /// (when [`Grouper::finish`] runs).
    pub fn add(&mut self, p: PostFeatures) {
        let slot = self.forest.add();
        let new = p.release.is_none();
        self.posts.push((p.post, p.release, new));
        if let Some(r) = p.release {
            match self.release_slot.get(&r) {
                Some(&s) => self.forest.union(slot, s),
                None => {
                    self.release_slot.insert(r, slot);
                }
            }
        }
        let has_media = !p.media.is_empty();
        if has_media {
            match self.album.get(&(p.source, p.second)) {
                Some(&s) => {
                    if new || self.posts[s as usize].2 {
                        self.forest.union(slot, s);
                    }
                }
                None => {
                    self.album.insert((p.source, p.second), slot);
                }
            }
        }
        for m in &p.media {
            if let Some(sha) = m.sha256 {
                match self.by_sha.get(&sha) {
                    Some(&s) => {
                        if new || self.posts[s as usize].2 {
                            self.forest.union(slot, s);
                        }
                    }
                    None => {
                        self.by_sha.insert(sha, slot);
                    }
                }
            }
            if let Some((h, q)) = m.pdq
                && q >= self.cfg.pdq_quality
            {
                self.images.push((h, slot));
                if new {
                    self.new_images.push((h, slot));
                }
            }
            if let Some(features) = &m.vpdq
                && self.vpdq.insert(self.vpdq_slots.len() as u32, features).is_ok()
            {
                self.vpdq_slots.push(slot);
                if new {
                    self.new_videos.push((slot, features.clone()));
                }
            }
            if let Some(items) = &m.audio {
                self.audio.insert(self.audio_slots.len() as u32, items);
                self.audio_slots.push(slot);
                if new {
                    self.new_audio.push((slot, items.clone()));
                }
            }
        }
        if let Some(t) = p.text
            && t.words >= self.cfg.text_min_words
            && self.text.insert(self.text_slots.len() as u32, &t.signature).is_ok()
        {
            self.text_slots.push(slot);
            if new {
                self.new_texts.push((slot, t.signature));
            }
        }
    }

    /// Searches the new posts' images and texts against everything added,
    /// and returns every new post's release and the merges.
    ///
    /// # Errors
    /// What `shingles` returns when it cannot give the texts.
    pub fn finish(mut self, shingles: &dyn Shingles) -> marsad_store::Result<Grouping> {
        // Images: every new image against all images, in one batch.
        self.pdq.extend(std::mem::take(&mut self.images));
        self.pdq.compact();
        let hashes: Vec<PdqHash> = self.new_images.iter().map(|(h, _)| *h).collect();
        let found = self.pdq.range_batch(&hashes, self.cfg.pdq_threshold);
        for ((_, slot), hits) in self.new_images.iter().zip(found) {
            for hit in hits {
                self.forest.union(*slot, hit.id);
            }
        }
        // Videos: either video's frames matching at the threshold.
        let loose =
            VpdqConfig { query_match_percent: 0.0, compared_match_percent: 0.0, ..VpdqConfig::default() };
        for (slot, features) in &self.new_videos {
            for hit in self.vpdq.query(features, &loose) {
                if hit.query_match_percent >= self.cfg.vpdq_percent
                    || hit.compared_match_percent >= self.cfg.vpdq_percent
                {
                    self.forest.union(*slot, self.vpdq_slots[hit.id as usize]);
                }
            }
        }
        for (slot, items) in &self.new_audio {
            for hit in self.audio.query(items, &self.cfg.audio) {
                self.forest.union(*slot, self.audio_slots[hit.id as usize]);
            }
        }
        // Texts: candidates by LSH, confirmed by exact Jaccard.
        let min_estimate = self.cfg.text_jaccard - 0.2;
        let mut pairs: Vec<(u32, u32)> = Vec::new();
        for (slot, sig) in &self.new_texts {
            if let Ok(cands) = self.text.candidates(sig, min_estimate) {
                for c in cands {
                    let other = self.text_slots[c.id as usize];
                    if other != *slot && self.forest.find(other) != self.forest.find(*slot) {
                        pairs.push((*slot, other));
                    }
                }
            }
        }
        if !pairs.is_empty() {
            let mut needed: Vec<u32> = pairs.iter().flat_map(|&(a, b)| [a, b]).collect();
            needed.sort_unstable();
            needed.dedup();
            let ids: Vec<PostId> = needed.iter().map(|&s| self.posts[s as usize].0).collect();
            let sets = shingles.shingles(&ids)?;
            let set_of: HashMap<u32, &Option<Vec<u64>>> = needed.iter().copied().zip(sets.iter()).collect();
            for (a, b) in pairs {
                if self.forest.find(a) == self.forest.find(b) {
                    continue;
                }
                if let (Some(Some(sa)), Some(Some(sb))) = (set_of.get(&a), set_of.get(&b))
                    && jaccard(sa, sb) >= self.cfg.text_jaccard
                {
                    self.forest.union(a, b);
                }
            }
        }
        Ok(self.resolve())
    }

    /// Turns the forest into releases: a group keeps the smallest existing
    /// release id among its posts; a group of new posts only gets a new
    /// slot.
    fn resolve(mut self) -> Grouping {
        let n = self.posts.len();
        let mut root_release: HashMap<u32, ReleaseSlot> = HashMap::new();
        for slot in 0..n {
            if let Some(r) = self.posts[slot].1 {
                let root = self.forest.find(slot as u32);
                let e = root_release.entry(root).or_insert(ReleaseSlot::Existing(r));
                *e = (*e).min(ReleaseSlot::Existing(r));
            }
        }
        let mut next_new = 0u32;
        let mut out = Grouping::default();
        let mut touched = std::collections::BTreeSet::new();
        let mut merged = std::collections::BTreeSet::new();
        for slot in 0..n {
            let root = self.forest.find(slot as u32);
            let release = *root_release.entry(root).or_insert_with(|| {
                let id = ReleaseSlot::New(next_new);
                next_new += 1;
                id
            });
            let (post, before, new) = self.posts[slot];
            let before = before.map(ReleaseSlot::Existing);
            if new || before != Some(release) {
                out.assign.push((post, release));
                touched.insert(release);
                if let Some(ReleaseSlot::Existing(b)) = before
                    && before != Some(release)
                {
                    merged.insert(b);
                }
            }
        }
        out.merged = merged.into_iter().collect();
        out.touched = touched.into_iter().collect();
        out
    }
}
