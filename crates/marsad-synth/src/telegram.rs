//! The Telegram Desktop JSON export format: messages, chats, whole-account
//! exports, and a writer that reproduces Telegram's one-space indentation.
//!
//! Keys are written in the order Telegram Desktop writes them and optional
//! keys are left out rather than written as `null`, as in real exports.

use std::io::{self, Write};

use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::ser::Formatter;

use crate::clock::Stamp;

/// What Telegram writes in place of a media path the user chose not to
/// download.
pub const NOT_INCLUDED: &str = "(File not included. Change data exporting settings to download.)";

/// The `type` of a chat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChatKind {
    PublicChannel,
    PublicSupergroup,
}

impl ChatKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ChatKind::PublicChannel => "public_channel",
            ChatKind::PublicSupergroup => "public_supergroup",
        }
    }
}

/// The kind of a text entity (`text_entities[].type`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum EntityKind {
    Plain,
    Bold,
    Italic,
    Hashtag,
    Link,
    Mention,
    TextLink { href: String },
}

impl EntityKind {
    fn as_str(&self) -> &'static str {
        match self {
            EntityKind::Plain => "plain",
            EntityKind::Bold => "bold",
            EntityKind::Italic => "italic",
            EntityKind::Hashtag => "hashtag",
            EntityKind::Link => "link",
            EntityKind::Mention => "mention",
            EntityKind::TextLink { .. } => "text_link",
        }
    }
}

/// One run of text with its formatting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Part {
    pub kind: EntityKind,
    pub text: String,
}

impl Part {
    pub(crate) fn plain(text: impl Into<String>) -> Part {
        Part { kind: EntityKind::Plain, text: text.into() }
    }

    pub(crate) fn new(kind: EntityKind, text: impl Into<String>) -> Part {
        Part { kind, text: text.into() }
    }
}

/// A message's text: written as a plain string when it has no formatting,
/// as an array of strings and entity objects otherwise.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct RichText {
    pub parts: Vec<Part>,
}

impl RichText {
    pub(crate) fn plain(text: impl Into<String>) -> RichText {
        RichText { parts: vec![Part::plain(text)] }
    }

    fn is_plain(&self) -> bool {
        self.parts.iter().all(|p| p.kind == EntityKind::Plain)
    }

    /// The text without formatting.
    pub(crate) fn to_plain_string(&self) -> String {
        self.parts.iter().map(|p| p.text.as_str()).collect()
    }
}

/// `"text"`: a string, or an array of strings (plain runs) and objects.
struct TextField<'a>(&'a RichText);

impl Serialize for TextField<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.is_plain() {
            return s.collect_str(&PlainConcat(self.0));
        }
        s.collect_seq(
            self.0
                .parts
                .iter()
                .filter(|p| !p.text.is_empty())
                .map(|p| if p.kind == EntityKind::Plain { Run::Plain(&p.text) } else { Run::Entity(p) }),
        )
    }
}

struct PlainConcat<'a>(&'a RichText);

impl std::fmt::Display for PlainConcat<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.parts.iter().try_for_each(|p| f.write_str(&p.text))
    }
}

enum Run<'a> {
    Plain(&'a str),
    Entity(&'a Part),
}

impl Serialize for Run<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Run::Plain(text) => s.serialize_str(text),
            Run::Entity(part) => EntityObject(part).serialize(s),
        }
    }
}

/// `{"type": "bold", "text": "…"}` (plus `href` for text links).
struct EntityObject<'a>(&'a Part);

impl Serialize for EntityObject<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("type", self.0.kind.as_str())?;
        m.serialize_entry("text", &self.0.text)?;
        if let EntityKind::TextLink { href } = &self.0.kind {
            m.serialize_entry("href", href)?;
        }
        m.end()
    }
}

/// `"text_entities"`: every run as an object, plain runs included.
struct EntitiesField<'a>(&'a RichText);

impl Serialize for EntitiesField<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.parts.iter().filter(|p| !p.text.is_empty()).map(EntityObject))
    }
}

/// Where a media reference points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum MediaPath {
    /// A path relative to the folder of the `result.json`.
    Included(String),
    /// The file was not downloaded; Telegram writes [`NOT_INCLUDED`].
    NotIncluded,
}

impl MediaPath {
    fn as_str(&self) -> &str {
        match self {
            MediaPath::Included(p) => p,
            MediaPath::NotIncluded => NOT_INCLUDED,
        }
    }
}

/// The media attached to a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Media {
    /// A compressed photo (`"photo"`, `"width"`, `"height"`).
    Photo { path: MediaPath, width: u32, height: u32 },
    /// Any file sent as a document (`"file"` and friends).
    File {
        path: MediaPath,
        file_name: String,
        media_type: Option<&'static str>,
        mime_type: &'static str,
        duration_seconds: Option<u32>,
    },
}

/// A service message's action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    PinMessage { message_id: i64 },
    JoinGroupByLink { inviter: String },
}

/// The body of a regular message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Post {
    pub from: String,
    pub from_id: String,
    pub forwarded_from: Option<String>,
    pub reply_to_message_id: Option<i64>,
    pub media: Option<Media>,
    pub text: RichText,
}

/// What a message is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Body {
    Post(Post),
    Service { actor: String, actor_id: String, action: Action },
}

/// One entry of a chat's `messages`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Message {
    pub id: i64,
    pub date: Stamp,
    pub edited: Option<Stamp>,
    pub body: Body,
}

impl Serialize for Message {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("id", &self.id)?;
        let kind = match self.body {
            Body::Post(_) => "message",
            Body::Service { .. } => "service",
        };
        m.serialize_entry("type", kind)?;
        m.serialize_entry("date", &Display(self.date.iso()))?;
        m.serialize_entry("date_unixtime", &Display(self.date.unix))?;
        if let Some(edited) = self.edited {
            m.serialize_entry("edited", &Display(edited.iso()))?;
            m.serialize_entry("edited_unixtime", &Display(edited.unix))?;
        }
        let empty = RichText::default();
        let text = match &self.body {
            Body::Post(post) => {
                m.serialize_entry("from", &post.from)?;
                m.serialize_entry("from_id", &post.from_id)?;
                if let Some(f) = &post.forwarded_from {
                    m.serialize_entry("forwarded_from", f)?;
                }
                if let Some(r) = post.reply_to_message_id {
                    m.serialize_entry("reply_to_message_id", &r)?;
                }
                match &post.media {
                    None => {}
                    Some(Media::Photo { path, width, height }) => {
                        m.serialize_entry("photo", path.as_str())?;
                        m.serialize_entry("width", width)?;
                        m.serialize_entry("height", height)?;
                    }
                    Some(Media::File { path, file_name, media_type, mime_type, duration_seconds }) => {
                        m.serialize_entry("file", path.as_str())?;
                        m.serialize_entry("file_name", file_name)?;
                        if let Some(t) = media_type {
                            m.serialize_entry("media_type", t)?;
                        }
                        m.serialize_entry("mime_type", mime_type)?;
                        if let Some(d) = duration_seconds {
                            m.serialize_entry("duration_seconds", d)?;
                        }
                    }
                }
                &post.text
            }
            Body::Service { actor, actor_id, action } => {
                m.serialize_entry("actor", actor)?;
                m.serialize_entry("actor_id", actor_id)?;
                match action {
                    Action::PinMessage { message_id } => {
                        m.serialize_entry("action", "pin_message")?;
                        m.serialize_entry("message_id", message_id)?;
                    }
                    Action::JoinGroupByLink { inviter } => {
                        m.serialize_entry("action", "join_group_by_link")?;
                        m.serialize_entry("inviter", inviter)?;
                    }
                }
                &empty
            }
        };
        m.serialize_entry("text", &TextField(text))?;
        m.serialize_entry("text_entities", &EntitiesField(text))?;
        m.end()
    }
}

/// Serializes any `Display` value as a JSON string.
struct Display<T>(T);

impl<T: std::fmt::Display> Serialize for Display<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// One chat with its messages: a single-chat export's whole document, or
/// an entry of a whole-account export's `chats.list`.
#[derive(Clone, Debug)]
pub(crate) struct Chat {
    pub name: String,
    pub kind: ChatKind,
    pub id: i64,
    pub messages: Vec<Message>,
}

impl Serialize for Chat {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("name", &self.name)?;
        m.serialize_entry("type", self.kind.as_str())?;
        m.serialize_entry("id", &self.id)?;
        m.serialize_entry("messages", &self.messages)?;
        m.end()
    }
}

/// A whole-account export: `{"about", "chats": {"about", "list"}}`.
#[derive(Debug, Serialize)]
pub(crate) struct Account<'a> {
    pub about: &'a str,
    pub chats: AccountChats<'a>,
}

/// The `chats` object of an [`Account`].
#[derive(Debug, Serialize)]
pub(crate) struct AccountChats<'a> {
    pub about: &'a str,
    pub list: &'a [Chat],
}

/// Writes `value` as Telegram Desktop does: one space per indentation level,
/// UTF-8 unescaped, then a final newline.
pub(crate) fn write_document<W: Write, T: Serialize>(w: W, value: &T) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(w, TelegramFormatter::new(0));
    value.serialize(&mut ser)?;
    ser.into_inner().write_all(b"\n")
}

/// Streams a single-chat export one message at a time, so that documents of
/// any size are written in constant memory.
pub(crate) struct ChatStream<W: Write> {
    w: W,
    n_written: u64,
}

impl<W: Write> ChatStream<W> {
    /// Writes the chat header, up to the opening of `messages`.
    pub(crate) fn begin(mut w: W, name: &str, kind: ChatKind, id: i64) -> io::Result<Self> {
        w.write_all(b"{\n \"name\": ")?;
        serde_json::to_writer(&mut w, name)?;
        write!(w, ",\n \"type\": \"{}\",\n \"id\": {id},\n \"messages\": [", kind.as_str())?;
        Ok(ChatStream { w, n_written: 0 })
    }

    /// Appends one message.
    pub(crate) fn push(&mut self, message: &Message) -> io::Result<()> {
        self.w.write_all(if self.n_written == 0 { b"\n  " } else { b",\n  " })?;
        let mut ser = serde_json::Serializer::with_formatter(&mut self.w, TelegramFormatter::new(2));
        message.serialize(&mut ser)?;
        self.n_written += 1;
        Ok(())
    }

    /// Closes the document and returns the writer.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        if self.n_written == 0 {
            self.w.write_all(b"]\n}\n")?;
        } else {
            self.w.write_all(b"\n ]\n}\n")?;
        }
        Ok(self.w)
    }
}

/// serde_json's pretty printer with one-space indentation that can start
/// at any nesting depth (needed to stream messages inside a document).
#[derive(Debug)]
struct TelegramFormatter {
    level: usize,
    has_value: bool,
}

impl TelegramFormatter {
    fn new(level: usize) -> Self {
        TelegramFormatter { level, has_value: false }
    }

    fn newline_indent<W: ?Sized + Write>(&self, w: &mut W, first: bool) -> io::Result<()> {
        w.write_all(if first { b"\n" } else { b",\n" })?;
        indent(w, self.level)
    }

    fn close<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.level -= 1;
        if self.has_value {
            w.write_all(b"\n")?;
            indent(w, self.level)?;
        }
        w.write_all(bracket)
    }
}

fn indent<W: ?Sized + Write>(w: &mut W, level: usize) -> io::Result<()> {
    const SPACES: &[u8; 16] = b"                ";
    let mut left = level;
    while left > 0 {
        let n = left.min(SPACES.len());
        w.write_all(&SPACES[..n])?;
        left -= n;
    }
    Ok(())
}

impl Formatter for TelegramFormatter {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.level += 1;
        self.has_value = false;
        w.write_all(b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.newline_indent(w, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.level += 1;
        self.has_value = false;
        w.write_all(b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.newline_indent(w, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests fail loudly.
mod tests {
    use super::*;

    fn sample() -> Vec<Message> {
        let stamp = Stamp::new(1_704_103_200, 0);
        vec![
            Message {
                id: 1,
                date: stamp,
                edited: Some(Stamp::new(1_704_103_500, 0)),
                body: Body::Post(Post {
                    from: "Channel Name".into(),
                    from_id: "channel1000000001".into(),
                    forwarded_from: None,
                    reply_to_message_id: None,
                    media: Some(Media::Photo {
                        path: MediaPath::Included("photos/photo_1@01-01-2024_10-00-00.jpg".into()),
                        width: 640,
                        height: 480,
                    }),
                    text: RichText {
                        parts: vec![
                            Part::plain("part "),
                            Part::new(EntityKind::Bold, "bold part"),
                            Part::new(EntityKind::TextLink { href: "https://example.org".into() }, "link"),
                        ],
                    },
                }),
            },
            Message {
                id: 2,
                date: stamp,
                edited: None,
                body: Body::Service {
                    actor: "Channel Name".into(),
                    actor_id: "channel1000000001".into(),
                    action: Action::PinMessage { message_id: 1 },
                },
            },
        ]
    }

    #[test]
    fn message_json_matches_telegram_layout() {
        let messages = sample();
        let mut out = Vec::new();
        write_document(&mut out, &messages[1]).unwrap();
        let expected = r#"{
 "id": 2,
 "type": "service",
 "date": "2024-01-01T10:00:00",
 "date_unixtime": "1704103200",
 "actor": "Channel Name",
 "actor_id": "channel1000000001",
 "action": "pin_message",
 "message_id": 1,
 "text": "",
 "text_entities": []
}
"#;
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }

    #[test]
    fn text_array_and_entities() {
        let messages = sample();
        let v = serde_json::to_value(&messages[0]).unwrap();
        assert_eq!(
            v["text"],
            serde_json::json!(["part ", {"type": "bold", "text": "bold part"},
                {"type": "text_link", "text": "link", "href": "https://example.org"}])
        );
        assert_eq!(v["text_entities"][0], serde_json::json!({"type": "plain", "text": "part "}));
        assert_eq!(v["edited_unixtime"], "1704103500");
        assert!(v.get("forwarded_from").is_none());
    }

    #[test]
    fn stream_equals_whole_document() {
        let chat = Chat {
            name: "Channel \"Name\"".into(),
            kind: ChatKind::PublicChannel,
            id: 1_000_000_001,
            messages: sample(),
        };
        let mut whole = Vec::new();
        write_document(&mut whole, &chat).unwrap();
        let mut stream = ChatStream::begin(Vec::new(), &chat.name, chat.kind, chat.id).unwrap();
        for m in &chat.messages {
            stream.push(m).unwrap();
        }
        let streamed = stream.finish().unwrap();
        assert_eq!(String::from_utf8(streamed).unwrap(), String::from_utf8(whole).unwrap());

        let empty = Chat { messages: Vec::new(), ..chat };
        let mut whole = Vec::new();
        write_document(&mut whole, &empty).unwrap();
        let stream = ChatStream::begin(Vec::new(), &empty.name, empty.kind, empty.id).unwrap();
        assert_eq!(stream.finish().unwrap(), whole);
    }
}
