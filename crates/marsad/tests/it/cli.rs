//! The command line itself: store selection, init, stats.

use serde_json::Value;

use crate::support::*;

#[test]
fn stats_on_a_new_store_counts_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("sub/dir/new.db");
    let o = run(&db, &["stats", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).expect("json");
    assert_eq!(v, serde_json::json!({"sources": 0, "posts": 0, "media": 0, "fingerprints": 0}));
    assert!(db.exists(), "created on first use");
}

#[test]
fn db_comes_from_the_environment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("env.db");
    let o = marsad().env("MARSAD_DB", &db).args(["init"]).output().expect("run");
    assert!(o.status.success(), "{}", stderr(&o));
    let want = format!("schema version {}", marsad_store_sqlite::SCHEMA_VERSION);
    assert!(stdout(&o).contains(&want), "{}", stdout(&o));
    assert!(db.exists());
}

#[test]
fn unsupported_stores_are_clear_errors() {
    let o = marsad().args(["--db", "mysql://127.0.0.1/test", "stats"]).output().expect("run");
    assert!(!o.status.success());
    assert!(stderr(&o).contains("unsupported store URL scheme \"mysql\""), "{}", stderr(&o));
    // A PostgreSQL server that is not there: named, plainly.
    let o = marsad().args(["--db", "postgres://127.0.0.1:1/test", "stats"]).output().expect("run");
    assert!(!o.status.success());
    assert!(stderr(&o).contains("cannot open store postgres://127.0.0.1:1/test"), "{}", stderr(&o));
    let dir = tempfile::tempdir().expect("tempdir");
    let not_db = dir.path().join("x.db");
    std::fs::write(&not_db, "plain text, not a database ".repeat(200)).expect("write");
    let o = run(&not_db, &["stats"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("x.db") && stderr(&o).contains("not a database"), "{}", stderr(&o));
}

#[test]
fn demo_builds_a_corpus_and_can_run_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("demo");
    for _ in 0..2 {
        let o = marsad().args(["demo", "--json", "--out"]).arg(&out).output().expect("run");
        assert!(o.status.success(), "{}", stderr(&o));
        let v: Value = serde_json::from_str(&stdout(&o)).expect("json");
        let truth: Value = serde_json::from_slice(&std::fs::read(out.join("truth.json")).expect("truth"))
            .expect("truth json");
        let stats = &v["stats"];
        let n = |v: &Value| v.as_u64().expect("number");
        let len = |v: &Value| v.as_array().expect("array").len() as u64;
        let totals = &truth["totals"];
        assert_eq!(n(&stats["sources"]), len(&truth["outlets"]) + len(&truth["supporters"]));
        assert_eq!(n(&stats["posts"]), n(&totals["messages"]) - n(&totals["service_messages"]));
        let sum = |key: &str| -> u64 {
            v["ingests"].as_array().expect("ingests").iter().map(|i| n(&i["summary"][key])).sum()
        };
        assert_eq!(sum("posts_added"), n(&stats["posts"]), "a fresh store each run");
        assert_eq!(sum("service_skipped"), n(&totals["service_messages"]));
        assert_eq!(sum("media_missing"), n(&totals["missing_media"]));
    }
    std::fs::write(out.join("my-notes.txt"), "keep me").expect("write");
    let o = marsad().args(["demo", "--out"]).arg(&out).output().expect("run");
    assert!(!o.status.success());
    assert!(stderr(&o).contains("does not look like a previous demo"), "{}", stderr(&o));
    assert!(out.join("my-notes.txt").exists());
}

#[test]
fn output_into_a_closed_pipe_ends_quietly_like_a_unix_filter() {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("pipe.db");
    // The reader is gone before marsad writes its first byte, as when
    // `marsad … | head` has read enough.
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let o = marsad()
        .args(["--db".as_ref(), db.as_os_str(), "stats".as_ref(), "--json".as_ref()])
        .stdout(writer)
        .output()
        .expect("run");
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    assert_eq!(o.status.signal(), Some(13), "ended by SIGPIPE: {:?}", o.status);
}
