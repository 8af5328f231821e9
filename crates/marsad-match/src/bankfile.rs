//! Bank files: what `marsad bank import` reads and `marsad bank export`
//! writes.
//!
//! **CSV** (one signal type per file, given with `--type`), read by
//! `csv-core`: each record is `VALUE` or `VALUE,LABEL`, LABEL free text (an
//! outlet name, a note) stored as the label `label`. The value is the first
//! field, except:
//! - a field in double quotes (CSV quoting, `""` for a quote) may hold
//!   commas, quotes and line breaks (a quoted field across lines is one
//!   record): texts and audio fingerprints are written that way;
//! - a vPDQ value is a JSON array and ends where the array ends (vPDQ
//!   files are read line by line: a JSON array holds no line break);
//! - an unquoted audio value is every leading field that is an integer;
//! - the fields after the value, joined by commas, are the label.
//!
//! A UTF-8 byte-order mark is skipped. Blank lines are skipped, and for
//! types other than text so are lines starting with `#`.
//!
//! **JSON lines**: `{"type": "pdq", "value": "…", "labels": {"outlet": "…"}}`
//! per line; label values are strings (numbers and booleans are taken as
//! their text).
//!
//! A bad line is reported with its number (a CSV record, with the line it
//! starts on) and skipped; the rest is read. Lines and records longer than
//! [`MAX_LINE_BYTES`] are skipped without being held in memory, so one
//! line costs at most a small multiple of that bound; entries are handed
//! over in chunks of at most [`CHUNK`] entries and [`CHUNK_BYTES`] bytes.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};

use marsad_core::SignalType;
use marsad_ingest::lines::{LineRead, read_line_bounded};
use marsad_store::{BankEntry, NewBankEntry};
use serde::Serialize;

use crate::values::canonical;

/// Longest line or CSV record read (a vPDQ signal of a ten-hour video at
/// one frame a second is about 3 MB, its audio fingerprint about 3.3 MB).
/// Parsing a value costs a few times its length, so this bounds the memory
/// of one entry.
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// Most fields in one CSV record (an audio fingerprint is one field per
/// item: about 290,000 for ten hours).
const MAX_FIELDS: usize = MAX_LINE_BYTES / 8;

/// Entries handed to the sink at a time.
pub const CHUNK: usize = 50_000;

/// Bytes of values handed to the sink at a time, at most (besides the
/// last entry): long values make short chunks.
pub const CHUNK_BYTES: usize = 64 * 1024 * 1024;

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
/// [`CHUNK`] entries (and about [`CHUNK_BYTES`] bytes). With CSV,
/// `signal_type` is required; with JSON lines it is optional and, when
/// given, lines of another type are errors.
pub fn read<R: BufRead, E: std::error::Error + 'static>(
    mut reader: R,
    format: Format,
    signal_type: Option<SignalType>,
    mut sink: impl FnMut(&[NewBankEntry]) -> Result<(), E>,
) -> Result<ReadReport, ReadError<E>> {
    let mut report = ReadReport::default();
    let mut chunk = Chunk { entries: Vec::with_capacity(CHUNK.min(4096)), bytes: 0 };
    let mut accept = |report: &mut ReadReport,
                      chunk: &mut Chunk,
                      line: u64,
                      parsed: Result<NewBankEntry, String>|
     -> Result<(), ReadError<E>> {
        match parsed {
            Ok(entry) => {
                report.entries += 1;
                chunk.bytes += entry.value.len();
                chunk.entries.push(entry);
                if chunk.entries.len() >= CHUNK || chunk.bytes >= CHUNK_BYTES {
                    sink(&chunk.entries).map_err(ReadError::Sink)?;
                    chunk.entries.clear();
                    chunk.bytes = 0;
                }
            }
            Err(e) => fail(report, line, e),
        }
        Ok(())
    };
    match format {
        Format::Csv => {
            let Some(t) = signal_type else {
                fail(&mut report, 1, "CSV bank files need a signal type (--type)".to_owned());
                return Ok(report);
            };
            let mut records = Records::new(reader, t);
            while let Some(rec) = records.next()? {
                let line = rec.line;
                let parsed = match rec.kind {
                    RecordKind::TooLong => Err(format!(
                        "record longer than {MAX_LINE_BYTES} bytes or of more than {MAX_FIELDS} fields; skipped"
                    )),
                    RecordKind::Unterminated => Err("unterminated quoted value".to_owned()),
                    RecordKind::Fields => match records.fields() {
                        None => Err("not UTF-8".to_owned()),
                        Some(fields) if is_blank(&fields) => continue,
                        Some(fields) => csv_record(&fields, t).map_err(|e| {
                            if rec.lines > 1 {
                                format!("{e} (in a record of {} lines, from a quoted field)", rec.lines)
                            } else {
                                e
                            }
                        }),
                    },
                };
                accept(&mut report, &mut chunk, line, parsed)?;
            }
            report.lines = records.lines_read();
        }
        Format::Jsonl => {
            let mut buf = Vec::new();
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
                // A byte-order mark before the first line is not part of it.
                let bytes =
                    if line_no == 1 { buf.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&buf) } else { &buf };
                let Ok(line) = std::str::from_utf8(bytes) else {
                    fail(&mut report, line_no, "not UTF-8".to_owned());
                    continue;
                };
                let line = line.trim_end_matches('\r');
                if line.trim().is_empty() {
                    continue;
                }
                accept(&mut report, &mut chunk, line_no, jsonl_line(line, signal_type))?;
            }
        }
    }
    if !chunk.entries.is_empty() {
        sink(&chunk.entries).map_err(ReadError::Sink)?;
    }
    Ok(report)
}

/// Entries waiting for the sink.
struct Chunk {
    entries: Vec<NewBankEntry>,
    bytes: usize,
}

fn fail(report: &mut ReadReport, line: u64, error: String) {
    report.errors_total += 1;
    if report.errors.len() < MAX_ERROR_DETAILS {
        report.errors.push(LineError { line, error });
    }
}

fn is_blank(fields: &[&str]) -> bool {
    fields.iter().all(|f| f.trim().is_empty())
}

/// What the CSV reader found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RecordKind {
    /// A record, its fields in [`Records::fields`].
    Fields,
    /// A record over the bounds, skipped (not held).
    TooLong,
    /// A quoted field still open at the end of the file.
    Unterminated,
}

/// One CSV record.
#[derive(Clone, Copy, Debug)]
struct Record {
    /// The line it starts on.
    line: u64,
    /// Lines it spans.
    lines: u64,
    kind: RecordKind,
}

/// The records of a CSV bank file, read with `csv-core` from a buffered
/// reader into a buffer of at most [`MAX_LINE_BYTES`]: a longer record is
/// read through to its end and skipped.
struct Records<R> {
    r: R,
    csv: csv_core::Reader,
    /// Lines starting with `#` are comments (all types but text).
    comments: bool,
    /// Whether double quotes open quoted fields (all types but vPDQ).
    quoting: bool,
    /// The line the reader is on (1-based).
    line: u64,
    /// Whether the file ended with a line break (for the line count).
    ended_with_newline: bool,
    started: bool,
    out: Vec<u8>,
    nout: usize,
    ends: Vec<usize>,
    nend: usize,
}

impl<R: BufRead> Records<R> {
    fn new(r: R, t: SignalType) -> Self {
        // A vPDQ value is a JSON array whose strings are quoted: read line
        // by line, the value parsed from the whole line.
        let quoting = t != SignalType::Vpdq;
        let csv = csv_core::ReaderBuilder::new().quoting(quoting).build();
        Records {
            r,
            csv,
            quoting,
            comments: t != SignalType::Text,
            line: 1,
            ended_with_newline: true,
            started: false,
            out: Vec::new(),
            nout: 0,
            ends: Vec::new(),
            nend: 0,
        }
    }

    /// Lines read (blank and comment lines included).
    fn lines_read(&self) -> u64 {
        if self.ended_with_newline { self.line - 1 } else { self.line }
    }

    /// Skips blank lines and comments before a record.
    fn skip_between(&mut self) -> std::io::Result<()> {
        let mut in_comment = false;
        loop {
            let buf = self.r.fill_buf()?;
            if buf.is_empty() {
                return Ok(());
            }
            if !self.started {
                self.started = true;
                if buf.starts_with(b"\xef\xbb\xbf") {
                    self.r.consume(3);
                    continue;
                }
            }
            if in_comment {
                match buf.iter().position(|&b| b == b'\n') {
                    Some(at) => {
                        self.r.consume(at + 1);
                        self.line += 1;
                        self.ended_with_newline = true;
                        in_comment = false;
                    }
                    None => {
                        let n = buf.len();
                        self.r.consume(n);
                        self.ended_with_newline = false;
                    }
                }
                continue;
            }
            match buf[0] {
                b'\n' => {
                    self.r.consume(1);
                    self.line += 1;
                    self.ended_with_newline = true;
                }
                b'\r' => self.r.consume(1),
                _ => {
                    let first = buf.iter().find(|&&b| b != b' ' && b != b'\t');
                    if self.comments && first == Some(&b'#') {
                        in_comment = true;
                        continue;
                    }
                    return Ok(());
                }
            }
        }
    }

    /// The next record, or `None` at the end of the file.
    fn next(&mut self) -> std::io::Result<Option<Record>> {
        use csv_core::ReadRecordResult as R;
        self.skip_between()?;
        let line = self.line;
        self.nout = 0;
        self.nend = 0;
        let mut too_long = false;
        let mut quotes = 0u64;
        let mut newlines = 0u64;
        let mut at_eof;
        loop {
            if self.nout == self.out.len() {
                if too_long || self.out.len() >= MAX_LINE_BYTES {
                    too_long = true;
                    self.nout = 0;
                    self.out.resize(self.out.len().max(64 * 1024), 0);
                } else {
                    let grown = (self.out.len() * 2).clamp(4096, MAX_LINE_BYTES);
                    self.out.resize(grown, 0);
                }
            }
            if self.nend == self.ends.len() {
                if too_long || self.ends.len() >= MAX_FIELDS {
                    too_long = true;
                    self.nend = 0;
                    self.ends.resize(self.ends.len().max(1024), 0);
                } else {
                    let grown = (self.ends.len() * 2).clamp(64, MAX_FIELDS);
                    self.ends.resize(grown, 0);
                }
            }
            let input = self.r.fill_buf()?;
            at_eof = input.is_empty();
            let (res, nin, nout, nend) =
                self.csv.read_record(input, &mut self.out[self.nout..], &mut self.ends[self.nend..]);
            let consumed = &input[..nin];
            let n = consumed.iter().filter(|&&b| b == b'\n').count() as u64;
            newlines += n;
            quotes += consumed.iter().filter(|&&b| b == b'"').count() as u64;
            if let Some(&last) = consumed.last() {
                self.ended_with_newline = last == b'\n';
            }
            self.line += n;
            self.r.consume(nin);
            self.nout += nout;
            self.nend += nend;
            match res {
                R::InputEmpty | R::OutputFull | R::OutputEndsFull => {}
                R::Record => break,
                R::End => return Ok(None),
            }
        }
        // The record's own line breaks: all but the one that ends it.
        let lines = 1 + newlines - u64::from(newlines > 0 && self.ended_with_newline);
        let kind = match too_long {
            true => RecordKind::TooLong,
            // Quotes pair up in closed quoted fields: an odd count at the
            // end of the file is a quote left open (csv-core would take
            // the rest of the file as the field).
            false if at_eof && self.quoting && quotes % 2 == 1 => RecordKind::Unterminated,
            false => RecordKind::Fields,
        };
        Ok(Some(Record { line, lines, kind }))
    }

    /// The fields of the last record, if it is UTF-8.
    fn fields(&self) -> Option<Vec<&str>> {
        let text = std::str::from_utf8(&self.out[..self.nout]).ok()?;
        let mut start = 0;
        let mut fields = Vec::with_capacity(self.nend);
        for &end in &self.ends[..self.nend] {
            fields.push(text.get(start..end)?);
            start = end;
        }
        Some(fields)
    }
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

/// One CSV record of fields.
fn csv_record(fields: &[&str], t: SignalType) -> Result<NewBankEntry, String> {
    if t == SignalType::Vpdq {
        // Read with quoting off: the fields joined are the line.
        return csv_line(&fields.join(","), t);
    }
    let Some((first, rest)) = fields.split_first() else { return Err("empty record".to_owned()) };
    if first.trim_start().starts_with('{') {
        return Err(
            "a JSON object where a value was expected: JSON lines are read with --format jsonl".to_owned()
        );
    }
    let joined = |fields: &[&str]| (!fields.is_empty()).then(|| fields.join(","));
    if t == SignalType::Audio {
        let numeric = fields
            .iter()
            .take_while(|f| f.trim().parse::<i64>().is_ok() || f.trim().starts_with("FINGERPRINT="))
            .count()
            .max(1);
        return entry(t, &fields[..numeric].join(","), joined(&fields[numeric..]));
    }
    entry(t, first, joined(rest))
}

/// One line of a vPDQ CSV file.
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

    /// The entries and errors of a CSV file of type `t`.
    fn csv(text: &[u8], t: SignalType) -> (Vec<NewBankEntry>, ReadReport) {
        let mut entries = Vec::new();
        let report = read(text, Format::Csv, Some(t), |chunk| {
            entries.extend_from_slice(chunk);
            Ok::<(), std::io::Error>(())
        })
        .unwrap();
        (entries, report)
    }

    /// The one entry of a one-line CSV file, or its error.
    fn one(line: &str, t: SignalType) -> Result<NewBankEntry, String> {
        let (mut entries, report) = csv(line.as_bytes(), t);
        match report.errors.first() {
            Some(e) => Err(e.error.clone()),
            None => {
                assert_eq!(entries.len(), 1, "{line:?}");
                Ok(entries.remove(0))
            }
        }
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

    #[test]
    fn csv_records_span_quoted_line_breaks_and_skip_a_byte_order_mark() {
        let h = |c: char| c.to_string().repeat(64);
        // The old line-based reader imported "continued" as a text of its own
        // and lost the first hash to the mark.
        let text = "\u{feff}\"first line\nsecond line\",label one\n\n# not a comment for text\nlast";
        let (entries, report) = csv(text.as_bytes(), SignalType::Text);
        let values: Vec<&str> = entries.iter().map(|e| e.value.as_str()).collect();
        assert_eq!(values.len(), 3, "{values:?}");
        assert!(values[0].contains("first line") && values[0].contains("second line"), "{values:?}");
        assert_eq!(entries[0].labels.get("label").map(String::as_str), Some("label one"));
        assert_eq!(report.errors_total, 0);
        assert_eq!(report.lines, 5);
        let pdq = format!("\u{feff}{}\n\"a\nb\",x\nzz,label\n{}\n", h('a'), h('b'));
        let (entries, report) = csv(pdq.as_bytes(), SignalType::Pdq);
        assert_eq!(entries.iter().map(|e| e.value.clone()).collect::<Vec<_>>(), [h('a'), h('b')]);
        // Errors name the line a record starts on.
        let lines: Vec<u64> = report.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 4], "{:?}", report.errors);
        assert!(report.errors[0].error.contains("2 lines"), "{:?}", report.errors);
        // CRLF line ends and a final line without one.
        let crlf = format!("{}\r\n\r\nbad\r\n{}", h('c'), h('d'));
        let (entries, report) = csv(crlf.as_bytes(), SignalType::Pdq);
        assert_eq!(entries.len(), 2);
        assert_eq!(report.errors.iter().map(|e| e.line).collect::<Vec<_>>(), [3]);
        assert_eq!(report.lines, 4);
    }

    #[test]
    fn csv_quotes_left_open_and_overlong_records_are_errors_not_entries() {
        let h = "e".repeat(64);
        let (entries, report) = csv(format!("{h}\n\"open text\nmore").as_bytes(), SignalType::Text);
        assert_eq!(entries.len(), 1);
        assert_eq!(report.errors.len(), 1);
        assert!(report.errors[0].error.contains("unterminated"), "{:?}", report.errors);
        assert_eq!(report.errors[0].line, 2);
        // A record over the bound between two good ones, quoted across
        // lines: skipped whole, the next one read, the line named.
        let mut big = format!("{h}\n\"");
        big.push_str(&"x\n".repeat(MAX_LINE_BYTES / 2 + 10));
        big.push_str(&format!("\",label\n{h}\n"));
        let (entries, report) = csv(big.as_bytes(), SignalType::Text);
        assert_eq!(entries.len(), 2, "{:?}", report.errors);
        assert_eq!(report.errors.len(), 1);
        assert_eq!(report.errors[0].line, 2);
        assert!(report.errors[0].error.contains("longer than"), "{:?}", report.errors);
        // Many empty fields are bounded too.
        let fields = format!("1{}\n1,2,3\n", ",".repeat(MAX_FIELDS + 5));
        let (entries, report) = csv(fields.as_bytes(), SignalType::Audio);
        assert_eq!(entries.len(), 1);
        assert_eq!(report.errors.iter().map(|e| e.line).collect::<Vec<_>>(), [1]);
    }

    #[test]
    fn chunks_are_bounded_by_bytes_as_well_as_entries() {
        // Audio values of about 1 MB each: 100 of them in chunks of at most
        // CHUNK_BYTES (plus one entry).
        let value = vec!["123456"; 150_000].join(",");
        let file = format!("{value}\n").repeat(100);
        let mut sizes = Vec::new();
        read(file.as_bytes(), Format::Csv, Some(SignalType::Audio), |chunk| {
            sizes.push(chunk.iter().map(|e| e.value.len()).sum::<usize>());
            Ok::<(), std::io::Error>(())
        })
        .unwrap();
        assert!(sizes.len() > 1, "{sizes:?}");
        assert!(sizes.iter().all(|&b| b <= CHUNK_BYTES + value.len()), "{sizes:?}");
    }

    #[test]
    fn jsonl_skips_a_byte_order_mark() {
        let h = "f".repeat(64);
        let file = format!("\u{feff}{{\"type\": \"pdq\", \"value\": \"{h}\"}}\n");
        let mut n = 0;
        let report = read(file.as_bytes(), Format::Jsonl, None, |c| {
            n += c.len();
            Ok::<(), std::io::Error>(())
        })
        .unwrap();
        assert_eq!((n, report.errors_total), (1, 0), "{:?}", report.errors);
    }
}
