//! Ingest reads only inside the export it is given: paths that climb out,
//! absolute paths, links pointing elsewhere and special files are refused
//! and reported, the posts kept, and nothing of them read, hashed or copied.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{ChatExport, png_bytes, stderr};

#[test]
fn media_outside_the_export_is_refused_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret.png");
    std::fs::write(&secret, png_bytes(201)).unwrap();
    let mut e = ChatExport::new(&dir.path().join("export"), 1_000_000_091, "Confined Channel");
    e.file("photos/ok.png", &png_bytes(7));
    let photos = e.dir.join("photos");
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&secret, photos.join("link.png")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", photos.join("zero.png")).unwrap();
        let fifo = photos.join("fifo.png");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
        assert!(made.success());
    }
    let absolute = secret.display().to_string();
    let refs = [
        "photos/ok.png".to_owned(),
        "../secret.png".to_owned(),
        absolute,
        "photos/link.png".to_owned(),
        "photos/zero.png".to_owned(),
        "photos/fifo.png".to_owned(),
    ];
    for (i, r) in refs.iter().enumerate() {
        e.push(json!({"id": i + 1, "type": "message", "date_unixtime": (1_700_000_000 + i * 60).to_string(),
                      "photo": r, "text": format!("post {i}")}));
    }
    let export = e.write();
    let db = dir.path().join("m.db");

    let mut child = crate::support::spawn_ingest(&db, &export, &["--json", "--retain-media"], false);
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("ingest hung on a special file");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let s: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s["posts_added"], 6, "every post is kept: {s}");
    assert_eq!(s["media_added"], 1, "only the file inside the export: {s}");
    assert_eq!(s["media_missing"], 5, "{s}");
    let reasons: Vec<&str> =
        s["missing_media"].as_array().unwrap().iter().filter_map(|m| m["error"].as_str()).collect();
    assert_eq!(reasons.iter().filter(|r| r.contains("refused")).count(), 5, "{reasons:#?}");

    // Nothing of the secret was hashed or copied.
    let mut d = marsad_hash::digest::ExactDigests::new();
    d.update(&std::fs::read(&secret).unwrap());
    let secret_sha = d.finish().sha256_hex();
    let store = rusqlite::Connection::open(&db).unwrap();
    let n: i64 = store
        .query_row("SELECT count(*) FROM media WHERE hex(sha256) = upper(?1)", [&secret_sha], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0);
    let retained: Vec<_> = crate::support::files_under(&dir.path().join("m.media"));
    assert_eq!(retained.len(), 1, "{retained:?}");
    assert!(!retained.iter().any(|p| p.file_name().is_some_and(|n| n.to_string_lossy() == secret_sha)));
}

/// The SHA-256 of a file, hex.
fn sha256_of(path: &std::path::Path) -> String {
    let mut d = marsad_hash::digest::ExactDigests::new();
    let mut f = std::fs::File::open(path).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = std::io::Read::read(&mut f, &mut buf).unwrap();
        if n == 0 {
            break;
        }
        d.update(&buf[..n]);
    }
    d.finish().sha256_hex()
}

#[test]
fn a_media_file_over_the_size_bound_is_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = ChatExport::new(&dir.path().join("export"), 1_000_000_092, "Sparse Channel");
    e.file("photos/ok.png", &png_bytes(9));
    // A sparse file claiming 5 GiB: reading or copying it would take
    // minutes and fill the disk.
    let huge = e.dir.join("files/huge.bin");
    std::fs::create_dir_all(huge.parent().unwrap()).unwrap();
    std::fs::File::create(&huge).unwrap().set_len(5 << 30).unwrap();
    e.push(json!({"id": 1, "type": "message", "date_unixtime": "1700000000", "photo": "photos/ok.png", "text": "a"}));
    e.push(json!({"id": 2, "type": "message", "date_unixtime": "1700000060", "file": "files/huge.bin", "text": "b"}));
    let export = e.write();
    let db = dir.path().join("m.db");
    let (ok, s) = crate::support::ingest_json(&db, "telegram", &export, &["--retain-media"]);
    assert!(ok, "{s}");
    assert_eq!(s["posts_added"], 2, "{s}");
    assert_eq!(s["media_added"], 1, "{s}");
    assert_eq!(s["media_missing"], 1, "{s}");
    let reason = s["missing_media"][0]["error"].as_str().unwrap();
    assert!(reason.contains("over the limit") && reason.contains("bytes for a media file"), "{reason}");
    let retained = crate::support::files_under(&dir.path().join("m.media"));
    assert_eq!(retained.len(), 1, "{retained:?}");
}

#[cfg(target_os = "linux")]
#[test]
fn a_killed_ingest_leaves_no_partial_copy_behind() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = ChatExport::new(&dir.path().join("export"), 1_000_000_093, "Killed Channel");
    // A 3 GiB sparse file: copying it takes long enough to be killed
    // part-way.
    let big = e.dir.join("files/big.bin");
    std::fs::create_dir_all(big.parent().unwrap()).unwrap();
    std::fs::File::create(&big).unwrap().set_len(3 << 30).unwrap();
    e.push(json!({"id": 1, "type": "message", "date_unixtime": "1700000000", "file": "files/big.bin", "text": "x"}));
    let export = e.write();
    let db = dir.path().join("m.db");
    let media = dir.path().join("m.media");
    let mut child =
        crate::support::spawn_ingest(&db, &export, &["--retain-media", "--no-fingerprints"], true);
    // Wait until the copy is under way (its folder exists and the disk is
    // being written), then kill without warning.
    let started = Instant::now();
    while !media.exists() && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(300));
    let finished_early = child.try_wait().unwrap().is_some();
    child.kill().unwrap();
    let _ = child.wait();
    assert!(!finished_early, "the ingest finished before it could be killed: make the file larger");
    // Whatever is in the retention folder is a complete, content-addressed
    // copy: no temporary file is left.
    for f in crate::support::files_under(&media) {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(name, sha256_of(&f), "a partial copy was left behind: {}", f.display());
    }
}
