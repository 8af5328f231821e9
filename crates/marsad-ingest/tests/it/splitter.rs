//! The Telegram export splitter (the first pass that cuts `result.json`
//! into chats and messages without holding it) agrees with serde_json:
//! any JSON value where the export has room for one is stepped over. (What
//! it does with a document serde_json refuses — a damaged message skipped,
//! broken structure refused — is the property tests of `scan.rs`.)

use proptest::prelude::*;
use serde_json::{Value, json};

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        any::<u64>().prop_map(|u| json!(u)),
        (-1e300f64..1e300).prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::String),
        "[\"\\\\/\\u{0}-\\u{1f}\\u{7f}\\u{2028}\\u{fffd}\\u{10ffff}]{0,6}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_\"\\\\]{0,6}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A channel export with `extra` beside its header fields and inside each
/// of `n` messages.
fn export(extra: &Value, n: usize) -> Value {
    let messages: Vec<Value> = (1..=n)
        .map(|i| {
            json!({
                "id": i, "type": "message", "date": "2024-01-01T00:00:00", "date_unixtime": "1704067200",
                "x_extra": extra, "text": "", "x_after": [extra, {"text": extra}]
            })
        })
        .collect();
    json!({"x_before": extra, "name": "Channel", "type": "public_channel", "id": 1000000001,
           "x_middle": extra, "messages": messages, "x_end": extra})
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_json_value_is_stepped_over(extra in any_json(), n in 0usize..4, pretty in any::<bool>()) {
        let doc = export(&extra, n);
        let text = if pretty { serde_json::to_string_pretty(&doc) } else { serde_json::to_string(&doc) };
        let text = text.unwrap();
        let chats = marsad_ingest::telegram::check_bytes(text.as_bytes());
        let chats = chats.map_err(|e| TestCaseError::fail(format!("{e}: {text}")))?;
        prop_assert_eq!(chats.len(), 1);
        prop_assert_eq!(chats[0].messages, n as u64);
        prop_assert_eq!(chats[0].id.as_deref(), Some("1000000001"));
        prop_assert_eq!(chats[0].name.as_deref(), Some("Channel"));
    }
}
