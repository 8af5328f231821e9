//! The review queue and its decisions (moderators).

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use marsad_engine::review::{DecisionRequest, DecisionView, QueuePage, parse_target};
use marsad_store::{QueueState, Verdict};

use super::{Params, bad_param, param_error};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

type Q = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// The queue's state from its name.
pub fn queue_state(s: Option<&str>) -> ApiResult<QueueState> {
    match s {
        None | Some("open") => Ok(QueueState::Open),
        Some("escalated") => Ok(QueueState::Escalated),
        Some(other) => Err(bad_param("state", format!("{other:?} is not open or escalated"))),
    }
}

/// An engine error of a decision: a conflict is 409 here.
fn decision_error(e: marsad_engine::EngineError) -> ApiError {
    match e {
        marsad_engine::EngineError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, m),
        other => other.into(),
    }
}

/// Decides as `actor`, then queues each decision's webhook delivery (the
/// API's and the UI's).
pub async fn decide_as(
    state: &Arc<AppState>,
    actor: String,
    req: DecisionRequest,
) -> ApiResult<Vec<DecisionView>> {
    let made = state.with_engine(move |e| e.decide(&actor, &req).map_err(decision_error)).await?;
    if let Some(hook) = &state.webhook {
        made.iter().for_each(|d| hook.send(d.clone()));
    }
    Ok(made)
}

/// Undoes as `actor`, then queues the webhook delivery.
pub async fn undo_as(state: &Arc<AppState>, actor: String, id: i64) -> ApiResult<DecisionView> {
    let undone = state.with_engine(move |e| e.undo_decision(&actor, id).map_err(decision_error)).await?;
    if let Some(hook) = &state.webhook {
        hook.send(undone.clone());
    }
    Ok(undone)
}

/// `GET /api/v1/review`.
#[utoipa::path(get, path = "/api/v1/review", tag = "review",
    params(("state" = Option<String>, Query, description = "open (default) or escalated"),
           ("limit" = Option<usize>, Query, description = "page size, 1 to 1000 (100)"),
           ("cursor" = Option<String>, Query, description = "next_cursor of the page before")),
    responses((status = 200, description = "queue items, oldest first, with their matches or releases", body = QueuePage),
              (status = 400, description = "a bad parameter")))]
pub async fn queue(State(state): State<Arc<AppState>>, q: Q) -> ApiResult<Json<QueuePage>> {
    let params = Params::new(q, &["state", "limit", "cursor"])?;
    let which = queue_state(params.one("state")?)?;
    let limit = params.limit()? as u64;
    let cursor = params.one("cursor")?.map(str::to_owned);
    let page = state
        .with_engine(move |e| {
            e.review_queue(which, cursor.as_deref(), limit).map_err(|e| param_error("cursor", e))
        })
        .await?;
    Ok(Json(page))
}

/// A decision asked through the API.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    /// The items: `match:ID` or `release:ID` (at most 500).
    pub items: Vec<String>,
    /// `confirm`, `reject` or `escalate`.
    pub verdict: String,
    /// A note.
    #[serde(default)]
    pub note: Option<String>,
    /// With `confirm`: the bank the items' hashes are added to.
    #[serde(default)]
    pub bank: Option<String>,
}

/// The decisions made.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Decisions {
    /// The decisions, by id.
    pub items: Vec<DecisionView>,
}

/// Reads a decision's body into the engine's request.
pub fn decision_request(body: DecisionBody) -> ApiResult<DecisionRequest> {
    let verdict = Verdict::parse(&body.verdict).ok_or_else(|| {
        ApiError::bad_request(format!("verdict: {:?} is not confirm, reject or escalate", body.verdict))
    })?;
    let targets = body
        .items
        .iter()
        .map(|s| parse_target(s).map_err(|e| param_error("items", e)))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(DecisionRequest { targets, verdict, note: body.note, bank: body.bank })
}

/// `POST /api/v1/decisions`: decides items, all or none.
#[utoipa::path(post, path = "/api/v1/decisions", tag = "review",
    request_body = DecisionBody,
    responses((status = 201, description = "the decisions made", body = Decisions),
              (status = 400, description = "a bad body"), (status = 404, description = "an item that does not exist"),
              (status = 409, description = "an item decided already")))]
pub async fn decide(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    body: Result<Json<DecisionBody>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Decisions>)> {
    let Json(body) = body.map_err(|e| ApiError::bad_request(format!("body: {}", e.body_text())))?;
    let req = decision_request(body)?;
    let items = decide_as(&state, caller.name, req).await?;
    Ok((StatusCode::CREATED, Json(Decisions { items })))
}

/// `GET /api/v1/decisions`: the log, by id.
#[utoipa::path(get, path = "/api/v1/decisions", tag = "review",
    params(("after" = Option<i64>, Query, description = "only decisions with a larger id (0)"),
           ("limit" = Option<usize>, Query, description = "at most this many, 1 to 1000 (100)")),
    responses((status = 200, description = "decisions by id, the undone ones marked", body = Decisions),
              (status = 400, description = "a bad parameter")))]
pub async fn decisions(State(state): State<Arc<AppState>>, q: Q) -> ApiResult<Json<Decisions>> {
    let params = Params::new(q, &["after", "limit"])?;
    let after = match params.one("after")? {
        None => 0,
        Some(a) => a.parse::<i64>().map_err(|_| bad_param("after", format!("{a:?} is not a decision id")))?,
    };
    let limit = params.limit()? as u64;
    let items = state.with_engine(move |e| Ok(e.decisions(after, limit)?)).await?;
    Ok(Json(Decisions { items }))
}

/// `POST /api/v1/decisions/{id}/undo`.
#[utoipa::path(post, path = "/api/v1/decisions/{id}/undo", tag = "review",
    params(("id" = i64, Path, description = "the decision's id")),
    responses((status = 200, description = "the decision, undone", body = DecisionView),
              (status = 404, description = "no such decision"),
              (status = 409, description = "undone already, or not its item's latest")))]
pub async fn undo(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<DecisionView>> {
    let id: i64 = id.parse().map_err(|_| bad_param("id", format!("{id:?} is not a decision id")))?;
    Ok(Json(undo_as(&state, caller.name, id).await?))
}
