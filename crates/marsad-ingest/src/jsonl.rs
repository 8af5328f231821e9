//! JSON lines: one post per line.
//!
//! ```json
//! {"platform": "telegram", "source": "1000000001", "id": "42",
//!  "timestamp": "2024-01-31T12:00:00Z", "text": "…", "url": "https://…",
//!  "media": ["media/42.jpg"]}
//! ```
//! Required: `platform` (lowercase name), `source` (the platform's id of the
//! channel or account; string or integer), `id` (the post's id within the
//! source; string or integer), `timestamp` (RFC 3339 with an offset).
//! Optional: `text`, `url`, `media` (paths relative to the JSONL file, or
//! absolute), `source_name`, `source_kind`, `edited` (RFC 3339),
//! `forwarded_from`, `reply_to`. Unknown keys are ignored. Blank lines are
//! skipped. Each bad line is reported with its line number and skipped.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use marsad_core::{MediaKind, Platform, SourceKey, UtcTime};
use marsad_store::NewSource;
use marsad_store::prelude::*;
use serde::Deserialize;

use crate::lines::{LineRead, read_line_bounded};
use crate::pipeline::{PendingMedia, PendingPost, Pipeline};
use crate::{IngestConfig, IngestError, IngestSummary, Stages, Unit};

/// Longest line accepted (a post with a long text fits comfortably).
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// A string or an integer, kept as text.
#[derive(Deserialize)]
#[serde(untagged)]
enum Id {
    Int(i64),
    Text(String),
}

impl Id {
    fn into_string(self) -> String {
        match self {
            Id::Int(i) => i.to_string(),
            Id::Text(s) => s,
        }
    }
}

#[derive(Deserialize)]
struct Record {
    platform: String,
    source: Id,
    id: Id,
    timestamp: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    media: Option<Vec<String>>,
    #[serde(default)]
    source_name: Option<String>,
    #[serde(default)]
    source_kind: Option<String>,
    #[serde(default)]
    edited: Option<String>,
    #[serde(default)]
    forwarded_from: Option<String>,
    #[serde(default)]
    reply_to: Option<Id>,
}

/// Ingests a JSON lines file into `store`.
pub fn ingest(
    store: &mut dyn Store,
    path: &Path,
    cfg: &IngestConfig,
    stages: &Stages<'_>,
) -> Result<IngestSummary, IngestError> {
    let reporter = stages.reporter;
    let name = path.display().to_string();
    let io_err = |error| IngestError::Io { path: name.clone(), error };
    let f = File::open(path).map_err(io_err)?;
    let meta = f.metadata().map_err(io_err)?;
    if meta.is_dir() {
        return Err(IngestError::Layout {
            path: name,
            message: "is a directory, expected a JSON lines file".to_owned(),
        });
    }
    let base = path.parent().map(Path::to_owned).unwrap_or_default();
    let mut reader = BufReader::with_capacity(1 << 20, f);
    let mut pipeline = Pipeline::start(store, cfg, stages, "jsonl", &name)?;
    reporter.start("ingesting", None, Unit::Records);
    let mut buf = Vec::new();
    let mut line_no: u64 = 0;
    let result = loop {
        let read = match read_line_bounded(&mut reader, &mut buf, MAX_LINE_BYTES) {
            Ok(Some(r)) => r,
            Ok(None) => break Ok(()),
            Err(e) => break Err(io_err(e)),
        };
        line_no += 1;
        match read {
            LineRead::TooLong { bytes } => {
                pipeline.error(
                    None,
                    Some(line_no),
                    format!("line is {bytes} bytes long, over the limit of {MAX_LINE_BYTES}"),
                );
            }
            LineRead::Line if buf.iter().all(u8::is_ascii_whitespace) => {}
            LineRead::Line => match parse(&buf, &base, &mut pipeline) {
                Ok(mut post) => {
                    post.line = Some(line_no);
                    if let Err(e) = pipeline.push(post) {
                        break Err(e);
                    }
                }
                Err((id, why)) => pipeline.error(id, Some(line_no), why),
            },
        }
    };
    reporter.finish();
    match result {
        Ok(()) => pipeline.finish(true),
        Err(e) => {
            pipeline.abort();
            Err(e)
        }
    }
}

/// Why a line is not a record, in the schema's words rather than the
/// parser's: which field is wrong and what it should be.
fn explain(e: &serde_json::Error, value: Option<&serde_json::Value>) -> String {
    use serde_json::Value;
    let Some(value) = value else {
        return format!("not valid JSON (at column {}): {}", e.column(), parser_words(e));
    };
    let Some(object) = value.as_object() else {
        return "not a JSON object: each line is one post, {\"platform\", \"source\", \"id\", \"timestamp\", …}".to_owned();
    };
    let kind = |v: &Value| match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    for (field, required, ok, want) in [
        ("platform", true, Value::is_string as fn(&Value) -> bool, "a string"),
        ("source", true, |v: &Value| v.is_string() || v.is_i64(), "a string or an integer"),
        ("id", true, |v: &Value| v.is_string() || v.is_i64(), "a string or an integer"),
        ("timestamp", true, Value::is_string, "an RFC 3339 string"),
        ("text", false, Value::is_string, "a string"),
        ("url", false, Value::is_string, "a string"),
        (
            "media",
            false,
            |v: &Value| v.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
            "an array of paths",
        ),
    ] {
        match object.get(field) {
            None if required => return format!("\"{field}\" is missing"),
            Some(Value::Null) if !required => {}
            Some(v) if !ok(v) => return format!("\"{field}\" must be {want}, not {}", kind(v)),
            _ => {}
        }
    }
    parser_words(e)
}

/// serde's message without its position (a line is one record).
fn parser_words(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

fn parse(
    line: &[u8],
    base: &Path,
    pipeline: &mut Pipeline<'_>,
) -> Result<PendingPost, (Option<String>, String)> {
    let r: Record = serde_json::from_slice(line).map_err(|e| {
        let value = serde_json::from_slice::<serde_json::Value>(line).ok();
        let id = value
            .as_ref()
            .and_then(|v| v.get("id").map(|id| id.as_str().map_or_else(|| id.to_string(), str::to_owned)));
        (id, explain(&e, value.as_ref()))
    })?;
    let id = r.id.into_string();
    let fail = |why: String| (Some(id.clone()), why);
    let platform = Platform::new(&r.platform).map_err(|e| fail(e.to_string()))?;
    let source_id = r.source.into_string();
    if source_id.is_empty() {
        return Err(fail("\"source\" is empty".to_owned()));
    }
    if id.is_empty() {
        return Err(fail("\"id\" is empty".to_owned()));
    }
    let posted_at = UtcTime::parse_rfc3339(&r.timestamp).map_err(|e| fail(format!("\"timestamp\": {e}")))?;
    let edited_at = r
        .edited
        .as_deref()
        .map(UtcTime::parse_rfc3339)
        .transpose()
        .map_err(|e| fail(format!("\"edited\": {e}")))?;
    let media = r
        .media
        .unwrap_or_default()
        .into_iter()
        .map(|p| {
            let kind = mime_guess::from_path(&p)
                .first()
                .map_or(MediaKind::Document, |m| MediaKind::from_mime(m.essence_str()));
            let file =
                if p.is_empty() { Err("empty path".to_owned()) } else { crate::media::confine(base, &p) };
            PendingMedia { kind, path: p, file, mime: None, origin: None }
        })
        .collect();
    let source = pipeline.source(NewSource {
        key: SourceKey { platform, platform_id: source_id.clone() },
        name: r.source_name.unwrap_or(source_id),
        kind: r.source_kind.unwrap_or_else(|| "feed".to_owned()),
    });
    Ok(PendingPost {
        source,
        platform_post_id: id,
        posted_at,
        edited_at,
        text: r.text.unwrap_or_default(),
        url: r.url,
        forwarded_from: r.forwarded_from,
        reply_to: r.reply_to.map(Id::into_string),
        media,
        line: None,
    })
}
