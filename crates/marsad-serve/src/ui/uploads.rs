//! The web UI's forms that send a file, and its downloads: an export
//! uploaded as an ingest job (the API's `POST /api/v1/jobs`, same checks and
//! queue), a bank file imported into a bank (the CLI's `marsad bank
//! import`), and a bank exported (`marsad bank export`).
//!
//! A file goes as `multipart/form-data`, which the guard lets through only
//! to these routes: each reads the session's CSRF token as the body's
//! first part ([`crate::upload::csrf_first`]) before anything else.

use std::sync::Arc;

use axum::Extension;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use marsad_core::{SignalType, UtcTime};
use marsad_engine::BankFormat;
use marsad_engine::banks::BankImport;
use marsad_store::NewAuditEvent;
use maud::{Markup, html};

use super::catalogue::{Q, checked, given};
use super::records::bank_link;
use super::{PageError, UiUser, html_response, page, see_other};
use crate::api::bad_param;
use crate::error::{ApiError, ApiResult};
use crate::jobs::Jobs;
use crate::state::AppState;

/// The routes that take `multipart/form-data` (the guard's list).
pub(super) fn takes_files(path: &str) -> bool {
    path == "/jobs" || path == "/banks/import"
}

/// The Jobs page's upload form (analysts and up).
pub(super) fn job_form(user: &UiUser) -> Markup {
    html! {
        form.filters method="post" action="/jobs" enctype="multipart/form-data" {
            input type="hidden" name="csrf" value=(user.csrf);
            label.wide {
                span { (user.t("Export")) }
                input type="file" name="file" required
                    accept=".zip,.tar,.tgz,.gz,.jsonl,.json,application/zip,application/x-tar,application/gzip";
            }
            label {
                span { "Kind" }
                select name="kind" {
                    option value="" { "by the file" }
                    option value="telegram" { "telegram" }
                    option value="jsonl" { "jsonl" }
                }
            }
            label { span { (user.t("Export's time zone")) } input type="text" name="export_timezone" placeholder="Asia/Baghdad"; }
            label.check { input type="checkbox" name="retain_media" value="true"; span { (user.t("Keep the media")) } }
            label.check { input type="checkbox" name="no_fingerprints" value="true"; span { (user.t("No fingerprints")) } }
            button type="submit" { (user.t("Upload")) }
        }
    }
}

/// `POST /jobs`: an export uploaded from the Jobs page, queued as the
/// API's jobs are; back to the Jobs page, where its progress shows.
pub(super) async fn upload_job(
    State(state): State<Arc<AppState>>,
    Extension(user): Extension<UiUser>,
    Extension(jobs): Extension<Jobs>,
    body: Result<Multipart, MultipartRejection>,
) -> Response {
    let view =
        or_page!(user, crate::jobs::accept(&state, &jobs, user.name.clone(), body, Some(&user.csrf)).await);
    see_other(&format!("/jobs#job-{}", view.id))
}

/// A bank import form: into `bank`, or (on the banks page) a bank named
/// in the form, made when it does not exist.
pub(super) fn import_form(user: &UiUser, bank: Option<&str>) -> Markup {
    html! {
        form.filters method="post" action="/banks/import" enctype="multipart/form-data" {
            input type="hidden" name="csrf" value=(user.csrf);
            @if let Some(b) = bank {
                input type="hidden" name="bank" value=(b);
            } @else {
                label { span { (user.t("Bank")) } input type="text" name="bank" required maxlength="128" dir="auto"; }
                label.check { input type="checkbox" name="create" value="true" checked; span { (user.t("Create it if new")) } }
            }
            label.wide { span { (user.t("Bank file")) } input type="file" name="file" required accept=".csv,.jsonl,.txt,text/csv"; }
            label {
                span { (user.t("Format")) }
                select name="format" { option value="jsonl" { "JSON lines" } option value="csv" { "CSV" } }
            }
            label {
                span { (user.t("Signal type (CSV)")) }
                select name="type" {
                    option value="" { "—" }
                    @for t in SignalType::ALL { option value=(t.as_str()) { (t.as_str()) } }
                }
            }
            button type="submit" { (user.t("Import")) }
        }
    }
}

/// Where a form field is not one of `names`' values.
fn choice<'a>(field: &str, value: Option<&'a str>, names: &[&str]) -> ApiResult<Option<&'a str>> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) if names.contains(&v) => Ok(Some(v)),
        Some(v) => Err(ApiError::bad_request(format!(
            "form field {field:?}: {v:?} is not one of {}",
            names.join(", ")
        ))),
    }
}

/// `POST /banks/import` (moderators): a bank file imported all or
/// nothing, as `marsad bank import` does; the live index follows. Answers
/// a page with what was imported and the first lines skipped.
pub(super) async fn import_bank(
    State(state): State<Arc<AppState>>,
    Extension(user): Extension<UiUser>,
    body: Result<Multipart, MultipartRejection>,
) -> Response {
    let read = async {
        let Ok(mut mp) = body else {
            return Err(ApiError::bad_request("send the bank file as multipart/form-data"));
        };
        crate::upload::csrf_first(&mut mp, &user.csrf).await?;
        crate::upload::read_parts(mp, state.cfg.max_upload, &state.cfg.scratch_dir()).await
    };
    let up = or_page!(user, read.await);
    if up.field != "file" {
        return ApiError::bad_request("send the bank file in the form field \"file\"").page(&user);
    }
    let fields = |k: &str| up.fields.get(k).map(String::as_str);
    if let Some(k) = up.fields.keys().find(|k| !matches!(k.as_str(), "bank" | "create" | "format" | "type")) {
        return ApiError::bad_request(format!(
            "unknown form field {k:?}: the fields are bank, create, format, type and file"
        ))
        .page(&user);
    }
    let parsed = (|| {
        let bank = fields("bank").map(str::trim).filter(|b| !b.is_empty()).ok_or_else(|| {
            ApiError::bad_request("form field \"bank\" is missing: name the bank to import into")
        })?;
        let create =
            choice("create", fields("create"), &["true", "false", "on"])?.is_some_and(|v| v != "false");
        let format = match choice("format", fields("format"), &["jsonl", "csv"])? {
            Some("csv") => BankFormat::Csv,
            _ => BankFormat::Jsonl,
        };
        let types: Vec<&str> = SignalType::ALL.iter().map(|t| t.as_str()).collect();
        let signal_type = choice("type", fields("type"), &types)?.and_then(SignalType::parse);
        Ok::<_, ApiError>((bank.to_owned(), create, format, signal_type))
    })();
    let (bank, create, format, signal_type) = or_page!(user, parsed);
    let file = up.file;
    let (name, shown) = (bank.clone(), "the uploaded file".to_owned());
    let imported = state
        .with_engine(move |e| {
            let opened = std::fs::File::open(&file).map_err(ApiError::internal)?;
            let mut reader = std::io::BufReader::new(opened);
            let req = BankImport { name: &name, file: &shown, format, signal_type, create };
            Ok(e.import_bank(&req, &mut reader)?)
        })
        .await;
    let r = or_page!(user, imported);
    if r.added > 0 {
        or_page!(user, state.banks_changed().await);
    }
    state.audit(NewAuditEvent {
        at: UtcTime::now(),
        actor: user.name.clone(),
        action: "bank.import".to_owned(),
        target: Some(format!("bank:{bank}")),
        status: Some(200),
        detail: Some(
            serde_json::json!({ "added": r.added, "entries": r.entries, "existing": r.existing, "skipped": r.errors_total, "bytes": up.bytes })
                .to_string(),
        ),
    });
    let body = html! {
        h1 { (user.t("Bank import")) }
        @if r.discarded {
            p.error { "Nothing was imported, so bank " bdi { (bank) } " was not created." }
        } @else {
            p { "Imported into " (bank_link(&bank)) ": " (r.added) " added, " (r.existing) " already there, " (r.errors_total) " lines skipped, of " (r.lines) " lines." }
        }
        @if !r.errors.is_empty() {
            table.list {
                thead { tr { th.n { "Line" } th { "Why it was skipped" } } }
                tbody { @for e in &r.errors { tr { td.n { (e.line) } td { (e.error) } } } }
            }
            @if r.errors_total > r.errors.len() as u64 { p.meta { "…and " (r.errors_total - r.errors.len() as u64) " more." } }
        }
    };
    html_response(StatusCode::OK, page(user.t("Bank import"), Some(&user), body))
}

/// The bank export links of a bank's page: JSON lines of every entry, and
/// CSV of each signal type it holds.
pub(super) fn export_links(user: &UiUser, bank: &str, types: &[&str]) -> Markup {
    let q = super::path_segment(bank);
    html! {
        p.more {
            (user.t("Export")) ": "
            a href={ "/banks/" (q) "/export?format=jsonl" } download { "JSON lines" }
            @for t in types { " · " a href={ "/banks/" (q) "/export?format=csv&type=" (t) } download { "CSV " (t) } }
        }
    }
}

/// `GET /banks/{name}/export?format=jsonl|csv[&type=…]`: the bank file, as
/// `marsad bank export` writes it (the format import reads), as a download.
pub(super) async fn export_bank(
    State(state): State<Arc<AppState>>,
    Extension(user): Extension<UiUser>,
    Path(name): Path<String>,
    q: Q,
) -> Response {
    let pairs = or_page!(user, given(q));
    let parsed = checked(&pairs, &["format", "type"]).and_then(|p| {
        let format = match p.one("format")? {
            None | Some("jsonl") => BankFormat::Jsonl,
            Some("csv") => BankFormat::Csv,
            Some(f) => return Err(bad_param("format", format!("{f:?} is not jsonl or csv"))),
        };
        let signal_type = p
            .one("type")?
            .map(|t| {
                SignalType::parse(t).ok_or_else(|| bad_param("type", format!("{t:?} is not a signal type")))
            })
            .transpose()?;
        Ok((format, signal_type))
    });
    let (format, signal_type) = or_page!(user, parsed);
    let scratch = state.cfg.scratch_dir();
    let written = state
        .with_engine(move |e| {
            let dir = tempfile::tempdir_in(&scratch).map_err(ApiError::internal)?;
            let path = dir.path().join("bank");
            let file = std::fs::File::create(&path).map_err(ApiError::internal)?;
            let mut out = std::io::BufWriter::new(file);
            e.export_bank(&name, format, signal_type, &mut out)?;
            Ok((dir, path, name))
        })
        .await;
    let (dir, path, name) = or_page!(user, written);
    let (ext, content_type) = match format {
        BankFormat::Csv => ("csv", "text/csv; charset=utf-8"),
        BankFormat::Jsonl => ("jsonl", "application/x-ndjson"),
    };
    let plain: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
        .take(64)
        .collect();
    let disposition = format!("attachment; filename=\"{plain}.{ext}\"");
    or_page!(user, crate::api::observe::stream_as(dir, path, content_type, &disposition).await)
}
