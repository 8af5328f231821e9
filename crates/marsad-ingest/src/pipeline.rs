//! The stage between readers and the store: collects pending posts into
//! batches, reads their media (in parallel), runs the fingerprint stage and
//! writes each batch in one store transaction.

use std::collections::HashMap;
use std::path::PathBuf;

use marsad_core::{MediaKind, Sha256, SignalType, SourceKey, UtcTime};
use marsad_store::prelude::*;
use marsad_store::{
    MediaContent, MediaRef, NewFingerprint, NewMatch, NewMedia, NewPost, NewRun, NewSource, PostBatch, RunId,
    RunSummary,
};
use rayon::prelude::*;
use serde::Serialize;

use crate::media::{choose_mime, read_media, refine_kind};
use crate::{Fingerprinter, IngestConfig, IngestError, Matcher, RecordError, Reporter, Stages};

/// Files up to this size are read whole and handed to the fingerprint stage
/// as bytes; larger ones are digested in a stream and fingerprinted from
/// their path.
pub const WHOLE_FILE_LIMIT: u64 = 64 * 1024 * 1024;

/// A post read from the input, before its media files are read.
#[derive(Clone, Debug)]
pub struct PendingPost {
    /// Its source, as interned by [`Pipeline::source`].
    pub source: SourceId,
    /// Platform id of the post.
    pub platform_post_id: String,
    /// When it was posted.
    pub posted_at: UtcTime,
    /// When edited.
    pub edited_at: Option<UtcTime>,
    /// Text, flattened.
    pub text: String,
    /// Link.
    pub url: Option<String>,
    /// Forwarded from.
    pub forwarded_from: Option<String>,
    /// Replied-to post id.
    pub reply_to: Option<String>,
    /// Media references.
    pub media: Vec<PendingMedia>,
    /// Line of the record, for line-based inputs (for error reports).
    pub line: Option<u64>,
}

/// A source interned in a [`Pipeline`] (cheap to copy per post).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SourceId(usize);

impl SourceId {
    /// The source at this index (of a [`PendingBatch`]'s sources).
    pub fn new(index: usize) -> Self {
        SourceId(index)
    }

    /// Its index.
    pub fn index(self) -> usize {
        self.0
    }
}

/// A media reference before the file is read.
#[derive(Clone, Debug)]
pub struct PendingMedia {
    /// Kind declared by the input (refined by the file's MIME type).
    pub kind: MediaKind,
    /// Path as the input gives it.
    pub path: String,
    /// The file to read, or why there is none (e.g. not included in the
    /// export).
    pub file: Result<PathBuf, String>,
    /// MIME type declared by the input.
    pub mime: Option<String>,
    /// Where the file is as the input names it, when `file` is a copy of
    /// it (a worker's download of a queued batch's media, stored as the
    /// item's original path); `None`: `file` itself.
    pub origin: Option<PathBuf>,
}

/// What an ingest did. Serialized as the `--json` summary.
#[derive(Clone, Debug, Default, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct IngestSummary {
    /// Posts new to the store.
    pub posts_added: u64,
    /// Posts the store already had.
    pub posts_existing: u64,
    /// Service messages (joins, pins…) skipped.
    pub service_skipped: u64,
    /// Media items new to the store.
    pub media_added: u64,
    /// Media references whose file could not be read.
    pub media_missing: u64,
    /// Records skipped as invalid (the first ones in detail).
    pub errors: Vec<RecordError>,
    /// How many records were skipped as invalid.
    pub errors_total: u64,
    /// Missing media references (the first ones in detail).
    pub missing_media: Vec<RecordError>,
    /// Fingerprints new to the store.
    pub fingerprints_added: u64,
    /// Fingerprint computations that failed (the media is still stored).
    pub fingerprint_errors: u64,
    /// Failed fingerprint computations (the first ones in detail).
    pub fingerprint_failures: Vec<RecordError>,
    /// Bank matches found and stored.
    pub matches_added: u64,
    /// The ingest run's id in the store.
    pub run_id: i64,
    /// Entries Telegram Desktop could not export (`"type": "unsupported"`)
    /// skipped.
    pub unsupported_skipped: u64,
    /// Posts already stored whose text changed (the earlier text kept as a
    /// version; counted in `posts_existing` too).
    pub posts_edited: u64,
    /// Records skipped because their id repeats an earlier record of the
    /// same chat or source in this input (the first is kept whole).
    pub repeated_ids: u64,
    /// The repeated ids (the first ones in detail).
    pub repeated: Vec<RecordError>,
}

impl IngestSummary {
    /// Posts that were valid (added or already stored).
    pub fn posts_valid(&self) -> u64 {
        self.posts_added + self.posts_existing
    }

    /// Why an input gave no valid post (for when [`Self::posts_valid`] is 0).
    pub fn no_post_reason(&self) -> &'static str {
        if self.errors_total > 0 {
            "every record was refused"
        } else if self.service_skipped > 0 {
            "it holds service messages only"
        } else {
            "it holds no post"
        }
    }
}

/// Batches pending posts into a store. Readers call [`Pipeline::push`] per
/// post, [`Pipeline::error`] per invalid record, and [`Pipeline::finish`] at
/// the end.
pub struct Pipeline<'a> {
    store: &'a mut dyn Store,
    cfg: &'a IngestConfig,
    fingerprinter: &'a dyn Fingerprinter,
    matcher: &'a dyn Matcher,
    reporter: &'a dyn Reporter,
    run: RunId,
    file: String,
    /// The chat being read, named in the errors of its records.
    chat: Option<String>,
    pending: Vec<PendingPost>,
    /// Bytes of the pending posts' texts.
    pending_text_bytes: usize,
    summary: IngestSummary,
    /// Where batches go when they are published rather than applied here.
    sink: Option<&'a dyn BatchSink>,
    /// Batches published so far.
    published: u64,
    sources: Vec<NewSource>,
    source_ids: HashMap<SourceKey, SourceId>,
    /// Index of each interned source in the current batch's sources.
    in_batch: Vec<Option<usize>>,
}

impl std::fmt::Debug for Pipeline<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline").field("file", &self.file).field("run", &self.run).finish_non_exhaustive()
    }
}

impl<'a> Pipeline<'a> {
    /// Starts an ingest run of `kind` over `file`.
    pub fn start(
        store: &'a mut dyn Store,
        cfg: &'a IngestConfig,
        stages: &Stages<'a>,
        kind: &str,
        file: &str,
    ) -> Result<Self, IngestError> {
        let run = store.begin_run(&NewRun {
            kind: kind.to_owned(),
            path: file.to_owned(),
            started_at: UtcTime::now(),
        })?;
        if stages.sink.is_some() {
            store.begin_queued_run(run)?;
        }
        Ok(Pipeline {
            store,
            cfg,
            fingerprinter: stages.fingerprinter,
            matcher: stages.matcher,
            reporter: stages.reporter,
            run,
            file: file.to_owned(),
            chat: None,
            pending: Vec::with_capacity(cfg.batch_size.max(1)),
            pending_text_bytes: 0,
            summary: IngestSummary { run_id: run.0, ..IngestSummary::default() },
            sink: stages.sink,
            published: 0,
            sources: Vec::new(),
            source_ids: HashMap::new(),
            in_batch: Vec::new(),
        })
    }

    /// Interns a source; posts refer to it by the returned id. A source
    /// interned again with another name or kind takes the newer ones.
    pub fn source(&mut self, source: NewSource) -> SourceId {
        if let Some(&id) = self.source_ids.get(&source.key) {
            self.sources[id.0] = source;
            return id;
        }
        let id = SourceId(self.sources.len());
        self.source_ids.insert(source.key.clone(), id);
        self.sources.push(source);
        self.in_batch.push(None);
        id
    }

    /// Adds a post; writes a batch when enough are pending.
    pub fn push(&mut self, post: PendingPost) -> Result<(), IngestError> {
        self.pending_text_bytes += post.text.len();
        self.pending.push(post);
        if self.pending.len() >= self.cfg.batch_size.max(1)
            || self.pending_text_bytes >= self.cfg.max_batch_text_bytes
        {
            self.flush()?;
        }
        Ok(())
    }

    /// Counts a skipped service message.
    pub fn service_skipped(&mut self) {
        self.summary.service_skipped += 1;
        self.reporter.advance(1);
    }

    /// Counts a skipped entry of a kind the exporter could not export.
    pub fn unsupported_skipped(&mut self) {
        self.summary.unsupported_skipped += 1;
        self.reporter.advance(1);
    }

    /// How this ingest runs.
    pub fn config(&self) -> &IngestConfig {
        self.cfg
    }

    /// Sets the chat (source) whose records follow, for their errors.
    pub fn set_chat(&mut self, chat: Option<String>) {
        self.chat = chat;
    }

    /// Reports an invalid record (skipped).
    pub fn error(&mut self, message_id: Option<String>, line: Option<u64>, error: String) {
        self.summary.errors_total += 1;
        self.reporter.advance(1);
        if self.summary.errors.len() < self.cfg.max_error_details {
            let chat = self.chat.clone();
            self.summary.errors.push(RecordError { file: self.file.clone(), chat, message_id, line, error });
        }
    }

    /// Writes what is pending and records the run's end. `completed` says
    /// whether the whole input was read.
    pub fn finish(mut self, completed: bool) -> Result<IngestSummary, IngestError> {
        let flushed = self.flush();
        let completed = completed && flushed.is_ok();
        if self.sink.is_some() {
            // The workers apply the batches; the run ends when the last
            // one is applied or given up (see `settle` in the engine).
            self.store.end_publishing(self.run, self.published, &reader_part(&self.summary, completed))?;
        } else {
            self.store.finish_run(self.run, &run_summary(&self.summary, completed))?;
        }
        flushed?;
        Ok(self.summary)
    }

    /// Records that the run failed (a fatal error), keeping what was written.
    pub fn abort(self) {
        let recorded = if self.sink.is_some() {
            self.store.end_publishing(self.run, self.published, &reader_part(&self.summary, false))
        } else {
            self.store.finish_run(self.run, &run_summary(&self.summary, false))
        };
        if let Err(e) = recorded {
            tracing::warn!(error = %e, "could not record the failed ingest run");
        }
    }

    /// The run's id in the store.
    pub fn run(&self) -> RunId {
        self.run
    }

    fn flush(&mut self) -> Result<(), IngestError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        // The batch names its own sources: each post's source becomes an
        // index into them.
        self.in_batch.iter_mut().for_each(|slot| *slot = None);
        let mut sources = Vec::new();
        let mut posts = Vec::with_capacity(self.pending.len());
        for mut p in self.pending.drain(..) {
            let i = match self.in_batch[p.source.0] {
                Some(i) => i,
                None => {
                    let i = sources.len();
                    sources.push(self.sources[p.source.0].clone());
                    self.in_batch[p.source.0] = Some(i);
                    i
                }
            };
            p.source = SourceId(i);
            posts.push(p);
        }
        self.pending_text_bytes = 0;
        let batch = PendingBatch { sources, posts };
        let n = batch.posts.len() as u64;
        match self.sink {
            Some(sink) => {
                sink.publish(self.run, self.published, &batch)?;
                self.published += 1;
            }
            None => {
                let stages = Stages {
                    fingerprinter: self.fingerprinter,
                    matcher: self.matcher,
                    reporter: self.reporter,
                    sink: None,
                };
                let applied =
                    apply_batch(&mut *self.store, self.run, self.cfg, &stages, &self.file, batch, None)?;
                self.summary.absorb(applied.summary, self.cfg.max_error_details);
            }
        }
        self.reporter.advance(n);
        Ok(())
    }
}

/// What the store keeps of a run's end.
pub fn run_summary(s: &IngestSummary, completed: bool) -> RunSummary {
    RunSummary {
        completed,
        posts_added: s.posts_added,
        posts_existing: s.posts_existing,
        service_skipped: s.service_skipped,
        media_added: s.media_added,
        media_missing: s.media_missing,
        errors: s.errors_total,
        error_details: serde_json::to_string(&s.errors).unwrap_or_else(|_| "[]".to_owned()),
    }
}

/// The reader's part of a queued run, as the store keeps it until the run
/// settles: whether the reader read its whole input, and its counts.
#[derive(Clone, Debug, Default, Serialize, serde::Deserialize)]
pub struct ReaderPart {
    /// The whole input was read and every batch published.
    pub completed: bool,
    /// The reader's counts (records skipped, service messages…).
    pub summary: IngestSummary,
}

fn reader_part(s: &IngestSummary, completed: bool) -> String {
    serde_json::to_string(&ReaderPart { completed, summary: s.clone() }).unwrap_or_else(|_| "{}".to_owned())
}

/// A batch of posts as the reader hands it over, before any media file is
/// read: self-contained (each post's `source` indexes `sources`), so that
/// it can be applied here or published to a worker.
#[derive(Clone, Debug, Default)]
pub struct PendingBatch {
    /// The sources the posts refer to.
    pub sources: Vec<NewSource>,
    /// The posts, in input order.
    pub posts: Vec<PendingPost>,
}

/// Where a queued ingest's batches go instead of being applied here
/// (the work queue: [`Stages::sink`]).
pub trait BatchSink {
    /// Hands over batch `seq` (0, 1, … in input order) of `run`; returns
    /// once it is safely queued.
    fn publish(&self, run: RunId, seq: u64, batch: &PendingBatch) -> Result<(), IngestError>;
}

/// What applying a batch found before its write: stored with a queued
/// batch's receipt, so that any process can sum a queued run's summary.
#[derive(Clone, Debug, Default, Serialize, serde::Deserialize)]
pub struct BatchReport {
    /// Media references whose file could not be read.
    pub media_missing: u64,
    /// The first ones in detail.
    pub missing_media: Vec<RecordError>,
    /// Fingerprint computations that failed.
    pub fingerprint_errors: u64,
    /// The first ones in detail.
    pub fingerprint_failures: Vec<RecordError>,
}

/// A batch applied by [`apply_batch`].
#[derive(Clone, Debug, Default)]
pub struct Applied {
    /// What it added, as a part of an ingest's summary (the reader's
    /// counts are zero).
    pub summary: IngestSummary,
    /// The batch was already applied (its receipt stored): nothing written.
    pub already_applied: bool,
}

impl IngestSummary {
    /// Adds `part`'s counts to these and its details, keeping at most
    /// `max_details` of each kind.
    pub fn absorb(&mut self, part: IngestSummary, max_details: usize) {
        fn keep(to: &mut Vec<RecordError>, from: Vec<RecordError>, max: usize) {
            let room = max.saturating_sub(to.len());
            to.extend(from.into_iter().take(room));
        }
        self.posts_added += part.posts_added;
        self.posts_existing += part.posts_existing;
        self.service_skipped += part.service_skipped;
        self.media_added += part.media_added;
        self.media_missing += part.media_missing;
        keep(&mut self.errors, part.errors, max_details);
        self.errors_total += part.errors_total;
        keep(&mut self.missing_media, part.missing_media, max_details);
        self.fingerprints_added += part.fingerprints_added;
        self.fingerprint_errors += part.fingerprint_errors;
        keep(&mut self.fingerprint_failures, part.fingerprint_failures, max_details);
        self.matches_added += part.matches_added;
        self.unsupported_skipped += part.unsupported_skipped;
        self.posts_edited += part.posts_edited;
        self.repeated_ids += part.repeated_ids;
        keep(&mut self.repeated, part.repeated, max_details);
    }
}

/// Applies one batch of `run` from `file`: reads every media file once
/// (in parallel), fingerprints each item the store has not fingerprinted,
/// matches against the banks and writes the batch in one transaction.
/// With a `receipt` (a queued batch), the receipt is written in that
/// transaction, with what was found before the write as its report; a
/// batch already applied writes nothing ([`Applied::already_applied`]).
pub fn apply_batch(
    store: &mut dyn Store,
    run: RunId,
    cfg: &IngestConfig,
    stages: &Stages<'_>,
    file: &str,
    batch: PendingBatch,
    receipt: Option<marsad_store::BatchReceipt>,
) -> Result<Applied, IngestError> {
    let PendingBatch { sources, posts: pending } = batch;
    if let Some(p) = pending.iter().find(|p| p.source.0 >= sources.len()) {
        return Err(IngestError::Store(marsad_store::StoreError::Invalid(format!(
            "post {} refers to source #{} of a batch of {} sources",
            p.platform_post_id,
            p.source.0,
            sources.len()
        ))));
    }
    let mut summary = IngestSummary::default();
    let max_details = cfg.max_error_details;
    let retain = cfg.retain_media.as_deref();
    let fp = stages.fingerprinter;
    let matcher = stages.matcher;
    // A repeat is ignored whole by the store: its media are read (their
    // fingerprints go to the item's next reference) but not kept.
    let mut repeat = vec![false; pending.len()];
    if retain.is_some() {
        let keys: Vec<(&SourceKey, &str)> =
            pending.iter().map(|p| (&sources[p.source.0].key, p.platform_post_id.as_str())).collect();
        for i in store.repeats(run, &keys)? {
            repeat[i] = true;
        }
    }
    // Pass 1, in parallel: read every media file once for its digests
    // (and keep a copy when asked), and the text fingerprints.
    let reads: Vec<Vec<Result<FileRead, String>>> = pending
        .par_iter()
        .zip(&repeat)
        .map(|(p, &repeat)| p.media.iter().map(|m| read_one(m, retain.filter(|_| !repeat))).collect())
        .collect();
    let texts: Vec<(Vec<NewFingerprint>, Vec<NewMatch>)> = pending
        .par_iter()
        .map(|p| {
            let f = fp.text(&p.text);
            let m = if f.is_empty() { Vec::new() } else { matcher.matches(&f, Some(&p.text)) };
            (f, m)
        })
        .collect();

    // Pass 2: fingerprint each distinct item the store has not
    // fingerprinted yet, in parallel; a known item is not decoded again.
    let mut todo: HashMap<Sha256, (MediaKind, PathBuf)> = HashMap::new();
    for r in reads.iter().flatten().flatten() {
        if fp.wants_media(r.kind) {
            todo.entry(r.sha256).or_insert_with(|| (r.kind, r.path.clone()));
        }
    }
    if !todo.is_empty() {
        let shas: Vec<Sha256> = todo.keys().copied().collect();
        for known in store.fingerprinted_media(&shas)? {
            todo.remove(&known);
        }
    }
    let todo: Vec<(Sha256, MediaKind, PathBuf)> = todo.into_iter().map(|(s, (k, p))| (s, k, p)).collect();
    let mut printed: HashMap<Sha256, Result<Printed, String>> = todo
        .par_iter()
        .map(|(sha, kind, path)| {
            let result = fingerprint_one(fp, *kind, path).map(|f| {
                let m = matcher.matches(&f, None);
                (f, m)
            });
            (*sha, result)
        })
        .collect();

    let mut out = PostBatch { sources, posts: Vec::with_capacity(pending.len()), receipt: None };
    let mut lines = Vec::with_capacity(pending.len());
    for ((p, reads), (fingerprints, post_matches)) in pending.into_iter().zip(reads).zip(texts) {
        lines.push(p.line);
        let chat = || Some(out.sources[p.source.0].key.to_string());
        let mut media = Vec::with_capacity(p.media.len());
        for (m, read) in p.media.iter().zip(reads) {
            let content = match read {
                Err(why) => {
                    summary.media_missing += 1;
                    if summary.missing_media.len() < max_details {
                        summary.missing_media.push(RecordError {
                            file: file.to_owned(),
                            chat: chat(),
                            message_id: Some(p.platform_post_id.clone()),
                            line: p.line,
                            // A reference the export did not download has
                            // Telegram's note where the path would be.
                            error: if m.file.is_err() {
                                format!("{} {why}", m.kind)
                            } else {
                                format!("media {}: {why}", m.path)
                            },
                        });
                    }
                    MediaContent::Missing(why)
                }
                Ok(r) => {
                    // The first reference in the batch carries the
                    // fingerprints; the store keys them by item anyway.
                    let (fingerprints, matches) = match printed.remove(&r.sha256) {
                        Some(Ok(f)) => f,
                        Some(Err(why)) => {
                            summary.fingerprint_errors += 1;
                            tracing::warn!(file = %file, post = %p.platform_post_id, media = %m.path, error = %why, "fingerprint failed");
                            if summary.fingerprint_failures.len() < max_details {
                                summary.fingerprint_failures.push(RecordError {
                                    file: file.to_owned(),
                                    chat: chat(),
                                    message_id: Some(p.platform_post_id.clone()),
                                    line: p.line,
                                    error: format!("media {}: {why}", m.path),
                                });
                            }
                            (Vec::new(), Vec::new())
                        }
                        None => (Vec::new(), Vec::new()),
                    };
                    // Exact digests are matched for every item read
                    // (banks of MD5 and SHA-256 hold documents too).
                    let mut matches = matches;
                    matches.extend(matcher.matches(
                        &[
                            NewFingerprint::own(SignalType::Md5, r.md5.to_hex(), None),
                            NewFingerprint::own(SignalType::Sha256, r.sha256.to_hex(), None),
                        ],
                        None,
                    ));
                    MediaContent::Present(NewMedia {
                        sha256: r.sha256,
                        md5: r.md5,
                        kind: r.kind,
                        byte_size: r.byte_size,
                        mime: r.mime,
                        original_path: r.origin.display().to_string(),
                        retained_path: r.retained.map(|r| r.display().to_string()),
                        fingerprints,
                        matches,
                    })
                }
            };
            let kind = match &content {
                MediaContent::Present(nm) => nm.kind,
                MediaContent::Missing(_) => m.kind,
            };
            media.push(MediaRef { kind, path: m.path.clone(), content });
        }
        out.posts.push(NewPost {
            source: p.source.0,
            platform_post_id: p.platform_post_id,
            posted_at: p.posted_at,
            edited_at: p.edited_at,
            text: p.text,
            url: p.url,
            forwarded_from: p.forwarded_from,
            reply_to: p.reply_to,
            media,
            fingerprints,
            matches: post_matches,
        });
    }
    out.receipt = receipt.map(|r| {
        let report = BatchReport {
            media_missing: summary.media_missing,
            missing_media: summary.missing_media.clone(),
            fingerprint_errors: summary.fingerprint_errors,
            fingerprint_failures: summary.fingerprint_failures.clone(),
        };
        marsad_store::BatchReceipt {
            report: serde_json::to_string(&report).unwrap_or_else(|_| "{}".to_owned()),
            ..r
        }
    });
    let outcome = store.write_batch(run, &out)?;
    if outcome.already_applied {
        return Ok(Applied { summary: IngestSummary::default(), already_applied: true });
    }
    for &i in &outcome.repeated {
        let (Some(post), Some(&line)) = (out.posts.get(i), lines.get(i)) else {
            continue;
        };
        let chat = out.sources[post.source].key.to_string();
        tracing::warn!(file = %file, %chat, id = %post.platform_post_id, "repeated message id skipped");
        summary.repeated_ids += 1;
        if summary.repeated.len() < max_details {
            summary.repeated.push(repeated_error(file, chat, post.platform_post_id.clone(), line));
        }
    }
    summary.posts_edited += outcome.posts_edited;
    summary.posts_added += outcome.posts_added;
    summary.posts_existing += outcome.posts_existing;
    summary.media_added += outcome.media_added;
    summary.fingerprints_added += outcome.fingerprints_added;
    summary.matches_added += outcome.matches_added;
    tracing::debug!(posts = out.posts.len(), added = outcome.posts_added, "batch written");
    Ok(Applied { summary, already_applied: false })
}

/// The summary's note of a post skipped because its id repeats an earlier
/// one of its chat in the same input.
pub fn repeated_error(file: &str, chat: String, message_id: String, line: Option<u64>) -> RecordError {
    RecordError {
        file: file.to_owned(),
        chat: Some(chat),
        message_id: Some(message_id),
        line,
        error: "repeats the id of an earlier post of this chat in this input: skipped, the first kept whole"
            .to_owned(),
    }
}

/// An item's fingerprints and the bank matches they found.
type Printed = (Vec<NewFingerprint>, Vec<NewMatch>);

/// A media file read for its digests.
struct FileRead {
    sha256: Sha256,
    md5: marsad_core::Md5,
    byte_size: u64,
    kind: MediaKind,
    mime: Option<String>,
    path: PathBuf,
    /// Where the input says the file is ([`PendingMedia::origin`]).
    origin: PathBuf,
    retained: Option<PathBuf>,
}

fn read_one(m: &PendingMedia, retain: Option<&std::path::Path>) -> Result<FileRead, String> {
    let path = m.file.as_ref().map_err(Clone::clone)?;
    let read = read_media(path, retain).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            "file not found".to_owned()
        } else {
            format!("unreadable: {e}")
        }
    })?;
    let mime = choose_mime(m.mime.as_deref(), read.sniffed_mime, &m.path);
    let kind = refine_kind(m.kind, mime.as_deref());
    Ok(FileRead {
        sha256: read.sha256,
        md5: read.md5,
        byte_size: read.byte_size,
        kind,
        mime,
        path: path.clone(),
        origin: m.origin.clone().unwrap_or_else(|| path.clone()),
        retained: read.retained,
    })
}

/// Fingerprints one media file: images are read whole (up to
/// [`WHOLE_FILE_LIMIT`]) and handed over as bytes; video and audio are
/// handed over by path (their decoder reads the file itself). This is the
/// one way a file is fingerprinted: ingest, `marsad match` and the server's
/// uploads all come here.
pub fn fingerprint_one(
    fp: &dyn Fingerprinter,
    kind: MediaKind,
    path: &std::path::Path,
) -> Result<Vec<NewFingerprint>, String> {
    if kind != MediaKind::Image {
        return fp.media(kind, path, None);
    }
    let bytes = (|| {
        let file = crate::media::open_regular(path)?;
        let len = file.metadata()?.len();
        if len > WHOLE_FILE_LIMIT {
            return Ok(None);
        }
        let mut bytes = Vec::with_capacity(len as usize);
        std::io::Read::read_to_end(&mut std::io::Read::take(file, WHOLE_FILE_LIMIT + 1), &mut bytes)?;
        Ok::<_, std::io::Error>(Some(bytes))
    })()
    .map_err(|e| format!("unreadable: {e}"))?;
    fp.media(kind, path, bytes.as_deref())
}
