//! Opening the engine on the store named by `--db`.

use anyhow::Result;
use marsad_engine::{Engine, StoreOptions};

/// Opens the store named by `--db` (a file path, or a URL whose scheme
/// names a backend), with the busy timeout of `MARSAD_BUSY_TIMEOUT` when set.
pub fn open(db: &str) -> Result<Engine> {
    let mut options = StoreOptions::default();
    if let Some(text) = std::env::var_os(StoreOptions::BUSY_TIMEOUT_VAR) {
        options.busy_timeout = StoreOptions::parse_busy_timeout(&text.to_string_lossy())?;
    }
    Ok(Engine::open_with(db, &options)?)
}
