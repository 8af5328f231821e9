//! The 256-bit PDQ hash value and its ThreatExchange text form.

use std::fmt;
use std::str::FromStr;

/// A 256-bit PDQ hash.
///
/// Bit `k` (0..256) is set when DCT coefficient `(k / 16, k % 16)` lies above
/// the median of the 16×16 coefficients. The reference stores the bits as 16
/// words of 16 bits (bit `k` in word `k >> 4` at position `k & 15`) and prints
/// the words from 15 down to 0; this type stores the same 256 bits as one
/// big-endian 256-bit number, so the bytes read left to right are the hex
/// digits read left to right and bit `k` is byte `31 - k / 8`, bit `k % 8`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct PdqHash([u8; 32]);

/// Why a string is not a PDQ hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PdqHashParseError {
    /// The text does not have exactly 64 characters.
    #[error("pdq hash must be 64 hex digits, got {len} characters")]
    WrongLength {
        /// Number of characters in the text.
        len: usize,
    },
    /// A character is not a hex digit.
    #[error("pdq hash has non-hex character {found:?} at position {position}")]
    InvalidDigit {
        /// Zero-based character position of the offending character.
        position: usize,
        /// The offending character.
        found: char,
    },
}

impl PdqHash {
    /// The all-zero hash (what the reference returns for images too small to hash).
    pub const ZERO: PdqHash = PdqHash([0; 32]);

    /// Builds a hash from its 32 bytes in text order (the first byte is the
    /// first two hex digits).
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        PdqHash(bytes)
    }

    /// The 32 bytes in text order (the first byte is the first two hex digits).
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Builds a hash from the reference's 16 words (`words[i]` holds bits
    /// `16 i .. 16 i + 16`).
    pub fn from_words(words: [u16; 16]) -> Self {
        let mut bytes = [0u8; 32];
        for (i, w) in words.iter().enumerate() {
            let at = (15 - i) * 2;
            bytes[at..at + 2].copy_from_slice(&w.to_be_bytes());
        }
        PdqHash(bytes)
    }

    /// The reference's 16 words (`words[i]` holds bits `16 i .. 16 i + 16`).
    pub fn words(&self) -> [u16; 16] {
        let mut words = [0u16; 16];
        for (i, w) in words.iter_mut().enumerate() {
            let at = (15 - i) * 2;
            *w = u16::from_be_bytes([self.0[at], self.0[at + 1]]);
        }
        words
    }

    /// Whether bit `k` is set.
    ///
    /// # Panics
    /// If `k >= 256`.
    pub fn bit(&self, k: usize) -> bool {
        assert!(k < 256, "pdq bit index {k} out of range");
        self.0[31 - k / 8] >> (k % 8) & 1 == 1
    }

    /// Sets bit `k`.
    ///
    /// # Panics
    /// If `k >= 256`.
    pub fn set_bit(&mut self, k: usize) {
        assert!(k < 256, "pdq bit index {k} out of range");
        self.0[31 - k / 8] |= 1 << (k % 8);
    }

    /// Flips bit `k`.
    ///
    /// # Panics
    /// If `k >= 256`.
    pub fn flip_bit(&mut self, k: usize) {
        assert!(k < 256, "pdq bit index {k} out of range");
        self.0[31 - k / 8] ^= 1 << (k % 8);
    }

    /// The hash as four 64-bit limbs, most significant first (for fast
    /// comparisons; the layout matches the text order).
    pub fn limbs(&self) -> [u64; 4] {
        let mut out = [0u64; 4];
        for (limb, chunk) in out.iter_mut().zip(self.0.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            *limb = u64::from_be_bytes(b);
        }
        out
    }

    /// Number of differing bits (0..=256).
    pub fn hamming(&self, other: &PdqHash) -> u32 {
        self.limbs().iter().zip(other.limbs().iter()).map(|(a, b)| (a ^ b).count_ones()).sum()
    }

    /// Number of set bits.
    pub fn count_ones(&self) -> u32 {
        self.limbs().iter().map(|l| l.count_ones()).sum()
    }

    /// Whether every bit is zero (the reference's output for images under
    /// 5 pixels on a side).
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 32]
    }

    /// 64 lowercase hex digits in the ThreatExchange layout.
    pub fn to_hex(&self) -> String {
        crate::digest::hex(&self.0)
    }

    /// Parses 64 hex digits (either case) in the ThreatExchange layout.
    pub fn from_hex(text: &str) -> Result<Self, PdqHashParseError> {
        let len = text.chars().count();
        if len != 64 || text.len() != 64 {
            return Err(PdqHashParseError::WrongLength { len });
        }
        let digits = text.as_bytes();
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            let hi = hex_value(digits[2 * i]).ok_or(PdqHashParseError::InvalidDigit {
                position: 2 * i,
                found: char::from(digits[2 * i]),
            })?;
            let lo = hex_value(digits[2 * i + 1]).ok_or(PdqHashParseError::InvalidDigit {
                position: 2 * i + 1,
                found: char::from(digits[2 * i + 1]),
            })?;
            *byte = hi << 4 | lo;
        }
        Ok(PdqHash(bytes))
    }
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl fmt::Display for PdqHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in &self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for PdqHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PdqHash({self})")
    }
}

impl FromStr for PdqHash {
    type Err = PdqHashParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PdqHash::from_hex(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_layout_matches_reference_words() {
        // Bit 0 is the lowest bit of word 0, printed last.
        let mut h = PdqHash::ZERO;
        h.set_bit(0);
        assert_eq!(h.to_hex(), format!("{}1", "0".repeat(63)));
        assert_eq!(h.words()[0], 1);
        // Bit 255 is the top bit of word 15, printed first.
        let mut h = PdqHash::ZERO;
        h.set_bit(255);
        assert_eq!(h.to_hex(), format!("8{}", "0".repeat(63)));
        assert_eq!(h.words()[15], 0x8000);
        // Bit 20 is word 1, position 4.
        let mut h = PdqHash::ZERO;
        h.set_bit(20);
        assert_eq!(h.words()[1], 1 << 4);
        assert_eq!(PdqHash::from_words(h.words()), h);
        assert!(h.bit(20) && !h.bit(21));
    }

    #[test]
    fn parse_errors_name_the_problem() {
        assert_eq!(PdqHash::from_hex("abc"), Err(PdqHashParseError::WrongLength { len: 3 }));
        let bad = format!("{}g{}", "0".repeat(10), "0".repeat(53));
        assert_eq!(
            PdqHash::from_hex(&bad),
            Err(PdqHashParseError::InvalidDigit { position: 10, found: 'g' })
        );
        let multibyte = format!("{}é", "0".repeat(62));
        assert!(PdqHash::from_hex(&multibyte).is_err());
        let upper = "F".repeat(64);
        assert_eq!(PdqHash::from_hex(&upper).map(|h| h.count_ones()), Ok(256));
    }
}
