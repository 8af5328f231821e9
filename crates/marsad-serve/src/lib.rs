//! `marsad serve`: one process serving HMA's matching API (`/h`, `/m`,
//! `/c`, as HMA 1.1.7's blueprints define it), and marsad's own, over one
//! store.
//!
//! - [`state::AppState`]: the store's connections, the live index
//!   ([`marsad_engine::live::LiveBanks`], kept current by polling the
//!   store's bank cursor every [`ServeConfig::refresh`], at once after
//!   this server's own writes, and at once when another server announces
//!   a change on the NATS change feed, [`ServeConfig::nats`]), tokens, the
//!   audit log's writer, metrics;
//! - [`auth`]: one middleware authenticates, authorizes, counts and audits
//!   every request;
//! - [`hma`]: the HMA routes; [`api`]: marsad's own, under `/api/v1`,
//!   with its OpenAPI document; [`upload`]: multipart uploads to temporary
//!   files under a bound; [`jobs`]: ingest jobs run in the background;
//! - [`ui`]: the web UI's pages, signed in with `marsad user` accounts;
//!   [`webhook`]: review decisions delivered, signed, to an operator's URL.
//!
//! The server holds no algorithm: hashing, matching and the store's
//! changes are the engine's.
#![deny(missing_docs)]

pub mod api;
pub mod auth;
pub mod error;
pub mod fetch;
pub mod hma;
pub mod jobs;
pub mod metrics;
pub mod pyrandom;
pub mod state;
pub mod ui;
pub mod upload;
pub mod webhook;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};

use crate::state::AppState;

/// How the server runs.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// The store (`--db`).
    pub db: String,
    /// The address to listen on.
    pub addr: SocketAddr,
    /// Serve `/h` and `/m` without a token.
    pub hma_open: bool,
    /// Largest upload in bytes.
    pub max_upload: u64,
    /// The memory budget of decoding uploads, in bytes.
    pub memory: u64,
    /// Connections to the store.
    pub connections: usize,
    /// The PDQ distance of banks without their own.
    pub pdq_threshold: u32,
    /// How often the live index polls the store for changes.
    pub refresh: Duration,
    /// Requests handled at once.
    pub concurrency: usize,
    /// Requests one token (or one client address, on an open route) may
    /// have in flight; more are answered 429.
    pub token_concurrency: usize,
    /// Longest time to answer one request.
    pub request_timeout: Duration,
    /// Whether and where URLs are fetched.
    pub fetch: fetch::FetchPolicy,
    /// The folder for files in use: uploads, fetched files, jobs'
    /// extracted exports, reports and exports being sent (the system's
    /// temporary folder when `None`). Each is removed when done with.
    pub scratch: Option<PathBuf>,
    /// How long the server of an unfinished ingest job may be silent
    /// before the job is failed as stopped ([`jobs`]).
    pub job_silence: Duration,
    /// Where review decisions are POSTed, signed ([`webhook`]).
    pub review_webhook: Option<webhook::WebhookConfig>,
    /// The change feed (a NATS URL): bank changes are announced there and
    /// other servers' announcements followed at once; the store is still
    /// polled every [`ServeConfig::refresh`], which catches up whatever a
    /// lost connection missed. `None`: polling only.
    pub nats: Option<String>,
}

impl ServeConfig {
    /// The defaults for a store.
    pub fn new(db: &str) -> ServeConfig {
        ServeConfig {
            db: db.to_owned(),
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            hma_open: false,
            max_upload: 100 << 20,
            memory: marsad_core::DEFAULT_MEMORY_BUDGET,
            connections: 4,
            pdq_threshold: marsad_index_default_threshold(),
            refresh: Duration::from_millis(100),
            concurrency: 1024,
            token_concurrency: 256,
            request_timeout: Duration::from_secs(120),
            fetch: fetch::FetchPolicy {
                enabled: false,
                allow: Vec::new(),
                max_bytes: 100 << 20,
                timeout: Duration::from_secs(30),
            },
            scratch: None,
            job_silence: marsad_engine::jobs::JOB_SILENCE,
            review_webhook: None,
            nats: None,
        }
    }

    /// Where files in use are kept ([`ServeConfig::scratch`]).
    pub fn scratch_dir(&self) -> PathBuf {
        self.scratch.clone().unwrap_or_else(std::env::temp_dir)
    }
}

fn marsad_index_default_threshold() -> u32 {
    marsad_match::MatchConfig::default().pdq_threshold
}

/// Every route, as `/site-map` lists them (Flask's rule syntax).
pub const ROUTES: &[&str] = &[
    "/",
    "/admin/protection",
    "/admin/users",
    "/admin/users/disable",
    "/api/v1/agreement",
    "/api/v1/analyze/<command>",
    "/api/v1/analyze/themes",
    "/api/v1/audit",
    "/api/v1/banks",
    "/api/v1/banks/<name>",
    "/api/v1/decisions",
    "/api/v1/decisions/<int:id>/undo",
    "/api/v1/export",
    "/api/v1/jobs",
    "/api/v1/jobs/<int:id>",
    "/api/v1/matches",
    "/api/v1/openapi.json",
    "/api/v1/outlets",
    "/api/v1/posts",
    "/api/v1/posts/<source>/<post_id>",
    "/api/v1/releases",
    "/api/v1/releases/<int:id>",
    "/api/v1/releases/<int:id>/codes",
    "/api/v1/report",
    "/api/v1/review",
    "/api/v1/sources",
    "/api/v1/themes",
    "/audit",
    "/banks",
    "/banks/<name>",
    "/banks/<name>/export",
    "/banks/import",
    "/c/bank/<bank_name>",
    "/c/bank/<bank_name>/content",
    "/c/bank/<bank_name>/content/<int:content_id>",
    "/c/bank/<bank_name>/signal",
    "/c/banks",
    "/c/content_type",
    "/c/signal_type",
    "/c/signal_type/<signal_type_name>",
    "/c/signal_type/index",
    "/h/hash",
    "/jobs",
    "/login",
    "/logout",
    "/m/compare",
    "/m/index/status",
    "/m/lookup",
    "/m/raw_lookup",
    "/matches",
    "/media/<sha256>/preview/<int:n>",
    "/media/<sha256>/reveal",
    "/metrics",
    "/outlets",
    "/outlets/<name>",
    "/posts",
    "/releases",
    "/releases/<int:id>",
    "/releases/<int:id>/codes",
    "/review",
    "/review/decide",
    "/review/undo",
    "/settings",
    "/settings/blur",
    "/site-map",
    "/sources",
    "/status",
    "/status/live",
    "/themes",
    "/ui/marsad.css",
];

/// The router over `state`.
pub fn router(state: Arc<AppState>) -> Router {
    let uploads = DefaultBodyLimit::max((state.cfg.max_upload + (1 << 20)) as usize);
    let (job_routes, jobs) = jobs::routes(&state);
    let guarded = Router::new()
        .route("/h/hash", get(hma::hashing::hash_url).post(hma::hashing::hash_upload).layer(uploads))
        .route("/m/raw_lookup", get(hma::matching::raw_lookup))
        .route("/m/lookup", get(hma::matching::lookup_get).post(hma::matching::lookup_post).layer(uploads))
        .route("/m/compare", post(hma::matching::compare))
        .route("/m/index/status", get(hma::matching::index_status))
        .route("/c/banks", get(hma::curation::banks).post(hma::curation::create_bank))
        .route(
            "/c/bank/{bank}",
            get(hma::curation::bank).put(hma::curation::update_bank).delete(hma::curation::delete_bank),
        )
        .route("/c/bank/{bank}/content", post(hma::curation::add_content).layer(uploads))
        .route("/c/bank/{bank}/signal", post(hma::curation::add_signals))
        .route(
            "/c/bank/{bank}/content/{id}",
            get(hma::curation::content)
                .put(hma::curation::update_content)
                .delete(hma::curation::delete_content),
        )
        .route("/c/signal_type", get(hma::curation::signal_types))
        .route("/c/signal_type/index", get(hma::curation::signal_type_index))
        .route("/c/signal_type/{name}", put(hma::curation::set_signal_type))
        .route("/c/content_type", get(hma::curation::content_types))
        .route("/metrics", get(metrics))
        .route("/status", get(status))
        .route("/status/live", get(live))
        .route("/site-map", get(site_map))
        .merge(job_routes)
        .merge(api::routes())
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), auth::guard));
    guarded
        .merge(ui::routes(&state, jobs))
        .fallback(|| async { error::ApiError::not_found("The requested URL was not found on the server.") })
        .layer(tower_http::limit::RequestBodyLimitLayer::new((state.cfg.max_upload + (2 << 20)) as usize))
        .layer(tower::limit::ConcurrencyLimitLayer::new(state.cfg.concurrency))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            state.cfg.request_timeout,
        ))
        .with_state(state)
}

async fn status(State(state): State<Arc<AppState>>) -> Response {
    let text = |code: StatusCode, body: &'static str| {
        (code, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
    };
    if state.is_ready() {
        text(StatusCode::OK, "I-AM-ALIVE")
    } else {
        text(StatusCode::SERVICE_UNAVAILABLE, "INDEX-NOT-LOADED")
    }
}

async fn live() -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], "I-AM-ALIVE").into_response()
}

async fn site_map() -> Response {
    axum::Json(ROUTES).into_response()
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render())
        .into_response()
}

/// Why the server stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The store could not be opened.
    #[error(transparent)]
    Engine(#[from] marsad_engine::EngineError),
    /// The address could not be bound, or serving failed.
    #[error("{0}")]
    Io(String),
}

/// A running server: its address, and how to stop it.
pub struct Running {
    /// The address it listens on.
    pub addr: SocketAddr,
    shutdown: tokio::sync::watch::Sender<bool>,
    done: tokio::task::JoinHandle<Result<(), ServeError>>,
}

impl Running {
    /// Stops accepting, lets in-flight requests finish, writes the audit
    /// log, and closes the store.
    pub async fn stop(self) -> Result<(), ServeError> {
        let _ = self.shutdown.send(true);
        self.done.await.map_err(|e| ServeError::Io(e.to_string()))?
    }
}

/// Starts serving `cfg` on its address (port 0 picks one); returns once
/// listening. The index loads in the background (`/status` says 503
/// `INDEX-NOT-LOADED` until it has).
pub async fn start(cfg: ServeConfig) -> Result<Running, ServeError> {
    let scratch = cfg.scratch_dir();
    if !scratch.is_dir() {
        return Err(ServeError::Io(format!("the scratch folder {} is not a folder", scratch.display())));
    }
    let listener = tokio::net::TcpListener::bind(cfg.addr)
        .await
        .map_err(|e| ServeError::Io(format!("cannot listen on {}: {e}", cfg.addr)))?;
    let addr = listener.local_addr().map_err(|e| ServeError::Io(e.to_string()))?;
    let refresh = cfg.refresh;
    // Opening the store's connections (and, below, preparing the jobs)
    // blocks: done off the async threads, as every store call is.
    let (state, audit) = tokio::task::spawn_blocking(move || AppState::open(cfg))
        .await
        .map_err(|e| ServeError::Io(e.to_string()))??;
    let (tx, mut rx) = tokio::sync::watch::channel(false);
    let follower = {
        let state = state.clone();
        let mut stop = rx.clone();
        tokio::spawn(async move {
            loop {
                if !state.is_ready() {
                    if let Err(e) = state.load_index().await {
                        tracing::error!(error = ?e.body(), "cannot load the index; trying again");
                    }
                } else if let Err(e) = state.refresh_index().await {
                    tracing::warn!(error = ?e.body(), "cannot follow the banks; trying again");
                } else if state
                    .live()
                    .as_ref()
                    .is_some_and(|l| (l.removed_share() > 0.25 && l.len() > 10_000) || l.fragmented())
                {
                    let _ = state.load_index().await;
                }
                tokio::select! {
                    _ = tokio::time::sleep(refresh) => {}
                    _ = state.bank_notice.notified() => {}
                    _ = stop.changed() => return,
                }
            }
        })
    };
    let feed = state.cfg.nats.clone().map(|url| tokio::spawn(state.clone().follow_feed(url)));
    let app = {
        let state = state.clone();
        tokio::task::spawn_blocking(move || router(state)).await.map_err(|e| ServeError::Io(e.to_string()))?
    };
    let done = tokio::spawn(async move {
        let served = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move {
                let _ = rx.changed().await;
            })
            .await;
        follower.abort();
        if let Some(feed) = feed {
            feed.abort();
        }
        // Every accepted request has been answered: write the audit log
        // and close the store's connections.
        state.flush_audit().await;
        state.close_audit();
        let _ = audit.await;
        served.map_err(|e| ServeError::Io(e.to_string()))
    });
    Ok(Running { addr, shutdown: tx, done })
}

/// Runs the server until SIGINT or SIGTERM, then shuts down gracefully.
pub fn run(cfg: ServeConfig, on_listening: impl FnOnce(SocketAddr)) -> Result<(), ServeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| ServeError::Io(format!("cannot start the runtime: {e}")))?;
    let result = runtime.block_on(async move {
        let running = start(cfg).await?;
        on_listening(running.addr);
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|e| ServeError::Io(e.to_string()))?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        tracing::info!("shutting down: finishing requests in flight");
        running.stop().await
    });
    // Every answered write and the audit log are in the store by now; a
    // blocking task still running (an index load of millions of entries)
    // is not waited for.
    runtime.shutdown_timeout(Duration::from_secs(5));
    result
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running").finish_non_exhaustive()
    }
}
