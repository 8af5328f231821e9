//! The PDQ bank index, cached in a file so that a process does not rebuild
//! it from the store: `marsad.db` → `marsad.db.pdq-index`.
//!
//! The file is a [`marsad_store::cachefile`]: its header records the
//! store's identity and the [`BankState`] it was built from (bank
//! generation, largest entry id, entry count), the body's length and
//! checksum. On load, a cache of another store, of another format, of the
//! wrong length or checksum is rebuilt. Of the same store: the same state —
//! used as is; the same generation and only entries added since (the
//! entries the cache counted plus those with a larger id are exactly the
//! store's entry count) — the new entries are added and the file
//! rewritten; anything else — rebuilt. A cache that cannot be written only
//! costs the next process a rebuild.
//!
//! The checksum catches damage, not a file written on purpose: so the body
//! is checked before it is used. Every count is bounded by the body's
//! length before anything is allocated; the entry ids must increase, and
//! the index must hold each of them exactly once ([`PdqIndex::read_from`]
//! checks its own tables). Then, as the matcher reads the store's entries
//! (it reads them all anyway, for the other signal types), every cached
//! hash is compared with the value the store holds for its entry: a cache
//! whose hash points to another entry, or holds a hash the store does not,
//! is rebuilt — so every distance the index reports is a distance to the
//! bank's stored hash. A cache found damaged or altered is rebuilt with
//! one warning.

use std::io::Write;
use std::path::{Path, PathBuf};

use marsad_core::SignalType;
use marsad_hash::pdq::PdqHash;
use marsad_index::pdq::{Code, PdqIndex, code};
use marsad_store::cachefile::{self, CacheFileError, CacheFormat, Provenance};
use marsad_store::{BankEntry, BankState, BankStore, EntryFilter, EntryId, MetaStore, StoreIdentity};

use crate::matcher::MatchError;

/// Version 3: the body starts with the count of entries left out because
/// their value is not a PDQ hash. Version 2 was the first with the header of
/// [`cachefile`] (version 1, `MRSDBNK1`, had neither identity nor checksum).
const FORMAT: CacheFormat = CacheFormat { magic: *b"MRSDBANK", version: 3 };

/// The PDQ index over every bank.
#[derive(Debug)]
pub(crate) struct PdqEntries {
    /// The index.
    pub(crate) index: PdqIndex,
    /// The entry id of each indexed hash.
    pub(crate) ids: Vec<EntryId>,
    /// Entries whose stored value is not a PDQ hash (left out; warned
    /// about when the index was built or extended).
    pub(crate) skipped: u64,
}

impl PdqEntries {
    pub(crate) fn new() -> Self {
        PdqEntries { index: PdqIndex::new(), ids: Vec::new(), skipped: 0 }
    }
}

fn provenance(identity: StoreIdentity, state: &BankState) -> Provenance {
    // 0 for no entry yet: ids start at 1.
    let max = state.max_entry_id.map_or(0, |id| id.0);
    Provenance { identity, state: vec![state.generation, max, state.entries as i64] }
}

/// Why a cache file was not used as it is.
#[derive(Debug)]
enum Rebuild {
    /// Not a readable bank index of this format (or its checksum or length
    /// is wrong).
    File(CacheFileError),
    /// Built from another store (one made again at the same path, or a
    /// store file copied over this one).
    OtherStore { cache: StoreIdentity, store: StoreIdentity },
    /// Built from a state the store cannot have come from by adding
    /// entries (entries removed, or counters that disagree).
    State { cache: Vec<i64>, store: BankState },
    /// The checksum matched but the body is not a valid index.
    Body(String),
    /// The body is a valid index, but not of the store's entries (a hash
    /// that is not its entry's value, an entry missing or added).
    Entries(String),
}

impl Rebuild {
    /// Whether the file is damaged or was altered (worth a warning), rather
    /// than out of date or of another version (the normal life of a cache).
    fn is_damage(&self) -> bool {
        match self {
            Rebuild::File(e) => !matches!(e, CacheFileError::Version { .. }) && !e.is_not_found(),
            Rebuild::OtherStore { .. } | Rebuild::State { .. } => false,
            Rebuild::Body(_) | Rebuild::Entries(_) => true,
        }
    }
}

impl std::fmt::Display for Rebuild {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rebuild::File(e) => write!(f, "{e}"),
            Rebuild::OtherStore { cache, store } => {
                write!(f, "built from store {cache}, this is store {store}")
            }
            Rebuild::State { cache, store } => write!(
                f,
                "built at (generation, largest entry id, entries) {cache:?}, the store is at ({}, {}, {})",
                store.generation,
                store.max_entry_id.map_or(0, |id| id.0),
                store.entries
            ),
            Rebuild::Body(e) => write!(f, "malformed body: {e}"),
            Rebuild::Entries(e) => write!(f, "not the store's entries: {e}"),
        }
    }
}

/// A cache that can be used: its index, the entry id of each indexed hash,
/// and the state it was built from.
#[derive(Debug)]
struct Cached {
    pdq: PdqEntries,
    built_at: BankState,
}

/// Reads the cache at `path` if it was built from this store at `state` or
/// at an earlier state of the same generation.
fn read_cache(path: &Path, identity: StoreIdentity, state: &BankState) -> Result<Cached, Rebuild> {
    let mut r = cachefile::open(path, &FORMAT).map_err(Rebuild::File)?;
    let p = r.provenance();
    if p.identity != identity {
        return Err(Rebuild::OtherStore { cache: p.identity, store: identity });
    }
    let built_at = match p.state[..] {
        [generation, max_entry_id, entries] if entries >= 0 && max_entry_id >= 0 => BankState {
            generation,
            max_entry_id: Some(EntryId(max_entry_id)).filter(|id| id.0 > 0),
            entries: entries as u64,
        },
        _ => return Err(Rebuild::State { cache: p.state.clone(), store: *state }),
    };
    let current = built_at == *state;
    let behind = built_at.generation == state.generation
        && built_at.max_entry_id < state.max_entry_id
        && built_at.entries < state.entries;
    if !current && !behind {
        return Err(Rebuild::State { cache: p.state.clone(), store: *state });
    }
    let body_len = r.body_len();
    let body = read_body(&mut r, body_len);
    // The checksum first: a corrupt body is reported as such even when the
    // corruption made it unparsable (a body refused part way is also left
    // unread, which is not the problem to report).
    let pdq = match (body, r.finish()) {
        (_, Err(e @ CacheFileError::Checksum { .. })) => return Err(Rebuild::File(e)),
        (Err(e), _) => return Err(Rebuild::Body(e.to_string())),
        (Ok(_), Err(e)) => return Err(Rebuild::File(e)),
        (Ok(pdq), Ok(())) => pdq,
    };
    // Ids are indexed in increasing order: a cache holding more entries, or
    // larger ids, than its header counts would be extended with some twice.
    if (pdq.ids.len() as u64).checked_add(pdq.skipped).is_none_or(|n| n > built_at.entries)
        || pdq.ids.last().is_some_and(|&id| Some(id) > built_at.max_entry_id)
    {
        return Err(Rebuild::Body("more entries than its header counts".to_owned()));
    }
    Ok(Cached { pdq, built_at })
}

pub(crate) fn read_body(r: &mut impl std::io::Read, body_len: u64) -> std::io::Result<PdqEntries> {
    let bad = |what: &str| std::io::Error::other(what.to_owned());
    let mut word = [0u8; 8];
    r.read_exact(&mut word)?;
    let skipped = u64::from_le_bytes(word);
    r.read_exact(&mut word)?;
    let n = u64::from_le_bytes(word);
    // Bounded by what the rest of the body can hold, before any allocation.
    if n > body_len.saturating_sub(16) / 8 || n > u64::from(u32::MAX) {
        return Err(bad("more entry ids than the body holds"));
    }
    let n = n as usize;
    let mut ids: Vec<EntryId> = Vec::with_capacity(n);
    let mut buf = vec![0u8; 8 * 8192];
    while ids.len() < n {
        let take = ((n - ids.len()) * 8).min(buf.len());
        r.read_exact(&mut buf[..take])?;
        for b in buf[..take].chunks_exact(8) {
            let mut w = [0u8; 8];
            w.copy_from_slice(b);
            let id = EntryId(i64::from_le_bytes(w));
            // Ids start at 1 and are indexed in increasing order.
            if id.0 < 1 || ids.last().is_some_and(|&last| last >= id) {
                return Err(bad("entry ids not increasing"));
            }
            ids.push(id);
        }
    }
    let index = PdqIndex::read_from(r).map_err(std::io::Error::other)?;
    if index.len() != ids.len() {
        return Err(bad("index and entry list disagree"));
    }
    if index.removed() != 0 {
        return Err(bad("removed hashes in a bank index"));
    }
    // Each entry's slot exactly once (an out-of-range slot would make the
    // matcher index out of bounds; a repeated one, report an entry twice).
    let mut seen = vec![0u64; n.div_ceil(64)];
    for (_, slot) in index.items() {
        let slot = slot as usize;
        if slot >= n || seen[slot / 64] & (1 << (slot % 64)) != 0 {
            return Err(bad("index slots are not one per entry"));
        }
        seen[slot / 64] |= 1 << (slot % 64);
    }
    Ok(PdqEntries { index, ids, skipped })
}

fn write_cache(
    path: &Path,
    identity: StoreIdentity,
    state: &BankState,
    pdq: &PdqEntries,
) -> std::io::Result<()> {
    cachefile::write_atomic(path, &FORMAT, &provenance(identity, state), |w| write_body(w, pdq))
}

/// The body: the count of entries left out, the entry ids, the index.
pub(crate) fn write_body(w: &mut impl Write, pdq: &PdqEntries) -> std::io::Result<()> {
    let (index, ids) = (&pdq.index, &pdq.ids);
    w.write_all(&pdq.skipped.to_le_bytes())?;
    w.write_all(&(ids.len() as u64).to_le_bytes())?;
    let mut buf = Vec::with_capacity(8 * 8192);
    for chunk in ids.chunks(8192) {
        buf.clear();
        for id in chunk {
            buf.extend_from_slice(&id.0.to_le_bytes());
        }
        w.write_all(&buf)?;
    }
    index.write_to(w).map_err(std::io::Error::other)
}

/// How [`add_entries`] reads the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Read {
    /// Only PDQ entries (a rebuild).
    Pdq,
    /// Every entry, counting them (an extension, which must account for
    /// every entry of the store).
    CountAll,
}

/// Adds the PDQ entries with an id above `after` to the index (an entry
/// whose value does not parse is warned about and counted); returns how many
/// entries were read.
fn add_entries<S: BankStore + ?Sized>(
    store: &S,
    after: Option<EntryId>,
    read: Read,
    pdq: &mut PdqEntries,
) -> Result<u64, MatchError> {
    let signal_type = (read == Read::Pdq).then_some(SignalType::Pdq);
    let filter = EntryFilter { signal_type, after_id: after, ..EntryFilter::default() };
    let mut batch: Vec<(PdqHash, u32)> = Vec::new();
    let mut seen = 0u64;
    let PdqEntries { index, ids, skipped } = pdq;
    store.bank_entries(&filter, &mut |e| {
        seen += 1;
        if e.signal_type != SignalType::Pdq {
            return Ok(());
        }
        match PdqHash::from_hex(&e.value) {
            Ok(h) => {
                batch.push((h, ids.len() as u32));
                ids.push(e.id);
            }
            Err(err) => {
                crate::matcher::warn_skipped(&e, &err);
                *skipped += 1;
            }
        }
        Ok(())
    })?;
    index.extend(batch);
    index.compact();
    Ok(seen)
}

/// The PDQ index, as loaded: to be confirmed against the store's entries
/// when it came from the cache ([`Loaded::visit`] each entry of the store,
/// then [`Loaded::finish`]).
#[derive(Debug)]
pub(crate) struct Loaded {
    pdq: PdqEntries,
    check: Option<Check>,
}

/// The comparison of a cached index with the store's entries.
#[derive(Debug)]
struct Check {
    path: PathBuf,
    identity: StoreIdentity,
    state: BankState,
    /// The indexed hash of each slot.
    by_slot: Vec<Code>,
    /// The next slot to be seen among the store's entries.
    next: usize,
    /// PDQ entries of the store whose value is not a hash.
    unreadable: u64,
    /// The first disagreement.
    mismatch: Option<String>,
    /// Whether to save the index once confirmed (it was extended).
    save: bool,
}

impl Loaded {
    /// Compares one entry of the store with the cached index. Entries must
    /// come in increasing id order (the order [`BankStore::bank_entries`]
    /// gives), every entry of the store, of any signal type.
    pub(crate) fn visit(&mut self, e: &BankEntry) {
        let Some(c) = &mut self.check else { return };
        // Entries added after the state was read are not in the index.
        if c.mismatch.is_some() || e.signal_type != SignalType::Pdq || Some(e.id) > c.state.max_entry_id {
            return;
        }
        let Ok(hash) = PdqHash::from_hex(&e.value) else {
            c.unreadable += 1;
            return;
        };
        let slot = c.next;
        c.next += 1;
        match self.pdq.ids.get(slot) {
            Some(&id) if id == e.id => {
                if c.by_slot[slot] != code(&hash) {
                    c.mismatch = Some(format!("the hash of entry {} is not the store's", id.0));
                }
            }
            Some(&id) => c.mismatch = Some(format!("entry {} where the store has entry {}", id.0, e.id.0)),
            None => c.mismatch = Some(format!("entry {} is missing", e.id.0)),
        }
    }

    /// How the cached index disagrees with the store's entries visited, if
    /// it does.
    pub(crate) fn mismatch(&self) -> Option<String> {
        let (pdq, c) = (&self.pdq, self.check.as_ref()?);
        if let Some(m) = &c.mismatch {
            Some(m.clone())
        } else if c.next != pdq.ids.len() {
            Some(format!("{} entries indexed, the store has {}", pdq.ids.len(), c.next))
        } else if c.unreadable != pdq.skipped {
            Some(format!("{} entries counted unreadable, the store has {}", pdq.skipped, c.unreadable))
        } else {
            None
        }
    }

    /// The index as loaded.
    pub(crate) fn entries(&self) -> &PdqEntries {
        &self.pdq
    }

    /// A cached index to be compared with entries of a store at `state`.
    pub(crate) fn to_check(pdq: PdqEntries, path: &Path, identity: StoreIdentity, state: BankState) -> Self {
        let mut by_slot: Vec<Code> = vec![[0; 4]; pdq.ids.len()];
        // Slots were checked to be in range and each once.
        for (c, slot) in pdq.index.items() {
            if let Some(s) = by_slot.get_mut(slot as usize) {
                *s = c;
            }
        }
        let check = Check {
            path: path.to_owned(),
            identity,
            state,
            by_slot,
            next: 0,
            unreadable: 0,
            mismatch: None,
            save: false,
        };
        Loaded { pdq, check: Some(check) }
    }

    /// The index, once every entry of the store was visited: as loaded if
    /// it agrees with them, else rebuilt from the store (with one warning,
    /// unless the store changed meanwhile) and saved.
    pub(crate) fn finish<S: BankStore + MetaStore + ?Sized>(
        self,
        store: &S,
    ) -> Result<PdqEntries, MatchError> {
        let mismatch = self.mismatch();
        let Loaded { pdq, check } = self;
        let Some(c) = check else { return Ok(pdq) };
        let Some(mismatch) = mismatch else {
            if c.save {
                save(store, &c.path, c.identity, &c.state, &pdq)?;
            }
            return Ok(pdq);
        };
        if store.bank_state()? == c.state {
            tracing::warn!(
                cache = %c.path.display(),
                reason = %Rebuild::Entries(mismatch),
                "pdq bank index cache damaged or altered: rebuilt from the store"
            );
        } else {
            tracing::debug!(cache = %c.path.display(), "banks changed while loading: pdq bank index rebuilt");
        }
        rebuild(store, &c.path, c.identity, true)
    }
}

/// The PDQ index over every bank and the entry id of each indexed hash,
/// confirmed against the store when it came from the cache.
#[cfg(test)]
pub(crate) fn load_pdq<S: BankStore + MetaStore + ?Sized>(
    store: &S,
    cache: Option<&Path>,
) -> Result<PdqEntries, MatchError> {
    let mut loaded = load(store, cache)?;
    if loaded.check.is_some() {
        store.bank_entries(&EntryFilter::default(), &mut |e| {
            loaded.visit(&e);
            Ok(())
        })?;
    }
    loaded.finish(store)
}

/// The PDQ index over every bank and the entry id of each indexed hash:
/// from the cache (to be confirmed) or built from the store.
pub(crate) fn load<S: BankStore + MetaStore + ?Sized>(
    store: &S,
    cache: Option<&Path>,
) -> Result<Loaded, MatchError> {
    let state = store.bank_state()?;
    let Some(path) = cache else {
        let mut pdq = PdqEntries::new();
        add_entries(store, None, Read::Pdq, &mut pdq)?;
        return Ok(Loaded { pdq, check: None });
    };
    let identity = store.identity()?;
    let checked = |pdq: PdqEntries| Loaded::to_check(pdq, path, identity, state);
    let mut stale = false;
    match read_cache(path, identity, &state) {
        Ok(Cached { pdq, built_at }) if built_at == state => {
            tracing::debug!(cache = %path.display(), hashes = pdq.ids.len(), "pdq bank index loaded from cache");
            return Ok(checked(pdq));
        }
        Ok(Cached { mut pdq, built_at }) => {
            let added = add_entries(store, built_at.max_entry_id, Read::CountAll, &mut pdq)?;
            if built_at.entries + added == state.entries {
                tracing::debug!(cache = %path.display(), hashes = pdq.ids.len(), added, "pdq bank index extended");
                // Saved once confirmed against the store's entries.
                let mut loaded = checked(pdq);
                if let Some(c) = &mut loaded.check {
                    c.save = true;
                }
                return Ok(loaded);
            }
            tracing::info!(
                cache = %path.display(),
                cached = built_at.entries,
                added,
                entries = state.entries,
                "pdq bank index rebuilt from the store: cached and new entries do not add up to the store's"
            );
            stale = true;
        }
        Err(Rebuild::File(e)) if e.is_not_found() => {}
        Err(reason) if reason.is_damage() => {
            tracing::warn!(cache = %path.display(), %reason, "pdq bank index cache damaged or altered: rebuilt from the store");
            stale = true;
        }
        Err(reason) => {
            tracing::info!(cache = %path.display(), %reason, "pdq bank index rebuilt from the store");
            stale = true;
        }
    }
    Ok(Loaded { pdq: rebuild(store, path, identity, stale)?, check: None })
}

/// The index built from the store, and saved at `path` (unless the store
/// has no PDQ entry and there is no file to replace).
fn rebuild<S: BankStore + MetaStore + ?Sized>(
    store: &S,
    path: &Path,
    identity: StoreIdentity,
    replace: bool,
) -> Result<PdqEntries, MatchError> {
    let state = store.bank_state()?;
    let mut pdq = PdqEntries::new();
    add_entries(store, None, Read::Pdq, &mut pdq)?;
    if !pdq.ids.is_empty() || pdq.skipped > 0 || replace {
        save(store, path, identity, &state, &pdq)?;
    }
    Ok(pdq)
}

/// Saves the index as built from `state`, unless the banks changed while
/// it was built (the index may then hold entries past `state`: it is right
/// for this process, but would be extended twice by the next).
fn save<S: BankStore + ?Sized>(
    store: &S,
    path: &Path,
    identity: StoreIdentity,
    state: &BankState,
    pdq: &PdqEntries,
) -> Result<(), MatchError> {
    if store.bank_state()? != *state {
        tracing::debug!(cache = %path.display(), "banks changed while indexing: pdq bank index not saved");
        return Ok(());
    }
    match write_cache(path, identity, state, pdq) {
        Ok(()) => tracing::debug!(cache = %path.display(), hashes = pdq.ids.len(), "pdq bank index saved"),
        Err(e) => tracing::warn!(cache = %path.display(), error = %e, "could not save the pdq bank index"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use marsad_store::NewBankEntry;
    use marsad_store::prelude::*;
    use marsad_store_sqlite::SqliteStore;

    use super::*;

    fn pdq(seed: u8) -> NewBankEntry {
        NewBankEntry {
            signal_type: SignalType::Pdq,
            value: format!("{seed:02x}").repeat(32),
            labels: Default::default(),
        }
    }

    fn md5(seed: u8) -> NewBankEntry {
        NewBankEntry {
            signal_type: SignalType::Md5,
            value: format!("{seed:02x}").repeat(16),
            labels: Default::default(),
        }
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        store: SqliteStore,
        cache: std::path::PathBuf,
    }

    fn fixture(entries: &[NewBankEntry]) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&dir.path().join("m.db")).unwrap();
        store.create_bank("known").unwrap();
        store.add_bank_entries("known", entries).unwrap();
        let cache = dir.path().join("m.db.pdq-index");
        Fixture { _dir: dir, store, cache }
    }

    fn state_of(f: &Fixture) -> (StoreIdentity, BankState) {
        (f.store.identity().unwrap(), f.store.bank_state().unwrap())
    }

    #[test]
    fn a_current_cache_is_read_and_a_changed_store_is_refused() {
        let mut f = fixture(&[pdq(1), pdq(2), md5(3)]);
        let PdqEntries { index, ids, .. } = load_pdq(&f.store, Some(&f.cache)).unwrap();
        assert_eq!((index.len(), ids.len()), (2, 2));
        let (identity, state) = state_of(&f);
        let cached = read_cache(&f.cache, identity, &state).unwrap();
        assert_eq!((cached.pdq.ids, cached.built_at), (ids, state));
        // Another identity: refused, whatever the state.
        let other = StoreIdentity::from_bytes([9; 16]);
        assert!(matches!(read_cache(&f.cache, other, &state), Err(Rebuild::OtherStore { .. })));
        // Entries added: readable, to be extended.
        f.store.add_bank_entries("known", &[pdq(4)]).unwrap();
        let later = f.store.bank_state().unwrap();
        assert_eq!(read_cache(&f.cache, identity, &later).unwrap().built_at, state);
        // Removed (a new generation), or a count that went down: refused.
        for store in [
            BankState { generation: state.generation + 1, ..later },
            BankState { entries: state.entries - 1, ..later },
            BankState { max_entry_id: state.max_entry_id.map(|id| EntryId(id.0 - 1)), ..state },
        ] {
            assert!(
                matches!(read_cache(&f.cache, identity, &store), Err(Rebuild::State { .. })),
                "{store:?}"
            );
        }
    }

    #[test]
    fn an_extension_counts_every_new_entry() {
        let mut f = fixture(&[pdq(1), md5(2)]);
        load_pdq(&f.store, Some(&f.cache)).unwrap();
        f.store.add_bank_entries("known", &[pdq(3), md5(4), pdq(5)]).unwrap();
        let PdqEntries { index, ids, .. } = load_pdq(&f.store, Some(&f.cache)).unwrap();
        assert_eq!((index.len(), ids.len()), (3, 3));
        let (identity, state) = state_of(&f);
        // Extended and saved at the store's state.
        assert_eq!(read_cache(&f.cache, identity, &state).unwrap().pdq.ids, ids);
    }

    #[test]
    fn a_cache_whose_counts_do_not_add_up_is_rebuilt() {
        let mut f = fixture(&[pdq(1), md5(2)]);
        let (identity, state) = state_of(&f);
        // A cache that counted one entry fewer than the store held (as if
        // one was removed behind the generation's back): extended, its
        // entries would not add up to the store's.
        let built = load_pdq(&f.store, None).unwrap();
        let claimed = BankState { entries: state.entries - 1, ..state };
        write_cache(&f.cache, identity, &claimed, &built).unwrap();
        f.store.add_bank_entries("known", &[pdq(3)]).unwrap();
        let PdqEntries { index, ids, .. } = load_pdq(&f.store, Some(&f.cache)).unwrap();
        assert_eq!((index.len(), ids.len()), (2, 2));
        let now = f.store.bank_state().unwrap();
        let rewritten = read_cache(&f.cache, identity, &now).unwrap();
        assert_eq!((rewritten.built_at, rewritten.pdq.ids), (now, ids));
        // A cache holding more than its header counts is refused.
        let built = load_pdq(&f.store, None).unwrap();
        let short = BankState { max_entry_id: Some(EntryId(1)), entries: 1, ..now };
        write_cache(&f.cache, identity, &short, &built).unwrap();
        assert!(matches!(read_cache(&f.cache, identity, &now), Err(Rebuild::Body(_))));
    }

    #[test]
    fn a_cache_altered_by_one_byte_is_rebuilt_and_rewritten() {
        let f = fixture(&[pdq(1), pdq(2), pdq(3)]);
        let PdqEntries { ids: want, .. } = load_pdq(&f.store, Some(&f.cache)).unwrap();
        let good = std::fs::read(&f.cache).unwrap();
        let (identity, state) = state_of(&f);
        for at in [good.len() / 2, good.len() - 1] {
            let mut bad = good.clone();
            bad[at] ^= 0x01;
            std::fs::write(&f.cache, &bad).unwrap();
            let err = read_cache(&f.cache, identity, &state).unwrap_err();
            assert!(matches!(err, Rebuild::File(CacheFileError::Checksum { .. })), "{err:?}");
            let PdqEntries { ids, .. } = load_pdq(&f.store, Some(&f.cache)).unwrap();
            assert_eq!(ids, want);
            assert_eq!(std::fs::read(&f.cache).unwrap(), good, "rewritten valid");
        }
    }

    #[test]
    fn a_cache_of_the_old_format_is_rebuilt() {
        let f = fixture(&[pdq(1)]);
        std::fs::write(&f.cache, b"MRSDBNK1\0\0\0\0\0\0\0\0").unwrap();
        let (identity, state) = state_of(&f);
        assert!(matches!(
            read_cache(&f.cache, identity, &state),
            Err(Rebuild::File(CacheFileError::Magic { .. }))
        ));
        let PdqEntries { ids, .. } = load_pdq(&f.store, Some(&f.cache)).unwrap();
        assert_eq!(ids.len(), 1);
        assert_eq!(read_cache(&f.cache, identity, &state).unwrap().pdq.ids, ids);
    }

    /// The body of the cache file at `path` (after its 80-byte header).
    fn body_of(path: &Path) -> Vec<u8> {
        std::fs::read(path).unwrap()[header_len(3)..].to_vec()
    }

    fn header_len(state: usize) -> usize {
        8 + 4 + 16 + 4 + 8 * state + 8 + 16
    }

    /// Writes `body` as the cache of `f`'s store at its state, with a valid
    /// header and checksum: only the body's own checks can refuse it.
    fn forge(f: &Fixture, body: &[u8]) {
        let (identity, state) = state_of(f);
        cachefile::write_atomic(&f.cache, &FORMAT, &provenance(identity, &state), |w| w.write_all(body))
            .unwrap();
    }

    /// What loading answers for each query: (entry id, distance) pairs.
    fn answers(f: &Fixture, queries: &[PdqHash]) -> Vec<Vec<(i64, u32)>> {
        let pdq = load_pdq(&f.store, Some(&f.cache)).unwrap();
        queries
            .iter()
            .map(|q| {
                let mut hits = Vec::new();
                pdq.index.range(q, 31, &mut hits);
                let mut v: Vec<(i64, u32)> =
                    hits.iter().map(|h| (pdq.ids[h.id as usize].0, h.distance)).collect();
                v.sort_unstable();
                v
            })
            .collect()
    }

    fn queries() -> Vec<PdqHash> {
        (1..=4u8).map(|s| PdqHash::from_hex(&format!("{s:02x}").repeat(32)).unwrap()).collect()
    }

    fn put_u64(body: &mut [u8], at: usize, v: u64) {
        body[at..at + 8].copy_from_slice(&v.to_le_bytes());
    }

    #[test]
    fn forged_bodies_are_refused_and_rebuilt() {
        let f = fixture(&[pdq(1), md5(2), pdq(3), pdq(4)]);
        let want = answers(&f, &queries());
        assert_eq!(want.iter().map(Vec::len).sum::<usize>(), 3);
        let good = body_of(&f.cache);
        let (identity, state) = state_of(&f);
        // Body: skipped (8), n (8), n ids (8 each), then the index: magic
        // (8), segments, tail, removed (4 each), then per segment its size.
        let n = 3;
        let index_at = 16 + 8 * n;
        let seg_size_at = index_at + 8 + 12;
        let mut forged: Vec<(&str, Vec<u8>)> = Vec::new();
        let mut b = good.clone();
        put_u64(&mut b, 8, u64::MAX / 2);
        forged.push(("entry count huge", b));
        let mut b = good.clone();
        b[index_at + 8..index_at + 12].copy_from_slice(&u32::MAX.to_le_bytes());
        forged.push(("segment count huge", b));
        let mut b = good.clone();
        b[index_at + 12..index_at + 16].copy_from_slice(&u32::MAX.to_le_bytes());
        forged.push(("tail count huge", b));
        let mut b = good.clone();
        b[seg_size_at..seg_size_at + 4].copy_from_slice(&(1u32 << 22).to_le_bytes());
        forged.push(("segment size huge", b));
        let mut b = good.clone();
        put_u64(&mut b, 0, 7);
        forged.push(("skipped count wrong", b));
        // An entry id swapped for another entry's (the MD5 entry, id 2):
        // ids still increasing, the hash now pointing to the wrong entry.
        let mut b = good.clone();
        put_u64(&mut b, 16, 2);
        forged.push(("hash of entry 1 pointed at entry 2", b));
        // The slot ids of the segment: the first hash's slot out of range,
        // then two slots swapped (each hash reports the other's entry).
        let slots_at = seg_size_at + 4 + 32 * n;
        let slot = |b: &[u8], i: usize| {
            u32::from_le_bytes(b[slots_at + 4 * i..slots_at + 4 * i + 4].try_into().unwrap())
        };
        let mut b = good.clone();
        b[slots_at..slots_at + 4].copy_from_slice(&7u32.to_le_bytes());
        forged.push(("slot out of range", b));
        let mut b = good.clone();
        let (s0, s1) = (slot(&good, 0), slot(&good, 1));
        b[slots_at..slots_at + 4].copy_from_slice(&s1.to_le_bytes());
        b[slots_at + 4..slots_at + 8].copy_from_slice(&s0.to_le_bytes());
        forged.push(("slots swapped", b));
        // A hash changed (distance 0 to a query it is not).
        let mut b = good.clone();
        b[seg_size_at + 4] ^= 0x80;
        forged.push(("hash altered", b));
        // Cut short, extended.
        forged.push(("cut", good[..good.len() - 4].to_vec()));
        let mut b = good.clone();
        b.extend_from_slice(&[0; 8]);
        forged.push(("extended", b));
        for (what, body) in forged {
            forge(&f, &body);
            let refused = match read_cache(&f.cache, identity, &state) {
                Err(e) => {
                    assert!(e.is_damage(), "{what}: {e}");
                    true
                }
                Ok(c) => {
                    let mut l = Loaded::to_check(c.pdq, &f.cache, identity, state);
                    f.store
                        .bank_entries(&EntryFilter::default(), &mut |e| {
                            l.visit(&e);
                            Ok(())
                        })
                        .unwrap();
                    l.mismatch().is_some()
                }
            };
            assert!(refused, "{what}: accepted");
            assert_eq!(answers(&f, &queries()), want, "{what}");
            assert_eq!(body_of(&f.cache), good, "{what}: rewritten");
        }
    }

    #[test]
    fn no_single_bit_flip_of_a_cache_is_accepted_with_a_wrong_answer() {
        // The body of the fuzz target's bank, its hashes in a tail (every
        // bit flipped) and in a segment (every bit but those of the
        // directories, which are sampled).
        for segment in [false, true] {
            let good = crate::fuzzing::pdq_cache_seed(segment);
            let dirs = if segment { 16 + 8 * 8 + 8 + 12 + 4 + 36 * 8 } else { usize::MAX };
            let dirs_end = dirs.saturating_add(16 * 65_537 * 4);
            let mut accepted = 0;
            let mut b = good.clone();
            for bit in 0..good.len() * 8 {
                let byte = bit / 8;
                // In a segment, one bit of each byte outside the
                // directories and of one byte in 8191 inside them.
                if segment && (bit % 8 != byte % 8 || (dirs..dirs_end).contains(&byte) && byte % 8191 != 0) {
                    continue;
                }
                b[byte] ^= 1 << (bit % 8);
                // Panics if an accepted body answers otherwise than the bank.
                accepted += usize::from(crate::fuzzing::pdq_cache_body(&b));
                b[byte] ^= 1 << (bit % 8);
            }
            assert_eq!(accepted, 0, "segment {segment}: flips accepted");
            assert!(crate::fuzzing::pdq_cache_body(&good));
        }
        // As a whole file, with the checksum as written: every bit of the
        // header and of a sample of the body is refused.
        let f = fixture(&[pdq(1), pdq(2)]);
        load_pdq(&f.store, Some(&f.cache)).unwrap();
        let file = std::fs::read(&f.cache).unwrap();
        let (identity, state) = state_of(&f);
        for bit in (0..file.len() * 8).filter(|b| b / 8 < 80 || b % 999_983 == 0) {
            let mut b = file.clone();
            b[bit / 8] ^= 1 << (bit % 8);
            std::fs::write(&f.cache, &b).unwrap();
            let r = read_cache(&f.cache, identity, &state);
            assert!(r.is_err(), "bit {bit} accepted");
        }
    }
}
