//! The embedded marsad store: SQLite through rusqlite (bundled), WAL journal,
//! foreign keys on, versioned migrations in `migrations/`, one transaction per
//! batch.
//!
//! ```
//! use marsad_store::prelude::*;
//! let dir = tempfile_dir();
//! let store = marsad_store_sqlite::SqliteStore::open(&dir.join("marsad.db")).unwrap();
//! assert_eq!(store.stats().unwrap().posts, 0);
//! # fn tempfile_dir() -> std::path::PathBuf {
//! #     let d = std::env::temp_dir().join(format!("marsad-doctest-{}", std::process::id()));
//! #     std::fs::create_dir_all(&d).unwrap();
//! #     d
//! # }
//! ```
#![deny(missing_docs)]

mod access;
mod accounts;
mod banks;
mod coding;
mod curation;
mod jobs;
mod observe;
mod queue;
mod read;
mod review;
mod search;
mod write;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use marsad_core::{PostId, ReleaseId, RunId, SourceId, SourceKey};
use marsad_store::{Result, StoreError};
use rusqlite::{Connection, OptionalExtension};

/// Migrations in order; migration `i` brings the schema to version `i + 1`.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_fingerprint_indexes.sql"),
    include_str!("../migrations/0003_banks.sql"),
    include_str!("../migrations/0004_releases.sql"),
    include_str!("../migrations/0005_identity.sql"),
    include_str!("../migrations/0006_post_versions.sql"),
    include_str!("../migrations/0007_variants.sql"),
    include_str!("../migrations/0008_serve.sql"),
    include_str!("../migrations/0009_jobs.sql"),
    include_str!("../migrations/0010_search.sql"),
    include_str!("../migrations/0011_accounts.sql"),
    include_str!("../migrations/0012_job_heartbeats.sql"),
    include_str!("../migrations/0013_review.sql"),
    include_str!("../migrations/0014_queue.sql"),
];

/// The schema version whose migration creates `store_meta`: the identity is
/// inserted in the same transaction, so every store at this version or later
/// has one.
const IDENTITY_VERSION: i64 = 5;

/// The schema version whose migration adds HMA names to banks.
const SERVE_VERSION: i64 = 8;

/// The schema version this build writes (the number of migrations).
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// A marsad store in one SQLite file.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    /// Source ids by key, filled only from committed transactions.
    source_ids: HashMap<SourceKey, (i64, String, String)>,
}

/// How long a write waits for another process's write lock by default.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// How a store is opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenOptions {
    /// How long a write waits while another process (an ingest, a bank
    /// import, a grouping run) holds the store's write lock before it gives
    /// up with [`StoreError::Busy`], writing nothing.
    pub busy_timeout: Duration,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions { busy_timeout: DEFAULT_BUSY_TIMEOUT }
    }
}

/// The busy timeout of the store last opened, in milliseconds, for the
/// message of [`StoreError::Busy`]: errors are made by [`backend`] from
/// rusqlite's alone (a process opens one store; two stores opened with
/// different timeouts would name the later one's).
static BUSY_TIMEOUT_MS: AtomicU64 = AtomicU64::new(DEFAULT_BUSY_TIMEOUT.as_millis() as u64);

pub(crate) fn backend(e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode::{DatabaseBusy, DatabaseLocked};
    match e.sqlite_error_code() {
        // Every write transaction is IMMEDIATE, so busy means the lock was
        // not had within the timeout, before anything was written.
        Some(DatabaseBusy | DatabaseLocked) => {
            StoreError::Busy { seconds: BUSY_TIMEOUT_MS.load(Ordering::Relaxed).div_ceil(1000) }
        }
        _ => StoreError::Backend(e.to_string()),
    }
}

/// Runs `read` inside one read transaction, so that every statement it
/// makes sees the same snapshot of the store, whatever other processes
/// commit meanwhile (WAL: readers neither block writers nor wait for them).
/// Inside a transaction already, `read` just runs in it.
pub(crate) fn in_snapshot<T>(conn: &Connection, read: impl FnOnce() -> Result<T>) -> Result<T> {
    if !conn.is_autocommit() {
        return read();
    }
    conn.execute_batch("BEGIN DEFERRED").map_err(backend)?;
    let out = read();
    // A read transaction has nothing to commit: ending it either way
    // releases the snapshot.
    let end = conn.execute_batch(if out.is_ok() { "COMMIT" } else { "ROLLBACK" }).map_err(backend);
    let out = out?;
    end?;
    Ok(out)
}

impl SqliteStore {
    /// Opens the store at `path`, creating the file (but not its folder) and
    /// bringing its schema up to date, with the default [`OpenOptions`].
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with(path, &OpenOptions::default())
    }

    /// Opens the store at `path` as `options` say.
    pub fn open_with(path: &Path, options: &OpenOptions) -> Result<Self> {
        let open_err = |e: rusqlite::Error| StoreError::Open {
            location: path.display().to_string(),
            message: e.to_string(),
        };
        let mut conn = Connection::open(path).map_err(open_err)?;
        // WAL: readers never block the writer and a killed writer leaves the
        // last committed batch intact. synchronous=NORMAL is durable against
        // process crashes in WAL mode (only a power loss may drop the last
        // commits, never corrupt the file).
        conn.execute_batch(
            "PRAGMA page_size = 16384;
             PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA foreign_keys = ON;
",
        )
        .map_err(open_err)?;
        // Writes wait for another process's write lock up to the timeout,
        // and every write transaction takes the lock when it begins: a
        // deferred one that read first could not wait (SQLite refuses at
        // once to upgrade a read snapshot that another writer made stale).
        conn.busy_timeout(options.busy_timeout).map_err(open_err)?;
        // The search index is written by triggers calling the normalizer
        // (and migration 10 fills it with it): before anything else.
        search::register_normalizer(&conn).map_err(open_err)?;
        conn.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
        BUSY_TIMEOUT_MS.store(options.busy_timeout.as_millis() as u64, Ordering::Relaxed);
        // A file that is not a database fails on the first real read.
        let mut store = SqliteStore { conn, path: path.to_owned(), source_ids: HashMap::new() };
        store.migrate().map_err(|e| match e {
            StoreError::Backend(message) => {
                StoreError::Open { location: path.display().to_string(), message }
            }
            other => other,
        })?;
        Ok(store)
    }

    /// The path of the database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version of the open store.
    pub fn schema_version(&self) -> Result<i64> {
        self.conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(backend)
    }

    fn migrate(&mut self) -> Result<()> {
        let version = self.schema_version()?;
        let supported = MIGRATIONS.len() as i64;
        if version > supported {
            return Err(StoreError::SchemaTooNew { found: version, supported });
        }
        if version == supported {
            return Ok(());
        }
        // Foreign keys off while migrating, as SQLite's procedure for making
        // a table again requires (a dropped table's rows are not deleted
        // through cascades), and checked before each migration commits.
        self.conn.execute_batch("PRAGMA foreign_keys = OFF").map_err(backend)?;
        let result = self.run_migrations(version as usize);
        self.conn.execute_batch("PRAGMA foreign_keys = ON").map_err(backend)?;
        result
    }

    fn run_migrations(&mut self, from: usize) -> Result<()> {
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(from) {
            let version = i as i64 + 1;
            let tx = self.conn.transaction().map_err(backend)?;
            tx.execute_batch(sql).map_err(backend)?;
            if version == IDENTITY_VERSION {
                let identity = uuid::Uuid::new_v4().hyphenated().to_string();
                tx.execute("INSERT INTO store_meta (id, identity) VALUES (1, ?1)", [identity])
                    .map_err(backend)?;
            }
            if version == SERVE_VERSION {
                curation::assign_missing_hma_names(&tx)?;
            }
            let broken: Option<String> = tx
                .query_row("SELECT \"table\" FROM pragma_foreign_key_check LIMIT 1", [], |r| r.get(0))
                .optional()
                .map_err(backend)?;
            if let Some(table) = broken {
                return Err(StoreError::Backend(format!(
                    "migration to schema version {version} left table {table} with broken references"
                )));
            }
            tx.pragma_update(None, "user_version", version).map_err(backend)?;
            tx.commit().map_err(backend)?;
            tracing::info!(version, "migrated store schema");
        }
        Ok(())
    }
}

impl marsad_store::RunStore for SqliteStore {
    fn begin_run(&mut self, run: &marsad_store::NewRun) -> Result<RunId> {
        write::begin_run(&self.conn, run)
    }

    fn finish_run(&mut self, id: RunId, summary: &marsad_store::RunSummary) -> Result<()> {
        write::finish_run(&self.conn, id, summary)
    }

    fn runs(&self) -> Result<Vec<marsad_store::StoredRun>> {
        read::runs(&self.conn)
    }
}

impl marsad_store::PostStore for SqliteStore {
    fn write_batch(
        &mut self,
        run: RunId,
        batch: &marsad_store::PostBatch,
    ) -> Result<marsad_store::BatchOutcome> {
        write::write_batch(&mut self.conn, &mut self.source_ids, run, batch)
    }

    fn stats(&self) -> Result<marsad_store::Stats> {
        in_snapshot(&self.conn, || read::stats(&self.conn))
    }

    fn sources(&self) -> Result<Vec<marsad_store::StoredSource>> {
        read::sources(&self.conn)
    }

    fn source_counts(&self) -> Result<Vec<marsad_store::SourceCount>> {
        in_snapshot(&self.conn, || search::source_counts(&self.conn))
    }

    fn search_posts(&self, query: &marsad_store::PostQuery) -> Result<Vec<marsad_store::FoundPost>> {
        in_snapshot(&self.conn, || search::search_posts(&self.conn, query))
    }

    fn post(&self, source: &SourceKey, platform_post_id: &str) -> Result<Option<marsad_store::StoredPost>> {
        read::post(&self.conn, source, platform_post_id)
    }

    fn posts_of_source(&self, source: &SourceKey) -> Result<Vec<marsad_store::StoredPost>> {
        read::posts_of_source(&self.conn, source)
    }

    fn post_versions(
        &self,
        source: &SourceKey,
        platform_post_id: &str,
    ) -> Result<Option<Vec<marsad_store::PostVersion>>> {
        read::post_versions(&self.conn, source, platform_post_id)
    }

    fn media(&self, sha256: &marsad_core::Sha256) -> Result<Option<marsad_store::StoredMedia>> {
        read::media(&self.conn, sha256)
    }

    fn fingerprinted_media(
        &self,
        sha256: &[marsad_core::Sha256],
    ) -> Result<std::collections::HashSet<marsad_core::Sha256>> {
        read::fingerprinted_media(&self.conn, sha256)
    }

    fn repeats(&self, run: RunId, posts: &[(&SourceKey, &str)]) -> Result<Vec<usize>> {
        in_snapshot(&self.conn, || read::repeats(&self.conn, run, posts))
    }
}

impl marsad_store::BankStore for SqliteStore {
    fn create_bank(&mut self, name: &str) -> Result<marsad_store::BankInfo> {
        banks::create_bank(&mut self.conn, name)
    }

    fn banks(&self) -> Result<Vec<marsad_store::BankInfo>> {
        in_snapshot(&self.conn, || banks::banks(&self.conn))
    }

    fn delete_bank(&mut self, name: &str) -> Result<bool> {
        banks::delete_bank(&mut self.conn, name)
    }

    fn add_bank_entries(&mut self, bank: &str, entries: &[marsad_store::NewBankEntry]) -> Result<u64> {
        banks::add_bank_entries(&mut self.conn, bank, entries)
    }

    fn begin_bank_import<'a>(
        &'a mut self,
        bank: &str,
        create: bool,
    ) -> Result<Box<dyn marsad_store::BankImport + 'a>> {
        Ok(Box::new(banks::Import::begin(&mut self.conn, bank, create)?))
    }

    fn bank_entries(
        &self,
        filter: &marsad_store::EntryFilter,
        visit: &mut dyn FnMut(marsad_store::BankEntry) -> Result<()>,
    ) -> Result<()> {
        banks::bank_entries(&self.conn, filter, visit)
    }

    fn bank_state(&self) -> Result<marsad_store::BankState> {
        banks::bank_state(&self.conn)
    }

    fn matches(&self) -> Result<Vec<marsad_store::StoredMatch>> {
        banks::matches(&self.conn)
    }

    fn matchable_items(
        &self,
        visit: &mut dyn FnMut(marsad_store::MatchableItem) -> Result<()>,
    ) -> Result<()> {
        banks::matchable_items(&self.conn, visit)
    }

    fn add_matches(&mut self, matches: &[(marsad_store::ItemRef, marsad_store::NewMatch)]) -> Result<u64> {
        banks::add_matches(&mut self.conn, matches)
    }
}

impl marsad_store::RegistryStore for SqliteStore {
    fn replace_outlets(&mut self, outlets: &[marsad_store::OutletRecord]) -> Result<()> {
        observe::replace_outlets(&mut self.conn, outlets)
    }

    fn outlets(&self) -> Result<Vec<marsad_store::OutletRecord>> {
        observe::outlets(&self.conn)
    }
}

impl marsad_store::GroupingStore for SqliteStore {
    fn grouping_posts(&self, visit: &mut dyn FnMut(marsad_store::GroupPost) -> Result<()>) -> Result<i64> {
        in_snapshot(&self.conn, || observe::grouping_posts(&self.conn, visit))
    }

    fn ungrouped_posts(&self) -> Result<u64> {
        observe::ungrouped_posts(&self.conn)
    }

    fn post_texts(&self, posts: &[PostId]) -> Result<Vec<(PostId, String)>> {
        observe::post_texts(&self.conn, posts)
    }

    fn apply_grouping(&mut self, update: &marsad_store::GroupingUpdate) -> Result<HashMap<u32, ReleaseId>> {
        observe::apply_grouping(&mut self.conn, update)
    }

    fn release_members(
        &self,
        releases: Option<&[ReleaseId]>,
        visit: &mut dyn FnMut(marsad_store::ReleaseMember) -> Result<()>,
    ) -> Result<()> {
        observe::release_members(&self.conn, releases, visit)
    }

    fn release_matches(
        &self,
        releases: Option<&[ReleaseId]>,
    ) -> Result<Vec<(ReleaseId, marsad_store::BankEntry)>> {
        observe::release_matches(&self.conn, releases)
    }

    fn update_releases(&mut self, releases: &[marsad_store::ReleaseRecord]) -> Result<()> {
        observe::update_releases(&mut self.conn, releases)
    }
}

impl marsad_store::ObservatoryStore for SqliteStore {
    fn releases(
        &self,
        only: Option<&[ReleaseId]>,
        visit: &mut dyn FnMut(marsad_store::ReleaseRecord) -> Result<()>,
    ) -> Result<()> {
        observe::releases(&self.conn, only, visit)
    }

    fn release_points(&self, visit: &mut dyn FnMut(ReleaseId, SourceId, i64) -> Result<()>) -> Result<()> {
        observe::release_points(&self.conn, visit)
    }

    fn source_ids(&self) -> Result<Vec<(SourceId, SourceKey)>> {
        observe::source_ids(&self.conn)
    }

    fn sightings(
        &self,
        only: Option<&[ReleaseId]>,
        visit: &mut dyn FnMut(marsad_store::SightingRecord) -> Result<()>,
    ) -> Result<()> {
        observe::sightings(&self.conn, only, visit)
    }

    fn releases_generation(&self) -> Result<i64> {
        observe::releases_generation(&self.conn)
    }
}

impl marsad_store::MetaStore for SqliteStore {
    fn read_snapshot(&self, read: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        in_snapshot(&self.conn, read)
    }

    fn identity(&self) -> Result<marsad_store::StoreIdentity> {
        let text: String = self
            .conn
            .query_row("SELECT identity FROM store_meta WHERE id = 1", [], |r| r.get(0))
            .map_err(backend)?;
        let uuid = uuid::Uuid::parse_str(&text)
            .map_err(|e| StoreError::Backend(format!("store identity {text:?}: {e}")))?;
        Ok(marsad_store::StoreIdentity::from_bytes(uuid.into_bytes()))
    }
}

impl marsad_store::CurationStore for SqliteStore {
    fn update_bank(
        &mut self,
        hma_name: &str,
        update: &marsad_store::BankUpdate,
    ) -> Result<marsad_store::BankInfo> {
        curation::update_bank(&mut self.conn, hma_name, update)
    }

    fn add_bank_content(&mut self, hma_name: &str, content: &marsad_store::NewContent) -> Result<i64> {
        curation::add_bank_content(&mut self.conn, hma_name, content)
    }

    fn bank_contents(&self, ids: &[i64]) -> Result<Vec<marsad_store::BankContent>> {
        in_snapshot(&self.conn, || curation::bank_contents(&self.conn, ids))
    }

    fn update_bank_content(
        &mut self,
        id: i64,
        update: &marsad_store::ContentUpdate,
    ) -> Result<Option<marsad_store::BankContent>> {
        curation::update_bank_content(&mut self.conn, id, update)
    }

    fn remove_bank_content(&mut self, hma_name: &str, id: i64) -> Result<u64> {
        curation::remove_bank_content(&mut self.conn, hma_name, id)
    }

    fn bank_settings(&self) -> Result<Vec<(marsad_core::BankId, String, marsad_store::BankSettings)>> {
        banks::bank_settings(&self.conn)
    }

    fn served_entries(
        &self,
        after_id: i64,
        visit: &mut dyn FnMut(marsad_store::ServedEntry) -> Result<()>,
    ) -> Result<()> {
        curation::served_entries(&self.conn, after_id, visit)
    }

    fn bank_cursor(&self) -> Result<marsad_store::BankCursor> {
        curation::bank_cursor(&self.conn)
    }

    fn bank_log(&self, after_seq: i64) -> Result<Vec<marsad_store::BankLogRecord>> {
        curation::bank_log(&self.conn, after_seq)
    }

    fn signal_type_ratios(&self) -> Result<std::collections::BTreeMap<String, f64>> {
        curation::signal_type_ratios(&self.conn)
    }

    fn set_signal_type_ratio(&mut self, name: &str, ratio: f64) -> Result<()> {
        curation::set_signal_type_ratio(&mut self.conn, name, ratio)
    }
}

impl marsad_store::AccessStore for SqliteStore {
    fn add_token(&mut self, token: &marsad_store::NewToken) -> Result<marsad_store::TokenRecord> {
        access::add_token(&self.conn, token)
    }

    fn tokens(&self) -> Result<Vec<marsad_store::TokenRecord>> {
        access::tokens(&self.conn)
    }

    fn revoke_token(&mut self, name: &str) -> Result<bool> {
        access::revoke_token(&self.conn, name)
    }

    fn token_by_hash(&self, hash: &[u8; 32]) -> Result<Option<marsad_store::TokenRecord>> {
        access::token_by_hash(&self.conn, hash)
    }

    fn append_audit(&mut self, events: &[marsad_store::NewAuditEvent]) -> Result<()> {
        access::append_audit(&mut self.conn, events)
    }

    fn audit(
        &self,
        since: Option<marsad_core::UtcTime>,
        limit: Option<u64>,
        visit: &mut dyn FnMut(marsad_store::AuditRecord) -> Result<()>,
    ) -> Result<()> {
        access::audit(&self.conn, since, limit, visit)
    }
}

impl marsad_store::CodingStore for SqliteStore {
    fn taxonomy(&self) -> Result<Option<String>> {
        coding::taxonomy(&self.conn)
    }

    fn set_taxonomy(&mut self, toml: &str) -> Result<()> {
        coding::set_taxonomy(&self.conn, toml)
    }

    fn set_code(&mut self, code: &marsad_store::CodeRecord) -> Result<()> {
        coding::set_code(&self.conn, code)
    }

    fn codes(&self, taxonomy: &str, release: Option<ReleaseId>) -> Result<Vec<marsad_store::CodeRecord>> {
        coding::codes(&self.conn, taxonomy, release)
    }
}

impl marsad_store::ReviewStore for SqliteStore {
    fn review_queue(
        &self,
        state: marsad_store::QueueState,
        after: Option<(marsad_core::UtcTime, marsad_store::ReviewTarget)>,
        limit: u64,
    ) -> Result<Vec<marsad_store::QueueItem>> {
        review::review_queue(&self.conn, state, after, limit)
    }

    fn review_counts(&self) -> Result<(u64, u64)> {
        review::review_counts(&self.conn)
    }

    fn decide(&mut self, decisions: &[marsad_store::NewDecision]) -> Result<Vec<i64>> {
        review::decide(&mut self.conn, decisions)
    }

    fn undo_decision(
        &mut self,
        id: i64,
        actor: &str,
        at: marsad_core::UtcTime,
    ) -> Result<Option<marsad_store::DecisionRecord>> {
        review::undo_decision(&mut self.conn, id, actor, at)
    }

    fn decisions(&self, after: i64, limit: u64) -> Result<Vec<marsad_store::DecisionRecord>> {
        review::decisions(&self.conn, after, limit)
    }

    fn latest_decisions(&self, limit: u64) -> Result<Vec<marsad_store::DecisionRecord>> {
        review::latest_decisions(&self.conn, limit)
    }

    fn standing_decisions(
        &self,
        targets: &[marsad_store::ReviewTarget],
    ) -> Result<Vec<marsad_store::DecisionRecord>> {
        review::standing_decisions(&self.conn, targets)
    }

    fn matches_by_id(&self, ids: &[i64]) -> Result<Vec<marsad_store::StoredMatch>> {
        banks::matches_where(&self.conn, Some(ids))
    }

    fn ui_settings(&self) -> Result<Vec<(String, i64)>> {
        review::ui_settings(&self.conn)
    }

    fn set_ui_setting(&mut self, key: &str, value: i64) -> Result<()> {
        review::set_ui_setting(&self.conn, key, value)
    }

    fn user_blur(&self, user: &str) -> Result<Option<u8>> {
        review::user_blur(&self.conn, user)
    }

    fn set_user_blur(&mut self, user: &str, blur: Option<u8>) -> Result<bool> {
        review::set_user_blur(&self.conn, user, blur)
    }

    fn add_exposure(&mut self, user: &str, day: i64, items: u64) -> Result<u64> {
        review::add_exposure(&self.conn, user, day, items)
    }

    fn exposure(&self, user: &str, day: i64) -> Result<u64> {
        review::exposure(&self.conn, user, day)
    }

    fn ignored_entries(&self) -> Result<Vec<(marsad_store::ItemRef, marsad_core::EntryId)>> {
        review::ignored_entries(&self.conn)
    }
}

impl marsad_store::AccountStore for SqliteStore {
    fn add_user(&mut self, user: &marsad_store::NewUser) -> Result<marsad_store::UserRecord> {
        accounts::add_user(&self.conn, user)
    }

    fn users(&self) -> Result<Vec<marsad_store::UserRecord>> {
        accounts::users(&self.conn)
    }

    fn user(&self, name: &str) -> Result<Option<marsad_store::UserRecord>> {
        accounts::user(&self.conn, name)
    }

    fn set_password(&mut self, name: &str, password_hash: &str) -> Result<bool> {
        accounts::set_password(&mut self.conn, name, password_hash)
    }

    fn disable_user(&mut self, name: &str) -> Result<bool> {
        accounts::disable_user(&mut self.conn, name)
    }

    fn add_session(&mut self, session: &marsad_store::NewSession) -> Result<()> {
        accounts::add_session(&mut self.conn, session)
    }

    fn session(
        &self,
        hash: &[u8; 32],
        now: marsad_core::UtcTime,
    ) -> Result<Option<marsad_store::SessionRecord>> {
        accounts::session(&self.conn, hash, now)
    }

    fn end_session(&mut self, hash: &[u8; 32]) -> Result<bool> {
        accounts::end_session(&self.conn, hash)
    }
}

impl marsad_store::JobStore for SqliteStore {
    fn add_job(&mut self, job: &marsad_store::NewJob) -> Result<marsad_store::JobRecord> {
        jobs::add_job(&self.conn, job)
    }

    fn job(&self, id: i64) -> Result<Option<marsad_store::JobRecord>> {
        jobs::job(&self.conn, id)
    }

    fn jobs(&self, limit: u64) -> Result<Vec<marsad_store::JobRecord>> {
        jobs::jobs(&self.conn, limit)
    }

    fn start_job(&mut self, id: i64) -> Result<bool> {
        jobs::start_job(&self.conn, id)
    }

    fn finish_job(&mut self, id: i64, end: &marsad_store::JobEnd) -> Result<bool> {
        jobs::finish_job(&self.conn, id, end)
    }

    fn heartbeat_jobs(&mut self, ids: &[i64]) -> Result<()> {
        jobs::heartbeat_jobs(&self.conn, ids)
    }

    fn fail_unfinished_jobs(&mut self, error: &str, stale_before: marsad_core::UtcTime) -> Result<u64> {
        jobs::fail_unfinished_jobs(&self.conn, error, stale_before)
    }
}
