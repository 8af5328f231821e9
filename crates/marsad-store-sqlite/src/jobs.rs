//! Ingest jobs.

use marsad_core::UtcTime;
use marsad_store::{JobEnd, JobKind, JobRecord, JobStatus, NewJob, Result, StoreError};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::backend;
use crate::read::time;

const COLUMNS: &str = "id, status, kind, created_by, file_name, bytes, retain_media, no_fingerprints, \
                       export_timezone, created_at, started_at, finished_at, progress, summary, error";

fn corrupt(id: i64, problem: String) -> StoreError {
    StoreError::Corrupt { record: format!("job {id}"), problem }
}

fn record(r: &Row<'_>) -> rusqlite::Result<Result<JobRecord>> {
    let id: i64 = r.get(0)?;
    let status: String = r.get(1)?;
    let kind: String = r.get(2)?;
    let bytes: i64 = r.get(5)?;
    let created: i64 = r.get(9)?;
    let started: Option<i64> = r.get(10)?;
    let finished: Option<i64> = r.get(11)?;
    let job = NewJob {
        created_by: r.get(3)?,
        file_name: r.get(4)?,
        bytes: bytes.max(0) as u64,
        kind: JobKind::Telegram,
        retain_media: r.get(6)?,
        no_fingerprints: r.get(7)?,
        export_timezone: r.get(8)?,
    };
    let (progress, summary, error) = (r.get(12)?, r.get(13)?, r.get(14)?);
    Ok((|| {
        Ok(JobRecord {
            id,
            status: JobStatus::parse(&status)
                .ok_or_else(|| corrupt(id, format!("unknown status {status:?}")))?,
            job: NewJob {
                kind: JobKind::parse(&kind).ok_or_else(|| corrupt(id, format!("unknown kind {kind:?}")))?,
                ..job
            },
            created_at: time(created)?,
            started_at: started.map(time).transpose()?,
            finished_at: finished.map(time).transpose()?,
            progress,
            summary,
            error,
        })
    })())
}

pub(crate) fn add_job(conn: &Connection, job: &NewJob) -> Result<JobRecord> {
    let now = UtcTime::now();
    let bytes =
        i64::try_from(job.bytes).map_err(|_| StoreError::Invalid(format!("job of {} bytes", job.bytes)))?;
    conn.execute(
        "INSERT INTO ingest_jobs (status, kind, created_by, file_name, bytes, retain_media, no_fingerprints,
                                  export_timezone, created_at, heartbeat_at)
         VALUES ('queued', ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
        params![
            job.kind.as_str(),
            job.created_by,
            job.file_name,
            bytes,
            job.retain_media,
            job.no_fingerprints,
            job.export_timezone,
            now.unix_micros()
        ],
    )
    .map_err(backend)?;
    Ok(JobRecord {
        id: conn.last_insert_rowid(),
        status: JobStatus::Queued,
        job: job.clone(),
        created_at: now,
        started_at: None,
        finished_at: None,
        progress: None,
        summary: None,
        error: None,
    })
}

pub(crate) fn job(conn: &Connection, id: i64) -> Result<Option<JobRecord>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM ingest_jobs WHERE id = ?1"))
        .map_err(backend)?
        .query_row([id], record)
        .optional()
        .map_err(backend)?
        .transpose()
}

pub(crate) fn jobs(conn: &Connection, limit: u64) -> Result<Vec<JobRecord>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut stmt = conn
        .prepare(&format!("SELECT {COLUMNS} FROM ingest_jobs ORDER BY id DESC LIMIT ?1"))
        .map_err(backend)?;
    let rows: Vec<Result<JobRecord>> = stmt
        .query_map([limit], record)
        .map_err(backend)?
        .collect::<rusqlite::Result<_>>()
        .map_err(backend)?;
    rows.into_iter().collect()
}

pub(crate) fn start_job(conn: &Connection, id: i64) -> Result<bool> {
    let n = conn
        .execute(
            "UPDATE ingest_jobs SET status = 'running', started_at = ?2, heartbeat_at = ?2
             WHERE id = ?1 AND status = 'queued'",
            params![id, UtcTime::now().unix_micros()],
        )
        .map_err(backend)?;
    Ok(n > 0)
}

pub(crate) fn finish_job(conn: &Connection, id: i64, end: &JobEnd) -> Result<bool> {
    let status = if end.error.is_some() { JobStatus::Failed } else { JobStatus::Done };
    let n = conn
        .execute(
            "UPDATE ingest_jobs SET status = ?2, finished_at = ?3, progress = ?4, summary = ?5, error = ?6
             WHERE id = ?1 AND status = 'running'",
            params![id, status.as_str(), UtcTime::now().unix_micros(), end.progress, end.summary, end.error],
        )
        .map_err(backend)?;
    Ok(n > 0)
}

pub(crate) fn heartbeat_jobs(conn: &Connection, ids: &[i64]) -> Result<()> {
    let mut stmt = conn
        .prepare_cached(
            "UPDATE ingest_jobs SET heartbeat_at = ?2 WHERE id = ?1 AND status IN ('queued', 'running')",
        )
        .map_err(backend)?;
    let now = UtcTime::now().unix_micros();
    for id in ids {
        stmt.execute(params![id, now]).map_err(backend)?;
    }
    Ok(())
}

pub(crate) fn fail_unfinished_jobs(conn: &Connection, error: &str, stale_before: UtcTime) -> Result<u64> {
    let n = conn
        .execute(
            "UPDATE ingest_jobs SET status = 'failed', finished_at = ?1, error = ?2
             WHERE status IN ('queued', 'running') AND coalesce(heartbeat_at, 0) < ?3",
            params![UtcTime::now().unix_micros(), error, stale_before.unix_micros()],
        )
        .map_err(backend)?;
    Ok(n as u64)
}
