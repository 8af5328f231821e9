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
}

/// What an ingest did. Serialized as the `--json` summary.
#[derive(Clone, Debug, Default, Serialize)]
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
    batch: PostBatch,
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
            batch: PostBatch::default(),
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
        let s = &self.summary;
        let errors = serde_json::to_string(&s.errors).unwrap_or_else(|_| "[]".to_owned());
        self.store.finish_run(
            self.run,
            &RunSummary {
                completed: completed && flushed.is_ok(),
                posts_added: s.posts_added,
                posts_existing: s.posts_existing,
                service_skipped: s.service_skipped,
                media_added: s.media_added,
                media_missing: s.media_missing,
                errors: s.errors_total,
                error_details: errors,
            },
        )?;
        flushed?;
        Ok(self.summary)
    }

    /// Records that the run failed (a fatal error), keeping what was written.
    pub fn abort(self) {
        let s = &self.summary;
        let summary = RunSummary {
            completed: false,
            posts_added: s.posts_added,
            posts_existing: s.posts_existing,
            service_skipped: s.service_skipped,
            media_added: s.media_added,
            media_missing: s.media_missing,
            errors: s.errors_total,
            error_details: serde_json::to_string(&s.errors).unwrap_or_else(|_| "[]".to_owned()),
        };
        if let Err(e) = self.store.finish_run(self.run, &summary) {
            tracing::warn!(error = %e, "could not record the failed ingest run");
        }
    }

    fn flush(&mut self) -> Result<(), IngestError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let retain = self.cfg.retain_media.as_deref();
        let fp = self.fingerprinter;
        // A repeat is ignored whole by the store: its media are read (their
        // fingerprints go to the item's next reference) but not kept.
        let mut repeat = vec![false; self.pending.len()];
        if retain.is_some() {
            let keys: Vec<(&SourceKey, &str)> = self
                .pending
                .iter()
                .map(|p| (&self.sources[p.source.0].key, p.platform_post_id.as_str()))
                .collect();
            for i in self.store.repeats(self.run, &keys)? {
                repeat[i] = true;
            }
        }
        // Pass 1, in parallel: read every media file once for its digests
        // (and keep a copy when asked), and the text fingerprints.
        let reads: Vec<Vec<Result<FileRead, String>>> = self
            .pending
            .par_iter()
            .zip(&repeat)
            .map(|(p, &repeat)| p.media.iter().map(|m| read_one(m, retain.filter(|_| !repeat))).collect())
            .collect();
        let matcher = self.matcher;
        let texts: Vec<(Vec<NewFingerprint>, Vec<NewMatch>)> = self
            .pending
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
            for known in self.store.fingerprinted_media(&shas)? {
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

        self.batch.clear();
        self.in_batch.iter_mut().for_each(|slot| *slot = None);
        let n = self.pending.len() as u64;
        self.pending_text_bytes = 0;
        let mut lines = Vec::with_capacity(self.pending.len());
        for ((p, reads), (fingerprints, post_matches)) in self.pending.drain(..).zip(reads).zip(texts) {
            lines.push((p.source, p.line));
            let mut media = Vec::with_capacity(p.media.len());
            for (m, read) in p.media.iter().zip(reads) {
                let content = match read {
                    Err(why) => {
                        self.summary.media_missing += 1;
                        if self.summary.missing_media.len() < self.cfg.max_error_details {
                            self.summary.missing_media.push(RecordError {
                                file: self.file.clone(),
                                chat: Some(self.sources[p.source.0].key.to_string()),
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
                                self.summary.fingerprint_errors += 1;
                                tracing::warn!(file = %self.file, post = %p.platform_post_id, media = %m.path, error = %why, "fingerprint failed");
                                if self.summary.fingerprint_failures.len() < self.cfg.max_error_details {
                                    self.summary.fingerprint_failures.push(RecordError {
                                        file: self.file.clone(),
                                        chat: Some(self.sources[p.source.0].key.to_string()),
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
                        matches.extend(self.matcher.matches(
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
                            original_path: r.path.display().to_string(),
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
            let source = match self.in_batch[p.source.0] {
                Some(i) => i,
                None => {
                    let i = self.batch.sources.len();
                    self.batch.sources.push(self.sources[p.source.0].clone());
                    self.in_batch[p.source.0] = Some(i);
                    i
                }
            };
            self.batch.posts.push(NewPost {
                source,
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
        let outcome = self.store.write_batch(self.run, &self.batch)?;
        for &i in &outcome.repeated {
            let (Some(post), Some(&(source, line))) = (self.batch.posts.get(i), lines.get(i)) else {
                continue;
            };
            let chat = self.sources[source.0].key.to_string();
            tracing::warn!(file = %self.file, %chat, id = %post.platform_post_id, "repeated message id skipped");
            self.summary.repeated_ids += 1;
            if self.summary.repeated.len() < self.cfg.max_error_details {
                self.summary.repeated.push(RecordError {
                    file: self.file.clone(),
                    chat: Some(chat),
                    message_id: Some(post.platform_post_id.clone()),
                    line,
                    error: "repeats the id of an earlier post of this chat in this input: skipped, the first kept whole"
                        .to_owned(),
                });
            }
        }
        self.summary.posts_edited += outcome.posts_edited;
        self.summary.posts_added += outcome.posts_added;
        self.summary.posts_existing += outcome.posts_existing;
        self.summary.media_added += outcome.media_added;
        self.summary.fingerprints_added += outcome.fingerprints_added;
        self.summary.matches_added += outcome.matches_added;
        self.reporter.advance(n);
        tracing::debug!(posts = n, added = outcome.posts_added, "batch written");
        Ok(())
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
