//! The storage seam of marsad: the role traits every backend implements
//! (SQLite embedded, PostgreSQL for scale-out), the records they accept and
//! return, [`StoreError`], and [`testsuite`], the one suite of behaviour
//! tests every backend must pass ([`store_suite!`] makes one `#[test]` per
//! case).
//!
//! The roles, one per concern:
//! - [`RunStore`]: ingest runs;
//! - [`PostStore`]: posts, sources and media (what ingestion writes);
//! - [`BankStore`]: hash banks, their entries and the matches against them;
//! - [`RegistryStore`]: the outlet registry;
//! - [`GroupingStore`]: what grouping posts into releases reads and writes;
//! - [`ObservatoryStore`]: releases and sightings as analytics read them;
//! - [`CurationStore`]: banks as a matching service serves them (HMA's
//!   content model, matching settings, the change log a live index follows);
//! - [`AccessStore`]: access tokens and the audit log;
//! - [`AccountStore`]: the web UI's users and their sessions;
//! - [`CodingStore`]: the theme taxonomy in use and analysts' codes;
//! - [`ReviewStore`]: the moderators' review queue, its decisions and the
//!   ignore list;
//! - [`JobStore`]: ingest jobs a server runs in the background;
//! - [`QueueStore`]: ingests run through the work queue (batch receipts,
//!   dead letters).
//!
//! [`Store`] is all of them: a front end holds a `Box<dyn Store>` chosen at
//! run time, and passes it where a library function asks for one role
//! (`&dyn BankStore`, `&mut dyn GroupingStore`). `use
//! marsad_store::prelude::*;` brings every role into scope.
//!
//! Writers hand the store whole batches ([`PostBatch`]); a backend applies a
//! batch in one transaction, so a batch is either entirely stored or not at
//! all. Every write is idempotent: posts are keyed by platform, source and
//! post id, media by SHA-256.
#![deny(missing_docs)]

mod accounts;
pub mod cachefile;
mod coding;
mod curation;
mod jobs;
mod models;
mod queue;
mod review;
pub mod sighting;
pub mod testsuite;

pub use accounts::*;
pub use coding::*;
pub use curation::*;
pub use jobs::*;
pub use models::*;
pub use queue::*;
pub use review::*;

use std::collections::{BTreeMap, HashMap, HashSet};

use marsad_core::{Sha256, SourceKey};

/// Every role trait, for `use marsad_store::prelude::*;`.
pub mod prelude {
    pub use crate::{
        AccessStore, AccountStore, BankImport, BankStore, CodingStore, CurationStore, GroupingStore,
        JobStore, MetaStore, ObservatoryStore, PostStore, QueueStore, RegistryStore, ReviewStore, RunStore,
        Store,
    };
}

/// A failure of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file or server could not be opened or reached.
    #[error("cannot open store {location}: {message}")]
    Open {
        /// Path or URL of the store.
        location: String,
        /// What the backend said.
        message: String,
    },
    /// The store was written by a newer marsad (its schema version is higher
    /// than this build knows).
    #[error("store schema version {found} is newer than this marsad supports ({supported}); upgrade marsad")]
    SchemaTooNew {
        /// Version found in the store.
        found: i64,
        /// Highest version this build knows.
        supported: i64,
    },
    /// A named thing (a bank) already exists.
    #[error("{0} already exists")]
    Conflict(String),
    /// A named thing (a bank) does not exist.
    #[error("{0} does not exist")]
    NotFound(String),
    /// A record refused by the store's constraints (this is a bug in the
    /// caller: records are validated before they reach the store).
    #[error("invalid record: {0}")]
    Invalid(String),
    /// A stored record that cannot be read back (the store was changed
    /// behind marsad's back, or damaged).
    #[error("corrupt store: {record}: {problem}")]
    Corrupt {
        /// Which record: `post 12`, `release 3`, `outlet "Name"`…
        record: String,
        /// What is wrong with it.
        problem: String,
    },
    /// Another process kept the store locked for writing (an ingest, a
    /// bank import, a grouping run) for longer than the busy timeout: the
    /// operation wrote nothing.
    #[error(
        "the store is locked by another writer (an ingest, a bank import or a grouping run?) for more than {seconds} s"
    )]
    Busy {
        /// How long the operation waited for the lock.
        seconds: u64,
    },
    /// What an operation read changed before it could write its result,
    /// every time it tried (another process writing the same records).
    #[error("{0}")]
    Changed(String),
    /// Any other backend failure (I/O error, disk full…).
    #[error("store backend error: {0}")]
    Backend(String),
}

/// Result of store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Ingest runs: when each started and ended, and what it did.
pub trait RunStore {
    /// Records the start of an ingest run and returns its id.
    fn begin_run(&mut self, run: &NewRun) -> Result<RunId>;

    /// Records the end of an ingest run with its counts and errors.
    fn finish_run(&mut self, id: RunId, summary: &RunSummary) -> Result<()>;

    /// Ingest runs, oldest first.
    fn runs(&self) -> Result<Vec<StoredRun>>;
}

/// Posts, their sources and their media: what ingestion writes and what is
/// read back by key. Methods take whole batches so that a backend can make
/// each call one transaction.
pub trait PostStore {
    /// Writes a batch of posts (with their sources, media and fingerprints)
    /// in one transaction. Returns what was new. A batch refused part-way
    /// (e.g. a post whose source index is out of range:
    /// [`StoreError::Invalid`]) leaves nothing behind.
    ///
    /// A post that repeats one this `run` already wrote (same source and
    /// post id) is ignored whole and listed in [`BatchOutcome::repeated`].
    /// A post stored by an earlier run is left as it is, except that:
    /// - a media reference that was missing before and is present now is
    ///   completed;
    /// - a different text is an edit: when the new post's `edited_at` is not
    ///   earlier than the stored one's (`None` earliest), the text and
    ///   `edited_at` are replaced, the earlier text kept as a
    ///   [`PostVersion`], the post's text fingerprints replaced by the new
    ///   ones, and the release holding the post dissolved (its posts
    ///   ungrouped, so that grouping sees the change); otherwise the new
    ///   text is an older one and is only kept as a version.
    fn write_batch(&mut self, run: RunId, batch: &PostBatch) -> Result<BatchOutcome>;

    /// Which of `posts` (each a source and a post id) [`write_batch`] in
    /// `run` would ignore as repeats if they were written now, in one batch
    /// in this order: those `run` already wrote, and those listed earlier
    /// in `posts`. Indexes into `posts`, ascending. A reader asks before
    /// reading a batch's media, so that a repeat leaves nothing behind (no
    /// retained copy of its media).
    ///
    /// [`write_batch`]: PostStore::write_batch
    fn repeats(&self, run: RunId, posts: &[(&SourceKey, &str)]) -> Result<Vec<usize>>;

    /// The earlier texts of a post, oldest first (by their `edited_at`,
    /// `None` first); `None` when the post is not stored.
    fn post_versions(&self, source: &SourceKey, platform_post_id: &str) -> Result<Option<Vec<PostVersion>>>;

    /// Counts of what the store holds.
    fn stats(&self) -> Result<Stats>;

    /// Every source, ordered by platform and platform id.
    fn sources(&self) -> Result<Vec<StoredSource>>;

    /// Every source with how many posts it holds, ordered as
    /// [`PostStore::sources`].
    fn source_counts(&self) -> Result<Vec<SourceCount>>;

    /// The posts `query` selects, by time then store id, at most
    /// `query.limit`. The words are matched against each post's text as
    /// ingestion normalizes it, so a query normalized the same way finds a
    /// post whatever diacritics, tatweel or hamza forms either was typed
    /// with; an edit is searched by its new text.
    fn search_posts(&self, query: &PostQuery) -> Result<Vec<FoundPost>>;

    /// One post with its media references, if stored.
    fn post(&self, source: &SourceKey, platform_post_id: &str) -> Result<Option<StoredPost>>;

    /// Posts of a source ordered by time then platform post id.
    fn posts_of_source(&self, source: &SourceKey) -> Result<Vec<StoredPost>>;

    /// One media item, if stored.
    fn media(&self, sha256: &Sha256) -> Result<Option<StoredMedia>>;

    /// Which of these media items already have at least one fingerprint
    /// (so ingestion need not decode them again).
    fn fingerprinted_media(&self, sha256: &[Sha256]) -> Result<HashSet<Sha256>>;
}

/// Hash banks (named collections of known signals), their entries, and the
/// matches of stored items against them.
pub trait BankStore {
    /// Creates an empty bank; [`StoreError::Conflict`] if the name is taken.
    fn create_bank(&mut self, name: &str) -> Result<BankInfo>;

    /// Every bank with its entry counts, by name.
    fn banks(&self) -> Result<Vec<BankInfo>>;

    /// Deletes a bank, its entries and their matches; `false` if there was
    /// no such bank.
    fn delete_bank(&mut self, name: &str) -> Result<bool>;

    /// Adds entries to a bank in one transaction; an entry whose signal type
    /// and value the bank already holds is left as it is. Returns how many
    /// were new. [`StoreError::NotFound`] if there is no such bank.
    fn add_bank_entries(&mut self, bank: &str, entries: &[NewBankEntry]) -> Result<u64>;

    /// Starts an import into bank `bank` (created when `create` and it does
    /// not exist): one write transaction, taken at once (waiting up to the
    /// busy timeout for other writers, else [`StoreError::Busy`]), that
    /// entries are streamed into and that [`BankImport::commit`] makes
    /// visible; dropped without it, nothing was imported.
    /// [`StoreError::NotFound`] if there is no such bank and not `create`.
    fn begin_bank_import<'a>(&'a mut self, bank: &str, create: bool) -> Result<Box<dyn BankImport + 'a>>;

    /// Calls `visit` with every entry the filter selects, by increasing id.
    fn bank_entries(
        &self,
        filter: &EntryFilter,
        visit: &mut dyn FnMut(BankEntry) -> Result<()>,
    ) -> Result<()>;

    /// The banks' state, to tell whether a cached index is current.
    fn bank_state(&self) -> Result<BankState>;

    /// Every stored match, oldest first.
    fn matches(&self) -> Result<Vec<StoredMatch>>;

    /// Calls `visit` with every stored item and its fingerprints, to match
    /// them against banks imported after they were ingested: every media
    /// item, then every post with text fingerprints.
    fn matchable_items(&self, visit: &mut dyn FnMut(MatchableItem) -> Result<()>) -> Result<()>;

    /// Stores matches of stored items in one transaction; a match already
    /// stored is left as it is. Returns how many were new.
    fn add_matches(&mut self, matches: &[(ItemRef, NewMatch)]) -> Result<u64>;
}

/// An import into one bank in progress: all or nothing (see
/// [`BankStore::begin_bank_import`]).
pub trait BankImport {
    /// Whether the import created the bank.
    fn created(&self) -> bool;

    /// Adds entries; an entry whose signal type and value the bank already
    /// holds is left as it is. Returns how many were new.
    fn add(&mut self, entries: &[NewBankEntry]) -> Result<u64>;

    /// Makes the import visible to every reader at once.
    fn commit(self: Box<Self>) -> Result<()>;
}

/// The outlet registry: which outlets exist and which channels are theirs.
pub trait RegistryStore {
    /// Replaces the outlet registry (this changes
    /// [`ObservatoryStore::releases_generation`]: attributions depend on it).
    fn replace_outlets(&mut self, outlets: &[OutletRecord]) -> Result<()>;

    /// The outlet registry, in the order it was given.
    fn outlets(&self) -> Result<Vec<OutletRecord>>;
}

/// What grouping posts into releases reads and writes: the posts with their
/// fingerprints, the grouping decisions, and the releases' descriptions.
pub trait GroupingStore {
    /// Makes this connection the store's one grouping leader, waiting while
    /// another process is (a store shared by many processes holds a lock
    /// across them until [`GroupingStore::end_grouping`] or the
    /// connection closes), so that one process groups the new posts while
    /// the others wait and then find nothing left to group. The embedded
    /// store needs none: its writes are serialized already.
    fn lead_grouping(&self) -> Result<()> {
        Ok(())
    }

    /// Gives up the grouping leadership taken by
    /// [`GroupingStore::lead_grouping`].
    fn end_grouping(&self) -> Result<()> {
        Ok(())
    }

    /// Calls `visit` with every post as grouping reads it, by id, all from
    /// one snapshot of the store (posts written meanwhile are not seen);
    /// returns the releases generation of that snapshot, for
    /// [`GroupingUpdate::generation`].
    fn grouping_posts(&self, visit: &mut dyn FnMut(GroupPost) -> Result<()>) -> Result<i64>;

    /// How many posts are not yet in a release (cheap: grouping is skipped
    /// when there are none).
    fn ungrouped_posts(&self) -> Result<u64>;

    /// The texts of these posts (by store id); ids not stored are left out.
    fn post_texts(&self, posts: &[PostId]) -> Result<Vec<(PostId, String)>>;

    /// Writes a grouping run's decisions in one transaction; returns the
    /// real id given to each [`ReleaseSlot::New`], by its number. An update
    /// read before the releases changed ([`StoreError::Conflict`]) writes
    /// nothing; posts added since it was read do not make it stale (they
    /// are left for the next run).
    fn apply_grouping(&mut self, update: &GroupingUpdate) -> Result<HashMap<u32, ReleaseId>>;

    /// The posts of these releases (all releases when `None`), by release
    /// then time.
    fn release_members(
        &self,
        releases: Option<&[ReleaseId]>,
        visit: &mut dyn FnMut(ReleaseMember) -> Result<()>,
    ) -> Result<()>;

    /// Bank entries matched by the posts and media of these releases (all
    /// releases when `None`): `(release, entry)`.
    fn release_matches(&self, releases: Option<&[ReleaseId]>) -> Result<Vec<(ReleaseId, BankEntry)>>;

    /// Writes the descriptions of releases.
    fn update_releases(&mut self, releases: &[ReleaseRecord]) -> Result<()>;
}

/// Releases and sightings as the observatory's analytics read them.
pub trait ObservatoryStore {
    /// These releases (every release when `None`; ids not stored are left
    /// out), by first seen then id. A stored format or evidence that does
    /// not parse is [`StoreError::Invalid`] naming the release.
    fn releases(
        &self,
        only: Option<&[ReleaseId]>,
        visit: &mut dyn FnMut(ReleaseRecord) -> Result<()>,
    ) -> Result<()>;

    /// Every grouped post as release columns need it: `(release, source
    /// id, posted at in microseconds)`, in no particular order (a sighting
    /// is the posts of one release in one source in one second).
    fn release_points(&self, visit: &mut dyn FnMut(ReleaseId, SourceId, i64) -> Result<()>) -> Result<()>;

    /// The store's id of every source, with its key.
    fn source_ids(&self) -> Result<Vec<(SourceId, SourceKey)>>;

    /// The sightings of these releases (of every release when `None`), by
    /// release then time.
    fn sightings(
        &self,
        only: Option<&[ReleaseId]>,
        visit: &mut dyn FnMut(SightingRecord) -> Result<()>,
    ) -> Result<()>;

    /// Changes whenever releases change (a grouping run or a new registry).
    fn releases_generation(&self) -> Result<i64>;
}

/// Banks as a matching service serves them: HMA's content model (several
/// signals under one content id, with a note, metadata and a disable time),
/// each bank's matching settings, and the change log that lets a live index
/// follow every change without reloading.
///
/// Every write here, and every bank creation, deletion and entry addition
/// of [`BankStore`], is visible to a follower: added entries by their
/// growing ids ([`CurationStore::served_entries`]), everything else by a
/// record in the change log ([`CurationStore::bank_log`]).
pub trait CurationStore {
    /// Changes a bank's HMA name or settings. [`StoreError::NotFound`] if
    /// no bank has that HMA name, [`StoreError::Conflict`] if the new name
    /// is taken.
    fn update_bank(&mut self, hma_name: &str, update: &BankUpdate) -> Result<BankInfo>;

    /// Adds a content item to the bank with that HMA name, one entry per
    /// signal, and returns its content id (a new one every time, as HMA
    /// does, even for signals the bank holds already).
    /// [`StoreError::NotFound`] if there is no such bank.
    fn add_bank_content(&mut self, hma_name: &str, content: &NewContent) -> Result<i64>;

    /// The content items with these ids that exist, by id.
    fn bank_contents(&self, ids: &[i64]) -> Result<Vec<BankContent>>;

    /// Changes a content item; `None` if there is none with that id.
    fn update_bank_content(&mut self, id: i64, update: &ContentUpdate) -> Result<Option<BankContent>>;

    /// Removes a content item of the bank with that HMA name, with its
    /// entries and their matches; returns how many items were removed (0
    /// or 1). [`StoreError::NotFound`] if there is no such bank.
    fn remove_bank_content(&mut self, hma_name: &str, id: i64) -> Result<u64>;

    /// Every bank's id, name and matching settings, by name: what
    /// [`BankStore::banks`] gives without counting the entries (a scan of
    /// every entry of a large bank), for a live index and name lookups.
    fn bank_settings(&self) -> Result<Vec<(BankId, String, BankSettings)>>;

    /// Calls `visit` with every entry whose id is larger than `after_id`,
    /// by increasing id, with its bank, content and disable time.
    fn served_entries(&self, after_id: i64, visit: &mut dyn FnMut(ServedEntry) -> Result<()>) -> Result<()>;

    /// Where the banks are now (one cheap read, to poll).
    fn bank_cursor(&self) -> Result<BankCursor>;

    /// The change log records after `after_seq`, in order.
    fn bank_log(&self, after_seq: i64) -> Result<Vec<BankLogRecord>>;

    /// The enabled ratio set for each signal type name (types never set
    /// are absent: fully enabled).
    fn signal_type_ratios(&self) -> Result<BTreeMap<String, f64>>;

    /// Sets a signal type's enabled ratio.
    fn set_signal_type_ratio(&mut self, name: &str, ratio: f64) -> Result<()>;
}

/// Access tokens (stored hashed) and the append-only audit log.
pub trait AccessStore {
    /// Stores a token; [`StoreError::Conflict`] if a token not revoked has
    /// that name.
    fn add_token(&mut self, token: &NewToken) -> Result<TokenRecord>;

    /// Every token, revoked ones too, oldest first.
    fn tokens(&self) -> Result<Vec<TokenRecord>>;

    /// Revokes the token of that name; `false` if no token not revoked has it.
    fn revoke_token(&mut self, name: &str) -> Result<bool>;

    /// The token not revoked whose SHA-256 this is.
    fn token_by_hash(&self, hash: &[u8; 32]) -> Result<Option<TokenRecord>>;

    /// Appends events to the audit log, in one transaction.
    fn append_audit(&mut self, events: &[NewAuditEvent]) -> Result<()>;

    /// Calls `visit` with the audit log's events at or after `since` (all
    /// when `None`), oldest first, at most `limit` of them (the newest
    /// ones when there are more).
    fn audit(
        &self,
        since: Option<marsad_core::UtcTime>,
        limit: Option<u64>,
        visit: &mut dyn FnMut(AuditRecord) -> Result<()>,
    ) -> Result<()>;
}

/// What identifies the store itself.
pub trait MetaStore {
    /// Runs `read` so that every read it makes from this store sees one
    /// snapshot: what other processes commit meanwhile is not seen (a
    /// report's figures all describe the same moment). `read` only reads.
    fn read_snapshot(&self, read: &mut dyn FnMut() -> Result<()>) -> Result<()>;

    /// The store's identity, given when it was created and never changed
    /// (files derived from the store record it, so that a store made again
    /// at the same path is not served another's caches).
    fn identity(&self) -> Result<StoreIdentity>;
}

/// What every storage backend provides: every role. Implemented for every
/// type that implements the roles, so a backend implements the roles only.
pub trait Store:
    MetaStore
    + RunStore
    + PostStore
    + BankStore
    + CurationStore
    + AccessStore
    + AccountStore
    + ReviewStore
    + CodingStore
    + JobStore
    + QueueStore
    + RegistryStore
    + GroupingStore
    + ObservatoryStore
    + Send
{
}

impl<T> Store for T where
    T: MetaStore
        + RunStore
        + PostStore
        + BankStore
        + CurationStore
        + AccessStore
        + AccountStore
        + ReviewStore
        + CodingStore
        + JobStore
        + QueueStore
        + RegistryStore
        + GroupingStore
        + ObservatoryStore
        + Send
        + ?Sized
{
}
