//! The shared store from the command line: the demo corpus ingested into
//! PostgreSQL gives exactly what it gives in SQLite — stats, releases and
//! their attribution, every analysis, matches, exports' tables — and the
//! store's URL never shows its password.

use std::path::Path;

use marsad_store_postgres::ScratchStore;
use serde_json::Value;

use crate::support::{marsad, stderr, stdout};

/// `marsad --db DB ARGS… --json`: its stdout, having succeeded.
pub(crate) fn json(db: &str, args: &[&str]) -> Value {
    let o = marsad().arg("--db").arg(db).args(args).arg("--json").output().expect("run marsad");
    assert!(o.status.success(), "marsad {args:?} on {db}: {}", stderr(&o));
    serde_json::from_str(stdout(&o).trim()).unwrap_or_else(|e| panic!("{args:?}: {e}: {}", stdout(&o)))
}

#[test]
fn the_demo_corpus_in_postgresql_gives_what_it_gives_in_sqlite() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("demo");
    let demo = json("unused.db", &["demo", "--out", out.to_str().expect("utf8")]);
    let sqlite = out.join("marsad.db").display().to_string();
    let scratch = ScratchStore::new().expect("the test database: PostgreSQL on 127.0.0.1:5432");
    let pg = scratch.url();
    for ingest in demo["ingests"].as_array().expect("ingests") {
        let export = ingest["export"].as_str().expect("path");
        let summary = json(pg, &["ingest", "telegram", export]);
        assert_eq!(summary["posts_added"], ingest["summary"]["posts_added"], "{export}");
        assert_eq!(summary["fingerprints_added"], ingest["summary"]["fingerprints_added"], "{export}");
    }
    let toml = demo["outlets_toml"].as_str().expect("registry");
    let imported = marsad().args(["--db", pg, "outlets", "import", toml]).output().expect("import");
    assert!(imported.status.success(), "{}", stderr(&imported));

    assert_same_catalogue(&sqlite, pg, dir.path());
    assert!(Path::new(&sqlite).exists());
}

/// Every reading command (stats, releases, outlets, matches, every
/// analysis) and the exported tables give the same on the store `other`
/// as on the SQLite store `sqlite`; `scratch` holds the exports.
pub(crate) fn assert_same_catalogue(sqlite: &str, other: &str, scratch: &Path) {
    assert_same_catalogue_as(sqlite, other, scratch, false)
}

/// [`assert_same_catalogue`], but with `without_ids` release ids left out
/// of the comparison: the queue's workers write an export's posts in
/// another order than one process does, and release ids follow the posts'
/// ids. Every other field of every release, sighting and analysis is
/// compared, as a set where ids would have ordered ties.
pub(crate) fn assert_same_catalogue_as(sqlite: &str, other: &str, scratch: &Path, without_ids: bool) {
    let pg = other;
    let view = |v: Value| if without_ids { idless(v) } else { v };
    let at = "2016-01-01T00:00:00Z";
    let commands: Vec<Vec<&str>> = vec![
        vec!["stats"],
        vec!["releases"],
        vec!["outlets", "list"],
        vec!["matches"],
        vec!["analyze", "timeline", "--bucket", "week", "--by", "outlet"],
        vec!["analyze", "timeline", "--bucket", "day", "--by", "format"],
        vec!["analyze", "trend", "--bucket", "month", "--by", "outlet"],
        vec!["analyze", "silences", "--min-hours", "24"],
        vec!["analyze", "dormancy", "--at", at, "--days", "30"],
        vec!["analyze", "recycling", "--from", "2015-06-01T00:00:00Z", "--to", at, "--min-age-days", "30"],
        vec!["analyze", "amplification"],
        vec!["releases", "--official-only", "--format", "video"],
    ];
    for args in &commands {
        let (want, got) = (view(json(sqlite, args)), view(json(pg, args)));
        assert_eq!(got, want, "marsad {args:?}: PostgreSQL differs from SQLite");
    }
    let releases = json(pg, &["releases"]);
    assert!(releases.as_array().is_some_and(|r| r.len() > 100), "the demo has its releases: {releases}");

    // Export's tables, row for row.
    for (db, name) in [(sqlite, "a"), (pg, "b")] {
        let folder = scratch.join(name);
        json(db, &["export", "--out", folder.to_str().expect("utf8"), "--format", "csv"]);
    }
    for table in ["releases", "sightings", "outlets"] {
        let read = |name: &str| std::fs::read_to_string(scratch.join(name).join(format!("{table}.csv")));
        let (a, b) = (read("a").expect("sqlite export"), read("b").expect("postgres export"));
        if without_ids {
            assert_eq!(idless_csv(&a), idless_csv(&b), "{table}.csv");
        } else {
            assert_eq!(a, b, "{table}.csv");
        }
    }
}

#[test]
fn a_postgresql_url_is_shown_without_its_password() {
    let o = marsad()
        .args(["--db", "postgres://marsad:s3cret-pass@127.0.0.1:1/none", "stats"])
        .output()
        .expect("run marsad");
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("127.0.0.1:1") && !e.contains("s3cret-pass"), "{e}");
}

/// `v` without its `id` and `release_id` keys, every array sorted.
fn idless(v: Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(k, _)| k != "id" && k != "release_id")
                .map(|(k, v)| (k, idless(v)))
                .collect(),
        ),
        Value::Array(items) => {
            let mut items: Vec<Value> = items.into_iter().map(idless).collect();
            items.sort_by_cached_key(|v| v.to_string());
            Value::Array(items)
        }
        other => other,
    }
}

/// A CSV table without its first column when that is a release id, its
/// rows sorted.
fn idless_csv(text: &str) -> Vec<String> {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let drop = header.starts_with("id,") || header.starts_with("release_id,");
    let mut rows: Vec<String> = lines
        .map(|l| if drop { l.split_once(',').map_or(l, |(_, rest)| rest).to_owned() } else { l.to_owned() })
        .collect();
    rows.sort();
    rows.insert(0, header.to_owned());
    rows
}
