//! Every `marsad analyze` query, the HTML report and the exported tables.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use marsad_core::UtcTime;
use marsad_engine::ExportFormat;
use marsad_engine::observatory::{
    Analysis, Query as Analytics, TIMELINE_BUCKETS, TREND_BUCKETS, analyze as run_query, parse_bucket,
    unknown_outlets,
};
use marsad_engine::report::ReportRequest;
use marsad_store::NewAuditEvent;

use super::{Params, bad_param, param_error};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

type Q = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// The `marsad analyze` subcommands, as `/api/v1/analyze/{command}` takes them.
pub const COMMANDS: &[&str] = &["timeline", "trend", "silences", "dormancy", "recycling", "amplification"];

/// The query and filter of `command` from the parameters, as the CLI reads
/// its flags.
fn query_of(command: &str, q: Q) -> ApiResult<(Analytics, marsad_engine::analytics::Filter)> {
    let with = |extra: &[&'static str], period: bool| {
        let mut allowed = vec!["official_only", "format", "outlet"];
        allowed.extend_from_slice(extra);
        if period {
            allowed.extend_from_slice(&["from", "to"]);
        }
        allowed
    };
    Ok(match command {
        "timeline" | "trend" => {
            let p = Params::new(q, &with(&["bucket", "by"], true))?;
            let timeline = command == "timeline";
            let bucket = p.one("bucket")?.unwrap_or(if timeline { "day" } else { "month" });
            let allowed = if timeline { TIMELINE_BUCKETS } else { TREND_BUCKETS };
            parse_bucket(bucket, allowed).map_err(|e| param_error("bucket", e))?;
            let by = p.one("by")?;
            let query = if timeline { Analytics::timeline(bucket, by) } else { Analytics::trend(bucket, by) }
                .map_err(|e| param_error("by", e))?;
            (query, p.filter(true)?)
        }
        "silences" => {
            let p = Params::new(q, &with(&["min_hours"], true))?;
            let query =
                Analytics::silences(p.number("min_hours", None)?).map_err(|e| param_error("min_hours", e))?;
            (query, p.filter(true)?)
        }
        "dormancy" => {
            let p = Params::new(q, &with(&["at", "days"], false))?;
            let at = p.required("at")?;
            p.time("at")?;
            let query =
                Analytics::dormancy(at, p.number("days", None)?).map_err(|e| param_error("days", e))?;
            (query, p.filter(false)?)
        }
        "recycling" => {
            let p = Params::new(q, &with(&["from", "to", "min_age_days"], false))?;
            let (from, to) = (p.required("from")?, p.required("to")?);
            p.time("from")?;
            p.time("to")?;
            let query =
                Analytics::recycling(from, to, p.number("min_age_days", None)?).map_err(|e| match e {
                    marsad_engine::EngineError::Invalid(m) if m.starts_with("--to") => bad_param("to", m),
                    e => param_error("min_age_days", e),
                })?;
            (query, p.filter(false)?)
        }
        "amplification" => {
            let p = Params::new(q, &with(&[], true))?;
            (Analytics::Amplification, p.filter(true)?)
        }
        other => {
            return Err(ApiError::not_found(format!(
                "no analysis {other:?}: the analyses are {}",
                COMMANDS.join(", ")
            )));
        }
    })
}

/// `GET /api/v1/analyze/{command}`: the engine's analysis as JSON, as
/// `marsad analyze COMMAND --json` prints it.
#[utoipa::path(get, path = "/api/v1/analyze/{command}", tag = "observe",
    params(("command" = String, Path, description = "timeline, trend, silences, dormancy, recycling or amplification"),
           ("bucket" = Option<String>, Query, description = "timeline: hour, day (default), week, month, hijri-month, year; trend: month (default), hijri-month, year"),
           ("by" = Option<String>, Query, description = "timeline: outlet, format, language or source; trend: outlet"),
           ("min_hours" = Option<f64>, Query, description = "silences: least gap, hours (required)"),
           ("at" = Option<String>, Query, description = "dormancy: the time (required)"),
           ("days" = Option<f64>, Query, description = "dormancy: the window, days (required)"),
           ("min_age_days" = Option<f64>, Query, description = "recycling: least age of a recycled release, days (required)"),
           ("from" = Option<String>, Query, description = "period start (recycling: the window's, required)"),
           ("to" = Option<String>, Query, description = "period end, excluded (recycling: the window's, required)"),
           ("official_only" = Option<bool>, Query, description = "only releases attributed to a registered outlet"),
           ("format" = Option<String>, Query, description = "formats, comma-separated; -name excludes"),
           ("outlet" = Option<Vec<String>>, Query, description = "only this outlet (repeatable)")),
    responses((status = 200, description = "the analysis: rows (timeline, trend, silences) or an object (dormancy, recycling, amplification)", body = serde_json::Value),
              (status = 400, description = "a bad parameter"), (status = 404, description = "no such analysis")))]
pub async fn analyze(
    State(state): State<Arc<AppState>>,
    Path(command): Path<String>,
    q: Q,
) -> ApiResult<Json<Analysis>> {
    let (query, filter) = query_of(&command, q)?;
    let analysis = state
        .with_engine(move |e| {
            let obs = e.observatory()?;
            if let Some(u) = unknown_outlets(&obs, &filter).first() {
                return Err(bad_param("outlet", u));
            }
            Ok(run_query(&obs, &filter, &query)?)
        })
        .await?;
    Ok(Json(analysis))
}

fn audit(state: &AppState, caller: &Caller, action: &str, target: &str, detail: serde_json::Value) {
    state.audit(NewAuditEvent {
        at: UtcTime::now(),
        actor: caller.name.clone(),
        action: action.to_owned(),
        target: Some(target.to_owned()),
        status: Some(200),
        detail: Some(detail.to_string()),
    });
}

/// Streams a file written into `dir`: opened, then the folder removed (the
/// open file stays readable until the stream ends). `name` is the file
/// name the client is given (plain ASCII: the callers make it so).
pub(crate) async fn stream_file(
    dir: tempfile::TempDir,
    path: std::path::PathBuf,
    content_type: &str,
    name: &str,
) -> ApiResult<Response> {
    stream_as(dir, path, content_type, &format!("inline; filename=\"{name}\"")).await
}

/// [`stream_file`] with its `Content-Disposition`.
pub(crate) async fn stream_as(
    dir: tempfile::TempDir,
    path: std::path::PathBuf,
    content_type: &str,
    disposition: &str,
) -> ApiResult<Response> {
    let file = tokio::fs::File::open(&path).await.map_err(ApiError::internal)?;
    let len = file.metadata().await.map_err(ApiError::internal)?.len();
    drop(dir);
    let body = Body::from_stream(tokio_util::io::ReaderStream::with_capacity(file, 64 << 10));
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_LENGTH, len.to_string()),
            (header::CONTENT_DISPOSITION, disposition.to_owned()),
        ],
        body,
    )
        .into_response())
}

/// `GET /api/v1/report`: the HTML report (`marsad report`) of the period
/// and filters asked.
#[utoipa::path(get, path = "/api/v1/report", tag = "observe",
    params(("title" = Option<String>, Query, description = "the heading (marsad report)"),
           ("silence_hours" = Option<f64>, Query, description = "gaps of at least this many hours are silences (24)"),
           ("dormancy_days" = Option<f64>, Query, description = "an outlet is silent after this many days without a release (30)"),
           ("recycling_days" = Option<f64>, Query, description = "a sighting is recycled when its release is this many days old (30)"),
           ("from" = Option<String>, Query, description = "period start"),
           ("to" = Option<String>, Query, description = "period end, excluded"),
           ("official_only" = Option<bool>, Query, description = "only releases attributed to a registered outlet"),
           ("format" = Option<String>, Query, description = "formats, comma-separated; -name excludes"),
           ("outlet" = Option<Vec<String>>, Query, description = "only this outlet (repeatable)")),
    responses((status = 200, description = "one self-contained HTML page", content_type = "text/html", body = String),
              (status = 400, description = "a bad parameter")))]
pub async fn report(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    q: Q,
) -> ApiResult<Response> {
    let p = Params::new(
        q,
        &[
            "title",
            "silence_hours",
            "dormancy_days",
            "recycling_days",
            "from",
            "to",
            "official_only",
            "format",
            "outlet",
        ],
    )?;
    let filter = p.filter(true)?;
    let title = p.one("title")?.unwrap_or("marsad report").to_owned();
    if title.len() > 1000 {
        return Err(bad_param("title", "longer than 1000 bytes"));
    }
    let silence = p.number("silence_hours", Some(24.0))?;
    let dormancy = p.number("dormancy_days", Some(30.0))?;
    let recycling = p.number("recycling_days", Some(30.0))?;
    let req = ReportRequest::new(title, filter, silence, dormancy, recycling).map_err(|e| {
        let m = e.to_string();
        let name = ["silence_hours", "dormancy_days", "recycling_days"]
            .into_iter()
            .find(|n| m.contains(&n.replace('_', "-")))
            .unwrap_or("silence_hours");
        param_error(name, e)
    })?;
    let scratch = state.cfg.scratch_dir();
    let (dir, path, written) = state
        .with_engine(move |e| {
            let dir = tempfile::tempdir_in(&scratch).map_err(ApiError::internal)?;
            let path = dir.path().join("report.html");
            let written = e.write_report(&req, &path)?;
            Ok((dir, path, written))
        })
        .await?;
    audit(
        &state,
        &caller,
        "report",
        "/api/v1/report",
        serde_json::json!({ "from": written.from, "to": written.to, "releases": written.releases, "sightings": written.sightings }),
    );
    stream_file(dir, path, "text/html; charset=utf-8", "report.html").await
}

/// The tables `marsad export` writes.
pub const TABLES: &[&str] = &["releases", "sightings", "outlets", "theme_codes"];

/// `GET /api/v1/export?table=&format=`: one of the tables `marsad export`
/// writes (releases, sightings, outlets or theme codes), as CSV or
/// Parquet, streamed.
#[utoipa::path(get, path = "/api/v1/export", tag = "observe",
    params(("table" = String, Query, description = "releases, sightings, outlets or theme_codes (required)"),
           ("format" = Option<String>, Query, description = "csv (default) or parquet")),
    responses((status = 200, description = "the table's file: text/csv or application/vnd.apache.parquet", content_type = "text/csv", body = String),
              (status = 400, description = "a bad parameter")))]
pub async fn export(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    q: Q,
) -> ApiResult<Response> {
    let p = Params::new(q, &["table", "format"])?;
    let table = p.required("table")?.to_owned();
    if !TABLES.contains(&table.as_str()) {
        return Err(bad_param("table", format!("{table:?} is not one of {}", TABLES.join(", "))));
    }
    let (format, ext, content_type) = match p.one("format")?.unwrap_or("csv") {
        "csv" => (ExportFormat::Csv, "csv", "text/csv; charset=utf-8"),
        "parquet" => (ExportFormat::Parquet, "parquet", "application/vnd.apache.parquet"),
        other => return Err(bad_param("format", format!("{other:?} is not csv or parquet"))),
    };
    let wanted = table.clone();
    let scratch = state.cfg.scratch_dir();
    let (dir, path, written) = state
        .with_engine(move |e| {
            let dir = tempfile::tempdir_in(&scratch).map_err(ApiError::internal)?;
            let written = e.export_tables(format, dir.path())?;
            let path = written
                .files
                .iter()
                .map(std::path::PathBuf::from)
                .find(|f| f.file_stem().is_some_and(|s| s == wanted.as_str()))
                .ok_or_else(|| ApiError::internal(format!("export wrote no {wanted} table")))?;
            Ok((dir, path, written))
        })
        .await?;
    audit(
        &state,
        &caller,
        "export",
        "/api/v1/export",
        serde_json::json!({ "table": table, "format": ext, "releases": written.releases, "sightings": written.sightings, "outlets": written.outlets }),
    );
    stream_file(dir, path, content_type, &format!("{table}.{ext}")).await
}
