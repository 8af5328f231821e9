//! Banks, stored matches and the audit log.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use marsad_engine::access::AuditRow;
use marsad_engine::banks::{BankDetail, BankRow};
use marsad_engine::matching::StoredMatchRow;

use super::{Params, bad_param, page_type, paginate, param_error};
use crate::error::ApiResult;
use crate::state::AppState;

type Q = Result<Query<Vec<(String, String)>>, QueryRejection>;

page_type!(
    /// A page of banks.
    BanksPage,
    BankRow
);
page_type!(
    /// A page of stored matches.
    MatchesPage,
    StoredMatchRow
);

/// The audit log's events asked for (`since`, `limit`: the newest).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AuditEvents {
    /// The events, oldest first.
    pub items: Vec<AuditRow>,
}

/// `GET /api/v1/banks`.
#[utoipa::path(get, path = "/api/v1/banks", tag = "banks",
    params(("limit" = Option<usize>, Query, description = "page size, 1 to 1000 (100)"),
           ("cursor" = Option<String>, Query, description = "next_cursor of the page before")),
    responses((status = 200, description = "banks with their entry counts, by name", body = BanksPage)))]
pub async fn banks(State(state): State<Arc<AppState>>, q: Q) -> ApiResult<Json<BanksPage>> {
    let params = Params::new(q, &["limit", "cursor"])?;
    params.limit()?;
    let rows = state.with_engine(|e| Ok(e.banks()?)).await?;
    let (items, next_cursor) = paginate(rows, &params)?;
    Ok(Json(BanksPage { items, next_cursor }))
}

/// `GET /api/v1/banks/{name}`.
#[utoipa::path(get, path = "/api/v1/banks/{name}", tag = "banks",
    params(("name" = String, Path, description = "the bank's name (or its HMA name)")),
    responses((status = 200, description = "the bank: entries and matching settings", body = BankDetail),
              (status = 404, description = "no such bank")))]
pub async fn bank(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> ApiResult<Json<BankDetail>> {
    Ok(Json(state.with_engine(move |e| Ok(e.bank(&name)?)).await?))
}

/// `GET /api/v1/matches`.
#[utoipa::path(get, path = "/api/v1/matches", tag = "banks",
    params(("bank" = Option<String>, Query, description = "only this bank's matches"),
           ("source" = Option<String>, Query, description = "only matches of this source's posts (platform:id)"),
           ("limit" = Option<usize>, Query, description = "page size, 1 to 1000 (100)"),
           ("cursor" = Option<String>, Query, description = "next_cursor of the page before")),
    responses((status = 200, description = "stored matches, oldest first", body = MatchesPage),
              (status = 400, description = "a bad parameter")))]
pub async fn matches(State(state): State<Arc<AppState>>, q: Q) -> ApiResult<Json<MatchesPage>> {
    let params = Params::new(q, &["bank", "source", "limit", "cursor"])?;
    params.limit()?;
    let bank = params.one("bank")?.map(str::to_owned);
    let source = params
        .one("source")?
        .map(|s| marsad_engine::posts::parse_source(s).map_err(|e| param_error("source", e)))
        .transpose()?;
    let rows = state.with_engine(move |e| Ok(e.stored_matches_of(bank.as_deref(), source.as_ref())?)).await?;
    let (items, next_cursor) = paginate(rows, &params)?;
    Ok(Json(MatchesPage { items, next_cursor }))
}

/// `GET /api/v1/audit` (admin).
#[utoipa::path(get, path = "/api/v1/audit", tag = "banks",
    params(("since" = Option<String>, Query, description = "only events at or after (RFC 3339 or a date)"),
           ("limit" = Option<usize>, Query, description = "at most this many, the newest (100, at most 1000)")),
    responses((status = 200, description = "audit events, oldest first", body = AuditEvents),
              (status = 400, description = "a bad parameter")))]
pub async fn audit(State(state): State<Arc<AppState>>, q: Q) -> ApiResult<Json<AuditEvents>> {
    let params = Params::new(q, &["since", "limit"])?;
    let since = params.time("since")?;
    let limit = params.limit()?;
    if since.is_some_and(|s| s > marsad_core::UtcTime::now()) {
        return Err(bad_param("since", "is in the future"));
    }
    let items = state.with_engine(move |e| Ok(e.audit(since, Some(limit as u64))?)).await?;
    Ok(Json(AuditEvents { items }))
}
