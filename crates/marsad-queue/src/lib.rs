//! marsad's work queue and change feed, over NATS JetStream.
//!
//! Every store has its own queue, named from the store's identity, so that
//! workers of one store never take another's jobs and two deployments can
//! share one NATS:
//! - `MARSAD_JOBS_<id>`: a work-queue stream on `marsad.<id>.jobs` (file
//!   storage, so it survives a NATS restart). The reader publishes one
//!   message per batch, with `Nats-Msg-Id` = the batch's id, so that a
//!   publish repeated after a lost acknowledgement is stored once. One
//!   durable pull consumer, `workers`, shared by every worker: a message
//!   goes to one worker at a time; one not acknowledged within the ack wait
//!   (a worker killed, a connection lost) is delivered again, up to
//!   `max_deliver` times.
//! - A batch larger than the server's message size is put in the object
//!   store bucket `marsad_batches_<id>` and the message carries its name
//!   (header `Marsad-Object`); it is deleted once the batch is applied.
//! - `MARSAD_DEAD_<id>` on `marsad.<id>.dead`: the dead letters, one
//!   message per batch given up on, with its id and why (kept a week).
//! - `marsad.<id>.banks` (core NATS, not stored): a notice that the banks
//!   changed. Servers refresh their live index from the store when one
//!   arrives; a notice missed is made up by the store's bank generation,
//!   which every server also follows on a timer and when it reconnects.
//!
//! The types here are async (tokio); [`blocking::Queue`] wraps them for the
//! synchronous engine.
#![deny(missing_docs)]

pub mod blocking;
pub mod testing;

use std::time::Duration;

use async_nats::jetstream::{self, AckKind};
use async_nats::{HeaderMap, HeaderValue};
use futures_util::StreamExt;

/// The NATS server used when none is named.
pub const DEFAULT_URL: &str = "nats://127.0.0.1:4222";

/// The environment variable naming the NATS server (`--nats`).
pub const URL_VAR: &str = "MARSAD_NATS";

/// The header naming the object that holds a large batch.
const OBJECT_HEADER: &str = "Marsad-Object";

/// Room kept in a message for its headers.
const HEADER_ROOM: usize = 4096;

/// A failure of the queue.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The NATS server could not be reached.
    #[error("cannot connect to NATS at {url}: {message}")]
    Connect {
        /// The server's URL.
        url: String,
        /// What the client said.
        message: String,
    },
    /// JetStream refused or failed an operation.
    #[error("NATS JetStream: {0}")]
    JetStream(String),
}

fn js_err(e: impl std::fmt::Display) -> QueueError {
    QueueError::JetStream(e.to_string())
}

/// Result of queue operations.
pub type Result<T, E = QueueError> = std::result::Result<T, E>;

/// The names of one store's streams, subjects and bucket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Names {
    id: String,
}

impl Names {
    /// The names for the store of this identity (its UUID; only its hex
    /// digits are kept).
    pub fn for_store(identity: &str) -> Self {
        Names {
            id: identity.chars().filter(char::is_ascii_hexdigit).map(|c| c.to_ascii_lowercase()).collect(),
        }
    }

    /// The work-queue stream.
    pub fn jobs_stream(&self) -> String {
        format!("MARSAD_JOBS_{}", self.id)
    }

    /// The subject jobs are published on.
    pub fn jobs_subject(&self) -> String {
        format!("marsad.{}.jobs", self.id)
    }

    /// The dead letters' stream.
    pub fn dead_stream(&self) -> String {
        format!("MARSAD_DEAD_{}", self.id)
    }

    /// The subject dead letters are published on.
    pub fn dead_subject(&self) -> String {
        format!("marsad.{}.dead", self.id)
    }

    /// The subject of bank change notices.
    pub fn banks_subject(&self) -> String {
        format!("marsad.{}.banks", self.id)
    }

    /// The object store bucket of large batches.
    pub fn bucket(&self) -> String {
        format!("marsad_batches_{}", self.id)
    }
}

/// How the queue treats its jobs (fixed when a store's queue is first
/// made; later processes use the queue as it is).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueConfig {
    /// How long a delivered job may go unacknowledged before it is
    /// delivered again (workers say "still working" every third of it).
    pub ack_wait: Duration,
    /// Deliveries before a job is given up and becomes a dead letter.
    pub max_deliver: u32,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig { ack_wait: Duration::from_secs(30), max_deliver: 5 }
    }
}

impl QueueConfig {
    /// The defaults, with the ack wait from `MARSAD_QUEUE_ACK_WAIT_MS` when
    /// it is set (fault tests shorten it).
    pub fn from_env() -> Self {
        let mut cfg = QueueConfig::default();
        if let Some(ms) = std::env::var("MARSAD_QUEUE_ACK_WAIT_MS").ok().and_then(|v| v.parse::<u64>().ok()) {
            cfg.ack_wait = Duration::from_millis(ms.max(500));
        }
        cfg
    }
}

/// A connection to one store's queue.
#[derive(Clone)]
pub struct Queue {
    client: async_nats::Client,
    js: jetstream::Context,
    names: Names,
    cfg: QueueConfig,
    url: String,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue").field("url", &self.url).field("names", &self.names).finish_non_exhaustive()
    }
}

/// The URL as shown: without a password.
pub fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}***{}", &url[..s + 3], &url[at..]),
        _ => url.to_owned(),
    }
}

impl Queue {
    /// Connects to the NATS server at `url` and makes the store's streams
    /// if they do not exist. Reconnects by itself after a lost connection.
    pub async fn connect(url: &str, names: Names, cfg: QueueConfig) -> Result<Self> {
        Self::connect_following(url, names, cfg, || {}).await
    }

    /// [`Queue::connect`], calling `on_connect` at every reconnection
    /// after a lost connection (when notices may have been missed).
    pub async fn connect_following(
        url: &str,
        names: Names,
        cfg: QueueConfig,
        on_connect: impl Fn() + Send + Sync + 'static,
    ) -> Result<Self> {
        let shown = redacted(url);
        let on_connect = std::sync::Arc::new(on_connect);
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(5))
            .name("marsad")
            .event_callback(move |event| {
                let on_connect = on_connect.clone();
                async move {
                    if matches!(event, async_nats::Event::Connected) {
                        on_connect();
                    }
                }
            })
            .connect(url)
            .await
            .map_err(|e| QueueError::Connect { url: shown.clone(), message: e.to_string() })?;
        let js = jetstream::new(client.clone());
        let queue = Queue { client, js, names, cfg, url: shown };
        queue.streams().await?;
        Ok(queue)
    }

    /// The server's URL, without its password.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// How the queue treats its jobs.
    pub fn config(&self) -> QueueConfig {
        self.cfg
    }

    /// The names of the store's queue.
    pub fn names(&self) -> &Names {
        &self.names
    }

    async fn streams(&self) -> Result<jetstream::consumer::PullConsumer> {
        let jobs = self
            .js
            .get_or_create_stream(jetstream::stream::Config {
                name: self.names.jobs_stream(),
                subjects: vec![self.names.jobs_subject()],
                retention: jetstream::stream::RetentionPolicy::WorkQueue,
                storage: jetstream::stream::StorageType::File,
                duplicate_window: Duration::from_secs(600),
                ..Default::default()
            })
            .await
            .map_err(js_err)?;
        self.js
            .get_or_create_stream(jetstream::stream::Config {
                name: self.names.dead_stream(),
                subjects: vec![self.names.dead_subject()],
                storage: jetstream::stream::StorageType::File,
                max_age: Duration::from_secs(7 * 24 * 3600),
                ..Default::default()
            })
            .await
            .map_err(js_err)?;
        jobs.get_or_create_consumer(
            "workers",
            jetstream::consumer::pull::Config {
                durable_name: Some("workers".to_owned()),
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                ack_wait: self.cfg.ack_wait,
                max_deliver: i64::from(self.cfg.max_deliver),
                ..Default::default()
            },
        )
        .await
        .map_err(js_err)
    }

    async fn bucket(&self) -> Result<jetstream::object_store::ObjectStore> {
        match self.js.get_object_store(self.names.bucket()).await {
            Ok(store) => Ok(store),
            Err(_) => self
                .js
                .create_object_store(jetstream::object_store::Config {
                    bucket: self.names.bucket(),
                    storage: jetstream::stream::StorageType::File,
                    ..Default::default()
                })
                .await
                .map_err(js_err),
        }
    }

    /// Publishes job `id` and waits until JetStream has stored it. A body
    /// over the server's message size goes to the object store first. A
    /// publish repeated with the same id (after a lost acknowledgement) is
    /// stored once.
    pub async fn publish_job(&self, id: &str, body: Vec<u8>) -> Result<()> {
        let mut headers = HeaderMap::new();
        headers.insert("Nats-Msg-Id", HeaderValue::from(id));
        let payload = if body.len() + HEADER_ROOM > self.client.server_info().max_payload {
            let bucket = self.bucket().await?;
            bucket.put(id, &mut body.as_slice()).await.map_err(js_err)?;
            headers.insert(OBJECT_HEADER, HeaderValue::from(id));
            bytes::Bytes::new()
        } else {
            bytes::Bytes::from(body)
        };
        let ack = self
            .js
            .publish_with_headers(self.names.jobs_subject(), headers, payload)
            .await
            .map_err(js_err)?;
        ack.await.map_err(js_err)?;
        Ok(())
    }

    /// Puts the bytes of `file` in the store's object store as `name` (a
    /// queued batch's media, for workers that do not share the file
    /// system).
    pub async fn put_object(&self, name: &str, file: std::fs::File) -> Result<()> {
        let bucket = self.bucket().await?;
        let mut reader = tokio::fs::File::from_std(file);
        bucket.put(name, &mut reader).await.map_err(js_err)?;
        Ok(())
    }

    /// Writes object `name` to a new file at `path`.
    pub async fn get_object_to(&self, name: &str, path: &std::path::Path) -> Result<()> {
        let bucket = self.bucket().await?;
        let mut object = bucket.get(name).await.map_err(js_err)?;
        let io = |e: std::io::Error| {
            QueueError::JetStream(format!("writing object {name} to {}: {e}", path.display()))
        };
        let mut out = tokio::fs::File::create_new(path).await.map_err(io)?;
        tokio::io::copy(&mut object, &mut out).await.map_err(io)?;
        tokio::io::AsyncWriteExt::flush(&mut out).await.map_err(io)?;
        Ok(())
    }

    /// Deletes object `name`.
    pub async fn delete_object(&self, name: &str) -> Result<()> {
        self.bucket().await?.delete(name).await.map_err(js_err)
    }

    /// The next job, waiting at most `wait`; `None` when none came.
    pub async fn next_job(&self, wait: Duration) -> Result<Option<Job>> {
        let consumer = self.streams().await?;
        let mut batch = consumer
            .batch()
            .max_messages(1)
            .expires(wait.max(Duration::from_millis(100)))
            .messages()
            .await
            .map_err(js_err)?;
        let Some(message) = batch.next().await else { return Ok(None) };
        let message = message.map_err(js_err)?;
        let delivered = message.info().map(|i| i.delivered.max(1) as u32).unwrap_or(1);
        let id = header(&message, "Nats-Msg-Id").unwrap_or_default();
        let object = header(&message, OBJECT_HEADER);
        let body = match &object {
            None => message.payload.to_vec(),
            Some(name) => {
                let bucket = self.bucket().await?;
                let mut object = bucket.get(name).await.map_err(js_err)?;
                let mut body = Vec::new();
                tokio::io::AsyncReadExt::read_to_end(&mut object, &mut body)
                    .await
                    .map_err(|e| QueueError::JetStream(format!("reading object {name}: {e}")))?;
                body
            }
        };
        Ok(Some(Job { message, id, body, delivered, object }))
    }

    /// Acknowledges `job` (done: never delivered again) and deletes its
    /// object, if it had one.
    pub async fn ack(&self, job: &Job) -> Result<()> {
        job.message.double_ack().await.map_err(js_err)?;
        if let Some(name) = &job.object
            && let Ok(bucket) = self.bucket().await
            && let Err(e) = bucket.delete(name).await
        {
            tracing::warn!(object = %name, error = %e, "could not delete an applied batch's object");
        }
        Ok(())
    }

    /// Gives `job` back to be delivered again after `delay`.
    pub async fn retry_later(&self, job: &Job, delay: Duration) -> Result<()> {
        job.message.ack_with(AckKind::Nak(Some(delay))).await.map_err(js_err)
    }

    /// Says that `job` is still being worked on (resets its ack wait).
    pub async fn in_progress(&self, job: &Job) -> Result<()> {
        job.message.ack_with(AckKind::Progress).await.map_err(js_err)
    }

    /// Publishes `job` as a dead letter with `why`, then stops its
    /// delivery.
    pub async fn bury(&self, job: &Job, why: &str) -> Result<()> {
        let mut headers = HeaderMap::new();
        headers.insert("Marsad-Job", HeaderValue::from(job.id.as_str()));
        headers.insert("Marsad-Attempts", HeaderValue::from(job.delivered.to_string().as_str()));
        let ack = self
            .js
            .publish_with_headers(self.names.dead_subject(), headers, bytes::Bytes::from(why.to_owned()))
            .await
            .map_err(js_err)?;
        ack.await.map_err(js_err)?;
        job.message.ack_with(AckKind::Term).await.map_err(js_err)?;
        Ok(())
    }

    /// Jobs waiting or being worked on.
    pub async fn pending(&self) -> Result<u64> {
        let mut stream = self.js.get_stream(self.names.jobs_stream()).await.map_err(js_err)?;
        Ok(stream.info().await.map_err(js_err)?.state.messages)
    }

    /// The dead letters kept: each job's id, deliveries and why.
    pub async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>> {
        let stream = self.js.get_stream(self.names.dead_stream()).await.map_err(js_err)?;
        let consumer = stream
            .create_consumer(jetstream::consumer::pull::OrderedConfig {
                deliver_policy: jetstream::consumer::DeliverPolicy::All,
                ..Default::default()
            })
            .await
            .map_err(js_err)?;
        let mut info = consumer.clone();
        let total = info.info().await.map_err(js_err)?.num_pending as usize;
        let mut out = Vec::new();
        if total == 0 {
            return Ok(out);
        }
        let mut messages = consumer.messages().await.map_err(js_err)?;
        while out.len() < total.min(limit) {
            let Ok(Some(message)) = tokio::time::timeout(Duration::from_secs(2), messages.next()).await
            else {
                break;
            };
            let message = message.map_err(js_err)?;
            out.push(DeadLetter {
                job: header(&message, "Marsad-Job").unwrap_or_default(),
                attempts: header(&message, "Marsad-Attempts").and_then(|a| a.parse().ok()).unwrap_or(0),
                error: String::from_utf8_lossy(&message.payload).into_owned(),
            });
        }
        Ok(out)
    }

    /// Tells every server that the banks changed (generation `generation`).
    pub async fn notify_banks(&self, generation: i64) -> Result<()> {
        let send = async {
            self.client
                .publish(self.names.banks_subject(), bytes::Bytes::from(generation.to_string()))
                .await
                .map_err(js_err)?;
            self.client.flush().await.map_err(js_err)
        };
        // While the connection is down a notice would wait for it: the
        // others catch up from the store when they reconnect anyway.
        tokio::time::timeout(Duration::from_secs(2), send).await.map_err(|_| {
            QueueError::JetStream("the change feed did not take the notice within 2 s".to_owned())
        })?
    }

    /// The bank change notices, as they come.
    pub async fn bank_notices(&self) -> Result<async_nats::Subscriber> {
        self.client.subscribe(self.names.banks_subject()).await.map_err(js_err)
    }

    /// Whether the connection is up now.
    pub fn connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }
}

fn header(message: &async_nats::Message, name: &str) -> Option<String> {
    message.headers.as_ref()?.get(name).map(|v| v.as_str().to_owned())
}

/// A job delivered to this worker.
#[derive(Debug)]
pub struct Job {
    message: jetstream::Message,
    /// Its id, as published.
    pub id: String,
    /// Its body.
    pub body: Vec<u8>,
    /// Deliveries so far, this one included.
    pub delivered: u32,
    object: Option<String>,
}

/// A job given up on, as the dead letters' stream keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadLetter {
    /// The job's id.
    pub job: String,
    /// Its deliveries.
    pub attempts: u32,
    /// Why it was given up.
    pub error: String,
}
