//! Ingest through the work queue (NATS JetStream): `marsad ingest --queue`
//! reads an export and publishes its batches as jobs; `marsad worker`s
//! fingerprint, match and write each batch in one transaction with its
//! receipt, then acknowledge it; `marsad jobs` shows the queued runs.
//!
//! Exactly once, whatever is redelivered: a batch's receipt is written in
//! the batch's own transaction ([`marsad_store::BatchReceipt`]), so a batch
//! delivered again after a worker died before acknowledging it writes
//! nothing; posts, media and fingerprints are keyed by content anyway. A
//! batch that fails `max_deliver` times is recorded as a dead letter (in
//! the store and on the queue's dead-letter subject) and its run settles
//! without it. A run ends (its `ingest_runs` row completed or failed) when
//! every published batch is applied or dead: the process that sees that
//! first records it ([`Engine::settle_queued`]), with the summary summed
//! from the reader's part and every batch's receipt.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use marsad_core::{MediaKind, Platform, RunId, SourceKey, UtcTime};
use marsad_ingest::pipeline::{
    BatchReport, BatchSink, PendingBatch, PendingMedia, PendingPost, ReaderPart, SourceId,
};
use marsad_ingest::{IngestConfig, IngestError, IngestSummary, Matcher, NoMatcher, Reporter, Stages};
use marsad_match::{BankMatcher, MatchConfig};
use marsad_queue::blocking::Queue;
use marsad_queue::{Names, QueueConfig};
use marsad_store::{BankState, NewSource, QueuedBatchStatus, QueuedRun};
use serde::{Deserialize, Serialize};

use crate::Engine;
use crate::error::{EngineError, Result, invalid};
use crate::ingest::{IngestOptions, InputKind};

/// Posts per queued batch unless `--batch-size` says otherwise: small
/// enough that workers share an export evenly and a redelivery redoes
/// little.
pub const QUEUE_BATCH_SIZE: usize = 200;

/// The version of the job body this build writes and reads.
const JOB_VERSION: u32 = 1;

impl Engine {
    /// Connects to the work queue of this engine's store at `url`.
    pub fn connect_queue(&self, url: &str) -> Result<Queue> {
        let identity = self.store().identity()?;
        Queue::connect(url, Names::for_store(&identity.to_string()), QueueConfig::from_env())
            .map_err(|e| EngineError::step("the work queue", e))
    }

    /// Reads `path` and publishes its batches to `queue` for the workers
    /// (with `send_media`, each media file's bytes too, for workers that do
    /// not share the file system);
    /// returns the reader's part of the summary (records refused, service
    /// messages…; `run_id` set) once every batch is queued. The run ends
    /// when the workers have applied them ([`Engine::wait_queued`]).
    pub fn ingest_queued(
        &mut self,
        kind: InputKind,
        path: &Path,
        opts: &IngestOptions,
        queue: &Queue,
        send_media: bool,
        reporter: &dyn Reporter,
    ) -> Result<IngestSummary> {
        if matches!(self.location(), crate::StoreLocation::Sqlite(_)) {
            return Err(invalid!(
                "--queue needs a store every worker can reach: a PostgreSQL store (--db postgres://…)"
            ));
        }
        let (cfg, _) = self.ingest_config(opts)?;
        if opts.retain_media && self.media_dir().is_none() {
            return Err(crate::ingest::media_dir_needed());
        }
        // Workers read the media by absolute path.
        let path = std::fs::canonicalize(path).map_err(|e| EngineError::io(path.display(), e))?;
        let file = path.display().to_string();
        let sink = QueueSink {
            queue,
            settings: JobSettings {
                kind: match kind {
                    InputKind::Telegram => "telegram",
                    InputKind::Jsonl => "jsonl",
                }
                .to_owned(),
                retain_media: opts.retain_media,
                no_fingerprints: opts.no_fingerprints,
                seconds_per_hash: opts.seconds_per_hash,
                match_banks: opts.match_banks,
            },
            file: file.clone(),
            send_media,
        };
        let stages = Stages {
            fingerprinter: &marsad_ingest::ExactOnly,
            matcher: &NoMatcher,
            reporter,
            sink: Some(&sink),
        };
        let store = self.store_mut();
        let summary = match kind {
            InputKind::Telegram => marsad_ingest::telegram::ingest(store, &path, &cfg, &stages),
            InputKind::Jsonl => marsad_ingest::jsonl::ingest(store, &path, &cfg, &stages),
        }?;
        self.settle_queued(RunId(summary.run_id))?;
        Ok(summary)
    }

    /// The queued runs, newest first, at most `limit`.
    pub fn queued_runs(&self, limit: usize) -> Result<Vec<QueuedRunView>> {
        let runs = self.store().queued_runs(limit)?;
        runs.into_iter().map(|r| self.view(r)).collect()
    }

    /// One queued run.
    pub fn queued_run(&self, run: i64) -> Result<QueuedRunView> {
        let found = self.store().queued_run(RunId(run))?;
        let found = found.ok_or_else(|| EngineError::NotFound(format!("no queued ingest run {run}")))?;
        self.view(found)
    }

    fn view(&self, run: QueuedRun) -> Result<QueuedRunView> {
        let batches = self.store().queued_batches(run.run.id)?;
        let summary = summed(&run, &batches);
        let dead = batches
            .iter()
            .filter(|b| b.status == QueuedBatchStatus::Dead)
            .map(|b| DeadBatch {
                seq: b.seq,
                attempts: b.attempts,
                worker: b.worker.clone(),
                error: b.error.clone().unwrap_or_default(),
                at: b.finished_at.to_rfc3339(),
            })
            .collect();
        let reader = run.reader.as_deref().and_then(|r| serde_json::from_str::<ReaderPart>(r).ok());
        Ok(QueuedRunView {
            run_id: run.run.id.0,
            kind: run.run.kind.clone(),
            path: run.run.path.clone(),
            started_at: run.run.started_at.to_rfc3339(),
            finished_at: run.run.finished_at.map(|t| t.to_rfc3339()),
            status: run.run.status.clone(),
            publishing: run.batches_total.is_none(),
            read_whole_input: reader.as_ref().map(|r| r.completed),
            batches_total: run.batches_total,
            batches_applied: run.applied,
            batches_dead: run.dead,
            posts_applied: run.posts,
            dead,
            summary,
        })
    }

    /// Ends `run` if every batch it published is applied or dead and it is
    /// still running: records its summary (completed unless the reader
    /// stopped early or a batch is dead). Returns whether the run has ended
    /// (by this call or before).
    pub fn settle_queued(&mut self, run: RunId) -> Result<bool> {
        let Some(q) = self.store().queued_run(run)? else {
            return Err(EngineError::NotFound(format!("no queued ingest run {}", run.0)));
        };
        if q.run.status != "running" {
            return Ok(true);
        }
        if !q.settled() {
            return Ok(false);
        }
        let batches = self.store().queued_batches(run)?;
        let summary = summed(&q, &batches);
        let read_all = q
            .reader
            .as_deref()
            .and_then(|r| serde_json::from_str::<ReaderPart>(r).ok())
            .is_some_and(|r| r.completed);
        let completed = read_all && q.dead == 0;
        self.store_mut().finish_run(run, &marsad_ingest::pipeline::run_summary(&summary, completed))?;
        Ok(true)
    }

    /// Waits until `run` has ended, telling `progress` how far it is at
    /// every change; returns its view. Store errors while waiting (a
    /// PostgreSQL restart) are waited out for up to `patience`.
    pub fn wait_queued(
        &mut self,
        run: i64,
        patience: Duration,
        progress: &mut dyn FnMut(&QueuedRunView),
    ) -> Result<QueuedRunView> {
        let mut last: Option<(u64, u64)> = None;
        let mut failing_since: Option<Instant> = None;
        loop {
            // The counts are cheap; the whole view (every receipt) is read
            // only when they change.
            let step = self.settle_queued(RunId(run)).and_then(|ended| {
                let counts = self.store().queued_run(RunId(run))?.map(|q| (q.applied, q.dead));
                let view = if ended || last != counts { Some(self.queued_run(run)?) } else { None };
                Ok((ended, counts, view))
            });
            match step {
                Ok((ended, counts, view)) => {
                    failing_since = None;
                    if let Some(view) = view {
                        if last != counts {
                            progress(&view);
                            last = counts;
                        }
                        if ended {
                            return Ok(view);
                        }
                    }
                }
                Err(e) => {
                    let since = *failing_since.get_or_insert_with(Instant::now);
                    if since.elapsed() > patience {
                        return Err(e);
                    }
                    tracing::warn!(error = %e, "waiting for the queued run: the store failed, trying again");
                    self.reconnect();
                }
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Opens the store again (after its server restarted); keeps the old
    /// connection when that fails.
    pub fn reconnect(&mut self) {
        let db = self.db().to_owned();
        match Engine::open(&db) {
            Ok(mut fresh) => {
                fresh.share_memory_budget(&self.memory().clone());
                *self = fresh;
            }
            Err(e) => tracing::debug!(error = %e, "the store cannot be opened yet"),
        }
    }
}

/// A queued run as `marsad jobs` shows it.
#[derive(Clone, Debug, Serialize)]
pub struct QueuedRunView {
    /// The ingest run.
    pub run_id: i64,
    /// `telegram` or `jsonl`.
    pub kind: String,
    /// What was read.
    pub path: String,
    /// When the reader started.
    pub started_at: String,
    /// When the last batch was applied or given up.
    pub finished_at: Option<String>,
    /// `running`, `completed` or `failed`.
    pub status: String,
    /// The reader is still publishing batches.
    pub publishing: bool,
    /// Whether the reader read its whole input (once it has finished).
    pub read_whole_input: Option<bool>,
    /// Batches published (once the reader has finished).
    pub batches_total: Option<u64>,
    /// Batches applied.
    pub batches_applied: u64,
    /// Batches given up on.
    pub batches_dead: u64,
    /// Posts in the applied batches.
    pub posts_applied: u64,
    /// The dead letters.
    pub dead: Vec<DeadBatch>,
    /// The summary so far, as `marsad ingest --json` prints it.
    pub summary: IngestSummary,
}

/// A batch given up on.
#[derive(Clone, Debug, Serialize)]
pub struct DeadBatch {
    /// Its number in the run.
    pub seq: u64,
    /// Deliveries.
    pub attempts: u32,
    /// The last worker that tried.
    pub worker: String,
    /// Why it failed.
    pub error: String,
    /// When it was given up.
    pub at: String,
}

/// The summary of a queued run: the reader's part and every applied
/// batch's receipt.
fn summed(run: &QueuedRun, batches: &[marsad_store::QueuedBatch]) -> IngestSummary {
    let max = IngestConfig::default().max_error_details;
    let mut summary = run
        .reader
        .as_deref()
        .and_then(|r| serde_json::from_str::<ReaderPart>(r).ok())
        .map(|r| r.summary)
        .unwrap_or_default();
    summary.run_id = run.run.id.0;
    for b in batches.iter().filter(|b| b.status == QueuedBatchStatus::Applied) {
        let report: BatchReport = serde_json::from_str(&b.report).unwrap_or_default();
        let o = &b.outcome;
        let part = IngestSummary {
            posts_added: o.posts_added,
            posts_existing: o.posts_existing,
            posts_edited: o.posts_edited,
            media_added: o.media_added,
            fingerprints_added: o.fingerprints_added,
            matches_added: o.matches_added,
            media_missing: report.media_missing,
            missing_media: report.missing_media,
            fingerprint_errors: report.fingerprint_errors,
            fingerprint_failures: report.fingerprint_failures,
            repeated_ids: b.repeated.len() as u64,
            repeated: b
                .repeated
                .iter()
                .map(|(chat, id)| {
                    marsad_ingest::pipeline::repeated_error(&run.run.path, chat.clone(), id.clone(), None)
                })
                .collect(),
            ..IngestSummary::default()
        };
        summary.absorb(part, max);
    }
    summary
}

/// How a queued run's batches are applied (the ingest flags that matter
/// to a worker).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct JobSettings {
    kind: String,
    retain_media: bool,
    no_fingerprints: bool,
    seconds_per_hash: f64,
    match_banks: bool,
}

/// A job: one batch of a queued run, self-contained.
#[derive(Debug, Serialize, Deserialize)]
struct JobBody {
    v: u32,
    run: i64,
    seq: u64,
    file: String,
    settings: JobSettings,
    sources: Vec<WireSource>,
    posts: Vec<WirePost>,
}

#[derive(Debug, Serialize, Deserialize)]
struct WireSource {
    platform: String,
    platform_id: String,
    name: String,
    kind: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct WirePost {
    source: usize,
    id: String,
    posted_at: i64,
    edited_at: Option<i64>,
    text: String,
    url: Option<String>,
    forwarded_from: Option<String>,
    reply_to: Option<String>,
    line: Option<u64>,
    media: Vec<WireMedia>,
}

#[derive(Debug, Serialize, Deserialize)]
struct WireMedia {
    kind: String,
    path: String,
    /// The file to read, or why there is none.
    file: std::result::Result<String, String>,
    mime: Option<String>,
    /// The object holding the file's bytes, when the reader sent them
    /// (`ingest --queue --send-media`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    object: Option<String>,
}

impl JobBody {
    fn encode(run: RunId, seq: u64, file: &str, settings: &JobSettings, batch: &PendingBatch) -> Self {
        JobBody {
            v: JOB_VERSION,
            run: run.0,
            seq,
            file: file.to_owned(),
            settings: settings.clone(),
            sources: batch
                .sources
                .iter()
                .map(|s| WireSource {
                    platform: s.key.platform.as_str().to_owned(),
                    platform_id: s.key.platform_id.clone(),
                    name: s.name.clone(),
                    kind: s.kind.clone(),
                })
                .collect(),
            posts: batch
                .posts
                .iter()
                .map(|p| WirePost {
                    source: p.source.index(),
                    id: p.platform_post_id.clone(),
                    posted_at: p.posted_at.unix_micros(),
                    edited_at: p.edited_at.map(UtcTime::unix_micros),
                    text: p.text.clone(),
                    url: p.url.clone(),
                    forwarded_from: p.forwarded_from.clone(),
                    reply_to: p.reply_to.clone(),
                    line: p.line,
                    media: p
                        .media
                        .iter()
                        .map(|m| WireMedia {
                            kind: m.kind.as_str().to_owned(),
                            path: m.path.clone(),
                            file: match &m.file {
                                Ok(f) => f.to_str().map(str::to_owned).ok_or_else(|| {
                                    format!(
                                        "unreadable: the path {} is not UTF-8 and cannot be queued",
                                        f.display()
                                    )
                                }),
                                Err(why) => Err(why.clone()),
                            },
                            mime: m.mime.clone(),
                            object: None,
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    fn decode(self) -> std::result::Result<Decoded, String> {
        if self.v != JOB_VERSION {
            return Err(format!("job version {} (this worker reads {JOB_VERSION})", self.v));
        }
        let sources = self
            .sources
            .into_iter()
            .map(|s| {
                let platform = Platform::new(&s.platform).map_err(|e| format!("platform {:?}", e.0))?;
                Ok(NewSource {
                    key: SourceKey { platform, platform_id: s.platform_id },
                    name: s.name,
                    kind: s.kind,
                })
            })
            .collect::<std::result::Result<Vec<_>, String>>()?;
        let mut posts = Vec::with_capacity(self.posts.len());
        let mut objects = Vec::new();
        for p in self.posts {
            if p.source >= sources.len() {
                return Err(format!("post {} names source #{} of {}", p.id, p.source, sources.len()));
            }
            let time =
                |t: i64| UtcTime::from_unix_micros(t).ok_or_else(|| format!("post {}: time {t}", p.id));
            let mut media = Vec::with_capacity(p.media.len());
            for m in p.media {
                let kind = MediaKind::parse(&m.kind).ok_or_else(|| format!("media kind {:?}", m.kind))?;
                if let Some(object) = m.object {
                    objects.push(SentMedia { post: posts.len(), media: media.len(), object });
                }
                media.push(PendingMedia {
                    kind,
                    path: m.path,
                    file: m.file.map(PathBuf::from),
                    mime: m.mime,
                    origin: None,
                });
            }
            posts.push(PendingPost {
                source: SourceId::new(p.source),
                platform_post_id: p.id.clone(),
                posted_at: time(p.posted_at)?,
                edited_at: p.edited_at.map(time).transpose()?,
                text: p.text,
                url: p.url,
                forwarded_from: p.forwarded_from,
                reply_to: p.reply_to,
                media,
                line: p.line,
            });
        }
        Ok(Decoded {
            run: RunId(self.run),
            seq: self.seq,
            file: self.file,
            settings: self.settings,
            batch: PendingBatch { sources, posts },
            objects,
        })
    }
}

/// A job's body, checked.
struct Decoded {
    run: RunId,
    seq: u64,
    file: String,
    settings: JobSettings,
    batch: PendingBatch,
    objects: Vec<SentMedia>,
}

/// A media file whose bytes the reader sent as an object.
struct SentMedia {
    post: usize,
    media: usize,
    object: String,
}

/// Downloads the sent media of `batch` into `dir`, pointing each reference
/// at its copy (the stored original path stays the reader's).
fn fetch_sent(queue: &Queue, batch: &mut PendingBatch, objects: &[SentMedia], dir: &Path) -> Result<()> {
    for (i, sent) in objects.iter().enumerate() {
        let Some(m) = batch.posts.get_mut(sent.post).and_then(|p| p.media.get_mut(sent.media)) else {
            return Err(invalid!("object {} names media the batch does not hold", sent.object));
        };
        let copy = dir.join(format!("{i}"));
        queue
            .get_object_to(&sent.object, &copy)
            .map_err(|e| EngineError::step("fetching a sent media file", e))?;
        if let Ok(original) = &m.file {
            m.origin = Some(original.clone());
        }
        m.file = Ok(copy);
    }
    Ok(())
}

/// The reader's end: each batch published as a job.
struct QueueSink<'a> {
    queue: &'a Queue,
    settings: JobSettings,
    file: String,
    /// Send each media file's bytes through the object store.
    send_media: bool,
}

impl QueueSink<'_> {
    /// Puts each readable media file of `body` in the object store and
    /// names the object in the body; a file that cannot be read is sent as
    /// the reason, reported by the worker as a local ingest reports it.
    fn send_media(&self, body: &mut JobBody) {
        for (pi, p) in body.posts.iter_mut().enumerate() {
            for (mi, m) in p.media.iter_mut().enumerate() {
                let Ok(path) = &m.file else { continue };
                let name = format!("{}.{}.{pi}.{mi}", body.run, body.seq);
                let sent = marsad_ingest::media::open_regular(Path::new(path))
                    .map_err(|e| {
                        if e.kind() == std::io::ErrorKind::NotFound {
                            "file not found".to_owned()
                        } else {
                            format!("unreadable: {e}")
                        }
                    })
                    .and_then(|f| {
                        self.queue.put_object(&name, f).map_err(|e| format!("unreadable: not sent: {e}"))
                    });
                match sent {
                    Ok(()) => m.object = Some(name),
                    Err(why) => m.file = Err(why),
                }
            }
        }
    }
}

impl BatchSink for QueueSink<'_> {
    fn publish(&self, run: RunId, seq: u64, batch: &PendingBatch) -> std::result::Result<(), IngestError> {
        let mut job = JobBody::encode(run, seq, &self.file, &self.settings, batch);
        if self.send_media {
            self.send_media(&mut job);
        }
        let body =
            serde_json::to_vec(&job).map_err(|e| IngestError::Queue(format!("encoding batch {seq}: {e}")))?;
        let id = format!("{}.{seq}", run.0);
        // The client reconnects by itself; a publish that fails meanwhile
        // (NATS restarting) is repeated with the same id, which JetStream
        // stores once.
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut pause = Duration::from_millis(100);
        loop {
            match self.queue.publish_job(&id, body.clone()) {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() < deadline => {
                    tracing::warn!(batch = %id, error = %e, "publishing a batch failed: trying again");
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_secs(2));
                }
                Err(e) => return Err(IngestError::Queue(format!("publishing batch {id}: {e}"))),
            }
        }
    }
}

/// How a worker runs.
#[derive(Clone, Debug)]
pub struct WorkerOptions {
    /// Stop once no job has come for this long (`None`: run until stopped).
    pub idle_exit: Option<Duration>,
    /// This worker's name in receipts and dead letters.
    pub name: String,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions { idle_exit: None, name: worker_name() }
    }
}

/// `host:pid`.
pub fn worker_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    format!("{host}:{}", std::process::id())
}

/// What a worker did with one job.
#[derive(Clone, Debug, Serialize)]
pub struct WorkerEvent {
    /// The job (`run.seq`).
    pub job: String,
    /// `applied`, `already applied`, `retry` or `dead`.
    pub outcome: &'static str,
    /// Posts in the batch.
    pub posts: usize,
    /// Deliveries, this one included.
    pub attempt: u32,
    /// Why it failed (retry, dead).
    pub error: Option<String>,
}

/// What a worker did in all.
#[derive(Clone, Debug, Default, Serialize)]
pub struct WorkerTotals {
    /// Batches applied.
    pub applied: u64,
    /// Batches delivered again that had already been applied.
    pub already_applied: u64,
    /// Failures given back to be tried again.
    pub retried: u64,
    /// Batches given up on.
    pub dead: u64,
}

/// The banks as the worker last loaded them.
struct Banks {
    state: BankState,
    matcher: BankMatcher,
}

/// Runs a worker on `engine`'s store until `stop` is set (or it has been
/// idle for `opts.idle_exit`): takes jobs from `queue` one at a time,
/// applies each and acknowledges it; `events` hears about each job.
pub fn work(
    engine: &mut Engine,
    queue: &Queue,
    opts: &WorkerOptions,
    stop: &AtomicBool,
    events: &mut dyn FnMut(&WorkerEvent),
) -> Result<WorkerTotals> {
    let mut totals = WorkerTotals::default();
    let mut banks: Option<Banks> = None;
    let mut idle_since = Instant::now();
    let max_deliver = queue.inner().config().max_deliver;
    while !stop.load(Ordering::Relaxed) {
        if opts.idle_exit.is_some_and(|idle| idle_since.elapsed() >= idle) {
            break;
        }
        let job = match queue.next_job(Duration::from_secs(1)) {
            Ok(Some(job)) => job,
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "the work queue failed: trying again");
                std::thread::sleep(Duration::from_millis(500));
                continue;
            }
        };
        idle_since = Instant::now();
        let body: std::result::Result<JobBody, String> =
            serde_json::from_slice(&job.body).map_err(|e| format!("unreadable job: {e}"));
        let decoded = body.and_then(JobBody::decode);
        let Decoded { run, seq, file, settings, mut batch, objects } = match decoded {
            Ok(d) => d,
            Err(why) => {
                // Nothing to retry: no delivery will read it better.
                tracing::error!(job = %job.id, error = %why, "job given up");
                if let Some((run, seq)) = job_id(&job.id) {
                    let _ = engine.store_mut().bury_batch(RunId(run), seq, &opts.name, job.delivered, &why);
                }
                let _ = queue.bury(&job, &why);
                totals.dead += 1;
                events(&WorkerEvent {
                    job: job.id.clone(),
                    outcome: "dead",
                    posts: 0,
                    attempt: job.delivered,
                    error: Some(why),
                });
                continue;
            }
        };
        let posts = batch.posts.len();
        let applied = queue.keeping_alive(&job, || {
            // The sent media's copies live as long as this attempt.
            let dir = tempfile::tempdir().map_err(|e| EngineError::io("a temporary folder", e))?;
            fetch_sent(queue, &mut batch, &objects, dir.path())?;
            apply(engine, &mut banks, run, seq, &file, &settings, batch, &opts.name, job.delivered)
        });
        let event = match applied {
            Ok(already) => {
                if let Err(e) = queue.ack(&job) {
                    // Delivered again later, and found applied then.
                    tracing::warn!(job = %job.id, error = %e, "could not acknowledge an applied job");
                } else {
                    for sent in &objects {
                        if let Err(e) = queue.delete_object(&sent.object) {
                            tracing::warn!(object = %sent.object, error = %e, "could not delete a sent media file");
                        }
                    }
                }
                if already {
                    totals.already_applied += 1;
                } else {
                    totals.applied += 1;
                }
                WorkerEvent {
                    job: job.id.clone(),
                    outcome: if already { "already applied" } else { "applied" },
                    posts,
                    attempt: job.delivered,
                    error: None,
                }
            }
            Err(e) if job.delivered >= max_deliver => {
                let why = e.to_string();
                tracing::error!(job = %job.id, attempts = job.delivered, error = %why, "job given up: a dead letter");
                let buried = engine.store_mut().bury_batch(run, seq, &opts.name, job.delivered, &why);
                if let Err(e) = &buried {
                    tracing::error!(job = %job.id, error = %e, "could not record the dead letter in the store");
                }
                let _ = queue.bury(&job, &why);
                totals.dead += 1;
                WorkerEvent {
                    job: job.id.clone(),
                    outcome: "dead",
                    posts,
                    attempt: job.delivered,
                    error: Some(why),
                }
            }
            Err(e) => {
                let why = e.to_string();
                tracing::warn!(job = %job.id, attempt = job.delivered, error = %why, "job failed: it will be tried again");
                let delay = Duration::from_millis(500u64 << job.delivered.min(5));
                let _ = queue.retry_later(&job, delay);
                totals.retried += 1;
                // The store's server may have restarted: a fresh
                // connection for the next try (kept as it is when the
                // server cannot be reached yet).
                engine.reconnect();
                banks = None;
                WorkerEvent {
                    job: job.id.clone(),
                    outcome: "retry",
                    posts,
                    attempt: job.delivered,
                    error: Some(why),
                }
            }
        };
        events(&event);
        if let Err(e) = engine.settle_queued(run) {
            tracing::debug!(run = run.0, error = %e, "could not settle the run now");
        }
    }
    Ok(totals)
}

fn job_id(id: &str) -> Option<(i64, u64)> {
    let (run, seq) = id.split_once('.')?;
    Some((run.parse().ok()?, seq.parse().ok()?))
}

/// Applies one batch; `Ok(true)` when it had been applied before.
#[allow(clippy::too_many_arguments)]
fn apply(
    engine: &mut Engine,
    banks: &mut Option<Banks>,
    run: RunId,
    seq: u64,
    file: &str,
    settings: &JobSettings,
    batch: PendingBatch,
    worker: &str,
    attempts: u32,
) -> Result<bool> {
    let opts = IngestOptions {
        retain_media: settings.retain_media,
        no_fingerprints: settings.no_fingerprints,
        seconds_per_hash: settings.seconds_per_hash,
        match_banks: settings.match_banks,
        ..IngestOptions::default()
    };
    let (cfg, fingerprinter) = engine.ingest_config(&opts)?;
    if settings.match_banks {
        let state = engine.store().bank_state()?;
        if banks.as_ref().is_none_or(|b| b.state != state) {
            let matcher = engine.bank_matcher(MatchConfig::default())?;
            *banks = Some(Banks { state, matcher });
        }
    }
    let matcher: &dyn Matcher = match banks.as_ref() {
        Some(b) if settings.match_banks && !b.matcher.is_empty() => &b.matcher,
        _ => &NoMatcher,
    };
    let stages = Stages {
        fingerprinter: fingerprinter.as_ref(),
        matcher,
        reporter: &marsad_ingest::NoReporter,
        sink: None,
    };
    let receipt =
        marsad_store::BatchReceipt { seq, worker: worker.to_owned(), report: String::new(), attempts };
    let applied = marsad_ingest::pipeline::apply_batch(
        engine.store_mut(),
        run,
        &cfg,
        &stages,
        file,
        batch,
        Some(receipt),
    )?;
    Ok(applied.already_applied)
}

/// Makes this process fingerprint with `threads` threads (before any
/// other work: the pool is made once per process).
pub fn set_threads(threads: usize) -> Result<()> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build_global()
        .map_err(|e| EngineError::step("setting the worker's threads", e))
}
