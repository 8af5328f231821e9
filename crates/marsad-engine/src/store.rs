//! Opening the store named by `--db`, and the files that live beside it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use marsad_store::Store;
use marsad_store_sqlite::SqliteStore;
use serde::Serialize;

use crate::Engine;
use crate::error::{EngineError, Result};

/// Where a store is: a file (SQLite), or a server named by a URL whose
/// scheme picks the backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreLocation {
    /// An embedded SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL server (`postgres://…`), shared by many processes.
    Postgres(String),
}

impl StoreLocation {
    /// Parses `--db`: `postgres://…` or `postgresql://…` is PostgreSQL, any
    /// other `scheme://` is refused, anything else is a file path.
    pub fn parse(db: &str) -> Result<Self> {
        if db.starts_with("postgres://") || db.starts_with("postgresql://") {
            return Ok(StoreLocation::Postgres(db.to_owned()));
        }
        if let Some((scheme, _)) = db.split_once("://") {
            return Err(EngineError::Invalid(format!(
                "unsupported store URL scheme {scheme:?} in {db:?}: use a file path (SQLite) or postgres://"
            )));
        }
        if db.is_empty() {
            return Err(EngineError::Invalid("--db is empty: give a file path".to_owned()));
        }
        Ok(StoreLocation::Sqlite(PathBuf::from(db)))
    }

    /// A file beside the store named `<db><suffix>`, when the store is a file.
    fn beside(&self, suffix: &str) -> Option<PathBuf> {
        match self {
            StoreLocation::Sqlite(p) => {
                let mut s = p.clone().into_os_string();
                s.push(suffix);
                Some(PathBuf::from(s))
            }
            StoreLocation::Postgres(_) => None,
        }
    }
}

impl std::fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreLocation::Sqlite(p) => write!(f, "{}", p.display()),
            // Never the password of its user.
            StoreLocation::Postgres(url) => f.write_str(&marsad_store_postgres::redacted(url)),
        }
    }
}

/// How the store is opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreOptions {
    /// How long a write waits while another process holds the store's
    /// write lock (an ingest, a bank import, a grouping run) before it gives
    /// up, writing nothing.
    pub busy_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions { busy_timeout: marsad_store_sqlite::DEFAULT_BUSY_TIMEOUT }
    }
}

impl StoreOptions {
    /// The environment variable that sets [`StoreOptions::busy_timeout`].
    pub const BUSY_TIMEOUT_VAR: &str = "MARSAD_BUSY_TIMEOUT";

    /// A busy timeout as a person gives it: seconds, at least 0, at most a
    /// day (fractions allowed).
    pub fn parse_busy_timeout(text: &str) -> Result<Duration> {
        text.trim()
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && (0.0..=86_400.0).contains(s))
            .map(Duration::from_secs_f64)
            .ok_or_else(|| {
                EngineError::Invalid(format!(
                    "{} {text:?} is not a number of seconds from 0 to 86400",
                    Self::BUSY_TIMEOUT_VAR
                ))
            })
    }
}

/// `marsad init --json`.
#[derive(Clone, Debug, Serialize)]
pub struct StoreInfo {
    /// The store as `--db` named it.
    pub db: String,
    /// Its schema version.
    pub schema_version: i64,
}

/// `marsad stats --json`.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct StoreStats {
    /// Fingerprints.
    pub fingerprints: u64,
    /// Media items.
    pub media: u64,
    /// Posts.
    pub posts: u64,
    /// Sources.
    pub sources: u64,
}

impl From<marsad_store::Stats> for StoreStats {
    fn from(s: marsad_store::Stats) -> Self {
        StoreStats { sources: s.sources, posts: s.posts, media: s.media, fingerprints: s.fingerprints }
    }
}

impl Engine {
    /// Opens (creating when new) the store named by `db`, with the default
    /// [`StoreOptions`].
    pub fn open(db: &str) -> Result<Engine> {
        Self::open_with(db, &StoreOptions::default())
    }

    /// Opens (creating when new) the store named by `db` as `options` say.
    pub fn open_with(db: &str, options: &StoreOptions) -> Result<Engine> {
        let location = StoreLocation::parse(db)?;
        let (store, schema_version): (Box<dyn Store>, i64) = match &location {
            StoreLocation::Postgres(url) => {
                let pg = marsad_store_postgres::OpenOptions { busy_timeout: options.busy_timeout };
                let store = marsad_store_postgres::PgStore::open_with(url, &pg)
                    .map_err(|e| EngineError::step(format!("opening store {location}"), e))?;
                let version = store.schema_version()?;
                (Box::new(store), version)
            }
            StoreLocation::Sqlite(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent).map_err(|e| EngineError::io(parent.display(), e))?;
                }
                let sqlite = marsad_store_sqlite::OpenOptions { busy_timeout: options.busy_timeout };
                let store = SqliteStore::open_with(path, &sqlite)
                    .map_err(|e| EngineError::step(format!("opening store {db}"), e))?;
                let version = store.schema_version()?;
                (Box::new(store), version)
            }
        };
        Ok(Engine {
            db: db.to_owned(),
            location,
            store,
            schema_version,
            memory: marsad_core::MemoryBudget::default(),
        })
    }

    /// Sets the memory budget that decoded pixels, video frames and long
    /// texts of this engine's operations draw on (`--memory`); the default
    /// is [`marsad_core::DEFAULT_MEMORY_BUDGET`]. Less than 16 MiB is
    /// refused: nothing useful decodes in it.
    pub fn set_memory_budget(&mut self, bytes: u64) -> Result<()> {
        if bytes < 16 << 20 {
            return Err(EngineError::Invalid(format!(
                "--memory must be at least 16 MiB, got {}",
                marsad_core::Size(bytes)
            )));
        }
        self.memory = marsad_core::MemoryBudget::new(bytes);
        Ok(())
    }

    /// Makes this engine draw on `budget`, shared with other engines (a
    /// server's connections share one budget).
    pub fn share_memory_budget(&mut self, budget: &marsad_core::MemoryBudget) {
        self.memory = budget.clone();
    }

    /// The memory budget of this engine's operations.
    pub fn memory(&self) -> &marsad_core::MemoryBudget {
        &self.memory
    }

    /// The decoding limits of this engine's operations (over its memory
    /// budget).
    pub fn limits(&self) -> marsad_media::Limits {
        marsad_media::Limits::with_memory(self.memory.clone())
    }

    /// The store as `--db` named it.
    pub fn db(&self) -> &str {
        &self.db
    }

    /// Where the store is.
    pub fn location(&self) -> &StoreLocation {
        &self.location
    }

    /// The store, for reads.
    pub fn store(&self) -> &dyn Store {
        &*self.store
    }

    /// The store, for writes.
    pub fn store_mut(&mut self) -> &mut dyn Store {
        &mut *self.store
    }

    /// What `marsad init` reports.
    pub fn info(&self) -> StoreInfo {
        StoreInfo { db: self.db.clone(), schema_version: self.schema_version }
    }

    /// Counts of what the store holds.
    pub fn stats(&self) -> Result<StoreStats> {
        Ok(self.store.stats()?.into())
    }

    /// The folder where retained media bytes go: beside a SQLite store
    /// (`marsad.db` → `marsad.media/`); for a PostgreSQL store, the folder
    /// `MARSAD_MEDIA_DIR` names (shared by the processes that keep or show
    /// media), if it does.
    pub fn media_dir(&self) -> Option<PathBuf> {
        match &self.location {
            StoreLocation::Sqlite(path) => Some(media_dir(path)),
            StoreLocation::Postgres(_) => {
                std::env::var_os(MEDIA_DIR_VAR).filter(|v| !v.is_empty()).map(PathBuf::from)
            }
        }
    }

    /// The cached PDQ bank index: `marsad.db.pdq-index`.
    pub(crate) fn bank_index_cache(&self) -> Option<PathBuf> {
        self.location.beside(".pdq-index")
    }

    /// The observatory cache: `marsad.db.observatory`.
    pub(crate) fn observatory_cache(&self) -> Option<PathBuf> {
        self.location.beside(".observatory")
    }
}

/// The folder of retained media for a PostgreSQL store.
pub const MEDIA_DIR_VAR: &str = "MARSAD_MEDIA_DIR";

/// `marsad.db` → `marsad.media/` beside it.
fn media_dir(path: &Path) -> PathBuf {
    let stem =
        path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "marsad".to_owned());
    path.with_file_name(format!("{stem}.media"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse() {
        assert_eq!(StoreLocation::parse("a/b.db").ok(), Some(StoreLocation::Sqlite("a/b.db".into())));
        assert!(matches!(StoreLocation::parse("postgres://h/db"), Ok(StoreLocation::Postgres(_))));
        assert!(matches!(StoreLocation::parse("postgresql://h/db"), Ok(StoreLocation::Postgres(_))));
        assert!(matches!(StoreLocation::parse("mysql://h/db"), Err(EngineError::Invalid(_))));
        assert!(matches!(StoreLocation::parse(""), Err(EngineError::Invalid(_))));
        let l = StoreLocation::parse("x/marsad.db").ok();
        assert_eq!(l.and_then(|l| l.beside(".pdq-index")), Some(PathBuf::from("x/marsad.db.pdq-index")));
        assert_eq!(media_dir(Path::new("x/marsad.db")), PathBuf::from("x/marsad.media"));
    }
}
