//! The demo corpus against its own truth, re-derived from the written files.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use marsad_synth::{DemoConfig, NOT_INCLUDED, ReleaseFormat, SightingKind, Truth, generate_demo, plan_demo};
use serde_json::Value;

use crate::export::{fresh_dir, media_path, plain_text, read_chats, shared, small_config, unixtime};

const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

fn files_under(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.insert(path.strip_prefix(dir).unwrap().to_path_buf(), fs::read(&path).unwrap());
            }
        }
    }
    out
}

#[test]
fn same_seed_gives_identical_files() {
    let a = shared();
    let dir_b = fresh_dir("determinism");
    let b = generate_demo(&dir_b, &small_config()).unwrap();
    assert_eq!(a.truth, b.truth);
    let root_a = a.truth_json.parent().unwrap();
    let files_a = files_under(root_a);
    let files_b = files_under(&dir_b);
    assert_eq!(files_a.keys().collect::<Vec<_>>(), files_b.keys().collect::<Vec<_>>());
    for (path, bytes) in &files_a {
        assert!(bytes == &files_b[path], "{} differs", path.display());
    }
    fs::remove_dir_all(&dir_b).unwrap();
}

#[test]
fn another_seed_gives_another_corpus() {
    let a = plan_demo(&small_config()).unwrap();
    let b = plan_demo(&DemoConfig { seed: 7, ..small_config() }).unwrap();
    assert_ne!(a.releases, b.releases);
}

#[test]
fn planned_truth_equals_written_truth() {
    let corpus = shared();
    assert_eq!(plan_demo(&small_config()).unwrap(), corpus.truth);
    let on_disk: Truth = serde_json::from_slice(&fs::read(&corpus.truth_json).unwrap()).unwrap();
    assert_eq!(on_disk, corpus.truth);
}

#[test]
fn layout() {
    let corpus = shared();
    let root = corpus.truth_json.parent().unwrap();
    assert_eq!(corpus.outlets_toml, root.join("outlets.toml"));
    let expected: Vec<PathBuf> = corpus
        .truth
        .outlets
        .iter()
        .map(|o| root.join(&o.export).join("result.json"))
        .chain([root.join("exports/account/result.json")])
        .collect();
    assert_eq!(corpus.exports, expected);
    let toml = fs::read_to_string(&corpus.outlets_toml).unwrap();
    for o in &corpus.truth.outlets {
        assert!(toml.contains(&format!("name = \"{}\"", o.name)));
        assert!(toml.contains(&format!("channels = [\"telegram:{}\"]", o.channel_ids[0])));
    }
    let account: Value = serde_json::from_slice(&fs::read(corpus.exports.last().unwrap()).unwrap()).unwrap();
    let list = account["chats"]["list"].as_array().unwrap();
    assert_eq!(list.len(), corpus.truth.supporters.len());
    assert!(account["about"].is_string());
}

#[test]
fn totals_match_the_exports() {
    let corpus = shared();
    let (mut messages, mut service, mut media, mut missing) = (0, 0, 0, 0);
    let mut referenced = BTreeSet::new();
    for chat in read_chats(corpus) {
        for m in chat.messages() {
            messages += 1;
            if m["type"] == "service" {
                service += 1;
                assert_eq!(m["text"], "");
                continue;
            }
            assert_eq!(m["type"], "message");
            match media_path(m) {
                None => {}
                Some(NOT_INCLUDED) => missing += 1,
                Some(rel) => {
                    media += 1;
                    let path = chat.root.join(rel);
                    assert!(path.is_file(), "{} is missing", path.display());
                    assert!(referenced.insert(path), "{rel} is referenced twice");
                }
            }
        }
    }
    let totals = corpus.truth.totals;
    assert_eq!(totals.messages, messages);
    assert_eq!(totals.service_messages, service);
    assert_eq!(totals.media_files, media);
    assert_eq!(totals.missing_media, missing);
    assert!(service > 0 && media > 0);

    // Nothing on disk that no message references.
    let root = corpus.truth_json.parent().unwrap();
    let on_disk: BTreeSet<PathBuf> = files_under(&root.join("exports"))
        .into_keys()
        .map(|p| root.join("exports").join(p))
        .filter(|p| p.file_name().is_some_and(|n| n != "result.json"))
        .collect();
    assert_eq!(on_disk, referenced);
}

#[test]
fn media_files_are_what_messages_say() {
    let corpus = shared();
    for chat in read_chats(corpus) {
        for m in chat.messages() {
            let Some(rel) = media_path(m).filter(|&p| p != NOT_INCLUDED) else {
                continue;
            };
            let bytes = fs::read(chat.root.join(rel)).unwrap();
            if m.get("photo").is_some() || m["mime_type"] == "image/png" {
                let img = image::load_from_memory(&bytes).unwrap();
                if let (Some(w), Some(h)) = (m["width"].as_u64(), m["height"].as_u64()) {
                    assert_eq!((u64::from(img.width()), u64::from(img.height())), (w, h), "{rel}");
                }
                assert!(
                    (320..=800).contains(&img.width()) || m.get("photo").is_none() || rel.contains("chat_")
                );
            } else if m["mime_type"] == "application/pdf" {
                assert!(bytes.starts_with(b"%PDF-1.4") && bytes.ends_with(b"%%EOF\n"), "{rel}");
            } else if m["mime_type"] == "audio/x-wav" {
                assert_eq!(&bytes[..4], b"RIFF", "{rel}");
                let seconds = (bytes.len() - 44) as f64 / 16_000.0;
                assert_eq!(m["duration_seconds"].as_u64().unwrap(), seconds as u64, "{rel}");
            } else {
                panic!("unexpected media in {m}");
            }
        }
    }
}

#[test]
fn the_quiet_period_is_silent() {
    let corpus = shared();
    let quiet = corpus.truth.quiet_period;
    assert!(quiet.end_unix - quiet.start_unix >= 30 * HOUR);
    let times: Vec<i64> = read_chats(corpus).iter().flat_map(|c| c.messages().iter().map(unixtime)).collect();
    assert!(times.iter().all(|&t| t <= quiet.start_unix || t >= quiet.end_unix));
    assert!(times.contains(&quiet.start_unix) && times.contains(&quiet.end_unix));
    for m in read_chats(corpus).iter().flat_map(|c| c.messages().to_vec()) {
        if let Some(edited) = m.get("edited_unixtime") {
            let t: i64 = edited.as_str().unwrap().parse().unwrap();
            assert!(t <= quiet.start_unix || t >= quiet.end_unix, "edit inside the silence");
        }
    }
    // It is the only silence of a day or more inside the window.
    let mut sorted = times.clone();
    sorted.sort_unstable();
    let long: Vec<_> = sorted.windows(2).filter(|p| p[1] - p[0] >= 24 * HOUR).collect();
    assert_eq!(long, vec![&[quiet.start_unix, quiet.end_unix][..]]);
}

#[test]
fn sightings_point_at_the_right_messages() {
    let corpus = shared();
    let truth = &corpus.truth;
    let chats = read_chats(corpus);
    let by_id: BTreeMap<i64, BTreeMap<i64, &Value>> = chats
        .iter()
        .map(|c| (c.id(), c.messages().iter().map(|m| (m["id"].as_i64().unwrap(), m)).collect()))
        .collect();
    let outlet_channel: BTreeMap<&str, i64> =
        truth.outlets.iter().map(|o| (o.name.as_str(), o.channel_ids[0])).collect();
    let mut claimed = BTreeSet::new();
    for (i, r) in truth.releases.iter().enumerate() {
        assert_eq!(r.id as usize, i + 1);
        let first = &r.sightings[0];
        assert_eq!(first.kind, SightingKind::Original);
        assert_eq!(first.channel_id, outlet_channel[r.outlet.as_str()]);
        assert_eq!(first.posted_unix, r.first_seen);
        for s in &r.sightings {
            assert!(s.posted_unix >= r.first_seen);
            let expected_messages = match r.format {
                ReleaseFormat::PhotoReport => 3..=5,
                _ => 1..=1,
            };
            assert!(expected_messages.contains(&s.message_ids.len()), "release {}", r.id);
            let mut missing = 0;
            for (k, id) in s.message_ids.iter().enumerate() {
                assert!(claimed.insert((s.channel_id, *id)), "message claimed twice");
                let m = by_id[&s.channel_id][id];
                assert_eq!(m["type"], "message");
                assert_eq!(unixtime(m), s.posted_unix);
                assert_eq!(
                    m.get("forwarded_from").and_then(Value::as_str),
                    (s.kind == SightingKind::Forward).then_some(r.outlet.as_str())
                );
                missing += u32::from(media_path(m) == Some(NOT_INCLUDED));
                if k > 0 {
                    assert_eq!(m["text"], "", "album captions are on the first message");
                }
                let has_media = media_path(m).is_some();
                assert_eq!(has_media, r.format != ReleaseFormat::Text);
            }
            assert_eq!(missing, s.missing_media);
            if s.kind == SightingKind::Forward {
                let original = by_id[&first.channel_id][&first.message_ids[0]];
                assert_eq!(plain_text(by_id[&s.channel_id][&s.message_ids[0]]), plain_text(original));
            }
        }
    }
    // Every regular message belongs to exactly one sighting.
    let regular: usize =
        chats.iter().map(|c| c.messages().iter().filter(|m| m["type"] == "message").count()).sum();
    assert_eq!(claimed.len(), regular);
}

#[test]
fn dormant_outlets_fall_silent() {
    let corpus = shared();
    let truth = &corpus.truth;
    assert_eq!(truth.dormant.len(), 3);
    let chats = read_chats(corpus);
    for d in &truth.dormant {
        let outlet = truth.outlets.iter().find(|o| o.name == d.outlet).unwrap();
        let chat = chats.iter().find(|c| c.id() == outlet.channel_ids[0]).unwrap();
        let last = chat.messages().iter().filter(|m| m["type"] == "message").map(unixtime).max().unwrap();
        assert_eq!(last, d.last_release_unix, "{}", d.outlet);
        assert!(d.last_release_unix < truth.end_unix - 5 * DAY, "{}", d.outlet);
    }
}

#[test]
fn default_corpus_has_the_planted_phenomena() {
    let truth = plan_demo(&DemoConfig::default()).unwrap();
    let t = truth.totals;
    assert!((600..=1500).contains(&t.media_files), "{} media files", t.media_files);
    assert!(t.missing_media > 0 && t.service_messages > 0);
    assert_eq!(truth.outlets.len(), 6);
    assert_eq!(truth.supporters.len(), 5);

    let recycled = truth
        .releases
        .iter()
        .flat_map(|r| r.sightings.iter().map(move |s| s.posted_unix - r.first_seen))
        .filter(|&delay| delay >= 60 * DAY)
        .count();
    assert!(recycled >= 3, "{recycled} recycled reposts");

    let mut last: Vec<i64> = truth.dormant.iter().map(|d| d.last_release_unix).collect();
    last.sort_unstable();
    let end = truth.end_unix;
    // Two outlets stop partway, one stops for the last three weeks.
    assert!(last[0] < end - 60 * DAY && last[1] < end - 30 * DAY, "{last:?}");
    assert!((end - 24 * DAY..end - 21 * DAY).contains(&last[2]), "{last:?}");

    let formats: BTreeSet<ReleaseFormat> = truth.releases.iter().map(|r| r.format).collect();
    for f in [ReleaseFormat::Photo, ReleaseFormat::PhotoReport, ReleaseFormat::Text, ReleaseFormat::Document]
    {
        assert!(formats.contains(&f), "{f:?}");
    }
    let languages: BTreeSet<&str> = truth.releases.iter().map(|r| r.language.as_str()).collect();
    assert_eq!(languages, BTreeSet::from(["ar", "en", "fr", "tr"]));
    let kinds: BTreeSet<SightingKind> =
        truth.releases.iter().flat_map(|r| r.sightings.iter().map(|s| s.kind)).collect();
    assert_eq!(kinds.len(), 3);
}

#[test]
fn scale_shrinks_the_corpus() {
    let small = plan_demo(&small_config()).unwrap();
    let large = plan_demo(&DemoConfig { scale: 1.0, ..small_config() }).unwrap();
    assert!(small.releases.len() * 2 < large.releases.len());
    assert!(
        // At least a third fewer (minimums and forced recycles do not scale).
        small.totals.media_files * 3 < large.totals.media_files * 2,
        "{} media files at scale {} vs {} at 1",
        small.totals.media_files,
        small_config().scale,
        large.totals.media_files
    );
    assert_eq!(shared().truth.releases.len(), small.releases.len());
}

#[test]
fn captions_carry_outlet_names_and_arabic_variants() {
    let corpus = shared();
    let texts: Vec<String> = read_chats(corpus)
        .iter()
        .flat_map(|c| c.messages().iter().map(plain_text).collect::<Vec<_>>())
        .collect();
    let names: Vec<&str> = corpus
        .truth
        .outlets
        .iter()
        .flat_map(|o| std::iter::once(o.name.as_str()).chain(o.aliases.iter().map(String::as_str)))
        .collect();
    assert!(texts.iter().any(|t| names.iter().any(|n| t.contains(n))), "no caption names its outlet");
    assert!(
        texts
            .iter()
            .any(|t| t.contains('\u{0640}') || t.chars().any(|c| ('\u{064B}'..='\u{0652}').contains(&c)))
    );
}

/// The corpus is fictional: no name of a real propaganda outlet anywhere.
#[test]
fn no_real_outlet_names() {
    const FORBIDDEN: &[&str] = &[
        "amaq",
        "a'maq",
        "furqan",
        "hayat",
        "nashir",
        "itisam",
        "i'tisam",
        "rumiyah",
        "dabiq",
        "أعماق",
        "الفرقان",
        "دابق",
        "رومية",
        "الاعتصام",
    ];
    let corpus = shared();
    let mut docs: Vec<String> = corpus.exports.iter().map(|p| fs::read_to_string(p).unwrap()).collect();
    docs.push(fs::read_to_string(&corpus.outlets_toml).unwrap());
    for doc in docs {
        let lower = doc.to_lowercase();
        for name in FORBIDDEN {
            assert!(!lower.contains(name), "{name}");
        }
    }
}

#[test]
fn refuses_bad_configs_and_non_empty_folders() {
    let dir = fresh_dir("refusals");
    let err = generate_demo(&dir, &DemoConfig { days: 3, ..small_config() }).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let err = generate_demo(&dir, &DemoConfig { scale: 0.0, ..small_config() }).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("keep.txt"), "user data").unwrap();
    let err = generate_demo(&dir, &small_config()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    assert_eq!(fs::read_to_string(dir.join("keep.txt")).unwrap(), "user data");
}
