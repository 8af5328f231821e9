//! Ingest jobs (JobStore).
//!
//! A job's server says it is alive by its heartbeat (`heartbeat_at`, set
//! when the job is added and started too); a job queued or running whose
//! server has been silent since a given time is failed by
//! [`marsad_store::JobStore::fail_unfinished_jobs`].

use marsad_core::UtcTime;
use marsad_store::{JobEnd, JobKind, JobRecord, JobStatus, NewJob, Result, StoreError};
use postgres::Row;

use crate::{PgStore, backend, time};

/// The columns [`record`] reads, in its order.
const COLUMNS: &str = "id, status, kind, created_by, file_name, bytes, retain_media, no_fingerprints, \
                       export_timezone, created_at, started_at, finished_at, progress, summary, error";

fn corrupt(id: i64, problem: String) -> StoreError {
    StoreError::Corrupt { record: format!("job {id}"), problem }
}

/// A job read with [`COLUMNS`].
fn record(r: &Row) -> Result<JobRecord> {
    let id: i64 = r.get(0);
    let status: String = r.get(1);
    let kind: String = r.get(2);
    let bytes: i64 = r.get(5);
    Ok(JobRecord {
        id,
        status: JobStatus::parse(&status).ok_or_else(|| corrupt(id, format!("unknown status {status:?}")))?,
        job: NewJob {
            created_by: r.get(3),
            file_name: r.get(4),
            bytes: bytes.max(0) as u64,
            kind: JobKind::parse(&kind).ok_or_else(|| corrupt(id, format!("unknown kind {kind:?}")))?,
            retain_media: r.get(6),
            no_fingerprints: r.get(7),
            export_timezone: r.get(8),
        },
        created_at: time(r.get(9))?,
        started_at: r.get::<_, Option<i64>>(10).map(time).transpose()?,
        finished_at: r.get::<_, Option<i64>>(11).map(time).transpose()?,
        progress: r.get(12),
        summary: r.get(13),
        error: r.get(14),
    })
}

impl marsad_store::JobStore for PgStore {
    fn add_job(&mut self, job: &NewJob) -> Result<JobRecord> {
        let now = UtcTime::now();
        let bytes = i64::try_from(job.bytes)
            .map_err(|_| StoreError::Invalid(format!("job of {} bytes", job.bytes)))?;
        let id: i64 = self.write(|tx| {
            Ok(tx
                .query_one(
                    "INSERT INTO ingest_jobs (status, kind, created_by, file_name, bytes, retain_media,
                                              no_fingerprints, export_timezone, created_at, heartbeat_at)
                     VALUES ('queued', $1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
                    &[
                        &job.kind.as_str(),
                        &job.created_by,
                        &job.file_name,
                        &bytes,
                        &job.retain_media,
                        &job.no_fingerprints,
                        &job.export_timezone,
                        &now.unix_micros(),
                    ],
                )
                .map_err(backend)?
                .get(0))
        })?;
        Ok(JobRecord {
            id,
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

    fn job(&self, id: i64) -> Result<Option<JobRecord>> {
        let row = self
            .db()?
            .query_opt(&format!("SELECT {COLUMNS} FROM ingest_jobs WHERE id = $1"), &[&id])
            .map_err(backend)?;
        row.as_ref().map(record).transpose()
    }

    fn jobs(&self, limit: u64) -> Result<Vec<JobRecord>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .db()?
            .query(&format!("SELECT {COLUMNS} FROM ingest_jobs ORDER BY id DESC LIMIT $1"), &[&limit])
            .map_err(backend)?;
        rows.iter().map(record).collect()
    }

    fn start_job(&mut self, id: i64) -> Result<bool> {
        let now = UtcTime::now().unix_micros();
        let n = self.write(|tx| {
            tx.execute(
                "UPDATE ingest_jobs SET status = 'running', started_at = $2, heartbeat_at = $2
                 WHERE id = $1 AND status = 'queued'",
                &[&id, &now],
            )
            .map_err(backend)
        })?;
        Ok(n > 0)
    }

    fn finish_job(&mut self, id: i64, end: &JobEnd) -> Result<bool> {
        let status = if end.error.is_some() { JobStatus::Failed } else { JobStatus::Done };
        let now = UtcTime::now().unix_micros();
        let n = self.write(|tx| {
            tx.execute(
                "UPDATE ingest_jobs SET status = $2, finished_at = $3, progress = $4, summary = $5, error = $6
                 WHERE id = $1 AND status = 'running'",
                &[&id, &status.as_str(), &now, &end.progress, &end.summary, &end.error],
            )
            .map_err(backend)
        })?;
        Ok(n > 0)
    }

    fn heartbeat_jobs(&mut self, ids: &[i64]) -> Result<()> {
        let now = UtcTime::now().unix_micros();
        self.write(|tx| {
            tx.execute(
                "UPDATE ingest_jobs SET heartbeat_at = $2
                 WHERE id = ANY($1) AND status IN ('queued', 'running')",
                &[&ids, &now],
            )
            .map_err(backend)?;
            Ok(())
        })
    }

    fn fail_unfinished_jobs(&mut self, error: &str, stale_before: UtcTime) -> Result<u64> {
        let now = UtcTime::now().unix_micros();
        self.write(|tx| {
            tx.execute(
                "UPDATE ingest_jobs SET status = 'failed', finished_at = $1, error = $2
                 WHERE status IN ('queued', 'running') AND coalesce(heartbeat_at, 0) < $3",
                &[&now, &error, &stale_before.unix_micros()],
            )
            .map_err(backend)
        })
    }
}
