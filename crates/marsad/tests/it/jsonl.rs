//! JSON lines ingestion: the documented schema, bad lines with line numbers.

use marsad_core::{MediaKind, Platform, SourceKey};
use marsad_store::prelude::*;
use serde_json::json;

use crate::support::*;

#[test]
fn schema_fields_are_stored() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("media")).expect("mkdir");
    std::fs::write(dir.path().join("media/a.png"), png_bytes(3)).expect("write");
    let lines = [
        json!({"platform": "x", "source": "acct1", "id": "100", "timestamp": "2024-01-31T12:00:00+02:00",
               "text": "first", "url": "https://example.org/100", "media": ["media/a.png"],
               "source_name": "Account One", "forwarded_from": "someone", "reply_to": 99}),
        json!({"platform": "x", "source": 12345, "id": 7, "timestamp": "2024-01-31T13:00:00.5Z"}),
    ];
    let body = lines.iter().map(|l| l.to_string()).collect::<Vec<_>>().join("\n") + "\n\n";
    let file = dir.path().join("posts.jsonl");
    std::fs::write(&file, body).expect("write");
    let db = dir.path().join("m.db");
    let (ok, s) = ingest_json(&db, "jsonl", &file, &[]);
    assert!(ok, "{s}");
    assert_eq!(s["posts_added"], 2);
    assert_eq!(s["media_added"], 1);
    let store = open(&db);
    let x = Platform::new("x").expect("platform");
    let p = store
        .post(&SourceKey { platform: x.clone(), platform_id: "acct1".into() }, "100")
        .expect("read")
        .expect("stored");
    assert_eq!(p.posted_at.to_rfc3339(), "2024-01-31T10:00:00Z");
    assert_eq!(p.url.as_deref(), Some("https://example.org/100"));
    assert_eq!(p.forwarded_from.as_deref(), Some("someone"));
    assert_eq!(p.reply_to.as_deref(), Some("99"));
    assert_eq!(p.media[0].kind, MediaKind::Image);
    let q = store
        .post(&SourceKey { platform: x, platform_id: "12345".into() }, "7")
        .expect("read")
        .expect("stored");
    assert_eq!(q.posted_at.to_rfc3339(), "2024-01-31T13:00:00.500Z");
    assert_eq!(q.text, "");
    let names: Vec<_> = store.sources().expect("sources").into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["12345", "Account One"]);

    let (ok, again) = ingest_json(&db, "jsonl", &file, &[]);
    assert!(ok);
    assert_eq!((again["posts_added"].as_u64(), again["posts_existing"].as_u64()), (Some(0), Some(2)));
}

#[test]
fn bad_lines_are_reported_with_line_numbers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = json!({"platform": "x", "source": "s", "id": "1", "timestamp": "2024-01-31T12:00:00Z"});
    let body = [
        good.to_string(),
        "{not json".to_owned(),
        json!({"platform": "x", "source": "s", "id": "2", "timestamp": "31/01/2024"}).to_string(),
        json!({"platform": "X Y", "source": "s", "id": "3", "timestamp": "2024-01-31T12:00:00Z"}).to_string(),
        json!({"platform": "x", "id": "4", "timestamp": "2024-01-31T12:00:00Z"}).to_string(),
        json!({"platform": "x", "source": "s", "id": "5", "timestamp": "2024-01-31T12:00:00Z", "text": 5})
            .to_string(),
        format!("{{\"text\": \"{}\"}}", "a".repeat(17 * 1024 * 1024)),
        json!({"platform": "x", "source": "s", "id": "8", "timestamp": "2024-01-31T12:00:00Z"}).to_string(),
    ]
    .join("\n");
    let file = dir.path().join("posts.jsonl");
    std::fs::write(&file, body).expect("write");
    let db = dir.path().join("m.db");
    let (ok, s) = ingest_json(&db, "jsonl", &file, &[]);
    assert!(ok, "{s}");
    assert_eq!(s["posts_added"], 2);
    let lines: Vec<_> =
        s["errors"].as_array().expect("errors").iter().map(|e| e["line"].as_u64().unwrap_or(0)).collect();
    assert_eq!(lines, [2, 3, 4, 5, 6, 7]);
    let msgs: Vec<_> = s["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["error"].as_str().unwrap_or("").to_owned())
        .collect();
    assert!(msgs[1].contains("timestamp") && msgs[1].contains("31/01/2024"), "{}", msgs[1]);
    assert!(msgs[2].contains("invalid platform name"), "{}", msgs[2]);
    // In the schema's words: the field and what it must be, no parser
    // positions that would contradict the line number.
    assert!(msgs[0].starts_with("not valid JSON (at column 2)"), "{}", msgs[0]);
    assert!(msgs[3].contains("\"source\" is missing"), "{}", msgs[3]);
    assert!(msgs[4].contains("\"text\" must be a string, not a number"), "{}", msgs[4]);
    assert!(msgs.iter().all(|m| !m.contains("at line")), "{msgs:?}");
    assert!(msgs[5].contains("over the limit"), "{}", msgs[5]);
}

#[test]
fn a_file_of_only_bad_lines_fails_and_stores_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("bad.jsonl");
    std::fs::write(&file, "nope\n[1]\n").expect("write");
    let db = dir.path().join("m.db");
    let (ok, s) = ingest_json(&db, "jsonl", &file, &[]);
    assert!(!ok, "{s}");
    assert_eq!(stats(&db).posts, 0);
    let o = run(&db, &["ingest", "jsonl", dir.path().join("missing.jsonl").to_str().expect("utf8")]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("missing.jsonl"), "{}", stderr(&o));
    // Said once: the OS error is not repeated by the error chain.
    assert_eq!(stderr(&o).matches("No such file").count(), 1, "{}", stderr(&o));
}

#[test]
fn an_empty_file_ingests_nothing_and_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("m.db");
    for (name, content) in [("empty.jsonl", ""), ("blank.jsonl", "\n  \n\n")] {
        let file = dir.path().join(name);
        std::fs::write(&file, content).expect("write");
        let o = run(&db, &["ingest", "jsonl", file.to_str().expect("utf8")]);
        assert!(!o.status.success(), "nothing valid was ingested from {name}");
        assert!(
            stderr(&o).contains(&format!("no valid post in {}: it holds no post", file.display())),
            "{}",
            stderr(&o)
        );
    }
    assert_eq!(stats(&db).posts, 0);
}
