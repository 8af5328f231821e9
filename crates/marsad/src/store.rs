//! Opening the engine on the store named by `--db`.

use anyhow::Result;
use marsad_engine::{Engine, StoreOptions};

/// The memory budget `--memory` asked for, set once at start.
static MEMORY: std::sync::OnceLock<u64> = std::sync::OnceLock::new();

/// Records `--memory` for every engine this process opens.
pub fn set_memory(bytes: u64) {
    let _ = MEMORY.set(bytes);
}

/// Opens the store named by `--db` (a file path, or a URL whose scheme
/// names a backend), with the busy timeout of `MARSAD_BUSY_TIMEOUT` when set
/// and the memory budget of `--memory`.
pub fn open(db: &str) -> Result<Engine> {
    let mut options = StoreOptions::default();
    if let Some(text) = std::env::var_os(StoreOptions::BUSY_TIMEOUT_VAR) {
        options.busy_timeout = StoreOptions::parse_busy_timeout(&text.to_string_lossy())?;
    }
    let mut engine = Engine::open_with(db, &options)?;
    if let Some(&bytes) = MEMORY.get() {
        engine.set_memory_budget(bytes)?;
    }
    Ok(engine)
}
