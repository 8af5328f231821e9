//! A buffered splitter for large JSON documents: it finds where each value
//! starts and ends, so that a caller can descend into the few containers it
//! cares about (an export's `messages` arrays) and hand every other value to
//! `serde_json::from_slice` as one contiguous slice.
//!
//! Why by hand: `serde_json::from_reader` reads a byte at a time and took
//! more than half of an ingest's instructions (measured with callgrind on a
//! 50,000-message export); `from_slice` is several times faster but needs
//! the whole input. This splitter gives slice speed with bounded memory. It
//! checks structure only; the slices it yields are validated by serde_json.
//!
//! An array laid out one element per line (as Telegram Desktop writes an
//! export's `messages`) can be read leniently with [`Scanner::element`]: an
//! element whose end cannot be found (a quote or bracket without its pair)
//! is skipped up to the next line where an element plausibly starts, and
//! the splitter goes on there. See [`Layout`] for that rule.

use std::io::{self, Read};

use serde::de::IgnoredAny;

/// Bytes read per refill.
const CHUNK: usize = 1 << 20;

/// Where in the input a problem is, 1-based.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Position {
    pub line: u64,
    pub column: u64,
}

/// A problem found while splitting.
#[derive(Debug)]
pub(crate) enum ScanError {
    Io(io::Error),
    /// Malformed JSON at a position.
    Syntax(Position, String),
    /// A single value larger than the limit.
    TooLarge(Position, usize),
    /// An array element that could not be split, starting at the position,
    /// and no line after it where an element starts or the array ends.
    Unresumed(Position),
}

pub(crate) type ScanResult<T> = Result<T, ScanError>;

/// Splits a JSON byte stream into values.
pub(crate) struct Scanner<R> {
    reader: R,
    buf: Vec<u8>,
    /// Next unread byte.
    pos: usize,
    /// End of the bytes read.
    end: usize,
    eof: bool,
    /// `buf[cursor]` is at line `cursor_line` (0-based), column
    /// `cursor_column` (0-based).
    cursor: usize,
    cursor_line: u64,
    cursor_column: u64,
    max_value: usize,
}

impl<R: Read> Scanner<R> {
    pub fn new(reader: R, max_value: usize) -> Self {
        Scanner {
            reader,
            buf: vec![0; CHUNK],
            pos: 0,
            end: 0,
            eof: false,
            cursor: 0,
            cursor_line: 0,
            cursor_column: 0,
            max_value,
        }
    }

    /// The position of `buf[i]`. Positions are asked for in increasing
    /// order, so a cursor makes the total cost linear in the input.
    pub fn position_of(&mut self, i: usize) -> Position {
        let i = i.min(self.end);
        if i > self.cursor {
            let seen = &self.buf[self.cursor..i];
            self.cursor_line += memchr::memchr_iter(b'\n', seen).count() as u64;
            self.cursor_column = match memchr::memrchr(b'\n', seen) {
                Some(nl) => (seen.len() - nl - 1) as u64,
                None => self.cursor_column + seen.len() as u64,
            };
            self.cursor = i;
        }
        Position { line: self.cursor_line + 1, column: self.cursor_column + 1 }
    }

    /// The position of the next unread byte.
    pub fn position(&mut self) -> Position {
        self.position_of(self.pos)
    }

    fn syntax<T>(&mut self, at: usize, message: impl Into<String>) -> ScanResult<T> {
        Err(ScanError::Syntax(self.position_of(at), message.into()))
    }

    /// Reads more input, keeping `buf[pos..end]`. Returns false at the end.
    fn fill(&mut self) -> ScanResult<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 {
            self.position_of(self.pos);
            self.cursor -= self.pos;
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
        }
        if self.end == self.buf.len() {
            if self.buf.len() >= self.max_value + CHUNK {
                return Err(ScanError::TooLarge(self.position(), self.max_value));
            }
            let grown = (self.buf.len() * 2).min(self.max_value + CHUNK);
            self.buf.resize(grown, 0);
        }
        loop {
            match self.reader.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(ScanError::Io(e)),
            }
        }
    }

    /// Skips white space; returns the next byte without consuming it, or
    /// `None` at the end of input.
    pub fn peek(&mut self) -> ScanResult<Option<u8>> {
        loop {
            while self.pos < self.end {
                let b = self.buf[self.pos];
                if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                    return Ok(Some(b));
                }
                self.pos += 1;
            }
            if !self.fill()? {
                return Ok(None);
            }
        }
    }

    /// Consumes `b` (after white space) or fails with `what` expected.
    pub fn expect(&mut self, b: u8, what: &str) -> ScanResult<()> {
        match self.peek()? {
            Some(c) if c == b => {
                self.pos += 1;
                Ok(())
            }
            Some(_) => self.syntax(self.pos, format!("expected {what}")),
            None => self.syntax(self.end, format!("EOF while expecting {what}")),
        }
    }

    /// Consumes `,` (returns true) or `close` (returns false).
    pub fn next_or_close(&mut self, close: u8) -> ScanResult<bool> {
        match self.peek()? {
            Some(b',') => {
                self.pos += 1;
                Ok(true)
            }
            Some(c) if c == close => {
                self.pos += 1;
                Ok(false)
            }
            Some(_) => self.syntax(self.pos, format!("expected ',' or '{}'", close as char)),
            None => self.syntax(self.end, format!("EOF while expecting ',' or '{}'", close as char)),
        }
    }

    /// Finds the next whole value and consumes it; returns its start and the
    /// value's bytes (valid until the next call).
    pub fn value(&mut self) -> ScanResult<(Position, &[u8])> {
        let len = match self.value_len()? {
            Found::Len(len) => len,
            Found::Eof => return self.syntax(self.end, "EOF while parsing a value"),
            Found::TooLarge => return Err(ScanError::TooLarge(self.position(), self.max_value)),
        };
        let start = self.pos;
        let at = self.position_of(start);
        self.pos += len;
        Ok((at, &self.buf[start..start + len]))
    }

    /// Finds the next whole value, which then starts at `buf[pos]`; nothing
    /// is consumed but white space, and no position is computed (so that a
    /// caller can still ask for the value's).
    fn value_len(&mut self) -> ScanResult<Found> {
        let Some(first) = self.peek()? else {
            return Ok(Found::Eof);
        };
        let mut state = ValueScan::new(first);
        let mut i = 1; // offset from pos of the next byte to look at
        let len = loop {
            match state.advance(&self.buf[self.pos..self.end], &mut i) {
                Some(len) => break len,
                None => {
                    if self.end - self.pos > self.max_value {
                        return Ok(Found::TooLarge);
                    }
                    if !self.fill()? {
                        if state.is_scalar() {
                            break self.end - self.pos;
                        }
                        return Ok(Found::Eof);
                    }
                }
            }
        };
        Ok(if len > self.max_value { Found::TooLarge } else { Found::Len(len) })
    }

    /// The offset from `pos` of the first byte after `buf[pos + from]` that
    /// is not white space, reading more as needed and keeping `buf[pos..]`;
    /// `None` at the end of input. `Err(TooLarge)` past the limit.
    fn next_from(&mut self, from: usize) -> ScanResult<Option<usize>> {
        let mut j = from;
        loop {
            let rest = &self.buf[self.pos + j..self.end];
            if let Some(k) = rest.iter().position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r')) {
                return Ok(Some(j + k));
            }
            j = self.end - self.pos;
            if j > self.max_value {
                return Err(ScanError::TooLarge(self.position(), self.max_value));
            }
            if !self.fill()? {
                return Ok(None);
            }
        }
    }

    /// Reads until at least `n` bytes from `pos` are held, or the input
    /// ends, keeping `buf[pos..]`.
    fn hold(&mut self, n: usize) -> ScanResult<()> {
        while self.end - self.pos < n && self.fill()? {}
        Ok(())
    }

    /// How the elements of the array about to be read are laid out, when
    /// the first of them (at the next non-white byte) opens an object at
    /// the start of a line after `open`, the position of the array's `[`:
    /// its indentation, with `first_key` (a JSON string, quotes included)
    /// the key an element begins with.
    pub fn layout(&mut self, open: Position, first_key: &'static [u8]) -> ScanResult<Option<Layout>> {
        if self.peek()? != Some(b'{') || first_key.len() > Layout::MAX_KEY {
            return Ok(None);
        }
        let at = self.position();
        // Only white space lies between the `[` and here, so on a later line
        // everything before the `{` on its line is white space.
        let indent = (at.column - 1) as usize;
        if at.line == open.line || indent > Layout::MAX_INDENT {
            return Ok(None);
        }
        let layout = Layout { indent, first_key };
        self.hold(Layout::LOOKAHEAD)?;
        Ok((layout.opens(&self.buf[self.pos..self.end], true) == Class::Element).then_some(layout))
    }

    /// Reads one element of an array whose `[` has been consumed and which
    /// is not empty, and the `,` or `]` after it; returns the element and
    /// whether another follows (false: the `]` was consumed).
    ///
    /// Without a layout this is [`Scanner::value`] then
    /// [`Scanner::next_or_close`]. With one, an element is damaged when its
    /// end cannot be found (the input ends, or it would be larger than the
    /// limit), when what follows it is neither `,`, `]` nor a line starting
    /// an element (a missing comma, stepped over), or when serde_json refuses
    /// it and a line inside it starts an element or ends the array (it
    /// swallowed others). A damaged element is skipped, from its start up to
    /// the next line that starts an element or ends the array, and returned
    /// as [`Element::Skipped`]. A valid document reads the same with a
    /// layout or without one: each of those needs something serde_json
    /// refuses.
    pub fn element(&mut self, layout: Option<&Layout>) -> ScanResult<(Element<'_>, bool)> {
        let Some(layout) = layout else {
            let (at, len) = self.value().map(|(at, v)| (at, v.len()))?;
            // `value` consumed the bytes; keep them in the buffer while the
            // separator is looked for (a refill moves them).
            self.pos -= len;
            let next = self.next_from(len)?;
            let start = self.pos;
            return match next.map(|k| (k, self.buf[start + k])) {
                Some((k, b @ (b',' | b']'))) => {
                    self.pos = start + k + 1;
                    Ok((Element::Value(at, &self.buf[start..start + len]), b == b','))
                }
                Some((k, _)) => self.syntax(start + k, "expected ',' or ']'"),
                None => self.syntax(self.end, "EOF while expecting ',' or ']'"),
            };
        };
        // Nothing can start with these: a stray closer or separator.
        if matches!(self.peek()?, Some(b']' | b'}' | b',' | b':')) {
            return self.skip(layout);
        }
        let len = match self.value_len() {
            Ok(Found::Len(len)) => len,
            Ok(Found::Eof | Found::TooLarge) | Err(ScanError::TooLarge(..)) => return self.skip(layout),
            Err(e) => return Err(e),
        };
        let next = match self.next_from(len) {
            Ok(Some(k)) => k,
            Ok(None) | Err(ScanError::TooLarge(..)) => return self.skip(layout),
            Err(e) => return Err(e),
        };
        let sep = self.buf[self.pos + next];
        // What comes after a `,` or `]`.
        let after = match sep {
            b',' | b']' => match self.next_from(next + 1) {
                Ok(k) => k,
                Err(ScanError::TooLarge(..)) => None,
                Err(e) => return Err(e),
            },
            _ => None,
        };
        // After a `]` and a `,`, whether the next line starts an element
        // (then the `]` is a stray one).
        let beyond = match after {
            Some(k) if sep == b']' && self.buf[self.pos + k] == b',' => match self.next_from(k + 1) {
                Ok(j) => j,
                Err(ScanError::TooLarge(..)) => None,
                Err(e) => return Err(e),
            },
            _ => None,
        };
        self.hold(beyond.or(after).unwrap_or(next) + Layout::LOOKAHEAD)?;
        let start = self.pos;
        let bytes = &self.buf[start..start + len];
        // The class of the line on which `buf[start + to]` is the first
        // non-white byte, if a line break comes after `buf[start + from]`.
        let line_at = |from: usize, to: usize| {
            memchr::memrchr(b'\n', &self.buf[start + from..start + to])
                .map(|nl| layout.class(&self.buf[start + from + nl + 1..self.end], true))
        };
        let parses = || serde_json::from_slice::<IgnoredAny>(bytes).is_ok();
        let here = line_at(len, next);
        let then = after.and_then(|k| line_at(next + 1, k));
        // What follows is as the layout has it: `,` and the next element
        // starting its line (or, a trailing comma, the array ending on a
        // line of its own), or the `]` on a line of its own.
        let laid_out = match sep {
            b',' => matches!(then, Some(Class::Element | Class::Close)),
            b']' => here == Some(Class::Close),
            _ => false,
        } && !layout.starts_inside(bytes);
        let (more, resume) = match sep {
            b',' | b']' if laid_out || parses() => match (sep, then, after) {
                // A trailing comma.
                (b',', Some(Class::Close), Some(k)) => (false, start + k + 1),
                // The array's end, or a stray `]` (skipped as the next
                // element): the array is a value in an object, or the
                // whole document.
                (b']', _, k) => {
                    let ends = here == Some(Class::Close)
                        || match k.map(|k| (k, self.buf[start + k])) {
                            None | Some((_, b'}')) => true,
                            Some((k, b',')) => beyond.and_then(|j| line_at(k + 1, j)) != Some(Class::Element),
                            Some(_) => false,
                        };
                    if ends { (false, start + next + 1) } else { (true, start + next) }
                }
                _ => (sep == b',', start + next + 1),
            },
            // A missing comma: the next element starts its line as elements
            // do, and this one parses.
            _ if here == Some(Class::Element) && parses() => (true, start + next),
            _ => return self.skip(layout),
        };
        let at = self.position_of(start);
        self.pos = resume;
        Ok((Element::Value(at, &self.buf[start..start + len]), more))
    }

    /// Skips a damaged element starting at `buf[pos]` up to the next line
    /// that starts an element or ends the array (the `]` is consumed),
    /// holding only what is left of a line being looked at.
    fn skip(&mut self, layout: &Layout) -> ScanResult<(Element<'static>, bool)> {
        let at = self.position();
        self.hold(Skipped::HEAD)?;
        let head = self.buf[self.pos..self.end.min(self.pos + Skipped::HEAD)].to_vec();
        let mut i = self.pos;
        loop {
            let mut undecided = None;
            while let Some(off) = memchr::memchr(b'\n', &self.buf[i..self.end]) {
                let nl = i + off;
                let line = &self.buf[nl + 1..self.end];
                match layout.class(line, self.eof) {
                    class @ (Class::Element | Class::Close) => {
                        let ws = line.iter().take_while(|b| matches!(b, b' ' | b'\t')).count();
                        self.pos = nl + 1 + ws;
                        let lines = self.position().line - at.line;
                        let more = class == Class::Element;
                        if !more {
                            self.pos += 1; // the `]`
                        }
                        return Ok((Element::Skipped(Skipped { at, lines, head }), more));
                    }
                    Class::Neither => i = nl + 1,
                    Class::Undecided => {
                        undecided = Some(nl);
                        break;
                    }
                }
            }
            // Drop what has been looked at; keep an undecided line.
            self.pos = undecided.unwrap_or(self.end);
            if !self.fill()? && undecided.is_none() {
                return Err(ScanError::Unresumed(at));
            }
            i = self.pos;
        }
    }

    /// Whether only white space remains.
    pub fn at_end(&mut self) -> ScanResult<bool> {
        Ok(self.peek()?.is_none())
    }
}

/// The end of a value, as [`Scanner::value_len`] finds it.
enum Found {
    /// It is this long.
    Len(usize),
    /// The input ends first.
    Eof,
    /// It is larger than the limit.
    TooLarge,
}

/// Where the elements of an array laid out one per line start: a line
/// indented by exactly `indent` bytes of white space (spaces or tabs) whose
/// first character opens an object, whose first key (after white space,
/// line breaks included) is `first_key`, followed by `:`. The array ends at
/// a line indented by less than `indent` whose first character is `]` (the
/// array's own indentation).
///
/// Telegram Desktop indents by one space per level of nesting and writes
/// each message as `{`, a line break, then `"id": …` one level deeper; a
/// line that starts at a message's indentation with `{` is a message's
/// start and nothing else (its strings hold no raw line breaks, and a
/// message's own lines are indented deeper). The first key is checked too,
/// so that a line of a damaged message laid out otherwise is not taken for
/// a start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    indent: usize,
    first_key: &'static [u8],
}

/// What a line is, for [`Layout`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    /// It starts an element.
    Element,
    /// It ends the array.
    Close,
    /// Neither.
    Neither,
    /// More input is needed to tell.
    Undecided,
}

impl Layout {
    /// Deepest indentation taken for a layout: beyond it, a line to look at
    /// could be long, and no exporter indents so.
    const MAX_INDENT: usize = 256;

    /// Most white space looked through between an element's `{` and its
    /// first key, and between the key and its `:`.
    const MAX_GAP: usize = 1024;

    /// Longest first key.
    const MAX_KEY: usize = 64;

    /// Bytes after a line break enough to tell what the line is.
    const LOOKAHEAD: usize = Self::MAX_INDENT + 2 * (Self::MAX_GAP + 1) + Self::MAX_KEY + 2;

    /// What `line`, the bytes after a line break, is; `eof` says whether
    /// the input ends after them.
    fn class(&self, line: &[u8], eof: bool) -> Class {
        let more = if eof { Class::Neither } else { Class::Undecided };
        let blank = |b: &u8| matches!(b, b' ' | b'\t');
        let ws = line.iter().take_while(|b| blank(b)).count();
        if ws > self.indent {
            return Class::Neither;
        }
        match line.get(ws) {
            None => more,
            Some(b']') if ws < self.indent => Class::Close,
            Some(b'{') if ws == self.indent => self.opens(&line[ws..], eof),
            Some(_) => Class::Neither,
        }
    }

    /// Whether `bytes`, starting with `{`, opens an element: white space,
    /// the first key, white space and `:`.
    fn opens(&self, bytes: &[u8], eof: bool) -> Class {
        let more = if eof { Class::Neither } else { Class::Undecided };
        let gap = |from: usize| {
            bytes[from.min(bytes.len())..]
                .iter()
                .take(Self::MAX_GAP + 1)
                .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
                .count()
        };
        if bytes.first() != Some(&b'{') {
            return Class::Neither;
        }
        let g = gap(1);
        if g > Self::MAX_GAP {
            return Class::Neither;
        }
        let key = &bytes[(1 + g).min(bytes.len())..];
        let n = key.len().min(self.first_key.len());
        if key[..n] != self.first_key[..n] {
            return Class::Neither;
        }
        if n < self.first_key.len() {
            return more;
        }
        let c = 1 + g + n;
        let g = gap(c);
        match bytes.get(c + g) {
            _ if g > Self::MAX_GAP => Class::Neither,
            Some(b':') => Class::Element,
            Some(_) => Class::Neither,
            None => more,
        }
    }

    /// Whether a line inside `bytes` (not its first) starts an element or
    /// ends the array.
    fn starts_inside(&self, bytes: &[u8]) -> bool {
        memchr::memchr_iter(b'\n', bytes)
            .any(|nl| matches!(self.class(&bytes[nl + 1..], true), Class::Element | Class::Close))
    }
}

/// One element of an array, read by [`Scanner::element`].
#[derive(Debug)]
pub(crate) enum Element<'a> {
    /// An element found whole: where it starts and its bytes.
    Value(Position, &'a [u8]),
    /// A damaged element, skipped.
    Skipped(Skipped),
}

/// A damaged element, skipped up to the next line that starts an element
/// or ends the array.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Skipped {
    /// Where it starts.
    pub at: Position,
    /// How many lines it spans, from its start's line to the line before
    /// the next element's (or the array's end).
    pub lines: u64,
    /// Its first bytes (up to [`Skipped::HEAD`]), to read an id from.
    pub head: Vec<u8>,
}

impl Skipped {
    /// How many of a skipped element's first bytes are kept.
    pub const HEAD: usize = 256;
}

/// Resumable search for the end of one value.
struct ValueScan {
    kind: Kind,
    depth: u32,
    in_string: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    String,
    Container,
    Scalar,
}

impl ValueScan {
    fn new(first: u8) -> Self {
        match first {
            b'"' => ValueScan { kind: Kind::String, depth: 0, in_string: true },
            b'{' | b'[' => ValueScan { kind: Kind::Container, depth: 1, in_string: false },
            _ => ValueScan { kind: Kind::Scalar, depth: 0, in_string: false },
        }
    }

    fn is_scalar(&self) -> bool {
        self.kind == Kind::Scalar
    }

    /// Looks at `bytes[*i..]`; returns the value's length once its end is
    /// found, else `None` (more input needed; `*i` says where to go on).
    fn advance(&mut self, bytes: &[u8], i: &mut usize) -> Option<usize> {
        if self.kind == Kind::Scalar {
            while *i < bytes.len() {
                if matches!(bytes[*i], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                    return Some(*i);
                }
                *i += 1;
            }
            return None;
        }
        loop {
            if self.in_string {
                match memchr::memchr2(b'"', b'\\', &bytes[(*i).min(bytes.len())..]) {
                    None => {
                        *i = bytes.len();
                        return None;
                    }
                    Some(off) => {
                        let at = *i + off;
                        if bytes[at] == b'\\' {
                            if at + 1 >= bytes.len() {
                                *i = at; // re-read the escape with more input
                                return None;
                            }
                            *i = at + 2;
                            continue;
                        }
                        *i = at + 1;
                        self.in_string = false;
                        if self.kind == Kind::String {
                            return Some(*i);
                        }
                    }
                }
            }
            while *i < bytes.len() {
                let b = bytes[*i];
                *i += 1;
                match b {
                    b'"' => {
                        self.in_string = true;
                        break;
                    }
                    b'{' | b'[' => self.depth += 1,
                    b'}' | b']' => {
                        self.depth -= 1;
                        if self.depth == 0 {
                            return Some(*i);
                        }
                    }
                    _ => {}
                }
            }
            if !self.in_string {
                return None;
            }
        }
    }
}

/// The position of serde_json's error (line and column within `slice`,
/// which starts at `start`) in the whole input.
pub(crate) fn error_position(start: Position, e: &serde_json::Error) -> Position {
    if e.line() <= 1 {
        Position { line: start.line, column: start.column + e.column().saturating_sub(1) as u64 }
    } else {
        Position { line: start.line + e.line() as u64 - 1, column: e.column() as u64 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits a top-level array into its elements, with a tiny buffer so
    /// that every refill path is exercised.
    fn elements(input: &str) -> Vec<String> {
        let mut s = Scanner::new(io::BufReader::with_capacity(3, input.as_bytes()), 1 << 20);
        s.buf = vec![0; 2];
        s.expect(b'[', "[").expect("open");
        let mut out = Vec::new();
        if s.peek().expect("peek") == Some(b']') {
            return out;
        }
        loop {
            let (_, v) = s.value().expect("value");
            out.push(String::from_utf8(v.to_vec()).expect("utf8"));
            if !s.next_or_close(b']').expect("sep") {
                break;
            }
        }
        assert!(s.at_end().expect("end"));
        out
    }

    #[test]
    fn splits_values() {
        assert_eq!(elements("[]"), Vec::<String>::new());
        assert_eq!(
            elements(r#"[1, "a,]\"}", {"k": [1, {"x": "]"}]}, true ,null,-2.5e3, "\\"]"#),
            ["1", r#""a,]\"}""#, r#"{"k": [1, {"x": "]"}]}"#, "true", "null", "-2.5e3", r#""\\""#]
        );
        assert_eq!(elements("[\n  \"نص\" ,\n {}\n]"), ["\"نص\"", "{}"]);
    }

    #[test]
    fn positions_and_limits() {
        let mut s = Scanner::new("\n\n  [1, x".as_bytes(), 1 << 20);
        s.expect(b'[', "[").expect("open");
        let (p, v) = s.value().expect("value");
        assert_eq!((p, v), (Position { line: 3, column: 4 }, &b"1"[..]));
        assert!(s.next_or_close(b']').expect("sep"));
        let (p, _) = s.value().expect("scalar to EOF");
        assert_eq!(p, Position { line: 3, column: 7 });
        let big = format!("[\"{}\"]", "a".repeat(5000));
        let mut s = Scanner::new(big.as_bytes(), 1000);
        s.expect(b'[', "[").expect("open");
        assert!(matches!(s.value(), Err(ScanError::TooLarge(..))));
        let mut s = Scanner::new(&b"[\"unterminated"[..], 1 << 20);
        s.expect(b'[', "[").expect("open");
        assert!(matches!(s.value(), Err(ScanError::Syntax(..))));
    }

    /// Reads `doc`, an array laid out one element per line, leniently:
    /// each element as its text or `skip LINE+LINES`, or the error.
    fn lenient(doc: &str, max_value: usize) -> Result<Vec<String>, String> {
        let mut s = Scanner::new(io::BufReader::with_capacity(7, doc.as_bytes()), max_value);
        s.buf = vec![0; 2];
        let run = |s: &mut Scanner<_>| -> ScanResult<Vec<String>> {
            let open = s.position();
            s.expect(b'[', "[")?;
            let layout = s.layout(open, b"\"id\"")?;
            let mut out = Vec::new();
            loop {
                let (e, more) = s.element(layout.as_ref())?;
                out.push(match e {
                    Element::Value(_, v) => String::from_utf8_lossy(v).into_owned(),
                    Element::Skipped(k) => format!("skip {}+{}", k.at.line, k.lines),
                });
                if !more {
                    return Ok(out);
                }
            }
        };
        run(&mut s).map_err(|e| format!("{e:?}"))
    }

    #[test]
    fn a_message_that_cannot_be_split_is_skipped_to_the_next() {
        let check = |doc: &str, expected: &[&str]| {
            let expected: Vec<String> = expected.iter().map(|e| (*e).to_owned()).collect();
            assert_eq!(lenient(doc, 1 << 20), Ok(expected), "{doc}");
        };
        let m = |id: u32, text: &str| format!("  {{\n   \"id\": {id},\n   \"text\": {text}\n  }}");
        let doc = |ms: &[String]| format!("[\n{}\n ]", ms.join(",\n"));
        let good = |id: u32| m(id, "\"ok\"");
        let whole = |id: u32| good(id).trim_start().to_owned();
        // A string cut short (its quote unpaired), lines 6-9.
        check(&doc(&[good(1), m(2, "\"cut short"), good(3)]), &[&whole(1), "skip 6+4", &whole(3)]);
        // A stray `{` and a stray `[`: the value runs on past the next.
        check(
            &doc(&[good(1), m(2, "{\"a\": 1"), good(3), good(4)]),
            &[&whole(1), "skip 6+4", &whole(3), &whole(4)],
        );
        check(&doc(&[m(1, "[1, 2"), good(2)]), &["skip 2+4", &whole(2)]);
        // A stray `}` ends it early, a stray `]` after it.
        check(&doc(&[m(1, "1}"), good(2)]), &["skip 2+4", &whole(2)]);
        check(&doc(&[good(1) + "]", good(2)]), &[&whole(1), "skip 5+1", &whole(2)]);
        // The last message cut short: skipped up to the array's end.
        check(&doc(&[good(1), m(2, "\"cut")]), &[&whole(1), "skip 6+4"]);
        // Damage inside a message that keeps its quotes and brackets
        // paired is left to serde_json: the message is found whole.
        check(&doc(&[m(1, "1e999"), good(2)]), &[m(1, "1e999").trim_start(), &whole(2)]);
        // A missing comma is stepped over.
        check(&format!("[\n{}\n{}\n ]", good(1), good(2)), &[&whole(1), &whole(2)]);
        // Without a layout (the first element not on a line of its own, or
        // not beginning with "id"), a damaged element is an error.
        assert!(lenient("[{\"id\": \"cut}, {\"id\": 2}]", 1 << 20).is_err());
        assert!(lenient("[\n  {\"x\": \"cut},\n  {\"id\": 2}\n]", 1 << 20).is_err());
    }

    #[test]
    fn a_damaged_message_with_nothing_after_it_is_an_error_in_bounded_memory() {
        // A string cut short, then 8 MiB of lines none of which starts a
        // message or ends the array; the limit on a value is 64 KiB.
        let mut doc = "[\n  {\"id\": 1},\n  {\"id\": 2, \"text\": \"cut\n".to_owned();
        for _ in 0..(8 << 20) / 64 {
            doc.push_str(&"x".repeat(63));
            doc.push('\n');
        }
        let mut s = Scanner::new(doc.as_bytes(), 64 << 10);
        let open = s.position();
        s.expect(b'[', "[").expect("open");
        let layout = s.layout(open, b"\"id\"").expect("layout");
        assert!(layout.is_some());
        let (first, more) = s.element(layout.as_ref()).expect("first");
        assert!(matches!(first, Element::Value(..)) && more);
        match s.element(layout.as_ref()) {
            Err(ScanError::Unresumed(at)) => assert_eq!(at, Position { line: 3, column: 3 }),
            other => panic!("{other:?}"),
        }
        assert!(s.buf.len() <= (64 << 10) + 2 * CHUNK, "{} bytes held", s.buf.len());
    }

    mod agrees_with_serde_json {
        //! The splitter against serde_json on arbitrary JSON: it finds
        //! exactly the elements serde_json parses, and a document is refused
        //! (by the splitter, or by serde_json on one of its slices) exactly
        //! when serde_json refuses it whole.

        use super::*;

        use proptest::prelude::*;
        use serde::de::IgnoredAny;
        use serde_json::Value;

        /// Arbitrary JSON values: every scalar kind, strings with quotes,
        /// backslashes, control characters and non-ASCII text, nested
        /// arrays and objects.
        fn value() -> impl Strategy<Value = Value> {
            let text = proptest::collection::vec(
                prop_oneof![
                    4 => proptest::char::range('a', 'z'),
                    1 => Just('"'),
                    1 => Just('\\'),
                    1 => Just('\u{1}'),
                    1 => Just('\n'),
                    1 => Just('ن'),
                    1 => Just('🌵'),
                    1 => Just('}'),
                    1 => Just(']'),
                    1 => any::<char>(),
                ],
                0..12,
            )
            .prop_map(|cs| cs.into_iter().collect::<String>());
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(Value::from),
                any::<u64>().prop_map(Value::from),
                any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
                text.clone().prop_map(Value::String),
            ];
            leaf.prop_recursive(5, 48, 6, move |inner| {
                prop_oneof![
                    proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                    proptest::collection::vec((text.clone(), inner), 0..6)
                        .prop_map(|kv| Value::Object(kv.into_iter().collect())),
                ]
            })
        }

        /// A value as text: compact or pretty-printed.
        fn element() -> impl Strategy<Value = String> {
            (value(), any::<bool>()).prop_map(|(v, pretty)| {
                if pretty { serde_json::to_string_pretty(&v) } else { serde_json::to_string(&v) }
                    .expect("serialize")
            })
        }

        /// JSON white space to put between tokens.
        fn space() -> impl Strategy<Value = String> {
            proptest::collection::vec(prop_oneof![Just(' '), Just('\n'), Just('\t'), Just('\r')], 0..3)
                .prop_map(|cs| cs.into_iter().collect())
        }

        /// `[e1, e2, …]` with white space around every token.
        fn document<E: AsRef<[u8]>>(elements: &[E], spaces: &[String]) -> Vec<u8> {
            let sp = |i: usize| spaces.get(i % spaces.len().max(1)).map_or(&b""[..], |s| s.as_bytes());
            let mut doc = sp(0).to_vec();
            doc.push(b'[');
            for (i, e) in elements.iter().enumerate() {
                if i > 0 {
                    doc.push(b',');
                }
                doc.extend_from_slice(sp(i + 1));
                doc.extend_from_slice(e.as_ref());
                doc.extend_from_slice(sp(i + 2));
            }
            doc.push(b']');
            doc.extend_from_slice(sp(3));
            doc
        }

        /// How [`split`] reads an array's elements.
        #[derive(Clone, Copy, Debug)]
        enum Mode {
            /// `value` then `next_or_close`.
            Values,
            /// `element` without a layout.
            Elements,
            /// `element` with the layout of the first element, if any.
            Lenient,
        }

        /// What the splitter finds in an array: an element's bytes, or
        /// where a skipped one starts and how many lines it spans.
        #[derive(Clone, Debug, PartialEq, Eq)]
        enum Item {
            Value(Vec<u8>),
            Skipped(u64, u64),
        }

        /// The top-level array's items as the splitter finds them, with a
        /// reader and buffer small enough that values cross refills.
        fn items(doc: &[u8], capacity: usize, mode: Mode) -> ScanResult<Vec<Item>> {
            let mut s = Scanner::new(io::BufReader::with_capacity(capacity, doc), 1 << 20);
            s.buf = vec![0; 2];
            let open = s.position();
            s.expect(b'[', "[")?;
            let mut out = Vec::new();
            if s.peek()? == Some(b']') {
                s.expect(b']', "]")?;
            } else if let Mode::Values = mode {
                loop {
                    out.push(Item::Value(s.value()?.1.to_vec()));
                    if !s.next_or_close(b']')? {
                        break;
                    }
                }
            } else {
                let layout = match mode {
                    Mode::Lenient => s.layout(open, b"\"id\"")?,
                    _ => None,
                };
                loop {
                    let (e, more) = s.element(layout.as_ref())?;
                    out.push(match e {
                        Element::Value(_, v) => Item::Value(v.to_vec()),
                        Element::Skipped(k) => Item::Skipped(k.at.line, k.lines),
                    });
                    if !more {
                        break;
                    }
                }
            }
            if !s.at_end()? {
                return Err(ScanError::Syntax(s.position(), "trailing characters".to_owned()));
            }
            Ok(out)
        }

        /// The top-level array's elements, read in every mode: each mode
        /// must find the same, and skip nothing.
        fn split(doc: &[u8], capacity: usize) -> ScanResult<Vec<Vec<u8>>> {
            let mut found: Option<ScanResult<Vec<Vec<u8>>>> = None;
            for mode in [Mode::Values, Mode::Elements, Mode::Lenient] {
                let got = items(doc, capacity, mode).and_then(|items| {
                    items
                        .into_iter()
                        .map(|i| match i {
                            Item::Value(v) => Ok(v),
                            Item::Skipped(line, _) => Err(ScanError::Unresumed(Position { line, column: 0 })),
                        })
                        .collect()
                });
                let valid = |v: &[Vec<u8>]| v.iter().all(|e| serde_json::from_slice::<IgnoredAny>(e).is_ok());
                match (&found, &got) {
                    (None, _) => found = Some(got),
                    (Some(Ok(a)), Ok(b)) if a == b => {}
                    (Some(Err(_)), Err(_)) => {}
                    // Leniency may read otherwise what serde_json refuses.
                    (Some(Ok(a)), _) if matches!(mode, Mode::Lenient) && !valid(a) => {}
                    (Some(Err(_)), Ok(_)) if matches!(mode, Mode::Lenient) => {}
                    (Some(earlier), _) => panic!("{mode:?} differs: {got:?} against {earlier:?}"),
                }
            }
            found.unwrap_or_else(|| Ok(Vec::new()))
        }

        /// Damage that leaves brackets and quotes paired: invalid UTF-8,
        /// raw control characters, numbers out of range.
        const DAMAGE: &[&[u8]] = &[b"\x01", b"\xff", b"\xc3", b"1e999", b"-1e999", b"\x00", b"\n"];

        /// Bytes that unpair quotes and brackets, or break lines.
        const STRUCTURE: &[u8] = b"\"{}[]\n,:";

        /// An element as Telegram Desktop lays out a message, at the
        /// indentation of a single-chat export's messages (the two spaces
        /// before its `{` left to the document).
        fn telegram_element(id: usize, body: &Value) -> Vec<u8> {
            let body = serde_json::to_string(body).expect("serialize");
            format!("{{\n   \"id\": {id},\n   \"body\": {body}\n  }}").into_bytes()
        }

        /// Bytes a corruption plants: structure, quotes, escapes, invalid
        /// UTF-8, control characters, number parts.
        const PLANTED: &[u8] = b"\"\\{}[],:\x01\xff\x00e1-. ";

        proptest! {
            #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

            #[test]
            fn the_splitter_yields_what_serde_json_parses(
                elements in proptest::collection::vec(element(), 0..6),
                spaces in proptest::collection::vec(space(), 1..5),
                capacity in 1usize..64,
            ) {
                let doc = document(&elements, &spaces);
                let slices = split(&doc, capacity).expect("a valid document splits");
                prop_assert_eq!(slices.len(), elements.len());
                let whole: Vec<Value> = serde_json::from_slice(&doc).expect("serde_json parses it");
                for ((slice, text), parsed) in slices.iter().zip(&elements).zip(&whole) {
                    prop_assert_eq!(slice.as_slice(), text.as_bytes());
                    let own: Value = serde_json::from_slice(slice).expect("each slice parses");
                    prop_assert_eq!(&own, parsed);
                }
            }

            #[test]
            fn a_document_is_refused_exactly_when_serde_json_refuses_it(
                elements in proptest::collection::vec(element(), 1..5),
                spaces in proptest::collection::vec(space(), 1..5),
                edits in proptest::collection::vec(
                    (any::<prop::sample::Index>(), 0u8..3, prop::sample::select(PLANTED)),
                    1..3,
                ),
                truncate in proptest::option::of(any::<prop::sample::Index>()),
                capacity in 1usize..64,
            ) {
                let mut doc = document(&elements, &spaces);
                for (at, op, byte) in edits {
                    let i = at.index(doc.len() + 1);
                    match op {
                        0 => doc.insert(i, byte),
                        1 if i < doc.len() => {
                            doc.remove(i);
                        }
                        _ if i < doc.len() => doc[i] = byte,
                        _ => doc.push(byte),
                    }
                }
                if let Some(t) = truncate {
                    doc.truncate(t.index(doc.len() + 1));
                }
                let serde_ok = serde_json::from_slice::<Vec<IgnoredAny>>(&doc).is_ok();
                let split_ok = split(&doc, capacity)
                    .is_ok_and(|slices| slices.iter().all(|s| serde_json::from_slice::<IgnoredAny>(s).is_ok()));
                prop_assert_eq!(split_ok, serde_ok, "document {:?}", String::from_utf8_lossy(&doc));
            }

            /// One element damaged inside (its brackets and quotes still
            /// pairing up) among good ones: the splitter still finds every
            /// element, only the damaged one fails serde_json, and the
            /// others parse as they do alone (the reader resynchronises at
            /// the next message).
            #[test]
            fn a_damaged_element_does_not_hide_the_others(
                elements in proptest::collection::vec(element(), 1..5),
                damaged in any::<prop::sample::Index>(),
                damage in prop::sample::select(DAMAGE),
                spaces in proptest::collection::vec(space(), 1..5),
                capacity in 1usize..64,
            ) {
                let k = damaged.index(elements.len());
                // An invalid byte goes inside a string, a number out of
                // range where a number belongs.
                let planted = if damage.starts_with(b"1") || damage.starts_with(b"-") {
                    [&b"{\"id\": "[..], damage, b", \"text\": \"ab\"}"].concat()
                } else {
                    [&b"{\"id\": 1, \"text\": \"a"[..], damage, b"b\"}"].concat()
                };
                let mut texts: Vec<Vec<u8>> = elements.iter().map(|e| e.clone().into_bytes()).collect();
                texts[k] = planted;
                let doc = document(&texts, &spaces);
                let slices = split(&doc, capacity).expect("the damaged document still splits");
                prop_assert_eq!(slices.len(), texts.len());
                for (i, (slice, text)) in slices.iter().zip(&texts).enumerate() {
                    prop_assert_eq!(slice, text);
                    let parsed = serde_json::from_slice::<Value>(slice);
                    prop_assert_eq!(parsed.is_err(), i == k, "element {} {:?}", i, String::from_utf8_lossy(slice));
                }
            }

            /// Telegram Desktop's layout (one element per line, `{` then the
            /// first key `"id"`) with one element damaged by edits that may
            /// unpair its quotes and brackets: the splitter resumes at the
            /// next element, finds every undamaged element whole, and what
            /// else it yields lies inside the damaged element.
            #[test]
            fn a_damaged_element_is_skipped_to_the_next_line_that_starts_one(
                bodies in proptest::collection::vec(value(), 1..6),
                damaged in any::<prop::sample::Index>(),
                edits in proptest::collection::vec(
                    (any::<prop::sample::Index>(), 0u8..3, prop::sample::select(STRUCTURE)),
                    1..3,
                ),
                capacity in 1usize..64,
            ) {
                let mut texts: Vec<Vec<u8>> = bodies.iter().enumerate().map(|(i, b)| telegram_element(i, b)).collect();
                let k = damaged.index(texts.len());
                let original = texts[k].clone();
                let text = &mut texts[k];
                for (at, op, byte) in edits {
                    // The first element's first line stays, `{` then `"id":`:
                    // the layout is learned from it.
                    let i = if k == 0 { 11 + at.index(text.len() - 10) } else { at.index(text.len() + 1) };
                    match op {
                        0 => text.insert(i, byte),
                        1 if i < text.len() => {
                            text.remove(i);
                        }
                        _ if i < text.len() => text[i] = byte,
                        _ => text.push(byte),
                    }
                }
                // A line of the damaged element that itself looks like a
                // start or the end would be taken for one: not this test.
                let ws = |line: &[u8]| line.iter().take_while(|b| **b == b' ').count();
                let ends = |line: &[u8]| ws(line) < 2 && line.get(ws(line)) == Some(&b']');
                let starts = |line: &[u8]| ws(line) == 2 && line.get(2) == Some(&b'{');
                let indented = [&b"  "[..], &texts[k]].concat();
                let mut lines = indented.split(|b| *b == b'\n');
                prop_assume!(!lines.next().is_some_and(ends) && !lines.any(|l| ends(l) || starts(l)));
                // Nor a `]` then `}` planted: the array's end and its object's.
                let closes = |t: &[u8]| {
                    (0..t.len())
                        .filter(|&i| t[i] == b']' && t[i + 1..].iter().find(|c| !c.is_ascii_whitespace()) == Some(&b'}'))
                        .count()
                };
                prop_assume!(closes(&texts[k]) <= closes(&original));
                let mut doc = b"[\n  ".to_vec();
                doc.extend(texts.join(&b",\n  "[..]));
                doc.extend_from_slice(b"\n]\n");
                let items = items(&doc, capacity, Mode::Lenient);
                let items = items.map_err(|e| TestCaseError::fail(format!("{e:?}: {}", String::from_utf8_lossy(&doc))))?;
                let values: Vec<&Vec<u8>> = items.iter().filter_map(|i| match i {
                    Item::Value(v) => Some(v),
                    Item::Skipped(..) => None,
                }).collect();
                let mut next = 0;
                for (i, t) in texts.iter().enumerate().filter(|(i, _)| *i != k) {
                    let found = values[next..].iter().position(|v| *v == t);
                    prop_assert!(found.is_some(), "element {} missing from {:?} in {}", i, items, String::from_utf8_lossy(&doc));
                    for other in &values[next..next + found.unwrap_or(0)] {
                        prop_assert!(memchr::memmem::find(&texts[k], other).is_some(), "{:?} is not of the damaged element", other);
                    }
                    next += found.unwrap_or(0) + 1;
                }
                for other in &values[next..] {
                    prop_assert!(memchr::memmem::find(&texts[k], other).is_some(), "{:?} is not of the damaged element", other);
                }
                // The damaged element still parsing, it is found whole.
                if serde_json::from_slice::<IgnoredAny>(&texts[k]).is_ok() {
                    let whole = texts[k].trim_ascii();
                    prop_assert!(values.iter().any(|v| v.as_slice() == whole), "{:?}", items);
                }
            }
        }
    }
}
