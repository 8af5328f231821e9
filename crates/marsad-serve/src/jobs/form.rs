//! The multipart body of `POST /api/v1/jobs`: one file in the field
//! `file`, streamed to a temporary file under the upload bound (never held
//! in memory), and the optional fields `kind`, `retain_media`,
//! `no_fingerprints` and `export_timezone`, each parsed here, once.

use std::io::Write as _;
use std::path::Path;

use axum::extract::Multipart;
use axum::extract::multipart::MultipartRejection;
use axum::http::StatusCode;
use marsad_engine::jobs::JobKind;

use crate::error::{ApiError, ApiResult};

/// Longest text field.
const MAX_FIELD: usize = 4096;
/// Most parts in one body.
const MAX_PARTS: usize = 16;
/// Longest file name kept (in characters; longer ones are cut).
const MAX_NAME: usize = 255;

/// What the form gave.
#[derive(Debug)]
pub(super) struct JobForm {
    pub file: tempfile::TempPath,
    pub file_name: String,
    pub bytes: u64,
    pub kind: Option<JobKind>,
    pub retain_media: bool,
    pub no_fingerprints: bool,
    pub export_timezone: Option<String>,
}

fn too_large(max: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("form field \"file\": the upload is larger than {max} bytes"),
    )
}

fn body_error(e: axum::extract::multipart::MultipartError, max: u64) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large(max)
    } else {
        ApiError::bad_request(format!("invalid multipart body: {e}"))
    }
}

fn flag(name: &str, value: &str) -> ApiResult<bool> {
    match value.trim() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" | "" => Ok(false),
        other => Err(ApiError::bad_request(format!("form field {name:?}: {other:?} is not true or false"))),
    }
}

/// The client's file name as metadata: control characters replaced, cut
/// to [`MAX_NAME`] characters.
fn clean_name(name: &str) -> String {
    let cleaned: String =
        name.chars().map(|c| if c.is_control() { '\u{fffd}' } else { c }).take(MAX_NAME).collect();
    if cleaned.trim().is_empty() { "upload".to_owned() } else { cleaned }
}

const MISSING_FILE: &str = "form field \"file\" is missing: send the export (zip, tar, tar.gz) or the JSON lines file as multipart/form-data field \"file\"";

/// Reads the form; every problem is a 4xx naming the field.
/// The file is written under `dir`. With `csrf` (the web UI's form), the
/// body's first part must be the field `csrf` holding it, checked before
/// anything else is read.
pub(super) async fn read(
    body: Result<Multipart, MultipartRejection>,
    max_bytes: u64,
    dir: &Path,
    csrf: Option<&str>,
) -> ApiResult<JobForm> {
    let Ok(mut mp) = body else { return Err(ApiError::bad_request(MISSING_FILE)) };
    if let Some(want) = csrf {
        crate::upload::csrf_first(&mut mp, want).await?;
    }
    let mut file: Option<(tempfile::TempPath, String, u64)> = None;
    let (mut kind, mut retain_media, mut no_fingerprints, mut export_timezone) = (None, false, false, None);
    let mut parts = 0;
    while let Some(mut field) = mp.next_field().await.map_err(|e| body_error(e, max_bytes))? {
        parts += 1;
        if parts > MAX_PARTS {
            return Err(ApiError::bad_request(format!("more than {MAX_PARTS} parts in the multipart body")));
        }
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            if file.is_some() {
                return Err(ApiError::bad_request(
                    "form field \"file\" is given twice: send one file per job",
                ));
            }
            let file_name = clean_name(field.file_name().unwrap_or_default());
            let tmp = tempfile::Builder::new()
                .prefix("marsad-job-upload-")
                .tempfile_in(dir)
                .map_err(ApiError::internal)?;
            let (mut out, path) = tmp.into_parts();
            let mut written: u64 = 0;
            while let Some(chunk) = field.chunk().await.map_err(|e| body_error(e, max_bytes))? {
                written += chunk.len() as u64;
                if written > max_bytes {
                    crate::upload::drain(&mut field).await;
                    return Err(too_large(max_bytes));
                }
                out.write_all(&chunk).map_err(ApiError::internal)?;
            }
            out.flush().map_err(ApiError::internal)?;
            file = Some((path, file_name, written));
            continue;
        }
        if !matches!(name.as_str(), "kind" | "retain_media" | "no_fingerprints" | "export_timezone") {
            return Err(ApiError::bad_request(format!(
                "unknown form field {name:?}: the fields are file, kind, retain_media, no_fingerprints and export_timezone"
            )));
        }
        let text =
            crate::upload::text_field(&mut field, &name, MAX_FIELD, |e| body_error(e, max_bytes)).await?;
        match name.as_str() {
            // Empty (a form's "by the file" choice) is not given.
            "kind" if text.trim().is_empty() => kind = None,
            "kind" => {
                kind = Some(JobKind::parse(text.trim()).ok_or_else(|| {
                    ApiError::bad_request(format!("form field \"kind\": {text:?} is not telegram or jsonl"))
                })?);
            }
            "retain_media" => retain_media = flag(&name, &text)?,
            "no_fingerprints" => no_fingerprints = flag(&name, &text)?,
            _ => export_timezone = Some(text.trim().to_owned()).filter(|z| !z.is_empty()),
        }
    }
    let Some((file, file_name, bytes)) = file else { return Err(ApiError::bad_request(MISSING_FILE)) };
    if bytes == 0 {
        return Err(ApiError::bad_request("form field \"file\": the file is empty"));
    }
    Ok(JobForm { file, file_name, bytes, kind, retain_media, no_fingerprints, export_timezone })
}
