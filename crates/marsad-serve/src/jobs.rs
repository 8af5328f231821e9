//! Ingest jobs over HTTP: `POST /api/v1/jobs` takes an upload (a zip, tar
//! or tar.gz of a Telegram Desktop export folder, or a JSON lines file),
//! answers `202 Accepted` with the job's id at once, and one background
//! runner ingests the jobs one at a time, in the order they came, each on
//! its own connection to the store; `GET /api/v1/jobs` and
//! `GET /api/v1/jobs/{id}` show them, with the running job's progress.
//!
//! Extraction, the ingest and the job's record are the engine's
//! ([`marsad_engine::jobs`]); this module reads the request, queues the
//! upload and reports.
//!
//! Jobs belong to the server that accepted them (an upload lives in a
//! temporary file of that process), which says every
//! [`marsad_engine::jobs::JOB_HEARTBEAT`] that it is alive. A job whose
//! server has been silent for [`crate::ServeConfig::job_silence`] (it
//! stopped) is failed ([`marsad_engine::jobs::STOPPED`]) by any server on
//! the store, when it starts and at every heartbeat; the jobs of live
//! servers are left alone, so several servers share one store.

mod form;

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use marsad_core::UtcTime;
use marsad_engine::Engine;
use marsad_engine::jobs::{ExtractLimits, JobProgress, JobRecord, JobStatus, JobView, NewJob, UploadFormat};
use marsad_store::NewAuditEvent;
use serde_json::json;
use tokio::sync::mpsc;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Most jobs queued or running at once: each queued one holds its upload
/// on disk.
pub const MAX_PENDING: usize = 16;

/// Jobs listed by default.
const DEFAULT_LIMIT: u64 = 50;

/// An accepted upload waiting for the runner.
struct Queued {
    id: i64,
    created_by: String,
    file: tempfile::TempPath,
}

/// What the handlers and the runner share.
#[derive(Default)]
struct Shared {
    /// The running job and its progress.
    current: Mutex<Option<(i64, Arc<JobProgress>)>>,
    /// Jobs queued or running.
    pending: AtomicUsize,
    /// The ids of this server's jobs queued or running (its heartbeats).
    owned: Mutex<BTreeSet<i64>>,
}

/// The handlers' side of the jobs: the queue into the runner.
#[derive(Clone)]
pub(crate) struct Jobs {
    tx: mpsc::UnboundedSender<Queued>,
    shared: Arc<Shared>,
    /// Held from a job's record to its place in the queue, so the runner
    /// takes jobs in the order of their ids.
    submit: Arc<tokio::sync::Mutex<()>>,
}

/// The job routes, with their runner started: jobs a stopped server left
/// unfinished are marked failed first (a blocking call to the store, as
/// the server opens its connections).
pub(crate) fn routes(state: &Arc<AppState>) -> (Router<Arc<AppState>>, Jobs) {
    let silence = state.cfg.job_silence;
    let engine =
        match Engine::open(&state.cfg.db).and_then(|mut e| e.fail_unfinished_jobs(silence).map(|n| (e, n))) {
            Ok((engine, failed)) => {
                if failed > 0 {
                    tracing::warn!(jobs = failed, "jobs left unfinished by a stopped server marked failed");
                }
                Some(engine)
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot prepare the ingest jobs; each job will try again");
                None
            }
        };
    let (tx, rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared::default());
    tokio::spawn(runner(state.clone(), shared.clone(), engine, rx));
    tokio::spawn(heartbeat(Arc::downgrade(state), Arc::downgrade(&shared)));
    let jobs = Jobs { tx, shared, submit: Arc::new(tokio::sync::Mutex::new(())) };
    let router = Router::new()
        .route(
            "/api/v1/jobs",
            get(list).post(submit).layer(DefaultBodyLimit::max((state.cfg.max_upload + (1 << 20)) as usize)),
        )
        .route("/api/v1/jobs/{id}", get(one))
        .layer(Extension(jobs.clone()));
    (router, jobs)
}

/// Every [`marsad_engine::jobs::JOB_HEARTBEAT`] (or a third of the silence
/// allowed, if shorter), until the server is gone: says this server's jobs
/// are alive, and fails those of silent servers.
async fn heartbeat(state: std::sync::Weak<AppState>, shared: std::sync::Weak<Shared>) {
    let every = match state.upgrade() {
        Some(s) => marsad_engine::jobs::JOB_HEARTBEAT.min(s.cfg.job_silence / 3),
        None => return,
    };
    loop {
        tokio::time::sleep(every).await;
        let (Some(state), Some(shared)) = (state.upgrade(), shared.upgrade()) else { return };
        let owned: Vec<i64> =
            shared.owned.lock().unwrap_or_else(|p| p.into_inner()).iter().copied().collect();
        let silence = state.cfg.job_silence;
        let beat = state
            .with_engine(move |e| {
                if !owned.is_empty() {
                    e.heartbeat_jobs(&owned)?;
                }
                Ok(e.fail_unfinished_jobs(silence)?)
            })
            .await;
        match beat {
            Ok(0) => {}
            Ok(failed) => tracing::warn!(jobs = failed, "jobs of a stopped server marked failed"),
            Err(e) => {
                tracing::warn!(error = ?e.body(), "cannot say this server's jobs are alive; trying again")
            }
        }
    }
}

/// Runs the queued jobs one at a time, until the routes are dropped.
async fn runner(
    state: Arc<AppState>,
    shared: Arc<Shared>,
    mut engine: Option<Engine>,
    mut rx: mpsc::UnboundedReceiver<Queued>,
) {
    let limits = ExtractLimits::for_upload(state.cfg.max_upload);
    while let Some(job) = rx.recv().await {
        let progress = Arc::new(JobProgress::default());
        *shared.current.lock().unwrap_or_else(|p| p.into_inner()) = Some((job.id, progress.clone()));
        let db = state.cfg.db.clone();
        let scratch = state.cfg.scratch_dir();
        let id = job.id;
        let taken = engine.take();
        let ran = tokio::task::spawn_blocking(move || {
            let mut e = match taken {
                Some(e) => e,
                None => Engine::open(&db)?,
            };
            let record = e.run_job(id, &job.file, &limits, Some(&scratch), &progress);
            // The upload is removed here, the job being over.
            drop(job.file);
            Ok::<_, marsad_engine::EngineError>((e, record))
        })
        .await;
        let record = match ran {
            Ok(Ok((e, record))) => {
                engine = Some(e);
                record
            }
            Ok(Err(e)) => Err(e),
            Err(panicked) => Err(marsad_engine::EngineError::step("running the job", panicked)),
        };
        let record = match record {
            Ok(r) => Ok(r),
            // The job could not be run or its end not stored (the store
            // failing): try to record the failure on a fresh connection.
            Err(e) => {
                tracing::error!(job = id, error = %e, "ingest job failed to run");
                let message = e.to_string();
                let db = state.cfg.db.clone();
                tokio::task::spawn_blocking(move || {
                    let mut e = Engine::open(&db)?;
                    e.store_mut().start_job(id)?;
                    e.store_mut().finish_job(
                        id,
                        &marsad_engine::jobs::JobEnd { error: Some(message), summary: None, progress: None },
                    )?;
                    e.store()
                        .job(id)?
                        .ok_or_else(|| marsad_engine::EngineError::NotFound(format!("no job {id}")))
                })
                .await
                .map_err(|e| marsad_engine::EngineError::step("recording the job's failure", e))
                .and_then(|r| r)
            }
        };
        *shared.current.lock().unwrap_or_else(|p| p.into_inner()) = None;
        shared.owned.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
        shared.pending.fetch_sub(1, Ordering::AcqRel);
        match record {
            Ok(r) => audit_end(&state, &job.created_by, &r),
            Err(e) => tracing::error!(job = id, error = %e, "cannot record how the ingest job ended"),
        }
    }
}

fn audit_end(state: &AppState, actor: &str, r: &JobRecord) {
    let view = JobView::from(r.clone());
    let action = if r.status == JobStatus::Done { "job.done" } else { "job.failed" };
    let mut detail = json!({ "id": r.id, "file_name": view.file_name, "error": view.error });
    if let Some(s) = &view.summary {
        for key in
            ["posts_added", "posts_existing", "media_added", "fingerprints_added", "errors_total", "run_id"]
        {
            detail[key] = s[key].clone();
        }
    }
    state.audit(NewAuditEvent {
        at: UtcTime::now(),
        actor: actor.to_owned(),
        action: action.to_owned(),
        target: Some(format!("/api/v1/jobs/{}", r.id)),
        status: None,
        detail: Some(detail.to_string()),
    });
}

/// What `POST /api/v1/jobs` answers.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Accepted {
    /// The job's id.
    pub id: i64,
    /// `queued`.
    pub status: String,
    /// Where to follow it.
    pub url: String,
}

/// The jobs, newest first.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct JobList {
    /// The jobs.
    pub items: Vec<JobView>,
}

/// `POST /api/v1/jobs`.
#[utoipa::path(post, path = "/api/v1/jobs", tag = "jobs",
    request_body(content = String, content_type = "multipart/form-data",
        description = "the field `file` (a .zip, .tar or .tar.gz of a Telegram Desktop export folder, or a JSON lines file); optional fields `kind` (telegram or jsonl), `retain_media`, `no_fingerprints` (true or false), `export_timezone`"),
    responses((status = 202, description = "accepted: the job is queued (Location: its URL)", body = Accepted),
              (status = 400, description = "a bad or missing field"),
              (status = 413, description = "the upload is over --max-upload"),
              (status = 503, description = "16 jobs are queued or running already")))]
pub(crate) async fn submit(
    State(state): State<Arc<AppState>>,
    Extension(jobs): Extension<Jobs>,
    Extension(caller): Extension<Caller>,
    body: Result<Multipart, MultipartRejection>,
) -> ApiResult<Response> {
    let view = accept(&state, &jobs, caller.name.clone(), body, None).await?;
    let url = format!("/api/v1/jobs/{}", view.id);
    let accepted = Accepted { id: view.id, status: view.status.to_owned(), url: url.clone() };
    let mut response = (StatusCode::ACCEPTED, Json(accepted)).into_response();
    if let Ok(location) = HeaderValue::from_str(&url) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// Reads an upload's form, records the job and queues it (the API's
/// `POST /api/v1/jobs` and the web UI's Jobs page, which passes its CSRF
/// token to be found first in the form).
pub(crate) async fn accept(
    state: &Arc<AppState>,
    jobs: &Jobs,
    created_by: String,
    body: Result<Multipart, MultipartRejection>,
    csrf: Option<&str>,
) -> ApiResult<JobView> {
    let upload = form::read(body, state.cfg.max_upload, &state.cfg.scratch_dir(), csrf).await?;
    let path = upload.file.to_path_buf();
    let format = tokio::task::spawn_blocking(move || UploadFormat::sniff(&path))
        .await
        .map_err(ApiError::internal)??;
    let kind = match upload.kind {
        Some(k) => {
            if k == marsad_engine::jobs::JobKind::Jsonl && format.is_archive() {
                return Err(ApiError::bad_request(format!(
                    "form field \"kind\": jsonl, but the file is {}; send the JSON lines file itself, or kind telegram",
                    format.describe()
                )));
            }
            k
        }
        None => format.inferred_kind(),
    };
    let new = NewJob {
        created_by,
        file_name: upload.file_name,
        bytes: upload.bytes,
        kind,
        retain_media: upload.retain_media,
        no_fingerprints: upload.no_fingerprints,
        export_timezone: upload.export_timezone,
    };
    marsad_engine::jobs::check(&new).map_err(|e| ApiError::bad_request(format!("form field {e}")))?;
    if jobs.shared.pending.fetch_add(1, Ordering::AcqRel) >= MAX_PENDING {
        jobs.shared.pending.fetch_sub(1, Ordering::AcqRel);
        return Err(ApiError::unavailable(format!(
            "{MAX_PENDING} ingest jobs are queued or running already; try again when one has finished"
        )));
    }
    let order = jobs.submit.clone().lock_owned().await;
    let stored = {
        let new = new.clone();
        state.with_engine(move |e| Ok(e.submit_job(&new)?)).await
    };
    let view = match stored {
        Ok(v) => {
            jobs.shared.owned.lock().unwrap_or_else(|p| p.into_inner()).insert(v.id);
            v
        }
        Err(e) => {
            jobs.shared.pending.fetch_sub(1, Ordering::AcqRel);
            return Err(e);
        }
    };
    if jobs.tx.send(Queued { id: view.id, created_by: new.created_by.clone(), file: upload.file }).is_err() {
        jobs.shared.owned.lock().unwrap_or_else(|p| p.into_inner()).remove(&view.id);
        jobs.shared.pending.fetch_sub(1, Ordering::AcqRel);
        return Err(ApiError::unavailable("the server is stopping: the job will not run"));
    }
    drop(order);
    state.audit(NewAuditEvent {
        at: UtcTime::now(),
        actor: new.created_by,
        action: "job.create".to_owned(),
        target: Some(format!("/api/v1/jobs/{}", view.id)),
        status: Some(202),
        detail: Some(
            json!({ "id": view.id, "file_name": view.file_name, "bytes": view.bytes, "kind": view.kind })
                .to_string(),
        ),
    });
    Ok(view)
}

/// The running job's progress now, in place of the stored one.
fn live(shared: &Shared, mut view: JobView) -> JobView {
    if view.status == JobStatus::Running.as_str()
        && let Some((id, progress)) = shared.current.lock().unwrap_or_else(|p| p.into_inner()).as_ref()
        && *id == view.id
    {
        view.progress = serde_json::to_value(progress.snapshot()).ok();
    }
    view
}

/// `GET /api/v1/jobs/{id}`.
#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "jobs",
    params(("id" = i64, Path, description = "the job's id")),
    responses((status = 200, description = "the job: status, progress, and the summary `marsad ingest --json` prints once done", body = JobView),
              (status = 404, description = "no such job")))]
pub(crate) async fn one(
    State(state): State<Arc<AppState>>,
    Extension(jobs): Extension<Jobs>,
    Path(id): Path<String>,
) -> ApiResult<Json<JobView>> {
    let id: i64 = id
        .parse()
        .ok()
        .filter(|&n: &i64| n > 0)
        .ok_or_else(|| ApiError::bad_request(format!("job id {id:?} is not a positive integer")))?;
    let view = state.with_engine(move |e| Ok(e.job(id)?)).await?;
    Ok(Json(live(&jobs.shared, view)))
}

/// `GET /api/v1/jobs?limit=N`.
#[utoipa::path(get, path = "/api/v1/jobs", tag = "jobs",
    params(("limit" = Option<usize>, Query, description = "at most this many, the newest (50, at most 1000)")),
    responses((status = 200, description = "the jobs, newest first", body = JobList),
              (status = 400, description = "a bad parameter")))]
pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    Extension(jobs): Extension<Jobs>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<JobList>> {
    if let Some(other) = q.keys().find(|k| k.as_str() != "limit") {
        return Err(ApiError::bad_request(format!("unknown parameter {other:?}: only limit is taken")));
    }
    let limit = match q.get("limit") {
        None => DEFAULT_LIMIT,
        Some(s) => {
            s.parse().ok().filter(|n| (1..=marsad_engine::jobs::MAX_LIST).contains(n)).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "parameter limit: {s:?} is not a number from 1 to {}",
                    marsad_engine::jobs::MAX_LIST
                ))
            })?
        }
    };
    let views = state.with_engine(move |e| Ok(e.jobs(limit)?)).await?;
    Ok(Json(JobList { items: views.into_iter().map(|v| live(&jobs.shared, v)).collect() }))
}
