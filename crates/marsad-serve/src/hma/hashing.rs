//! `/h`: hashing (HMA's `blueprints/hashing.py`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Query, State};
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::upload;

/// Fetches `url` under the server's policy and hashes what it gives, as
/// HMA's `hash_url_content` (content type from `content_type`, else the
/// response's `Content-Type`).
pub async fn hash_url_content(
    state: &Arc<AppState>,
    url: &str,
    content_type: Option<&str>,
    types: Option<&str>,
) -> ApiResult<BTreeMap<String, String>> {
    let mut policy = state.cfg.fetch.clone();
    policy.max_bytes = policy.max_bytes.min(state.cfg.max_upload);
    let (file, header) = policy.fetch(url).await?;
    let content_type = crate::fetch::content_type_of(header.as_deref(), content_type)?;
    upload::hash_file(state, &file, &content_type, types).await
}

/// `GET /h/hash?url=…&content_type&types`.
pub async fn hash_url(
    State(state): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let url = crate::hma::required(&q, "url")?;
    let hashes = hash_url_content(
        &state,
        url,
        q.get("content_type").map(String::as_str),
        q.get("types").map(String::as_str),
    )
    .await?;
    Ok(Json(serde_json::to_value(hashes).map_err(ApiError::internal)?))
}

/// `POST /h/hash`: one file, its field name the content type.
pub async fn hash_upload(
    State(state): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
    body: Result<Multipart, MultipartRejection>,
) -> ApiResult<Json<Value>> {
    let up = upload::read(body, state.cfg.max_upload).await?;
    let hashes = upload::hash(&state, &up, &up.field, q.get("types").map(String::as_str)).await?;
    Ok(Json(serde_json::to_value(hashes).map_err(ApiError::internal)?))
}
