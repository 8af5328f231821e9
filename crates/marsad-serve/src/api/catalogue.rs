//! Sources, posts, releases and the outlet registry.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use marsad_core::ReleaseId;
use marsad_engine::observatory::{
    OutletRow, OutletsImported, ReleaseDetail, ReleaseOrder, ReleaseRow, unknown_outlets,
};
use marsad_engine::posts::{PostFilter, PostHistory, PostRow, SourceRow, format_cursor, parse_cursor};

use super::{Params, bad_param, page_type, paginate, param_error};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

type Q = Result<Query<Vec<(String, String)>>, QueryRejection>;

page_type!(
    /// A page of sources.
    SourcesPage,
    SourceRow
);
page_type!(
    /// A page of posts.
    PostsPage,
    PostRow
);
page_type!(
    /// A page of releases.
    ReleasesPage,
    ReleaseRow
);
page_type!(
    /// A page of outlets.
    OutletsPage,
    OutletRow
);

/// `GET /api/v1/sources`.
#[utoipa::path(get, path = "/api/v1/sources", tag = "catalogue",
    params(("limit" = Option<usize>, Query, description = "page size, 1 to 1000 (100)"),
           ("cursor" = Option<String>, Query, description = "next_cursor of the page before")),
    responses((status = 200, description = "sources with their post counts", body = SourcesPage),
              (status = 400, description = "a bad parameter")))]
pub async fn sources(State(state): State<Arc<AppState>>, q: Q) -> ApiResult<Json<SourcesPage>> {
    let params = Params::new(q, &["limit", "cursor"])?;
    params.limit()?;
    let rows = state.with_engine(|e| Ok(e.sources()?)).await?;
    let (items, next_cursor) = paginate(rows, &params)?;
    Ok(Json(SourcesPage { items, next_cursor }))
}

/// `GET /api/v1/posts`.
#[utoipa::path(get, path = "/api/v1/posts", tag = "catalogue",
    params(("source" = Option<String>, Query, description = "platform:id"),
           ("from" = Option<String>, Query, description = "posted at or after (RFC 3339)"),
           ("to" = Option<String>, Query, description = "posted before (RFC 3339)"),
           ("q" = Option<String>, Query, description = "full-text query over the normalized text: every word must occur"),
           ("limit" = Option<usize>, Query, description = "page size, 1 to 1000 (100)"),
           ("cursor" = Option<String>, Query, description = "next_cursor of the page before")),
    responses((status = 200, description = "posts by time", body = PostsPage),
              (status = 400, description = "a bad parameter")))]
pub async fn posts(State(state): State<Arc<AppState>>, q: Q) -> ApiResult<Json<PostsPage>> {
    let params = Params::new(q, POST_PARAMS)?;
    Ok(Json(post_page(&state, &params).await?))
}

/// The posts list's parameters.
pub const POST_PARAMS: &[&str] = &["source", "from", "to", "q", "limit", "cursor"];

/// A page of posts as `params` ask (the API's and the web UI's).
pub async fn post_page(state: &Arc<AppState>, params: &Params) -> ApiResult<PostsPage> {
    let source = params
        .one("source")?
        .map(|s| marsad_engine::posts::parse_source(s).map_err(|e| param_error("source", e)))
        .transpose()?;
    let (from, to) = (params.time("from")?, params.time("to")?);
    if let (Some(f), Some(t)) = (from, to)
        && t <= f
    {
        return Err(bad_param("to", "must be after from"));
    }
    let text = params.one("q")?.map(str::to_owned);
    if text.as_ref().is_some_and(|t| t.len() > 4096) {
        return Err(bad_param("q", "longer than 4096 bytes"));
    }
    let after =
        params.one("cursor")?.map(|c| parse_cursor(c).map_err(|e| param_error("cursor", e))).transpose()?;
    let filter = PostFilter { source, from, to, text, after, limit: params.limit()? };
    let page = state.with_engine(move |e| e.search_posts(&filter).map_err(|e| param_error("q", e))).await?;
    Ok(PostsPage { items: page.items, next_cursor: page.next.as_ref().map(format_cursor) })
}

/// `GET /api/v1/posts/{source}/{post_id}`.
#[utoipa::path(get, path = "/api/v1/posts/{source}/{post_id}", tag = "catalogue",
    params(("source" = String, Path, description = "platform:id"), ("post_id" = String, Path, description = "the post's id in its source")),
    responses((status = 200, description = "the post with its earlier texts", body = PostHistory),
              (status = 400, description = "a bad source"), (status = 404, description = "no such post")))]
pub async fn post(
    State(state): State<Arc<AppState>>,
    Path((source, post_id)): Path<(String, String)>,
) -> ApiResult<Json<PostHistory>> {
    marsad_engine::posts::parse_source(&source).map_err(|e| param_error("source", e))?;
    Ok(Json(state.with_engine(move |e| Ok(e.post_history(&source, &post_id)?)).await?))
}

/// The releases list's parameters.
pub const RELEASE_PARAMS: &[&str] =
    &["official_only", "format", "outlet", "from", "to", "sort", "limit", "cursor"];

/// `GET /api/v1/releases`.
#[utoipa::path(get, path = "/api/v1/releases", tag = "catalogue",
    params(("official_only" = Option<bool>, Query, description = "only releases attributed to a registered outlet"),
           ("format" = Option<String>, Query, description = "formats, comma-separated; -name excludes"),
           ("outlet" = Option<Vec<String>>, Query, description = "only this outlet (repeatable)"),
           ("from" = Option<String>, Query, description = "first seen at or after"),
           ("to" = Option<String>, Query, description = "first seen before"),
           ("sort" = Option<String>, Query, description = "first-seen (oldest first, the default), newest, last-seen (latest sighting first) or sightings (most first)"),
           ("limit" = Option<usize>, Query, description = "page size, 1 to 1000 (100)"),
           ("cursor" = Option<String>, Query, description = "next_cursor of the page before")),
    responses((status = 200, description = "releases in the order asked (by first seen unless sort says otherwise)", body = ReleasesPage),
              (status = 400, description = "a bad parameter")))]
pub async fn releases(State(state): State<Arc<AppState>>, q: Q) -> ApiResult<Json<ReleasesPage>> {
    let params = Params::new(q, RELEASE_PARAMS)?;
    let (items, next_cursor) = release_page(&state, &params).await?;
    Ok(Json(ReleasesPage { items, next_cursor }))
}

/// A page of releases as `params` ask (the API's and the web UI's), with
/// the next page's cursor.
pub async fn release_page(
    state: &Arc<AppState>,
    params: &Params,
) -> ApiResult<(Vec<ReleaseRow>, Option<String>)> {
    let filter = params.filter(true)?;
    let limit = params.limit()?;
    let order = match params.one("sort")? {
        None | Some("") => ReleaseOrder::default(),
        Some(s) => ReleaseOrder::parse(s).ok_or_else(|| {
            let names: Vec<&str> = ReleaseOrder::ALL.iter().map(|o| o.as_str()).collect();
            bad_param("sort", format!("{s:?} is not one of {}", names.join(", ")))
        })?,
    };
    let cursor = params.one("cursor")?.map(str::to_owned);
    let offset = match &cursor {
        None => 0,
        Some(c) => c
            .strip_prefix('o')
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| bad_param("cursor", format!("{c:?} is not a cursor this list gave")))?,
    };
    let (rows, total) = state
        .with_engine(move |e| {
            let obs = e.observatory()?;
            if let Some(u) = unknown_outlets(&obs, &filter).first() {
                return Err(bad_param("outlet", u));
            }
            Ok(e.releases_page(&obs, &filter, order, offset, limit)?)
        })
        .await?;
    if offset > total {
        return Err(bad_param(
            "cursor",
            format!("{:?} is not a cursor this list gave", cursor.unwrap_or_default()),
        ));
    }
    let end = offset + rows.len();
    Ok((rows, (end < total).then(|| format!("o{end}"))))
}

/// `GET /api/v1/releases/{id}`.
#[utoipa::path(get, path = "/api/v1/releases/{id}", tag = "catalogue",
    params(("id" = i64, Path, description = "the release's id")),
    responses((status = 200, description = "the release with its sightings, posts, media fingerprints, matches and attribution evidence", body = ReleaseDetail),
              (status = 400, description = "a bad id"), (status = 404, description = "no such release")))]
pub async fn release(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<Json<ReleaseDetail>> {
    let id: i64 =
        id.parse().map_err(|_| bad_param("id", format!("{id:?} is not a release id (an integer)")))?;
    Ok(Json(state.with_engine(move |e| Ok(e.release(ReleaseId(id))?)).await?))
}

/// `GET /api/v1/outlets`.
#[utoipa::path(get, path = "/api/v1/outlets", tag = "catalogue",
    params(("limit" = Option<usize>, Query, description = "page size, 1 to 1000 (100)"),
           ("cursor" = Option<String>, Query, description = "next_cursor of the page before")),
    responses((status = 200, description = "the registry, in the order given", body = OutletsPage)))]
pub async fn outlets(State(state): State<Arc<AppState>>, q: Q) -> ApiResult<Json<OutletsPage>> {
    let params = Params::new(q, &["limit", "cursor"])?;
    params.limit()?;
    let rows = state.with_engine(|e| Ok(e.outlets()?)).await?;
    let (items, next_cursor) = paginate(rows, &params)?;
    Ok(Json(OutletsPage { items, next_cursor }))
}

/// Largest registry accepted (axum's default body limit).
const MAX_REGISTRY: usize = 2 << 20;

/// `POST /api/v1/outlets`: the body is a registry file as `marsad outlets
/// import` takes it (TOML, `[[outlet]]` tables); it replaces the registry.
#[utoipa::path(post, path = "/api/v1/outlets", tag = "catalogue",
    request_body(content = String, content_type = "application/toml", description = "the registry: [[outlet]] tables (name, aliases, channels, region, parent)"),
    responses((status = 200, description = "the registry replaced; releases attributed again", body = OutletsImported),
              (status = 400, description = "the registry does not parse")))]
pub async fn import_outlets(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> ApiResult<Json<OutletsImported>> {
    if body.is_empty() {
        return Err(ApiError::bad_request("body: empty; send the registry (TOML [[outlet]] tables)"));
    }
    if body.len() > MAX_REGISTRY {
        return Err(ApiError::bad_request(format!("body: larger than {MAX_REGISTRY} bytes")));
    }
    if std::str::from_utf8(&body).is_err() {
        return Err(ApiError::bad_request("body: not UTF-8 text"));
    }
    let scratch = state.cfg.scratch_dir();
    let imported = state
        .with_engine(move |e| {
            let dir = tempfile::tempdir_in(&scratch).map_err(ApiError::internal)?;
            let path = dir.path().join("outlets.toml");
            std::fs::write(&path, &body).map_err(ApiError::internal)?;
            e.import_outlets(&path).map_err(|err| match err {
                marsad_engine::EngineError::Invalid(m) => ApiError::bad_request(format!(
                    "body: {}",
                    m.replace(&path.display().to_string(), "registry")
                )),
                other => other.into(),
            })
        })
        .await?;
    Ok(Json(imported))
}
