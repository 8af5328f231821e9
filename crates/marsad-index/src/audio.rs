//! Audio matching with Chromaprint fingerprints: candidates by votes on
//! alignment offsets, confirmed by the bit error rate at the best offset.
//!
//! Every item (one per 1365 samples, ≈ 0.124 s) of every indexed
//! fingerprint is filed under its top 16 bits (the first eight of the
//! sixteen classifiers). A query's items vote, for each indexed item with
//! the same key, for that fingerprint at offset `i − j`. Re-encoding flips
//! some bits, but the top 16 bits of an item survive often enough that the
//! true offset collects far more votes than chance. The best offsets are
//! then checked exactly: the fraction of differing bits over the overlap
//! must be at most the threshold. Items of digital silence vote for
//! nothing (every silence looks alike).

use std::collections::HashMap;

use marsad_hash::audio::SILENCE_ITEM;

/// Matching thresholds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AudioConfig {
    /// Largest bit error rate over the overlap (0 identical, about 0.5
    /// unrelated).
    pub max_bit_error_rate: f64,
    /// Least overlap in items (≈ 0.124 s each), or the shorter
    /// fingerprint's length if less.
    pub min_overlap: usize,
    /// Offsets checked exactly per candidate fingerprint.
    pub offsets_checked: usize,
}

impl Default for AudioConfig {
    /// Bit error rate ≤ 0.2 (AcoustID-style similarity 1 − 2·BER ≥ 0.6)
    /// over at least 40 items (≈ 5 s).
    fn default() -> Self {
        AudioConfig { max_bit_error_rate: 0.2, min_overlap: 40, offsets_checked: 3 }
    }
}

/// A fingerprint that matched.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AudioMatch {
    /// The caller's id.
    pub id: u32,
    /// The query's item `i` aligns with the indexed item `i − offset`.
    pub offset: i64,
    /// Items compared.
    pub overlap: usize,
    /// Fraction of differing bits over the overlap.
    pub bit_error_rate: f64,
}

impl AudioMatch {
    /// `1 − 2 · bit error rate`.
    pub fn similarity(&self) -> f64 {
        (1.0 - 2.0 * self.bit_error_rate).max(0.0)
    }

    /// The offset in seconds.
    pub fn offset_seconds(&self) -> f64 {
        self.offset as f64 * marsad_hash::audio::ITEM_SECONDS
    }
}

/// Keys seen more often than this are too common to vote.
const MAX_POSTINGS: usize = 50_000;

/// An index of audio fingerprints.
#[derive(Clone, Debug, Default)]
pub struct AudioIndex {
    entries: Vec<(u32, Vec<u32>)>,
    postings: HashMap<u16, Vec<(u32, u32)>>,
}

fn key(item: u32) -> u16 {
    (item >> 16) as u16
}

/// Bit error rate of `a[i]` against `b[i − offset]` over their overlap.
fn ber_at(a: &[u32], b: &[u32], offset: i64) -> Option<(usize, f64)> {
    let i0 = offset.max(0) as usize;
    let j0 = (-offset).max(0) as usize;
    if i0 >= a.len() || j0 >= b.len() {
        return None;
    }
    let n = (a.len() - i0).min(b.len() - j0);
    let errors: u64 =
        a[i0..i0 + n].iter().zip(&b[j0..j0 + n]).map(|(x, y)| u64::from((x ^ y).count_ones())).sum();
    Some((n, errors as f64 / (32.0 * n as f64)))
}

impl AudioIndex {
    /// An empty index.
    pub fn new() -> Self {
        AudioIndex::default()
    }

    /// Number of fingerprints.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds a fingerprint under `id`.
    pub fn insert(&mut self, id: u32, items: &[u32]) {
        let slot = self.entries.len() as u32;
        for (j, &item) in items.iter().enumerate() {
            if item != SILENCE_ITEM {
                self.postings.entry(key(item)).or_default().push((slot, j as u32));
            }
        }
        self.entries.push((id, items.to_vec()));
    }

    /// The indexed fingerprints that match `items` under `cfg`, best first.
    pub fn query(&self, items: &[u32], cfg: &AudioConfig) -> Vec<AudioMatch> {
        let mut votes: HashMap<(u32, i64), u32> = HashMap::new();
        for (i, &item) in items.iter().enumerate() {
            if item == SILENCE_ITEM {
                continue;
            }
            let Some(list) = self.postings.get(&key(item)) else { continue };
            if list.len() > MAX_POSTINGS {
                continue;
            }
            for &(slot, j) in list {
                *votes.entry((slot, i as i64 - i64::from(j))).or_default() += 1;
            }
        }
        let mut per_entry: HashMap<u32, Vec<(u32, i64)>> = HashMap::new();
        for ((slot, offset), n) in votes {
            per_entry.entry(slot).or_default().push((n, offset));
        }
        let mut out = Vec::new();
        for (slot, mut offsets) in per_entry {
            offsets.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            let (id, theirs) = &self.entries[slot as usize];
            let need = cfg.min_overlap.min(items.len()).min(theirs.len()).max(1);
            let best = offsets
                .iter()
                .take(cfg.offsets_checked)
                .filter_map(|&(_, offset)| ber_at(items, theirs, offset).map(|(n, ber)| (offset, n, ber)))
                .filter(|&(_, n, _)| n >= need)
                .min_by(|a, b| a.2.total_cmp(&b.2));
            if let Some((offset, overlap, ber)) = best
                && ber <= cfg.max_bit_error_rate
            {
                out.push(AudioMatch { id: *id, offset, overlap, bit_error_rate: ber });
            }
        }
        out.sort_by(|a, b| a.bit_error_rate.total_cmp(&b.bit_error_rate).then(a.id.cmp(&b.id)));
        out
    }
}
