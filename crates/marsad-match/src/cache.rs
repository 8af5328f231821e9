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

use std::io::Write;
use std::path::Path;

use marsad_core::SignalType;
use marsad_hash::pdq::PdqHash;
use marsad_index::pdq::PdqIndex;
use marsad_store::cachefile::{self, CacheFileError, CacheFormat, Provenance};
use marsad_store::{BankState, BankStore, EntryFilter, EntryId, MetaStore, StoreIdentity};

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
    fn new() -> Self {
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
    // corruption made it unparsable.
    r.finish().map_err(Rebuild::File)?;
    let pdq = body.map_err(|e| Rebuild::Body(e.to_string()))?;
    // Ids are indexed in increasing order: a cache holding more entries, or
    // larger ids, than its header counts would be extended with some twice.
    if pdq.ids.len() as u64 + pdq.skipped > built_at.entries
        || pdq.ids.last().is_some_and(|&id| Some(id) > built_at.max_entry_id)
    {
        return Err(Rebuild::Body("more entries than its header counts".to_owned()));
    }
    Ok(Cached { pdq, built_at })
}

fn read_body(r: &mut impl std::io::Read, body_len: u64) -> std::io::Result<PdqEntries> {
    let mut word = [0u8; 8];
    r.read_exact(&mut word)?;
    let skipped = u64::from_le_bytes(word);
    r.read_exact(&mut word)?;
    let n = u64::from_le_bytes(word);
    if n > body_len / 8 {
        return Err(std::io::Error::other("more entry ids than the body holds"));
    }
    let n = n as usize;
    let mut ids = Vec::with_capacity(n);
    let mut buf = vec![0u8; 8 * 8192];
    while ids.len() < n {
        let take = ((n - ids.len()) * 8).min(buf.len());
        r.read_exact(&mut buf[..take])?;
        ids.extend(buf[..take].chunks_exact(8).map(|b| {
            let mut w = [0u8; 8];
            w.copy_from_slice(b);
            EntryId(i64::from_le_bytes(w))
        }));
    }
    let index = PdqIndex::read_from(r).map_err(std::io::Error::other)?;
    if index.len() != ids.len() {
        return Err(std::io::Error::other("index and entry list disagree"));
    }
    Ok(PdqEntries { index, ids, skipped })
}

fn write_cache(
    path: &Path,
    identity: StoreIdentity,
    state: &BankState,
    pdq: &PdqEntries,
) -> std::io::Result<()> {
    let (index, ids) = (&pdq.index, &pdq.ids);
    cachefile::write_atomic(path, &FORMAT, &provenance(identity, state), |w| {
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
    })
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

/// The PDQ index over every bank and the entry id of each indexed hash.
pub(crate) fn load_pdq<S: BankStore + MetaStore + ?Sized>(
    store: &S,
    cache: Option<&Path>,
) -> Result<PdqEntries, MatchError> {
    let state = store.bank_state()?;
    let Some(path) = cache else {
        let mut pdq = PdqEntries::new();
        add_entries(store, None, Read::Pdq, &mut pdq)?;
        return Ok(pdq);
    };
    let identity = store.identity()?;
    let mut stale = false;
    match read_cache(path, identity, &state) {
        Ok(Cached { pdq, built_at }) if built_at == state => {
            tracing::debug!(cache = %path.display(), hashes = pdq.ids.len(), "pdq bank index loaded from cache");
            return Ok(pdq);
        }
        Ok(Cached { mut pdq, built_at }) => {
            let added = add_entries(store, built_at.max_entry_id, Read::CountAll, &mut pdq)?;
            if built_at.entries + added == state.entries {
                tracing::debug!(cache = %path.display(), hashes = pdq.ids.len(), added, "pdq bank index extended");
                save(store, path, identity, &state, &pdq)?;
                return Ok(pdq);
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
        Err(reason) => {
            tracing::info!(cache = %path.display(), %reason, "pdq bank index rebuilt from the store");
            stale = true;
        }
    }
    let mut pdq = PdqEntries::new();
    add_entries(store, None, Read::Pdq, &mut pdq)?;
    // No file for a store without PDQ entries, unless one must be replaced.
    if !pdq.ids.is_empty() || pdq.skipped > 0 || stale {
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
}
