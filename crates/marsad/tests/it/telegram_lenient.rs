//! Telegram exports as they come: bad messages skipped and named with the
//! rest ingested (a message whose quotes or brackets do not pair up
//! skipped to the next), dates with fractions and zones, entries the exporter could
//! not export, poll / to-do / sticker text, repeated message ids, and edits
//! seen on a later ingest (JSON lines too).

use marsad_core::{Platform, SourceKey, UtcTime};
use marsad_store::prelude::*;
use serde_json::{Value, json};

use crate::support::*;

fn key(id: &str) -> SourceKey {
    SourceKey { platform: Platform::telegram(), platform_id: id.to_owned() }
}

/// A single-chat `result.json` written from raw message texts, one per line
/// (line `n + 3` holds message `n`), so that bytes no JSON serializer would
/// write can be planted.
fn raw_export(dir: &std::path::Path, messages: &[Vec<u8>]) -> std::path::PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let mut body =
        b"{\n \"name\": \"Lenient\", \"type\": \"public_channel\", \"id\": 21,\n \"messages\": [\n".to_vec();
    for (i, m) in messages.iter().enumerate() {
        body.extend_from_slice(b"  ");
        body.extend_from_slice(m);
        body.extend_from_slice(if i + 1 < messages.len() { b",\n" } else { b"\n" });
    }
    body.extend_from_slice(b" ]\n}\n");
    std::fs::write(dir.join("result.json"), body).unwrap();
    dir.to_owned()
}

fn good(id: i64, text: &str) -> Vec<u8> {
    serde_json::to_vec(&text_message(id, 1_600_000_000 + id, text)).unwrap()
}

fn ok(db: &std::path::Path, args: &[&str]) -> String {
    let o = run(db, args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    stdout(&o)
}

#[test]
fn a_bad_message_is_skipped_and_named_and_the_rest_ingested() {
    let dir = tempfile::tempdir().unwrap();
    let mut invalid_utf8 =
        br#"{"id": 2, "type": "message", "date_unixtime": "1600000002", "text": "bad "#.to_vec();
    invalid_utf8.extend_from_slice(b"\xff\xfe byte\"}");
    let control = b"{\"id\": 3, \"type\": \"message\", \"date_unixtime\": \"1600000003\", \"text\": \"raw \x01 control\"}".to_vec();
    let huge_id =
        br#"{"id": 1e999, "type": "message", "date_unixtime": "1600000004", "text": "huge id"}"#.to_vec();
    let huge_reply =
        br#"{"id": 5, "type": "message", "date_unixtime": "1600000005", "reply_to_message_id": -1e999, "text": "x"}"#
            .to_vec();
    let export = raw_export(
        &dir.path().join("export"),
        &[good(1, "first good"), invalid_utf8, control, huge_id, huge_reply, good(6, "last good")],
    );
    let db = dir.path().join("m.db");
    let (ingested, s) = ingest_json(&db, "telegram", &export, &[]);
    assert!(ingested, "{s}");
    assert_eq!((s["posts_added"].as_u64(), s["errors_total"].as_u64()), (Some(2), Some(4)), "{s}");
    let errors = s["errors"].as_array().unwrap();
    let seen: Vec<(Value, Value)> =
        errors.iter().map(|e| (e["message_id"].clone(), e["line"].clone())).collect();
    // Message n is on line n + 3; the id of a message is read despite a bad
    // byte elsewhere in it, and is null when it is itself out of range.
    assert_eq!(
        seen,
        [(json!("2"), json!(5)), (json!("3"), json!(6)), (json!(null), json!(7)), (json!("5"), json!(8))]
    );
    for (e, why) in
        errors.iter().zip(["invalid unicode", "control character", "out of range", "out of range"])
    {
        assert!(e["error"].as_str().unwrap().contains(why), "{e}");
        assert_eq!(e["chat"], "telegram:21");
    }
    let store = open(&db);
    assert_eq!(store.post(&key("21"), "6").unwrap().unwrap().text, "last good");
}

/// Message `id` in Telegram Desktop's own layout: one space of indentation
/// per level, the message's `{` on a line of its own at the messages'
/// indentation, `"id"` first. Fifteen lines, the last without its comma.
fn tdesktop_message(id: i64, text: &str) -> Vec<String> {
    let text = serde_json::to_string(text).unwrap();
    [
        "  {".to_owned(),
        format!("   \"id\": {id},"),
        "   \"type\": \"message\",".to_owned(),
        "   \"date\": \"2020-09-13T12:26:40\",".to_owned(),
        format!("   \"date_unixtime\": \"{}\",", 1_600_000_000 + id),
        "   \"from\": \"Channel\",".to_owned(),
        "   \"from_id\": \"channel41\",".to_owned(),
        format!("   \"text\": {text},"),
        "   \"text_entities\": [".to_owned(),
        "    {".to_owned(),
        "     \"type\": \"plain\",".to_owned(),
        format!("     \"text\": {text}"),
        "    }".to_owned(),
        "   ]".to_owned(),
        "  }".to_owned(),
    ]
    .into()
}

/// A single-chat `result.json` in Telegram Desktop's layout from messages'
/// lines; message `n` (1-based) starts on line `6 + 15 (n - 1)`.
fn tdesktop_export(dir: &std::path::Path, messages: &[Vec<String>]) -> std::path::PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let mut lines: Vec<String> = [
        "{",
        " \"name\": \"Damaged\",",
        " \"type\": \"public_channel\",",
        " \"id\": 41,",
        " \"messages\": [",
    ]
    .map(str::to_owned)
    .into();
    for (i, m) in messages.iter().enumerate() {
        lines.extend(m.iter().cloned());
        if i + 1 < messages.len() {
            lines.last_mut().unwrap().push(',');
        }
    }
    lines.extend([" ]".to_owned(), "}".to_owned()]);
    std::fs::write(dir.join("result.json"), lines.join("\n") + "\n").unwrap();
    dir.to_owned()
}

#[test]
fn a_message_that_cannot_be_split_is_skipped_to_the_next_and_the_rest_ingested() {
    let dir = tempfile::tempdir().unwrap();
    let start = |n: u64| 6 + 15 * (n - 1);
    let good = |id: i64| tdesktop_message(id, &format!("message {id}"));
    // A string cut short (its closing quote lost), a stray `{`, and the
    // last message cut short too.
    let mut cut = good(2);
    cut[7] = "   \"text\": \"message 2 was cut sh".to_owned();
    let mut brace = good(4);
    brace[9] = "    {{".to_owned();
    let mut last = good(6);
    last[11] = "     \"text\": \"message 6 ends her".to_owned();
    let export = tdesktop_export(&dir.path().join("export"), &[good(1), cut, good(3), brace, good(5), last]);
    let db = dir.path().join("m.db");
    let (ingested, s) = ingest_json(&db, "telegram", &export, &[]);
    assert!(ingested, "{s}");
    assert_eq!((s["posts_added"].as_u64(), s["errors_total"].as_u64()), (Some(3), Some(3)), "{s}");
    let errors = s["errors"].as_array().unwrap();
    let seen: Vec<(Value, Value)> =
        errors.iter().map(|e| (e["message_id"].clone(), e["line"].clone())).collect();
    assert_eq!(
        seen,
        [(json!("2"), json!(start(2))), (json!("4"), json!(start(4))), (json!("6"), json!(start(6)))],
        "{s}"
    );
    for e in errors {
        let why = e["error"].as_str().unwrap();
        assert!(why.contains("cannot be split") && why.contains("15 lines skipped"), "{e}");
        assert_eq!(e["chat"], "telegram:41");
    }
    let store = open(&db);
    for id in ["1", "3", "5"] {
        assert_eq!(store.post(&key("41"), id).unwrap().unwrap().text, format!("message {id}"));
    }
    for id in ["2", "4", "6"] {
        assert!(store.post(&key("41"), id).unwrap().is_none(), "{id}");
    }
    // The text report names the file, the line and the lines skipped.
    let o = run(&db, &["ingest", "telegram", export.to_str().unwrap()]);
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "result.json:{}: chat telegram:41: message 4: message cannot be split",
            start(4)
        )),
        "{err}"
    );
}

#[test]
fn messages_that_never_resume_are_a_clear_error_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let export = tdesktop_export(
        &dir.path().join("export"),
        &[tdesktop_message(1, "one"), tdesktop_message(2, "two"), tdesktop_message(3, "three")],
    );
    // The file ends inside the third message.
    let file = export.join("result.json");
    let text = std::fs::read_to_string(&file).unwrap();
    let cut = text.find("\"three\"").unwrap() + 3;
    std::fs::write(&file, &text[..cut]).unwrap();
    let db = dir.path().join("m.db");
    let o = run(&db, &["ingest", "telegram", export.to_str().unwrap()]);
    let err = stderr(&o);
    assert!(!o.status.success(), "{err}");
    assert!(err.contains("result.json: malformed JSON at line 36, column 3"), "{err}");
    assert!(err.contains("cannot be split") && !err.contains("panicked"), "{err}");
    assert_eq!(stats(&db).posts, 0, "refused before anything is written");
}

#[test]
fn dates_with_fractions_and_zones_and_the_export_timezone() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = ChatExport::new(&dir.path().join("export"), 22, "Dates");
    let dated =
        |id: i64, date: &str| json!({"id": id, "type": "message", "date": date, "text": format!("m{id}")});
    e.push(dated(1, "2017-01-01T06:20:09.248Z"))
        .push(dated(2, "2017-01-01T09:20:09+03:00"))
        .push(dated(3, "2017-01-01T09:20:09"))
        .push(json!({"id": 4, "type": "message", "date": "2017-01-01T09:20:09", "date_unixtime": "1483251609", "text": "m4"}));
    e.write();
    let db = dir.path().join("m.db");
    let (ingested, s) = ingest_json(&db, "telegram", &e.dir, &["--export-timezone", "Asia/Baghdad"]);
    assert!(ingested, "{s}");
    assert_eq!((s["posts_added"].as_u64(), s["errors_total"].as_u64()), (Some(4), Some(0)), "{s}");
    let store = open(&db);
    let at = |id: &str| store.post(&key("22"), id).unwrap().unwrap().posted_at.to_rfc3339();
    assert_eq!(at("1"), "2017-01-01T06:20:09.248Z");
    assert_eq!(at("2"), "2017-01-01T06:20:09Z");
    assert_eq!(at("3"), "2017-01-01T06:20:09Z", "zone-less date in Baghdad time (UTC+3)");
    assert_eq!(at("4"), "2017-01-01T06:20:09Z", "date_unixtime wins");
    // Without the flag a zone-less date is UTC; an unknown zone is refused.
    let db2 = dir.path().join("utc.db");
    assert!(ingest_json(&db2, "telegram", &e.dir, &[]).0);
    let t = open(&db2).post(&key("22"), "3").unwrap().unwrap().posted_at;
    assert_eq!(t, UtcTime::parse_rfc3339("2017-01-01T09:20:09Z").unwrap());
    let o = run(&db2, &["ingest", "telegram", e.dir.to_str().unwrap(), "--export-timezone", "Mars/Olympus"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("unknown time zone \"Mars/Olympus\""), "{}", stderr(&o));
}

#[test]
fn unsupported_entries_are_counted_not_errors_and_poll_todo_sticker_text_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = ChatExport::new(&dir.path().join("export"), 23, "Kinds");
    e.push(json!({"id": 1, "type": "unsupported"}))
        .push(json!({"id": 2, "type": "message", "date_unixtime": "1600000002", "text": "",
            "poll": {"question": "Which colour?", "closed": false, "total_voters": 3,
                     "answers": [{"text": "Red", "voters": 1, "chosen": false},
                                 {"text": [{"type": "bold", "text": "Blue"}], "voters": 2, "chosen": true}]}}))
        .push(json!({"id": 3, "type": "message", "date_unixtime": "1600000003", "text": "Chores",
            "todo_list": {"title": "Weekend", "others_can_append": false, "others_can_complete": true,
                          "answers": [{"text": "Sweep", "id": 1}, {"text": "Water plants", "id": 2}]}}))
        .push(json!({"id": 4, "type": "message", "date_unixtime": "1600000004", "text": "",
            "file": "(File not included. Change data exporting settings to download.)",
            "media_type": "sticker", "sticker_emoji": "🌵"}));
    e.write();
    let db = dir.path().join("m.db");
    let (ingested, s) = ingest_json(&db, "telegram", &e.dir, &[]);
    assert!(ingested, "{s}");
    assert_eq!((s["unsupported_skipped"].as_u64(), s["errors_total"].as_u64()), (Some(1), Some(0)), "{s}");
    assert_eq!(s["posts_added"], 3);
    let store = open(&db);
    let text = |id: &str| store.post(&key("23"), id).unwrap().unwrap().text;
    assert_eq!(text("2"), "Which colour?\nRed\nBlue");
    assert_eq!(text("3"), "Chores\nWeekend\nSweep\nWater plants");
    assert_eq!(text("4"), "🌵");
    assert!(store.post(&key("23"), "1").unwrap().is_none());
}

#[test]
fn a_repeated_message_id_keeps_the_first_message_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = ChatExport::new(&dir.path().join("export"), 24, "Repeats");
    let mut first = text_message(7, 1_600_000_007, "the first message");
    first["photo"] = json!("(File not included. Change data exporting settings to download.)");
    let mut second = text_message(7, 1_600_000_008, "the second message");
    second["photo"] = json!("photos/second.png");
    e.file("photos/second.png", &png_bytes(3));
    e.push(first).push(text_message(8, 1_600_000_009, "between")).push(second);
    e.write();
    let db = dir.path().join("m.db");
    // One batch per post, so the repeat is in a later batch than the first.
    let (ingested, s) = ingest_json(&db, "telegram", &e.dir, &["--batch-size", "1", "--no-fingerprints"]);
    assert!(ingested, "{s}");
    assert_eq!((s["posts_added"].as_u64(), s["repeated_ids"].as_u64()), (Some(2), Some(1)), "{s}");
    assert_eq!(s["media_added"], 0, "the second message's photo is not attached: {s}");
    let r = &s["repeated"][0];
    assert_eq!((r["chat"].as_str(), r["message_id"].as_str()), (Some("telegram:24"), Some("7")), "{r}");
    let p = open(&db).post(&key("24"), "7").unwrap().unwrap();
    assert_eq!(p.text, "the first message");
    assert_eq!(p.media.len(), 1);
    assert_eq!(p.media[0].sha256, None, "{:?}", p.media);
    // Again: still the first, and the warning names chat and id on stderr.
    let o = run(&db, &["ingest", "telegram", e.dir.to_str().unwrap(), "--no-fingerprints"]);
    assert!(o.status.success());
    assert!(
        stderr(&o).contains("warning: ") && stderr(&o).contains("chat telegram:24: message 7"),
        "{}",
        stderr(&o)
    );
    let p = open(&db).post(&key("24"), "7").unwrap().unwrap();
    assert_eq!((p.text.as_str(), p.media[0].sha256), ("the first message", None));
}

#[test]
fn a_repeated_message_leaves_no_retained_copy_of_its_media() {
    for batch in ["1", "100"] {
        let dir = tempfile::tempdir().unwrap();
        let mut e = ChatExport::new(&dir.path().join("export"), 26, "Repeats kept");
        let mut first = text_message(7, 1_600_000_007, "the first message");
        first["photo"] = json!("photos/first.png");
        let mut second = text_message(7, 1_600_000_008, "the second message");
        second["photo"] = json!("photos/second.png");
        e.file("photos/first.png", &png_bytes(1));
        e.file("photos/second.png", &png_bytes(2));
        e.push(first).push(text_message(8, 1_600_000_009, "between")).push(second);
        e.write();
        let db = dir.path().join("m.db");
        // In a later batch than the first (batch size 1), and in the same.
        let (ingested, s) = ingest_json(
            &db,
            "telegram",
            &e.dir,
            &["--batch-size", batch, "--retain-media", "--no-fingerprints"],
        );
        assert!(ingested, "{s}");
        assert_eq!((s["repeated_ids"].as_u64(), s["media_added"].as_u64()), (Some(1), Some(1)), "{s}");
        let kept = files_under(&dir.path().join("m.media"));
        assert_eq!(kept.len(), 1, "batch size {batch}: {kept:?}");
        assert_eq!(std::fs::read(&kept[0]).unwrap(), png_bytes(1), "batch size {batch}");
    }
}

const OLD: &str = "a placeholder caption about the weekly market in the old town square";
const NEW: &str = "another placeholder caption about the river festival and the boats tonight";

#[test]
fn an_edit_seen_on_reingest_updates_the_post_keeps_a_version_and_regroups() {
    let dir = tempfile::tempdir().unwrap();
    let export = |edited: bool| {
        let mut e =
            ChatExport::new(&dir.path().join(if edited { "edited" } else { "original" }), 25, "Edits");
        let mut m = text_message(1, 1_600_000_001, if edited { NEW } else { OLD });
        if edited {
            m["edited"] = json!("2020-09-13T15:00:00");
            m["edited_unixtime"] = json!("1600009200");
        }
        e.push(m).push(text_message(2, 1_600_000_002, NEW));
        e.write();
        e.dir
    };
    let db = dir.path().join("m.db");
    let (ingested, s) = ingest_json(&db, "telegram", &export(false), &[]);
    assert!(ingested, "{s}");
    let releases = |db: &std::path::Path| -> Vec<Value> {
        serde_json::from_str::<Value>(&ok(db, &["--json", "releases"])).unwrap().as_array().unwrap().clone()
    };
    assert_eq!(releases(&db).len(), 2, "different texts, two releases");
    let text_of = |db: &std::path::Path| open(db).post(&key("25"), "1").unwrap().unwrap().text;
    assert_eq!(text_of(&db), OLD);

    let (ingested, s) = ingest_json(&db, "telegram", &export(true), &[]);
    assert!(ingested, "{s}");
    assert_eq!((s["posts_edited"].as_u64(), s["posts_existing"].as_u64()), (Some(1), Some(2)), "{s}");
    let p = open(&db).post(&key("25"), "1").unwrap().unwrap();
    assert_eq!((p.text.as_str(), p.edited_at), (NEW, Some(UtcTime::from_unix_seconds(1_600_009_200))));
    // The new text's fingerprint links the post to the other: one release.
    let now = releases(&db);
    assert_eq!(now.len(), 1, "{now:?}");
    assert_eq!(now[0]["sightings"], 2);
    let h: Value =
        serde_json::from_str(&ok(&db, &["--json", "posts", "history", "telegram:25", "1"])).unwrap();
    assert_eq!(h["text"], NEW);
    assert_eq!(h["edited_at"], "2020-09-13T15:00:00Z");
    assert_eq!(h["versions"].as_array().unwrap().len(), 1, "{h}");
    assert_eq!((&h["versions"][0]["text"], &h["versions"][0]["edited_at"]), (&json!(OLD), &Value::Null));
    let text = ok(&db, &["posts", "history", "telegram:25", "1"]);
    assert!(text.contains(OLD) && text.contains(NEW), "{text}");
    // An unknown post is a clear error.
    let o = run(&db, &["posts", "history", "telegram:25", "404"]);
    assert!(!o.status.success() && stderr(&o).contains("no post 404 of telegram:25"), "{}", stderr(&o));
}

#[test]
fn jsonl_repeats_and_edits_follow_the_same_rules() {
    let dir = tempfile::tempdir().unwrap();
    let line = |id: i64, text: &str| {
        json!({"platform": "x", "source": "acct", "id": id, "timestamp": "2024-01-31T12:00:00Z", "text": text})
            .to_string()
    };
    let first = dir.path().join("first.jsonl");
    std::fs::write(&first, [line(1, "one"), line(1, "one again"), line(2, "two")].join("\n")).unwrap();
    let db = dir.path().join("m.db");
    let (ingested, s) = ingest_json(&db, "jsonl", &first, &[]);
    assert!(ingested, "{s}");
    assert_eq!((s["posts_added"].as_u64(), s["repeated_ids"].as_u64()), (Some(2), Some(1)), "{s}");
    assert_eq!(s["repeated"][0]["line"], 2);
    let xkey = SourceKey { platform: Platform::new("x").unwrap(), platform_id: "acct".to_owned() };
    assert_eq!(open(&db).post(&xkey, "1").unwrap().unwrap().text, "one");
    let second = dir.path().join("second.jsonl");
    std::fs::write(&second, [line(1, "one, edited"), line(2, "two")].join("\n")).unwrap();
    let (_, s) = ingest_json(&db, "jsonl", &second, &[]);
    assert_eq!(s["posts_edited"], 1, "{s}");
    let h: Value = serde_json::from_str(&ok(&db, &["--json", "posts", "history", "x:acct", "1"])).unwrap();
    assert_eq!(h["text"], "one, edited");
    assert_eq!(h["versions"][0]["text"], "one");
}

#[test]
fn a_bad_chat_header_does_not_refuse_the_export() {
    let dir = tempfile::tempdir().unwrap();
    let body = |name: &[u8], id: &[u8]| {
        let mut b = b"{\"name\": \"".to_vec();
        b.extend_from_slice(name);
        b.extend_from_slice(b"\", \"type\": \"public_channel\", \"id\": ");
        b.extend_from_slice(id);
        b.extend_from_slice(b",\n \"messages\": [\n  ");
        b.extend_from_slice(&good(1, "kept"));
        b.extend_from_slice(b"\n ]\n}\n");
        b
    };
    let named = dir.path().join("named");
    std::fs::create_dir_all(&named).unwrap();
    std::fs::write(named.join("result.json"), body(b"Bad \xff\x01 Name", b"31")).unwrap();
    let db = dir.path().join("m.db");
    let (ingested, s) = ingest_json(&db, "telegram", &named, &[]);
    assert!(ingested, "{s}");
    let sources = open(&db).sources().unwrap();
    assert_eq!(sources.len(), 1);
    assert_eq!(sources[0].name, "Bad \u{fffd}  Name");
    // A chat id out of range: its messages are reported, not ingested.
    let no_id = dir.path().join("no-id");
    std::fs::create_dir_all(&no_id).unwrap();
    std::fs::write(no_id.join("result.json"), body(b"No Id", b"1e999")).unwrap();
    let (ingested, s) = ingest_json(&dir.path().join("n.db"), "telegram", &no_id, &[]);
    assert!(!ingested, "{s}");
    assert_eq!(s["errors_total"], 1);
    assert!(s["errors"][0]["error"].as_str().unwrap().contains("no numeric \"id\""), "{s}");
}
