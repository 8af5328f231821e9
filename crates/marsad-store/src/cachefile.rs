//! Files derived from a store (its caches: `marsad.db.pdq-index`,
//! `marsad.db.observatory`), tied to the store they were built from.
//!
//! A cache file is a header and a body. The header holds the cache's magic
//! and format version, the [`StoreIdentity`] of the store it was built
//! from, the store's state at that time (counters chosen by each cache, see
//! [`Provenance`]), the length of the body and its xxh3-128 checksum. A
//! reader checks the magic, the version and the length before it reads the
//! body, the caller compares the provenance with the store's, and
//! [`CacheReader::finish`] checks that the body was read whole and that its
//! checksum matches. The checksum is computed while the body streams
//! through, so neither side holds the body twice in memory.
//!
//! Files are written to a temporary file beside the target and renamed
//! over it, so a reader sees the old file or the new one, never half of
//! one. They are not synced to disk: after a power loss a renamed file may
//! be short or zero, which the length and checksum detect (a cache is only
//! ever rebuilt, never trusted, when they fail).

use std::io::{self, BufReader, BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};

use xxhash_rust::xxh3::Xxh3;

use crate::StoreIdentity;

/// What kind of cache a file holds: its magic and format version. A
/// version is raised whenever the body's layout changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheFormat {
    /// Eight bytes that open every file of this kind.
    pub magic: [u8; 8],
    /// The layout of the body.
    pub version: u32,
}

/// What a cache was built from: the store's identity and its state then
/// (each cache chooses the counters that tell whether it is current, e.g.
/// the bank generation, largest entry id and entry count).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provenance {
    /// The store's identity.
    pub identity: StoreIdentity,
    /// The store's counters, in an order fixed by the cache's format.
    pub state: Vec<i64>,
}

/// More counters than any cache records: a header claiming more is corrupt.
const MAX_STATE: usize = 64;

/// Why a cache file cannot be used (it is then rebuilt from the store).
#[derive(Debug, thiserror::Error)]
pub enum CacheFileError {
    /// The file could not be opened or read (missing included: see
    /// [`CacheFileError::is_not_found`]).
    #[error("{}: {source}", path.display())]
    Io {
        /// The cache file.
        path: PathBuf,
        /// What failed.
        source: io::Error,
    },
    /// The file does not start with this kind's magic.
    #[error("{}: not a {expected} file", path.display())]
    Magic {
        /// The cache file.
        path: PathBuf,
        /// The kind expected, as its magic.
        expected: String,
    },
    /// The file was written in another format version.
    #[error("{}: format version {found}, this marsad reads version {expected}", path.display())]
    Version {
        /// The cache file.
        path: PathBuf,
        /// Version in the file.
        found: u32,
        /// Version this build reads.
        expected: u32,
    },
    /// The header is malformed (too many counters).
    #[error("{}: corrupt header ({what})", path.display())]
    Header {
        /// The cache file.
        path: PathBuf,
        /// What is wrong.
        what: &'static str,
    },
    /// The file's length is not the header's plus the body's it records
    /// (a truncated or extended file).
    #[error("{}: {found} bytes, the header says {expected}", path.display())]
    Length {
        /// The cache file.
        path: PathBuf,
        /// Length the header implies.
        expected: u64,
        /// Length of the file.
        found: u64,
    },
    /// The body's checksum is not the one recorded in the header.
    #[error("{}: checksum of the body does not match its header", path.display())]
    Checksum {
        /// The cache file.
        path: PathBuf,
    },
    /// The body's checksum matches but its contents ended before its end.
    #[error("{}: {unread} bytes of the body left after its contents", path.display())]
    Trailing {
        /// The cache file.
        path: PathBuf,
        /// Bytes not read by the body's parser.
        unread: u64,
    },
}

impl CacheFileError {
    /// Whether the file does not exist (no cache yet: not worth a log line).
    pub fn is_not_found(&self) -> bool {
        matches!(self, CacheFileError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }
}

fn header_len(state: usize) -> u64 {
    (8 + 4 + 16 + 4 + 8 * state + 8 + 16) as u64
}

fn header(format: &CacheFormat, provenance: &Provenance, body_len: u64, checksum: u128) -> Vec<u8> {
    let mut h = Vec::with_capacity(header_len(provenance.state.len()) as usize);
    h.extend_from_slice(&format.magic);
    h.extend_from_slice(&format.version.to_le_bytes());
    h.extend_from_slice(provenance.identity.as_bytes());
    h.extend_from_slice(&(provenance.state.len() as u32).to_le_bytes());
    for v in &provenance.state {
        h.extend_from_slice(&v.to_le_bytes());
    }
    h.extend_from_slice(&body_len.to_le_bytes());
    h.extend_from_slice(&checksum.to_le_bytes());
    h
}

/// The body of a cache file being written: counts and checksums what goes
/// through it.
pub struct CacheWriter<'a> {
    inner: BufWriter<&'a mut std::fs::File>,
    hasher: Xxh3,
    len: u64,
}

impl std::fmt::Debug for CacheWriter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheWriter").field("len", &self.len).finish_non_exhaustive()
    }
}

impl Write for CacheWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes a cache file at `path` atomically: the body is written by `body`
/// to a temporary file beside `path`, the header completed with its length
/// and checksum, and the file renamed over `path`.
pub fn write_atomic(
    path: &Path,
    format: &CacheFormat,
    provenance: &Provenance,
    body: impl FnOnce(&mut CacheWriter<'_>) -> io::Result<()>,
) -> io::Result<()> {
    if provenance.state.len() > MAX_STATE {
        return Err(io::Error::other("too many state counters for a cache header"));
    }
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    let placeholder = header(format, provenance, 0, 0);
    let (len, checksum) = {
        let mut w = CacheWriter {
            inner: BufWriter::with_capacity(1 << 20, tmp.as_file_mut()),
            hasher: Xxh3::new(),
            len: 0,
        };
        w.inner.write_all(&placeholder)?;
        body(&mut w)?;
        w.flush()?;
        (w.len, w.hasher.digest128())
    };
    let file = tmp.as_file_mut();
    file.rewind()?;
    file.write_all(&header(format, provenance, len, checksum))?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// A cache file whose header has been read and checked: read the body
/// through it ([`Read`]), then call [`CacheReader::finish`].
pub struct CacheReader {
    path: PathBuf,
    provenance: Provenance,
    body: io::Take<BufReader<std::fs::File>>,
    body_len: u64,
    hasher: Xxh3,
    checksum: u128,
}

impl std::fmt::Debug for CacheReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheReader")
            .field("path", &self.path)
            .field("provenance", &self.provenance)
            .finish_non_exhaustive()
    }
}

/// Opens the cache file at `path` and checks its magic, format version and
/// length; the caller then compares [`CacheReader::provenance`] with the
/// store before reading the body.
pub fn open(path: &Path, format: &CacheFormat) -> Result<CacheReader, CacheFileError> {
    let io_err = |source| CacheFileError::Io { path: path.to_owned(), source };
    let file = std::fs::File::open(path).map_err(io_err)?;
    let file_len = file.metadata().map_err(io_err)?.len();
    let mut r = BufReader::with_capacity(1 << 20, file);
    let too_short = |path: &Path, expected: u64| CacheFileError::Length {
        path: path.to_owned(),
        expected,
        found: file_len,
    };
    let mut fixed = [0u8; 8 + 4 + 16 + 4];
    if file_len < fixed.len() as u64 {
        // Too short to say which kind it is: the magic is the check that fails.
        return Err(CacheFileError::Magic {
            path: path.to_owned(),
            expected: String::from_utf8_lossy(&format.magic).into_owned(),
        });
    }
    r.read_exact(&mut fixed).map_err(io_err)?;
    if fixed[..8] != format.magic {
        return Err(CacheFileError::Magic {
            path: path.to_owned(),
            expected: String::from_utf8_lossy(&format.magic).into_owned(),
        });
    }
    let word = |o: usize| u32::from_le_bytes([fixed[o], fixed[o + 1], fixed[o + 2], fixed[o + 3]]);
    let version = word(8);
    if version != format.version {
        return Err(CacheFileError::Version {
            path: path.to_owned(),
            found: version,
            expected: format.version,
        });
    }
    let mut identity = [0u8; 16];
    identity.copy_from_slice(&fixed[12..28]);
    let n_state = word(28) as usize;
    if n_state > MAX_STATE {
        return Err(CacheFileError::Header { path: path.to_owned(), what: "state counters" });
    }
    let header_len = header_len(n_state);
    if file_len < header_len {
        return Err(too_short(path, header_len));
    }
    let mut rest = vec![0u8; header_len as usize - fixed.len()];
    r.read_exact(&mut rest).map_err(io_err)?;
    let state: Vec<i64> = rest[..8 * n_state]
        .chunks_exact(8)
        .map(|b| i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
        .collect();
    let tail = &rest[8 * n_state..];
    let mut len = [0u8; 8];
    len.copy_from_slice(&tail[..8]);
    let body_len = u64::from_le_bytes(len);
    let mut sum = [0u8; 16];
    sum.copy_from_slice(&tail[8..24]);
    let expected = header_len.checked_add(body_len);
    if expected != Some(file_len) {
        return Err(too_short(path, expected.unwrap_or(u64::MAX)));
    }
    Ok(CacheReader {
        path: path.to_owned(),
        provenance: Provenance { identity: StoreIdentity::from_bytes(identity), state },
        body: r.take(body_len),
        body_len,
        hasher: Xxh3::new(),
        checksum: u128::from_le_bytes(sum),
    })
}

impl CacheReader {
    /// What the cache was built from, as its header records it.
    pub fn provenance(&self) -> &Provenance {
        &self.provenance
    }

    /// The length of the body (a bound for counts read from it, so that a
    /// corrupt count cannot make its parser allocate more than the file).
    pub fn body_len(&self) -> u64 {
        self.body_len
    }

    /// Reads what is left of the body and checks the checksum, then that
    /// the body's parser read it whole. Called after the body was parsed
    /// (a parsed body is used only when this succeeds), or after its parser
    /// failed, to tell a corrupt file from a malformed one.
    pub fn finish(mut self) -> Result<(), CacheFileError> {
        let mut unread = 0u64;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = self
                .read(&mut buf)
                .map_err(|source| CacheFileError::Io { path: self.path.clone(), source })?;
            if n == 0 {
                break;
            }
            unread += n as u64;
        }
        if self.hasher.digest128() != self.checksum {
            return Err(CacheFileError::Checksum { path: self.path });
        }
        if unread > 0 {
            return Err(CacheFileError::Trailing { path: self.path, unread });
        }
        Ok(())
    }
}

impl Read for CacheReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.body.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const FORMAT: CacheFormat = CacheFormat { magic: *b"MRSDTEST", version: 3 };

    fn provenance() -> Provenance {
        Provenance { identity: StoreIdentity::from_bytes([7; 16]), state: vec![1, -2, 3] }
    }

    fn write(path: &Path, body: &[u8]) {
        write_atomic(path, &FORMAT, &provenance(), |w| w.write_all(body)).unwrap();
    }

    fn read(path: &Path) -> Result<(Provenance, Vec<u8>), CacheFileError> {
        let mut r = open(path, &FORMAT)?;
        let mut body = Vec::new();
        r.read_to_end(&mut body).unwrap();
        let p = r.provenance().clone();
        r.finish()?;
        Ok((p, body))
    }

    #[test]
    fn round_trips_and_replaces_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c");
        write(&path, b"first body");
        write(&path, b"second, longer body");
        assert_eq!(read(&path).unwrap(), (provenance(), b"second, longer body".to_vec()));
        // Only the cache is left: the temporary file was renamed.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn every_header_field_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c");
        write(&path, b"the body of the cache");
        let good = std::fs::read(&path).unwrap();
        let body_at = header_len(3) as usize;
        let check = |bytes: Vec<u8>, expect: fn(&CacheFileError) -> bool| {
            std::fs::write(&path, bytes).unwrap();
            let err = read(&path).unwrap_err();
            assert!(expect(&err), "{err:?}");
        };
        let mut b = good.clone();
        b[0] ^= 1;
        check(b, |e| matches!(e, CacheFileError::Magic { .. }));
        let mut b = good.clone();
        b[8] = 4;
        check(b, |e| matches!(e, CacheFileError::Version { found: 4, expected: 3, .. }));
        let mut b = good.clone();
        b[28] = 200;
        check(b, |e| matches!(e, CacheFileError::Header { .. }));
        check(good[..good.len() - 1].to_vec(), |e| matches!(e, CacheFileError::Length { .. }));
        let mut b = good.clone();
        b.push(0);
        check(b, |e| matches!(e, CacheFileError::Length { .. }));
        check(good[..10].to_vec(), |e| matches!(e, CacheFileError::Magic { .. }));
        for at in [body_at, good.len() - 1] {
            let mut b = good.clone();
            b[at] ^= 0x20;
            check(b, |e| matches!(e, CacheFileError::Checksum { .. }));
        }
        // The checksum itself altered.
        let mut b = good.clone();
        b[body_at - 1] ^= 1;
        check(b, |e| matches!(e, CacheFileError::Checksum { .. }));
        let missing = open(&dir.path().join("none"), &FORMAT).unwrap_err();
        assert!(missing.is_not_found());
    }

    #[test]
    fn the_provenance_is_read_before_the_body() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c");
        write(&path, b"body");
        let mut b = std::fs::read(&path).unwrap();
        b[12] ^= 0xff;
        std::fs::write(&path, b).unwrap();
        let r = open(&path, &FORMAT).unwrap();
        assert_ne!(r.provenance().identity, provenance().identity);
        assert_eq!(r.provenance().state, provenance().state);
    }

    #[test]
    fn a_body_read_in_part_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c");
        write(&path, b"0123456789");
        let mut r = open(&path, &FORMAT).unwrap();
        let mut part = [0u8; 4];
        r.read_exact(&mut part).unwrap();
        assert!(matches!(r.finish(), Err(CacheFileError::Trailing { unread: 6, .. })));
    }

    #[test]
    fn identities_display_as_hyphenated_uuids() {
        let id = StoreIdentity::from_bytes([
            0x67, 0xe5, 0x50, 0x44, 0x10, 0xb1, 0x42, 0x6f, 0x92, 0x47, 0xbb, 0x68, 0x0e, 0x5f, 0xe0, 0xc8,
        ]);
        assert_eq!(id.to_string(), "67e55044-10b1-426f-9247-bb680e5fe0c8");
    }
}
