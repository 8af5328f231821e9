//! The work queue's records (QueueStore) and the receipt a queued batch
//! writes in its own transaction.

use marsad_core::{RunId, UtcTime};
use marsad_store::{BatchOutcome, BatchReceipt, PostBatch, QueuedBatch, QueuedRun, Result, StoreError};
use postgres::Transaction;

use crate::{PgStore, backend};

/// Claims batch `receipt.seq` of `run` for this transaction: `false` when
/// it is already applied (the transaction must then write nothing).
pub(crate) fn claim(
    tx: &mut Transaction<'_>,
    run: RunId,
    receipt: &BatchReceipt,
    posts: usize,
) -> Result<bool> {
    let queued = tx.query_opt("SELECT 1 FROM queue_runs WHERE run_id = $1", &[&run.0]).map_err(backend)?;
    if queued.is_none() {
        return Err(StoreError::Invalid(format!("run {} is not a queued run", run.0)));
    }
    let n = tx
        .execute(
            "INSERT INTO queue_batches (run_id, seq, status, worker, attempts, finished_at, posts, report)
             VALUES ($1, $2, 'applied', $3, $4, $5, $6, $7)
             ON CONFLICT (run_id, seq) DO UPDATE
                 SET status = 'applied', worker = excluded.worker, attempts = excluded.attempts,
                     finished_at = excluded.finished_at, posts = excluded.posts,
                     report = excluded.report, error = NULL
                 WHERE queue_batches.status <> 'applied'",
            &[
                &run.0,
                &(receipt.seq as i64),
                &receipt.worker,
                &i64::from(receipt.attempts),
                &UtcTime::now().unix_micros(),
                &(posts as i64),
                &receipt.report,
            ],
        )
        .map_err(backend)?;
    Ok(n == 1)
}

/// Completes the receipt with what the batch added.
pub(crate) fn settle(
    tx: &mut Transaction<'_>,
    run: RunId,
    batch: &PostBatch,
    out: &BatchOutcome,
) -> Result<()> {
    let Some(receipt) = &batch.receipt else { return Ok(()) };
    tx.execute(
        "UPDATE queue_batches SET posts_added = $3, posts_existing = $4, posts_edited = $5,
             media_added = $6, fingerprints_added = $7, matches_added = $8, repeated = $9
         WHERE run_id = $1 AND seq = $2",
        &[
            &run.0,
            &(receipt.seq as i64),
            &(out.posts_added as i64),
            &(out.posts_existing as i64),
            &(out.posts_edited as i64),
            &(out.media_added as i64),
            &(out.fingerprints_added as i64),
            &(out.matches_added as i64),
            &marsad_store::repeated_json(batch, &out.repeated),
        ],
    )
    .map_err(backend)?;
    Ok(())
}

impl marsad_store::QueueStore for PgStore {
    fn begin_queued_run(&mut self, run: RunId) -> Result<()> {
        self.write(|tx| {
            tx.execute("INSERT INTO queue_runs (run_id) VALUES ($1) ON CONFLICT DO NOTHING", &[&run.0])
                .map_err(backend)?;
            Ok(())
        })
    }

    fn end_publishing(&mut self, run: RunId, total: u64, reader: &str) -> Result<()> {
        let n = self.write(|tx| {
            tx.execute(
                "UPDATE queue_runs SET batches_total = $2, reader = $3 WHERE run_id = $1",
                &[&run.0, &(total as i64), &reader],
            )
            .map_err(backend)
        })?;
        if n == 0 {
            return Err(StoreError::Invalid(format!("run {} is not a queued run", run.0)));
        }
        Ok(())
    }

    fn bury_batch(&mut self, run: RunId, seq: u64, worker: &str, attempts: u32, error: &str) -> Result<bool> {
        let n = self.write(|tx| {
            tx.execute(
                "INSERT INTO queue_batches (run_id, seq, status, worker, attempts, finished_at, error)
                 VALUES ($1, $2, 'dead', $3, $4, $5, $6)
                 ON CONFLICT (run_id, seq) DO UPDATE
                     SET worker = excluded.worker, attempts = excluded.attempts,
                         finished_at = excluded.finished_at, error = excluded.error
                     WHERE queue_batches.status = 'dead'",
                &[
                    &run.0,
                    &(seq as i64),
                    &worker,
                    &i64::from(attempts),
                    &UtcTime::now().unix_micros(),
                    &error,
                ],
            )
            .map_err(backend)
        })?;
        Ok(n == 1)
    }

    fn queued_runs(&self, limit: usize) -> Result<Vec<QueuedRun>> {
        let ids: Vec<i64> = self
            .db()?
            .query(
                "SELECT run_id FROM queue_runs ORDER BY run_id DESC LIMIT $1",
                &[&(limit.min(i64::MAX as usize) as i64)],
            )
            .map_err(backend)?
            .iter()
            .map(|r| r.get(0))
            .collect();
        ids.into_iter().filter_map(|id| self.queued_run(RunId(id)).transpose()).collect()
    }

    fn queued_run(&self, run: RunId) -> Result<Option<QueuedRun>> {
        let row = self
            .db()?
            .query_opt(
                "SELECT q.batches_total, q.reader,
                        (SELECT count(*) FROM queue_batches b WHERE b.run_id = q.run_id AND b.status = 'applied'),
                        (SELECT count(*) FROM queue_batches b WHERE b.run_id = q.run_id AND b.status = 'dead'),
                        (SELECT coalesce(sum(posts), 0)::BIGINT FROM queue_batches b
                          WHERE b.run_id = q.run_id AND b.status = 'applied')
                 FROM queue_runs q WHERE q.run_id = $1",
                &[&run.0],
            )
            .map_err(backend)?;
        let Some(row) = row else { return Ok(None) };
        let total: Option<i64> = row.try_get(0).map_err(backend)?;
        let reader: Option<String> = row.try_get(1).map_err(backend)?;
        let applied: i64 = row.try_get(2).map_err(backend)?;
        let dead: i64 = row.try_get(3).map_err(backend)?;
        let posts: i64 = row.try_get(4).map_err(backend)?;
        QueuedRun::from_row(
            crate::read::runs_where(self, Some(run))?,
            run,
            (total, reader),
            [applied, dead, posts],
        )
        .map(Some)
    }

    fn queued_batches(&self, run: RunId) -> Result<Vec<QueuedBatch>> {
        let rows = self
            .db()?
            .query(
                "SELECT seq, status, worker, attempts, finished_at, posts, posts_added, posts_existing,
                        posts_edited, media_added, fingerprints_added, matches_added, repeated, report, error
                 FROM queue_batches WHERE run_id = $1 ORDER BY seq",
                &[&run.0],
            )
            .map_err(backend)?;
        rows.iter()
            .map(|r| {
                let count = |i: usize| r.try_get::<_, i64>(i).map_err(backend);
                marsad_store::QueuedBatchRow {
                    seq: count(0)?,
                    status: r.try_get(1).map_err(backend)?,
                    worker: r.try_get(2).map_err(backend)?,
                    attempts: count(3)?,
                    finished_at: count(4)?,
                    counts: [count(5)?, count(6)?, count(7)?, count(8)?, count(9)?, count(10)?, count(11)?],
                    repeated: r.try_get(12).map_err(backend)?,
                    report: r.try_get(13).map_err(backend)?,
                    error: r.try_get(14).map_err(backend)?,
                }
                .decode(run)
            })
            .collect()
    }
}
