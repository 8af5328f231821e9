//! The PDQ bank index, cached in a file so that a process does not rebuild
//! it from the store: `marsad.db` → `marsad.db.pdq-index`.
//!
//! The file records the store's bank generation (which changes when entries
//! are removed) and the largest entry id it covers. On load: same
//! generation and same largest id — used as is; same generation, larger id
//! — the new entries are added and the file rewritten; otherwise it is
//! rebuilt. The file is written to a temporary name and renamed, so a
//! reader never sees half of it; a file that cannot be read is rebuilt, and
//! a cache that cannot be written only costs the next process a rebuild.

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use marsad_core::SignalType;
use marsad_hash::pdq::PdqHash;
use marsad_index::pdq::PdqIndex;
use marsad_store::{BankState, BankStore, EntryFilter, EntryId};

use crate::matcher::MatchError;

const MAGIC: &[u8; 8] = b"MRSDBNK1";

struct Header {
    generation: i64,
    max_entry_id: Option<EntryId>,
}

fn read_cache(path: &Path) -> std::io::Result<(Header, PdqIndex, Vec<EntryId>)> {
    let mut r = BufReader::with_capacity(1 << 20, std::fs::File::open(path)?);
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic)?;
    if &magic != MAGIC {
        return Err(std::io::Error::other("not a marsad bank index"));
    }
    let mut word = [0u8; 8];
    r.read_exact(&mut word)?;
    let generation = i64::from_le_bytes(word);
    r.read_exact(&mut word)?;
    // 0: no entry was ever given an id (ids start at 1).
    let max_entry_id = Some(i64::from_le_bytes(word)).filter(|&id| id > 0).map(EntryId);
    r.read_exact(&mut word)?;
    let n = u64::from_le_bytes(word) as usize;
    let mut ids = Vec::with_capacity(n.min(1 << 28));
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
    let index = PdqIndex::read_from(&mut r).map_err(std::io::Error::other)?;
    if index.len() != ids.len() {
        return Err(std::io::Error::other("index and entry list disagree"));
    }
    Ok((Header { generation, max_entry_id }, index, ids))
}

fn write_cache(path: &Path, state: &BankState, index: &PdqIndex, ids: &[EntryId]) -> std::io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let tmp = tempfile::NamedTempFile::new_in(dir)?;
    {
        let mut w = BufWriter::with_capacity(1 << 20, tmp.as_file());
        w.write_all(MAGIC)?;
        w.write_all(&state.generation.to_le_bytes())?;
        w.write_all(&state.max_entry_id.map_or(0, |id| id.0).to_le_bytes())?;
        w.write_all(&(ids.len() as u64).to_le_bytes())?;
        for id in ids {
            w.write_all(&id.0.to_le_bytes())?;
        }
        index.write_to(&mut w).map_err(std::io::Error::other)?;
        w.flush()?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Adds the PDQ entries with an id above `after` to the index.
fn add_entries(
    store: &dyn BankStore,
    after: Option<EntryId>,
    index: &mut PdqIndex,
    ids: &mut Vec<EntryId>,
) -> Result<(), MatchError> {
    let filter =
        EntryFilter { signal_type: Some(SignalType::Pdq), after_id: after, ..EntryFilter::default() };
    let mut batch: Vec<(PdqHash, u32)> = Vec::new();
    let mut bad = None;
    store.bank_entries(&filter, &mut |e| {
        match PdqHash::from_hex(&e.value) {
            Ok(h) => {
                batch.push((h, ids.len() as u32));
                ids.push(e.id);
            }
            Err(err) => {
                bad.get_or_insert(MatchError::BadEntry {
                    id: e.id,
                    signal_type: SignalType::Pdq,
                    message: err.to_string(),
                });
            }
        }
        Ok(())
    })?;
    if let Some(e) = bad {
        return Err(e);
    }
    index.extend(batch);
    index.compact();
    Ok(())
}

/// The PDQ index over every bank and the entry id of each indexed hash.
pub(crate) fn load_pdq(
    store: &dyn BankStore,
    cache: Option<&Path>,
) -> Result<(PdqIndex, Vec<EntryId>), MatchError> {
    let state = store.bank_state()?;
    if let Some(path) = cache {
        match read_cache(path) {
            Ok((header, mut index, mut ids)) if header.generation == state.generation => {
                if header.max_entry_id == state.max_entry_id {
                    tracing::debug!(hashes = ids.len(), "pdq bank index loaded from cache");
                    return Ok((index, ids));
                }
                add_entries(store, header.max_entry_id, &mut index, &mut ids)?;
                save(path, &state, &index, &ids);
                return Ok((index, ids));
            }
            Ok(_) => tracing::info!("pdq bank index out of date (entries removed): rebuilding"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(cache = %path.display(), error = %e, "pdq bank index unreadable: rebuilding")
            }
        }
    }
    let mut index = PdqIndex::new();
    let mut ids = Vec::new();
    add_entries(store, None, &mut index, &mut ids)?;
    if let Some(path) = cache
        && !ids.is_empty()
    {
        save(path, &state, &index, &ids);
    }
    Ok((index, ids))
}

fn save(path: &Path, state: &BankState, index: &PdqIndex, ids: &[EntryId]) {
    match write_cache(path, state, index, ids) {
        Ok(()) => tracing::debug!(cache = %path.display(), hashes = ids.len(), "pdq bank index saved"),
        Err(e) => tracing::warn!(cache = %path.display(), error = %e, "could not save the pdq bank index"),
    }
}
