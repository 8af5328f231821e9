//! The work queue's records (QueueStore) and the receipt a queued batch
//! writes in its own transaction.

use marsad_core::{RunId, UtcTime};
use marsad_store::{BatchOutcome, BatchReceipt, PostBatch, QueuedBatch, QueuedRun, Result, StoreError};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::{SqliteStore, backend};

/// Claims batch `receipt.seq` of `run` for this transaction: `false` when
/// it is already applied (the transaction must then write nothing).
pub(crate) fn claim(tx: &Transaction<'_>, run: RunId, receipt: &BatchReceipt, posts: usize) -> Result<bool> {
    let n = tx
        .execute(
            "INSERT INTO queue_batches (run_id, seq, status, worker, attempts, finished_at, posts, report)
             VALUES (?1, ?2, 'applied', ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (run_id, seq) DO UPDATE
                 SET status = 'applied', worker = excluded.worker, attempts = excluded.attempts,
                     finished_at = excluded.finished_at, posts = excluded.posts,
                     report = excluded.report, error = NULL
                 WHERE queue_batches.status <> 'applied'",
            params![
                run.0,
                receipt.seq as i64,
                receipt.worker,
                receipt.attempts,
                UtcTime::now().unix_micros(),
                posts as i64,
                receipt.report
            ],
        )
        .map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
                StoreError::Invalid(format!("run {} is not a queued run", run.0))
            }
            e => backend(e),
        })?;
    Ok(n == 1)
}

/// Completes the receipt with what the batch added.
pub(crate) fn settle(tx: &Transaction<'_>, run: RunId, batch: &PostBatch, out: &BatchOutcome) -> Result<()> {
    let Some(receipt) = &batch.receipt else { return Ok(()) };
    tx.execute(
        "UPDATE queue_batches SET posts_added = ?3, posts_existing = ?4, posts_edited = ?5,
             media_added = ?6, fingerprints_added = ?7, matches_added = ?8, repeated = ?9
         WHERE run_id = ?1 AND seq = ?2",
        params![
            run.0,
            receipt.seq as i64,
            out.posts_added as i64,
            out.posts_existing as i64,
            out.posts_edited as i64,
            out.media_added as i64,
            out.fingerprints_added as i64,
            out.matches_added as i64,
            marsad_store::repeated_json(batch, &out.repeated),
        ],
    )
    .map_err(backend)?;
    Ok(())
}

impl marsad_store::QueueStore for SqliteStore {
    fn begin_queued_run(&mut self, run: RunId) -> Result<()> {
        self.conn
            .execute("INSERT INTO queue_runs (run_id) VALUES (?1) ON CONFLICT DO NOTHING", [run.0])
            .map_err(backend)?;
        Ok(())
    }

    fn end_publishing(&mut self, run: RunId, total: u64, reader: &str) -> Result<()> {
        let n = self
            .conn
            .execute(
                "UPDATE queue_runs SET batches_total = ?2, reader = ?3 WHERE run_id = ?1",
                params![run.0, total as i64, reader],
            )
            .map_err(backend)?;
        if n == 0 {
            return Err(StoreError::Invalid(format!("run {} is not a queued run", run.0)));
        }
        Ok(())
    }

    fn bury_batch(&mut self, run: RunId, seq: u64, worker: &str, attempts: u32, error: &str) -> Result<bool> {
        let n = self
            .conn
            .execute(
                "INSERT INTO queue_batches (run_id, seq, status, worker, attempts, finished_at, error)
                 VALUES (?1, ?2, 'dead', ?3, ?4, ?5, ?6)
                 ON CONFLICT (run_id, seq) DO UPDATE
                     SET worker = excluded.worker, attempts = excluded.attempts,
                         finished_at = excluded.finished_at, error = excluded.error
                     WHERE queue_batches.status = 'dead'",
                params![run.0, seq as i64, worker, attempts, UtcTime::now().unix_micros(), error],
            )
            .map_err(backend)?;
        Ok(n == 1)
    }

    fn queued_runs(&self, limit: usize) -> Result<Vec<QueuedRun>> {
        let ids: Vec<i64> = {
            let mut stmt = self
                .conn
                .prepare("SELECT run_id FROM queue_runs ORDER BY run_id DESC LIMIT ?1")
                .map_err(backend)?;
            stmt.query_map([limit.min(i64::MAX as usize) as i64], |r| r.get(0))
                .map_err(backend)?
                .collect::<rusqlite::Result<_>>()
                .map_err(backend)?
        };
        ids.into_iter().filter_map(|id| queued_run(&self.conn, RunId(id)).transpose()).collect()
    }

    fn queued_run(&self, run: RunId) -> Result<Option<QueuedRun>> {
        queued_run(&self.conn, run)
    }

    fn queued_batches(&self, run: RunId) -> Result<Vec<QueuedBatch>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT seq, status, worker, attempts, finished_at, posts, posts_added, posts_existing,
                        posts_edited, media_added, fingerprints_added, matches_added, repeated, report, error
                 FROM queue_batches WHERE run_id = ?1 ORDER BY seq",
            )
            .map_err(backend)?;
        let rows = stmt
            .query_map([run.0], |r| {
                Ok(marsad_store::QueuedBatchRow {
                    seq: r.get(0)?,
                    status: r.get(1)?,
                    worker: r.get(2)?,
                    attempts: r.get(3)?,
                    finished_at: r.get(4)?,
                    counts: [r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?, r.get(9)?, r.get(10)?, r.get(11)?],
                    repeated: r.get(12)?,
                    report: r.get(13)?,
                    error: r.get(14)?,
                })
            })
            .map_err(backend)?;
        rows.map(|row| row.map_err(backend)?.decode(run)).collect()
    }
}

fn queued_run(conn: &Connection, run: RunId) -> Result<Option<QueuedRun>> {
    let row = conn
        .query_row(
            "SELECT q.batches_total, q.reader,
                    (SELECT count(*) FROM queue_batches b WHERE b.run_id = q.run_id AND b.status = 'applied'),
                    (SELECT count(*) FROM queue_batches b WHERE b.run_id = q.run_id AND b.status = 'dead'),
                    (SELECT coalesce(sum(posts), 0) FROM queue_batches b
                      WHERE b.run_id = q.run_id AND b.status = 'applied')
             FROM queue_runs q WHERE q.run_id = ?1",
            [run.0],
            |r| {
                Ok((
                    r.get::<_, Option<i64>>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            },
        )
        .optional()
        .map_err(backend)?;
    let Some((total, reader, applied, dead, posts)) = row else { return Ok(None) };
    QueuedRun::from_row(
        crate::read::runs_where(conn, Some(run))?,
        run,
        (total, reader),
        [applied, dead, posts],
    )
    .map(Some)
}
