//! The normalizer on arbitrary text: idempotent, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let once = marsad_hash::text::normalize(text);
    assert_eq!(marsad_hash::text::normalize(&once), once);
    let _ = marsad_hash::text::MinHasher::new(16).sign(&once);
});
