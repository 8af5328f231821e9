//! A Telegram Desktop export (`result.json`) of arbitrary bytes through the
//! reader's first pass (the splitter that cuts the file into chats and
//! messages without holding it whole): an error or the chat headers, never
//! a panic, and the same answer twice.
#![no_main]

use libfuzzer_sys::fuzz_target;
use marsad_ingest::IngestError;

fuzz_target!(|data: &[u8]| {
    let first = marsad_ingest::telegram::check_bytes(data);
    let again = marsad_ingest::telegram::check_bytes(data);
    assert_eq!(first.is_ok(), again.is_ok());
    assert_eq!(first.as_ref().ok(), again.as_ref().ok());
    // The reader is lenient with a damaged message (skipped, reported in
    // the second pass), so it may accept what serde_json refuses; but what
    // serde_json accepts is never malformed JSON to it. (Parsed as a Value:
    // IgnoredAny lets through a lone surrogate escape, which a key, read as
    // text, may not hold.)
    if serde_json::from_slice::<serde_json::Value>(data).is_ok() {
        assert!(!matches!(first, Err(IngestError::Syntax { .. })), "{first:?}");
    }
});
