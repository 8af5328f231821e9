//! [`BankMatcher`]: every bank of a store, indexed in memory by signal
//! type, answering "which known entries does this look like?".
//!
//! The PDQ index, the one that must scale to tens of millions of hashes, is
//! cached in a file beside the store ([`crate::cache`]) and brought up to
//! date from the entries added since; the others are built on load.

use std::collections::HashMap;
use std::path::Path;

use marsad_core::{SignalType, SignalVariant};
use marsad_hash::pdq::PdqHash;
use marsad_hash::text::{MinHasher, jaccard, shingles};
use marsad_index::audio::{AudioConfig, AudioIndex};
use marsad_index::pdq::{Hit, PdqIndex};
use marsad_index::text::{LshConfig, TextLsh};
use marsad_index::vpdq::{VpdqConfig, VpdqIndex};
use marsad_store::{BankStore, EntryFilter, EntryId, MetaStore, NewFingerprint, NewMatch, StoreError};

use crate::cache;

/// Thresholds of every matcher.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MatchConfig {
    /// PDQ: largest Hamming distance (inclusive).
    pub pdq_threshold: u32,
    /// PDQ: also match the query's seven other dihedral transforms
    /// (rotations and mirror images).
    pub dihedral: bool,
    /// Text: least Jaccard similarity of the shingle sets (inclusive).
    pub text_jaccard: f64,
    /// vPDQ thresholds.
    pub vpdq: VpdqConfig,
    /// Audio thresholds.
    pub audio: AudioConfig,
}

impl Default for MatchConfig {
    /// PDQ ≤ 31, Jaccard ≥ 0.8, vPDQ 80 % / 0 %, audio bit error rate ≤ 0.2.
    fn default() -> Self {
        MatchConfig {
            pdq_threshold: marsad_index::pdq::DEFAULT_THRESHOLD,
            dihedral: false,
            text_jaccard: 0.8,
            vpdq: VpdqConfig::default(),
            audio: AudioConfig::default(),
        }
    }
}

/// A bank entry that matched.
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    /// The entry.
    pub entry_id: EntryId,
    /// The signal that matched.
    pub signal_type: SignalType,
    /// The distance (see [`marsad_store::NewMatch::distance`]).
    pub distance: f64,
    /// Details (percentages, offsets, similarity), if any.
    pub detail: Option<serde_json::Value>,
    /// Which variant of the signal matched, when it is not marsad's own:
    /// [`SignalVariant::Pytx`] for python-threatexchange's PDQ of a palette
    /// or CMYK image.
    pub variant: Option<SignalVariant>,
}

/// The name of python-threatexchange's PDQ variant in match output.
pub const PYTX_VARIANT: &str = SignalVariant::Pytx.as_str();

impl Found {
    fn into_new_match(self) -> NewMatch {
        NewMatch {
            entry_id: self.entry_id,
            signal_type: self.signal_type,
            distance: self.distance,
            detail: self.detail.map(|d| d.to_string()),
            variant: self.variant,
        }
    }
}

/// Why banks could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum MatchError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Warns about a bank entry whose stored value does not parse (the store
/// was changed behind marsad's back): it is left out of the index, and
/// counted in [`BankMatcher::skipped`] so that the caller can say so.
pub(crate) fn warn_skipped(e: &marsad_store::BankEntry, error: &dyn std::fmt::Display) {
    tracing::warn!(
        entry = e.id.0,
        bank = %e.bank,
        signal_type = %e.signal_type,
        %error,
        "bank entry unreadable: not indexed, it cannot match"
    );
}

/// Warns about a fingerprint to match that does not parse (ingestion and
/// the store write only valid ones, so this is damage): it cannot match.
fn warn_unreadable(f: &NewFingerprint, error: &dyn std::fmt::Display) {
    tracing::warn!(signal_type = %f.signal_type, %error, "fingerprint unreadable: not matched");
}

/// The banks of a store, indexed.
#[derive(Debug, Default)]
pub struct BankMatcher {
    cfg: MatchConfig,
    pdq: PdqIndex,
    pdq_entries: Vec<EntryId>,
    md5: HashMap<String, Vec<EntryId>>,
    sha256: HashMap<String, Vec<EntryId>>,
    vpdq: VpdqIndex,
    vpdq_entries: Vec<EntryId>,
    audio: AudioIndex,
    audio_entries: Vec<EntryId>,
    text: Option<TextLsh>,
    /// Per indexed text: entry id and shingle set (for exact Jaccard).
    text_entries: Vec<(EntryId, Vec<u64>)>,
    minhash: MinHasher,
    /// Bank entries left out because their stored value does not parse.
    skipped: u64,
}

impl BankMatcher {
    /// Loads every bank of `store`. The PDQ index is read from `cache` when
    /// it is current, extended when entries were only added, and rebuilt
    /// (and saved there) otherwise; without a cache it is built in memory.
    pub fn load<S: BankStore + MetaStore + ?Sized>(
        store: &S,
        cfg: MatchConfig,
        cache: Option<&Path>,
    ) -> Result<Self, MatchError> {
        let mut m = BankMatcher { cfg, minhash: MinHasher::default(), ..BankMatcher::default() };
        m.vpdq = VpdqIndex::new(cfg.vpdq.quality_threshold);
        // A cached PDQ index is compared with the store's entries as they
        // are read below (every entry is read anyway, for the other types).
        let mut pdq = cache::load(store, cache)?;
        let mut text = TextLsh::new(LshConfig::default());
        let everything = EntryFilter::default();
        store.bank_entries(&everything, &mut |e| {
            pdq.visit(&e);
            if e.signal_type != SignalType::Pdq {
                m.add_other(&e, &mut text);
            }
            Ok(())
        })?;
        if !text.is_empty() {
            m.text = Some(text);
        }
        let pdq = pdq.finish(store)?;
        m.pdq = pdq.index;
        m.pdq_entries = pdq.ids;
        m.skipped += pdq.skipped;
        tracing::info!(
            pdq = m.pdq_entries.len(),
            md5 = m.md5.len(),
            sha256 = m.sha256.len(),
            vpdq = m.vpdq_entries.len(),
            audio = m.audio_entries.len(),
            text = m.text_entries.len(),
            skipped = m.skipped,
            "banks loaded"
        );
        Ok(m)
    }

    /// A matcher over no entry, to [`BankMatcher::insert`] into.
    pub fn empty(cfg: MatchConfig) -> Self {
        let mut m = BankMatcher { cfg, minhash: MinHasher::default(), ..BankMatcher::default() };
        m.vpdq = VpdqIndex::new(cfg.vpdq.quality_threshold);
        m
    }

    /// Moves every PDQ hash inserted one by one into the index's tables
    /// (after a bulk of [`BankMatcher::insert`]s).
    pub fn compact(&mut self) {
        self.pdq.compact();
    }

    /// [`BankMatcher::match_pdq_within`] of many hashes at once.
    pub fn match_pdq_batch_within(&self, hashes: &[PdqHash], threshold: u32) -> Vec<Vec<Found>> {
        self.pdq.range_batch(hashes, threshold).iter().map(|h| self.pdq_found(h)).collect()
    }

    /// Indexes an entry of a type other than PDQ (PDQ entries come from
    /// the cached index when loading).
    fn add_other(&mut self, e: &marsad_store::BankEntry, text: &mut TextLsh) {
        match e.signal_type {
            SignalType::Pdq => {}
            SignalType::Md5 => self.md5.entry(e.value.clone()).or_default().push(e.id),
            SignalType::Sha256 => self.sha256.entry(e.value.clone()).or_default().push(e.id),
            SignalType::Vpdq => match marsad_hash::vpdq::parse_signal(&e.value) {
                Ok(features) => {
                    let slot = self.vpdq_entries.len() as u32;
                    // A video without usable frames can never match.
                    if self.vpdq.insert(slot, &features).is_ok() {
                        self.vpdq_entries.push(e.id);
                    }
                }
                Err(err) => {
                    warn_skipped(e, &err);
                    self.skipped += 1;
                }
            },
            SignalType::Audio => match marsad_hash::audio::parse_raw_text(&e.value) {
                Ok(items) => {
                    self.audio.insert(self.audio_entries.len() as u32, &items);
                    self.audio_entries.push(e.id);
                }
                Err(err) => {
                    warn_skipped(e, &err);
                    self.skipped += 1;
                }
            },
            SignalType::Text => {
                let sh = shingles(&e.value);
                let sig = self.minhash.sign_shingles(&sh);
                if text.insert(self.text_entries.len() as u32, &sig).is_ok() {
                    self.text_entries.push((e.id, sh));
                }
            }
        }
    }

    /// Adds one entry to the indexes, as loading would have (a live index
    /// follows the store this way, entry by entry, without reloading). An
    /// entry whose value does not parse is warned about and counted in
    /// [`BankMatcher::skipped`]. Removing entries is the caller's part: it
    /// drops their matches (the indexes keep them until the next load).
    pub fn insert(&mut self, e: &marsad_store::BankEntry) {
        self.insert_as(e, false);
    }

    /// [`BankMatcher::insert`] for a bulk load: PDQ hashes are indexed by
    /// the next [`BankMatcher::compact`], all at once.
    pub fn insert_unindexed(&mut self, e: &marsad_store::BankEntry) {
        self.insert_as(e, true);
    }

    /// Whether the PDQ index is in many more segments than a bulk build
    /// would make (hashes added one by one make a dozen more after a
    /// million or so additions): lookups probe every segment, so a caller
    /// that keeps an index current builds it again when it is.
    pub fn pdq_fragmented(&self) -> bool {
        let built = self.pdq.len().div_ceil(marsad_index::pdq::SEGMENT_CAPACITY);
        self.pdq.segments() > built + 12
    }

    fn insert_as(&mut self, e: &marsad_store::BankEntry, bulk: bool) {
        match e.signal_type {
            SignalType::Pdq => match PdqHash::from_hex(&e.value) {
                Ok(hash) => {
                    let slot = self.pdq_entries.len() as u32;
                    if bulk {
                        self.pdq.insert_unindexed(&hash, slot);
                    } else {
                        self.pdq.insert(&hash, slot);
                    }
                    self.pdq_entries.push(e.id);
                }
                Err(err) => {
                    warn_skipped(e, &err);
                    self.skipped += 1;
                }
            },
            SignalType::Text => {
                let mut text = self.text.take().unwrap_or_else(|| TextLsh::new(LshConfig::default()));
                self.add_other(e, &mut text);
                if !text.is_empty() {
                    self.text = Some(text);
                }
            }
            _ => {
                let mut unused = TextLsh::new(LshConfig::default());
                self.add_other(e, &mut unused);
            }
        }
    }

    /// PDQ matches of one hash within `threshold` (inclusive), whatever
    /// the configured one: a server with a bank of its own distance asks
    /// for the largest and sorts the hits per bank.
    pub fn match_pdq_within(&self, hash: &PdqHash, threshold: u32) -> Vec<Found> {
        let mut hits = Vec::new();
        self.pdq.range(hash, threshold, &mut hits);
        self.pdq_found(&hits)
    }

    /// Bank entries left out of the indexes because their stored value
    /// does not parse (each was warned about, with its id and bank, when
    /// it was first read; PDQ entries when the cached index was built).
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// The thresholds in use.
    pub fn config(&self) -> &MatchConfig {
        &self.cfg
    }

    /// Whether there is nothing to match against.
    pub fn is_empty(&self) -> bool {
        self.pdq_entries.is_empty()
            && self.md5.is_empty()
            && self.sha256.is_empty()
            && self.vpdq_entries.is_empty()
            && self.audio_entries.is_empty()
            && self.text_entries.is_empty()
    }

    /// Number of indexed entries per signal type.
    pub fn counts(&self) -> [(SignalType, usize); 6] {
        [
            (SignalType::Pdq, self.pdq_entries.len()),
            (SignalType::Md5, self.md5.values().map(Vec::len).sum()),
            (SignalType::Sha256, self.sha256.values().map(Vec::len).sum()),
            (SignalType::Vpdq, self.vpdq_entries.len()),
            (SignalType::Audio, self.audio_entries.len()),
            (SignalType::Text, self.text_entries.len()),
        ]
    }

    /// The entries of PDQ hits. The index's slots were checked against the
    /// entry list (and its hashes against the store's) when it was loaded;
    /// a slot out of range is skipped all the same rather than trusted.
    fn pdq_found(&self, hits: &[Hit]) -> Vec<Found> {
        hits.iter()
            .filter_map(|h| {
                Some(Found {
                    entry_id: *self.pdq_entries.get(h.id as usize)?,
                    signal_type: SignalType::Pdq,
                    distance: f64::from(h.distance),
                    detail: None,
                    variant: None,
                })
            })
            .collect()
    }

    /// PDQ matches of one hash (and its dihedral variants when configured).
    pub fn match_pdq(&self, hash: &PdqHash, dihedral: Option<&[PdqHash; 8]>) -> Vec<Found> {
        let mut hits = Vec::new();
        match dihedral.filter(|_| self.cfg.dihedral) {
            Some(all) => self.pdq.range_any(all, self.cfg.pdq_threshold, &mut hits),
            None => self.pdq.range(hash, self.cfg.pdq_threshold, &mut hits),
        }
        self.pdq_found(&hits)
    }

    /// PDQ matches of python-threatexchange's variant of an image's hash
    /// (see `marsad_hash::pdq::hash_image_bytes_pytx`) that `own`, the
    /// matches of marsad's hash of the same image, does not already hold;
    /// each is marked [`SignalVariant::Pytx`].
    pub fn match_pdq_pytx(&self, variant: &PdqHash, own: &[Found]) -> Vec<Found> {
        let mut found = self.match_pdq(variant, None);
        found.retain(|f| !holds(own, f));
        for f in &mut found {
            f.variant = Some(SignalVariant::Pytx);
        }
        found
    }

    /// PDQ matches of many hashes at once (faster per hash).
    pub fn match_pdq_batch(&self, hashes: &[PdqHash]) -> Vec<Vec<Found>> {
        self.pdq.range_batch(hashes, self.cfg.pdq_threshold).iter().map(|h| self.pdq_found(h)).collect()
    }

    /// Matches of one item's fingerprints (and of the post text that
    /// produced a text fingerprint, when given: text matches are confirmed
    /// by the exact Jaccard similarity of the shingle sets).
    ///
    /// A variant fingerprint (python-threatexchange's PDQ of a palette or
    /// CMYK image, which banks made by HMA hold) adds the entries that the
    /// item's own fingerprints do not match, each marked with its variant:
    /// an entry both match is the own fingerprint's match.
    pub fn match_fingerprints(&self, fingerprints: &[NewFingerprint], text: Option<&str>) -> Vec<Found> {
        let mut out = Vec::new();
        for f in fingerprints.iter().filter(|f| f.variant.is_none()) {
            self.match_one(f, text, &mut out);
        }
        let mut by_variant = Vec::new();
        for f in fingerprints.iter().filter(|f| f.variant.is_some()) {
            self.match_one(f, text, &mut by_variant);
            for mut found in by_variant.drain(..) {
                if !holds(&out, &found) {
                    found.variant = f.variant;
                    out.push(found);
                }
            }
        }
        out
    }

    /// Adds the matches of one fingerprint to `out`, whatever its variant.
    fn match_one(&self, f: &NewFingerprint, text: Option<&str>, out: &mut Vec<Found>) {
        match f.signal_type {
            SignalType::Pdq => match PdqHash::from_hex(&f.value) {
                Ok(h) => out.extend(self.match_pdq(&h, None)),
                Err(e) => warn_unreadable(f, &e),
            },
            SignalType::Md5 | SignalType::Sha256 => {
                let map = if f.signal_type == SignalType::Md5 { &self.md5 } else { &self.sha256 };
                if let Some(ids) = map.get(&f.value.to_ascii_lowercase()) {
                    out.extend(ids.iter().map(|&entry_id| Found {
                        entry_id,
                        signal_type: f.signal_type,
                        distance: 0.0,
                        detail: None,
                        variant: None,
                    }));
                }
            }
            SignalType::Vpdq => {
                if self.vpdq_entries.is_empty() {
                    return;
                }
                let features = match marsad_hash::vpdq::parse_signal(&f.value) {
                    Ok(features) => features,
                    Err(e) => {
                        warn_unreadable(f, &e);
                        return;
                    }
                };
                out.extend(self.vpdq.query(&features, &self.cfg.vpdq).into_iter().map(|m| Found {
                    entry_id: self.vpdq_entries[m.id as usize],
                    signal_type: SignalType::Vpdq,
                    distance: 100.0 - m.query_match_percent,
                    detail: Some(serde_json::json!({
                        "query_match_percent": m.query_match_percent,
                        "compared_match_percent": m.compared_match_percent,
                    })),
                    variant: None,
                }));
            }
            SignalType::Audio => {
                if self.audio_entries.is_empty() {
                    return;
                }
                let items = match marsad_hash::audio::parse_raw_text(&f.value) {
                    Ok(items) => items,
                    Err(e) => {
                        warn_unreadable(f, &e);
                        return;
                    }
                };
                out.extend(self.audio.query(&items, &self.cfg.audio).into_iter().map(|m| Found {
                    entry_id: self.audio_entries[m.id as usize],
                    signal_type: SignalType::Audio,
                    distance: m.bit_error_rate,
                    detail: Some(serde_json::json!({
                        "similarity": m.similarity(),
                        "offset_seconds": (m.offset_seconds() * 1000.0).round() / 1000.0,
                        "overlap_seconds": (m.overlap as f64 * marsad_hash::audio::ITEM_SECONDS * 10.0).round() / 10.0,
                    })),
                    variant: None,
                }));
            }
            SignalType::Text => {
                if let Some(t) = text {
                    out.extend(self.match_text(t));
                }
            }
        }
    }

    /// Text matches: LSH candidates whose estimate is within 0.2 of the
    /// threshold (four standard errors), confirmed by exact Jaccard.
    pub fn match_text(&self, text: &str) -> Vec<Found> {
        let Some(lsh) = &self.text else { return Vec::new() };
        let normalized = marsad_hash::text::normalize(text);
        if normalized.is_empty() {
            return Vec::new();
        }
        let sh = shingles(&normalized);
        let sig = self.minhash.sign_shingles(&sh);
        let Ok(candidates) = lsh.candidates(&sig, self.cfg.text_jaccard - 0.2) else { return Vec::new() };
        candidates
            .into_iter()
            .filter_map(|c| {
                let (entry_id, theirs) = &self.text_entries[c.id as usize];
                let j = jaccard(&sh, theirs);
                (j >= self.cfg.text_jaccard).then(|| Found {
                    entry_id: *entry_id,
                    signal_type: SignalType::Text,
                    distance: 1.0 - j,
                    detail: Some(serde_json::json!({ "jaccard": j, "estimate": c.estimate })),
                    variant: None,
                })
            })
            .collect()
    }
}

/// Whether `found` already holds a match of `f`'s signal type and entry.
fn holds(found: &[Found], f: &Found) -> bool {
    found.iter().any(|o| o.signal_type == f.signal_type && o.entry_id == f.entry_id)
}

impl marsad_ingest::Matcher for BankMatcher {
    fn matches(&self, fingerprints: &[NewFingerprint], text: Option<&str>) -> Vec<NewMatch> {
        self.match_fingerprints(fingerprints, text).into_iter().map(Found::into_new_match).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use marsad_store::NewBankEntry;
    use marsad_store_sqlite::SqliteStore;

    fn entry(signal_type: SignalType, value: &str) -> NewBankEntry {
        NewBankEntry { signal_type, value: value.to_owned(), labels: Default::default() }
    }

    /// A variant fingerprint adds only what the own ones do not match, each
    /// marked with its variant; an entry both match is the own one's.
    #[test]
    fn a_variant_adds_only_what_the_own_fingerprint_misses() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&dir.path().join("m.db")).unwrap();
        store.create_bank("b").unwrap();
        let (own, pytx) = ("ab".repeat(32), "54".repeat(32));
        store.add_bank_entries("b", &[entry(SignalType::Pdq, &own), entry(SignalType::Pdq, &pytx)]).unwrap();
        let m = BankMatcher::load(&store, MatchConfig::default(), None).unwrap();
        let fp = |value: &str, variant| NewFingerprint {
            signal_type: SignalType::Pdq,
            value: value.to_owned(),
            quality: Some(90),
            variant,
        };
        let found = m.match_fingerprints(&[fp(&pytx, Some(SignalVariant::Pytx)), fp(&own, None)], None);
        let got: Vec<(String, Option<SignalVariant>)> = found
            .iter()
            .map(|f| (if f.entry_id == EntryId(1) { own.clone() } else { pytx.clone() }, f.variant))
            .collect();
        assert_eq!(got, [(own.clone(), None), (pytx.clone(), Some(SignalVariant::Pytx))]);
        // Both hashes the same entry's: one match, the own one's.
        let found = m.match_fingerprints(&[fp(&own, None), fp(&own, Some(SignalVariant::Pytx))], None);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].variant, None);
        // Stored with the variant, not in the details.
        let stored = marsad_ingest::Matcher::matches(&m, &[fp(&pytx, Some(SignalVariant::Pytx))], None);
        assert_eq!(stored.len(), 1);
        assert_eq!((stored[0].variant, stored[0].detail.as_deref()), (Some(SignalVariant::Pytx), None));
    }

    /// Entries written straight to the store, past the validation import
    /// does: the unreadable ones are counted, the others still match.
    #[test]
    fn unreadable_bank_entries_are_counted_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&dir.path().join("m.db")).unwrap();
        store.create_bank("b").unwrap();
        let pdq = "ab".repeat(32);
        let added = store
            .add_bank_entries(
                "b",
                &[
                    entry(SignalType::Pdq, &pdq),
                    entry(SignalType::Pdq, "not a hash"),
                    entry(SignalType::Audio, "1,2,3"),
                    entry(SignalType::Audio, "1,x"),
                    entry(SignalType::Vpdq, "[\"nope\"]"),
                    entry(SignalType::Md5, &"0".repeat(32)),
                ],
            )
            .unwrap();
        assert_eq!(added, 6);
        let cache = dir.path().join("m.db.pdq-index");
        for round in ["no cache", "cache built", "cache read"] {
            let cache = (round != "no cache").then_some(cache.as_path());
            let m = BankMatcher::load(&store, MatchConfig::default(), cache).unwrap();
            assert_eq!(m.skipped(), 3, "{round}");
            let counts: HashMap<SignalType, usize> = m.counts().into_iter().collect();
            assert_eq!(counts[&SignalType::Pdq], 1, "{round}");
            assert_eq!(counts[&SignalType::Audio], 1, "{round}");
            assert_eq!(counts[&SignalType::Vpdq], 0, "{round}");
            assert_eq!(m.match_pdq(&PdqHash::from_hex(&pdq).unwrap(), None).len(), 1, "{round}");
        }
        assert!(cache.exists());
    }
}
