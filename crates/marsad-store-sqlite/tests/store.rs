//! The shared store suite against SQLite files in a temporary folder, plus
//! SQLite-specific behaviour (migrations, refusing a newer schema, bad files).

use marsad_store::{Store, StoreError};
use marsad_store_sqlite::SqliteStore;

#[test]
fn shared_suite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut n = 0;
    marsad_store::testsuite::run_all(|| {
        n += 1;
        SqliteStore::open(&dir.path().join(format!("suite-{n}.db"))).expect("open")
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
