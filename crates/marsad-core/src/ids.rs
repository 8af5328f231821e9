//! Typed store ids: a post's id cannot be passed where a release's is
//! expected. Stores hand them out; nothing else makes them up (outside
//! tests), so the inner number carries no meaning beyond identity and order.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! store_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            /// The bare number, as the CLI prints ids.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

store_id!(
    /// Identifies an ingest run in a store.
    RunId
);
store_id!(
    /// Identifies a post in a store (not the platform's post id).
    PostId
);
store_id!(
    /// Identifies a source in a store (not the platform's id of it).
    SourceId
);
store_id!(
    /// Identifies a release (a group of sightings of the same content).
    ReleaseId
);
store_id!(
    /// Identifies a hash bank.
    BankId
);
store_id!(
    /// Identifies a bank entry; ids grow as entries are added and are never
    /// reused.
    EntryId
);
