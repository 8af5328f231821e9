//! Exact digests of bytes: SHA-256 (the content address of a media item) and
//! MD5 (what hash-sharing banks such as ThreatExchange still exchange),
//! computed together so each byte is read once.

use md5::{Digest as _, Md5};
use sha2::Sha256;

/// Running SHA-256 and MD5 over the same byte stream.
#[derive(Clone, Default)]
pub struct ExactDigests {
    sha256: Sha256,
    md5: Md5,
    len: u64,
}

impl std::fmt::Debug for ExactDigests {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExactDigests").field("len", &self.len).finish_non_exhaustive()
    }
}

/// The finished digests of a byte stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Digests {
    /// SHA-256 of the bytes.
    pub sha256: [u8; 32],
    /// MD5 of the bytes.
    pub md5: [u8; 16],
    /// Number of bytes digested.
    pub len: u64,
}

impl ExactDigests {
    /// Starts empty digests.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next chunk of bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.sha256.update(bytes);
        self.md5.update(bytes);
        self.len += bytes.len() as u64;
    }

    /// Finishes both digests.
    pub fn finish(self) -> Digests {
        Digests { sha256: self.sha256.finalize().into(), md5: self.md5.finalize().into(), len: self.len }
    }
}

impl Digests {
    /// Digests of a whole byte slice.
    pub fn of(bytes: &[u8]) -> Self {
        let mut d = ExactDigests::new();
        d.update(bytes);
        d.finish()
    }

    /// SHA-256 as 64 lowercase hex digits.
    pub fn sha256_hex(&self) -> String {
        hex(&self.sha256)
    }

    /// MD5 as 32 lowercase hex digits, as `md5sum` prints it.
    pub fn md5_hex(&self) -> String {
        hex(&self.md5)
    }
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &[u8], sha256: &str, md5: &str) {
        let d = Digests::of(input);
        assert_eq!(d.sha256_hex(), sha256);
        assert_eq!(d.md5_hex(), md5);
        assert_eq!(d.len, input.len() as u64);
    }

    #[test]
    fn known_vectors() {
        // RFC 1321 and FIPS 180-2 test vectors.
        check(
            b"",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "d41d8cd98f00b204e9800998ecf8427e",
        );
        check(
            b"abc",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            "900150983cd24fb0d6963f7d28e17f72",
        );
    }

    #[test]
    fn chunking_does_not_change_digests() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut d = ExactDigests::new();
        for chunk in data.chunks(333) {
            d.update(chunk);
        }
        assert_eq!(d.finish(), Digests::of(&data));
    }
}
