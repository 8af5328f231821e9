//! The text forms of hashes that banks and files carry: PDQ hex, MinHash
//! hex, vPDQ signal strings and lines, fpcalc raw items.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(h) = marsad_hash::pdq::PdqHash::from_hex(text) {
        assert_eq!(h.to_hex(), text.to_ascii_lowercase());
    }
    if let Ok(s) = marsad_hash::text::MinHashSignature::from_hex(text) {
        assert_eq!(s.to_hex(), text.to_ascii_lowercase());
    }
    if let Ok(features) = marsad_hash::vpdq::parse_signal(text) {
        let again = marsad_hash::vpdq::parse_signal(&marsad_hash::vpdq::to_signal(&features)).expect("round trip");
        assert_eq!(again.len(), features.len());
    }
    let _ = marsad_hash::vpdq::parse_lines(text);
});
