//! [`LiveBanks`]: every bank of a store indexed in memory and kept current
//! as the store changes, change by change — what `marsad serve` matches
//! lookups against.
//!
//! A follower polls [`CurationStore::bank_cursor`] (one cheap read); when it
//! moved, [`LiveBanks::fetch`] reads what changed since (entries added, by
//! their growing ids; every other change from the bank change log) and
//! [`LiveBanks::apply`] applies it. Reading and applying are separate so
//! that a server reads from the store without holding the index's write
//! lock, and applies in microseconds. Entries removed stay in the index
//! structures (they are dropped from every result) until the next full
//! load, which [`LiveBanks::removed_share`] tells the caller when to make.

use std::collections::{BTreeMap, HashMap};

use marsad_core::{BankId, EntryId, SignalType};
use marsad_hash::pdq::PdqHash;
use marsad_match::{BankMatcher, Found, MatchConfig};
use marsad_store::{
    BankChange, BankCursor, BankSettings, NewFingerprint, ServedEntry, Store, content_enabled,
};

use crate::error::StepContext;
use crate::{EngineError, Result};

/// A bank as the live index knows it.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveBank {
    /// Its id.
    pub id: BankId,
    /// Its own name.
    pub name: String,
    /// Its settings (HMA name, enabled ratio, PDQ distance).
    pub settings: BankSettings,
}

/// Where an indexed entry belongs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Placed {
    bank: BankId,
    content: i64,
    signal_type: SignalType,
}

/// A match of a lookup.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveMatch {
    /// The entry that matched.
    pub entry_id: EntryId,
    /// Its content item (HMA's `bank_content_id`).
    pub content_id: i64,
    /// Its bank.
    pub bank_id: BankId,
    /// The signal type.
    pub signal_type: SignalType,
    /// The distance (see `marsad_store::NewMatch::distance`).
    pub distance: f64,
    /// Details (vPDQ percentages, text similarity), if any.
    pub detail: Option<serde_json::Value>,
}

/// What changed in the store since a cursor, read by [`LiveBanks::fetch`].
#[derive(Debug, Default)]
pub struct BankDelta {
    entries: Vec<ServedEntry>,
    changes: Vec<BankChange>,
    banks: Option<Vec<LiveBank>>,
    disable: HashMap<i64, Option<i64>>,
    ratios: Option<BTreeMap<String, f64>>,
    cursor: BankCursor,
}

impl BankDelta {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.changes.is_empty()
    }

    /// Entries added.
    pub fn added(&self) -> usize {
        self.entries.len()
    }
}

/// Every bank, indexed in memory, following the store.
#[derive(Debug)]
pub struct LiveBanks {
    matcher: BankMatcher,
    placed: HashMap<EntryId, Placed>,
    /// Content items that are not plainly enabled: their disable time.
    disabled: HashMap<i64, i64>,
    banks: HashMap<BankId, LiveBank>,
    ratios: BTreeMap<String, f64>,
    cursor: BankCursor,
    /// Entries placed now, per signal type.
    sizes: BTreeMap<SignalType, usize>,
    /// The newest entry's addition time per signal type (Unix seconds).
    newest: BTreeMap<SignalType, i64>,
    /// Entries indexed at the last full load or since, and removed since.
    indexed: usize,
    removed: usize,
}

fn live_banks(store: &dyn Store) -> Result<Vec<LiveBank>> {
    Ok(store
        .bank_settings()?
        .into_iter()
        .map(|(id, name, settings)| LiveBank { id, name, settings })
        .collect())
}

impl LiveBanks {
    /// Loads every bank of `store` (thresholds from `cfg`; a bank's own
    /// PDQ distance replaces `cfg`'s for that bank).
    pub fn load(store: &dyn Store, cfg: MatchConfig) -> Result<LiveBanks> {
        let mut live = LiveBanks {
            matcher: BankMatcher::empty(cfg),
            placed: HashMap::new(),
            disabled: HashMap::new(),
            banks: HashMap::new(),
            ratios: BTreeMap::new(),
            cursor: BankCursor::default(),
            sizes: SignalType::ALL.into_iter().map(|t| (t, 0)).collect(),
            newest: BTreeMap::new(),
            indexed: 0,
            removed: 0,
        };
        // The cursor first: what changes while loading is applied again
        // by the next refresh (applying twice changes nothing).
        let cursor = store.bank_cursor()?;
        let mut delta = BankDelta {
            banks: Some(live_banks(store)?),
            ratios: Some(store.signal_type_ratios()?),
            ..BankDelta::default()
        };
        store
            .served_entries(0, &mut |e| {
                delta.entries.push(e);
                if delta.entries.len() >= 65_536 {
                    live.add_entries(&mut delta.entries, true);
                }
                Ok(())
            })
            .step("loading the banks")?;
        live.add_entries(&mut delta.entries, true);
        delta.cursor =
            BankCursor { max_entry_id: cursor.max_entry_id.max(live.cursor.max_entry_id), ..cursor };
        live.apply(delta);
        live.matcher.compact();
        tracing::info!(entries = live.placed.len(), banks = live.banks.len(), "live banks loaded");
        Ok(live)
    }

    /// Where this index is.
    pub fn cursor(&self) -> BankCursor {
        self.cursor
    }

    /// Reads what changed in `store` since `cursor` (the cursor of the index
    /// it will be applied to). Cheap when nothing did: one read.
    pub fn fetch(store: &dyn Store, cursor: BankCursor) -> Result<BankDelta> {
        let now = store.bank_cursor()?;
        let mut delta = BankDelta { cursor: now, ..BankDelta::default() };
        if now == cursor {
            return Ok(delta);
        }
        if now.log_seq > cursor.log_seq {
            let log = store.bank_log(cursor.log_seq)?;
            let mut content = Vec::new();
            for r in &log {
                match r.change {
                    BankChange::Bank(_) | BankChange::BankDeleted(_) => {
                        if delta.banks.is_none() {
                            delta.banks = Some(live_banks(store)?);
                        }
                    }
                    BankChange::Content(id) => content.push(id),
                    BankChange::ContentDeleted(_) => {}
                    BankChange::SignalTypes => {
                        if delta.ratios.is_none() {
                            delta.ratios = Some(store.signal_type_ratios()?);
                        }
                    }
                }
                delta.changes.push(r.change);
            }
            if let Some(last) = log.last() {
                delta.cursor.log_seq = last.seq;
            }
            content.sort_unstable();
            content.dedup();
            for c in store.bank_contents(&content)? {
                delta.disable.insert(c.id, Some(c.disable_until_ts));
            }
            for id in content {
                delta.disable.entry(id).or_insert(None);
            }
        }
        if now.max_entry_id > cursor.max_entry_id {
            store.served_entries(cursor.max_entry_id, &mut |e| {
                delta.entries.push(e);
                Ok(())
            })?;
            if let Some(last) = delta.entries.last() {
                delta.cursor.max_entry_id = delta.cursor.max_entry_id.max(last.entry.id.0);
            }
        }
        Ok(delta)
    }

    /// Indexes `entries` (`bulk`: while loading, to be compacted at once).
    fn add_entries(&mut self, entries: &mut Vec<ServedEntry>, bulk: bool) {
        for e in entries.drain(..) {
            if self.placed.contains_key(&e.entry.id) {
                continue;
            }
            if bulk {
                self.matcher.insert_unindexed(&e.entry);
            } else {
                self.matcher.insert(&e.entry);
            }
            let t = e.entry.signal_type;
            self.placed.insert(e.entry.id, Placed { bank: e.bank_id, content: e.content_id, signal_type: t });
            *self.sizes.entry(t).or_default() += 1;
            let added = e.entry.added_at.unix_micros().div_euclid(1_000_000);
            let newest = self.newest.entry(t).or_insert(added);
            *newest = (*newest).max(added);
            if e.disable_until_ts != marsad_store::CONTENT_ENABLED {
                self.disabled.insert(e.content_id, e.disable_until_ts);
            }
            self.indexed += 1;
            self.cursor.max_entry_id = self.cursor.max_entry_id.max(e.entry.id.0);
        }
    }

    fn remove_where(&mut self, gone: impl Fn(&Placed) -> bool) {
        let sizes = &mut self.sizes;
        let removed = &mut self.removed;
        self.placed.retain(|_, p| {
            if gone(p) {
                *removed += 1;
                if let Some(n) = sizes.get_mut(&p.signal_type) {
                    *n -= 1;
                }
                false
            } else {
                true
            }
        });
    }

    /// Applies what [`LiveBanks::fetch`] read.
    pub fn apply(&mut self, mut delta: BankDelta) {
        // Removals first: an entry added after its bank was deleted (a bank
        // of the same id cannot come back: ids only grow) is not affected.
        for change in &delta.changes {
            match *change {
                BankChange::BankDeleted(bank) => self.remove_where(|p| p.bank == bank),
                BankChange::ContentDeleted(content) => {
                    self.remove_where(|p| p.content == content);
                    self.disabled.remove(&content);
                }
                _ => {}
            }
        }
        let mut entries = std::mem::take(&mut delta.entries);
        self.add_entries(&mut entries, false);
        if let Some(banks) = delta.banks.take() {
            self.banks = banks.into_iter().map(|b| (b.id, b)).collect();
        }
        if let Some(ratios) = delta.ratios.take() {
            self.ratios = ratios;
        }
        for (content, disable) in delta.disable {
            match disable {
                Some(t) if t != marsad_store::CONTENT_ENABLED => {
                    self.disabled.insert(content, t);
                }
                _ => {
                    self.disabled.remove(&content);
                }
            }
        }
        self.cursor.log_seq = self.cursor.log_seq.max(delta.cursor.log_seq);
        self.cursor.max_entry_id = self.cursor.max_entry_id.max(delta.cursor.max_entry_id);
    }

    /// The share of indexed entries removed since the last full load (a
    /// caller loads again when it grows large, to give their memory back).
    pub fn removed_share(&self) -> f64 {
        if self.indexed == 0 { 0.0 } else { self.removed as f64 / self.indexed as f64 }
    }

    /// Whether additions since the last full load have cut the PDQ index
    /// into so many segments that lookups slow down: the caller loads
    /// again (off the lookups' path) when they have.
    pub fn fragmented(&self) -> bool {
        self.matcher.pdq_fragmented()
    }

    /// Every bank, by id.
    pub fn banks(&self) -> impl Iterator<Item = &LiveBank> {
        self.banks.values()
    }

    /// A bank by id.
    pub fn bank(&self, id: BankId) -> Option<&LiveBank> {
        self.banks.get(&id)
    }

    /// A bank by its HMA name.
    pub fn bank_by_hma_name(&self, name: &str) -> Option<&LiveBank> {
        self.banks.values().find(|b| b.settings.hma_name == name)
    }

    /// Whether a content item matches at `now_unix` (HMA's disable time).
    pub fn content_enabled(&self, content: i64, now_unix: i64) -> bool {
        self.disabled.get(&content).is_none_or(|&t| content_enabled(t, now_unix))
    }

    /// The enabled ratio set for a signal type (1 when never set).
    pub fn signal_type_ratio(&self, name: &str) -> f64 {
        self.ratios.get(name).copied().unwrap_or(1.0)
    }

    /// Entries indexed now, per signal type.
    pub fn sizes(&self) -> &BTreeMap<SignalType, usize> {
        &self.sizes
    }

    /// When the newest entry of a signal type was added (Unix seconds).
    pub fn newest(&self, t: SignalType) -> Option<i64> {
        self.newest.get(&t).copied()
    }

    /// Entries indexed now.
    pub fn len(&self) -> usize {
        self.placed.len()
    }

    /// Whether no entry is indexed.
    pub fn is_empty(&self) -> bool {
        self.placed.is_empty()
    }

    /// The largest PDQ distance any bank asks for.
    fn widest_pdq(&self) -> u32 {
        let base = self.matcher.config().pdq_threshold;
        self.banks.values().filter_map(|b| b.settings.pdq_threshold).fold(base, u32::max)
    }

    fn placed_matches(&self, found: Vec<Found>) -> Vec<LiveMatch> {
        let base = self.matcher.config().pdq_threshold;
        found
            .into_iter()
            .filter_map(|f| {
                let p = self.placed.get(&f.entry_id)?;
                if f.signal_type == SignalType::Pdq {
                    let limit =
                        self.banks.get(&p.bank).and_then(|b| b.settings.pdq_threshold).unwrap_or(base);
                    if f.distance > f64::from(limit) {
                        return None;
                    }
                }
                Some(LiveMatch {
                    entry_id: f.entry_id,
                    content_id: p.content,
                    bank_id: p.bank,
                    signal_type: f.signal_type,
                    distance: f.distance,
                    detail: f.detail,
                })
            })
            .collect()
    }

    /// The matches of one value of signal type `t` (canonical, see
    /// `marsad_match::values::canonical`), every bank's own distance
    /// applied, by entry id.
    pub fn lookup(&self, t: SignalType, value: &str) -> Result<Vec<LiveMatch>> {
        let found = match t {
            SignalType::Pdq => {
                let hash = PdqHash::from_hex(value)
                    .map_err(|e| EngineError::Invalid(format!("invalid PDQ hash: {e}")))?;
                self.matcher.match_pdq_within(&hash, self.widest_pdq())
            }
            SignalType::Text => self.matcher.match_text(value),
            _ => self.matcher.match_fingerprints(
                &[NewFingerprint { signal_type: t, value: value.to_owned(), quality: None, variant: None }],
                None,
            ),
        };
        let mut out = self.placed_matches(found);
        out.sort_by_key(|m| m.entry_id);
        out.dedup_by_key(|m| m.entry_id);
        Ok(out)
    }

    /// [`LiveBanks::lookup`] of many PDQ hashes at once (the batch path of
    /// the index, faster per hash): `out[i]` is the lookup of `hashes[i]`.
    pub fn lookup_pdq_batch(&self, hashes: &[PdqHash]) -> Vec<Vec<LiveMatch>> {
        self.matcher
            .match_pdq_batch_within(hashes, self.widest_pdq())
            .into_iter()
            .map(|found| {
                let mut out = self.placed_matches(found);
                out.sort_by_key(|m| m.entry_id);
                out.dedup_by_key(|m| m.entry_id);
                out
            })
            .collect()
    }
}
