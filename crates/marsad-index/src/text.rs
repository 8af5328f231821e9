//! Near-duplicate text: locality-sensitive hashing over MinHash signatures.
//!
//! A signature of `bands × rows` values is cut into `bands` bands; two texts
//! become candidates when any band is identical, which happens with
//! probability `1 − (1 − J^rows)^bands` for Jaccard similarity `J`. The
//! default, 21 bands of 6 rows over 128 permutations, finds pairs at
//! `J = 0.8` with probability 0.998 and at `J = 0.5` with 0.28: recall at the
//! default threshold is nearly total, and most unrelated texts never meet.
//! Candidates are then filtered by the signature estimate (cheap) and must
//! be confirmed by the caller against the exact Jaccard of the shingle sets
//! ([`marsad_hash::text::jaccard`]), since an estimate from 128 permutations
//! has a standard error of about 0.035 at `J = 0.8`.

use std::collections::{HashMap, HashSet};

use marsad_hash::text::MinHashSignature;

/// Banding of the signatures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LshConfig {
    /// Number of bands.
    pub bands: usize,
    /// Signature values per band.
    pub rows: usize,
}

impl Default for LshConfig {
    /// 21 bands of 6 rows (126 of 128 permutations).
    fn default() -> Self {
        LshConfig { bands: 21, rows: 6 }
    }
}

impl LshConfig {
    /// Probability that two texts of Jaccard similarity `j` become
    /// candidates.
    pub fn candidate_probability(&self, j: f64) -> f64 {
        1.0 - (1.0 - j.powi(self.rows as i32)).powi(self.bands as i32)
    }
}

/// Why a signature cannot be indexed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("signature has {got} permutations, the index needs at least {need} ({bands} bands of {rows} rows)")]
pub struct SignatureTooShort {
    /// Permutations given.
    pub got: usize,
    /// Permutations needed.
    pub need: usize,
    /// Bands configured.
    pub bands: usize,
    /// Rows configured.
    pub rows: usize,
}

const NONE: u32 = u32::MAX;

/// An LSH index of MinHash signatures with insertion.
#[derive(Clone, Debug)]
pub struct TextLsh {
    cfg: LshConfig,
    /// Per band: band key → most recent slot with it.
    heads: Vec<HashMap<u64, u32>>,
    /// Per slot and band: the previous slot with the same band key.
    links: Vec<u32>,
    /// Per slot: the caller's id.
    ids: Vec<u32>,
    /// Per slot: the signature values used (`bands × rows`).
    values: Vec<u32>,
}

/// A candidate near-duplicate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Candidate {
    /// The caller's id.
    pub id: u32,
    /// Fraction of agreeing signature values (the Jaccard estimate).
    pub estimate: f64,
}

impl TextLsh {
    /// An empty index.
    pub fn new(cfg: LshConfig) -> Self {
        TextLsh {
            cfg,
            heads: vec![HashMap::new(); cfg.bands],
            links: Vec::new(),
            ids: Vec::new(),
            values: Vec::new(),
        }
    }

    /// The banding.
    pub fn config(&self) -> LshConfig {
        self.cfg
    }

    /// Number of signatures indexed.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    fn width(&self) -> usize {
        self.cfg.bands * self.cfg.rows
    }

    fn check(&self, sig: &MinHashSignature) -> Result<(), SignatureTooShort> {
        if sig.0.len() < self.width() {
            return Err(SignatureTooShort {
                got: sig.0.len(),
                need: self.width(),
                bands: self.cfg.bands,
                rows: self.cfg.rows,
            });
        }
        Ok(())
    }

    fn band_key(&self, values: &[u32], band: usize) -> u64 {
        let rows = &values[band * self.cfg.rows..(band + 1) * self.cfg.rows];
        let mut bytes = [0u8; 4 * 32];
        let n = rows.len().min(32);
        for (i, v) in rows[..n].iter().enumerate() {
            bytes[4 * i..4 * i + 4].copy_from_slice(&v.to_le_bytes());
        }
        xxhash_rust::xxh3::xxh3_64_with_seed(&bytes[..4 * n], band as u64)
    }

    /// Adds a signature under `id`.
    pub fn insert(&mut self, id: u32, sig: &MinHashSignature) -> Result<(), SignatureTooShort> {
        self.check(sig)?;
        let slot = self.ids.len() as u32;
        let values = &sig.0[..self.width()];
        for band in 0..self.cfg.bands {
            let key = self.band_key(values, band);
            let prev = self.heads[band].insert(key, slot).unwrap_or(NONE);
            self.links.push(prev);
        }
        self.ids.push(id);
        self.values.extend_from_slice(values);
        Ok(())
    }

    /// Candidates sharing a band with `sig` whose estimated Jaccard is at
    /// least `min_estimate`, each id once (its best estimate), in no
    /// particular order.
    pub fn candidates(
        &self,
        sig: &MinHashSignature,
        min_estimate: f64,
    ) -> Result<Vec<Candidate>, SignatureTooShort> {
        self.check(sig)?;
        let width = self.width();
        let values = &sig.0[..width];
        let mut seen: HashSet<u32> = HashSet::new();
        let mut out = Vec::new();
        for band in 0..self.cfg.bands {
            let key = self.band_key(values, band);
            let mut slot = self.heads[band].get(&key).copied().unwrap_or(NONE);
            while slot != NONE {
                if seen.insert(slot) {
                    let theirs = &self.values[slot as usize * width..(slot as usize + 1) * width];
                    let same = theirs.iter().zip(values).filter(|(a, b)| a == b).count();
                    let estimate = same as f64 / width as f64;
                    if estimate >= min_estimate {
                        out.push(Candidate { id: self.ids[slot as usize], estimate });
                    }
                }
                slot = self.links[slot as usize * self.cfg.bands + band];
            }
        }
        // An id added under several slots: keep its best estimate.
        out.sort_by(|a, b| a.id.cmp(&b.id).then(b.estimate.total_cmp(&a.estimate)));
        out.dedup_by_key(|c| c.id);
        Ok(out)
    }

    /// Bytes held (approximately: hash tables at their capacity).
    pub fn memory_bytes(&self) -> usize {
        self.heads.iter().map(|h| h.capacity() * 13).sum::<usize>()
            + self.links.capacity() * 4
            + self.ids.capacity() * 4
            + self.values.capacity() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidate_probability_is_steep_around_the_threshold() {
        let c = LshConfig::default();
        assert!(c.candidate_probability(0.8) > 0.998);
        assert!(c.candidate_probability(0.5) < 0.3);
        assert!(c.candidate_probability(0.2) < 0.002);
    }
}
