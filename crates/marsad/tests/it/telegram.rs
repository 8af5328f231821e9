//! Telegram Desktop exports: every message shape, account exports,
//! idempotency, media retention.

use marsad_core::{MediaKind, Platform, SourceKey, UtcTime};
use marsad_store::prelude::*;
use serde_json::json;

use crate::support::*;

const CHAT: i64 = 1_000_000_001;

fn key(id: i64) -> SourceKey {
    SourceKey { platform: Platform::telegram(), platform_id: id.to_string() }
}

/// An export with one message of every shape the reader must handle.
fn every_shape(dir: &std::path::Path) -> ChatExport {
    let mut e = ChatExport::new(dir, CHAT, "Northern Placeholder Media");
    e.file("photos/photo_2@08-11-2017_12-00-00.jpg", &png_bytes(1));
    e.file("video_files/clip.mp4", b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom placeholder video");
    e.file("files/report.pdf", b"%PDF-1.4\n% placeholder document\n%%EOF\n");
    e.file("voice_messages/audio_1.ogg", b"OggS\x00\x02 placeholder voice");
    e.file("stickers/sticker.webp", b"RIFF\x1a\x00\x00\x00WEBPVP8 placeholder sticker");
    e.push(text_message(1, 1_510_142_400, "نص عادي كسلسلة"))
        .push(json!({
            "id": 2, "type": "message", "date": "2017-11-08T12:01:00", "date_unixtime": "1510142460",
            "photo": "photos/photo_2@08-11-2017_12-00-00.jpg", "width": 1, "height": 1,
            "text": ["صورة ", {"type": "bold", "text": "مع"}, " ", {"type": "hashtag", "text": "#وسم"},
                     {"type": "text_link", "text": " رابط", "href": "https://example.org"}],
        }))
        .push(json!({
            "id": 3, "type": "message", "date_unixtime": "1510142520",
            "file": "video_files/clip.mp4", "media_type": "video_file", "mime_type": "video/mp4",
            "duration_seconds": 3, "text": ""
        }))
        .push(json!({
            "id": 4, "type": "message", "date_unixtime": "1510142580",
            "file": "files/report.pdf", "mime_type": "application/pdf", "text": "document caption"
        }))
        .push(json!({
            "id": 5, "type": "message", "date_unixtime": "1510142640",
            "file": "voice_messages/audio_1.ogg", "media_type": "voice_message", "mime_type": "audio/ogg", "text": ""
        }))
        .push(json!({
            "id": 6, "type": "message", "date_unixtime": "1510142700",
            "file": "stickers/sticker.webp", "media_type": "sticker", "sticker_emoji": "🙂", "mime_type": "image/webp", "text": ""
        }))
        .push(json!({
            "id": 7, "type": "message", "date_unixtime": "1510142760",
            "forwarded_from": "Another Placeholder Channel", "text": "forwarded text"
        }))
        .push(json!({
            "id": 8, "type": "message", "date_unixtime": "1510142820", "reply_to_message_id": 7, "text": "a reply"
        }))
        .push(json!({
            "id": 9, "type": "message", "date_unixtime": "1510142880",
            "edited": "2017-11-08T13:00:00", "edited_unixtime": "1510146000", "text": "edited text"
        }))
        .push(json!({
            "id": 10, "type": "service", "date_unixtime": "1510142940", "actor": "Channel", "action": "pin_message",
            "message_id": 7, "text": ""
        }))
        .push(json!({
            "id": 11, "type": "message", "date_unixtime": "1510143000",
            "photo": "(File not included. Change data exporting settings to download.)", "text": "photo not exported"
        }))
        .push(json!({
            "id": 12, "type": "message", "date_unixtime": "1510143060",
            "file": "video_files/deleted.mp4", "media_type": "video_file", "mime_type": "video/mp4", "text": "file gone"
        }))
        .push(json!({
            "id": 13, "type": "message", "date": "2017-11-08T14:00:00", "text": "only a local date"
        }));
    e
}

#[test]
fn every_message_shape_is_ingested() {
    let dir = tempfile::tempdir().expect("tempdir");
    let export = every_shape(&dir.path().join("export"));
    export.write();
    let db = dir.path().join("m.db");
    let (ok, s) = ingest_json(&db, "telegram", &export.dir, &[]);
    assert!(ok, "{s}");
    assert_eq!(s["posts_added"], 12, "{s}");
    assert_eq!(s["posts_existing"], 0);
    assert_eq!(s["service_skipped"], 1);
    assert_eq!(s["media_added"], 5);
    assert_eq!(s["media_missing"], 2);
    assert_eq!(s["errors"], json!([]));
    let missing: Vec<String> = s["missing_media"]
        .as_array()
        .expect("array")
        .iter()
        .map(|m| m["message_id"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(missing, ["11", "12"]);

    let store = open(&db);
    let sources = store.sources().expect("sources");
    assert_eq!(sources.len(), 1);
    assert_eq!(sources[0].key, key(CHAT));
    assert_eq!(sources[0].name, "Northern Placeholder Media");
    assert_eq!(sources[0].kind, "public_channel");

    let post =
        |id: &str| store.post(&key(CHAT), id).expect("read").unwrap_or_else(|| panic!("post {id} missing"));
    assert_eq!(post("1").text, "نص عادي كسلسلة");
    assert_eq!(post("1").posted_at.to_rfc3339(), "2017-11-08T12:00:00Z");
    let photo = post("2");
    assert_eq!(photo.text, "صورة مع #وسم رابط");
    assert_eq!(photo.media.len(), 1);
    assert_eq!(photo.media[0].kind, MediaKind::Image);
    let sha = photo.media[0].sha256.expect("photo hashed");
    let media = store.media(&sha).expect("read").expect("media stored");
    let digests = marsad_hash::digest::Digests::of(&png_bytes(1));
    assert_eq!(media.sha256.0, digests.sha256);
    assert_eq!(media.md5.0, digests.md5);
    assert_eq!(media.mime.as_deref(), Some("image/png"), "sniffed from content, not the .jpg name");
    assert_eq!(media.retained_path, None, "bytes are not kept by default");

    let kinds: Vec<_> = ["3", "4", "5", "6"].iter().map(|id| post(id).media[0].kind).collect();
    assert_eq!(kinds, [MediaKind::Video, MediaKind::Document, MediaKind::Audio, MediaKind::Image]);
    assert_eq!(post("7").forwarded_from.as_deref(), Some("Another Placeholder Channel"));
    assert_eq!(post("8").reply_to.as_deref(), Some("7"));
    assert_eq!(post("9").edited_at, Some(UtcTime::from_unix_seconds(1_510_146_000)));
    assert!(store.post(&key(CHAT), "10").expect("read").is_none(), "service messages are not posts");
    let not_included = post("11");
    assert_eq!(not_included.media[0].sha256, None);
    assert!(
        not_included.media[0].missing.as_deref().unwrap_or("").contains("not included"),
        "{not_included:?}"
    );
    let gone = post("12");
    assert_eq!(gone.media[0].kind, MediaKind::Video);
    assert_eq!(gone.media[0].missing.as_deref(), Some("file not found"));
    assert_eq!(post("13").posted_at.to_rfc3339(), "2017-11-08T14:00:00Z");

    let runs = store.runs().expect("runs");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, "completed");
    assert_eq!(runs[0].summary.posts_added, 12);
}

#[test]
fn ingesting_twice_adds_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let export = every_shape(&dir.path().join("export"));
    export.write();
    let db = dir.path().join("m.db");
    let (ok, first) = ingest_json(&db, "telegram", &export.dir.join("result.json"), &[]);
    assert!(ok, "{first}");
    let before = stats(&db);
    let (ok, second) = ingest_json(&db, "telegram", &export.dir, &[]);
    assert!(ok, "{second}");
    assert_eq!(second["posts_added"], 0);
    assert_eq!(second["posts_existing"], 12);
    assert_eq!(second["media_added"], 0);
    assert_eq!(stats(&db), before);
}

#[test]
fn whole_account_export_with_left_chats() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("account");
    std::fs::create_dir_all(root.join("chats/chat_001/photos")).expect("mkdir");
    std::fs::write(root.join("chats/chat_001/photos/p.jpg"), png_bytes(9)).expect("write");
    let account = json!({
        "about": "Here is the data you requested.",
        "personal_information": {"first_name": "Test", "last_name": "User"},
        "contacts": {"about": "x", "list": []},
        "chats": {"about": "chats", "list": [
            {"name": "Supporter One", "type": "public_supergroup", "id": 2000000001, "messages": [
                text_message(1, 1_600_000_000, "one"),
                {"id": 2, "type": "message", "date_unixtime": "1600000100", "photo": "chats/chat_001/photos/p.jpg", "text": "pic"}
            ]},
            {"name": "Supporter Two", "type": "private_channel", "id": 2000000002, "messages": [
                text_message(1, 1_600_000_200, "two")
            ]}
        ]},
        "left_chats": {"about": "left", "list": [
            {"name": "Left Group", "type": "private_supergroup", "id": 2000000003, "messages": [
                text_message(5, 1_600_000_300, "left")
            ]}
        ]}
    });
    std::fs::write(root.join("result.json"), serde_json::to_vec(&account).expect("json")).expect("write");
    let db = dir.path().join("m.db");
    let (ok, s) = ingest_json(&db, "telegram", &root, &[]);
    assert!(ok, "{s}");
    assert_eq!(s["posts_added"], 4);
    assert_eq!(s["media_added"], 1);
    let store = open(&db);
    let names: Vec<_> =
        store.sources().expect("sources").into_iter().map(|s| (s.key.platform_id, s.name)).collect();
    assert_eq!(
        names,
        [
            ("2000000001".to_owned(), "Supporter One".to_owned()),
            ("2000000002".to_owned(), "Supporter Two".to_owned()),
            ("2000000003".to_owned(), "Left Group".to_owned())
        ]
    );
    assert_eq!(store.post(&key(2_000_000_002), "1").expect("read").expect("post").text, "two");
}

#[test]
fn key_order_does_not_matter() {
    // "messages" before "id": the first pass collects the header anyway.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("result.json");
    let body = format!(
        "{{\"messages\": [{}], \"id\": 77, \"type\": \"public_channel\", \"name\": \"Late Header\"}}",
        text_message(1, 1_600_000_000, "x")
    );
    std::fs::write(&path, body).expect("write");
    let db = dir.path().join("m.db");
    let (ok, s) = ingest_json(&db, "telegram", &path, &[]);
    assert!(ok, "{s}");
    assert_eq!(open(&db).sources().expect("sources")[0].key, key(77));
}

#[test]
fn retained_media_is_content_addressed_beside_the_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let export = every_shape(&dir.path().join("export"));
    export.write();
    let db = dir.path().join("m.db");
    let (ok, s) = ingest_json(&db, "telegram", &export.dir, &["--retain-media"]);
    assert!(ok, "{s}");
    let d = marsad_hash::digest::Digests::of(&png_bytes(1));
    let hex = d.sha256_hex();
    let kept = dir.path().join("m.media").join(&hex[..2]).join(&hex[2..4]).join(&hex);
    assert_eq!(std::fs::read(&kept).expect("retained copy"), png_bytes(1));
    let media = open(&db).media(&marsad_core::Sha256(d.sha256)).expect("read").expect("stored");
    assert_eq!(media.retained_path.as_deref(), Some(kept.to_str().expect("utf8")));
    let files = walk_files(&dir.path().join("m.media"));
    assert_eq!(files, 5, "one file per media item, no temporary files left");
}

fn walk_files(dir: &std::path::Path) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(dir).expect("read_dir") {
        let p = e.expect("entry").path();
        n += if p.is_dir() { walk_files(&p) } else { 1 };
    }
    n
}
