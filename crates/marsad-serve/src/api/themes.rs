//! Theme coding: the taxonomy, a release's codes, the coders' agreement and
//! the share of releases per theme.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Extension, Path, Query, State};
use marsad_engine::coding::Taxonomy;
use marsad_engine::coding::{Agreement, CodeView, ReleaseCodes, ThemesReport};
use marsad_store::Role;

use super::{Params, bad_param, param_error};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

type Q = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// Whether a caller codes (analysts and above): a coder sees the others'
/// codes of a release only once they have coded it.
pub fn codes(role: Option<Role>) -> bool {
    role.is_some_and(|r| r >= Role::Analyst)
}

fn release_id(id: &str) -> ApiResult<i64> {
    id.parse().map_err(|_| bad_param("id", format!("{id:?} is not a release id (an integer)")))
}

/// `GET /api/v1/themes`.
#[utoipa::path(get, path = "/api/v1/themes", tag = "themes",
    responses((status = 200, description = "the taxonomy in use", body = Taxonomy)))]
pub async fn taxonomy(State(state): State<Arc<AppState>>) -> ApiResult<Json<Taxonomy>> {
    Ok(Json(state.with_engine(|e| Ok(e.taxonomy()?)).await?))
}

/// `GET /api/v1/releases/{id}/codes`.
#[utoipa::path(get, path = "/api/v1/releases/{id}/codes", tag = "themes",
    params(("id" = i64, Path, description = "the release's id")),
    responses((status = 200, description = "the caller's code and, once the caller has coded the release (or for a caller who does not code), the others'", body = ReleaseCodes),
              (status = 400, description = "a bad id")))]
pub async fn release_codes(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<ReleaseCodes>> {
    let id = release_id(&id)?;
    let coder = codes(caller.role);
    Ok(Json(state.with_engine(move |e| Ok(e.release_codes(&caller.name, coder, id)?)).await?))
}

/// A code sent through the API.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeBody {
    /// The primary theme's key.
    pub primary: String,
    /// Secondary themes' keys.
    #[serde(default)]
    pub secondary: Vec<String>,
}

/// `PUT /api/v1/releases/{id}/codes`: the caller's code of the release.
#[utoipa::path(put, path = "/api/v1/releases/{id}/codes", tag = "themes",
    params(("id" = i64, Path, description = "the release's id")),
    request_body = CodeBody,
    responses((status = 200, description = "the code stored (replacing the caller's earlier one)", body = CodeView),
              (status = 400, description = "a theme not of the taxonomy, or a bad body"),
              (status = 404, description = "no such release")))]
pub async fn set_code(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Result<Json<CodeBody>, JsonRejection>,
) -> ApiResult<Json<CodeView>> {
    let id = release_id(&id)?;
    let Json(body) = body.map_err(|e| ApiError::bad_request(format!("body: {}", e.body_text())))?;
    if body.secondary.len() > 64 {
        return Err(ApiError::bad_request("secondary: at most 64 themes"));
    }
    Ok(Json(
        state
            .with_engine(move |e| Ok(e.code_release(&caller.name, id, &body.primary, &body.secondary)?))
            .await?,
    ))
}

/// `GET /api/v1/agreement`.
#[utoipa::path(get, path = "/api/v1/agreement", tag = "themes",
    responses((status = 200, description = "the coders' agreement on primary themes: Cohen's kappa per pair, Krippendorff's alpha overall", body = Agreement)))]
pub async fn agreement(State(state): State<Arc<AppState>>) -> ApiResult<Json<Agreement>> {
    Ok(Json(state.with_engine(|e| Ok(e.agreement()?)).await?))
}

/// `GET /api/v1/analyze/themes`: `marsad analyze themes --json`.
#[utoipa::path(get, path = "/api/v1/analyze/themes", tag = "themes",
    params(("bucket" = Option<String>, Query, description = "day, week, month (default), hijri-month or year"),
           ("by" = Option<String>, Query, description = "outlet"),
           ("from" = Option<String>, Query, description = "period start"),
           ("to" = Option<String>, Query, description = "period end, excluded"),
           ("official_only" = Option<bool>, Query, description = "only releases attributed to a registered outlet"),
           ("format" = Option<String>, Query, description = "formats, comma-separated; -name excludes"),
           ("outlet" = Option<Vec<String>>, Query, description = "only this outlet (repeatable)")),
    responses((status = 200, description = "share of coded releases per primary theme per bucket, and the coders' agreement", body = ThemesReport),
              (status = 400, description = "a bad parameter")))]
pub async fn analyze(State(state): State<Arc<AppState>>, q: Q) -> ApiResult<Json<ThemesReport>> {
    let p = Params::new(q, &["bucket", "by", "from", "to", "official_only", "format", "outlet"])?;
    let filter = p.filter(true)?;
    let bucket = p.one("bucket")?.unwrap_or("month").to_owned();
    let by = p.one("by")?.map(str::to_owned);
    let report = state
        .with_engine(move |e| {
            e.themes_report(&filter, &bucket, by.as_deref()).map_err(|err| match err {
                marsad_engine::EngineError::Invalid(m) if m.starts_with("--by") => bad_param("by", m),
                other => param_error("bucket", other),
            })
        })
        .await?;
    Ok(Json(report))
}
