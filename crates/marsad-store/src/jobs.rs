//! Ingest jobs: uploads a server has accepted to ingest in the background,
//! one at a time, and what became of them.

use marsad_core::UtcTime;

/// What a job ingests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// A Telegram Desktop export (an archive of the export folder).
    Telegram,
    /// A JSON lines file, one post per line.
    Jsonl,
}

impl JobKind {
    /// Its name: `telegram` or `jsonl`.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Telegram => "telegram",
            JobKind::Jsonl => "jsonl",
        }
    }

    /// The kind of that name.
    pub fn parse(name: &str) -> Option<JobKind> {
        match name {
            "telegram" => Some(JobKind::Telegram),
            "jsonl" => Some(JobKind::Jsonl),
            _ => None,
        }
    }
}

/// Where a job is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JobStatus {
    /// Accepted, waiting for the jobs before it.
    Queued,
    /// Being ingested.
    Running,
    /// Ingested: the summary is stored.
    Done,
    /// Stopped with an error.
    Failed,
}

impl JobStatus {
    /// Its name: `queued`, `running`, `done` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
        }
    }

    /// The status of that name.
    pub fn parse(name: &str) -> Option<JobStatus> {
        match name {
            "queued" => Some(JobStatus::Queued),
            "running" => Some(JobStatus::Running),
            "done" => Some(JobStatus::Done),
            "failed" => Some(JobStatus::Failed),
            _ => None,
        }
    }

    /// Whether the job has ended (done or failed).
    pub fn is_final(self) -> bool {
        matches!(self, JobStatus::Done | JobStatus::Failed)
    }
}

/// A job as it is accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewJob {
    /// Who asked: the token's name.
    pub created_by: String,
    /// The uploaded file's name, as the client gave it.
    pub file_name: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// What it holds.
    pub kind: JobKind,
    /// Ingest's `--retain-media`.
    pub retain_media: bool,
    /// Ingest's `--no-fingerprints`.
    pub no_fingerprints: bool,
    /// Ingest's `--export-timezone`.
    pub export_timezone: Option<String>,
}

/// How a running job ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobEnd {
    /// Why it failed; `None`: it is done.
    pub error: Option<String>,
    /// The ingest's summary, as JSON, when the ingest returned one.
    pub summary: Option<String>,
    /// The last progress, as JSON.
    pub progress: Option<String>,
}

/// A stored job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRecord {
    /// Its id: ids only grow.
    pub id: i64,
    /// Where it is.
    pub status: JobStatus,
    /// What was accepted.
    pub job: NewJob,
    /// When it was accepted.
    pub created_at: UtcTime,
    /// When it started running.
    pub started_at: Option<UtcTime>,
    /// When it ended.
    pub finished_at: Option<UtcTime>,
    /// The last progress stored, as JSON (at the end).
    pub progress: Option<String>,
    /// The ingest's summary, as JSON.
    pub summary: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
}

/// Ingest jobs: queued, started and ended by the server that accepted
/// them (their uploads live with that server's process).
pub trait JobStore {
    /// Stores a job as queued, now; returns it.
    fn add_job(&mut self, job: &NewJob) -> crate::Result<JobRecord>;

    /// The job with this id.
    fn job(&self, id: i64) -> crate::Result<Option<JobRecord>>;

    /// The newest `limit` jobs, newest first.
    fn jobs(&self, limit: u64) -> crate::Result<Vec<JobRecord>>;

    /// Marks a queued job running, now; `false` (and nothing changed) if
    /// it is not queued.
    fn start_job(&mut self, id: i64) -> crate::Result<bool>;

    /// Ends a running job, now: failed when `end.error` is set, else
    /// done; `false` (and nothing changed) if it is not running.
    fn finish_job(&mut self, id: i64, end: &JobEnd) -> crate::Result<bool>;

    /// Says that the server of these jobs (those queued or running) is
    /// alive, now. Adding and starting a job say so too.
    fn heartbeat_jobs(&mut self, ids: &[i64]) -> crate::Result<()>;

    /// Marks failed with `error`, now, every queued or running job whose
    /// server last said it was alive before `stale_before` (its server has
    /// stopped: its upload is gone); returns how many.
    fn fail_unfinished_jobs(&mut self, error: &str, stale_before: marsad_core::UtcTime)
    -> crate::Result<u64>;
}
