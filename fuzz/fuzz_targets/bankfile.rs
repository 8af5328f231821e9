//! Bank files (`marsad bank import`): CSV of every signal type and JSON
//! lines, from arbitrary bytes. Never a panic; every entry handed over is
//! canonical (reading its value again gives it back); the counts add up.
#![no_main]

use libfuzzer_sys::fuzz_target;
use marsad_core::SignalType;
use marsad_match::bankfile::{self, Format};

const TYPES: [SignalType; 6] = SignalType::ALL;

fn read(data: &[u8], format: Format, t: Option<SignalType>) {
    let mut entries = 0u64;
    let report = bankfile::read(data, format, t, |chunk| {
        for e in chunk {
            let again = marsad_match::values::canonical(e.signal_type, &e.value);
            assert_eq!(again.as_deref().ok(), Some(e.value.as_str()), "{e:?}");
            if let Some(want) = t {
                assert_eq!(e.signal_type, want);
            }
        }
        entries += chunk.len() as u64;
        Ok::<(), std::io::Error>(())
    });
    if let Ok(report) = report {
        assert_eq!(report.entries, entries);
        assert!(report.errors.len() as u64 <= report.errors_total);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, data)) = data.split_first() else { return };
    let t = TYPES[selector as usize % TYPES.len()];
    if selector & 0x80 == 0 {
        read(data, Format::Csv, Some(t));
    } else {
        read(data, Format::Jsonl, (selector & 0x40 == 0).then_some(t));
    }
});
