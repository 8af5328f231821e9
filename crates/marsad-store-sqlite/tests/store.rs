//! The shared store suite against SQLite files in a temporary folder, plus
//! SQLite-specific behaviour (migrations, refusing a newer schema, bad files).

use marsad_store::StoreError;
use marsad_store::prelude::*;
use marsad_store_sqlite::SqliteStore;

/// The shared suite, one test per case, each on its own file.
mod suite {
    use super::SqliteStore;

    marsad_store::store_suite!(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("suite.db")).expect("open");
        (dir, store)
    });
}

#[test]
fn reopening_keeps_data_and_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("m.db");
    let store = SqliteStore::open(&path).expect("open");
    assert_eq!(store.schema_version().expect("version"), marsad_store_sqlite::SCHEMA_VERSION);
    drop(store);
    let store = SqliteStore::open(&path).expect("reopen");
    assert_eq!(store.schema_version().expect("version"), marsad_store_sqlite::SCHEMA_VERSION);
    assert_eq!(store.stats().expect("stats").posts, 0);
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("m.db");
    drop(SqliteStore::open(&path).expect("open"));
    let conn = rusqlite::Connection::open(&path).expect("raw open");
    conn.pragma_update(None, "user_version", 99).expect("set version");
    drop(conn);
    let err = SqliteStore::open(&path).expect_err("must refuse");
    assert!(
        matches!(err, StoreError::SchemaTooNew { found: 99, supported } if supported == marsad_store_sqlite::SCHEMA_VERSION),
        "{err}"
    );
}

#[test]
fn a_file_that_is_not_a_database_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "these are notes, not a database ".repeat(100)).expect("write");
    let err = SqliteStore::open(&path).expect_err("must refuse");
    let msg = err.to_string();
    assert!(msg.contains("notes.txt"), "{msg}");
    assert!(msg.contains("not a database"), "{msg}");
}

#[test]
fn a_version_1_store_is_migrated_with_its_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("old.db");
    {
        let conn = rusqlite::Connection::open(&path).expect("open");
        conn.execute_batch(include_str!("../migrations/0001_init.sql")).expect("v1 schema");
        conn.pragma_update(None, "user_version", 1).expect("version");
        conn.execute_batch(
            "INSERT INTO sources (platform, platform_id, name, kind) VALUES ('telegram', '1', 'C', 'public_channel');
             INSERT INTO posts (source_id, platform_post_id, posted_at, text) VALUES (1, '1', 0, 'x');
             INSERT INTO fingerprints (post_id, signal_type, value) VALUES (1, 'text', 'abcd');",
        )
        .expect("v1 data");
    }
    let store = SqliteStore::open(&path).expect("migrate");
    assert_eq!(store.schema_version().expect("version"), marsad_store_sqlite::SCHEMA_VERSION);
    let stats = store.stats().expect("stats");
    assert_eq!((stats.posts, stats.fingerprints), (1, 1));
}

#[test]
fn the_identity_survives_reopening_and_is_given_on_upgrade() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("m.db");
    let id = SqliteStore::open(&path).expect("open").identity().expect("identity");
    assert_eq!(SqliteStore::open(&path).expect("reopen").identity().expect("identity"), id);
    // A store made again at the same path is another store.
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let again = SqliteStore::open(&path).expect("recreate").identity().expect("identity");
    assert_ne!(again, id);
    // A store from before identities (version 4) gets one when migrated.
    let old = dir.path().join("v4.db");
    {
        let conn = rusqlite::Connection::open(&old).expect("open");
        for sql in [
            include_str!("../migrations/0001_init.sql"),
            include_str!("../migrations/0002_fingerprint_indexes.sql"),
            include_str!("../migrations/0003_banks.sql"),
            include_str!("../migrations/0004_releases.sql"),
        ] {
            conn.execute_batch(sql).expect("old schema");
        }
        conn.pragma_update(None, "user_version", 4).expect("version");
    }
    let migrated = SqliteStore::open(&old).expect("migrate").identity().expect("identity");
    assert_ne!(migrated, id);
    assert_eq!(SqliteStore::open(&old).expect("reopen").identity().expect("identity"), migrated);
}

/// Rows damaged behind marsad's back (written here with rusqlite) are
/// errors naming the record and the problem, never defaults: no `[]` for
/// aliases, no 1970 for a time.
#[test]
fn corrupt_rows_are_errors_naming_the_record() {
    use marsad_core::{Platform, SourceKey, UtcTime};
    use marsad_store::{GroupingUpdate, NewPost, NewRun, NewSource, OutletRecord, PostBatch};

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("m.db");
    let mut store = SqliteStore::open(&path).expect("open");
    let key = SourceKey { platform: Platform::new("telegram").expect("platform"), platform_id: "1".into() };
    store
        .replace_outlets(&[OutletRecord {
            name: "Lantern".into(),
            aliases: vec!["The Lantern".into()],
            channels: vec![key.clone()],
            region: None,
            parent: None,
        }])
        .expect("outlets");
    let run = store
        .begin_run(&NewRun {
            kind: "jsonl".into(),
            path: "x".into(),
            started_at: UtcTime::from_unix_seconds(0),
        })
        .expect("run");
    let post = NewPost {
        source: 0,
        platform_post_id: "9".into(),
        posted_at: UtcTime::from_unix_seconds(1_700_000_000),
        edited_at: None,
        text: "text".into(),
        url: None,
        forwarded_from: None,
        reply_to: None,
        media: vec![],
        fingerprints: vec![],
        matches: vec![],
    };
    let batch = PostBatch {
        sources: vec![NewSource { key, name: "one".into(), kind: "public_channel".into() }],
        posts: vec![post],
        receipt: None,
    };
    store.write_batch(run, &batch).expect("write");
    let mut ids = Vec::new();
    let generation = store
        .grouping_posts(&mut |p| {
            ids.push(p.id);
            Ok(())
        })
        .expect("grouping posts");
    let update = GroupingUpdate {
        assign: vec![(ids[0], marsad_store::ReleaseSlot::New(0))],
        generation,
        ..GroupingUpdate::default()
    };
    let releases = store.apply_grouping(&update).expect("grouping");
    let release = releases[&0];
    // Before the damage, everything reads.
    assert_eq!(store.outlets().expect("outlets")[0].aliases, ["The Lantern"]);
    store.sightings(None, &mut |_| Ok(())).expect("sightings");

    let conn = rusqlite::Connection::open(&path).expect("raw open");
    conn.execute("UPDATE outlets SET aliases = '{not json'", []).expect("damage aliases");
    conn.execute("UPDATE posts SET posted_at = ?1", [i64::MAX]).expect("damage post time");
    conn.execute("UPDATE releases SET first_seen = ?1", [i64::MIN]).expect("damage release time");
    drop(conn);

    let check = |err: StoreError, record: &str, problem: &str| {
        let msg = err.to_string();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{msg}");
        assert!(msg.contains(record) && msg.contains(problem), "{msg}");
    };
    check(store.outlets().expect_err("aliases"), "outlet \"Lantern\"", "aliases");
    let post = format!("post {}", ids[0]);
    check(store.grouping_posts(&mut |_| Ok(())).expect_err("grouping"), &post, "posted_at");
    check(store.release_members(None, &mut |_| Ok(())).expect_err("members"), &post, "posted_at");
    check(store.release_points(&mut |_, _, _| Ok(())).expect_err("points"), &post, "posted_at");
    check(store.sightings(None, &mut |_| Ok(())).expect_err("sightings"), &post, "posted_at");
    check(
        store.releases(None, &mut |_| Ok(())).expect_err("releases"),
        &format!("release {release}"),
        "first_seen",
    );
}

/// Bank entry labels damaged behind marsad's back are an error naming the
/// entry, not an empty set of labels.
#[test]
fn corrupt_bank_labels_are_an_error_naming_the_entry() {
    use marsad_core::SignalType;
    use marsad_store::{EntryFilter, NewBankEntry};

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("m.db");
    let mut store = SqliteStore::open(&path).expect("open");
    store.create_bank("b").expect("bank");
    let labels = [("outlet".to_owned(), "Lantern".to_owned())].into();
    let entry = NewBankEntry { signal_type: SignalType::Md5, value: "0".repeat(32), labels };
    store.add_bank_entries("b", &[entry]).expect("entries");
    let read = |store: &SqliteStore| {
        let mut got = Vec::new();
        store
            .bank_entries(&EntryFilter::default(), &mut |e| {
                got.push(e);
                Ok(())
            })
            .map(|()| got)
    };
    let entries = read(&store).expect("read");
    assert_eq!(entries[0].labels["outlet"], "Lantern");
    let conn = rusqlite::Connection::open(&path).expect("raw open");
    conn.execute("UPDATE bank_entries SET labels = '[1, 2]'", []).expect("damage labels");
    drop(conn);
    let err = read(&store).expect_err("corrupt labels");
    let msg = err.to_string();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{msg}");
    assert!(msg.contains(&format!("bank entry {}", entries[0].id)) && msg.contains("labels"), "{msg}");
}

/// A release whose stored format or evidence does not parse is an error
/// naming the release, never a silent default.
#[test]
fn a_damaged_release_description_names_the_release() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("m.db");
    drop(SqliteStore::open(&path).expect("open"));
    let conn = rusqlite::Connection::open(&path).expect("raw open");
    conn.execute_batch(
        "INSERT INTO releases (id, format, evidence) VALUES (7, 'photo', '{\"rule\":\"none\"}');
         INSERT INTO releases (id) VALUES (8);",
    )
    .expect("releases");
    drop(conn);
    let read = |path: &std::path::Path| {
        let store = SqliteStore::open(path).expect("open");
        let mut ids = Vec::new();
        store
            .releases(None, &mut |r| {
                ids.push((r.id.0, r.format, r.evidence));
                Ok(())
            })
            .map(|()| ids)
    };
    // A release grouped but not described yet (the columns' defaults).
    let ok = read(&path).expect("readable");
    assert_eq!(
        ok,
        [
            (7, marsad_core::ReleaseFormat::Photo, marsad_core::Evidence::None),
            (8, marsad_core::ReleaseFormat::Text, marsad_core::Evidence::None)
        ]
    );
    for (column, value) in [("format", "hologram"), ("evidence", "{\"rule\":\"hunch\"}")] {
        let conn = rusqlite::Connection::open(&path).expect("raw open");
        conn.execute_batch(&format!(
            "UPDATE releases SET format = 'photo', evidence = '{{\"rule\":\"none\"}}';
             UPDATE releases SET {column} = '{value}' WHERE id = 8;"
        ))
        .expect("damage");
        drop(conn);
        let err = read(&path).expect_err("damaged");
        assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains("release 8"), "{msg}");
        assert!(msg.contains(value.trim_matches('{').split('"').nth(3).unwrap_or(value)), "{msg}");
    }
}

/// A stored PDQ hash without a quality, or with one outside 0–100, is damage
/// that grouping reports by post, not a quality of 0.
#[test]
fn a_pdq_quality_that_cannot_be_is_an_error_naming_the_post() {
    use marsad_core::{Md5, MediaKind, Platform, Sha256, SignalType, SourceKey, UtcTime};
    use marsad_store::{
        MediaContent, MediaRef, NewFingerprint, NewMedia, NewPost, NewRun, NewSource, PostBatch,
    };

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("m.db");
    let mut store = SqliteStore::open(&path).expect("open");
    let run = store
        .begin_run(&NewRun {
            kind: "jsonl".into(),
            path: "x".into(),
            started_at: UtcTime::from_unix_seconds(0),
        })
        .expect("run");
    let media = NewMedia {
        sha256: Sha256([7; 32]),
        md5: Md5([7; 16]),
        kind: MediaKind::Image,
        byte_size: 10,
        mime: Some("image/png".into()),
        original_path: "photos/a.png".into(),
        retained_path: None,
        fingerprints: vec![NewFingerprint {
            signal_type: SignalType::Pdq,
            value: "ab".repeat(32),
            quality: Some(90),
            variant: None,
        }],
        matches: vec![],
    };
    let post = NewPost {
        source: 0,
        platform_post_id: "5".into(),
        posted_at: UtcTime::from_unix_seconds(1_700_000_000),
        edited_at: None,
        text: String::new(),
        url: None,
        forwarded_from: None,
        reply_to: None,
        media: vec![MediaRef {
            kind: MediaKind::Image,
            path: "photos/a.png".into(),
            content: MediaContent::Present(media),
        }],
        fingerprints: vec![],
        matches: vec![],
    };
    let key = SourceKey { platform: Platform::telegram(), platform_id: "1".into() };
    let batch = PostBatch {
        sources: vec![NewSource { key, name: "one".into(), kind: "public_channel".into() }],
        posts: vec![post],
        receipt: None,
    };
    store.write_batch(run, &batch).expect("write");
    let read = |store: &SqliteStore| {
        let mut quality = Vec::new();
        store
            .grouping_posts(&mut |p| {
                quality.extend(p.media.iter().filter_map(|m| m.pdq.as_ref().map(|(_, q)| *q)));
                Ok(())
            })
            .map(|_generation| quality)
    };
    assert_eq!(read(&store).expect("readable"), [90]);
    drop(store);
    for damage in ["NULL", "101", "-1"] {
        let conn = rusqlite::Connection::open(&path).expect("raw open");
        conn.execute(&format!("UPDATE fingerprints SET quality = {damage} WHERE signal_type = 'pdq'"), [])
            .expect("damage");
        drop(conn);
        let err = read(&SqliteStore::open(&path).expect("open")).expect_err("damaged");
        let msg = err.to_string();
        assert!(matches!(err, StoreError::Corrupt { .. }) && msg.contains("post"), "{damage}: {msg}");
    }
}

/// A store from before variants (version 6) keeps its fingerprints and
/// matches as marsad's own; a variant name damaged behind marsad's back is
/// an error naming the fingerprint or match.
#[test]
fn a_version_6_store_gets_variants_and_a_damaged_one_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("v6.db");
    let sha = marsad_core::Sha256([7; 32]);
    {
        let conn = rusqlite::Connection::open(&path).expect("open");
        version_6_schema(&conn);
        conn.execute("INSERT INTO store_meta (id, identity) VALUES (1, 'x')", []).expect("identity");
        conn.pragma_update(None, "user_version", 6).expect("version");
        conn.execute(
            "INSERT INTO media (sha256, md5, kind, byte_size, original_path)
             VALUES (?1, ?2, 'image', 10, 'a.png')",
            rusqlite::params![sha.0.as_slice(), [7u8; 16].as_slice()],
        )
        .expect("media");
        conn.execute(
            "INSERT INTO fingerprints (media_sha256, signal_type, value, quality) VALUES (?1, 'pdq', ?2, 90)",
            rusqlite::params![sha.0.as_slice(), "07".repeat(32)],
        )
        .expect("fingerprint");
        conn.execute_batch(
            "INSERT INTO banks (name, created_at) VALUES ('b', 0);
             INSERT INTO bank_entries (bank_id, signal_type, value, added_at) VALUES (1, 'pdq', 'v', 0);",
        )
        .expect("bank");
        conn.execute(
            "INSERT INTO matches (media_sha256, entry_id, signal_type, distance, matched_at)
             VALUES (?1, 1, 'pdq', 0, 0)",
            [sha.0.as_slice()],
        )
        .expect("match");
    }
    let store = SqliteStore::open(&path).expect("migrate");
    assert_eq!(store.schema_version().expect("version"), marsad_store_sqlite::SCHEMA_VERSION);
    let media = store.media(&sha).expect("media").expect("stored");
    assert_eq!(media.fingerprints.len(), 1);
    assert_eq!(media.fingerprints[0].variant, None, "stored before variants: marsad's own");
    assert_eq!(store.matches().expect("matches")[0].variant, None);

    let conn = rusqlite::Connection::open(&path).expect("raw open");
    conn.execute(
        "INSERT INTO fingerprints (media_sha256, signal_type, value, variant) VALUES (?1, 'pdq', ?2, 'bogus')",
        rusqlite::params![sha.0.as_slice(), "70".repeat(32)],
    )
    .expect("damage a fingerprint");
    conn.execute("UPDATE matches SET variant = 'bogus'", []).expect("damage a match");
    drop(conn);
    let check = |err: StoreError, record: &str| {
        let msg = err.to_string();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{msg}");
        assert!(msg.contains(record) && msg.contains("unknown variant \"bogus\""), "{msg}");
    };
    let fingerprint = format!("pdq fingerprint of media {}", sha.to_hex());
    check(store.media(&sha).expect_err("media"), &fingerprint);
    check(store.matchable_items(&mut |_| Ok(())).expect_err("matchable items"), &fingerprint);
    check(store.matches().expect_err("matches"), "match 1");
}

/// A version 6 store's banks keep their entries (ids, and the counter that
/// never gives an id twice), their matches and the cascade that removes
/// them when migrated to the serving schema; its banks get HMA names.
#[test]
fn a_version_6_store_keeps_its_banks_when_migrated() {
    use marsad_store::prelude::*;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("v6.db");
    {
        let conn = rusqlite::Connection::open(&path).expect("open");
        version_6_schema(&conn);
        conn.execute(
            "INSERT INTO store_meta (id, identity) VALUES (1, '00000000-0000-4000-8000-000000000001')",
            [],
        )
        .expect("identity");
        conn.pragma_update(None, "user_version", 6).expect("version");
        conn.execute_batch(
            "PRAGMA foreign_keys = ON;
             INSERT INTO sources (platform, platform_id, name, kind) VALUES ('telegram', '1', 'C', 'public_channel');
             INSERT INTO posts (source_id, platform_post_id, posted_at, text) VALUES (1, '1', 0, 'x');
             INSERT INTO banks (name, created_at) VALUES ('demo-known', 0), ('DEMO_KNOWN', 0);
             INSERT INTO bank_entries (bank_id, signal_type, value, added_at) VALUES (1, 'md5', 'aa', 0);
             INSERT INTO bank_entries (bank_id, signal_type, value, added_at) VALUES (1, 'md5', 'bb', 0);
             INSERT INTO bank_entries (bank_id, signal_type, value, added_at) VALUES (2, 'md5', 'cc', 0);
             DELETE FROM bank_entries WHERE id = 3;
             INSERT INTO matches (post_id, entry_id, signal_type, distance, matched_at) VALUES (1, 2, 'md5', 0, 0);",
        )
        .expect("v6 data");
    }
    let mut store = SqliteStore::open(&path).expect("migrate");
    assert_eq!(store.schema_version().expect("version"), marsad_store_sqlite::SCHEMA_VERSION);
    let banks = store.banks().expect("banks");
    let names: Vec<(&str, &str)> =
        banks.iter().map(|b| (b.name.as_str(), b.settings.hma_name.as_str())).collect();
    // The older bank has the made name; the one already in HMA's form its own.
    assert_eq!(names, vec![("DEMO_KNOWN", "DEMO_KNOWN_2"), ("demo-known", "DEMO_KNOWN")]);
    assert_eq!(store.matches().expect("matches").len(), 1);
    // The counter is kept: a new entry does not take the deleted id 3.
    store
        .add_bank_entries(
            "demo-known",
            &[marsad_store::NewBankEntry {
                signal_type: marsad_core::SignalType::Md5,
                value: "dd".into(),
                labels: Default::default(),
            }],
        )
        .expect("add");
    assert_eq!(store.bank_state().expect("state").max_entry_id, Some(marsad_core::EntryId(4)));
    // The same value again is still left as it is.
    let again = store
        .add_bank_entries(
            "demo-known",
            &[marsad_store::NewBankEntry {
                signal_type: marsad_core::SignalType::Md5,
                value: "aa".into(),
                labels: Default::default(),
            }],
        )
        .expect("add");
    assert_eq!(again, 0);
    // The cascade from entries to matches still holds.
    assert!(store.delete_bank("demo-known").expect("delete"));
    assert!(store.matches().expect("matches").is_empty());
}

/// The schema of a version 6 store (before variants and serving).
fn version_6_schema(conn: &rusqlite::Connection) {
    for sql in [
        include_str!("../migrations/0001_init.sql"),
        include_str!("../migrations/0002_fingerprint_indexes.sql"),
        include_str!("../migrations/0003_banks.sql"),
        include_str!("../migrations/0004_releases.sql"),
        include_str!("../migrations/0005_identity.sql"),
        include_str!("../migrations/0006_post_versions.sql"),
    ] {
        conn.execute_batch(sql).expect("old schema");
    }
}

/// A store from before search (version 9) is indexed while it migrates:
/// its posts are found by their normalized words at once.
#[test]
fn a_version_9_store_gets_its_posts_indexed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("v9.db");
    drop(SqliteStore::open(&path).expect("create"));
    {
        // Back to version 9: no index, no triggers, no accounts, no job
        // heartbeats, no review queue, no work queue; then posts written.
        let conn = rusqlite::Connection::open(&path).expect("open");
        conn.execute_batch(
            "DROP TABLE queue_batches; DROP TABLE queue_runs;
             DROP INDEX releases_unattributed; DROP TABLE theme_codes; DROP TABLE taxonomy; DROP TABLE exposures; DROP TABLE user_preferences; DROP TABLE ui_settings;
             DROP TABLE ignored_matches; DROP TABLE review_decisions;
             DROP TABLE sessions; DROP TABLE users; ALTER TABLE ingest_jobs DROP COLUMN heartbeat_at;
             DROP TRIGGER post_search_insert; DROP TRIGGER post_search_update; DROP TRIGGER post_search_delete;
             DROP TABLE post_search;
             PRAGMA user_version = 9;
             INSERT INTO sources (platform, platform_id, name, kind) VALUES ('telegram', '1', 'C', 'public_channel');
             INSERT INTO posts (source_id, platform_post_id, posted_at, text) VALUES (1, '1', 0, 'نَشرةُ الأخبـار');
             INSERT INTO posts (source_id, platform_post_id, posted_at, text) VALUES (1, '2', 1, 'الطقس اليوم');",
        )
        .expect("version 9 with posts");
    }
    let store = SqliteStore::open(&path).expect("migrate");
    assert_eq!(store.schema_version().expect("version"), marsad_store_sqlite::SCHEMA_VERSION);
    let found = store
        .search_posts(&marsad_store::PostQuery {
            words: vec!["نشره".to_owned(), "الاخبار".to_owned()],
            limit: 10,
            ..Default::default()
        })
        .expect("search");
    let ids: Vec<&str> = found.iter().map(|f| f.post.platform_post_id.as_str()).collect();
    assert_eq!(ids, ["1"]);
}
