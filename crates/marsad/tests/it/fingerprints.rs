//! Ingestion fingerprints every item: PDQ for images, vPDQ for video and
//! animated GIFs, Chromaprint for audio, MinHash for text — the same values
//! `marsad hash` prints — and `--no-fingerprints` keeps digests only.

use std::path::Path;

use marsad_core::{Platform, SignalType, SourceKey};
use marsad_store::prelude::*;
use serde_json::json;

use crate::support::*;

fn ffmpeg(out: &Path, args: &[&str]) {
    let status = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y"])
        .args(args)
        .arg(out)
        .status()
        .expect("ffmpeg is needed (scripts/test installs it)");
    assert!(status.success(), "ffmpeg {args:?}");
}

fn export(dir: &Path) -> ChatExport {
    let mut e = ChatExport::new(dir, 1_000_000_042, "Fixture Channel");
    let photo = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/conformance/pdq/images/real_coffee_q75.jpg"),
    )
    .expect("conformance image");
    e.file("photos/photo_1.jpg", &photo);
    std::fs::create_dir_all(dir.join("video_files")).unwrap();
    std::fs::create_dir_all(dir.join("voice_messages")).unwrap();
    std::fs::create_dir_all(dir.join("files")).unwrap();
    ffmpeg(
        &dir.join("video_files/clip.mp4"),
        &["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10:duration=3", "-pix_fmt", "yuv420p"],
    );
    ffmpeg(
        &dir.join("voice_messages/voice.ogg"),
        &["-f", "lavfi", "-i", "sine=frequency=440:beep_factor=4:duration=8", "-c:a", "libopus"],
    );
    ffmpeg(&dir.join("files/anim.gif"), &["-f", "lavfi", "-i", "testsrc=size=64x48:rate=5:duration=3"]);
    e.push(json!({"id": 1, "type": "message", "date_unixtime": "1700000000", "photo": "photos/photo_1.jpg",
                  "text": "صورة من المدينة الشمالية هذا الصباح"}))
        .push(json!({"id": 2, "type": "message", "date_unixtime": "1700000060", "file": "video_files/clip.mp4",
                     "media_type": "video_file", "mime_type": "video/mp4", "text": ""}))
        .push(json!({"id": 3, "type": "message", "date_unixtime": "1700000120", "file": "voice_messages/voice.ogg",
                     "media_type": "voice_message", "mime_type": "audio/ogg", "text": ""}))
        .push(json!({"id": 4, "type": "message", "date_unixtime": "1700000180", "file": "files/anim.gif",
                     "media_type": "animation", "mime_type": "image/gif", "text": "animation"}));
    e.write();
    e
}

fn marsad_hash_line(args: &[&str], file: &Path) -> String {
    let o = marsad().args(["hash"]).args(args).arg(file).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o)
}

#[test]
fn every_kind_is_fingerprinted_as_marsad_hash_does() {
    let dir = tempfile::tempdir().unwrap();
    let e = export(&dir.path().join("export"));
    let db = dir.path().join("m.db");
    let (ok, summary) = ingest_json(&db, "telegram", &e.dir, &[]);
    assert!(ok, "{summary}");
    assert_eq!(summary["fingerprint_errors"], 0, "{summary}");
    let store = open(&db);
    let key = SourceKey { platform: Platform::telegram(), platform_id: "1000000042".into() };
    let posts = store.posts_of_source(&key).unwrap();
    assert_eq!(posts.len(), 4);
    let media_of =
        |i: usize| store.media(&posts[i].media[0].sha256.expect("present")).unwrap().expect("stored");

    let photo = media_of(0);
    assert_eq!(photo.fingerprints.len(), 1);
    let pdq_line = marsad_hash_line(&["pdq"], &e.dir.join("photos/photo_1.jpg"));
    let mut parts = pdq_line.split(',');
    assert_eq!(
        (photo.fingerprints[0].signal_type, photo.fingerprints[0].value.as_str()),
        (SignalType::Pdq, parts.next().unwrap())
    );
    assert_eq!(photo.fingerprints[0].quality.map(|q| q.to_string()).as_deref(), parts.next());

    let video = media_of(1);
    assert_eq!(video.fingerprints.len(), 1);
    assert_eq!(video.fingerprints[0].signal_type, SignalType::Vpdq);
    let features = marsad_hash::vpdq::parse_signal(&video.fingerprints[0].value).expect("vpdq signal");
    let lines = marsad_hash_line(&["vpdq"], &e.dir.join("video_files/clip.mp4"));
    let from_cli = marsad_hash::vpdq::parse_lines(&lines).unwrap();
    assert_eq!(features.len(), 3);
    assert_eq!(
        features.iter().map(|f| f.hash).collect::<Vec<_>>(),
        from_cli.iter().map(|f| f.hash).collect::<Vec<_>>()
    );

    let voice = media_of(2);
    assert_eq!(voice.fingerprints[0].signal_type, SignalType::Audio);
    let audio = marsad_hash_line(&["audio"], &e.dir.join("voice_messages/voice.ogg"));
    let fp_line = audio.lines().find_map(|l| l.strip_prefix("FINGERPRINT=")).unwrap();
    assert_eq!(voice.fingerprints[0].value, fp_line);

    let gif = media_of(3);
    let types: Vec<(SignalType, bool)> =
        gif.fingerprints.iter().map(|f| (f.signal_type, f.variant.is_some())).collect();
    // ffmpeg writes palette GIFs: python-threatexchange's PDQ (of the first
    // frame's palette indices) is kept beside marsad's own.
    assert_eq!(
        types,
        [(SignalType::Pdq, false), (SignalType::Pdq, true), (SignalType::Vpdq, false)],
        "an animated GIF gets PDQ (both variants) and vPDQ"
    );
    let pytx_line = marsad_hash_line(&["pdq", "--compat", "pytx"], &e.dir.join("files/anim.gif"));
    assert_eq!(gif.fingerprints[1].value, pytx_line.split(',').next().unwrap());

    // Text signatures: two posts have text.
    let stats = store.stats().unwrap();
    assert_eq!(stats.fingerprints, 1 + 1 + 1 + 3 + 2);
}

#[test]
fn no_fingerprints_keeps_digests_only_and_a_later_ingest_adds_them() {
    let dir = tempfile::tempdir().unwrap();
    let e = export(&dir.path().join("export"));
    let db = dir.path().join("m.db");
    let (ok, s) = ingest_json(&db, "telegram", &e.dir, &["--no-fingerprints"]);
    assert!(ok);
    assert_eq!((s["posts_added"].as_u64(), s["media_added"].as_u64()), (Some(4), Some(4)));
    assert_eq!(stats(&db).fingerprints, 0);
    let (ok, s) = ingest_json(&db, "telegram", &e.dir, &[]);
    assert!(ok);
    assert_eq!(s["posts_existing"], 4);
    assert_eq!(stats(&db).fingerprints, 8, "{s}");
}
