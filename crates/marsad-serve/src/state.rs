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
use tokio::sync::{Semaphore, mpsc};

use crate::ServeConfig;
use crate::error::{ApiError, ApiResult};
use crate::metrics::Metrics;

/// The server's shared state.
pub struct AppState {
    /// The configuration.
    pub cfg: ServeConfig,
    engines: Mutex<Vec<Engine>>,
    permits: Semaphore,
    live: RwLock<Option<LiveBanks>>,
    ready: AtomicBool,
    /// Serializes refreshes of the live index.
    refreshing: tokio::sync::Mutex<()>,
    tokens: RwLock<HashMap<[u8; 32], (TokenRecord, Instant)>>,
    audit: mpsc::UnboundedSender<AuditMessage>,
    /// Request and index metrics.
    pub metrics: Metrics,
    /// The match thresholds.
    pub match_config: MatchConfig,
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

impl AppState {
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
        let permits = Semaphore::new(engines.len());
        let match_config = MatchConfig { pdq_threshold: cfg.pdq_threshold, ..MatchConfig::default() };
        let state = Arc::new(AppState {
            cfg,
            engines: Mutex::new(engines),
            permits,
            live: RwLock::new(None),
            ready: AtomicBool::new(false),
            refreshing: tokio::sync::Mutex::new(()),
            tokens: RwLock::new(HashMap::new()),
            audit: tx,
            metrics: Metrics::default(),
            match_config,
        });
        let audit = tokio::spawn(audit_writer(writer, rx));
        Ok((state, audit))
    }

    /// Runs `f` on one of the store's connections, off the async threads.
    pub async fn with_engine<T, F>(self: &Arc<Self>, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Engine) -> ApiResult<T> + Send + 'static,
    {
        let _permit = self.permits.acquire().await.map_err(ApiError::internal)?;
        let mut engine = {
            let mut pool = self.engines.lock().unwrap_or_else(|p| p.into_inner());
            pool.pop().ok_or_else(|| ApiError::internal("no store connection free"))?
        };
        let (engine, result) = tokio::task::spawn_blocking(move || {
            let r = f(&mut engine);
            (engine, r)
        })
        .await
        .map_err(ApiError::internal)?;
        self.engines.lock().unwrap_or_else(|p| p.into_inner()).push(engine);
        result
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
        *self.live.write().unwrap_or_else(|p| p.into_inner()) = Some(live);
        self.ready.store(true, Ordering::Release);
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

    /// The token whose SHA-256 this is, if it is valid. Found tokens are
    /// cached for a second, so a revoked token stops working within one.
    pub async fn token(self: &Arc<Self>, hash: [u8; 32]) -> ApiResult<Option<TokenRecord>> {
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
