//! Domain types shared by every marsad crate: where a post came from
//! ([`SourceKey`]), when ([`UtcTime`]), what media it carried ([`MediaKind`],
//! [`Sha256`], [`Md5`]) and which fingerprints describe it ([`SignalType`], [`SignalVariant`]),
//! the typed ids a store gives out ([`PostId`], [`ReleaseId`]…) and what
//! describes a release ([`ReleaseFormat`], [`Evidence`]).
//!
//! This crate does no I/O. Values are parsed once at the edge
//! (`UtcTime::parse_rfc3339`, `Sha256::from_hex`) and passed around typed.
//!
//! ```
//! use marsad_core::UtcTime;
//! let t = UtcTime::parse_rfc3339("2017-11-08T12:00:00+03:00").unwrap();
//! assert_eq!(t.to_rfc3339(), "2017-11-08T09:00:00Z");
//! assert_eq!(UtcTime::from_unix_seconds(t.unix_seconds()), t);
//! ```
#![deny(missing_docs)]

mod budget;
mod digest;
mod ids;
mod release;
mod time;

pub use budget::{DEFAULT_MEMORY_BUDGET, MemoryBudget, OverBudget, Reservation, Size, parse_size};
pub use digest::{HexError, Md5, Sha256};
pub use ids::{BankId, EntryId, PostId, ReleaseId, RunId, SourceId};
pub use release::{Evidence, EvidenceError, ReleaseFormat};
pub use time::{LocalZone, TimeError, UtcTime};

use std::fmt;

/// A platform name such as `telegram` or `x`: lowercase ASCII letters, digits,
/// `-`, `_` and `.`, 1 to 32 characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Platform(String);

/// Why a platform name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid platform name {0:?}: expected 1-32 lowercase ASCII letters, digits, '-', '_' or '.'")]
pub struct PlatformError(pub String);

impl Platform {
    /// The Telegram platform.
    pub fn telegram() -> Self {
        Platform("telegram".to_owned())
    }

    /// Parses a platform name.
    pub fn new(name: &str) -> Result<Self, PlatformError> {
        let ok = !name.is_empty()
            && name.len() <= 32
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.'));
        if ok { Ok(Platform(name.to_owned())) } else { Err(PlatformError(name.to_owned())) }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Identifies a source (channel, group, account) across ingests: the platform
/// and the platform's own identifier for it (for Telegram, the chat's numeric
/// `id` in the export).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceKey {
    /// The platform.
    pub platform: Platform,
    /// The platform's identifier of the source.
    pub platform_id: String,
}

impl fmt::Display for SourceKey {
    /// `platform:id`, the form outlet registries use (`telegram:1000000000`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.platform, self.platform_id)
    }
}

/// What kind of media item a file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MediaKind {
    /// A still image (photo, sticker image).
    Image,
    /// A video, animation or round video message.
    Video,
    /// Audio: voice messages, music, podcasts.
    Audio,
    /// Anything else: PDF, archives, text files.
    Document,
}

impl MediaKind {
    /// Every kind, in a stable order.
    pub const ALL: [MediaKind; 4] =
        [MediaKind::Image, MediaKind::Video, MediaKind::Audio, MediaKind::Document];

    /// The stored name: `image`, `video`, `audio` or `document`.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Video => "video",
            MediaKind::Audio => "audio",
            MediaKind::Document => "document",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The kind a MIME type implies (`image/…`, `video/…`, `audio/…`, else a
    /// document).
    pub fn from_mime(mime: &str) -> Self {
        match mime.split('/').next().unwrap_or_default() {
            "image" => MediaKind::Image,
            "video" => MediaKind::Video,
            "audio" => MediaKind::Audio,
            _ => MediaKind::Document,
        }
    }
}

impl fmt::Display for MediaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of a fingerprint ("signal type" in ThreatExchange terms).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SignalType {
    /// PDQ perceptual image hash, 64 hex digits.
    Pdq,
    /// vPDQ video hash: PDQ hashes of frames.
    Vpdq,
    /// MD5 of the bytes.
    Md5,
    /// SHA-256 of the bytes.
    Sha256,
    /// Chromaprint audio fingerprint.
    Audio,
    /// MinHash signature of normalized text.
    Text,
}

impl SignalType {
    /// Every signal type, in a stable order.
    pub const ALL: [SignalType; 6] = [
        SignalType::Pdq,
        SignalType::Vpdq,
        SignalType::Md5,
        SignalType::Sha256,
        SignalType::Audio,
        SignalType::Text,
    ];

    /// The stored name, as the CLI spells it (`pdq`, `vpdq`, `md5`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            SignalType::Pdq => "pdq",
            SignalType::Vpdq => "vpdq",
            SignalType::Md5 => "md5",
            SignalType::Sha256 => "sha256",
            SignalType::Audio => "audio",
            SignalType::Text => "text",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for SignalType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A fingerprint computed as another tool computes it, kept beside marsad's
/// own of the same signal type so that banks made by that tool still match.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SignalVariant {
    /// python-threatexchange's PDQ of a palette or CMYK image (and so
    /// HMA's): Pillow's palette indices, or its C, M, Y samples, hashed as
    /// if they were colours, where marsad hashes the true colours.
    Pytx,
}

impl SignalVariant {
    /// Every variant, in a stable order.
    pub const ALL: [SignalVariant; 1] = [SignalVariant::Pytx];

    /// The stored name, as output spells it (`pytx`).
    pub const fn as_str(self) -> &'static str {
        match self {
            SignalVariant::Pytx => "pytx",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

impl fmt::Display for SignalVariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_names() {
        assert!(Platform::new("telegram").is_ok());
        assert!(Platform::new("x.com").is_ok());
        assert!(Platform::new("").is_err());
        assert!(Platform::new("Telegram").is_err());
        assert!(Platform::new("a b").is_err());
        assert!(Platform::new(&"a".repeat(33)).is_err());
    }

    #[test]
    fn names_round_trip() {
        for k in MediaKind::ALL {
            assert_eq!(MediaKind::parse(k.as_str()), Some(k));
        }
        for s in SignalType::ALL {
            assert_eq!(SignalType::parse(s.as_str()), Some(s));
        }
        for v in SignalVariant::ALL {
            assert_eq!(SignalVariant::parse(v.as_str()), Some(v));
        }
        assert_eq!(SignalVariant::parse("pdq"), None);
        assert_eq!(MediaKind::from_mime("video/mp4"), MediaKind::Video);
        assert_eq!(MediaKind::from_mime("application/pdf"), MediaKind::Document);
    }
}
