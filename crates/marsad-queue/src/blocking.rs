//! The queue for synchronous callers (the engine, the CLI): each call runs
//! on a small runtime of the queue's own, which also keeps a job alive
//! ("still working") while the caller works on it.

use std::time::Duration;

use crate::{DeadLetter, Job, Names, QueueConfig, Result};

/// A [`crate::Queue`] driven from synchronous code. Must not be used from
/// inside an async runtime (the server uses [`crate::Queue`] itself).
pub struct Queue {
    rt: tokio::runtime::Runtime,
    inner: crate::Queue,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

impl Queue {
    /// Connects (see [`crate::Queue::connect`]).
    pub fn connect(url: &str, names: Names, cfg: QueueConfig) -> Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("marsad-queue")
            .enable_all()
            .build()
            .map_err(|e| crate::QueueError::Connect { url: crate::redacted(url), message: e.to_string() })?;
        let inner = rt.block_on(crate::Queue::connect(url, names, cfg))?;
        Ok(Queue { rt, inner })
    }

    /// The async queue.
    pub fn inner(&self) -> &crate::Queue {
        &self.inner
    }

    /// See [`crate::Queue::publish_job`].
    pub fn publish_job(&self, id: &str, body: Vec<u8>) -> Result<()> {
        self.rt.block_on(self.inner.publish_job(id, body))
    }

    /// See [`crate::Queue::put_object`].
    pub fn put_object(&self, name: &str, file: std::fs::File) -> Result<()> {
        self.rt.block_on(self.inner.put_object(name, file))
    }

    /// See [`crate::Queue::get_object_to`].
    pub fn get_object_to(&self, name: &str, path: &std::path::Path) -> Result<()> {
        self.rt.block_on(self.inner.get_object_to(name, path))
    }

    /// See [`crate::Queue::delete_object`].
    pub fn delete_object(&self, name: &str) -> Result<()> {
        self.rt.block_on(self.inner.delete_object(name))
    }

    /// See [`crate::Queue::next_job`].
    pub fn next_job(&self, wait: Duration) -> Result<Option<Job>> {
        self.rt.block_on(self.inner.next_job(wait))
    }

    /// See [`crate::Queue::ack`].
    pub fn ack(&self, job: &Job) -> Result<()> {
        self.rt.block_on(self.inner.ack(job))
    }

    /// See [`crate::Queue::retry_later`].
    pub fn retry_later(&self, job: &Job, delay: Duration) -> Result<()> {
        self.rt.block_on(self.inner.retry_later(job, delay))
    }

    /// See [`crate::Queue::bury`].
    pub fn bury(&self, job: &Job, why: &str) -> Result<()> {
        self.rt.block_on(self.inner.bury(job, why))
    }

    /// See [`crate::Queue::pending`].
    pub fn pending(&self) -> Result<u64> {
        self.rt.block_on(self.inner.pending())
    }

    /// See [`crate::Queue::dead_letters`].
    pub fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>> {
        self.rt.block_on(self.inner.dead_letters(limit))
    }

    /// See [`crate::Queue::notify_banks`].
    pub fn notify_banks(&self, generation: i64) -> Result<()> {
        self.rt.block_on(self.inner.notify_banks(generation))
    }

    /// Runs `work` while saying every third of the ack wait that `job` is
    /// still being worked on, so that a long batch is not delivered to
    /// another worker meanwhile (a killed worker stops saying it, and the
    /// job is delivered again after one ack wait).
    pub fn keeping_alive<T>(&self, job: &Job, work: impl FnOnce() -> T) -> T {
        let every = (self.inner.config().ack_wait / 3).max(Duration::from_millis(100));
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let queue = self.inner.clone();
        let message = job.message.clone();
        let ticker = self.rt.spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = tick.tick() => {
                        if let Err(e) = message.ack_with(async_nats::jetstream::AckKind::Progress).await {
                            tracing::debug!(error = %e, "could not say a job is in progress");
                        }
                    }
                }
            }
            drop(queue);
        });
        let out = work();
        let _ = stop.send(());
        let _ = self.rt.block_on(ticker);
        out
    }
}
