//! The body of the PDQ bank index cache (`marsad.db.pdq-index`), checked
//! against a small bank as loading does: refused, or an index whose every
//! answer is the bank's (entry and distance); never a panic, never an
//! allocation beyond the input's size. The checksum is left out: it stops
//! damage, not a file written on purpose.
//!
//! The first byte chooses: raw bytes as the body, or a valid body (the
//! bank's hashes in the index's tail, or — for a first byte of 255 — in a
//! segment) with the rest of the input XORed over it at chosen offsets.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn seeds() -> &'static [Vec<u8>; 2] {
    static SEEDS: OnceLock<[Vec<u8>; 2]> = OnceLock::new();
    SEEDS.get_or_init(|| {
        [marsad_match::fuzzing::pdq_cache_seed(false), marsad_match::fuzzing::pdq_cache_seed(true)]
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode < 64 {
        marsad_match::fuzzing::pdq_cache_body(rest);
        return;
    }
    let mut body = seeds()[usize::from(mode == 0xff)].clone();
    // (offset: u32, xor: u8) edits, then optionally a new length.
    for edit in rest.chunks_exact(5) {
        let at = u32::from_le_bytes([edit[0], edit[1], edit[2], edit[3]]) as usize;
        if body.is_empty() {
            break;
        }
        let at = at % body.len();
        body[at] ^= edit[4];
    }
    if rest.len() % 5 != 0 {
        let cut = usize::from(rest[rest.len() - 1]);
        body.truncate(body.len().saturating_sub(cut));
    }
    marsad_match::fuzzing::pdq_cache_body(&body);
});
