//! The fingerprint stage: called once per distinct media item, never for an
//! item the store has already fingerprinted, its results stored, its
//! failures reported without losing the record.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use marsad_core::{MediaKind, SignalType};
use marsad_ingest::{Fingerprinter, IngestConfig};
use marsad_store::NewFingerprint;
use marsad_store::prelude::*;
use marsad_store_sqlite::SqliteStore;
use serde_json::json;

/// Counts calls per file content; fails on files whose content starts
/// with "bad".
#[derive(Default)]
struct Counting {
    calls: Mutex<HashMap<Vec<u8>, usize>>,
    texts: Mutex<usize>,
}

impl Fingerprinter for Counting {
    fn media(
        &self,
        kind: MediaKind,
        path: &Path,
        bytes: Option<&[u8]>,
    ) -> Result<Vec<NewFingerprint>, String> {
        let content = std::fs::read(path).map_err(|e| e.to_string())?;
        if kind == MediaKind::Image {
            assert_eq!(bytes, Some(content.as_slice()), "images are handed over as bytes");
        } else {
            assert!(bytes.is_none(), "video and audio are handed over by path");
        }
        *self.calls.lock().unwrap().entry(content.clone()).or_default() += 1;
        if content.starts_with(b"bad") {
            return Err("cannot decode: planted failure".to_owned());
        }
        Ok(vec![NewFingerprint {
            signal_type: SignalType::Pdq,
            value: format!("{:064x}", content.len()),
            quality: Some(90),
            variant: None,
        }])
    }

    fn text(&self, text: &str) -> Vec<NewFingerprint> {
        *self.texts.lock().unwrap() += 1;
        vec![NewFingerprint {
            signal_type: SignalType::Text,
            value: format!("len{}", text.len()),
            quality: None,
            variant: None,
        }]
    }

    fn wants_media(&self, kind: MediaKind) -> bool {
        kind != MediaKind::Document
    }
}

fn export(dir: &Path, chat: i64, files: &[(&str, &[u8])], first_id: i64) -> std::path::PathBuf {
    let folder = dir.join(format!("chat{chat}"));
    std::fs::create_dir_all(folder.join("photos")).unwrap();
    let mut messages = Vec::new();
    for (i, (name, content)) in files.iter().enumerate() {
        std::fs::write(folder.join("photos").join(name), content).unwrap();
        let mime = if name.ends_with(".mp4") {
            "video/mp4"
        } else if name.ends_with(".pdf") {
            "application/pdf"
        } else {
            "image/png"
        };
        messages.push(json!({
            "id": first_id + i as i64, "type": "message", "date_unixtime": (1_600_000_000 + i).to_string(),
            "file": format!("photos/{name}"), "mime_type": mime, "text": format!("caption {i}"),
        }));
    }
    let path = folder.join("result.json");
    std::fs::write(
        &path,
        serde_json::to_vec(&json!({"name": "C", "type": "public_channel", "id": chat, "messages": messages}))
            .unwrap(),
    )
    .unwrap();
    path
}

#[test]
fn each_item_is_fingerprinted_once_across_posts_batches_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    let png = b"\x89PNG\r\n\x1a\n same bytes".as_slice();
    let other = b"\x89PNG\r\n\x1a\n other bytes".as_slice();
    let video = b"\x00\x00\x00\x18ftypmp42 a video".as_slice();
    let first = export(
        dir.path(),
        1,
        &[
            ("a.png", png),
            ("b.png", png),
            ("c.png", other),
            ("v.mp4", video),
            ("d.pdf", b"%PDF-1.4"),
            ("e.png", png),
        ],
        1,
    );
    let mut store = SqliteStore::open(&dir.path().join("m.db")).unwrap();
    let fp = Counting::default();
    // Batches of two posts: the same image recurs within and across batches.
    let cfg = IngestConfig { batch_size: 2, ..IngestConfig::default() };
    let s =
        marsad_ingest::telegram::ingest(&mut store, &first, &cfg, &marsad_ingest::Stages::new(&fp)).unwrap();
    assert_eq!(s.posts_added, 6);
    assert_eq!(s.fingerprint_errors, 0);
    {
        let calls = fp.calls.lock().unwrap();
        // a.png and b.png are in the first batch together, e.png in the third.
        assert_eq!(calls.get(png), Some(&1), "{calls:?}");
        assert_eq!(calls.get(other), Some(&1));
        assert_eq!(calls.get(video), Some(&1));
        assert_eq!(calls.len(), 3, "the PDF is not fingerprinted: {calls:?}");
    }
    assert_eq!(*fp.texts.lock().unwrap(), 6);

    // Another chat posting the same items later: nothing decoded again.
    let second = export(dir.path(), 2, &[("x.png", png), ("y.mp4", video)], 100);
    marsad_ingest::telegram::ingest(&mut store, &second, &cfg, &marsad_ingest::Stages::new(&fp)).unwrap();
    let calls = fp.calls.lock().unwrap();
    assert_eq!(calls.values().sum::<usize>(), 3, "{calls:?}");
    drop(calls);

    let sha = |b: &[u8]| marsad_core::Sha256(marsad_hash::digest::Digests::of(b).sha256);
    let m = store.media(&sha(png)).unwrap().expect("stored");
    assert_eq!(m.fingerprints.len(), 1);
    assert_eq!(m.fingerprints[0].value, format!("{:064x}", png.len()));
}

#[test]
fn a_failed_fingerprint_keeps_the_item_and_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = export(dir.path(), 3, &[("bad.png", b"bad image bytes"), ("ok.png", b"\x89PNG fine")], 1);
    let mut store = SqliteStore::open(&dir.path().join("m.db")).unwrap();
    let fp = Counting::default();
    let s = marsad_ingest::telegram::ingest(
        &mut store,
        &path,
        &IngestConfig::default(),
        &marsad_ingest::Stages::new(&fp),
    )
    .unwrap();
    assert_eq!((s.posts_added, s.media_added, s.fingerprint_errors), (2, 2, 1));
    assert_eq!(s.fingerprint_failures.len(), 1);
    let f = &s.fingerprint_failures[0];
    assert_eq!(f.message_id.as_deref(), Some("1"));
    assert!(f.error.contains("bad.png") && f.error.contains("planted failure"), "{f:?}");
    // The item is kept with its digests; a later run tries it again.
    let stats = store.stats().unwrap();
    assert_eq!(stats.media, 2);
    marsad_ingest::telegram::ingest(
        &mut store,
        &path,
        &IngestConfig::default(),
        &marsad_ingest::Stages::new(&fp),
    )
    .unwrap();
    assert_eq!(fp.calls.lock().unwrap().get(b"bad image bytes".as_slice()), Some(&2));
}
