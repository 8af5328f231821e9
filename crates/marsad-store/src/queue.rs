//! Ingests run through a work queue: the reader publishes an export's
//! batches as jobs, workers apply them. The store keeps what makes that
//! exact whatever the queue redelivers: one receipt per batch, written in
//! the batch's own transaction, so a batch is applied once; the batches
//! given up on (dead letters); and the reader's own part of the summary.

use marsad_core::{RunId, UtcTime};

/// What a queued batch carries into [`crate::PostStore::write_batch`]: its
/// number in the run, who applies it and the report of what was done
/// before the write (missing media, failed fingerprints, as JSON). The
/// receipt is stored in the batch's transaction; a batch whose receipt is
/// already stored as applied is not written again
/// ([`crate::BatchOutcome::already_applied`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchReceipt {
    /// The batch's number in its run (0, 1, …, as published).
    pub seq: u64,
    /// The worker that applies it (`host:pid`).
    pub worker: String,
    /// What applying it found before the write, as JSON.
    pub report: String,
    /// How many times the queue has delivered it, this time included.
    pub attempts: u32,
}

/// Where a queued batch is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueuedBatchStatus {
    /// Written, once.
    Applied,
    /// Given up on after repeated failures (a dead letter).
    Dead,
}

impl QueuedBatchStatus {
    /// `applied` or `dead`.
    pub fn as_str(self) -> &'static str {
        match self {
            QueuedBatchStatus::Applied => "applied",
            QueuedBatchStatus::Dead => "dead",
        }
    }

    /// The status of that name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "applied" => Some(QueuedBatchStatus::Applied),
            "dead" => Some(QueuedBatchStatus::Dead),
            _ => None,
        }
    }
}

/// A queued batch that was applied or given up on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedBatch {
    /// Its run.
    pub run: RunId,
    /// Its number in the run.
    pub seq: u64,
    /// Applied or dead.
    pub status: QueuedBatchStatus,
    /// The worker that applied it or gave it up.
    pub worker: String,
    /// Deliveries, the last included.
    pub attempts: u32,
    /// When.
    pub finished_at: UtcTime,
    /// Posts in the batch.
    pub posts: u64,
    /// What the write added (zero for a dead batch).
    pub outcome: crate::BatchOutcome,
    /// The repeated posts' source and id (`outcome.repeated` by name).
    pub repeated: Vec<(String, String)>,
    /// The receipt's report (JSON; `{}` for a dead batch).
    pub report: String,
    /// Why it was given up (dead batches).
    pub error: Option<String>,
}

/// An ingest run that went through the queue, with its batches' state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedRun {
    /// The run.
    pub run: crate::StoredRun,
    /// How many batches the reader published, once it has finished.
    pub batches_total: Option<u64>,
    /// Batches applied.
    pub applied: u64,
    /// Batches given up on.
    pub dead: u64,
    /// Posts in the applied batches.
    pub posts: u64,
    /// The reader's part of the summary (JSON), once it has finished.
    pub reader: Option<String>,
}

impl QueuedRun {
    /// The queued run `run` of the store's `runs`, with its `queue_runs`
    /// row (`total`, `reader`) and its batches' counts, as both backends
    /// read them.
    pub fn from_row(
        runs: Vec<crate::StoredRun>,
        run: RunId,
        (total, reader): (Option<i64>, Option<String>),
        [applied, dead, posts]: [i64; 3],
    ) -> Result<QueuedRun, crate::StoreError> {
        let corrupt =
            |problem: String| crate::StoreError::Corrupt { record: format!("queued run {}", run.0), problem };
        let stored = runs.into_iter().find(|r| r.id == run).ok_or_else(|| corrupt("no ingest run".into()))?;
        let count = |v: i64| u64::try_from(v).map_err(|_| corrupt(format!("negative count {v}")));
        Ok(QueuedRun {
            run: stored,
            batches_total: total.map(count).transpose()?,
            applied: count(applied)?,
            dead: count(dead)?,
            posts: count(posts)?,
            reader,
        })
    }

    /// Whether every published batch is applied or dead.
    pub fn settled(&self) -> bool {
        self.batches_total.is_some_and(|t| self.applied + self.dead >= t)
    }
}

/// The queue's records (see the module's documentation).
pub trait QueueStore {
    /// Marks `run` as one whose batches go through the queue (at its start).
    fn begin_queued_run(&mut self, run: RunId) -> Result<(), crate::StoreError>;

    /// Records that the reader has published all `total` batches of `run`,
    /// with its own part of the summary (JSON).
    fn end_publishing(&mut self, run: RunId, total: u64, reader: &str) -> Result<(), crate::StoreError>;

    /// Records batch `seq` of `run` as given up on (a dead letter), unless
    /// it was applied meanwhile; returns whether it was recorded.
    fn bury_batch(
        &mut self,
        run: RunId,
        seq: u64,
        worker: &str,
        attempts: u32,
        error: &str,
    ) -> Result<bool, crate::StoreError>;

    /// The queued runs, newest first, at most `limit`.
    fn queued_runs(&self, limit: usize) -> Result<Vec<QueuedRun>, crate::StoreError>;

    /// One queued run; `None` when `run` is not one.
    fn queued_run(&self, run: RunId) -> Result<Option<QueuedRun>, crate::StoreError>;

    /// The applied and dead batches of `run`, by number.
    fn queued_batches(&self, run: RunId) -> Result<Vec<QueuedBatch>, crate::StoreError>;
}

/// At most this many repeated posts are named in a batch's receipt (all
/// are counted).
pub const MAX_REPEATED_NAMED: usize = 1000;

/// The repeated posts of `batch` at `positions` as a receipt keeps them: a
/// JSON array of `[source, post id]`, the first [`MAX_REPEATED_NAMED`].
pub fn repeated_json(batch: &crate::PostBatch, positions: &[usize]) -> String {
    let named: Vec<(String, &str)> = positions
        .iter()
        .take(MAX_REPEATED_NAMED)
        .filter_map(|&i| batch.posts.get(i))
        .filter_map(|p| Some((batch.sources.get(p.source)?.key.to_string(), p.platform_post_id.as_str())))
        .collect();
    serde_json::to_string(&named).unwrap_or_else(|_| "[]".to_owned())
}

/// A `queue_batches` row as both backends read it, before it is checked.
#[derive(Clone, Debug)]
pub struct QueuedBatchRow {
    /// `seq`.
    pub seq: i64,
    /// `status`.
    pub status: String,
    /// `worker`.
    pub worker: String,
    /// `attempts`.
    pub attempts: i64,
    /// `finished_at`, microseconds.
    pub finished_at: i64,
    /// `posts`, `posts_added`, `posts_existing`, `posts_edited`,
    /// `media_added`, `fingerprints_added`, `matches_added`.
    pub counts: [i64; 7],
    /// `repeated`, JSON.
    pub repeated: String,
    /// `report`, JSON.
    pub report: String,
    /// `error`.
    pub error: Option<String>,
}

impl QueuedBatchRow {
    /// The batch, checked.
    pub fn decode(self, run: RunId) -> Result<QueuedBatch, crate::StoreError> {
        let record = format!("queued batch {} of run {}", self.seq, run.0);
        let corrupt = |problem: String| crate::StoreError::Corrupt { record: record.clone(), problem };
        let status = QueuedBatchStatus::parse(&self.status)
            .ok_or_else(|| corrupt(format!("status {:?}", self.status)))?;
        let count = |v: i64| u64::try_from(v).map_err(|_| corrupt(format!("negative count {v}")));
        let [posts, added, existing, edited, media, fingerprints, matches] = self.counts;
        let repeated: Vec<(String, String)> =
            serde_json::from_str(&self.repeated).map_err(|e| corrupt(format!("repeated: {e}")))?;
        Ok(QueuedBatch {
            run,
            seq: count(self.seq)?,
            status,
            worker: self.worker,
            attempts: u32::try_from(self.attempts)
                .map_err(|_| corrupt(format!("attempts {}", self.attempts)))?,
            finished_at: UtcTime::from_unix_micros(self.finished_at)
                .ok_or_else(|| corrupt(format!("finished_at {}", self.finished_at)))?,
            posts: count(posts)?,
            outcome: crate::BatchOutcome {
                posts_added: count(added)?,
                posts_existing: count(existing)?,
                posts_edited: count(edited)?,
                media_added: count(media)?,
                fingerprints_added: count(fingerprints)?,
                matches_added: count(matches)?,
                repeated: Vec::new(),
                already_applied: false,
            },
            repeated,
            report: self.report,
            error: self.error,
        })
    }
}
