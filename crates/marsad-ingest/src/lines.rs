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
        let (chunk, done) = match memchr(available) {
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

fn memchr(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max: usize) -> Vec<Result<String, u64>> {
        let mut r = io::BufReader::with_capacity(4, input);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        while let Some(read) = read_line_bounded(&mut r, &mut buf, max).expect("read") {
            out.push(match read {
                LineRead::Line => Ok(String::from_utf8(buf.clone()).expect("utf8")),
                LineRead::TooLong { bytes } => Err(bytes),
            });
        }
        out
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
