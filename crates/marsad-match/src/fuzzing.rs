//! Entry points for the fuzz targets in `fuzz/` (not part of the API): the
//! readers they exercise are private to this crate.

use std::collections::BTreeSet;
use std::path::Path;

use marsad_core::{SignalType, UtcTime};
use marsad_hash::pdq::PdqHash;
use marsad_store::{BankEntry, BankState, EntryId, StoreIdentity};

use crate::cache::{self, Loaded, PdqEntries};

/// The bank the cache bodies are checked against: eight PDQ entries (ids
/// 2, 4, … 16) and one unreadable, far apart.
fn bank() -> Vec<BankEntry> {
    (1..=9u8)
        .map(|i| BankEntry {
            id: EntryId(i64::from(i) * 2),
            bank: "b".to_owned(),
            signal_type: SignalType::Pdq,
            value: if i == 9 { "not a hash".to_owned() } else { format!("{:02x}", i * 29).repeat(32) },
            labels: Default::default(),
            added_at: UtcTime::from_unix_seconds(0),
        })
        .collect()
}

fn state() -> BankState {
    BankState { generation: 1, max_entry_id: Some(EntryId(18)), entries: 9 }
}

/// A valid body for [`bank`]: its hashes in the index's tail (`segment`
/// false: small and quick to read) or in a segment.
pub fn pdq_cache_seed(segment: bool) -> Vec<u8> {
    let mut pdq = PdqEntries::new();
    for e in bank() {
        match PdqHash::from_hex(&e.value) {
            Ok(h) => {
                pdq.index.insert(&h, pdq.ids.len() as u32);
                pdq.ids.push(e.id);
            }
            Err(_) => pdq.skipped += 1,
        }
    }
    if segment {
        pdq.index.compact();
    }
    let mut out = Vec::new();
    // Writing to a vector cannot fail.
    let _ = cache::write_body(&mut out, &pdq);
    out
}

fn checked(body: &[u8]) -> Option<Loaded> {
    let pdq = cache::read_body(&mut &body[..], body.len() as u64).ok()?;
    let mut loaded = Loaded::to_check(pdq, Path::new("fuzz"), StoreIdentity::from_bytes([1; 16]), state());
    for e in &bank() {
        loaded.visit(e);
    }
    loaded.mismatch().is_none().then_some(loaded)
}

/// Reads `body` as the body of a PDQ bank index cache and compares it with
/// [`bank`], as loading does. A body that passes must answer every query
/// as a linear scan of the bank does: the same entries, the same
/// distances. Returns whether it was accepted.
pub fn pdq_cache_body(body: &[u8]) -> bool {
    let Some(loaded) = checked(body) else { return false };
    let bank = bank();
    let pdq = loaded.entries();
    let hashes: Vec<(EntryId, PdqHash)> =
        bank.iter().filter_map(|e| Some((e.id, PdqHash::from_hex(&e.value).ok()?))).collect();
    let queries = hashes
        .iter()
        .map(|(_, h)| *h)
        .chain([PdqHash::from_hex(&"00".repeat(32)).ok()].into_iter().flatten());
    for q in queries {
        for threshold in [0, 31, 128] {
            let mut hits = Vec::new();
            pdq.index.range(&q, threshold, &mut hits);
            let got: BTreeSet<(i64, u32)> =
                hits.iter().map(|h| (pdq.ids[h.id as usize].0, h.distance)).collect();
            let want: BTreeSet<(i64, u32)> =
                hashes.iter().map(|(id, h)| (id.0, h.hamming(&q))).filter(|&(_, d)| d <= threshold).collect();
            assert_eq!(got, want, "an accepted cache answers as the bank");
            assert_eq!(hits.len(), got.len(), "each entry once");
        }
    }
    true
}
