//! The caches beside a store (`marsad.db.pdq-index`, `marsad.db.observatory`)
//! answer only for the store they were built from, at the state they were
//! built from, and only when intact: a store made again at the same path,
//! a store file copied over another, a cache altered by one byte — each is
//! answered from the store, and the cache rewritten.

use marsad_store::prelude::*;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::*;

fn ok(db: &Path, args: &[&str]) -> String {
    let o = run(db, args);
    assert!(o.status.success(), "marsad {args:?} failed: {}", stderr(&o));
    stdout(&o)
}

fn beside(db: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}{suffix}", db.display()))
}

fn remove_store(db: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let p = beside(db, suffix);
        if p.exists() {
            std::fs::remove_file(&p).unwrap();
        }
    }
}

/// 64 hex digits from a seed (distinct seeds are far apart in Hamming
/// distance: every nibble differs).
fn hash(nibble: char) -> String {
    nibble.to_string().repeat(64)
}

/// A store at `db` with one bank of these PDQ hashes.
fn bank_store(db: &Path, hashes: &[String]) {
    ok(db, &["bank", "create", "known"]);
    let file = db.with_extension("csv");
    std::fs::write(&file, hashes.iter().map(|h| format!("{h}\n")).collect::<String>()).unwrap();
    ok(db, &["bank", "import", "known", file.to_str().unwrap(), "--type", "pdq"]);
}

/// What `marsad match` prints for these hashes.
fn match_output(db: &Path, queries: &[String]) -> String {
    let q = db.with_extension("queries");
    std::fs::write(&q, queries.iter().map(|h| format!("{h}\n")).collect::<String>()).unwrap();
    ok(db, &["match", "--type", "pdq", "--hashes", q.to_str().unwrap()])
}

/// `marsad match` of these hashes: per query, the matched values.
fn matched(db: &Path, queries: &[String]) -> Vec<Vec<String>> {
    match_output(db, queries)
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            v["matches"].as_array().unwrap().iter().map(|m| m["value"].as_str().unwrap().to_owned()).collect()
        })
        .collect()
}

#[test]
fn a_store_made_again_at_the_same_path_is_not_served_the_old_pdq_index() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let old = vec![hash('0'), hash('f')];
    let new = vec![hash('3'), hash('c')];
    let queries: Vec<String> = old.iter().chain(&new).cloned().collect();
    bank_store(&db, &old);
    assert_eq!(matched(&db, &queries), [vec![old[0].clone()], vec![old[1].clone()], vec![], vec![]]);
    let cache = beside(&db, ".pdq-index");
    assert!(cache.exists());
    let old_state = open(&db).bank_state().unwrap();
    // The store goes, its cache stays; a store made again at the same path
    // has the same counters (same generation, ids and count) but other
    // hashes.
    remove_store(&db);
    bank_store(&db, &new);
    assert!(cache.exists());
    assert_eq!(open(&db).bank_state().unwrap(), old_state, "the counters alone cannot tell the stores apart");
    assert_eq!(matched(&db, &queries), [vec![], vec![], vec![new[0].clone()], vec![new[1].clone()]]);
    // And the rewritten cache answers the same.
    assert_eq!(matched(&db, &queries), [vec![], vec![], vec![new[0].clone()], vec![new[1].clone()]]);
}

/// A store at `db` with one channel of these texts, one a day, grouped.
fn text_store(db: &Path, chat_id: i64, texts: &[&str]) {
    let mut e = ChatExport::new(&db.with_extension("export"), chat_id, "Channel");
    for (i, t) in texts.iter().enumerate() {
        e.push(text_message(i as i64 + 1, 1_700_000_000 + i as i64 * 86_400, t));
    }
    let (ok_, s) = ingest_json(db, "telegram", &e.write(), &[]);
    assert!(ok_, "{s}");
    ok(db, &["releases"]);
}

/// What the observatory answers: releases and a daily timeline.
fn observed(db: &Path) -> (Value, Value) {
    let releases = serde_json::from_str(&ok(db, &["--json", "releases"])).unwrap();
    let timeline =
        serde_json::from_str(&ok(db, &["--json", "analyze", "timeline", "--bucket", "day"])).unwrap();
    (releases, timeline)
}

const TEXTS: [&str; 3] = [
    "البيان الأول عن موضوع تجريبي لا صلة له بأي شيء حقيقي",
    "نشرة ثانية مختلفة تماما في كلماتها وموضوعها المصطنع",
    "رسالة ثالثة قصيرة أخرى لأغراض الاختبار فقط لا غير",
];

#[test]
fn a_store_copied_over_another_is_not_served_the_others_observatory() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.db");
    let target = dir.path().join("target.db");
    text_store(&source, 1_000_000_001, &TEXTS);
    text_store(&target, 1_000_000_002, &TEXTS[..1]);
    let want = observed(&source);
    let theirs = observed(&target);
    assert_eq!(want.0.as_array().unwrap().len(), 3);
    assert_eq!(theirs.0.as_array().unwrap().len(), 1);
    let generation = |db: &Path| open(db).releases_generation().unwrap();
    assert_eq!(generation(&source), generation(&target), "the generation alone cannot tell them apart");
    let cache = beside(&target, ".observatory");
    assert!(cache.exists());
    // The source's files over the target's; the target's cache stays.
    remove_store(&target);
    for suffix in ["", "-wal"] {
        if beside(&source, suffix).exists() {
            std::fs::copy(beside(&source, suffix), beside(&target, suffix)).unwrap();
        }
    }
    assert_eq!(observed(&target), want);
    assert_eq!(observed(&target), want, "from the rewritten cache");
}

/// Flips one bit of byte `at` of a file; returns the file as it was.
fn corrupt(path: &Path, at: usize) -> Vec<u8> {
    let good = std::fs::read(path).unwrap();
    let mut bad = good.clone();
    bad[at] ^= 0x01;
    std::fs::write(path, &bad).unwrap();
    good
}

#[test]
fn a_cache_altered_by_one_byte_is_rebuilt_and_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let hashes: Vec<String> = "0369cf".chars().map(hash).collect();
    bank_store(&db, &hashes);
    text_store(&db, 1_000_000_003, &TEXTS);
    // What the store answers with no cache beside it.
    let pdq_cache = beside(&db, ".pdq-index");
    let obs_cache = beside(&db, ".observatory");
    for c in [&pdq_cache, &obs_cache] {
        if c.exists() {
            std::fs::remove_file(c).unwrap();
        }
    }
    let want_matches = match_output(&db, &hashes);
    let want_observed = observed(&db);
    assert_eq!(matched(&db, &hashes).iter().map(Vec::len).sum::<usize>(), hashes.len());
    // In the bank index, a bit of the first indexed hash (after the header
    // of 80 bytes, the entry ids, and the index's own header): read as it
    // is, the index would answer at distance 1. In the observatory, a byte
    // in its releases.
    let first_hash = 80 + 8 + 8 * hashes.len() + 8 + 12 + 4;
    let obs_byte = std::fs::metadata(&obs_cache).unwrap().len() as usize * 3 / 4;
    for (cache, at) in [(&pdq_cache, first_hash), (&obs_cache, obs_byte)] {
        let good = corrupt(cache, at);
        assert_eq!(match_output(&db, &hashes), want_matches, "{}", cache.display());
        assert_eq!(observed(&db), want_observed, "{}", cache.display());
        assert_eq!(std::fs::read(cache).unwrap(), good, "{} rewritten valid", cache.display());
    }
}

/// Rewrites the cache at `path` with `edit` applied to its body and the
/// header's length and checksum recomputed, as someone who wants the file
/// read would: only the reader's own checks can refuse it.
fn forge(path: &Path, magic: [u8; 8], edit: impl FnOnce(&mut Vec<u8>)) {
    use marsad_store::cachefile::{self, CacheFormat, Provenance};
    let file = std::fs::read(path).unwrap();
    let version = u32::from_le_bytes(file[8..12].try_into().unwrap());
    let identity = marsad_store::StoreIdentity::from_bytes(file[12..28].try_into().unwrap());
    let n = u32::from_le_bytes(file[28..32].try_into().unwrap()) as usize;
    let state: Vec<i64> =
        file[32..32 + 8 * n].chunks_exact(8).map(|b| i64::from_le_bytes(b.try_into().unwrap())).collect();
    let mut body = file[32 + 8 * n + 24..].to_vec();
    edit(&mut body);
    let format = CacheFormat { magic, version };
    cachefile::write_atomic(path, &format, &Provenance { identity, state }, |w| {
        std::io::Write::write_all(w, &body)
    })
    .unwrap();
}

/// Warning lines of a run.
fn warnings(o: &std::process::Output) -> Vec<String> {
    stderr(o).lines().filter(|l| l.contains("WARN")).map(str::to_owned).collect()
}

#[test]
fn a_forged_pdq_index_pointing_hashes_at_other_entries_is_rebuilt_with_one_warning() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let hashes: Vec<String> = "0369".chars().map(hash).collect();
    bank_store(&db, &hashes);
    let want = match_output(&db, &hashes);
    let cache = beside(&db, ".pdq-index");
    let good = std::fs::read(&cache).unwrap();
    let n = hashes.len();
    // The body: skipped (8), count (8), entry ids (8 each); the index: magic
    // (8), three counts (4 each), the segment's size (4), its hashes (32
    // each), then the slot of each hash (4 each). Swapping two slots makes
    // each hash answer, at distance 0, for the other's entry; the checksum
    // is recomputed, so only the check against the store can catch it.
    let slots = 16 + 8 * n + 8 + 12 + 4 + 32 * n;
    forge(&cache, *b"MRSDBANK", |b| {
        let (first, second) = (b[slots..slots + 4].to_vec(), b[slots + 4..slots + 8].to_vec());
        b[slots..slots + 4].copy_from_slice(&second);
        b[slots + 4..slots + 8].copy_from_slice(&first);
    });
    let q = db.with_extension("queries");
    std::fs::write(&q, hashes.iter().map(|h| format!("{h}\n")).collect::<String>()).unwrap();
    let o = run(&db, &["match", "--type", "pdq", "--hashes", q.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), want, "every match to its own entry, at distance 0");
    let w = warnings(&o);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("pdq bank index") && w[0].contains("not the store's"), "{w:?}");
    assert_eq!(std::fs::read(&cache).unwrap(), good, "rewritten as built");
    // A slot out of range, and an entry count past the end of the file.
    for edit in [
        Box::new(|b: &mut Vec<u8>| b[slots..slots + 4].copy_from_slice(&1000u32.to_le_bytes()))
            as Box<dyn FnOnce(&mut Vec<u8>)>,
        Box::new(|b: &mut Vec<u8>| b[8..16].copy_from_slice(&(u64::MAX / 4).to_le_bytes())),
    ] {
        forge(&cache, *b"MRSDBANK", edit);
        let o = run(&db, &["match", "--type", "pdq", "--hashes", q.to_str().unwrap()]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(stdout(&o), want);
        assert_eq!(warnings(&o).len(), 1, "{}", stderr(&o));
        assert_eq!(std::fs::read(&cache).unwrap(), good);
    }
    // Once rebuilt, silent.
    let o = run(&db, &["match", "--type", "pdq", "--hashes", q.to_str().unwrap()]);
    assert!(warnings(&o).is_empty(), "{}", stderr(&o));
}

#[test]
fn a_forged_observatory_with_extreme_times_is_rebuilt_with_one_warning() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    text_store(&db, 1_000_000_004, &TEXTS);
    let want = observed(&db);
    let cache = beside(&db, ".observatory");
    let good = std::fs::read(&cache).unwrap();
    // The last 8 bytes of the body are the last sighting's time: the year
    // 292,277 (and a timeline of days reaching it) if it were believed.
    forge(&cache, *b"MRSDOBSV", |b| {
        let at = b.len() - 8;
        b[at..].copy_from_slice(&i64::MAX.to_le_bytes());
    });
    let o = run(&db, &["--json", "analyze", "timeline", "--bucket", "day"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(serde_json::from_str::<Value>(&stdout(&o)).unwrap(), want.1);
    let w = warnings(&o);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("observatory") && w[0].contains("out of range"), "{w:?}");
    assert_eq!(std::fs::read(&cache).unwrap(), good, "rewritten as built");
    assert_eq!(observed(&db), want);
}
