//! Ingestion: reads what researchers hold — Telegram Desktop JSON exports and
//! JSON lines of posts — and writes it into a [`marsad_store::Store`] in
//! batches, one transaction each.
//!
//! Data flows reader → [`pipeline`] → store:
//! - a reader ([`telegram`], [`jsonl`]) streams records and turns each into a
//!   pending post, or a [`RecordError`] naming the file and record;
//! - the pipeline collects pending posts into a batch, reads and hashes their
//!   media files in parallel (SHA-256, MD5), runs the [`Fingerprinter`]
//!   stage, optionally keeps the bytes, and writes the batch;
//! - the [`Reporter`] hears about progress (the binary draws progress bars;
//!   this crate never prints).
//!
//! Memory stays bounded whatever the input size: readers stream, a batch
//! holds at most [`IngestConfig::batch_size`] posts, and at most
//! [`IngestConfig::max_error_details`] errors are kept in detail.
#![deny(missing_docs)]

pub mod jsonl;
pub mod lines;
pub mod media;
pub mod pipeline;
mod scan;
pub mod telegram;
mod text;

use std::path::PathBuf;

use marsad_core::MediaKind;
use marsad_store::{NewFingerprint, StoreError};
use serde::Serialize;

pub use pipeline::IngestSummary;

/// How an ingest runs.
#[derive(Clone, Debug)]
pub struct IngestConfig {
    /// Posts per batch (one store transaction each).
    pub batch_size: usize,
    /// When set, media bytes are copied, content-addressed, under this folder.
    pub retain_media: Option<PathBuf>,
    /// How many record errors and missing-media notes are kept in detail
    /// (all are counted).
    pub max_error_details: usize,
    /// A batch is written early once the texts of its pending posts hold
    /// this many bytes, so that long texts cannot multiply by the batch
    /// size in memory.
    pub max_batch_text_bytes: usize,
    /// The zone of Telegram `date` values that carry no offset, used when
    /// `date_unixtime` is absent (Telegram Desktop writes the exporting
    /// computer's local time there).
    pub export_timezone: marsad_core::LocalZone,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            batch_size: 2000,
            retain_media: None,
            max_error_details: 1000,
            max_batch_text_bytes: 64 << 20,
            export_timezone: marsad_core::LocalZone::Utc,
        }
    }
}

/// A record that was skipped, or a media file that could not be read, with
/// where it was.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RecordError {
    /// The input file.
    pub file: String,
    /// The chat or source (`telegram:1000000001`), when known: message ids
    /// repeat across the chats of a whole-account export.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat: Option<String>,
    /// The message or post id, when it could be read.
    pub message_id: Option<String>,
    /// The line, for line-based inputs.
    pub line: Option<u64>,
    /// What was wrong.
    pub error: String,
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(chat) = &self.chat {
            write!(f, ": chat {chat}")?;
        }
        if let Some(id) = &self.message_id {
            write!(f, ": message {id}")?;
        }
        write!(f, ": {}", self.error)
    }
}

/// A failure that stops an ingest. Invalid records do not stop it: they are
/// skipped and reported in [`IngestSummary::errors`].
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The input could not be opened or read.
    #[error("cannot read {path}: {error}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error (in the message, so not also a `source`: error
        /// chains would print it twice).
        error: std::io::Error,
    },
    /// The input is not valid JSON; nothing of it was written.
    #[error("{path}: malformed JSON at line {line}, column {column}: {message}")]
    Syntax {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// The input is JSON but not the expected layout.
    #[error("{path}: {message}")]
    Layout {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A batch could not be handed to the work queue.
    #[error("work queue: {0}")]
    Queue(String),
}

/// Hears about an ingest's progress. Implemented by the binary (progress
/// bars); [`NoReporter`] ignores everything.
pub trait Reporter: Sync {
    /// A phase starts (`"checking"`, `"ingesting"`), with its total in
    /// `unit`s when known.
    fn start(&self, phase: &str, total: Option<u64>, unit: Unit);
    /// `n` more units are done.
    fn advance(&self, n: u64);
    /// The current phase is done.
    fn finish(&self);
}

/// What a progress total counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Bytes of input.
    Bytes,
    /// Messages or lines.
    Records,
}

/// A [`Reporter`] that ignores everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoReporter;

impl Reporter for NoReporter {
    fn start(&self, _: &str, _: Option<u64>, _: Unit) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}

/// The stage where fingerprints are computed: called once per media file
/// read and once per post with text. Implementations must be pure functions
/// of their input so that re-ingesting is idempotent.
pub trait Fingerprinter: Sync {
    /// Fingerprints of a media file at `path`; for images `bytes` holds its
    /// content (files up to [`pipeline::WHOLE_FILE_LIMIT`]), for video and
    /// audio it is `None` and the decoder reads the file. Called once per
    /// distinct item the store has not fingerprinted yet. An error is
    /// reported against the record; the media item is still stored with its
    /// exact digests.
    fn media(
        &self,
        kind: MediaKind,
        path: &std::path::Path,
        bytes: Option<&[u8]>,
    ) -> Result<Vec<NewFingerprint>, String>;
    /// Fingerprints of a post's text.
    fn text(&self, text: &str) -> Vec<NewFingerprint>;

    /// Whether [`Fingerprinter::media`] computes anything for this kind (if
    /// not, the pipeline does not read the file a second time).
    fn wants_media(&self, kind: MediaKind) -> bool {
        let _ = kind;
        true
    }
}

/// The stage where new fingerprints are matched against known material
/// (hash banks). Called once per item fingerprinted (media) and per post
/// with text fingerprints.
pub trait Matcher: Sync {
    /// The bank entries these fingerprints of one item match. `text` is
    /// the post's text when the fingerprints are a post's (text matches are
    /// confirmed on it).
    fn matches(&self, fingerprints: &[NewFingerprint], text: Option<&str>) -> Vec<marsad_store::NewMatch>;
}

/// A [`Matcher`] with no banks.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoMatcher;

impl Matcher for NoMatcher {
    fn matches(&self, _: &[NewFingerprint], _: Option<&str>) -> Vec<marsad_store::NewMatch> {
        Vec::new()
    }
}

/// The pluggable stages of an ingest: fingerprinting, matching, progress.
#[derive(Clone, Copy)]
pub struct Stages<'a> {
    /// Computes fingerprints.
    pub fingerprinter: &'a dyn Fingerprinter,
    /// Matches them against banks.
    pub matcher: &'a dyn Matcher,
    /// Hears about progress.
    pub reporter: &'a dyn Reporter,
    /// When set, batches are published here (the work queue) instead of
    /// being applied by this process.
    pub sink: Option<&'a dyn pipeline::BatchSink>,
}

impl std::fmt::Debug for Stages<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stages").finish_non_exhaustive()
    }
}

impl<'a> Stages<'a> {
    /// Stages with the given fingerprinter, no banks and no progress.
    pub fn new(fingerprinter: &'a dyn Fingerprinter) -> Self {
        Stages { fingerprinter, matcher: &NoMatcher, reporter: &NoReporter, sink: None }
    }
}

/// A [`Fingerprinter`] that computes nothing beyond the exact digests.
#[derive(Clone, Copy, Debug, Default)]
pub struct ExactOnly;

impl Fingerprinter for ExactOnly {
    fn media(
        &self,
        _: MediaKind,
        _: &std::path::Path,
        _: Option<&[u8]>,
    ) -> Result<Vec<NewFingerprint>, String> {
        Ok(Vec::new())
    }
    fn text(&self, _: &str) -> Vec<NewFingerprint> {
        Vec::new()
    }
    fn wants_media(&self, _: MediaKind) -> bool {
        false
    }
}
