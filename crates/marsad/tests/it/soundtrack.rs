//! A video's soundtrack is fingerprinted by the one path ingest and
//! `marsad match` share: an audio bank entry made from a video's sound
//! matches the video given to `match` and the same video once ingested,
//! with the same matches.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::support::{ChatExport, ingest_json, run, stderr, stdout};

fn ffmpeg(out: &Path, args: &[&str]) {
    let o = Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(args)
        .arg(out)
        .output()
        .expect("ffmpeg is needed for this test (scripts/test installs it)");
    assert!(o.status.success(), "ffmpeg {args:?}: {}", String::from_utf8_lossy(&o.stderr));
}

fn json_of(db: &Path, args: &[&str]) -> Vec<Value> {
    let o = run(db, args);
    assert!(o.status.success(), "marsad {args:?}: {}", stderr(&o));
    stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// (bank, signal type, value) of each match.
fn keys<'a>(rows: impl Iterator<Item = &'a Value>) -> BTreeSet<(String, String, String)> {
    rows.map(|m| {
        let s = |k: &str| m[k].as_str().unwrap_or_default().to_owned();
        (s("bank"), s("signal_type"), s("value"))
    })
    .collect()
}

#[test]
fn a_videos_soundtrack_matches_at_ingest_as_in_match() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let mut e = ChatExport::new(&dir.path().join("export"), 1_000_000_077, "Soundtrack Channel");
    std::fs::create_dir_all(e.dir.join("video_files")).unwrap();
    let video = e.dir.join("video_files/clip.mp4");
    // A chirp, so that Chromaprint has something to hold on to.
    ffmpeg(
        &video,
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=160x120:rate=5:duration=8",
            "-f",
            "lavfi",
            "-i",
            "aevalsrc=sin(2*PI*(300+120*t)*t)*0.6:s=44100:d=8",
            "-shortest",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
        ],
    );
    e.push(json!({"id": 1, "type": "message", "date_unixtime": "1700000000", "file": "video_files/clip.mp4",
                  "media_type": "video_file", "mime_type": "video/mp4", "text": ""}));
    let export = e.write();

    // The bank entry: the soundtrack alone, extracted to a file of its own.
    let sound = dir.path().join("sound.wav");
    ffmpeg(&sound, &["-i", video.to_str().unwrap(), "-vn", "-ac", "1"]);
    let fp = json_of(&db, &["--json", "hash", "audio", sound.to_str().unwrap()]);
    let items: Vec<String> =
        fp[0]["fingerprint"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap().to_string()).collect();
    assert!(items.len() > 10, "too short a fingerprint: {fp:?}");
    let bank = dir.path().join("audio.csv");
    std::fs::write(&bank, format!("\"{}\",Fixture Outlet\n", items.join(","))).unwrap();
    let o = run(&db, &["bank", "import", "SOUNDS", bank.to_str().unwrap(), "--type", "audio", "--create"]);
    assert!(o.status.success(), "{}", stderr(&o));

    // `marsad match` on the video finds the entry by its soundtrack.
    let m = json_of(&db, &["match", video.to_str().unwrap()]);
    assert!(m[0]["signals"]["audio"].is_string(), "no soundtrack fingerprint: {}", m[0]);
    assert!(m[0]["signals"]["vpdq"].is_string(), "no vPDQ: {}", m[0]);
    let from_match = keys(m[0]["matches"].as_array().unwrap().iter());
    assert!(
        from_match.contains(&("SOUNDS".to_owned(), "audio".to_owned(), items.join(","))),
        "match found {from_match:?}"
    );

    // Ingest stores the same matches for the video.
    let (ok, s) = ingest_json(&db, "telegram", &export, &[]);
    assert!(ok, "{s}");
    assert_eq!(s["matches_added"], from_match.len() as u64, "{s}");
    let stored = json_of(&db, &["--json", "matches"]);
    let sha = m[0]["signals"]["sha256"].as_str().unwrap();
    let of_video: Vec<&Value> =
        stored[0].as_array().unwrap().iter().filter(|r| r["item"]["media"] == sha).collect();
    assert_eq!(keys(of_video.into_iter()), from_match);
}
