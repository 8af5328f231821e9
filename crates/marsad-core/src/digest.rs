use std::fmt;

/// Why a hex digest was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HexError {
    /// The string does not have the digest's length.
    #[error("expected {expected} hex digits, found {found}")]
    Length {
        /// Hex digits the digest has.
        expected: usize,
        /// Characters found.
        found: usize,
    },
    /// A character that is not a hex digit.
    #[error("invalid hex digit {0:?}")]
    Digit(char),
}

fn parse_hex<const N: usize>(s: &str) -> Result<[u8; N], HexError> {
    let s = s.trim();
    if s.len() != 2 * N {
        return Err(HexError::Length { expected: 2 * N, found: s.chars().count() });
    }
    let digit = |c: u8| -> Result<u8, HexError> {
        (c as char).to_digit(16).map(|d| d as u8).ok_or(HexError::Digit(c as char))
    };
    if let Some(c) = s.chars().find(|c| !c.is_ascii_hexdigit()) {
        return Err(HexError::Digit(c));
    }
    let b = s.as_bytes();
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = (digit(b[2 * i])? << 4) | digit(b[2 * i + 1])?;
    }
    Ok(out)
}

fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    for b in bytes {
        write!(f, "{b:02x}")?;
    }
    Ok(())
}

macro_rules! digest_type {
    ($(#[$doc:meta])* $name:ident, $n:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub [u8; $n]);

        impl $name {
            /// Parses lowercase or uppercase hex digits.
            pub fn from_hex(s: &str) -> Result<Self, HexError> {
                parse_hex::<$n>(s).map($name)
            }

            /// Lowercase hex digits.
            pub fn to_hex(&self) -> String {
                self.to_string()
            }

            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; $n] {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_hex(f, &self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}(", stringify!($name))?;
                write_hex(f, &self.0)?;
                f.write_str(")")
            }
        }
    };
}

digest_type!(
    /// A SHA-256 digest: the content address of a media item.
    Sha256,
    32
);
digest_type!(
    /// An MD5 digest, as hash-sharing banks exchange it.
    Md5,
    16
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_errors() {
        let h = "d41d8cd98f00b204e9800998ecf8427e";
        assert_eq!(Md5::from_hex(h).unwrap().to_hex(), h);
        assert_eq!(Md5::from_hex(&h.to_uppercase()).unwrap().to_hex(), h);
        assert_eq!(Md5::from_hex("abc"), Err(HexError::Length { expected: 32, found: 3 }));
        assert_eq!(Md5::from_hex("g41d8cd98f00b204e9800998ecf8427e"), Err(HexError::Digit('g')));
        assert!(Sha256::from_hex(h).is_err());
        // Multi-byte characters are counted as characters and refused.
        assert!(Md5::from_hex("é41d8cd98f00b204e9800998ecf8427").is_err());
    }
}
