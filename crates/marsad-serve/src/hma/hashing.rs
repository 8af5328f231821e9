//! `/h`: hashing (HMA's `blueprints/hashing.py`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Query, State};
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::upload;

/// `GET /h/hash?url=…`: fetching URLs is off (a server fetching what a
/// caller names is a way into the network behind it).
pub async fn hash_url(Query(q): Query<HashMap<String, String>>) -> ApiResult<Json<Value>> {
    crate::hma::required(&q, "url")?;
    Err(url_fetching_off())
}

/// The answer to a URL to fetch while fetching is off.
pub fn url_fetching_off() -> ApiError {
    ApiError::bad_request(
        "Invalid or unsafe URL provided: this server does not fetch URLs (upload the file instead)",
    )
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
