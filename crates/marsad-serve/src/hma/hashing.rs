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
/// HMA's `hash_url_content`: the content type from the query's
/// `content_type`, else the response's `Content-Type`; the query's `types`.
pub async fn hash_url_content(
    state: &Arc<AppState>,
    url: &str,
    q: &HashMap<String, String>,
) -> ApiResult<BTreeMap<String, String>> {
    let mut policy = state.cfg.fetch.clone();
    policy.max_bytes = policy.max_bytes.min(state.cfg.max_upload);
    let (file, header) = policy.fetch(url, &state.cfg.scratch_dir()).await?;
    let content_type =
        crate::fetch::content_type_of(header.as_deref(), q.get("content_type").map(String::as_str))?;
    upload::hash_file(state, &file, &content_type, q.get("types").map(String::as_str)).await
}

/// `GET /h/hash?url=…&content_type&types`.
pub async fn hash_url(
    State(state): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let url = crate::hma::required(&q, "url")?;
    let hashes = hash_url_content(&state, url, &q).await?;
    Ok(Json(serde_json::to_value(hashes).map_err(ApiError::internal)?))
}

/// `POST /h/hash`: one file, its field name the content type.
pub async fn hash_upload(
    State(state): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
    body: Result<Multipart, MultipartRejection>,
) -> ApiResult<Json<Value>> {
    let (_, hashes) = upload::read_and_hash(&state, body, &q).await?;
    Ok(Json(serde_json::to_value(hashes).map_err(ApiError::internal)?))
}
