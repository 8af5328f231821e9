//! The JSON every command prints with `--json` keeps the shapes README.md
//! writes down: the same field names with the same types (one test per
//! command). Shapes are written here from the README, never taken from the
//! output under test.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::{Value, json};

use crate::support::{run, stderr, stdout};

/// A shape: `"str"`, `"int"` (an integer), `"num"` (any number), `"bool"`,
/// `"any"`; a `?` after a type also allows `null`; `[S]`: an array whose
/// every element has shape S; `{k: S}`: an object with exactly these keys
/// (a key ending in `?` may be absent; a key `"*"` allows others); `{"map": S}`
/// under the key `"<map>"`: an object of any keys, every value of shape S.
fn check(path: &str, v: &Value, shape: &Value) {
    match shape {
        Value::String(s) => {
            let (t, nullable) = match s.strip_suffix('?') {
                Some(t) => (t, true),
                None => (s.as_str(), false),
            };
            if nullable && v.is_null() {
                return;
            }
            let ok = match t {
                "str" => v.is_string(),
                "int" => v.is_i64() || v.is_u64(),
                "num" => v.is_number(),
                "bool" => v.is_boolean(),
                "any" => true,
                other => panic!("bad shape {other:?}"),
            };
            assert!(ok, "{path}: expected {s}, found {v}");
        }
        Value::Array(elem) => {
            let items = v.as_array().unwrap_or_else(|| panic!("{path}: expected an array, found {v}"));
            for (i, item) in items.iter().enumerate() {
                check(&format!("{path}[{i}]"), item, &elem[0]);
            }
        }
        Value::Object(fields) => {
            let obj = v.as_object().unwrap_or_else(|| panic!("{path}: expected an object, found {v}"));
            if let Some(each) = fields.get("<map>") {
                for (k, item) in obj {
                    check(&format!("{path}.{k}"), item, each);
                }
                return;
            }
            let open = fields.contains_key("*");
            for (k, s) in fields {
                if k == "*" {
                    continue;
                }
                let (name, optional) = match k.strip_suffix('?') {
                    Some(n) => (n, true),
                    None => (k.as_str(), false),
                };
                match obj.get(name) {
                    Some(item) => check(&format!("{path}.{name}"), item, s),
                    None => assert!(optional, "{path}: field {name:?} is missing in {v}"),
                }
            }
            if !open {
                for k in obj.keys() {
                    assert!(
                        fields.contains_key(k) || fields.contains_key(&format!("{k}?")),
                        "{path}: unexpected field {k:?} in {v}"
                    );
                }
            }
        }
        other => panic!("bad shape {other}"),
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    out: PathBuf,
    demo: Value,
}

/// The demo's store, made once by `marsad demo --json`.
fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("demo");
        let o = crate::support::marsad().args(["--json", "demo", "--out"]).arg(&out).output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        let demo: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
        Fixture { _dir: dir, out, demo }
    })
}

/// A copy of the demo's store of its own, for a test that writes.
fn own_store() -> (tempfile::TempDir, PathBuf) {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    for name in ["marsad.db", "marsad.db-wal"] {
        let from = f.out.join(name);
        if from.exists() {
            std::fs::copy(&from, dir.path().join(name)).unwrap();
        }
    }
    let db = dir.path().join("marsad.db");
    (dir, db)
}

fn demo_db() -> PathBuf {
    fixture().out.join("marsad.db")
}

/// One image and one recording of the demo corpus.
fn files(ext: &str) -> PathBuf {
    crate::support::files_under(&fixture().out.join("exports"))
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == ext))
        .unwrap_or_else(|| panic!("no .{ext} file in the demo corpus"))
}

/// Runs `marsad --db DB --json ARGS` and parses every line printed.
fn lines(db: &Path, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let o = run(db, &all);
    assert!(o.status.success(), "marsad {args:?}: {}", stderr(&o));
    let out = stdout(&o);
    let v: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(!v.is_empty(), "marsad {args:?} printed nothing");
    v
}

fn one(db: &Path, args: &[&str]) -> Value {
    let mut v = lines(db, args);
    assert_eq!(v.len(), 1, "marsad {args:?} printed {} lines", v.len());
    v.remove(0)
}

fn ingest_shape() -> Value {
    let record = json!({"file": "str", "chat": "str?", "message_id": "str?", "line": "int?", "error": "str"});
    json!({
        "posts_added": "int", "posts_existing": "int", "service_skipped": "int", "media_added": "int",
        "media_missing": "int", "errors": [record.clone()], "errors_total": "int",
        "missing_media": [record.clone()], "fingerprints_added": "int", "fingerprint_errors": "int",
        "fingerprint_failures": [record.clone()], "matches_added": "int", "run_id": "int",
        "unsupported_skipped": "int", "posts_edited": "int", "repeated_ids": "int", "repeated": [record],
    })
}

/// A bank with the PDQ hash of one demo image, in a store of its own.
fn store_with_bank() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let (dir, db) = own_store();
    let img = files("jpg");
    let h = one(&db, &["hash", "pdq", img.to_str().unwrap()]);
    let csv = dir.path().join("bank.csv");
    std::fs::write(&csv, format!("{},Sand Dune Gazette\n", h["hash"].as_str().unwrap())).unwrap();
    let created = one(&db, &["bank", "create", "TEST_BANK"]);
    check("bank create", &created, &json!({"name": "str", "created_at": "str"}));
    let imported = one(&db, &["bank", "import", "TEST_BANK", csv.to_str().unwrap(), "--type", "pdq"]);
    check(
        "bank import",
        &imported,
        &json!({"bank": "str", "file": "str", "lines": "int", "entries": "int", "added": "int",
                "existing": "int", "errors_total": "int", "errors": [{"line": "int", "error": "str"}]}),
    );
    assert_eq!(imported["added"], 1);
    (dir, db, img)
}

#[test]
fn demo() {
    check(
        "demo",
        &fixture().demo,
        &json!({
            "out": "str", "db": "str", "outlets_toml": "str", "truth_json": "str",
            "ingests": [{"export": "str", "summary": ingest_shape()}],
            "stats": {"sources": "int", "posts": "int", "media": "int", "fingerprints": "int"},
            "outlets": "int", "releases": "int", "sightings": "int", "silences": "int", "report": "str",
        }),
    );
}

#[test]
fn init() {
    let (_d, db) = own_store();
    check("init", &one(&db, &["init"]), &json!({"db": "str", "schema_version": "int"}));
}

#[test]
fn stats() {
    check(
        "stats",
        &one(&demo_db(), &["stats"]),
        &json!({"sources": "int", "posts": "int", "media": "int", "fingerprints": "int"}),
    );
}

#[test]
fn ingest() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let export = fixture().demo["ingests"][0]["export"].as_str().unwrap().to_owned();
    let (_, s) = crate::support::ingest_json(&db, "telegram", Path::new(&export), &[]);
    check("ingest", &s, &ingest_shape());
}

fn image() -> String {
    files("jpg").to_str().unwrap().to_owned()
}

#[test]
fn hash_pdq() {
    let (db, i) = (demo_db(), image());
    check(
        "hash pdq",
        &one(&db, &["hash", "pdq", &i]),
        &json!({"file": "str", "hash": "str", "quality": "int"}),
    );
    check(
        "hash pdq --dihedral",
        &one(&db, &["hash", "pdq", "--dihedral", &i]),
        &json!({"file": "str", "hash": "str", "quality": "int", "dihedral": ["str"]}),
    );
}

#[test]
fn hash_md5() {
    check("hash md5", &one(&demo_db(), &["hash", "md5", &image()]), &json!({"file": "str", "md5": "str"}));
}

#[test]
fn hash_sha256() {
    check(
        "hash sha256",
        &one(&demo_db(), &["hash", "sha256", &image()]),
        &json!({"file": "str", "sha256": "str"}),
    );
}

#[test]
fn hash_audio() {
    let wav = files("wav");
    check(
        "hash audio",
        &one(&demo_db(), &["hash", "audio", wav.to_str().unwrap()]),
        &json!({"file": "str", "duration": "num", "fingerprint": ["int"]}),
    );
}

#[test]
fn hash_text() {
    check(
        "hash text",
        &one(&demo_db(), &["hash", "text", "نص تجريبي للاختبار"]),
        &json!({"normalized": "str", "words": "int", "shingles": "int", "permutations": "int", "signature": "str"}),
    );
}

#[test]
fn hash_vpdq() {
    let dir = tempfile::tempdir().unwrap();
    let video = dir.path().join("v.mp4");
    let o = std::process::Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=128x96:rate=5:duration=2",
            "-pix_fmt",
            "yuv420p",
        ])
        .arg(&video)
        .output()
        .expect("ffmpeg is needed for this test (scripts/test installs it)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for frame in lines(&demo_db(), &["hash", "vpdq", video.to_str().unwrap()]) {
        check(
            "hash vpdq",
            &frame,
            &json!({"frame": "int", "quality": "int", "hash": "str", "timestamp": "num"}),
        );
    }
}

#[test]
fn bank_create_and_import() {
    // store_with_bank checks both shapes.
    let (_d, db, _) = store_with_bank();
    assert!(db.exists());
}

#[test]
fn bank_list() {
    let (_d, db, _) = store_with_bank();
    check(
        "bank list",
        &one(&db, &["bank", "list"]),
        &json!([{"name": "str", "hma_name": "str", "created_at": "str", "entries": {"<map>": "int"}, "total": "int"}]),
    );
}

#[test]
fn bank_export() {
    let (_d, db, _) = store_with_bank();
    let o = run(&db, &["bank", "export", "TEST_BANK", "--format", "jsonl"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 1, "{out}");
    for l in out.lines() {
        let v: Value = serde_json::from_str(l).unwrap();
        check("bank export", &v, &json!({"type": "str", "value": "str", "labels": {"<map>": "str"}}));
    }
}

#[test]
fn bank_delete() {
    let (_d, db, _) = store_with_bank();
    check("bank delete", &one(&db, &["bank", "delete", "TEST_BANK"]), &json!({"deleted": "str"}));
}

fn match_row_shape() -> Value {
    json!({"bank": "str", "signal_type": "str", "value": "str", "distance": "num", "labels": {"<map>": "str"},
           "entry_id": "int", "detail?": "any", "variant?": "str"})
}

#[test]
fn match_files_and_hashes() {
    let (dir, db, img) = store_with_bank();
    let wav = files("wav");
    let got = lines(&db, &["match", img.to_str().unwrap(), wav.to_str().unwrap()]);
    for v in &got {
        check(
            "match",
            v,
            &json!({"file": "str", "signals": {"<map>": "any"}, "matches": [match_row_shape()]}),
        );
    }
    assert_eq!(got[0]["matches"].as_array().map(Vec::len), Some(1), "{}", got[0]);
    assert!(got[0]["matches"][0]["distance"].is_u64(), "PDQ distances are whole bits: {}", got[0]);
    let hashes = dir.path().join("q.txt");
    std::fs::write(&hashes, format!("{}\n", got[0]["signals"]["pdq"].as_str().unwrap())).unwrap();
    let v = one(&db, &["match", "--type", "pdq", "--hashes", hashes.to_str().unwrap()]);
    check(
        "match --hashes",
        &v,
        &json!({"query": "str", "matches": [{"bank": "str", "value": "str", "distance": "int", "detail?": "any"}]}),
    );
}

#[test]
fn matches() {
    let (_d, db, _) = store_with_bank();
    let v = one(&db, &["matches", "--rescan"]);
    let post = json!({"source": "str", "post_id": "str", "posted_at": "str"});
    let item = json!({"media?": "str", "posts?": [post.clone()], "post?": post});
    check(
        "matches",
        &v,
        &json!([{"id": "int", "item": item, "bank": "str", "signal_type": "str", "value": "str", "distance": "num",
                 "labels": {"<map>": "str"}, "detail": "any", "matched_at": "str", "variant?": "str"}]),
    );
    assert!(!v.as_array().unwrap().is_empty(), "the bank's own image is in the store: {v}");
}

#[test]
fn outlets() {
    let (_d, db) = own_store();
    let toml = fixture().demo["outlets_toml"].as_str().unwrap().to_owned();
    check(
        "outlets import",
        &one(&db, &["outlets", "import", &toml]),
        &json!({"outlets": "int", "releases_attributed": "int"}),
    );
    check(
        "outlets list",
        &one(&db, &["outlets", "list"]),
        &json!([{"name": "str", "aliases": ["str"], "channels": ["str"], "region": "str?", "parent": "str?"}]),
    );
}

#[test]
fn releases() {
    let v = one(&demo_db(), &["releases"]);
    check(
        "releases",
        &v,
        &json!([{"id": "int", "outlet": "str?", "first_seen": "str", "last_seen": "str", "sightings": "int",
                 "channels": "int", "format": "str", "language": "str?", "evidence": {"rule": "str", "*": "any"}}]),
    );
    assert!(!v.as_array().unwrap().is_empty());
}

#[test]
fn analyze_timeline() {
    let row = json!({"bucket": "str", "key": "str?", "releases": "int", "sightings": "int", "label?": "str"});
    check(
        "timeline",
        &one(&demo_db(), &["analyze", "timeline", "--bucket", "week", "--by", "outlet"]),
        &json!([row]),
    );
    let v = one(&demo_db(), &["analyze", "timeline", "--bucket", "hijri-month"]);
    check(
        "timeline hijri",
        &v,
        &json!([{"bucket": "str", "key": "str?", "releases": "int", "sightings": "int", "label": "str"}]),
    );
}

#[test]
fn analyze_trend() {
    check(
        "trend",
        &one(&demo_db(), &["analyze", "trend", "--bucket", "month", "--by", "outlet"]),
        &json!([{"bucket": "str", "key": "str?", "label?": "str", "releases": "int", "change_pct": "num?",
                 "decline_from_peak_pct": "num", "rolling_3": "int", "partial": "bool"}]),
    );
}

#[test]
fn analyze_silences() {
    check(
        "silences",
        &one(&demo_db(), &["analyze", "silences", "--min-hours", "1"]),
        &json!([{"start": "str", "end": "str", "hours": "num"}]),
    );
}

#[test]
fn analyze_dormancy() {
    check(
        "dormancy",
        &one(&demo_db(), &["analyze", "dormancy", "--at", "2024-03-01", "--days", "30"]),
        &json!({"at": "str", "days": "num", "outlets": [{"outlet": "str", "last_release": "str?", "silent": "bool"}],
                "silent": ["str"], "silent_share": "num"}),
    );
}

#[test]
fn analyze_recycling() {
    check(
        "recycling",
        &one(
            &demo_db(),
            &["analyze", "recycling", "--from", "2020-01-01", "--to", "2030-01-01", "--min-age-days", "30"],
        ),
        &json!({"sightings": "int", "recycled": "int", "share": "num"}),
    );
}

#[test]
fn analyze_amplification() {
    let q = json!({"count": "int", "min": "num?", "p50": "num?", "p90": "num?", "p99": "num?", "max": "num?", "mean": "num?"});
    check(
        "amplification",
        &one(&demo_db(), &["analyze", "amplification"]),
        &json!({
            "releases": [{"id": "int", "outlet": "str?", "first_seen": "str", "sightings": "int", "channels": "int",
                          "hours_to_2nd": "num?", "hours_to_10th": "num?"}],
            "summary": {"releases": "int", "sightings": q, "channels": q, "hours_to_2nd": q, "hours_to_10th": q},
        }),
    );
}

#[test]
fn report() {
    let (dir, db) = own_store();
    let out = dir.path().join("r.html");
    check(
        "report",
        &one(&db, &["report", "--out", out.to_str().unwrap()]),
        &json!({"out": "str", "from": "str", "to": "str", "releases": "int", "sightings": "int", "silences": "int"}),
    );
}

#[test]
fn export() {
    let (dir, db) = own_store();
    let exp = dir.path().join("exp");
    check(
        "export",
        &one(&db, &["export", "--format", "csv", "--out", exp.to_str().unwrap()]),
        &json!({"files": ["str"], "releases": "int", "sightings": "int", "outlets": "int", "theme_codes": "int"}),
    );
}

#[test]
fn the_checker_refuses_what_it_should() {
    let shape = json!({"a": "int", "b?": "str?", "c": ["num"]});
    check("ok", &json!({"a": 1, "c": [1.5, 2]}), &shape);
    for bad in [
        json!({"a": "1", "c": []}),
        json!({"c": []}),
        json!({"a": 1, "c": [], "d": 0}),
        json!({"a": 1, "c": ["x"]}),
    ] {
        let r = std::panic::catch_unwind(|| check("bad", &bad, &shape));
        assert!(r.is_err(), "{bad} passed");
    }
}

#[test]
fn posts_history() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let jsonl = dir.path().join("posts.jsonl");
    let line = |text: &str| {
        json!({"platform": "x", "source": "a", "id": 1, "timestamp": "2024-01-31T12:00:00Z", "text": text})
            .to_string()
    };
    for text in ["first", "second"] {
        std::fs::write(&jsonl, line(text)).unwrap();
        let (ok, _) = crate::support::ingest_json(&db, "jsonl", &jsonl, &[]);
        assert!(ok);
    }
    check(
        "posts history",
        &one(&db, &["posts", "history", "x:a", "1"]),
        &json!({"source": "str", "post_id": "str", "posted_at": "str", "text": "str", "edited_at": "str?",
                "versions": [{"text": "str", "edited_at": "str?", "recorded_at": "str"}]}),
    );
}
