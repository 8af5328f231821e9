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
            .releases(&mut |r| {
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
