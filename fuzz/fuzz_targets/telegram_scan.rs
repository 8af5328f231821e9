//! A Telegram Desktop export (`result.json`) of arbitrary bytes through the
//! reader's first pass (the splitter that cuts the file into chats and
//! messages without holding it whole): an error or the chat headers, never
//! a panic, and the same answer twice.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let first = marsad_ingest::telegram::check_bytes(data);
    let again = marsad_ingest::telegram::check_bytes(data);
    assert_eq!(first.is_ok(), again.is_ok());
    if let Ok(chats) = first {
        // A valid export is valid JSON: the splitter accepts nothing serde
        // refuses.
        assert!(serde_json::from_slice::<serde::de::IgnoredAny>(data).is_ok(), "{chats:?}");
    }
});
