pub use marsad_core::{BankId, EntryId, Evidence, PostId, ReleaseFormat, ReleaseId, RunId, SourceId};
use marsad_core::{Md5, MediaKind, Sha256, SignalType, SignalVariant, SourceKey, UtcTime};

/// A source as an ingest sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSource {
    /// Platform and platform id.
    pub key: SourceKey,
    /// Display name (a later ingest with another name renames the source).
    pub name: String,
    /// What kind of source: `public_channel`, `private_group`, `feed`, …
    pub kind: String,
}

/// A batch of posts to write in one transaction.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PostBatch {
    /// The sources the posts refer to (by index).
    pub sources: Vec<NewSource>,
    /// The posts.
    pub posts: Vec<NewPost>,
    /// Set when the batch came through the work queue: stored with it in
    /// its transaction, so that a redelivered batch is not written twice.
    pub receipt: Option<crate::BatchReceipt>,
}

impl PostBatch {
    /// Whether the batch holds no post.
    pub fn is_empty(&self) -> bool {
        self.posts.is_empty()
    }

    /// Empties the batch, keeping its allocations.
    pub fn clear(&mut self) {
        self.sources.clear();
        self.posts.clear();
        self.receipt = None;
    }
}

/// A post as an ingest sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct NewPost {
    /// Index of the post's source in [`PostBatch::sources`].
    pub source: usize,
    /// The platform's id of the post (unique within its source).
    pub platform_post_id: String,
    /// When it was posted.
    pub posted_at: UtcTime,
    /// When it was last edited, if ever.
    pub edited_at: Option<UtcTime>,
    /// The text (caption), flattened; empty when there is none.
    pub text: String,
    /// A link to the post, when the platform gives one.
    pub url: Option<String>,
    /// Who it was forwarded from, as the export names them.
    pub forwarded_from: Option<String>,
    /// The platform id of the post it replies to.
    pub reply_to: Option<String>,
    /// The media it carries, in order.
    pub media: Vec<MediaRef>,
    /// Fingerprints of the post itself (e.g. of its text).
    pub fingerprints: Vec<NewFingerprint>,
    /// Matches of the post's own fingerprints against banks.
    pub matches: Vec<NewMatch>,
}

/// A media reference of a post: either a file that was read, or one that was
/// referenced but could not be read.
#[derive(Clone, Debug, PartialEq)]
pub struct MediaRef {
    /// The kind the post declares (or the file's kind).
    pub kind: MediaKind,
    /// The path as the export gives it.
    pub path: String,
    /// The file, or why it is missing.
    pub content: MediaContent,
}

/// The content of a media reference.
#[derive(Clone, Debug, PartialEq)]
pub enum MediaContent {
    /// The file was read and hashed.
    Present(NewMedia),
    /// The file was referenced but not available; the reason says why
    /// (not included in the export, not found, unreadable).
    Missing(String),
}

/// A media item, content-addressed.
#[derive(Clone, Debug, PartialEq)]
pub struct NewMedia {
    /// SHA-256 of the bytes (the key).
    pub sha256: Sha256,
    /// MD5 of the bytes.
    pub md5: Md5,
    /// Kind of media.
    pub kind: MediaKind,
    /// Size in bytes.
    pub byte_size: u64,
    /// MIME type, when known.
    pub mime: Option<String>,
    /// Path of the file it was read from (first sighting wins).
    pub original_path: String,
    /// Where the bytes were kept, when the user asked to retain media.
    pub retained_path: Option<String>,
    /// Fingerprints of the content.
    pub fingerprints: Vec<NewFingerprint>,
    /// Matches of the content against banks.
    pub matches: Vec<NewMatch>,
}

/// A fingerprint to store.
///
/// An item holds at most one fingerprint of each signal type as marsad
/// computes it (`variant` `None`), and beside it at most one of each
/// [`SignalVariant`]. A variant whose value equals the item's own
/// fingerprint of the same signal type (written in the same list or
/// earlier) is not stored: it would match nothing the own one does not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewFingerprint {
    /// Kind of signal.
    pub signal_type: SignalType,
    /// Its value in the signal's text form (hex for hashes).
    pub value: String,
    /// Quality (0–100) where the signal has one.
    pub quality: Option<u8>,
    /// `None` for marsad's own fingerprint; the variant for one computed as
    /// another tool computes it (python-threatexchange's PDQ of a palette
    /// or CMYK image), which banks made by that tool hold.
    pub variant: Option<SignalVariant>,
}

impl NewFingerprint {
    /// marsad's own fingerprint (no variant).
    pub fn own(signal_type: SignalType, value: impl Into<String>, quality: Option<u8>) -> Self {
        NewFingerprint { signal_type, value: value.into(), quality, variant: None }
    }
}

/// What a batch added.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Posts that were new.
    pub posts_added: u64,
    /// Posts that were already stored.
    pub posts_existing: u64,
    /// Media items that were new.
    pub media_added: u64,
    /// Fingerprints that were new.
    pub fingerprints_added: u64,
    /// Bank matches that were new.
    pub matches_added: u64,
    /// Posts already stored whose text this batch changed (the earlier text
    /// is kept as a [`PostVersion`]); counted in `posts_existing` too.
    pub posts_edited: u64,
    /// Positions in the batch of the posts that repeat a post (same source
    /// and post id) this ingest run already wrote, in this batch or an
    /// earlier one: each is ignored whole (text, media, fingerprints), so
    /// the first is kept as it was. Not counted in `posts_existing`.
    pub repeated: Vec<usize>,
    /// The batch's receipt was already stored as applied: nothing was
    /// written (a redelivered queued batch).
    pub already_applied: bool,
}

impl std::ops::AddAssign for BatchOutcome {
    fn add_assign(&mut self, o: Self) {
        self.posts_added += o.posts_added;
        self.posts_existing += o.posts_existing;
        self.media_added += o.media_added;
        self.fingerprints_added += o.fingerprints_added;
        self.matches_added += o.matches_added;
        self.posts_edited += o.posts_edited;
        self.repeated.extend(o.repeated);
        self.already_applied |= o.already_applied;
    }
}

/// An earlier text of a post: what it said before an edit seen on a later
/// ingest (or, when an older export is ingested after a newer one, the
/// older text it held).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostVersion {
    /// The text.
    pub text: String,
    /// When that text was last edited, as the input said (`null` for the
    /// original).
    pub edited_at: Option<UtcTime>,
    /// When the store learnt it was superseded.
    pub recorded_at: UtcTime,
}

/// The start of an ingest run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRun {
    /// What was ingested: `telegram`, `jsonl`, …
    pub kind: String,
    /// The path given.
    pub path: String,
    /// When it started.
    pub started_at: UtcTime,
}

/// The end of an ingest run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunSummary {
    /// Whether it ran to the end of its input.
    pub completed: bool,
    /// Posts added.
    pub posts_added: u64,
    /// Posts that were already stored.
    pub posts_existing: u64,
    /// Service messages skipped.
    pub service_skipped: u64,
    /// Media items added.
    pub media_added: u64,
    /// Media references that could not be read.
    pub media_missing: u64,
    /// Records skipped because they were invalid.
    pub errors: u64,
    /// The first errors, as JSON text (the caller's format).
    pub error_details: String,
}

/// Counts of what a store holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Sources.
    pub sources: u64,
    /// Posts.
    pub posts: u64,
    /// Media items.
    pub media: u64,
    /// Fingerprints.
    pub fingerprints: u64,
}

/// A stored source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSource {
    /// Platform and platform id.
    pub key: SourceKey,
    /// Display name.
    pub name: String,
    /// Kind.
    pub kind: String,
}

/// A stored post.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredPost {
    /// Its source.
    pub source: SourceKey,
    /// The platform's id of the post.
    pub platform_post_id: String,
    /// When it was posted.
    pub posted_at: UtcTime,
    /// When it was last edited.
    pub edited_at: Option<UtcTime>,
    /// Text.
    pub text: String,
    /// Link.
    pub url: Option<String>,
    /// Forwarded from.
    pub forwarded_from: Option<String>,
    /// Replied-to post id.
    pub reply_to: Option<String>,
    /// Media references in order.
    pub media: Vec<StoredMediaRef>,
}

/// A stored media reference of a post.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMediaRef {
    /// Declared kind.
    pub kind: MediaKind,
    /// Path as the export gave it.
    pub path: String,
    /// The media item, when the file was read.
    pub sha256: Option<Sha256>,
    /// Why it is missing, when it is.
    pub missing: Option<String>,
}

/// A stored media item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMedia {
    /// SHA-256.
    pub sha256: Sha256,
    /// MD5.
    pub md5: Md5,
    /// Kind.
    pub kind: MediaKind,
    /// Size in bytes.
    pub byte_size: u64,
    /// MIME type.
    pub mime: Option<String>,
    /// First path it was read from.
    pub original_path: String,
    /// Where its bytes are kept, if they are.
    pub retained_path: Option<String>,
    /// Its fingerprints, ordered by signal type, marsad's own before the
    /// variants (by variant), then value.
    pub fingerprints: Vec<NewFingerprint>,
}

/// A stored ingest run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRun {
    /// Id.
    pub id: RunId,
    /// Kind.
    pub kind: String,
    /// Path.
    pub path: String,
    /// Start.
    pub started_at: UtcTime,
    /// End, once finished.
    pub finished_at: Option<UtcTime>,
    /// `running`, `completed` or `failed`.
    pub status: String,
    /// Its summary (zero while running).
    pub summary: RunSummary,
}

/// A match of an item against a bank entry, found at ingest.
#[derive(Clone, Debug, PartialEq)]
pub struct NewMatch {
    /// The bank entry matched.
    pub entry_id: EntryId,
    /// The signal that matched.
    pub signal_type: SignalType,
    /// How far apart: Hamming distance for PDQ, 0 for exact digests,
    /// `100 − query match %` for vPDQ, `1 − Jaccard` for text, the bit
    /// error rate for audio.
    pub distance: f64,
    /// Details as a JSON object (match percentages, offsets), if any.
    pub detail: Option<String>,
    /// The variant of the item's fingerprint that matched, when it was not
    /// marsad's own (an entry that the own fingerprint matches too is the
    /// own one's match).
    pub variant: Option<SignalVariant>,
}

/// A named collection of known signals.
#[derive(Clone, Debug, PartialEq)]
pub struct BankInfo {
    /// The bank's id in the store.
    pub id: BankId,
    /// Its unique name.
    pub name: String,
    /// When it was created.
    pub created_at: UtcTime,
    /// Entries per signal type.
    pub entries: std::collections::BTreeMap<SignalType, u64>,
    /// Its matching settings.
    pub settings: crate::BankSettings,
}

/// An entry to add to a bank.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewBankEntry {
    /// Kind of signal.
    pub signal_type: SignalType,
    /// The value in its canonical text form (validated by the caller).
    pub value: String,
    /// Labels: outlet, release, source, note… or `label` for free text.
    pub labels: std::collections::BTreeMap<String, String>,
}

/// A stored bank entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BankEntry {
    /// Its id (ids grow as entries are added).
    pub id: EntryId,
    /// Its bank's name.
    pub bank: String,
    /// Kind of signal.
    pub signal_type: SignalType,
    /// The value.
    pub value: String,
    /// Labels.
    pub labels: std::collections::BTreeMap<String, String>,
    /// When it was added.
    pub added_at: UtcTime,
}

/// Which bank entries to read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EntryFilter {
    /// Only these banks (all when `None`; none when empty).
    pub banks: Option<Vec<String>>,
    /// Only this signal type.
    pub signal_type: Option<SignalType>,
    /// Only entries with a larger id (all when `None`).
    pub after_id: Option<EntryId>,
    /// Only these ids (all when `None`; none when empty).
    pub ids: Option<Vec<EntryId>>,
    /// Only entries of this value (a hash as stored: lowercase hex for the
    /// hash types).
    pub value: Option<String>,
    /// At most this many (the first by id).
    pub limit: Option<u64>,
}

/// What identifies the state of all banks, so that a cached index can tell
/// whether it is still current.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BankState {
    /// Changes whenever entries are removed (a bank deleted).
    pub generation: i64,
    /// The largest entry id ever given (`None` before the first entry).
    pub max_entry_id: Option<EntryId>,
    /// Entries stored.
    pub entries: u64,
}

/// The item a stored match is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MatchedItem {
    /// A media item, with the posts that carry it.
    Media {
        /// Its SHA-256.
        sha256: Sha256,
        /// The posts carrying it: source, post id, time.
        posts: Vec<(SourceKey, String, UtcTime)>,
    },
    /// A post (its text matched).
    Post {
        /// Its source.
        source: SourceKey,
        /// Its id.
        post_id: String,
        /// When it was posted.
        posted_at: UtcTime,
    },
}

/// A stored item a bank entry can match: a media item or a post.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ItemRef {
    /// A media item, by SHA-256.
    Media(Sha256),
    /// A post, by store id.
    Post(PostId),
}

/// A stored item with what it can be matched by.
#[derive(Clone, Debug, PartialEq)]
pub struct MatchableItem {
    /// The item.
    pub item: ItemRef,
    /// Its fingerprints: a media item's MD5 and SHA-256 first, then those
    /// stored for it, variants included; a post's text fingerprints.
    pub fingerprints: Vec<NewFingerprint>,
    /// A post's text (text matches are confirmed on it).
    pub text: Option<String>,
}

/// A stored match.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredMatch {
    /// Its id in the store.
    pub id: i64,
    /// What matched.
    pub item: MatchedItem,
    /// The entry it matched.
    pub entry: BankEntry,
    /// The signal.
    pub signal_type: SignalType,
    /// The distance (see [`NewMatch::distance`]).
    pub distance: f64,
    /// Details (JSON), if any.
    pub detail: Option<String>,
    /// When the match was found.
    pub matched_at: UtcTime,
    /// The variant of the item's fingerprint that matched (see
    /// [`NewMatch::variant`]); `None` for marsad's own.
    pub variant: Option<SignalVariant>,
}

/// A registered outlet as the store keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutletRecord {
    /// Unique name.
    pub name: String,
    /// Other names.
    pub aliases: Vec<String>,
    /// Its channels.
    pub channels: Vec<SourceKey>,
    /// Region.
    pub region: Option<String>,
    /// Parent organisation.
    pub parent: Option<String>,
}

/// A media reference of a post, as grouping reads it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupMedia {
    /// The declared (or sniffed) kind.
    pub kind: Option<MediaKind>,
    /// The item, when the file was read.
    pub sha256: Option<Sha256>,
    /// PDQ value and quality: marsad's own (a variant fingerprint of the
    /// same image is not read: it is the same image).
    pub pdq: Option<(String, u8)>,
    /// vPDQ signal.
    pub vpdq: Option<String>,
    /// Chromaprint items.
    pub audio: Option<String>,
}

/// A post as grouping reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupPost {
    /// The store's id of the post.
    pub id: PostId,
    /// The store's id of its source.
    pub source_id: SourceId,
    /// When it was posted.
    pub posted_at: UtcTime,
    /// Its release, once grouped.
    pub release_id: Option<ReleaseId>,
    /// Its text signature: for a post not yet grouped, when it has one; for
    /// a grouped post, only if its text may link (enough words).
    pub text_signature: Option<String>,
    /// Its text, for a post not yet grouped (`None` for a grouped post:
    /// grouping does not read those again).
    pub text: Option<String>,
    /// Its media references, in order.
    pub media: Vec<GroupMedia>,
}

/// The release a post is assigned to by a grouping run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReleaseSlot {
    /// A release the store already holds.
    Existing(ReleaseId),
    /// A new release, numbered by the caller (the same number is the same
    /// new release); the store gives it a real id.
    New(u32),
}

/// What a grouping run decided, written in one transaction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupingUpdate {
    /// `(post, release)` for every post whose release is new or changed.
    pub assign: Vec<(PostId, ReleaseSlot)>,
    /// Posts whose text may link (kept for later runs).
    pub text_linkable: Vec<PostId>,
    /// Releases emptied by merges (deleted).
    pub merged: Vec<ReleaseId>,
    /// The releases generation the posts were read at (what
    /// [`crate::GroupingStore::grouping_posts`] returned): if another process
    /// changed the releases since (grouped posts, described releases,
    /// replaced the registry), the store refuses the update
    /// ([`crate::StoreError::Conflict`]) and the run starts again. Posts
    /// added meanwhile do not conflict: they are still ungrouped, for the
    /// next run.
    pub generation: i64,
}

/// A post of a release, as describing the release needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReleaseMember {
    /// The release.
    pub release_id: ReleaseId,
    /// The store's id of the post.
    pub post_id: PostId,
    /// Its source.
    pub source: SourceKey,
    /// The store's id of its source.
    pub source_id: SourceId,
    /// The platform's id of the post.
    pub platform_post_id: String,
    /// When it was posted.
    pub posted_at: UtcTime,
    /// Its text.
    pub text: String,
    /// Kinds of its media references.
    pub media_kinds: Vec<MediaKind>,
}

/// A release as the store keeps it.
#[derive(Clone, Debug, PartialEq)]
pub struct ReleaseRecord {
    /// Id.
    pub id: ReleaseId,
    /// Earliest sighting.
    pub first_seen: UtcTime,
    /// Latest sighting.
    pub last_seen: UtcTime,
    /// Number of sightings.
    pub sightings: u64,
    /// Distinct sources.
    pub channels: u64,
    /// What kind of content it is.
    pub format: ReleaseFormat,
    /// Language code, if known.
    pub language: Option<String>,
    /// Attributed outlet, if any.
    pub outlet: Option<String>,
    /// Why it is attributed to its outlet (or to none).
    pub evidence: Evidence,
    /// Source of the earliest sighting.
    pub first_source: Option<SourceKey>,
}

/// A sighting: the posts of one release in one source in one second (an
/// album is one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SightingRecord {
    /// The release.
    pub release_id: ReleaseId,
    /// The source.
    pub source: SourceKey,
    /// When.
    pub posted_at: UtcTime,
    /// The platform's id of its first post.
    pub post_id: String,
    /// Posts in it.
    pub posts: u64,
}

/// The identity of a store: a random (version 4) UUID given to it when it
/// is created and kept in it, so that files derived from a store (its
/// caches) can tell it from another store made later at the same path,
/// whose counters start again from the same values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StoreIdentity([u8; 16]);

impl StoreIdentity {
    /// The identity with these 16 bytes (the UUID in big-endian order).
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        StoreIdentity(bytes)
    }

    /// The 16 bytes of the UUID.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl std::fmt::Display for StoreIdentity {
    /// The hyphenated lower-case UUID (`8-4-4-4-12` hex digits).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// Which posts [`crate::PostStore::search_posts`] reads: every condition
/// given holds. Posts come by time, then by their store id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PostQuery {
    /// Only the posts of this source.
    pub source: Option<SourceKey>,
    /// Only posts posted at or after this time.
    pub from: Option<UtcTime>,
    /// Only posts posted before this time.
    pub to: Option<UtcTime>,
    /// Words, already normalized as ingestion normalizes text
    /// (`marsad_hash::text::normalize`, then split at spaces): every one
    /// must be a word of the post's normalized text. Empty: any post.
    pub words: Vec<String>,
    /// Only posts after this one in the order (the last of the page before).
    pub after: Option<PostCursor>,
    /// At most this many posts.
    pub limit: usize,
}

/// A place in the order of [`PostQuery`]: a post's time and store id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PostCursor {
    /// When the post was posted.
    pub posted_at: UtcTime,
    /// Its store id.
    pub id: PostId,
}

/// A post [`crate::PostStore::search_posts`] found, with its store id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundPost {
    /// Its store id (with `post.posted_at`, the cursor after it).
    pub id: PostId,
    /// The post.
    pub post: StoredPost,
}

/// A source and how many posts of it are stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceCount {
    /// The source.
    pub source: StoredSource,
    /// Its posts.
    pub posts: u64,
}
