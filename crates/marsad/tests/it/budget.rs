//! One memory budget bounds what decoding holds, whatever the input: an
//! ingest of decompression bombs stays under the budget, an item over it on
//! its own is refused by name, and a report of a store spanning millennia
//! stays small.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{ChatExport, ingest_json, run, stderr};

/// Makes a file with ffmpeg from a lavfi source (`ffmpeg` is required: the
/// test fails loudly without it).
fn ffmpeg(args: &[&str], out: &Path) {
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i"])
        .args(args)
        .arg(out)
        .status()
        .expect("ffmpeg is required by this test (apt-get install ffmpeg)");
    assert!(status.success(), "ffmpeg failed making {}", out.display());
}

/// A still image of `size` in one colour and pixel format.
fn still(out: &Path, colour: &str, size: &str, pix_fmt: &str) {
    ffmpeg(&[&format!("color=c={colour}:s={size}:d=1"), "-frames:v", "1", "-pix_fmt", pix_fmt], out);
}

/// The peak resident memory of `child` (its `VmHWM`), read until it exits.
fn peak_rss_kib(child: &mut std::process::Child, limit: Duration) -> u64 {
    let status = format!("/proc/{}/status", child.id());
    let started = Instant::now();
    let mut peak = 0;
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("ingest ran past {limit:?}");
        }
        if let Ok(s) = std::fs::read_to_string(&status)
            && let Some(kib) = s
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak = peak.max(kib);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    peak
}

#[test]
fn an_ingest_of_decompression_bombs_stays_under_the_memory_budget() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = ChatExport::new(&dir.path().join("export"), 1_000_000_301, "Budget Channel");
    std::fs::create_dir_all(e.dir.join("photos")).unwrap();
    std::fs::create_dir_all(e.dir.join("video_files")).unwrap();
    // 16-bit 10000×10000 PNGs (600 MB of samples each: over the budget on
    // their own), 8-bit ones that fit one at a time, 8K videos.
    let files = [
        ("photos/a16.png", "gray", "10000x10000", "rgb48be"),
        ("photos/b16.png", "white", "10000x10000", "rgb48be"),
        ("photos/c8.png", "gray", "8000x8000", "rgba"),
        ("photos/d8.png", "white", "8000x8000", "rgb24"),
        ("photos/e16.png", "black", "6000x6000", "rgba64be"),
    ];
    for (rel, colour, size, fmt) in files {
        still(&e.dir.join(rel), colour, size, fmt);
    }
    for (rel, colour) in [("video_files/f.mp4", "red"), ("video_files/g.mp4", "blue")] {
        ffmpeg(
            &[&format!("color=c={colour}:s=7680x4320:r=4:d=2"), "-c:v", "mpeg4", "-q:v", "31"],
            &e.dir.join(rel),
        );
    }
    for (i, (rel, ..)) in files.iter().enumerate() {
        e.push(json!({"id": i + 1, "type": "message", "date_unixtime": (1_700_000_000 + i * 60).to_string(),
                      "photo": rel, "text": format!("still {i}")}));
    }
    // A 1080p video, hashed many frames at a time, beside the large stills:
    // its frames must not be hashed on a pool whose workers may be taking
    // the stills' reservations meanwhile.
    ffmpeg(
        &["testsrc2=s=1920x1080:r=10:d=3", "-c:v", "mpeg4", "-q:v", "31"],
        &e.dir.join("video_files/h.mp4"),
    );
    for (i, rel) in ["video_files/f.mp4", "video_files/g.mp4", "video_files/h.mp4"].iter().enumerate() {
        e.push(
            json!({"id": 10 + i, "type": "message", "date_unixtime": (1_700_001_000 + i * 60).to_string(),
                      "file": rel, "media_type": "video_file", "mime_type": "video/mp4", "text": "clip"}),
        );
    }
    // A 60 MB text.
    let long: String = "word ".repeat(12 << 20);
    e.push(json!({"id": 20, "type": "message", "date_unixtime": "1700002000", "text": long}));
    let export = e.write();
    drop(long);

    let db = dir.path().join("m.db");
    let mut child = crate::support::spawn_ingest(&db, &export, &["--json", "--memory", "512M"], false);
    let peak_kib = peak_rss_kib(&mut child, Duration::from_secs(600));
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    eprintln!("peak RSS of marsad ingest over the bombs: {} MiB", peak_kib / 1024);
    assert!(peak_kib < (512 + 200) * 1024, "peak RSS {} MiB, over the budget + 200 MiB", peak_kib / 1024);

    // Everything was read; the two 600 MB bombs were refused by name, what
    // fits was hashed.
    assert_eq!(summary["posts_added"], 9, "{summary}");
    assert_eq!(summary["media_added"], 8, "{summary}");
    let failures: Vec<String> = summary["fingerprint_failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["error"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(failures.len(), 2, "{failures:?}");
    for f in &failures {
        assert!(f.contains("10000x10000") && f.contains("over the memory budget of 512 MiB"), "{f}");
    }
    // 3 stills, 3 videos (vPDQ), 9 texts.
    assert_eq!(summary["fingerprints_added"], 3 + 3 + 9, "{summary}");
}

#[test]
fn an_image_over_the_budget_is_refused_and_hashes_with_a_larger_one() {
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("p.png");
    still(&photo, "gray", "3000x3000", "rgb48be");
    let lines = dir.path().join("posts.jsonl");
    let post = json!({"platform": "telegram", "source": "7", "id": 1, "timestamp": "2024-01-31T12:00:00Z",
                      "text": "", "media": ["p.png"]});
    std::fs::write(&lines, format!("{post}\n")).unwrap();
    let db = dir.path().join("m.db");
    let (ok, small) = ingest_json(&db, "jsonl", &lines, &["--memory", "32M"]);
    assert!(ok, "{small}");
    assert_eq!(small["fingerprint_errors"], 1, "{small}");
    let msg = small["fingerprint_failures"][0]["error"].as_str().unwrap();
    assert!(msg.contains("3000x3000") && msg.contains("over the memory budget of 32 MiB"), "{msg}");
    assert!(msg.contains("--memory"), "says how to raise it: {msg}");

    let db2 = dir.path().join("m2.db");
    let (ok, big) = ingest_json(&db2, "jsonl", &lines, &["--memory", "1G"]);
    assert!(ok, "{big}");
    assert_eq!(big["fingerprint_errors"], 0, "{big}");
    assert_eq!(big["fingerprints_added"], 1, "{big}");

    let o = run(&db, &["stats", "--memory", "1M"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("at least 16 MiB"), "{}", stderr(&o));
    let o = run(&db, &["stats", "--memory", "lots"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("invalid size"), "{}", stderr(&o));
}

#[test]
fn a_report_over_millennia_stays_small() {
    let dir = tempfile::tempdir().unwrap();
    let lines = dir.path().join("posts.jsonl");
    let posts = [
        json!({"platform": "telegram", "source": "1", "id": 1, "timestamp": "0001-01-01T00:00:00Z",
               "text": "placeholder text one two three four five"}),
        json!({"platform": "telegram", "source": "2", "id": 2, "timestamp": "9999-12-31T23:00:00Z",
               "text": "another placeholder text six seven eight nine"}),
    ];
    std::fs::write(&lines, posts.iter().map(|p| format!("{p}\n")).collect::<String>()).unwrap();
    let db = dir.path().join("m.db");
    let (ok, s) = ingest_json(&db, "jsonl", &lines, &[]);
    assert!(ok, "{s}");
    let out = dir.path().join("r.html");
    let o = run(&db, &["report", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.len() < 1_000_000, "report is {} bytes", html.len());
    // Both releases are still in it, and no chart has more than a bounded
    // number of marks.
    assert!(html.matches(r#"class="cell""#).count() <= 530 * 2, "heat map cells");
    assert!(html.contains("0001-01-01") && html.contains("9999-12-31"), "both ends shown");
}
