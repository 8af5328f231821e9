//! Theme coding: the taxonomy in use and each analyst's code of a release.

use marsad_core::{ReleaseId, UtcTime};

/// An analyst's code of a release.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeRecord {
    /// The taxonomy's name.
    pub taxonomy: String,
    /// The release.
    pub release: ReleaseId,
    /// The analyst.
    pub coder: String,
    /// The primary theme's key.
    pub primary: String,
    /// Secondary themes' keys.
    pub secondary: Vec<String>,
    /// When it was (last) set.
    pub at: UtcTime,
}

/// Theme codes and the taxonomy they use.
pub trait CodingStore {
    /// The taxonomy in use (its TOML), if one was set.
    fn taxonomy(&self) -> crate::Result<Option<String>>;

    /// Sets the taxonomy in use (its TOML, checked by the caller).
    fn set_taxonomy(&mut self, toml: &str) -> crate::Result<()>;

    /// Stores a code, replacing the coder's earlier code of the release in
    /// that taxonomy; [`crate::StoreError::NotFound`] if there is no such
    /// release.
    fn set_code(&mut self, code: &CodeRecord) -> crate::Result<()>;

    /// The codes of a taxonomy, of one release or of all, by release then
    /// coder.
    fn codes(&self, taxonomy: &str, release: Option<ReleaseId>) -> crate::Result<Vec<CodeRecord>>;
}
