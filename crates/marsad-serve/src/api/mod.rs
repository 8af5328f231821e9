//! `/api/v1`: marsad's own API for analysts' tools, JSON over the engine's
//! typed results.
//!
//! - [`catalogue`]: sources, posts (filters and full-text search), releases,
//!   the outlet registry;
//! - [`observe`]: every `marsad analyze` query, the HTML report, the
//!   exported tables (streamed from a temporary file);
//! - [`banks`]: banks, stored matches, the audit log;
//! - [`openapi`]: the OpenAPI 3 document, generated from the types.
//!
//! Lists are paged: `?limit=` (default 100, at most 1000) and `?cursor=`
//! (the `next_cursor` of the page before, opaque); each answer is
//! `{"items": [...], "next_cursor": "..." | null}`. A bad parameter is a 400
//! `{"message": "parameter NAME: problem"}`; a parameter a route does not
//! take is refused the same way.

pub mod banks;
pub mod catalogue;
pub mod observe;
pub mod openapi;
pub mod review;
pub mod themes;

use std::sync::Arc;

use axum::Router;
use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum::routing::get;
use marsad_core::UtcTime;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The `/api/v1` routes (merged into the guarded router: every one is
/// behind the auth middleware).
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi::document))
        .route("/api/v1/sources", get(catalogue::sources))
        .route("/api/v1/posts", get(catalogue::posts))
        .route("/api/v1/posts/{source}/{post_id}", get(catalogue::post))
        .route("/api/v1/releases", get(catalogue::releases))
        .route("/api/v1/releases/{id}", get(catalogue::release))
        .route("/api/v1/releases/{id}/codes", get(themes::release_codes).put(themes::set_code))
        .route("/api/v1/themes", get(themes::taxonomy))
        .route("/api/v1/agreement", get(themes::agreement))
        .route("/api/v1/analyze/themes", get(themes::analyze))
        .route("/api/v1/outlets", get(catalogue::outlets).post(catalogue::import_outlets))
        .route("/api/v1/analyze/{command}", get(observe::analyze))
        .route("/api/v1/report", get(observe::report))
        .route("/api/v1/export", get(observe::export))
        .route("/api/v1/banks", get(banks::banks))
        .route("/api/v1/banks/{name}", get(banks::bank))
        .route("/api/v1/matches", get(banks::matches))
        .route("/api/v1/audit", get(banks::audit))
        .route("/api/v1/review", get(review::queue))
        .route("/api/v1/decisions", get(review::decisions).post(review::decide))
        .route("/api/v1/decisions/{id}/undo", axum::routing::post(review::undo))
}

/// Default page size.
pub const DEFAULT_LIMIT: usize = 100;
/// Largest page size.
pub const MAX_LIMIT: usize = 1000;

/// A 400 naming the parameter and the problem.
pub fn bad_param(name: &str, problem: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(format!("parameter {name}: {problem}"))
}

/// An engine error about a parameter's value, with the parameter named
/// (the engine's messages name the CLI's flags).
pub fn param_error(name: &str, e: marsad_engine::EngineError) -> ApiError {
    match e {
        marsad_engine::EngineError::Invalid(m) => bad_param(name, m),
        other => ApiError::from(other),
    }
}

/// A request's query parameters, checked against those its route takes.
#[derive(Debug)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// The parameters of `query`; one that `allowed` does not list is
    /// refused.
    pub fn new(
        query: Result<Query<Vec<(String, String)>>, QueryRejection>,
        allowed: &[&str],
    ) -> ApiResult<Params> {
        let Query(pairs) = query.map_err(|e| ApiError::bad_request(format!("query string: {e}")))?;
        if let Some((k, _)) = pairs.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
            let takes = if allowed.is_empty() { "none".to_owned() } else { allowed.join(", ") };
            return Err(bad_param(k, format!("not a parameter of this route (it takes {takes})")));
        }
        Ok(Params { pairs })
    }

    /// The value of `name`, if given (given twice: refused).
    pub fn one(&self, name: &str) -> ApiResult<Option<&str>> {
        let mut values = self.pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(bad_param(name, "given more than once"));
        }
        Ok(first)
    }

    /// The value of `name`, which must be given.
    pub fn required(&self, name: &str) -> ApiResult<&str> {
        self.one(name)?.ok_or_else(|| bad_param(name, "required"))
    }

    /// Every value of `name` (a repeatable parameter).
    pub fn all(&self, name: &str) -> Vec<String> {
        self.pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
    }

    /// A finite number, or `default` when absent.
    pub fn number(&self, name: &str, default: Option<f64>) -> ApiResult<f64> {
        match self.one(name)? {
            None => default.ok_or_else(|| bad_param(name, "required (a number)")),
            Some(v) => match v.trim().parse::<f64>() {
                Ok(n) if n.is_finite() => Ok(n),
                _ => Err(bad_param(name, format!("{v:?} is not a number"))),
            },
        }
    }

    /// `true`/`false` (`1`/`0`), absent: false.
    pub fn flag(&self, name: &str) -> ApiResult<bool> {
        match self.one(name)? {
            None => Ok(false),
            Some("true" | "1") => Ok(true),
            Some("false" | "0") => Ok(false),
            Some(v) => Err(bad_param(name, format!("{v:?} is not true or false"))),
        }
    }

    /// A time (RFC 3339, or a date: midnight UTC), if given.
    pub fn time(&self, name: &str) -> ApiResult<Option<UtcTime>> {
        self.one(name)?
            .map(|v| marsad_engine::observatory::parse_time(v).map_err(|e| param_error(name, e)))
            .transpose()
    }

    /// `limit`: default [`DEFAULT_LIMIT`], from 1 to [`MAX_LIMIT`].
    pub fn limit(&self) -> ApiResult<usize> {
        match self.one("limit")? {
            None => Ok(DEFAULT_LIMIT),
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
                _ => Err(bad_param("limit", format!("{v:?} is not an integer from 1 to {MAX_LIMIT}"))),
            },
        }
    }

    /// The analytics filter's parameters: `official_only`, `format`,
    /// `outlet` (repeatable) and, when `period`, `from` and `to`.
    pub fn filter(&self, period: bool) -> ApiResult<marsad_engine::analytics::Filter> {
        let (from, to) = if period {
            (self.one("from")?.map(str::to_owned), self.one("to")?.map(str::to_owned))
        } else {
            (None, None)
        };
        for (name, v) in [("from", &from), ("to", &to)] {
            if let Some(v) = v {
                marsad_engine::observatory::parse_time(v).map_err(|e| param_error(name, e))?;
            }
        }
        let spec = marsad_engine::observatory::FilterSpec {
            official_only: self.flag("official_only")?,
            formats: self.one("format")?.map(str::to_owned),
            outlets: self.all("outlet"),
            from,
            to,
        };
        spec.parse().map_err(|e| match e {
            marsad_engine::EngineError::Invalid(m) if m.starts_with("--to") => bad_param("to", m),
            e => param_error("format", e),
        })
    }
}

/// A page of a list held whole: `cursor` is the offset the page before
/// ended at (opaque to clients).
pub fn paginate<T>(mut items: Vec<T>, params: &Params) -> ApiResult<(Vec<T>, Option<String>)> {
    let limit = params.limit()?;
    let start = match params.one("cursor")? {
        None => 0,
        Some(c) => c
            .strip_prefix('o')
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n <= items.len())
            .ok_or_else(|| bad_param("cursor", format!("{c:?} is not a cursor this list gave")))?,
    };
    let end = start.saturating_add(limit).min(items.len());
    let next = (end < items.len()).then(|| format!("o{end}"));
    items.truncate(end);
    items.drain(..start);
    Ok((items, next))
}

/// Makes a page type: `{"items": [T], "next_cursor": string | null}`.
macro_rules! page_type {
    ($(#[$doc:meta])* $name:ident, $item:ty) => {
        $(#[$doc])*
        #[derive(Debug, serde::Serialize, utoipa::ToSchema)]
        pub struct $name {
            /// This page's items.
            pub items: Vec<$item>,
            /// The `cursor` of the next page; `null` on the last.
            pub next_cursor: Option<String>,
        }
    };
}
pub(crate) use page_type;
