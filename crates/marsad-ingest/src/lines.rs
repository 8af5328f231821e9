//! Reading lines with a bound on their length, so that one enormous line (a
//! 10 GB file without a newline) costs bounded memory and is reported, not
//! buffered.

use std::io::{self, BufRead};

/// What [`read_line_bounded`] read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineRead {
    /// A whole line is in the buffer (without its `\n` or `\r\n`).
    Line,
    /// The line was longer than the bound; it was skipped (the buffer is
    /// empty). `bytes` is its length.
    TooLong {
        /// Length of the skipped line in bytes.
        bytes: u64,
    },
}

/// Reads the next line into `buf` (cleared first). Returns `None` at the end
/// of input. A line longer than `max` bytes is consumed up to its newline
/// without being stored.
pub fn read_line_bounded<R: BufRead>(
    r: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> io::Result<Option<LineRead>> {
    buf.clear();
    let mut len: u64 = 0;
    let mut too_long = false;
    loop {
        let available = match r.fill_buf() {
            Ok(a) => a,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            if len == 0 {
                return Ok(None);
            }
            break;
        }
        let (chunk, done) = match memchr::memchr(b'\n', available) {
            Some(i) => (&available[..i], Some(i + 1)),
            None => (available, None),
        };
        len += chunk.len() as u64;
        if !too_long {
            if buf.len() + chunk.len() > max {
                too_long = true;
                buf.clear();
                buf.shrink_to(max.min(1 << 16));
            } else {
                buf.extend_from_slice(chunk);
            }
        }
        let consumed = done.unwrap_or(available.len());
        r.consume(consumed);
        if done.is_some() {
            len += 1;
            break;
        }
    }
    if too_long {
        return Ok(Some(LineRead::TooLong { bytes: len }));
    }
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(Some(LineRead::Line))
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::prelude::*;

    fn lines(input: &[u8], max: usize) -> Vec<Result<String, u64>> {
        read_all(input, max, 4).into_iter().map(|l| l.map(|b| String::from_utf8(b).expect("utf8"))).collect()
    }

    /// Every line of `input` read through a reader of `capacity` bytes.
    fn read_all(input: &[u8], max: usize, capacity: usize) -> Vec<Result<Vec<u8>, u64>> {
        let mut r = io::BufReader::with_capacity(capacity, input);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        while let Some(read) = read_line_bounded(&mut r, &mut buf, max).expect("read") {
            out.push(match read {
                LineRead::Line => Ok(buf.clone()),
                LineRead::TooLong { bytes } => Err(bytes),
            });
        }
        out
    }

    /// The obvious splitting: cut at every `\n` (a final `\n` ends the last
    /// line rather than starting an empty one); a line over `max` bytes
    /// (its `\r` included) is reported with its length and its `\n`; any
    /// other loses one trailing `\r`.
    fn obvious(input: &[u8], max: usize) -> Vec<Result<Vec<u8>, u64>> {
        let mut pieces: Vec<&[u8]> = input.split(|&c| c == b'\n').collect();
        if pieces.last().is_some_and(|p| p.is_empty()) {
            pieces.pop();
        }
        let n = pieces.len();
        pieces
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                let ended = i + 1 < n || input.last() == Some(&b'\n');
                if p.len() > max {
                    Err(p.len() as u64 + u64::from(ended))
                } else {
                    Ok(p.strip_suffix(b"\r").unwrap_or(p).to_vec())
                }
            })
            .collect()
    }

    /// Input made of short pieces, `\r`, `\n`, `\r\n` and long runs, so
    /// that lines cross reader buffers and the bound on both sides.
    fn input() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            4 => proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), Just(b'\r')], 0..6),
            2 => Just(b"\n".to_vec()),
            2 => Just(b"\r\n".to_vec()),
            1 => (0usize..300).prop_map(|n| vec![b'x'; n]),
        ];
        proptest::collection::vec(piece, 0..40).prop_map(|ps| ps.concat())
    }

    proptest! {
        #[test]
        fn splitting_equals_the_obvious_one(input in input(), max in 0usize..40, capacity in 1usize..64) {
            prop_assert_eq!(read_all(&input, max, capacity), obvious(&input, max));
        }
    }

    #[test]
    fn splits_and_bounds() {
        assert_eq!(lines(b"", 10), vec![]);
        assert_eq!(
            lines(b"a\nbb\r\n\nccc", 10),
            vec![Ok("a".into()), Ok("bb".into()), Ok("".into()), Ok("ccc".into())]
        );
        assert_eq!(
            lines(b"short\nthis line is too long\nok\n", 8),
            vec![Ok("short".into()), Err(22), Ok("ok".into())]
        );
        assert_eq!(lines(&[b'x'; 100], 8), vec![Err(100)]);
    }
}
