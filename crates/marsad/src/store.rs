//! Choosing the store backend from `--db`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use marsad_store_sqlite::SqliteStore;

/// Opens the store named by `--db`: a file path (SQLite), or a URL whose
/// scheme names a backend.
pub fn open(db: &str) -> Result<SqliteStore> {
    if db.starts_with("postgres://") || db.starts_with("postgresql://") {
        bail!("the PostgreSQL store is not available in this build yet; use a SQLite file path for --db");
    }
    if db.contains("://") {
        bail!("unsupported store URL {db:?}: use a file path (SQLite)");
    }
    let path = Path::new(db);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("creating folder {}", parent.display()))?;
    }
    SqliteStore::open(path).with_context(|| format!("opening store {db}"))
}

/// The folder beside the database where retained media bytes go:
/// `marsad.db` → `marsad.media/`.
pub fn media_dir(db: &str) -> PathBuf {
    let path = Path::new(db);
    let stem =
        path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "marsad".to_owned());
    path.with_file_name(format!("{stem}.media"))
}

/// Where the cached PDQ bank index of a store lives: beside a SQLite file
/// (`marsad.db` → `marsad.db.pdq-index`).
pub fn bank_index_path(db: &str) -> Option<PathBuf> {
    if db.contains("://") {
        return None;
    }
    Some(PathBuf::from(format!("{db}.pdq-index")))
}

/// Where the observatory cache of a store lives: `marsad.db.observatory`.
pub fn observatory_path(db: &str) -> Option<PathBuf> {
    if db.contains("://") {
        return None;
    }
    Some(PathBuf::from(format!("{db}.observatory")))
}
