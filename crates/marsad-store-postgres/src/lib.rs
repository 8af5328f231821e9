//! The shared marsad store: PostgreSQL through rust-postgres's synchronous
//! client, versioned migrations in `migrations/`, one transaction per
//! batch, for many processes at once (servers, workers, the CLI) on one
//! database.
//!
//! Each role of [`marsad_store::Store`] is implemented in its own module
//! over [`PgStore`], as the SQLite store's are, with the same behaviour
//! (the shared suite, `marsad_store::store_suite!`, holds both to it).
//!
//! **Writers.** As in the embedded store, one write transaction runs at a
//! time on a store: every write takes the transaction-scoped advisory lock
//! [`WRITER_LOCK`] first ([`PgStore::write`]), waiting up to the busy
//! timeout (`lock_timeout`) and failing with [`StoreError::Busy`], having
//! written nothing, after it. The read-then-write logic each role shares
//! with SQLite therefore stays correct whatever other processes do;
//! readers never wait (MVCC), and a read that must see one moment
//! ([`marsad_store::MetaStore::read_snapshot`]) runs in one REPEATABLE
//! READ transaction.
//!
//! **Schemas.** The store's tables live in the connection's first schema
//! on its `search_path`: a URL may name one
//! (`postgres://host/db?options=-csearch_path%3Dmarsad`), so several
//! stores (tests, tenants) share a database. [`ScratchStore`] makes such a
//! schema for a test and drops it after.
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

use std::cell::{RefCell, RefMut};
use std::collections::HashMap;
use std::time::Duration;

use marsad_core::{Platform, Sha256, SignalVariant, SourceKey, UtcTime};
use marsad_store::{Result, StoreError};
use postgres::{Client, NoTls, Transaction};

/// Migrations in order; migration `i` brings the schema to version `i + 1`.
const MIGRATIONS: &[&str] =
    &[include_str!("../migrations/0001_init.sql"), include_str!("../migrations/0002_queue.sql")];

/// The schema version this build writes (the number of migrations).
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Runs `f` where the synchronous client may block: on a thread of its own
/// when called from inside an async runtime (rust-postgres's client drives
/// a runtime of its own, which cannot run inside another), else here.
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    if tokio::runtime::Handle::try_current().is_err() {
        return f();
    }
    std::thread::scope(|scope| match scope.spawn(f).join() {
        Ok(out) => out,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}

/// A connection, closed off any async runtime when dropped (see
/// [`off_runtime`]), so that a store may be dropped anywhere.
pub(crate) struct Conn(Option<Client>);

impl std::ops::Deref for Conn {
    type Target = Client;
    fn deref(&self) -> &Client {
        self.0.as_ref().expect("a connection is only taken when dropped")
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut Client {
        self.0.as_mut().expect("a connection is only taken when dropped")
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Some(client) = self.0.take() {
            off_runtime(move || drop(client));
        }
    }
}

/// The advisory lock every write transaction holds (`marsad` in ASCII):
/// one writer at a time per database, as SQLite's write lock.
pub const WRITER_LOCK: i64 = 0x6d61_7273_6164;

/// The advisory lock held while migrating, so two processes opening a new
/// store at once do not both create it.
const MIGRATION_LOCK: i64 = WRITER_LOCK + 1;

/// The advisory lock (a session's) of the one grouping leader.
pub const GROUPING_LOCK: i64 = WRITER_LOCK + 2;

/// How long a process waits for another's grouping run to end.
pub(crate) const GROUPING_WAIT: std::time::Duration = std::time::Duration::from_secs(600);

/// How long a write waits for another process's write lock by default.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// How a store is opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenOptions {
    /// How long a write waits while another process holds the store's
    /// write lock before it gives up with [`StoreError::Busy`].
    pub busy_timeout: Duration,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions { busy_timeout: DEFAULT_BUSY_TIMEOUT }
    }
}

/// A marsad store in a PostgreSQL database (one schema of it).
pub struct PgStore {
    client: RefCell<Conn>,
    /// The URL as given, without its password (for messages).
    location: String,
    busy_timeout: Duration,
    /// Whether [`marsad_store::MetaStore::read_snapshot`] has a transaction
    /// open on the connection.
    in_snapshot: std::cell::Cell<bool>,
    /// Source ids by key, filled only from committed transactions.
    pub(crate) source_ids: HashMap<SourceKey, (i64, String, String)>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("location", &self.location).finish_non_exhaustive()
    }
}

/// The URL without the password of its user, if it has one.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((user, host)) => match user.split_once(':') {
            Some((name, _)) => format!("{scheme}://{name}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// PostgreSQL's SQLSTATE of a lock not had within `lock_timeout`.
const LOCK_NOT_AVAILABLE: &str = "55P03";

/// A backend error as a store error: a lock wait past the busy timeout is
/// [`StoreError::Busy`], anything else [`StoreError::Backend`] with what
/// the server said.
pub(crate) fn backend(e: postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(db) if db.code().code() == LOCK_NOT_AVAILABLE => StoreError::Busy { seconds: 0 },
        Some(db) => StoreError::Backend(format!("{}: {}", db.severity(), db.message())),
        None => StoreError::Backend(e.to_string()),
    }
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Backend(format!("corrupt store: invalid {what} {value:?}"))
}

/// A stored time, or an error naming it.
pub(crate) fn time(micros: i64) -> Result<UtcTime> {
    UtcTime::from_unix_micros(micros).ok_or_else(|| corrupt("time", &micros.to_string()))
}

/// A stored source's key.
pub(crate) fn source_key(platform: &str, platform_id: String) -> Result<SourceKey> {
    let platform = Platform::new(platform).map_err(|_| corrupt("platform", platform))?;
    Ok(SourceKey { platform, platform_id })
}

/// A stored SHA-256.
pub(crate) fn sha(bytes: &[u8]) -> Result<Sha256> {
    bytes.try_into().map(Sha256).map_err(|_| corrupt("sha256", &format!("{bytes:?}")))
}

/// A stored variant name (`None` for marsad's own fingerprint), or an error
/// naming `record`, the fingerprint or match that holds it.
pub(crate) fn variant(
    name: Option<String>,
    record: impl FnOnce() -> String,
) -> Result<Option<SignalVariant>> {
    let Some(name) = name else { return Ok(None) };
    SignalVariant::parse(&name)
        .map(Some)
        .ok_or_else(|| StoreError::Corrupt { record: record(), problem: format!("unknown variant {name:?}") })
}

impl PgStore {
    /// Opens the store at `url` (`postgres://…`), creating its tables when
    /// the schema has none, with the default [`OpenOptions`].
    pub fn open(url: &str) -> Result<Self> {
        Self::open_with(url, &OpenOptions::default())
    }

    /// Opens the store at `url` as `options` say.
    pub fn open_with(url: &str, options: &OpenOptions) -> Result<Self> {
        off_runtime(|| Self::open_here(url, options))
    }

    fn open_here(url: &str, options: &OpenOptions) -> Result<Self> {
        let location = redacted(url);
        let open_err = |message: String| StoreError::Open { location: location.clone(), message };
        let config: postgres::Config = url.parse().map_err(|e: postgres::Error| open_err(e.to_string()))?;
        let mut client = Conn(Some(config.connect(NoTls).map_err(|e| open_err(e.to_string()))?));
        let ms = options.busy_timeout.as_millis().max(1);
        client
            .batch_execute(&format!("SET lock_timeout = {ms}; SET client_min_messages = warning"))
            .map_err(|e| open_err(e.to_string()))?;
        let mut store = PgStore {
            client: RefCell::new(client),
            location: location.clone(),
            busy_timeout: options.busy_timeout,
            in_snapshot: std::cell::Cell::new(false),
            source_ids: HashMap::new(),
        };
        store.migrate().map_err(|e| match e {
            StoreError::Backend(message) => StoreError::Open { location, message },
            other => other,
        })?;
        Ok(store)
    }

    /// The URL of the store, without its password.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// The schema version of the open store.
    pub fn schema_version(&self) -> Result<i64> {
        let mut c = self.db()?;
        schema_version(&mut c)
    }

    fn migrate(&mut self) -> Result<()> {
        let client = self.client.get_mut();
        let mut tx = client.transaction().map_err(backend)?;
        // Waits for another process migrating the same database.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).map_err(backend)?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS marsad_schema (
                 id      INTEGER PRIMARY KEY CHECK (id = 1),
                 version BIGINT NOT NULL
             )",
        )
        .map_err(backend)?;
        let found: Option<i64> = tx
            .query_opt("SELECT version FROM marsad_schema WHERE id = 1", &[])
            .map_err(backend)?
            .map(|r| r.get(0));
        let version = found.unwrap_or(0);
        let supported = SCHEMA_VERSION;
        if version > supported {
            return Err(StoreError::SchemaTooNew { found: version, supported });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let next = i as i64 + 1;
            tx.batch_execute(sql).map_err(|e| {
                StoreError::Backend(format!("migration to schema version {next}: {}", backend(e)))
            })?;
            if next == 1 {
                let identity = uuid::Uuid::new_v4().hyphenated().to_string();
                tx.execute("INSERT INTO store_meta (id, identity) VALUES (1, $1)", &[&identity])
                    .map_err(backend)?;
            }
            tx.execute(
                "INSERT INTO marsad_schema (id, version) VALUES (1, $1)
                 ON CONFLICT (id) DO UPDATE SET version = excluded.version",
                &[&next],
            )
            .map_err(backend)?;
            tracing::info!(version = next, "migrated store schema");
        }
        tx.commit().map_err(backend)
    }

    /// The connection, for a read (`&self` methods). A store call made
    /// from inside another's visitor (which holds the connection) is an
    /// error, not a panic.
    pub(crate) fn db(&self) -> Result<RefMut<'_, Conn>> {
        self.client.try_borrow_mut().map_err(|_| {
            StoreError::Backend(
                "the store's connection is in use by the call this one was made from (a visitor may not \
                 call the store)"
                    .to_owned(),
            )
        })
    }

    /// Runs `write` in one transaction holding [`WRITER_LOCK`]: committed
    /// when it returns `Ok`, rolled back (nothing written) otherwise. A
    /// lock not had within the busy timeout is [`StoreError::Busy`].
    pub(crate) fn write<T>(&mut self, write: impl FnOnce(&mut Transaction<'_>) -> Result<T>) -> Result<T> {
        let seconds = self.busy_timeout.as_secs().max(1);
        let busy = |e: StoreError| match e {
            StoreError::Busy { .. } => StoreError::Busy { seconds },
            other => other,
        };
        let client = self.client.get_mut();
        let mut tx = client.transaction().map_err(backend)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITER_LOCK]).map_err(|e| busy(backend(e)))?;
        let out = write(&mut tx).map_err(busy)?;
        tx.commit().map_err(|e| busy(backend(e)))?;
        Ok(out)
    }

    /// Runs `read` inside one REPEATABLE READ transaction, so that every
    /// statement it makes sees the same snapshot; inside one already,
    /// `read` just runs in it. The connection is not held while `read`
    /// runs (it makes its own store calls).
    pub(crate) fn in_snapshot<T>(&self, read: impl FnOnce() -> Result<T>) -> Result<T> {
        if self.in_snapshot.get() {
            return read();
        }
        self.db()?.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").map_err(backend)?;
        self.in_snapshot.set(true);
        let out = read();
        self.in_snapshot.set(false);
        // A read-only transaction has nothing to commit: ending it either
        // way releases the snapshot.
        let end = self.db().and_then(|mut c| {
            c.batch_execute(if out.is_ok() { "COMMIT" } else { "ROLLBACK" }).map_err(backend)
        });
        let out = out?;
        end?;
        Ok(out)
    }
}

fn schema_version(c: &mut Client) -> Result<i64> {
    Ok(c.query_opt("SELECT version FROM marsad_schema WHERE id = 1", &[])
        .map_err(backend)?
        .map_or(0, |r| r.get(0)))
}

impl marsad_store::MetaStore for PgStore {
    fn read_snapshot(&self, read: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        self.in_snapshot(read)
    }

    fn identity(&self) -> Result<marsad_store::StoreIdentity> {
        let text: String = self
            .db()?
            .query_one("SELECT identity FROM store_meta WHERE id = 1", &[])
            .map_err(backend)?
            .get(0);
        let uuid = uuid::Uuid::parse_str(&text)
            .map_err(|e| StoreError::Backend(format!("store identity {text:?}: {e}")))?;
        Ok(marsad_store::StoreIdentity::from_bytes(uuid.into_bytes()))
    }
}

/// A store in a schema of its own, made for a test in the database at
/// `base` (`MARSAD_TEST_POSTGRES`, or `postgres://127.0.0.1:5432/test`)
/// and dropped, with everything in it, when this is dropped.
pub struct ScratchStore {
    admin: Conn,
    schema: String,
    url: String,
}

/// The database tests use unless `MARSAD_TEST_POSTGRES` names another.
pub const DEFAULT_TEST_URL: &str = "postgres://127.0.0.1:5432/test";

impl std::fmt::Debug for ScratchStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScratchStore").field("schema", &self.schema).finish_non_exhaustive()
    }
}

impl ScratchStore {
    /// A new empty schema in the test database (a clear error when the
    /// server cannot be reached).
    pub fn new() -> Result<ScratchStore> {
        off_runtime(Self::new_here)
    }

    fn new_here() -> Result<ScratchStore> {
        let base = std::env::var("MARSAD_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_TEST_URL.to_owned());
        let open_err = |message: String| StoreError::Open { location: redacted(&base), message };
        let mut admin = Conn(Some(
            base.parse::<postgres::Config>()
                .map_err(|e| open_err(e.to_string()))?
                .connect(NoTls)
                .map_err(|e| open_err(format!("{e} (is PostgreSQL running? .ci/run starts it)")))?,
        ));
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let schema = format!("marsad_test_{}_{n}_{nanos}", std::process::id());
        admin.batch_execute(&format!("CREATE SCHEMA {schema}")).map_err(backend)?;
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-csearch_path%3D{schema}");
        Ok(ScratchStore { admin, schema, url })
    }

    /// The URL of the schema's store (`--db`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The store, opened.
    pub fn open(&self) -> Result<PgStore> {
        PgStore::open(&self.url)
    }
}

impl Drop for ScratchStore {
    fn drop(&mut self) {
        let (admin, schema) = (&mut self.admin, &self.schema);
        let dropped =
            off_runtime(move || admin.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")));
        if let Err(e) = dropped {
            tracing::warn!(schema = %self.schema, error = %e, "could not drop a test schema");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_left_out_of_messages() {
        assert_eq!(redacted("postgres://u:secret@h:5432/db?x=1"), "postgres://u:***@h:5432/db?x=1");
        assert_eq!(redacted("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redacted("postgres://h/db"), "postgres://h/db");
        assert_eq!(redacted("postgres://u:p@w@h/db"), "postgres://u:***@h/db");
    }
}

#[cfg(test)]
mod open_tests {
    use marsad_store::MetaStore;

    use super::*;

    #[test]
    fn a_new_schema_is_migrated_once_and_keeps_its_identity() {
        let scratch = ScratchStore::new().expect("the test database");
        let store = scratch.open().expect("open");
        assert_eq!(store.schema_version().expect("version"), SCHEMA_VERSION);
        let identity = store.identity().expect("identity");
        drop(store);
        let again = scratch.open().expect("reopen");
        assert_eq!(again.identity().expect("identity"), identity, "opened again, not made again");
        let other = ScratchStore::new().expect("another schema");
        assert_ne!(other.open().expect("open").identity().expect("identity"), identity);
    }

    #[test]
    fn a_newer_schema_is_refused_and_a_bad_url_named() {
        let scratch = ScratchStore::new().expect("the test database");
        drop(scratch.open().expect("open"));
        let mut c = scratch.url().parse::<postgres::Config>().expect("url").connect(NoTls).expect("connect");
        c.batch_execute("UPDATE marsad_schema SET version = 99").expect("update");
        match PgStore::open(scratch.url()) {
            Err(StoreError::SchemaTooNew { found: 99, supported }) => assert_eq!(supported, SCHEMA_VERSION),
            other => panic!("{other:?}"),
        }
        match PgStore::open("postgres://u:hunter2@127.0.0.1:1/none") {
            Err(e @ StoreError::Open { .. }) => {
                let m = e.to_string();
                assert!(m.contains("127.0.0.1:1") && !m.contains("hunter2"), "{m}");
            }
            other => panic!("{other:?}"),
        }
    }
}
