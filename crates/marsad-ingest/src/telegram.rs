//! Telegram Desktop JSON exports: a single-chat export folder (`result.json`
//! with `messages`, plus `photos/`, `files/`, `video_files/`…) or a
//! whole-account export (`chats.list[]`, and `left_chats.list[]`).
//!
//! The file is streamed twice and never held whole:
//! 1. **check**: the structure of the whole file is validated (brackets and
//!    quotes pair up; sections other than messages parse) and each chat's
//!    header (`name`, `type`, `id`) and message count collected, so a file
//!    whose messages cannot be told apart is refused before anything is
//!    written, and the second pass knows every chat's id whatever the key
//!    order;
//! 2. **ingest**: each message's bytes are found by a splitter and parsed on
//!    their own, then handed to the [`Pipeline`]; a message serde_json
//!    refuses (invalid UTF-8, a raw control character, a number out of
//!    range, a field of the wrong type) is reported with its line and id and
//!    skipped, and the splitter goes on at the next message.
//!
//! Messages laid out as Telegram Desktop lays them out (each message's `{`
//! at the start of a line, `"id"` its first key) can be told apart even
//! when one of them cannot be split (a quote or bracket without its pair):
//! both passes skip it to the next line where a message starts (or the
//! messages end), and the second reports it, with its first line and how
//! many lines were skipped. Only when no such line follows is the file
//! refused (the rule is [`crate::scan::Layout`]'s).

use std::borrow::Cow;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use marsad_core::{LocalZone, MediaKind, Platform, SourceKey, UtcTime};
use marsad_store::NewSource;
use marsad_store::prelude::*;
use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::pipeline::{PendingMedia, PendingPost, Pipeline, SourceId};
use crate::scan::{Element, Position, ScanError, Scanner, error_position};
use crate::{IngestConfig, IngestError, IngestSummary, Reporter, Stages, Unit};

/// The header of one chat in an export.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChatHeader {
    /// `name`, when present.
    pub name: Option<String>,
    /// `type` (`public_channel`, `private_supergroup`, …).
    pub kind: Option<String>,
    /// `id`, as decimal text.
    pub id: Option<String>,
    /// Number of entries in `messages`.
    pub messages: u64,
}

/// Where an export's `result.json` is and what it holds.
#[derive(Clone, Debug)]
pub struct ExportLayout {
    /// The `result.json` file.
    pub file: PathBuf,
    /// Folder media paths are relative to.
    pub base: PathBuf,
    /// Chats in order of appearance.
    pub chats: Vec<ChatHeader>,
}

/// Finds `result.json` for a folder or file path.
pub fn locate(path: &Path) -> Result<PathBuf, IngestError> {
    let meta = std::fs::metadata(path)
        .map_err(|error| IngestError::Io { path: path.display().to_string(), error })?;
    if meta.is_dir() {
        let file = path.join("result.json");
        if file.is_file() {
            Ok(file)
        } else {
            Err(IngestError::Layout {
                path: path.display().to_string(),
                message: "no result.json in this folder (expected a Telegram Desktop JSON export)".to_owned(),
            })
        }
    } else {
        Ok(path.to_owned())
    }
}

/// Ingests a Telegram Desktop export (folder or `result.json`) into `store`.
pub fn ingest(
    store: &mut dyn Store,
    path: &Path,
    cfg: &IngestConfig,
    stages: &Stages<'_>,
) -> Result<IngestSummary, IngestError> {
    let reporter = stages.reporter;
    let started = std::time::Instant::now();
    let layout = check(path, reporter)?;
    tracing::info!(
        chats = layout.chats.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "export checked"
    );
    let file_name = layout.file.display().to_string();
    let total: u64 = layout.chats.iter().map(|c| c.messages).sum();
    let mut pipeline = Pipeline::start(store, cfg, stages, "telegram", &file_name)?;
    reporter.start("ingesting", Some(total), Unit::Records);
    let result = stream(&layout.file, Some((&layout, &mut pipeline)), reporter);
    reporter.finish();
    tracing::info!(messages = total, elapsed_ms = started.elapsed().as_millis() as u64, "export read");
    match result {
        Ok(_) => pipeline.finish(true),
        Err(e) => {
            pipeline.abort();
            Err(e)
        }
    }
}

/// First pass: validates the whole file's syntax and collects chat headers.
/// Nothing is written.
pub fn check(path: &Path, reporter: &dyn Reporter) -> Result<ExportLayout, IngestError> {
    let file = locate(path)?;
    let base = file.parent().map(Path::to_owned).unwrap_or_default();
    let size = std::fs::metadata(&file).map(|m| m.len()).ok();
    reporter.start("checking", size, Unit::Bytes);
    let chats = stream(&file, None, reporter);
    reporter.finish();
    Ok(ExportLayout { file, base, chats: chats? })
}

/// Parses export bytes (first pass only): the chat headers, or the syntax or
/// layout error. The entry point for fuzzing the reader.
pub fn check_bytes(bytes: &[u8]) -> Result<Vec<ChatHeader>, IngestError> {
    walk(bytes, "<bytes>", None)
}

/// Counts bytes read for the progress bar, reporting every MiB.
struct Counting<'r, R> {
    inner: R,
    reporter: &'r dyn Reporter,
    unreported: u64,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.unreported += n as u64;
        if self.unreported >= 1 << 20 || n == 0 {
            self.reporter.advance(self.unreported);
            self.unreported = 0;
        }
        Ok(n)
    }
}

/// Largest single value (one message, one skipped section) held in memory.
pub const MAX_VALUE_BYTES: usize = 64 * 1024 * 1024;

fn stream(
    file: &Path,
    process: Option<(&ExportLayout, &mut Pipeline<'_>)>,
    reporter: &dyn Reporter,
) -> Result<Vec<ChatHeader>, IngestError> {
    let name = file.display().to_string();
    let f = File::open(file).map_err(|error| IngestError::Io { path: name.clone(), error })?;
    let progress: &dyn Reporter = if process.is_some() { &crate::NoReporter } else { reporter };
    walk(Counting { inner: f, reporter: progress, unreported: 0 }, &name, process)
}

/// What a walk does with each message: count and validate it (first pass)
/// or ingest it (second pass).
struct Walk<'p, 'a> {
    chats: Vec<ChatHeader>,
    process: Option<(&'p ExportLayout, &'p mut Pipeline<'a>)>,
    /// The source of the chat being read, in the second pass.
    source: Option<Result<SourceId, String>>,
    saw_messages: bool,
}

/// Why a walk stopped.
enum Stop {
    Scan(ScanError),
    Layout(String),
    Fatal(IngestError),
}

impl From<ScanError> for Stop {
    fn from(e: ScanError) -> Self {
        Stop::Scan(e)
    }
}

fn walk<R: Read>(
    reader: R,
    file: &str,
    process: Option<(&ExportLayout, &mut Pipeline<'_>)>,
) -> Result<Vec<ChatHeader>, IngestError> {
    let mut w = Walk { chats: Vec::new(), process, source: None, saw_messages: false };
    let mut scanner = Scanner::new(reader, MAX_VALUE_BYTES);
    let result = top(&mut scanner, &mut w);
    let layout = |message: String| IngestError::Layout { path: file.to_owned(), message };
    match result {
        Ok(()) => {}
        Err(Stop::Fatal(e)) => return Err(e),
        Err(Stop::Layout(message)) => return Err(layout(message)),
        Err(Stop::Scan(ScanError::Io(source))) => {
            return Err(IngestError::Io { path: file.to_owned(), error: source });
        }
        Err(Stop::Scan(ScanError::Syntax(at, message))) => {
            return Err(IngestError::Syntax {
                path: file.to_owned(),
                line: at.line as usize,
                column: at.column as usize,
                message,
            });
        }
        Err(Stop::Scan(ScanError::Unresumed(at))) => {
            return Err(IngestError::Syntax {
                path: file.to_owned(),
                line: at.line as usize,
                column: at.column as usize,
                message: "a message that cannot be split (a quote or bracket without its pair), and no line \
                          after it where a message starts or the messages end"
                    .to_owned(),
            });
        }
        Err(Stop::Scan(ScanError::TooLarge(at, limit))) => {
            return Err(layout(format!(
                "line {}, column {}: a single value is larger than {} MiB",
                at.line,
                at.column,
                limit >> 20
            )));
        }
    }
    if !w.saw_messages {
        return Err(layout(
            "not a Telegram Desktop JSON export: no \"messages\" array and no \"chats\".\"list\" at the top level"
                .to_owned(),
        ));
    }
    Ok(w.chats)
}

/// Parses `bytes` (a value's slice) with serde_json, mapping a syntax error
/// to its position in the file.
fn parse_slice<'de, T: Deserialize<'de>>(at: Position, bytes: &'de [u8]) -> Result<T, Stop> {
    serde_json::from_slice(bytes).map_err(|e| {
        let message = e.to_string();
        let message = message.split(" at line ").next().unwrap_or(&message).to_owned();
        Stop::Scan(ScanError::Syntax(error_position(at, &e), message))
    })
}

/// Skips a value, validating it in the first pass.
fn skip<R: Read>(s: &mut Scanner<R>, w: &Walk<'_, '_>) -> Result<(), Stop> {
    let (at, bytes) = s.value()?;
    if w.process.is_none() {
        parse_slice::<IgnoredAny>(at, bytes)?;
    }
    Ok(())
}

fn key<R: Read>(s: &mut Scanner<R>) -> Result<String, Stop> {
    if s.peek()? != Some(b'"') {
        let at = s.position();
        return Err(Stop::Scan(ScanError::Syntax(at, "expected a key string".to_owned())));
    }
    let (at, bytes) = s.value()?;
    let k = parse_slice::<Cow<'_, str>>(at, bytes)?.into_owned();
    s.expect(b':', "':'")?;
    Ok(k)
}

/// Iterates an object's keys, calling `f` to consume each value.
fn object<R: Read>(
    s: &mut Scanner<R>,
    what: &str,
    mut f: impl FnMut(&mut Scanner<R>, &str) -> Result<(), Stop>,
) -> Result<(), Stop> {
    if s.peek()? != Some(b'{') {
        return Err(Stop::Layout(format!("expected {what}")));
    }
    s.expect(b'{', "'{'")?;
    if s.peek()? == Some(b'}') {
        s.expect(b'}', "'}'")?;
        return Ok(());
    }
    loop {
        let k = key(s)?;
        f(s, &k)?;
        if !s.next_or_close(b'}')? {
            return Ok(());
        }
    }
}

/// Iterates an array's elements, calling `f` to consume each.
fn array<R: Read>(
    s: &mut Scanner<R>,
    what: &str,
    mut f: impl FnMut(&mut Scanner<R>) -> Result<(), Stop>,
) -> Result<(), Stop> {
    if s.peek()? != Some(b'[') {
        return Err(Stop::Layout(format!("expected {what}")));
    }
    s.expect(b'[', "'['")?;
    if s.peek()? == Some(b']') {
        s.expect(b']', "']'")?;
        return Ok(());
    }
    loop {
        f(s)?;
        if !s.next_or_close(b']')? {
            return Ok(());
        }
    }
}

fn top<R: Read>(s: &mut Scanner<R>, w: &mut Walk<'_, '_>) -> Result<(), Stop> {
    match s.peek()? {
        Some(b'{') => {}
        Some(b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n') => {
            return Err(Stop::Layout("expected a Telegram Desktop export object".to_owned()));
        }
        Some(_) => return Err(Stop::Scan(ScanError::Syntax(s.position(), "expected value".to_owned()))),
        None => {
            return Err(Stop::Scan(ScanError::Syntax(s.position(), "EOF while parsing a value".to_owned())));
        }
    }
    // A single-chat export is itself a chat; an account export holds chats
    // in "chats" and "left_chats".
    let mut top_chat: Option<usize> = None;
    object(s, "a Telegram Desktop export object", |s, k| match k {
        "chats" | "left_chats" => {
            object(s, &format!("an object with a \"list\" of chats in {k:?}"), |s, k| {
                if k == "list" {
                    array(s, "an array of chats", |s| {
                        let idx = w.chats.len();
                        w.chats.push(ChatHeader::default());
                        object(s, "a chat object", |s, k| chat_field(s, w, idx, k))
                    })
                } else {
                    skip(s, w)
                }
            })
        }
        "messages" | "name" | "type" | "id" => {
            let idx = *top_chat.get_or_insert_with(|| {
                w.chats.push(ChatHeader::default());
                w.chats.len() - 1
            });
            chat_field(s, w, idx, k)
        }
        _ => skip(s, w),
    })?;
    if !s.at_end()? {
        return Err(Stop::Scan(ScanError::Syntax(s.position(), "trailing characters".to_owned())));
    }
    Ok(())
}

/// A scalar header value: strings and numbers are kept as text.
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Int(i64),
    Text(String),
    Other(IgnoredAny),
}

impl Scalar {
    fn text(self) -> Option<String> {
        match self {
            Scalar::Int(i) => Some(i.to_string()),
            Scalar::Text(s) => Some(s),
            Scalar::Other(_) => None,
        }
    }
}

fn chat_field<R: Read>(s: &mut Scanner<R>, w: &mut Walk<'_, '_>, idx: usize, k: &str) -> Result<(), Stop> {
    let slot = match k {
        "name" => &mut w.chats[idx].name,
        "type" => &mut w.chats[idx].kind,
        "id" => &mut w.chats[idx].id,
        "messages" => return messages(s, w, idx),
        _ => return skip(s, w),
    };
    let (_, bytes) = s.value()?;
    // A header value that serde_json refuses (invalid UTF-8, a control
    // character, a number out of range) does not refuse the export: it is
    // read with bad bytes replaced, or not at all (a chat without a usable
    // id has each of its messages reported).
    *slot = match serde_json::from_slice::<Scalar>(bytes) {
        Ok(v) => v.text(),
        Err(_) => serde_json::from_str::<Scalar>(&cleaned(bytes)).ok().and_then(Scalar::text),
    };
    Ok(())
}

/// `bytes` as text with invalid UTF-8 replaced and control characters
/// turned to spaces: what can still be read of a value serde_json refuses.
fn cleaned(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

fn messages<R: Read>(s: &mut Scanner<R>, w: &mut Walk<'_, '_>, chat: usize) -> Result<(), Stop> {
    w.saw_messages = true;
    w.source = match w.process.as_mut() {
        None => None,
        Some((layout, pipeline)) => {
            let header = layout
                .chats
                .get(chat)
                .ok_or_else(|| Stop::Layout("the export changed while it was being read".to_owned()))?;
            let source = source_of(header);
            pipeline.set_chat(Some(match &source {
                Ok(src) => src.key.to_string(),
                Err(_) => format!("{:?}", header.name.as_deref().unwrap_or("")),
            }));
            Some(source.map(|src| pipeline.source(src)))
        }
    };
    if s.peek()? != Some(b'[') {
        return Err(Stop::Layout("expected an array of messages".to_owned()));
    }
    let open = s.position();
    s.expect(b'[', "'['")?;
    if s.peek()? == Some(b']') {
        s.expect(b']', "']'")?;
        return Ok(());
    }
    // Telegram Desktop writes one message per line, `{` then `"id": …`: a
    // message that cannot be split is skipped to the next such line.
    let layout = s.layout(open, b"\"id\"")?;
    loop {
        let (element, more) = s.element(layout.as_ref())?;
        w.chats[chat].messages += 1;
        match (element, w.process.as_mut(), &w.source) {
            // A message found whole by the splitter: whatever is wrong inside
            // it (invalid UTF-8, a raw control character, a number out of
            // range) is reported and skipped in the second pass, not fatal
            // here.
            (_, None, _) => {}
            (Element::Value(at, bytes), Some((layout, pipeline)), Some(Ok(source))) => {
                let zone = pipeline.config().export_timezone;
                handle_message(pipeline, &layout.base, zone, *source, bytes, at.line).map_err(Stop::Fatal)?;
            }
            (Element::Skipped(skipped), Some((_, pipeline)), Some(Ok(_))) => {
                let lines = skipped.lines;
                pipeline.error(
                    leading_id(&skipped.head),
                    Some(skipped.at.line),
                    format!(
                        "message cannot be split (a quote or bracket without its pair): {lines} line{} skipped, \
                         up to the next message",
                        if lines == 1 { "" } else { "s" }
                    ),
                );
            }
            (Element::Value(at, bytes), Some((_, pipeline)), Some(Err(why))) => {
                pipeline.error(message_id(bytes), Some(at.line), why.clone());
            }
            (Element::Skipped(skipped), Some((_, pipeline)), Some(Err(why))) => {
                pipeline.error(leading_id(&skipped.head), Some(skipped.at.line), why.clone());
            }
            (_, Some(_), None) => {}
        }
        if !more {
            return Ok(());
        }
    }
}

/// The id of a skipped message, when it begins `{"id": DIGITS` (Telegram
/// Desktop writes the id first).
fn leading_id(head: &[u8]) -> Option<String> {
    let ws = |b: &&u8| b.is_ascii_whitespace();
    let mut rest = head.strip_prefix(b"{")?;
    rest = &rest[rest.iter().take_while(ws).count()..];
    rest = rest.strip_prefix(b"\"id\"")?;
    rest = &rest[rest.iter().take_while(ws).count()..];
    rest = rest.strip_prefix(b":")?;
    rest = &rest[rest.iter().take_while(ws).count()..];
    let sign = usize::from(rest.first() == Some(&b'-'));
    let digits = rest[sign..].iter().take_while(|b| b.is_ascii_digit()).count();
    let end = sign + digits;
    // The number must end there, not run on into the cut.
    let ends = matches!(rest.get(end), Some(b',' | b'}' | b' ' | b'\t' | b'\n' | b'\r'));
    (digits > 0 && digits <= 19 && ends).then(|| String::from_utf8_lossy(&rest[..end]).into_owned())
}

fn source_of(h: &ChatHeader) -> Result<NewSource, String> {
    let id = h.id.clone().ok_or_else(|| {
        format!("chat {:?} has no numeric \"id\"; its messages are skipped", h.name.as_deref().unwrap_or(""))
    })?;
    Ok(NewSource {
        key: SourceKey { platform: Platform::telegram(), platform_id: id },
        name: h.name.clone().unwrap_or_default(),
        kind: h.kind.clone().unwrap_or_else(|| "unknown".to_owned()),
    })
}

/// The fields of a message marsad reads; others are ignored.
#[derive(Deserialize)]
struct Message<'a> {
    id: i64,
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    date: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    date_unixtime: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    edited: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    edited_unixtime: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "crate::text::flatten")]
    text: Option<String>,
    #[serde(borrow, default)]
    forwarded_from: Option<Cow<'a, str>>,
    #[serde(default)]
    reply_to_message_id: Option<i64>,
    #[serde(borrow, default)]
    photo: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    file: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    media_type: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    mime_type: Option<Cow<'a, str>>,
    #[serde(default)]
    poll: Option<Poll>,
    #[serde(default)]
    todo_list: Option<TodoList>,
    #[serde(borrow, default)]
    sticker_emoji: Option<Cow<'a, str>>,
}

/// A poll as Telegram Desktop writes it: `{"question": TEXT, "closed",
/// "total_voters", "answers": [{"text": TEXT, "voters", "chosen"}]}`, where
/// TEXT is a string or an array of text parts like a message's `text`.
#[derive(Deserialize)]
struct Poll {
    #[serde(default, deserialize_with = "crate::text::flatten")]
    question: Option<String>,
    #[serde(default)]
    answers: Vec<Choice>,
}

/// A to-do list: `{"title": TEXT, "others_can_append",
/// "others_can_complete", "answers": [{"text": TEXT, "id"}]}` (its items
/// are written under `answers`, as a poll's are; `items` is read too).
#[derive(Deserialize)]
struct TodoList {
    #[serde(default, deserialize_with = "crate::text::flatten")]
    title: Option<String>,
    #[serde(default, alias = "items")]
    answers: Vec<Choice>,
}

/// A poll answer or a to-do item.
#[derive(Deserialize)]
struct Choice {
    #[serde(default, deserialize_with = "crate::text::flatten")]
    text: Option<String>,
}

impl Message<'_> {
    /// The post's text: the message's text, then a poll's question and
    /// answers, a to-do list's title and items, and a sticker's emoji, one
    /// per line (empty parts left out).
    fn full_text(&mut self) -> String {
        let mut parts: Vec<String> = Vec::new();
        parts.extend(self.text.take());
        if let Some(poll) = self.poll.take() {
            parts.extend(poll.question);
            parts.extend(poll.answers.into_iter().filter_map(|a| a.text));
        }
        if let Some(todo) = self.todo_list.take() {
            parts.extend(todo.title);
            parts.extend(todo.answers.into_iter().filter_map(|a| a.text));
        }
        parts.extend(self.sticker_emoji.take().map(Cow::into_owned));
        parts.retain(|p| !p.is_empty());
        parts.join("\n")
    }
}

/// The id of a message that failed to parse, if it can be read: the
/// message is read again with invalid UTF-8 replaced and control characters
/// turned to spaces, so that a bad byte elsewhere in it does not hide its id.
fn message_id(raw: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct IdOnly {
        id: Option<serde_json::Value>,
    }
    let parsed = serde_json::from_slice::<IdOnly>(raw)
        .ok()
        .or_else(|| serde_json::from_str::<IdOnly>(&cleaned(raw)).ok())?;
    parsed.id.map(|v| match v {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    })
}

fn handle_message(
    pipeline: &mut Pipeline<'_>,
    base: &Path,
    zone: LocalZone,
    source: SourceId,
    raw: &[u8],
    line: u64,
) -> Result<(), IngestError> {
    let mut m: Message<'_> = match serde_json::from_slice(raw) {
        Ok(m) => m,
        Err(e) => {
            let what = e.to_string();
            let what = what.split(" at line ").next().unwrap_or(&what).to_owned();
            pipeline.error(message_id(raw), Some(line), what);
            return Ok(());
        }
    };
    let id = m.id.to_string();
    match m.kind.as_deref() {
        Some("service") => {
            pipeline.service_skipped();
            return Ok(());
        }
        // What Telegram Desktop could not export (`{"id", "type":
        // "unsupported"}`): nothing to ingest, counted.
        Some("unsupported") => {
            pipeline.unsupported_skipped();
            return Ok(());
        }
        _ => {}
    }
    let posted_at = match time_of(m.date_unixtime.as_deref(), m.date.as_deref(), zone) {
        Ok(Some(t)) => t,
        Ok(None) => {
            pipeline.error(Some(id), Some(line), "message has no \"date_unixtime\" or \"date\"".to_owned());
            return Ok(());
        }
        Err(e) => {
            pipeline.error(Some(id), Some(line), e);
            return Ok(());
        }
    };
    let edited_at = match time_of(m.edited_unixtime.as_deref(), m.edited.as_deref(), zone) {
        Ok(t) => t,
        Err(e) => {
            pipeline.error(Some(id), Some(line), e);
            return Ok(());
        }
    };
    let mut media = Vec::new();
    if let Some(photo) = m.photo.as_deref() {
        media.push(pending_media(base, photo, MediaKind::Image, None));
    }
    if let Some(file) = m.file.as_deref() {
        let kind = file_kind(m.media_type.as_deref(), m.mime_type.as_deref(), file);
        media.push(pending_media(base, file, kind, m.mime_type.as_deref()));
    }
    let text = m.full_text();
    pipeline.push(PendingPost {
        source,
        platform_post_id: id,
        posted_at,
        edited_at,
        text,
        url: None,
        forwarded_from: m.forwarded_from.map(Cow::into_owned),
        reply_to: m.reply_to_message_id.map(|r| r.to_string()),
        media,
        line: Some(line),
    })
}

/// `date_unixtime` (UTC) when present, else `date`: with its own offset
/// when it has one, else in the export's zone (`--export-timezone`).
fn time_of(unix: Option<&str>, local: Option<&str>, zone: LocalZone) -> Result<Option<UtcTime>, String> {
    match (unix, local) {
        (Some(u), _) => UtcTime::parse_unix_seconds(u).map(Some).map_err(|e| e.to_string()),
        (None, Some(d)) => UtcTime::parse_export_date(d, zone).map(Some).map_err(|e| e.to_string()),
        (None, None) => Ok(None),
    }
}

/// The kind of a `file` attachment from Telegram's `media_type`, else its
/// MIME type, else its extension.
fn file_kind(media_type: Option<&str>, mime: Option<&str>, path: &str) -> MediaKind {
    match media_type {
        Some("video_file" | "animation" | "video_message") => MediaKind::Video,
        Some("voice_message" | "audio_file") => MediaKind::Audio,
        Some("sticker") => match mime {
            Some(m) => MediaKind::from_mime(m),
            None => MediaKind::Image,
        },
        _ => match mime {
            Some(m) => MediaKind::from_mime(m),
            None => mime_guess::from_path(path)
                .first()
                .map_or(MediaKind::Document, |m| MediaKind::from_mime(m.essence_str())),
        },
    }
}

/// A media reference: Telegram writes `(File not included. …)` or `(File
/// exceeds maximum size. …)` in place of a path for files it did not export.
fn pending_media(base: &Path, path: &str, kind: MediaKind, mime: Option<&str>) -> PendingMedia {
    let file = if path.starts_with('(') {
        Err(format!("not included in the export: {path}"))
    } else if path.is_empty() {
        Err("empty path".to_owned())
    } else {
        crate::media::confine(base, path)
    };
    PendingMedia { kind, path: path.to_owned(), file, mime: mime.map(str::to_owned), origin: None }
}
