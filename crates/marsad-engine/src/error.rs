//! The engine's one error type: every front end maps it once (the CLI to a
//! message and an exit status, the server to a status code and a body).

/// Why an engine operation failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The caller's input is invalid: a flag value, a time, a filter, a
    /// bank name. The message says which and what is accepted.
    #[error("{0}")]
    Invalid(String),
    /// A named thing (a bank, a file) does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A named thing already exists.
    #[error("{0}")]
    Conflict(String),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] marsad_store::StoreError),
    /// An ingest failed as a whole (bad records are not errors: they are
    /// counted and reported in the summary).
    #[error(transparent)]
    Ingest(#[from] marsad_ingest::IngestError),
    /// A library step failed; `context` says which step.
    #[error("{context}: {message}")]
    Step {
        /// What the engine was doing (`loading the banks`, `grouping releases`…).
        context: String,
        /// What went wrong.
        message: String,
    },
}

/// Result of engine operations.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;

impl EngineError {
    /// An I/O error about `path`.
    pub fn io(path: impl std::fmt::Display, source: std::io::Error) -> Self {
        EngineError::Io { path: path.to_string(), source }
    }

    /// A failed step, with what the engine was doing.
    pub fn step(context: impl Into<String>, err: impl std::fmt::Display) -> Self {
        EngineError::Step { context: context.into(), message: err.to_string() }
    }
}

/// `.step("…")` on any result whose error displays.
pub(crate) trait StepContext<T> {
    fn step(self, context: &str) -> Result<T>;
}

impl<T, E: std::fmt::Display> StepContext<T> for std::result::Result<T, E> {
    fn step(self, context: &str) -> Result<T> {
        self.map_err(|e| EngineError::step(context, e))
    }
}

macro_rules! invalid {
    ($($arg:tt)*) => { $crate::error::EngineError::Invalid(format!($($arg)*)) };
}
pub(crate) use invalid;
