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

use std::io::{self, Read};

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
        let Some(first) = self.peek()? else {
            return self.syntax(self.end, "EOF while parsing a value");
        };
        let mut state = ValueScan::new(first);
        let mut i = 1; // offset from pos of the next byte to look at
        let len = loop {
            match state.advance(&self.buf[self.pos..self.end], &mut i) {
                Some(len) => break len,
                None => {
                    if self.end - self.pos > self.max_value {
                        return Err(ScanError::TooLarge(self.position(), self.max_value));
                    }
                    if !self.fill()? {
                        if state.is_scalar() {
                            break self.end - self.pos;
                        }
                        return self.syntax(self.end, "EOF while parsing a value");
                    }
                }
            }
        };
        if len > self.max_value {
            return Err(ScanError::TooLarge(self.position(), self.max_value));
        }
        let start = self.pos;
        let at = self.position_of(start);
        self.pos += len;
        Ok((at, &self.buf[start..start + len]))
    }

    /// Whether only white space remains.
    pub fn at_end(&mut self) -> ScanResult<bool> {
        Ok(self.peek()?.is_none())
    }
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
}
