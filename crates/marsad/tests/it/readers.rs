//! Readers during a write: `analyze`, `report` and every reading command
//! run while an ingest writes, and `bank import` during an ingest is all
//! or nothing.
//!
//! The ingest reads its JSON lines from a pipe that the test fills one
//! batch at a time with a pause between batches, so that the ingest keeps
//! committing for as long as the readers run: its pace, not a wait for an
//! event (nothing asserted depends on how long anything takes).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use serde_json::Value;

use crate::support::{marsad, run, stderr, stdout};

/// Posts of the ingest, and how many lines the test writes at a time (one
/// batch of the ingest).
const POSTS: usize = 40_000;
const CHUNK: usize = 250;
/// The pause between chunks: the ingest lasts at least 160 × 25 ms = 4 s,
/// several grouping runs.
const PACE: std::time::Duration = std::time::Duration::from_millis(25);

/// JSON line `i`: five channels, one post a minute; one post in ten
/// repeats one of 300 long texts, so releases of several posts form (and
/// later posts join, or merge, releases made by earlier runs).
fn line(i: usize) -> String {
    const WORDS: [&str; 12] =
        ["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta", "zeta", "iota", "rho", "tau"];
    let text = if i.is_multiple_of(10) {
        let k = (i / 10) % 300;
        (0..12).map(|j| format!("{}{k}", WORDS[(k * 7 + j) % 12])).collect::<Vec<_>>().join(" ")
    } else {
        format!("{} {} post{i}", WORDS[i % 12], WORDS[(i / 12) % 12])
    };
    let time = 1_700_000_000 + i as i64 * 60;
    let timestamp = chrono::DateTime::from_timestamp(time, 0).unwrap().to_rfc3339();
    serde_json::json!({
        "platform": "telegram", "source": (1_000_000_001 + i % 5).to_string(), "id": i,
        "timestamp": timestamp, "text": text,
    })
    .to_string()
}

fn all_lines() -> String {
    (0..POSTS).map(|i| line(i) + "\n").collect()
}

/// An ingest of JSON lines from standard input, into `db`.
fn ingest_from_pipe(db: &Path, extra: &[&str]) -> Child {
    marsad()
        .arg("--db")
        .arg(db)
        .args(["ingest", "jsonl", "/dev/stdin", "--json", "--batch-size", "250"])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the ingest")
}

fn finish(child: Child) -> Output {
    child.wait_with_output().expect("wait for the ingest")
}

/// Runs a reading command, which must succeed, and parses its JSON.
fn read(db: &Path, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let o = run(db, &all);
    assert!(o.status.success(), "marsad {} failed during the ingest: {}", args.join(" "), stderr(&o));
    let out = stdout(&o);
    serde_json::from_str(out.trim())
        .unwrap_or_else(|e| panic!("marsad {}: not JSON ({e}): {out}", args.join(" ")))
}

fn sum(rows: &Value, key: &str) -> u64 {
    rows.as_array().expect("rows").iter().map(|r| r[key].as_u64().expect("count")).sum()
}

/// What one round of readers saw.
#[derive(Clone, Debug, PartialEq)]
struct Round {
    posts: u64,
    /// Sightings by the timeline, the report and the releases (every post
    /// of this feed is its own sighting, so a grouped post adds one).
    sightings: [u64; 3],
}

/// Every reading command once; the counts it returns.
fn round(db: &Path, out: &Path) -> Round {
    let posts = read(db, &["stats"])["posts"].as_u64().expect("posts");
    let timeline = read(db, &["analyze", "timeline", "--bucket", "month", "--by", "source"]);
    read(db, &["analyze", "trend", "--bucket", "month"]);
    read(db, &["analyze", "silences", "--min-hours", "1"]);
    read(db, &["analyze", "amplification"]);
    let report = read(db, &["report", "--out", out.to_str().expect("utf8 path")]);
    let releases = read(db, &["releases"]);
    read(db, &["bank", "list"]);
    read(db, &["matches"]);
    Round {
        posts,
        sightings: [
            sum(&timeline, "sightings"),
            report["sightings"].as_u64().expect("sightings"),
            sum(&releases, "sightings"),
        ],
    }
}

/// Releases as a comparable set: ids depend on the order runs made them.
fn release_set(db: &Path) -> Vec<String> {
    let mut set: Vec<String> = read(db, &["releases"])
        .as_array()
        .expect("releases")
        .iter()
        .map(|r| format!("{} {} {} {}", r["first_seen"], r["last_seen"], r["sightings"], r["channels"]))
        .collect();
    set.sort();
    set
}

/// Feeds `text`'s lines to `stdin`, `CHUNK` at a time, at the test's pace.
fn feed(mut stdin: std::process::ChildStdin, text: &str) {
    let lines: Vec<&str> = text.lines().collect();
    for chunk in lines.chunks(CHUNK) {
        let mut bytes = chunk.join("\n");
        bytes.push('\n');
        stdin.write_all(bytes.as_bytes()).expect("write to the ingest");
        stdin.flush().expect("flush");
        std::thread::sleep(PACE);
    }
}

#[test]
fn analyze_and_report_never_fail_during_an_ingest() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("marsad.db");
    let out = dir.path().join("report.html");
    // The store exists before the readers start (a reader creates an empty
    // one otherwise, which is fine too, but then races the ingest's
    // migration for nothing).
    assert!(run(&db, &["init"]).status.success());
    let mut ingest = ingest_from_pipe(&db, &[]);
    let stdin = ingest.stdin.take().expect("stdin");

    let done = Arc::new(AtomicBool::new(false));
    let readers = {
        let (db, out, done) = (db.clone(), out.clone(), done.clone());
        std::thread::spawn(move || {
            let mut rounds = Vec::new();
            while !done.load(Ordering::SeqCst) {
                rounds.push(round(&db, &out));
            }
            rounds
        })
    };
    feed(stdin, &all_lines());
    let ingested = finish(ingest);
    done.store(true, Ordering::SeqCst);
    let rounds = readers.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
    assert!(ingested.status.success(), "the ingest failed: {}", stderr(&ingested));
    let summary: Value = serde_json::from_str(stdout(&ingested).trim()).expect("summary");
    assert_eq!(summary["posts_added"], POSTS);

    assert!(
        rounds.iter().any(|r| r.posts > 0 && (r.posts as usize) < POSTS),
        "some rounds ran while the ingest was part way: {rounds:?}"
    );
    for (i, w) in rounds.windows(2).enumerate() {
        assert!(w[1].posts >= w[0].posts, "posts decreased after round {i}: {rounds:?}");
        for k in 0..3 {
            assert!(
                w[1].sightings[k] >= w[0].sightings[k],
                "sightings decreased after round {i}: {rounds:?}"
            );
        }
    }
    for r in &rounds {
        // Each command groups what it sees: none can show more grouped
        // posts than the store held just before.
        assert!(r.sightings.iter().all(|&s| s <= POSTS as u64), "{r:?}");
    }

    // After the ingest: everything grouped, and the same releases as a
    // store that grouped the whole feed at once.
    let last = round(&db, &out);
    assert_eq!(last, Round { posts: POSTS as u64, sightings: [POSTS as u64; 3] });
    let whole = dir.path().join("whole.db");
    let feed_file = dir.path().join("feed.jsonl");
    std::fs::write(&feed_file, all_lines()).unwrap();
    let o = run(&whole, &["ingest", "jsonl", feed_file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(release_set(&db), release_set(&whole), "grouped during the ingest = grouped after it");
}

/// A bank file of `n` MD5 entries.
fn bank_file(dir: &Path, n: usize) -> PathBuf {
    let path = dir.join("bank.csv");
    let text: String = (0..n).map(|i| format!("{i:032x}\n")).collect();
    std::fs::write(&path, text).unwrap();
    path
}

/// Entries of bank `name`, or `None` when there is no such bank.
fn bank_total(db: &Path, name: &str) -> Option<u64> {
    read(db, &["bank", "list"])
        .as_array()
        .expect("banks")
        .iter()
        .find(|b| b["name"] == name)
        .map(|b| b["total"].as_u64().expect("total"))
}

/// The message of a bank import that gave up waiting for the store.
fn says_nothing_was_imported(err: &str) {
    assert!(err.contains("locked by another writer"), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");
}

#[test]
fn a_bank_import_during_an_ingest_imports_all_or_nothing() {
    const ENTRIES: usize = 60_000; // two chunks of the bank reader
    // Each import holds the write lock for a while, which the ingest waits
    // out: a few are enough.
    const IMPORTS: usize = 4;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("marsad.db");
    let bank = bank_file(dir.path(), ENTRIES);
    assert!(run(&db, &["init"]).status.success());
    let mut ingest = ingest_from_pipe(&db, &[]);
    let stdin = ingest.stdin.take().expect("stdin");
    let done = Arc::new(AtomicBool::new(false));
    let importer = {
        let (db, bank, done) = (db.clone(), bank.clone(), done.clone());
        std::thread::spawn(move || {
            let mut outcomes = Vec::new();
            while !done.load(Ordering::SeqCst) && outcomes.len() < IMPORTS {
                let name = format!("b{}", outcomes.len());
                let args = ["bank", "import", &name, bank.to_str().unwrap(), "--type", "md5", "--create"];
                outcomes.push((name.clone(), run(&db, &args)));
            }
            outcomes
        })
    };
    feed(stdin, &all_lines());
    let ingested = finish(ingest);
    done.store(true, Ordering::SeqCst);
    let outcomes = importer.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
    assert!(outcomes.len() > 1, "imports ran during the ingest");
    assert!(ingested.status.success(), "the ingest failed during the imports: {}", stderr(&ingested));
    for (name, o) in &outcomes {
        match bank_total(&db, name) {
            Some(n) => {
                assert!(o.status.success(), "{}", stderr(o));
                assert_eq!(n, ENTRIES as u64, "bank {name}: all the entries");
            }
            None => {
                assert!(!o.status.success(), "bank {name} imported but absent");
                says_nothing_was_imported(&stderr(o));
            }
        }
    }
}

#[test]
fn a_bank_import_stopped_part_way_leaves_nothing() {
    // More lines than one chunk of the bank reader (50,000): when writing
    // them all to the import's standard input returns, the import has read
    // past the first chunk (the pipe holds 64 KiB at most), so it has
    // handed that chunk to the store. Killed then, it must leave nothing.
    const ENTRIES: usize = 60_000;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("marsad.db");
    assert!(run(&db, &["init"]).status.success());
    let mut import = marsad()
        .arg("--db")
        .arg(&db)
        .args(["bank", "import", "cut", "-", "--type", "md5", "--create"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = import.stdin.take().unwrap();
    let text: String = (0..ENTRIES).map(|i| format!("{i:032x}\n")).collect();
    stdin.write_all(text.as_bytes()).unwrap();
    import.kill().unwrap();
    import.wait().unwrap();
    drop(stdin);
    assert_eq!(bank_total(&db, "cut"), None, "a killed import leaves no bank and no entry");
}

#[test]
fn a_bank_import_that_cannot_get_the_store_says_so_and_imports_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("marsad.db");
    let bank = bank_file(dir.path(), 1_000);
    assert!(run(&db, &["bank", "create", "known"]).status.success());
    // Another writer holds the store's write lock.
    let writer = rusqlite::Connection::open(&db).unwrap();
    writer.execute_batch("BEGIN IMMEDIATE").unwrap();
    for (name, create) in [("new", true), ("known", false)] {
        let mut args = vec!["bank", "import", name, bank.to_str().unwrap(), "--type", "md5"];
        if create {
            args.push("--create");
        }
        let o = Command::new(env!("CARGO_BIN_EXE_marsad"))
            .env_remove("MARSAD_DB")
            .env("MARSAD_BUSY_TIMEOUT", "0.2")
            .arg("--db")
            .arg(&db)
            .args(&args)
            .output()
            .unwrap();
        assert!(!o.status.success(), "imported although the store was locked");
        let err = stderr(&o);
        says_nothing_was_imported(&err);
        assert!(err.contains("for more than 1 s"), "how long it waited: {err}");
    }
    writer.execute_batch("ROLLBACK").unwrap();
    assert_eq!(bank_total(&db, "new"), None, "no bank made");
    assert_eq!(bank_total(&db, "known"), Some(0), "no entry added");

    let o = Command::new(env!("CARGO_BIN_EXE_marsad"))
        .env("MARSAD_BUSY_TIMEOUT", "soon")
        .arg("--db")
        .arg(&db)
        .arg("stats")
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(stderr(&o).contains("MARSAD_BUSY_TIMEOUT \"soon\" is not a number of seconds"), "{}", stderr(&o));
}
