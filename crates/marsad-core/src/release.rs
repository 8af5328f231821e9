//! What describes a release once grouped: its [`ReleaseFormat`] and the
//! [`Evidence`] of its attribution. They live here, below the store, so that
//! the store can keep them typed and every front end prints the same names.

use std::fmt;

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize};

use crate::{EntryId, Platform, SourceKey, UtcTime};

/// The kind of content of a release.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseFormat {
    /// A video.
    Video,
    /// One or two images.
    Photo,
    /// Three or more images posted together (a "photo report").
    PhotoReport,
    /// An audio recording.
    Audio,
    /// Text only.
    Text,
    /// A document (PDF, archive…).
    Document,
}

impl ReleaseFormat {
    /// Every format, in display order (the observatory cache stores a
    /// format as its position here: append, never reorder).
    pub const ALL: [ReleaseFormat; 6] = [
        ReleaseFormat::Video,
        ReleaseFormat::Photo,
        ReleaseFormat::PhotoReport,
        ReleaseFormat::Audio,
        ReleaseFormat::Text,
        ReleaseFormat::Document,
    ];

    /// The name: `video`, `photo`, `photo_report`, `audio`, `text`, `document`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseFormat::Video => "video",
            ReleaseFormat::Photo => "photo",
            ReleaseFormat::PhotoReport => "photo_report",
            ReleaseFormat::Audio => "audio",
            ReleaseFormat::Text => "text",
            ReleaseFormat::Document => "document",
        }
    }

    /// Parses a name.
    pub fn parse(s: &str) -> Option<ReleaseFormat> {
        ReleaseFormat::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

impl fmt::Display for ReleaseFormat {
    /// The name, padded to the formatter's width (tables align on it).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Why a release is attributed to an outlet (or to none): the rule that
/// decided and what it saw.
///
/// It serializes as the JSON object marsad has always printed and stored:
/// `{"rule": "channel" | "bank_label" | "text" | "none", …}` with the keys
/// in alphabetical order (the order `serde_json::Value` gave them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Evidence {
    /// The release's earliest sighting in a registered channel.
    Channel {
        /// The registered channel.
        channel: SourceKey,
        /// The platform's id of the post.
        post_id: String,
        /// When it was posted.
        posted_at: UtcTime,
    },
    /// A label of a bank entry one of its items matched names the outlet.
    BankLabel {
        /// The bank's name.
        bank: String,
        /// The entry matched.
        entry_id: EntryId,
        /// The label's key (`outlet`, `label`, …).
        label: String,
        /// The label's value, which names the outlet.
        value: String,
    },
    /// The outlet's name or alias occurs in the text of one of its posts.
    Text {
        /// Where the post is.
        channel: SourceKey,
        /// The platform's id of the post.
        post_id: String,
        /// The name found (normalized).
        name: String,
    },
    /// Nothing attributes it.
    None,
}

/// Why a stored evidence text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid attribution evidence {text:?}: {reason}")]
pub struct EvidenceError {
    /// The text that was read.
    pub text: String,
    /// What is wrong with it.
    pub reason: String,
}

impl Evidence {
    /// The rule's name: `channel`, `bank_label`, `text` or `none`.
    pub fn rule(&self) -> &'static str {
        match self {
            Evidence::Channel { .. } => "channel",
            Evidence::BankLabel { .. } => "bank_label",
            Evidence::Text { .. } => "text",
            Evidence::None => "none",
        }
    }

    /// The JSON object, as stored and printed.
    pub fn to_json(&self) -> String {
        // Serializing strings and integers into a String cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses the JSON object [`Evidence::to_json`] writes.
    pub fn from_json(text: &str) -> Result<Evidence, EvidenceError> {
        serde_json::from_str(text).map_err(|e| EvidenceError { text: text.to_owned(), reason: e.to_string() })
    }
}

impl Serialize for Evidence {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Keys in alphabetical order, "rule" among them: byte for byte what
        // the untyped `serde_json::Value` (a sorted map) used to write.
        match self {
            Evidence::Channel { channel, post_id, posted_at } => {
                let mut m = s.serialize_map(Some(4))?;
                m.serialize_entry("channel", &channel.to_string())?;
                m.serialize_entry("post_id", post_id)?;
                m.serialize_entry("posted_at", &posted_at.to_rfc3339())?;
                m.serialize_entry("rule", self.rule())?;
                m.end()
            }
            Evidence::BankLabel { bank, entry_id, label, value } => {
                let mut m = s.serialize_map(Some(5))?;
                m.serialize_entry("bank", bank)?;
                m.serialize_entry("entry_id", entry_id)?;
                m.serialize_entry("label", label)?;
                m.serialize_entry("rule", self.rule())?;
                m.serialize_entry("value", value)?;
                m.end()
            }
            Evidence::Text { channel, post_id, name } => {
                let mut m = s.serialize_map(Some(4))?;
                m.serialize_entry("channel", &channel.to_string())?;
                m.serialize_entry("name", name)?;
                m.serialize_entry("post_id", post_id)?;
                m.serialize_entry("rule", self.rule())?;
                m.end()
            }
            Evidence::None => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("rule", self.rule())?;
                m.end()
            }
        }
    }
}

/// The stored form, read in any key order.
#[derive(Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case", deny_unknown_fields)]
enum EvidenceRepr {
    Channel { channel: String, post_id: String, posted_at: String },
    BankLabel { bank: String, entry_id: i64, label: String, value: String },
    Text { channel: String, post_id: String, name: String },
    // A struct variant, so that unknown fields are refused here too.
    None {},
}

/// `platform:id` exactly as [`SourceKey`]'s `Display` writes it.
fn channel(text: &str) -> Result<SourceKey, String> {
    let (platform, id) =
        text.split_once(':').ok_or_else(|| format!("channel {text:?} is not platform:id"))?;
    let platform = Platform::new(platform).map_err(|e| e.to_string())?;
    if id.is_empty() {
        return Err(format!("channel {text:?} has no id"));
    }
    Ok(SourceKey { platform, platform_id: id.to_owned() })
}

impl<'de> Deserialize<'de> for Evidence {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        Ok(match EvidenceRepr::deserialize(d)? {
            EvidenceRepr::Channel { channel: c, post_id, posted_at } => Evidence::Channel {
                channel: channel(&c).map_err(D::Error::custom)?,
                post_id,
                posted_at: UtcTime::parse_rfc3339(&posted_at).map_err(D::Error::custom)?,
            },
            EvidenceRepr::BankLabel { bank, entry_id, label, value } => {
                Evidence::BankLabel { bank, entry_id: EntryId(entry_id), label, value }
            }
            EvidenceRepr::Text { channel: c, post_id, name } => {
                Evidence::Text { channel: channel(&c).map_err(D::Error::custom)?, post_id, name }
            }
            EvidenceRepr::None {} => Evidence::None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str) -> SourceKey {
        SourceKey { platform: Platform::telegram(), platform_id: id.to_owned() }
    }

    /// Each rule against the text the untyped JSON wrote (copied from a
    /// store made before the type existed).
    #[test]
    fn evidence_json_is_unchanged() {
        let cases = [
            (
                Evidence::Channel {
                    channel: key("1000000006"),
                    post_id: "42".to_owned(),
                    posted_at: UtcTime::parse_rfc3339("2024-01-01T07:29:39Z").unwrap(),
                },
                r#"{"channel":"telegram:1000000006","post_id":"42","posted_at":"2024-01-01T07:29:39Z","rule":"channel"}"#,
            ),
            (
                Evidence::BankLabel {
                    bank: "known".to_owned(),
                    entry_id: EntryId(5),
                    label: "outlet".to_owned(),
                    value: "مؤسسة \"النخيل\"".to_owned(),
                },
                r#"{"bank":"known","entry_id":5,"label":"outlet","rule":"bank_label","value":"مؤسسة \"النخيل\""}"#,
            ),
            (
                Evidence::Text { channel: key("9"), post_id: "7".to_owned(), name: "palm grove".to_owned() },
                r#"{"channel":"telegram:9","name":"palm grove","post_id":"7","rule":"text"}"#,
            ),
            (Evidence::None, r#"{"rule":"none"}"#),
        ];
        for (evidence, json) in cases {
            assert_eq!(evidence.to_json(), json);
            assert_eq!(Evidence::from_json(json), Ok(evidence));
        }
    }

    #[test]
    fn bad_evidence_is_refused() {
        for bad in [
            "",
            "{}",
            r#"{"rule":"gut_feeling"}"#,
            r#"{"rule":"channel","channel":"telegram","post_id":"1","posted_at":"2024-01-01T00:00:00Z"}"#,
            r#"{"rule":"channel","channel":"telegram:1","post_id":"1","posted_at":"yesterday"}"#,
            r#"{"rule":"none","extra":1}"#,
        ] {
            let err = Evidence::from_json(bad).expect_err(bad);
            assert_eq!(err.text, bad);
        }
    }

    #[test]
    fn formats_round_trip_by_name() {
        let names = ["video", "photo", "photo_report", "audio", "text", "document"];
        for (f, name) in ReleaseFormat::ALL.into_iter().zip(names) {
            assert_eq!(f.as_str(), name);
            assert_eq!(ReleaseFormat::parse(name), Some(f));
            assert_eq!(serde_json::to_string(&f).unwrap(), format!("\"{name}\""));
        }
        assert_eq!(ReleaseFormat::parse("Photo"), None);
        assert_eq!(format!("[{:<8}]", ReleaseFormat::Text), "[text    ]", "tables pad it");
    }
}
