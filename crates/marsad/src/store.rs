//! Opening the engine on the store named by `--db`.

use anyhow::Result;
use marsad_engine::Engine;

/// Opens the store named by `--db` (a file path, or a URL whose scheme
/// names a backend).
pub fn open(db: &str) -> Result<Engine> {
    Ok(Engine::open(db)?)
}
