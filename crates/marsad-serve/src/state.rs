//! What every request shares: the store's connections, the live index, the
//! tokens, the audit log's writer and the metrics.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use marsad_engine::live::LiveBanks;
use marsad_engine::{Engine, EngineError};
use marsad_match::MatchConfig;
use marsad_store::{NewAuditEvent, TokenRecord};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use crate::ServeConfig;
use crate::error::{ApiError, ApiResult};
use crate::metrics::Metrics;

/// The server's shared state.
pub struct AppState {
    /// The configuration.
    pub cfg: ServeConfig,
    engines: Mutex<Vec<Engine>>,
    permits: Arc<Semaphore>,
    live: RwLock<Option<LiveBanks>>,
    ready: AtomicBool,
    /// Serializes refreshes of the live index.
    refreshing: tokio::sync::Mutex<()>,
    /// The change feed (NATS), once connected: bank changes are announced
    /// on it and other servers' announcements wake [`Self::bank_notice`].
    feed: std::sync::OnceLock<marsad_queue::Queue>,
    /// Woken by a bank change notice (or a reconnection to the feed): the
    /// index follows the store at once rather than at its next poll.
    pub bank_notice: tokio::sync::Notify,
    tokens: RwLock<HashMap<[u8; 32], (TokenRecord, Instant)>>,
    /// The store lookup of a token not (or no longer) cached, one at a
    /// time per token.
    token_lookups: Mutex<HashMap<[u8; 32], Arc<tokio::sync::Mutex<()>>>>,
    /// Requests in flight per token name (or per client address on open
    /// routes).
    in_flight: Mutex<HashMap<String, Arc<Semaphore>>>,
    audit: mpsc::UnboundedSender<AuditMessage>,
    /// Request and index metrics.
    pub metrics: Metrics,
    /// The match thresholds.
    pub match_config: MatchConfig,
    /// Failed sign-ins to the web UI.
    pub logins: crate::ui::session::LoginLimiter,
    /// Where review decisions are delivered, when configured.
    pub webhook: Option<crate::webhook::Webhook>,
    /// The dashboard's report part, by language and filters, with the
    /// releases state it was made at (the newest few).
    dashboards: Mutex<Vec<(String, i64, Arc<String>)>>,
}

/// A store connection out of the pool: put back when dropped, before its
/// permit is released (fields drop after `drop` runs).
struct Lease {
    state: Arc<AppState>,
    engine: Option<Engine>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(engine) = self.engine.take() {
            self.state.engines.lock().unwrap_or_else(|p| p.into_inner()).push(engine);
        }
    }
}

/// What the audit writer receives.
#[derive(Debug)]
pub enum AuditMessage {
    /// An event to append.
    Event(NewAuditEvent),
    /// Write everything received so far, then answer.
    Flush(tokio::sync::oneshot::Sender<()>),
    /// Write everything received so far, then stop.
    Close,
}

/// Dashboards kept made.
const DASHBOARDS: usize = 16;

impl AppState {
    /// The dashboard's report part for `key` made at releases state
    /// `generation`, if kept.
    pub fn dashboard_cached(&self, key: &str, generation: i64) -> Option<Arc<String>> {
        let kept = self.dashboards.lock().unwrap_or_else(|p| p.into_inner());
        kept.iter().find(|(k, g, _)| k == key && *g == generation).map(|(_, _, r)| r.clone())
    }

    /// Keeps a dashboard's report part (the oldest dropped past a few).
    pub fn dashboard_keep(&self, key: String, generation: i64, made: Arc<String>) {
        let mut kept = self.dashboards.lock().unwrap_or_else(|p| p.into_inner());
        kept.retain(|(k, _, _)| *k != key);
        kept.push((key, generation, made));
        if kept.len() > DASHBOARDS {
            kept.remove(0);
        }
    }

    /// Opens `cfg.connections` connections to the store and starts the
    /// audit log's writer.
    pub fn open(cfg: ServeConfig) -> Result<(Arc<AppState>, tokio::task::JoinHandle<()>), EngineError> {
        let mut engines = Vec::new();
        let budget = marsad_core::MemoryBudget::new(cfg.memory);
        for _ in 0..cfg.connections.max(2) {
            let mut e = Engine::open(&cfg.db)?;
            e.share_memory_budget(&budget);
            engines.push(e);
        }
        let writer = Engine::open(&cfg.db)?;
        let (tx, rx) = mpsc::unbounded_channel();
        let permits = Arc::new(Semaphore::new(engines.len()));
        let match_config = MatchConfig { pdq_threshold: cfg.pdq_threshold, ..MatchConfig::default() };
        let webhook = cfg.review_webhook.clone().map(crate::webhook::Webhook::start);
        let state = Arc::new(AppState {
            cfg,
            engines: Mutex::new(engines),
            permits,
            live: RwLock::new(None),
            ready: AtomicBool::new(false),
            refreshing: tokio::sync::Mutex::new(()),
            feed: std::sync::OnceLock::new(),
            bank_notice: tokio::sync::Notify::new(),
            tokens: RwLock::new(HashMap::new()),
            token_lookups: Mutex::new(HashMap::new()),
            in_flight: Mutex::new(HashMap::new()),
            audit: tx,
            metrics: Metrics::default(),
            match_config,
            logins: Default::default(),
            webhook,
            dashboards: Mutex::new(Vec::new()),
        });
        let audit = tokio::spawn(audit_writer(writer, rx));
        Ok((state, audit))
    }

    /// Runs `f` on one of the store's connections, off the async threads.
    ///
    /// The connection and its permit travel with `f` into the blocking
    /// task and go back to the pool when it ends, even if the request that
    /// asked is dropped meanwhile (a client hanging up mid-upload, the
    /// request timeout): otherwise every cancelled call would lose one
    /// connection, and the server would answer 500 to everything needing
    /// the store once they were gone.
    pub async fn with_engine<T, F>(self: &Arc<Self>, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Engine) -> ApiResult<T> + Send + 'static,
    {
        let permit = self.permits.clone().acquire_owned().await.map_err(ApiError::internal)?;
        let engine = {
            let mut pool = self.engines.lock().unwrap_or_else(|p| p.into_inner());
            pool.pop().ok_or_else(|| ApiError::internal("no store connection free"))?
        };
        let mut lease = Lease { state: self.clone(), engine: Some(engine), _permit: permit };
        tokio::task::spawn_blocking(move || match lease.engine.as_mut() {
            Some(engine) => f(engine),
            None => Err(ApiError::internal("no store connection free")),
        })
        .await
        .map_err(ApiError::internal)?
    }

    /// The live index, once loaded (a read lock: hold it only while
    /// matching, never across an `.await`).
    pub fn live(&self) -> std::sync::RwLockReadGuard<'_, Option<LiveBanks>> {
        self.live.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the live index, or answers HMA's 503 when it is not
    /// loaded yet.
    pub fn with_live<T>(&self, f: impl FnOnce(&LiveBanks) -> ApiResult<T>) -> ApiResult<T> {
        match self.live().as_ref() {
            Some(live) => f(live),
            None => Err(ApiError::unavailable("index not yet ready")),
        }
    }

    /// Whether the live index is loaded.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Loads the live index from the store (at start, and again when many
    /// entries were removed, to give their memory back); lookups go on
    /// against the old one meanwhile.
    pub async fn load_index(self: &Arc<Self>) -> ApiResult<()> {
        let _one = self.refreshing.lock().await;
        let cfg = self.match_config;
        let started = Instant::now();
        let live = self.with_engine(move |e| Ok(LiveBanks::load(e.store(), cfg)?)).await?;
        tracing::info!(entries = live.len(), seconds = started.elapsed().as_secs_f64(), "index loaded");
        self.metrics.set_index(&live);
        let old = self.live.write().unwrap_or_else(|p| p.into_inner()).replace(live);
        self.ready.store(true, Ordering::Release);
        // The old index is freed after the write lock is released, off the
        // runtime's threads (giving back hundreds of megabytes takes time).
        if old.is_some() {
            tokio::task::spawn_blocking(move || drop(old));
        }
        Ok(())
    }

    /// Applies every bank change made since the index's cursor (by this
    /// server, another, or the CLI): read from the store without any lock
    /// on the index, applied under its write lock (a batch of entries
    /// takes milliseconds).
    pub async fn refresh_index(self: &Arc<Self>) -> ApiResult<()> {
        let _one = self.refreshing.lock().await;
        let Some(cursor) = self.live().as_ref().map(LiveBanks::cursor) else { return Ok(()) };
        let delta = self.with_engine(move |e| Ok(LiveBanks::fetch(e.store(), cursor)?)).await?;
        if delta.is_empty() {
            return Ok(());
        }
        let mut guard = self.live.write().unwrap_or_else(|p| p.into_inner());
        if let Some(live) = guard.as_mut() {
            live.apply(delta);
            self.metrics.set_index(live);
        }
        Ok(())
    }

    /// After a bank change by this server: the index follows it (read
    /// your writes), and every other server is told on the change feed, so
    /// that theirs follow it at once rather than at their next poll.
    pub async fn banks_changed(self: &Arc<Self>) -> ApiResult<()> {
        self.refresh_index().await?;
        if let Some(feed) = self.feed.get() {
            // Off the request's path: an answer never waits on the feed.
            let feed = feed.clone();
            tokio::spawn(async move {
                if let Err(e) = feed.notify_banks(0).await {
                    // The others find it at their next poll, or when they
                    // reconnect.
                    tracing::warn!(error = %e, "could not announce a bank change on the change feed");
                }
            });
        }
        Ok(())
    }

    /// Connects to the change feed at `url` (retrying while it cannot be
    /// reached) and follows it: each notice, and each reconnection (when
    /// notices may have been missed), wakes [`Self::bank_notice`].
    pub async fn follow_feed(self: Arc<Self>, url: String) {
        let identity = match self.with_engine(|e| Ok(e.store().identity()?)).await {
            Ok(id) => id.to_string(),
            Err(e) => {
                tracing::error!(error = ?e.body(), "no store identity: the change feed is not followed");
                return;
            }
        };
        let names = marsad_queue::Names::for_store(&identity);
        let mut warned = false;
        let queue = loop {
            let woken = self.clone();
            let on_connect = move || woken.bank_notice.notify_one();
            match marsad_queue::Queue::connect_following(
                &url,
                names.clone(),
                marsad_queue::QueueConfig::from_env(),
                on_connect,
            )
            .await
            {
                Ok(q) => break q,
                Err(e) => {
                    if !warned {
                        tracing::warn!(error = %e, "the change feed cannot be reached: following the store by polling until it can");
                        warned = true;
                    }
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            }
        };
        tracing::info!(url = %queue.url(), "following bank changes on the change feed");
        let mut notices = match queue.bank_notices().await {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(error = %e, "cannot subscribe to bank change notices");
                return;
            }
        };
        let _ = self.feed.set(queue);
        // Changes made before the subscription are found by this refresh.
        self.bank_notice.notify_one();
        while futures_util::StreamExt::next(&mut notices).await.is_some() {
            self.bank_notice.notify_one();
        }
    }

    /// A slot for one more request of `caller` (a token's name, or a client
    /// address), or `None` when it already has
    /// [`ServeConfig::token_concurrency`] in flight.
    pub fn request_slot(&self, caller: &str) -> Option<OwnedSemaphorePermit> {
        let semaphore = {
            let mut map = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
            if map.len() > 100_000 {
                // Forget callers with nothing in flight (client addresses
                // of open routes could otherwise grow the map for ever).
                let full = self.cfg.token_concurrency;
                map.retain(|_, s| s.available_permits() < full);
            }
            map.entry(caller.to_owned())
                .or_insert_with(|| Arc::new(Semaphore::new(self.cfg.token_concurrency)))
                .clone()
        };
        semaphore.try_acquire_owned().ok()
    }

    /// The token whose SHA-256 this is, if it is valid. Found tokens are
    /// cached for a second, so a revoked token stops working within one.
    pub async fn token(self: &Arc<Self>, hash: [u8; 32]) -> ApiResult<Option<TokenRecord>> {
        if let Some((t, at)) = self.tokens.read().unwrap_or_else(|p| p.into_inner()).get(&hash)
            && at.elapsed() < Duration::from_secs(1)
        {
            return Ok(Some(t.clone()));
        }
        // One store lookup per token at a time: when the cached entry
        // expires under load, every request in flight misses at once, and
        // without this each queried the store (with two servers on two
        // cores, some waited over 2 s: BENCHMARKS.md). The others wait for
        // that one lookup and take its answer.
        let lookup = {
            let mut map = self.token_lookups.lock().unwrap_or_else(|p| p.into_inner());
            if map.len() > 10_000 {
                map.retain(|_, l| Arc::strong_count(l) > 1);
            }
            map.entry(hash).or_default().clone()
        };
        let _one = lookup.lock().await;
        if let Some((t, at)) = self.tokens.read().unwrap_or_else(|p| p.into_inner()).get(&hash)
            && at.elapsed() < Duration::from_secs(1)
        {
            return Ok(Some(t.clone()));
        }
        let found = self.with_engine(move |e| Ok(e.store().token_by_hash(&hash)?)).await?;
        let mut cache = self.tokens.write().unwrap_or_else(|p| p.into_inner());
        match &found {
            Some(t) => {
                cache.insert(hash, (t.clone(), Instant::now()));
            }
            None => {
                cache.remove(&hash);
            }
        }
        Ok(found)
    }

    /// The live session of a web UI cookie's value (pages and the UI's own
    /// API requests). Not cached: a sign-out ends it at once.
    pub async fn session(
        self: &Arc<Self>,
        cookie: String,
    ) -> ApiResult<Option<marsad_engine::accounts::Session>> {
        self.with_engine(move |e| Ok(e.session(&cookie)?)).await
    }

    /// Queues an event for the audit log.
    pub fn audit(&self, event: NewAuditEvent) {
        if self.audit.send(AuditMessage::Event(event)).is_err() {
            tracing::error!("the audit log writer has stopped: event lost");
        }
    }

    /// Waits until every event queued so far is written.
    pub async fn flush_audit(&self) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.audit.send(AuditMessage::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// Stops the audit writer once it has written everything.
    pub fn close_audit(&self) {
        let _ = self.audit.send(AuditMessage::Close);
    }
}

/// A lookup's events are gathered per token, route, status and second:
/// one row with a count (the log keeps each lookup's token and time, not
/// its content, without a write per request).
#[derive(Clone, PartialEq, Eq, Hash)]
struct LookupKey {
    second: i64,
    actor: String,
    action: String,
    target: Option<String>,
    status: Option<u16>,
}

/// Writes audit events in batches: every 200 ms, or at a flush.
async fn audit_writer(engine: Engine, mut rx: mpsc::UnboundedReceiver<AuditMessage>) {
    let engine = Arc::new(Mutex::new(engine));
    let mut pending: Vec<NewAuditEvent> = Vec::new();
    let mut lookups: HashMap<LookupKey, u64> = HashMap::new();
    let mut waiting: Vec<tokio::sync::oneshot::Sender<()>> = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        let closed = tokio::select! {
            msg = rx.recv() => match msg {
                Some(AuditMessage::Event(e)) => {
                    if matches!(e.action.as_str(), "lookup" | "hash" | "auth.refused" | "read") {
                        let key = LookupKey {
                            second: e.at.unix_micros().div_euclid(1_000_000),
                            actor: e.actor,
                            action: e.action,
                            target: e.target,
                            status: e.status,
                        };
                        *lookups.entry(key).or_default() += 1;
                    } else {
                        pending.push(e);
                    }
                    continue;
                }
                Some(AuditMessage::Flush(done)) => {
                    waiting.push(done);
                    false
                }
                Some(AuditMessage::Close) | None => true,
            },
            _ = tick.tick() => false,
        };
        for (k, count) in lookups.drain() {
            pending.push(NewAuditEvent {
                at: marsad_core::UtcTime::from_unix_micros(k.second * 1_000_000)
                    .unwrap_or_else(marsad_core::UtcTime::now),
                actor: k.actor,
                action: k.action,
                target: k.target,
                status: k.status,
                detail: Some(serde_json::json!({ "count": count }).to_string()),
            });
        }
        if !pending.is_empty() {
            pending.sort_by_key(|e| e.at);
            let batch = std::mem::take(&mut pending);
            let engine = engine.clone();
            let written = tokio::task::spawn_blocking(move || {
                let mut e = engine.lock().unwrap_or_else(|p| p.into_inner());
                e.record_audit(&batch).map_err(|err| (err, batch))
            })
            .await;
            match written {
                Ok(Ok(())) => {}
                Ok(Err((err, batch))) => {
                    // Kept and tried again at the next tick (the store may be
                    // locked by a long write).
                    tracing::error!(error = %err, events = batch.len(), "audit log not written yet; retrying");
                    pending = batch;
                }
                Err(err) => tracing::error!(error = %err, "audit log writer failed"),
            }
        }
        if pending.is_empty() {
            for w in waiting.drain(..) {
                let _ = w.send(());
            }
        }
        if closed {
            if !pending.is_empty() {
                tracing::error!(events = pending.len(), "audit events could not be written before shutdown");
            }
            return;
        }
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Calls dropped while their closures run (a client hanging up
    /// mid-upload) give their connections back when the closures end: the
    /// next calls wait for them rather than find the pool empty.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dropped_call_gives_its_connection_back() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("serve.db");
        let mut cfg = ServeConfig::new(db.to_str().expect("utf-8 path"));
        cfg.connections = 2;
        let (state, _audit) = AppState::open(cfg).expect("store opens");
        let mut releases = Vec::new();
        for _ in 0..2 {
            let (started, running) = tokio::sync::oneshot::channel();
            let (release, wait) = std::sync::mpsc::channel::<()>();
            releases.push(release);
            let mut call = Box::pin(state.with_engine(move |_| {
                let _ = started.send(());
                let _ = wait.recv();
                Ok(())
            }));
            tokio::select! {
                _ = &mut call => panic!("the call ended before its closure was released"),
                _ = running => {}
            }
            drop(call);
        }
        drop(releases);
        for _ in 0..3 {
            let opened = state.with_engine(|e| Ok(e.store().bank_cursor()?)).await;
            assert!(opened.is_ok(), "{:?}", opened.err().map(|e| e.body().clone()));
        }
    }
}
