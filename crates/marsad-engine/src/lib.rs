//! marsad's engine: the one library surface every front end drives — the
//! `marsad` CLI today, `marsad serve` and the queue workers next.
//!
//! An [`Engine`] is an open store plus the files beside it (the banks' PDQ
//! index, the observatory cache, retained media). Every operation a front
//! end calls is here, and returns a typed result that serializes to the JSON
//! the CLI prints with `--json` (and the HTTP API will return):
//!
//! - [`Engine::open`]: a store from `--db` (a path, or a URL whose scheme
//!   picks the backend), see [`store`];
//! - [`Engine::ingest`]: an export or JSON lines file into the store;
//! - [`jobs`]: ingest jobs — an uploaded archive extracted as hostile
//!   input, then ingested as `marsad ingest` does ([`Engine::run_job`]);
//! - [`fingerprint::fingerprint_file`]: one file, exactly as ingest
//!   fingerprints a post's media (and as `match` and uploads do);
//! - [`Engine::matching`] then [`matching::Matching::match_files`] /
//!   [`matching::Matching::match_values`]; [`Engine::rescan`];
//!   [`Engine::stored_matches`];
//! - banks: [`Engine::create_bank`], [`Engine::banks`],
//!   [`Engine::import_bank`], [`Engine::export_bank`], [`Engine::delete_bank`];
//! - the registry: [`Engine::import_outlets`], [`Engine::outlets`];
//! - [`Engine::observatory`] (groups what is new, then loads the releases as
//!   columns), [`Engine::releases`], and every analytics query through
//!   [`observatory::analyze`] with a [`observatory::FilterSpec`];
//! - [`Engine::write_report`], [`Engine::export_tables`];
//! - [`hash`]: fingerprints of files in the reference tools' forms;
//! - [`access`]: tokens and the audit log; [`accounts`]: the web UI's
//!   users (argon2id passwords) and sessions ([`Engine::login`]);
//! - [`demo::run`].
//!
//! The engine never prints: progress goes through
//! [`marsad_ingest::Reporter`], results are returned, and output streams
//! are handed to callbacks.
//!
//! ```no_run
//! # fn main() -> Result<(), marsad_engine::EngineError> {
//! use marsad_engine::{Engine, observatory::{FilterSpec, Query, analyze}};
//! let mut engine = Engine::open("marsad.db")?;
//! let filter = FilterSpec { official_only: true, ..FilterSpec::default() }.parse()?;
//! let obs = engine.observatory()?;
//! let rows = analyze(&obs, &filter, &Query::timeline("week", Some("outlet"))?)?;
//! println!("{}", serde_json::to_string(&rows).unwrap_or_default());
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

pub mod access;
pub mod accounts;
pub mod banks;
pub mod coding;
pub mod demo;
mod error;
pub mod fingerprint;
pub mod hash;
pub mod ingest;
pub mod jobs;
pub mod live;
pub mod matching;
pub mod observatory;
pub mod posts;
pub mod protection;
pub mod queue;
pub mod report;
pub mod review;
pub mod store;

pub use error::{EngineError, Result};
pub use marsad_core::{SignalType, parse_size};
pub use marsad_ingest::{IngestSummary, NoReporter, Reporter, Unit};
pub use marsad_match::bankfile::Format as BankFormat;
pub use marsad_observe::analytics;
pub use marsad_report::ExportFormat;
pub use store::{StoreLocation, StoreOptions};

use marsad_store::Store;

/// An open store and the files beside it: what every operation runs on.
pub struct Engine {
    db: String,
    location: StoreLocation,
    store: Box<dyn Store>,
    schema_version: i64,
    memory: marsad_core::MemoryBudget,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("location", &self.location).finish_non_exhaustive()
    }
}
