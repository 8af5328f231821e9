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

        /// The top-level array's elements as the splitter finds them, with a
        /// reader and buffer small enough that values cross refills.
        fn split(doc: &[u8], capacity: usize) -> ScanResult<Vec<Vec<u8>>> {
            let mut s = Scanner::new(io::BufReader::with_capacity(capacity, doc), 1 << 20);
            s.buf = vec![0; 2];
            s.expect(b'[', "[")?;
            let mut out = Vec::new();
            if s.peek()? == Some(b']') {
                s.expect(b']', "]")?;
            } else {
                loop {
                    out.push(s.value()?.1.to_vec());
                    if !s.next_or_close(b']')? {
                        break;
                    }
                }
            }
            if !s.at_end()? {
                return Err(ScanError::Syntax(s.position(), "trailing characters".to_owned()));
            }
            Ok(out)
        }

        /// Damage that leaves brackets and quotes paired: invalid UTF-8,
        /// raw control characters, numbers out of range.
        const DAMAGE: &[&[u8]] = &[b"\x01", b"\xff", b"\xc3", b"1e999", b"-1e999", b"\x00", b"\n"];

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
        }
    }
}
