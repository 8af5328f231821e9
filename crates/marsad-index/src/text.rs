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

/// One band's table: band key → the most recent slot with that key, in
/// open addressing with linear probing. Keys are already uniform 64-bit
/// hashes, so their low bits pick the home position; a query computes every
/// band's home position first and fetches them together, so the cache
/// misses of a query overlap instead of following one another.
#[derive(Clone, Debug, Default)]
struct BandTable {
    /// (key, head) pairs; a key of 0 marks an empty place (a key of 0 is
    /// stored as 1). Key and head share a cache line.
    places: Vec<(u64, u32)>,
    len: usize,
}

impl BandTable {
    fn fix(key: u64) -> u64 {
        key.max(1)
    }

    fn home(&self, key: u64) -> usize {
        (key as usize) & (self.places.len() - 1)
    }

    fn get(&self, key: u64) -> u32 {
        if self.places.is_empty() {
            return NONE;
        }
        let key = Self::fix(key);
        let mask = self.places.len() - 1;
        let mut i = self.home(key);
        loop {
            match self.places[i] {
                (0, _) => return NONE,
                (k, head) if k == key => return head,
                _ => i = (i + 1) & mask,
            }
        }
    }

    /// Sets the head of `key`, returning the previous one.
    fn replace(&mut self, key: u64, head: u32) -> u32 {
        if (self.len + 1) * 2 > self.places.len() {
            self.grow();
        }
        let key = Self::fix(key);
        let mask = self.places.len() - 1;
        let mut i = self.home(key);
        loop {
            match self.places[i] {
                (0, _) => {
                    self.places[i] = (key, head);
                    self.len += 1;
                    return NONE;
                }
                (k, old) if k == key => {
                    self.places[i].1 = head;
                    return old;
                }
                _ => i = (i + 1) & mask,
            }
        }
    }

    fn grow(&mut self) {
        let cap = (self.places.len() * 2).max(64);
        let old = std::mem::replace(&mut self.places, vec![(0, NONE); cap]);
        let mask = cap - 1;
        for (k, h) in old {
            if k != 0 {
                let mut i = (k as usize) & mask;
                while self.places[i].0 != 0 {
                    i = (i + 1) & mask;
                }
                self.places[i] = (k, h);
            }
        }
    }

    fn prefetch(&self, key: u64) {
        if !self.places.is_empty() {
            crate::pdq::prefetch_ref(&self.places[self.home(Self::fix(key))]);
        }
    }

    fn capacity(&self) -> usize {
        self.places.capacity()
    }
}

/// An LSH index of MinHash signatures with insertion.
#[derive(Clone, Debug)]
pub struct TextLsh {
    cfg: LshConfig,
    /// Per band: band key → most recent slot with it.
    heads: Vec<BandTable>,
    /// Per slot and band: the previous slot with the same band key.
    links: Vec<u32>,
    /// Per slot: the caller's id.
    ids: Vec<u32>,
    /// Per slot: the low 8 bits of each signature value used (`bands ×
    /// rows` bytes): enough to estimate the Jaccard similarity (b-bit
    /// MinHash, corrected for chance agreement) at a quarter of the memory
    /// and memory traffic of the full values.
    values: Vec<u8>,
}

/// A candidate near-duplicate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Candidate {
    /// The caller's id.
    pub id: u32,
    /// The Jaccard estimate: the fraction of agreeing signature values
    /// (compared on their low 8 bits, corrected for chance agreement).
    pub estimate: f64,
}

impl TextLsh {
    /// An empty index.
    pub fn new(cfg: LshConfig) -> Self {
        TextLsh {
            cfg,
            heads: vec![BandTable::default(); cfg.bands],
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

    /// A 64-bit key of a band's values: a multiply-xorshift mix, seeded by
    /// the band (keys of different bands never need to differ, but cheap
    /// independence costs nothing).
    #[inline]
    fn band_key(&self, values: &[u32], band: usize) -> u64 {
        let rows = &values[band * self.cfg.rows..(band + 1) * self.cfg.rows];
        let mut h = (band as u64).wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        for &v in rows {
            h = (h ^ u64::from(v)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            h ^= h >> 31;
        }
        h
    }

    /// Adds a signature under `id`.
    pub fn insert(&mut self, id: u32, sig: &MinHashSignature) -> Result<(), SignatureTooShort> {
        self.check(sig)?;
        let slot = self.ids.len() as u32;
        let values = &sig.0[..self.width()];
        for band in 0..self.cfg.bands {
            let key = self.band_key(values, band);
            let prev = self.heads[band].replace(key, slot);
            self.links.push(prev);
        }
        self.ids.push(id);
        self.values.extend(values.iter().map(|&v| v as u8));
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
        // Slots sharing a band, each once (a near-duplicate shares most).
        let keys: Vec<u64> = (0..self.cfg.bands).map(|band| self.band_key(values, band)).collect();
        for (band, &key) in keys.iter().enumerate() {
            self.heads[band].prefetch(key);
        }
        let mut slots: Vec<u32> = Vec::new();
        for (band, &key) in keys.iter().enumerate() {
            let mut slot = self.heads[band].get(key);
            while slot != NONE {
                slots.push(slot);
                slot = self.links[slot as usize * self.cfg.bands + band];
            }
        }
        slots.sort_unstable();
        slots.dedup();
        let low: Vec<u8> = values.iter().map(|&v| v as u8).collect();
        let mut out = Vec::with_capacity(slots.len());
        for slot in slots {
            let theirs = &self.values[slot as usize * width..(slot as usize + 1) * width];
            let same: usize = theirs.iter().zip(&low).map(|(a, b)| usize::from(a == b)).sum();
            // Unrelated values agree on 8 bits by chance once in 256.
            let raw = same as f64 / width as f64;
            let estimate = ((raw - 1.0 / 256.0) / (1.0 - 1.0 / 256.0)).clamp(0.0, 1.0);
            if estimate >= min_estimate {
                out.push(Candidate { id: self.ids[slot as usize], estimate });
            }
        }
        // An id added under several slots: keep its best estimate.
        out.sort_by(|a, b| a.id.cmp(&b.id).then(b.estimate.total_cmp(&a.estimate)));
        out.dedup_by_key(|c| c.id);
        Ok(out)
    }

    /// Bytes held (approximately: hash tables at their capacity).
    pub fn memory_bytes(&self) -> usize {
        self.heads.iter().map(|h| h.capacity() * 16).sum::<usize>()
            + self.links.capacity() * 4
            + self.ids.capacity() * 4
            + self.values.capacity()
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
