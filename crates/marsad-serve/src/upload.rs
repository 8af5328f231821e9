//! Uploads: a multipart body streamed to a temporary file under a size
//! bound (never held whole in memory), then fingerprinted exactly as ingest
//! fingerprints a post's media, under the server's memory budget.

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;

use axum::extract::Multipart;
use axum::extract::multipart::MultipartRejection;
use axum::http::StatusCode;
use marsad_core::SignalType;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Largest text field of a multipart body (`metadata`, `note`).
const MAX_FIELD: usize = 64 * 1024;
/// python-threatexchange's `PdqSignal.QUALITY_THRESHOLD`: a hash of lower
/// quality is given as the empty string.
pub const PDQ_QUALITY_THRESHOLD: u8 = 50;

/// Most fields in one multipart body.
const MAX_FIELDS: usize = 32;

/// A multipart upload: one file, its field name (the content type), and
/// the text fields beside it.
#[derive(Debug)]
pub struct Upload {
    /// The file's field name.
    pub field: String,
    /// The file, in a temporary file removed when this is dropped.
    pub file: tempfile::TempPath,
    /// Its size in bytes.
    pub bytes: u64,
    /// The text fields.
    pub fields: HashMap<String, String>,
}

/// How much more of a file over the bound is read, and dropped, before
/// the 413 is sent (see [`drain`]).
const DRAIN_BEFORE_413: u64 = 4 << 20;

/// Reads on, dropping it, a little more of a file over the bound: a
/// client still sending its body would otherwise see the connection
/// reset (the server closing with unread data) instead of the 413.
pub(crate) async fn drain(field: &mut axum::extract::multipart::Field<'_>) {
    let mut drained = 0u64;
    while drained < DRAIN_BEFORE_413 {
        match field.chunk().await {
            Ok(Some(chunk)) => drained += chunk.len() as u64,
            _ => break,
        }
    }
}

fn too_large() -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "Content too large")
}

/// A text part of a multipart body, at most `max` bytes of UTF-8 (errors
/// name the field; `body_error` says what a broken body is).
pub(crate) async fn text_field(
    field: &mut axum::extract::multipart::Field<'_>,
    name: &str,
    max: usize,
    body_error: impl Fn(axum::extract::multipart::MultipartError) -> ApiError,
) -> ApiResult<String> {
    let mut text = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(&body_error)? {
        if text.len() + chunk.len() > max {
            return Err(ApiError::bad_request(format!("form field {name:?} is longer than {max} bytes")));
        }
        text.extend_from_slice(&chunk);
    }
    String::from_utf8(text).map_err(|_| ApiError::bad_request(format!("form field {name:?} is not UTF-8")))
}

/// Checks a web UI form sent as multipart (a file upload): its first
/// part is the field `csrf` holding the session's token (a 403 when not),
/// so nothing of a forged request is read further.
pub(crate) async fn csrf_first(mp: &mut Multipart, want: &str) -> ApiResult<()> {
    let refused = || {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "This form has expired or did not come from this site: reload the page and try again.",
        )
    };
    let mut field = mp.next_field().await.map_err(|_| refused())?.ok_or_else(refused)?;
    if field.name() != Some("csrf") {
        return Err(refused());
    }
    let sent = text_field(&mut field, "csrf", 256, |_| refused()).await?;
    if crate::ui::session::same_secret(sent.trim(), want) { Ok(()) } else { Err(refused()) }
}

/// Reads a multipart body as HMA does: exactly one file (a part with a
/// file name), its field name the content type; text fields kept.
/// The file is written under `dir`.
pub async fn read(
    body: Result<Multipart, MultipartRejection>,
    max_bytes: u64,
    dir: &Path,
) -> ApiResult<Upload> {
    let Ok(mp) = body else {
        return Err(ApiError::bad_request("Missing multipart/form-data file upload"));
    };
    read_parts(mp, max_bytes, dir).await
}

/// [`read`] of a body whose reading has begun (the web UI's forms, after
/// [`csrf_first`]).
pub(crate) async fn read_parts(mut mp: Multipart, max_bytes: u64, dir: &Path) -> ApiResult<Upload> {
    let mut file: Option<(String, tempfile::TempPath, u64)> = None;
    let mut fields = HashMap::new();
    let mut parts = 0;
    loop {
        let next = mp.next_field().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large()
            } else {
                ApiError::bad_request(format!("invalid multipart body: {e}"))
            }
        })?;
        let Some(mut field) = next else { break };
        parts += 1;
        if parts > MAX_FIELDS {
            return Err(ApiError::bad_request(format!("more than {MAX_FIELDS} parts in the multipart body")));
        }
        let name = field.name().unwrap_or_default().to_owned();
        if field.file_name().is_none() {
            let text = text_field(&mut field, &name, MAX_FIELD, |e| {
                ApiError::bad_request(format!("invalid multipart body: {e}"))
            })
            .await?;
            fields.insert(name, text);
            continue;
        }
        if file.is_some() {
            return Err(ApiError::bad_request("Only one file allowed per request"));
        }
        let tmp =
            tempfile::Builder::new().prefix("marsad-upload-").tempfile_in(dir).map_err(ApiError::internal)?;
        let (mut out, path) = tmp.into_parts();
        let mut written: u64 = 0;
        while let Some(chunk) = field.chunk().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large()
            } else {
                ApiError::bad_request(format!("invalid multipart body: {e}"))
            }
        })? {
            written += chunk.len() as u64;
            if written > max_bytes {
                drain(&mut field).await;
                return Err(too_large());
            }
            out.write_all(&chunk).map_err(ApiError::internal)?;
        }
        out.flush().map_err(ApiError::internal)?;
        file = Some((name, path, written));
    }
    let Some((field, file, bytes)) = file else {
        return Err(ApiError::bad_request("Missing multipart/form-data file upload"));
    };
    Ok(Upload { field, file, bytes, fields })
}

/// Reads a multipart body ([`read`]) and hashes its file as its field name
/// (the content type) and the query's `types` say.
pub async fn read_and_hash(
    state: &Arc<AppState>,
    body: Result<Multipart, MultipartRejection>,
    q: &HashMap<String, String>,
) -> ApiResult<(Upload, BTreeMap<String, String>)> {
    let up = read(body, state.cfg.max_upload, &state.cfg.scratch_dir()).await?;
    let hashes = hash(state, &up, &up.field, q.get("types").map(String::as_str)).await?;
    Ok((up, hashes))
}

/// The signals of an uploaded file of content type `content_type`, by the
/// API's signal type names (`types` as [`crate::hma::hash_types`] reads it).
pub async fn hash(
    state: &Arc<AppState>,
    upload: &Upload,
    content_type: &str,
    types: Option<&str>,
) -> ApiResult<BTreeMap<String, String>> {
    hash_file(state, &upload.file, content_type, types).await
}

/// The signals of a file (an upload, or what a URL gave) of content type
/// `content_type`, by the API's signal type names.
pub async fn hash_file(
    state: &Arc<AppState>,
    file: &std::path::Path,
    content_type: &str,
    types: Option<&str>,
) -> ApiResult<BTreeMap<String, String>> {
    let wanted = crate::hma::hash_types(content_type, types)?;
    let path = file.to_path_buf();
    let signals = state
        .with_engine(move |e| {
            let fp = e.fingerprinter();
            marsad_engine::fingerprint::fingerprint_file(&fp, &path).map_err(|err| match err {
                marsad_engine::EngineError::Invalid(m) => {
                    ApiError::bad_request(format!("cannot hash the file: {m}"))
                }
                marsad_engine::EngineError::Step { context, message } => {
                    ApiError::bad_request(format!("cannot hash the file: {context}: {message}"))
                }
                other => ApiError::from(other),
            })
        })
        .await?;
    let mut out = BTreeMap::new();
    let mut missing = None;
    for name in wanted {
        let t = crate::hma::signal_type(name).unwrap_or(SignalType::Md5);
        match signals.get(t) {
            // python-threatexchange's PDQ signal (and so HMA) gives an empty
            // hash for an image below its quality threshold.
            Some(f) if name == "pdq" && f.quality.is_some_and(|q| q < PDQ_QUALITY_THRESHOLD) => {
                out.insert(name.to_owned(), String::new());
            }
            Some(f) => {
                out.insert(name.to_owned(), f.value.clone());
            }
            // A type asked for by name must be there. Of the content type's
            // defaults, one the file does not give is left out, as long as
            // another is there: HMA hashes any upload named `video` to
            // video_md5 (the MD5 of its bytes), whatever it holds, and
            // marsad's vpdq, an addition, must not turn that into a 400.
            None if types.is_none() => missing = missing.or(Some(name)),
            None => return Err(no_signal(content_type, name, signals.kind.as_str())),
        }
    }
    match missing {
        Some(name) if out.is_empty() => Err(no_signal(content_type, name, signals.kind.as_str())),
        _ => Ok(out),
    }
}

fn no_signal(content_type: &str, name: &str, kind: &str) -> ApiError {
    ApiError::bad_request(format!(
        "cannot hash the file as {content_type}: no {name} signal (the file is taken for {kind})"
    ))
}
