//! `write_text_export`: valid JSON, exactly N messages, the promised mix.

use std::fs;

use marsad_synth::write_text_export;
use serde_json::Value;

use crate::export::{fresh_dir, plain_text, unixtime};

fn export(name: &str, n: u64, seed: u64) -> (Value, Vec<u8>) {
    let dir = fresh_dir(name);
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join("result.json");
    write_text_export(&path, n, seed).unwrap();
    let bytes = fs::read(&path).unwrap();
    (serde_json::from_slice(&bytes).unwrap(), bytes)
}

#[test]
fn exactly_n_messages_with_the_promised_mix() {
    let n = 2_000;
    let (doc, _) = export("text-mix", n, 9);
    assert_eq!(doc["type"], "public_channel");
    assert!(doc["name"].is_string() && doc["id"].is_i64());
    let messages = doc["messages"].as_array().unwrap();
    assert_eq!(messages.len() as u64, n);

    let mut ids = messages.iter().map(|m| m["id"].as_i64().unwrap());
    let mut previous = ids.next().unwrap();
    for id in ids {
        assert!(id > previous);
        previous = id;
    }
    let times: Vec<i64> = messages.iter().map(unixtime).collect();
    assert!(times.windows(2).all(|p| p[0] <= p[1]));

    let count = |f: &dyn Fn(&Value) -> bool| messages.iter().filter(|m| f(m)).count() as f64 / n as f64;
    let service = count(&|m| m["type"] == "service");
    let plain = count(&|m| m["type"] == "message" && m["text"].is_string());
    let array = count(&|m| m["text"].is_array());
    assert!((0.02..0.08).contains(&service), "{service}");
    assert!((0.5..0.7).contains(&plain), "{plain}");
    assert!((0.2..0.4).contains(&array), "{array}");
    for key in ["edited", "edited_unixtime", "forwarded_from", "reply_to_message_id"] {
        let share = count(&|m| m.get(key).is_some());
        assert!((0.01..0.2).contains(&share), "{key}: {share}");
    }
    assert!(messages.iter().all(|m| m.get("photo").is_none() && m.get("file").is_none()));

    for m in messages.iter().filter(|m| m["type"] == "message") {
        // Entities always spell out the same text.
        let entities: String =
            m["text_entities"].as_array().unwrap().iter().map(|e| e["text"].as_str().unwrap()).collect();
        let text = plain_text(m);
        assert_eq!(entities, text);
        if m["text"].is_string() {
            let len = text.chars().count();
            assert!((20..=400).contains(&len), "{len}");
        }
    }
    let arabic = messages
        .iter()
        .filter(|m| plain_text(m).chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c)))
        .count();
    assert!(arabic > messages.len() / 4);
}

#[test]
fn small_and_empty_exports_are_valid_and_deterministic() {
    let (empty, _) = export("text-empty", 0, 1);
    assert_eq!(empty["messages"], Value::Array(Vec::new()));
    let (one, _) = export("text-one", 1, 1);
    assert_eq!(one["messages"].as_array().unwrap().len(), 1);

    let (_, a) = export("text-a", 300, 42);
    let (_, b) = export("text-b", 300, 42);
    let (_, c) = export("text-c", 300, 43);
    assert!(a == b);
    assert!(a != c);
}
