//! Malformed exports: clear errors naming the file and message, bad messages
//! skipped, fatal problems leaving the store unchanged.

use marsad_store::prelude::*;
use serde_json::json;

use crate::support::*;

/// A store that already holds something, to show it stays unchanged.
fn seeded_store(dir: &std::path::Path) -> std::path::PathBuf {
    let mut e = ChatExport::new(&dir.join("seed"), 5, "Seed Channel");
    e.push(text_message(1, 1_600_000_000, "seed one")).push(text_message(2, 1_600_000_100, "seed two"));
    e.write();
    let db = dir.join("m.db");
    let (ok, _) = ingest_json(&db, "telegram", &e.dir, &[]);
    assert!(ok);
    db
}

fn assert_fails_unchanged(
    dir: &std::path::Path,
    db: &std::path::Path,
    target: &std::path::Path,
    expect: &[&str],
) {
    let before = stats(db);
    let runs_before = open(db).runs().expect("runs").len();
    let o = run(db, &["ingest", "telegram", target.to_str().expect("utf8")]);
    let err = stderr(&o);
    assert!(!o.status.success(), "must fail: {err}");
    for needle in expect {
        assert!(err.contains(needle), "stderr {err:?} lacks {needle:?}");
    }
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(stats(db), before, "store changed");
    assert_eq!(open(db).runs().expect("runs").len(), runs_before, "a run was recorded");
    let _ = dir;
}

#[test]
fn truncated_json_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = seeded_store(dir.path());
    let path = dir.path().join("truncated.json");
    let mut body = serde_json::to_string(&json!({
        "name": "T", "type": "public_channel", "id": 9,
        "messages": (1..=50).map(|i| text_message(i, 1_600_000_000 + i, "x")).collect::<Vec<_>>()
    }))
    .expect("json");
    body.truncate(body.len() * 2 / 3);
    std::fs::write(&path, body).expect("write");
    assert_fails_unchanged(dir.path(), &db, &path, &["truncated.json", "malformed JSON at line 1"]);
}

#[test]
fn garbage_and_wrong_layouts_are_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = seeded_store(dir.path());
    let cases: [(&str, &[u8], &str); 6] = [
        ("binary.json", b"\x00\x01\x02\xff\xfe", "malformed JSON"),
        ("empty.json", b"", "malformed JSON"),
        ("array.json", b"[1, 2, 3]", "expected a Telegram Desktop export object"),
        ("other.json", br#"{"hello": "world"}"#, "not a Telegram Desktop JSON export"),
        ("messages_not_array.json", br#"{"id": 1, "messages": 5}"#, "expected an array of messages"),
        ("trailing.json", br#"{"id": 1, "messages": []} {"#, "malformed JSON"),
    ];
    for (name, bytes, expect) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        assert_fails_unchanged(dir.path(), &db, &path, &[name, expect]);
    }
}

#[test]
fn unreadable_paths_are_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = seeded_store(dir.path());
    let nowhere = dir.path().join("no-such-export");
    assert_fails_unchanged(dir.path(), &db, &nowhere, &["no-such-export", "No such file"]);
    let empty = dir.path().join("empty-folder");
    std::fs::create_dir_all(&empty).expect("mkdir");
    assert_fails_unchanged(dir.path(), &db, &empty, &["empty-folder", "no result.json"]);
}

#[test]
fn bad_messages_are_skipped_and_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut e = ChatExport::new(&dir.path().join("export"), 11, "Mixed");
    e.push(text_message(1, 1_600_000_000, "good one"))
        .push(json!({"id": 2, "type": "message", "date_unixtime": "1600000100", "text": 5}))
        .push(json!({"id": 3, "type": "message", "date_unixtime": "yesterday", "text": "bad time"}))
        .push(json!({"id": "four", "type": "message", "date_unixtime": "1600000300", "text": "bad id"}))
        .push(json!({"id": 5, "type": "message", "date_unixtime": "1600000400", "reply_to_message_id": "x", "text": "bad reply"}))
        .push(json!({"id": 6, "type": "message", "text": "no date"}))
        .push(json!(["not", "an", "object"]))
        .push(text_message(8, 1_600_000_700, "good two"));
    e.write();
    let db = dir.path().join("m.db");
    let (ok, s) = ingest_json(&db, "telegram", &e.dir, &[]);
    assert!(ok, "valid messages were ingested, so the exit status is 0: {s}");
    assert_eq!(s["posts_added"], 2);
    let errors = s["errors"].as_array().expect("errors");
    let ids: Vec<_> = errors.iter().map(|e| e["message_id"].clone()).collect();
    assert_eq!(ids, [json!("2"), json!("3"), json!("four"), json!("5"), json!("6"), json!(null)]);
    for e in errors {
        assert!(e["file"].as_str().expect("file").ends_with("result.json"), "{e}");
        assert_eq!(e["chat"], "telegram:11", "{e}");
    }
    // Where each bad message starts in the file, in order.
    let lines: Vec<u64> = errors.iter().map(|e| e["line"].as_u64().expect("line")).collect();
    assert!(lines.windows(2).all(|w| w[0] < w[1]) && lines[0] > 1, "{lines:?}");
    let msg = |i: usize| errors[i]["error"].as_str().expect("error").to_owned();
    assert!(msg(0).contains("invalid type"), "{}", msg(0));
    assert!(msg(1).contains("invalid Unix time \"yesterday\""), "{}", msg(1));
    assert!(msg(4).contains("no \"date_unixtime\" or \"date\""), "{}", msg(4));
    assert_eq!(s["errors_total"], 6);

    // The text report names file and message too.
    let o = run(&db, &["ingest", "telegram", e.dir.to_str().expect("utf8")]);
    let err = stderr(&o);
    let third = format!("result.json:{}: chat telegram:11: message 3: invalid Unix time", lines[1]);
    assert!(err.contains(&third), "{err}");
}

#[test]
fn nothing_valid_means_failure() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut e = ChatExport::new(&dir.path().join("export"), 12, "All Bad");
    e.push(json!({"id": 1, "type": "message", "date_unixtime": "-", "text": "x"}))
        .push(json!({"id": 2, "type": "message", "date_unixtime": "1600000000", "text": {"no": 1}}));
    e.write();
    let db = dir.path().join("m.db");
    let (ok, s) = ingest_json(&db, "telegram", &e.dir, &[]);
    assert!(!ok, "{s}");
    assert_eq!(s["errors_total"], 2);
    let st = stats(&db);
    assert_eq!((st.posts, st.media, st.fingerprints), (0, 0, 0));
}
