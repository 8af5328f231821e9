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
use marsad_store::{BankState, EntryFilter, Store};

use crate::matcher::MatchError;

// Version 2 added the count of skipped entries (older files are rebuilt).
const MAGIC: &[u8; 8] = b"MRSDBNK2";

struct Header {
    generation: i64,
    max_entry_id: i64,
    skipped: u64,
}

/// The PDQ index over every bank.
pub(crate) struct PdqEntries {
    /// The index.
    pub(crate) index: PdqIndex,
    /// The entry id of each indexed hash.
    pub(crate) ids: Vec<i64>,
    /// Entries whose stored value is not a PDQ hash (left out; warned
    /// about when the index was built or extended).
    pub(crate) skipped: u64,
}

fn read_cache(path: &Path) -> std::io::Result<(Header, PdqIndex, Vec<i64>)> {
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
    let max_entry_id = i64::from_le_bytes(word);
    r.read_exact(&mut word)?;
    let skipped = u64::from_le_bytes(word);
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
            i64::from_le_bytes(w)
        }));
    }
    let index = PdqIndex::read_from(&mut r).map_err(std::io::Error::other)?;
    if index.len() != ids.len() {
        return Err(std::io::Error::other("index and entry list disagree"));
    }
    Ok((Header { generation, max_entry_id, skipped }, index, ids))
}

fn write_cache(path: &Path, state: &BankState, pdq: &PdqEntries) -> std::io::Result<()> {
    let (index, ids) = (&pdq.index, &pdq.ids);
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let tmp = tempfile::NamedTempFile::new_in(dir)?;
    {
        let mut w = BufWriter::with_capacity(1 << 20, tmp.as_file());
        w.write_all(MAGIC)?;
        w.write_all(&state.generation.to_le_bytes())?;
        w.write_all(&state.max_entry_id.to_le_bytes())?;
        w.write_all(&pdq.skipped.to_le_bytes())?;
        w.write_all(&(ids.len() as u64).to_le_bytes())?;
        for id in ids {
            w.write_all(&id.to_le_bytes())?;
        }
        index.write_to(&mut w).map_err(std::io::Error::other)?;
        w.flush()?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Adds the PDQ entries with an id above `after` to the index (an entry
/// whose value does not parse is warned about and counted).
fn add_entries(store: &dyn Store, after: i64, pdq: &mut PdqEntries) -> Result<(), MatchError> {
    let filter =
        EntryFilter { signal_type: Some(SignalType::Pdq), after_id: after, ..EntryFilter::default() };
    let mut batch: Vec<(PdqHash, u32)> = Vec::new();
    store.bank_entries(&filter, &mut |e| {
        match PdqHash::from_hex(&e.value) {
            Ok(h) => {
                batch.push((h, pdq.ids.len() as u32));
                pdq.ids.push(e.id);
            }
            Err(err) => {
                crate::matcher::warn_skipped(&e, &err);
                pdq.skipped += 1;
            }
        }
        Ok(())
    })?;
    pdq.index.extend(batch);
    pdq.index.compact();
    Ok(())
}

/// The PDQ index over every bank and the entry id of each indexed hash.
pub(crate) fn load_pdq(store: &dyn Store, cache: Option<&Path>) -> Result<PdqEntries, MatchError> {
    let state = store.bank_state()?;
    if let Some(path) = cache {
        match read_cache(path) {
            Ok((header, index, ids)) if header.generation == state.generation => {
                let mut pdq = PdqEntries { index, ids, skipped: header.skipped };
                if header.max_entry_id == state.max_entry_id {
                    tracing::debug!(hashes = pdq.ids.len(), "pdq bank index loaded from cache");
                    return Ok(pdq);
                }
                add_entries(store, header.max_entry_id, &mut pdq)?;
                save(path, &state, &pdq);
                return Ok(pdq);
            }
            Ok(_) => tracing::info!("pdq bank index out of date (entries removed): rebuilding"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(cache = %path.display(), error = %e, "pdq bank index unreadable: rebuilding")
            }
        }
    }
    let mut pdq = PdqEntries { index: PdqIndex::new(), ids: Vec::new(), skipped: 0 };
    add_entries(store, 0, &mut pdq)?;
    if let Some(path) = cache
        && (!pdq.ids.is_empty() || pdq.skipped > 0)
    {
        save(path, &state, &pdq);
    }
    Ok(pdq)
}

fn save(path: &Path, state: &BankState, pdq: &PdqEntries) {
    match write_cache(path, state, pdq) {
        Ok(()) => tracing::debug!(cache = %path.display(), hashes = pdq.ids.len(), "pdq bank index saved"),
        Err(e) => tracing::warn!(cache = %path.display(), error = %e, "could not save the pdq bank index"),
    }
}
