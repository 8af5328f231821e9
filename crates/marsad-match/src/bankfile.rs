//! Bank files: what `marsad bank import` reads and `marsad bank export`
//! writes.
//!
//! **CSV** (one signal type per file, given with `--type`): each line is
//! `VALUE` or `VALUE,LABEL`, LABEL free text (an outlet name, a note) stored
//! as the label `label`. The value ends at the first comma, except:
//! - a value in double quotes (CSV quoting, `""` for a quote) may hold
//!   commas and quotes: texts and audio fingerprints are written that way;
//! - a vPDQ value is a JSON array and ends where the array ends;
//! - an unquoted audio value is every leading field that is an integer.
//!
//! Blank lines are skipped, and for types other than text so are lines
//! starting with `#`.
//!
//! **JSON lines**: `{"type": "pdq", "value": "…", "labels": {"outlet": "…"}}`
//! per line; label values are strings (numbers and booleans are taken as
//! their text).
//!
//! A bad line is reported with its number and skipped; the rest is read.
//! Lines longer than [`MAX_LINE_BYTES`] are skipped without being held in
//! memory.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};

use marsad_core::SignalType;
use marsad_ingest::lines::{LineRead, read_line_bounded};
use marsad_store::{BankEntry, NewBankEntry};
use serde::Serialize;

use crate::values::canonical;

/// Longest line read (a vPDQ signal of a ten-hour video at one frame a
/// second is about 3 MB).
pub const MAX_LINE_BYTES: usize = 64 * 1024 * 1024;

/// Entries handed to the sink at a time.
pub const CHUNK: usize = 50_000;

/// The file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `VALUE[,LABEL]` lines of one signal type.
    Csv,
    /// `{"type", "value", "labels"}` per line.
    Jsonl,
}

/// A line that was skipped, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LineError {
    /// 1-based line number.
    pub line: u64,
    /// What is wrong.
    pub error: String,
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.error)
    }
}

/// What reading a bank file found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ReadReport {
    /// Lines read (blank and comment lines included).
    pub lines: u64,
    /// Valid entries read.
    pub entries: u64,
    /// Lines skipped as invalid.
    pub errors_total: u64,
    /// The first invalid lines, in detail.
    pub errors: Vec<LineError>,
}

/// Errors kept in detail.
const MAX_ERROR_DETAILS: usize = 1000;

/// Why reading stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReadError<E: std::error::Error + 'static> {
    /// The file could not be read.
    #[error("reading the bank file: {0}")]
    Io(std::io::Error),
    /// The sink (the store) failed.
    #[error(transparent)]
    Sink(E),
}

// The I/O variant keeps its error in the message, so it is not also a
// `source` (error chains would print it twice): `From` by hand.
impl<E: std::error::Error + 'static> From<std::io::Error> for ReadError<E> {
    fn from(e: std::io::Error) -> Self {
        ReadError::Io(e)
    }
}

/// Reads a bank file, handing valid entries to `sink` in chunks of at most
/// [`CHUNK`]. With CSV, `signal_type` is required; with JSON lines it is
/// optional and, when given, lines of another type are errors.
pub fn read<R: BufRead, E: std::error::Error + 'static>(
    mut reader: R,
    format: Format,
    signal_type: Option<SignalType>,
    mut sink: impl FnMut(&[NewBankEntry]) -> Result<(), E>,
) -> Result<ReadReport, ReadError<E>> {
    let mut report = ReadReport::default();
    let mut buf = Vec::new();
    let mut chunk = Vec::with_capacity(CHUNK.min(4096));
    let fail = |report: &mut ReadReport, line: u64, error: String| {
        report.errors_total += 1;
        if report.errors.len() < MAX_ERROR_DETAILS {
            report.errors.push(LineError { line, error });
        }
    };
    while let Some(read) = read_line_bounded(&mut reader, &mut buf, MAX_LINE_BYTES)? {
        report.lines += 1;
        let line_no = report.lines;
        if let LineRead::TooLong { bytes } = read {
            fail(
                &mut report,
                line_no,
                format!("line of {bytes} bytes is longer than {MAX_LINE_BYTES} bytes; skipped"),
            );
            continue;
        }
        let Ok(line) = std::str::from_utf8(&buf) else {
            fail(&mut report, line_no, "not UTF-8".to_owned());
            continue;
        };
        let line = line.trim_end_matches('\r');
        let parsed = match format {
            Format::Csv => {
                let Some(t) = signal_type else {
                    fail(&mut report, line_no, "CSV bank files need a signal type (--type)".to_owned());
                    continue;
                };
                if line.trim().is_empty() || (t != SignalType::Text && line.trim_start().starts_with('#')) {
                    continue;
                }
                csv_line(line, t)
            }
            Format::Jsonl => {
                if line.trim().is_empty() {
                    continue;
                }
                jsonl_line(line, signal_type)
            }
        };
        match parsed {
            Ok(entry) => {
                report.entries += 1;
                chunk.push(entry);
                if chunk.len() >= CHUNK {
                    sink(&chunk).map_err(ReadError::Sink)?;
                    chunk.clear();
                }
            }
            Err(e) => fail(&mut report, line_no, e),
        }
    }
    if !chunk.is_empty() {
        sink(&chunk).map_err(ReadError::Sink)?;
    }
    Ok(report)
}

fn entry(t: SignalType, value: &str, label: Option<String>) -> Result<NewBankEntry, String> {
    let value = canonical(t, value).map_err(|e| e.to_string())?;
    let mut labels = BTreeMap::new();
    if let Some(l) = label.map(|l| l.trim().to_owned()).filter(|l| !l.is_empty()) {
        labels.insert("label".to_owned(), l);
    }
    Ok(NewBankEntry { signal_type: t, value, labels })
}

/// A CSV-quoted field at the start of `s`: its text and the rest after it.
fn quoted(s: &str) -> Result<(String, &str), String> {
    let mut out = String::new();
    let mut chars = s.char_indices().skip(1).peekable();
    while let Some((i, c)) = chars.next() {
        if c == '"' {
            if let Some(&(_, '"')) = chars.peek() {
                out.push('"');
                chars.next();
            } else {
                return Ok((out, &s[i + 1..]));
            }
        } else {
            out.push(c);
        }
    }
    Err("unterminated quoted value".to_owned())
}

/// The label after a value: nothing, or `,LABEL` (LABEL may be quoted).
fn label_after(rest: &str) -> Result<Option<String>, String> {
    if rest.trim().is_empty() {
        return Ok(None);
    }
    let Some(label) = rest.strip_prefix(',') else {
        return Err(format!("unexpected {:?} after the value", rest.chars().take(20).collect::<String>()));
    };
    if label.trim_start().starts_with('"') {
        let (text, after) = quoted(label.trim_start())?;
        if !after.trim().is_empty() {
            return Err("unexpected text after the quoted label".to_owned());
        }
        return Ok(Some(text));
    }
    Ok(Some(label.to_owned()))
}

fn csv_line(line: &str, t: SignalType) -> Result<NewBankEntry, String> {
    let trimmed = line.trim_start();
    if trimmed.starts_with('{') {
        return Err(
            "a JSON object where a value was expected: JSON lines are read with --format jsonl".to_owned()
        );
    }
    if trimmed.starts_with('"') {
        let (value, rest) = quoted(trimmed)?;
        return entry(t, &value, label_after(rest)?);
    }
    match t {
        SignalType::Vpdq if trimmed.starts_with('[') => {
            let mut stream = serde_json::Deserializer::from_str(trimmed).into_iter::<serde_json::Value>();
            match stream.next() {
                Some(Ok(_)) => {
                    let end = stream.byte_offset();
                    entry(t, &trimmed[..end], label_after(&trimmed[end..])?)
                }
                Some(Err(e)) => Err(format!("invalid vpdq value: {e}")),
                None => Err("empty line".to_owned()),
            }
        }
        SignalType::Audio => {
            let fields: Vec<&str> = trimmed.split(',').collect();
            let numeric = fields
                .iter()
                .take_while(|f| f.trim().parse::<i64>().is_ok() || f.trim().starts_with("FINGERPRINT="))
                .count();
            let numeric = numeric.max(1);
            let value = fields[..numeric].join(",");
            let label = (numeric < fields.len()).then(|| fields[numeric..].join(","));
            entry(t, &value, label)
        }
        _ => match trimmed.split_once(',') {
            Some((value, label)) => {
                let label = if label.trim_start().starts_with('"') {
                    label_after(&format!(",{label}"))?
                } else {
                    Some(label.to_owned())
                };
                entry(t, value, label)
            }
            None => entry(t, trimmed, None),
        },
    }
}

#[derive(serde::Deserialize)]
struct JsonEntry {
    #[serde(rename = "type")]
    signal_type: String,
    value: String,
    #[serde(default)]
    labels: serde_json::Map<String, serde_json::Value>,
}

fn jsonl_line(line: &str, expected: Option<SignalType>) -> Result<NewBankEntry, String> {
    let e: JsonEntry = serde_json::from_str(line).map_err(|e| format!("invalid JSON entry: {e}"))?;
    let t = SignalType::parse(&e.signal_type).ok_or_else(|| {
        format!("unknown signal type {:?} (expected pdq, vpdq, md5, sha256, audio or text)", e.signal_type)
    })?;
    if let Some(want) = expected
        && want != t
    {
        return Err(format!("entry of type {t} in an import of type {want}"));
    }
    let value = canonical(t, &e.value).map_err(|e| e.to_string())?;
    let mut labels = BTreeMap::new();
    for (k, v) in e.labels {
        let text = match v {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            serde_json::Value::Null => continue,
            other => return Err(format!("label {k:?} must be a string, not {other}")),
        };
        labels.insert(k, text);
    }
    Ok(NewBankEntry { signal_type: t, value, labels })
}

/// CSV-quotes `s` when it has a comma, a quote, a line break or a leading
/// space or `#`.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) || s.starts_with([' ', '#']) || s.ends_with(' ') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// The free-text label of an entry in CSV: `label`, else `outlet`, else
/// none (CSV carries one label; JSON lines carry them all).
pub fn csv_label(labels: &BTreeMap<String, String>) -> Option<&str> {
    labels.get("label").or_else(|| labels.get("outlet")).map(String::as_str)
}

/// Writes one entry as a line of the format.
pub fn write_entry(w: &mut impl Write, format: Format, e: &BankEntry) -> std::io::Result<()> {
    match format {
        Format::Jsonl => {
            let line =
                serde_json::json!({ "type": e.signal_type.as_str(), "value": e.value, "labels": e.labels });
            writeln!(w, "{line}")
        }
        Format::Csv => {
            let value = match e.signal_type {
                // A vPDQ array is read back up to its closing bracket.
                SignalType::Vpdq => e.value.clone(),
                _ => csv_field(&e.value),
            };
            match csv_label(&e.labels) {
                Some(l) => writeln!(w, "{value},{}", csv_field(l)),
                None => writeln!(w, "{value}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str, t: SignalType) -> Result<NewBankEntry, String> {
        csv_line(line, t)
    }

    #[test]
    fn csv_values_and_labels() {
        let h = "ab".repeat(32);
        let e = one(&format!("{h},Example Media, with a comma"), SignalType::Pdq).unwrap();
        assert_eq!(e.labels.get("label").map(String::as_str), Some("Example Media, with a comma"));
        let e = one(&format!("{h},\"quoted, \"\"label\"\"\""), SignalType::Pdq).unwrap();
        assert_eq!(e.labels.get("label").map(String::as_str), Some("quoted, \"label\""));
        assert!(one(&h, SignalType::Pdq).unwrap().labels.is_empty());
        let a = one("1,2,-3,Outlet name", SignalType::Audio).unwrap();
        assert_eq!(
            (a.value.as_str(), a.labels.get("label").map(String::as_str)),
            ("1,2,4294967293", Some("Outlet name"))
        );
        let q = one("\"1,2,3\",7", SignalType::Audio).unwrap();
        assert_eq!((q.value.as_str(), q.labels.get("label").map(String::as_str)), ("1,2,3", Some("7")));
        let t = one("\"نص، مع فاصلة\",label", SignalType::Text).unwrap();
        assert_eq!(t.value, "نص مع فاصله");
        let v = format!("[\"{h},100,0.0\"],vpdq label");
        let e = one(&v, SignalType::Vpdq).unwrap();
        assert_eq!(e.labels.get("label").map(String::as_str), Some("vpdq label"));
        assert!(one("\"unterminated", SignalType::Text).is_err());
        assert!(one(&format!("{h}x"), SignalType::Pdq).is_err());
    }
}
