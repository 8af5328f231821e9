//! Video matching with vPDQ, by the semantics python-threatexchange and HMA
//! use: each video is the set of its unique frame hashes of quality at
//! least 50; a frame matches when some frame of the other video is within
//! 31 bits; a pair of videos matches when the share of the query's frames
//! that match is at least 80 % and the share of the compared video's
//! frames that match is at least 0 % (both thresholds configurable, both
//! comparisons inclusive). Frame hashes of every indexed video share one
//! exact [`PdqIndex`].

use std::collections::{HashMap, HashSet};

use marsad_hash::pdq::PdqHash;
use marsad_hash::vpdq::VpdqFeature;

use crate::pdq::{Hit, PdqIndex};

/// Matching thresholds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VpdqConfig {
    /// Frames of lower quality are ignored.
    pub quality_threshold: u8,
    /// Largest Hamming distance at which two frames match.
    pub distance_threshold: u32,
    /// Least share (percent) of the query's frames that must match.
    pub query_match_percent: f64,
    /// Least share (percent) of the compared video's frames that must match.
    pub compared_match_percent: f64,
}

impl Default for VpdqConfig {
    /// 50, 31, 80 %, 0 %: python-threatexchange's defaults.
    fn default() -> Self {
        VpdqConfig {
            quality_threshold: 50,
            distance_threshold: 31,
            query_match_percent: 80.0,
            compared_match_percent: 0.0,
        }
    }
}

/// The unique hashes of a video's frames of sufficient quality, in frame
/// order (quality filter first, then the first occurrence of each hash).
pub fn prepare(features: &[VpdqFeature], quality_threshold: u8) -> Vec<PdqHash> {
    let mut seen = HashSet::new();
    features
        .iter()
        .filter(|f| f.quality >= quality_threshold)
        .map(|f| f.hash)
        .filter(|h| seen.insert(*h))
        .collect()
}

/// A video that matched.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VpdqMatch {
    /// The caller's id of the indexed video.
    pub id: u32,
    /// Share of the query's frames that matched, percent.
    pub query_match_percent: f64,
    /// Share of the indexed video's frames that matched, percent.
    pub compared_match_percent: f64,
}

/// Why a video could not be indexed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("video has no frame of quality {0} or more")]
pub struct NoUsableFrames(pub u8);

/// An index of videos by their vPDQ frame hashes.
#[derive(Clone, Debug, Default)]
pub struct VpdqIndex {
    frames: PdqIndex,
    /// Video slot of each frame slot.
    frame_video: Vec<u32>,
    /// Per video slot: (caller's id, number of unique frames).
    videos: Vec<(u32, u32)>,
    quality_threshold: u8,
}

impl VpdqIndex {
    /// An empty index keeping frames of at least `quality_threshold`.
    pub fn new(quality_threshold: u8) -> Self {
        VpdqIndex { quality_threshold, ..VpdqIndex::default() }
    }

    /// Number of videos.
    pub fn len(&self) -> usize {
        self.videos.len()
    }

    /// Whether no video is indexed.
    pub fn is_empty(&self) -> bool {
        self.videos.is_empty()
    }

    /// Number of frame hashes indexed.
    pub fn frames(&self) -> usize {
        self.frame_video.len()
    }

    /// Adds a video under `id`.
    pub fn insert(&mut self, id: u32, features: &[VpdqFeature]) -> Result<(), NoUsableFrames> {
        let hashes = prepare(features, self.quality_threshold);
        if hashes.is_empty() {
            return Err(NoUsableFrames(self.quality_threshold));
        }
        let video = self.videos.len() as u32;
        let first = self.frame_video.len() as u32;
        self.frames.extend(hashes.iter().enumerate().map(|(i, h)| (*h, first + i as u32)));
        self.frame_video.extend(std::iter::repeat_n(video, hashes.len()));
        self.videos.push((id, hashes.len() as u32));
        Ok(())
    }

    /// The indexed videos that match a query video, by the thresholds of
    /// `cfg` (its quality threshold applies to the query's frames).
    pub fn query(&self, features: &[VpdqFeature], cfg: &VpdqConfig) -> Vec<VpdqMatch> {
        let hashes = prepare(features, cfg.quality_threshold);
        if hashes.is_empty() {
            return Vec::new();
        }
        // Per video slot: query frames matched, its frames matched.
        let mut hits: HashMap<u32, (HashSet<u32>, HashSet<u32>)> = HashMap::new();
        let mut found: Vec<Hit> = Vec::new();
        for (qi, h) in hashes.iter().enumerate() {
            found.clear();
            self.frames.range(h, cfg.distance_threshold, &mut found);
            for hit in &found {
                let video = self.frame_video[hit.id as usize];
                let entry = hits.entry(video).or_default();
                entry.0.insert(qi as u32);
                entry.1.insert(hit.id);
            }
        }
        let mut out: Vec<VpdqMatch> = hits
            .into_iter()
            .filter_map(|(video, (q, c))| {
                let (id, frames) = self.videos[video as usize];
                let query_match_percent = q.len() as f64 * 100.0 / hashes.len() as f64;
                let compared_match_percent = c.len() as f64 * 100.0 / f64::from(frames);
                (query_match_percent >= cfg.query_match_percent
                    && compared_match_percent >= cfg.compared_match_percent)
                    .then_some(VpdqMatch { id, query_match_percent, compared_match_percent })
            })
            .collect();
        out.sort_by(|a, b| b.query_match_percent.total_cmp(&a.query_match_percent).then(a.id.cmp(&b.id)));
        out
    }
}

/// Matches two videos directly (python-threatexchange's brute-force
/// matcher, with the index's quality-then-dedupe preparation): the query's
/// and the compared video's match percentages.
pub fn compare(query: &[VpdqFeature], compared: &[VpdqFeature], cfg: &VpdqConfig) -> (f64, f64) {
    let q = prepare(query, cfg.quality_threshold);
    let c = prepare(compared, cfg.quality_threshold);
    if q.is_empty() || c.is_empty() {
        return (0.0, 0.0);
    }
    let share = |a: &[PdqHash], b: &[PdqHash]| {
        a.iter().filter(|x| b.iter().any(|y| x.hamming(y) <= cfg.distance_threshold)).count() as f64 * 100.0
            / a.len() as f64
    };
    (share(&q, &c), share(&c, &q))
}
