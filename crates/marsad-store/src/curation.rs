//! Records of serving: banks' matching settings and HMA's content model
//! (several signals of one item under one content id, with a note, metadata
//! and a disable time), the bank change log a live index follows, access
//! tokens, and the audit log.

use std::collections::BTreeMap;

use marsad_core::{BankId, EntryId, SignalType, UtcTime};

/// A bank's matching settings.
#[derive(Clone, Debug, PartialEq)]
pub struct BankSettings {
    /// Its name in HMA's API (`^[A-Z_][A-Z0-9_]*$`): the bank's own name when
    /// it has that form, else one made from it (see the README), unique.
    pub hma_name: String,
    /// HMA's `matching_enabled_ratio`: the share of lookups the bank takes
    /// part in (0 to 1).
    pub enabled_ratio: f64,
    /// The bank's own PDQ distance (inclusive), instead of the server's.
    pub pdq_threshold: Option<u32>,
}

impl Default for BankSettings {
    fn default() -> Self {
        BankSettings { hma_name: String::new(), enabled_ratio: 1.0, pdq_threshold: None }
    }
}

/// A change of a bank's settings or name; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BankUpdate {
    /// A new HMA name (the bank's own name changes with it when the two
    /// were the same).
    pub rename: Option<String>,
    /// A new enabled ratio.
    pub enabled_ratio: Option<f64>,
    /// A new PDQ distance (`Some(None)` removes the bank's own).
    pub pdq_threshold: Option<Option<u32>>,
}

/// HMA's `disable_until_ts` of content that matches.
pub const CONTENT_ENABLED: i64 = 1;

/// An item to add to a bank: one entry per signal, under one content id.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NewContent {
    /// Its signals, at most one per type, values canonical.
    pub signals: Vec<(SignalType, String)>,
    /// A note (at most 255 characters: the caller checks).
    pub note: Option<String>,
    /// Metadata, a JSON object as text.
    pub metadata: Option<String>,
    /// Where the media was found.
    pub original_media_uri: Option<String>,
    /// Labels of every entry (outlet, release, source…).
    pub labels: BTreeMap<String, String>,
}

/// A stored content item.
#[derive(Clone, Debug, PartialEq)]
pub struct BankContent {
    /// Its id: the id of its first entry (an entry added on its own, as
    /// `bank import` adds them, is a content item of one signal with its
    /// entry's id).
    pub id: i64,
    /// Its bank's id.
    pub bank_id: BankId,
    /// Its bank's name.
    pub bank: String,
    /// Its bank's settings.
    pub bank_settings: BankSettings,
    /// Its entries: id, signal type and value.
    pub signals: Vec<(EntryId, SignalType, String)>,
    /// The labels of its first entry.
    pub labels: BTreeMap<String, String>,
    /// Its note.
    pub note: Option<String>,
    /// Its metadata (a JSON object as text).
    pub metadata: Option<String>,
    /// 1: enabled; 0: disabled; else disabled until that Unix second.
    pub disable_until_ts: i64,
    /// Where the media was found.
    pub original_media_uri: Option<String>,
    /// When it was added.
    pub added_at: UtcTime,
}

impl BankContent {
    /// Whether it matches at `now_unix` (HMA's rule: 1 enabled, 0
    /// disabled, else enabled once the time has passed).
    pub fn enabled_at(&self, now_unix: i64) -> bool {
        content_enabled(self.disable_until_ts, now_unix)
    }
}

/// HMA's rule for `disable_until_ts`: 1 enabled, 0 disabled, else enabled
/// once that Unix second has passed.
pub fn content_enabled(disable_until_ts: i64, now_unix: i64) -> bool {
    match disable_until_ts {
        1 => true,
        0 => false,
        t => t <= now_unix,
    }
}

/// A change of a content item; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContentUpdate {
    /// A new disable time.
    pub disable_until_ts: Option<i64>,
    /// A new note (`Some(None)` removes it).
    pub note: Option<Option<String>>,
}

/// What a change log record says changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BankChange {
    /// A bank was created, renamed or had its settings changed.
    Bank(BankId),
    /// A bank was deleted with all its entries.
    BankDeleted(BankId),
    /// A content item's note or disable time changed.
    Content(i64),
    /// A content item was removed with its entries.
    ContentDeleted(i64),
    /// The signal type settings changed.
    SignalTypes,
}

/// One record of the bank change log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BankLogRecord {
    /// Its place in the log (grows).
    pub seq: i64,
    /// What changed.
    pub change: BankChange,
}

/// Where a follower of the banks is: entries are added with growing ids,
/// every other change is logged with a growing sequence number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BankCursor {
    /// The largest entry id ever given (0 before the first).
    pub max_entry_id: i64,
    /// The last change log record (0 before the first).
    pub log_seq: i64,
}

/// An entry as a live index holds it: where it belongs and whether it
/// matches.
#[derive(Clone, Debug, PartialEq)]
pub struct ServedEntry {
    /// The entry.
    pub entry: crate::BankEntry,
    /// Its bank's id.
    pub bank_id: BankId,
    /// Its content's id.
    pub content_id: i64,
    /// Its content's disable time.
    pub disable_until_ts: i64,
}

/// What an access token (or user) may do; each role may do what the ones
/// before it may.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Reads.
    Viewer,
    /// Also edits the catalogue: registry, imports, ingest jobs.
    Analyst,
    /// Also decides matches and curates banks.
    Moderator,
    /// Also manages tokens and reads the audit log.
    Admin,
}

impl Role {
    /// Every role, from least to most.
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Analyst, Role::Moderator, Role::Admin];

    /// Its name: `viewer`, `analyst`, `moderator`, `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Analyst => "analyst",
            Role::Moderator => "moderator",
            Role::Admin => "admin",
        }
    }

    /// The role of a name.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A token to store: only its hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewToken {
    /// Its unique name (among tokens not revoked).
    pub name: String,
    /// Its role.
    pub role: Role,
    /// SHA-256 of the token.
    pub hash: [u8; 32],
    /// The token's first characters, to tell tokens apart in lists.
    pub prefix: String,
}

/// A stored token (never the token itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRecord {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// The token's first characters.
    pub prefix: String,
    /// When it was made.
    pub created_at: UtcTime,
    /// When it was revoked.
    pub revoked_at: Option<UtcTime>,
}

/// An event for the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAuditEvent {
    /// When it happened.
    pub at: UtcTime,
    /// Who: a token's or user's name, `cli` for the command line, `-` when
    /// unauthenticated.
    pub actor: String,
    /// What: `lookup`, `bank.create`, `auth.refused`…
    pub action: String,
    /// On what: a route, a bank, a content id.
    pub target: Option<String>,
    /// The HTTP status answered, for requests.
    pub status: Option<u16>,
    /// More, as a JSON object (never a looked-up hash or uploaded content).
    pub detail: Option<String>,
}

/// A stored audit event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    /// Its place in the log.
    pub id: i64,
    /// The event.
    pub event: NewAuditEvent,
}

/// Whether a name has HMA's bank name form, `^[A-Z_][A-Z0-9_]*$`.
pub fn is_hma_bank_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('A'..='Z' | '_')) && chars.all(|c| matches!(c, 'A'..='Z' | '0'..='9' | '_'))
}

/// The HMA name made from a bank name that does not have HMA's form:
/// ASCII letters upper-cased, digits and `_` kept, every other character
/// `_`, and `_` in front when it would start with a digit. A store adds
/// `_2`, `_3`… when the result is taken.
pub fn hma_name_of(name: &str) -> String {
    if is_hma_bank_name(name) {
        return name.to_owned();
    }
    let mut out: String = name
        .chars()
        .map(|c| match c {
            'a'..='z' => c.to_ascii_uppercase(),
            'A'..='Z' | '0'..='9' | '_' => c,
            _ => '_',
        })
        .collect();
    if !out.starts_with(|c: char| c == '_' || c.is_ascii_uppercase()) {
        out.insert(0, '_');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hma_names_are_made_from_any_name() {
        assert_eq!(hma_name_of("KNOWN_1"), "KNOWN_1");
        assert_eq!(hma_name_of("demo-known"), "DEMO_KNOWN");
        assert_eq!(hma_name_of("2024 list"), "_2024_LIST");
        assert_eq!(hma_name_of("بنك"), "___");
        assert_eq!(hma_name_of(""), "_");
        for name in ["demo-known", "2024 list", "بنك", "", "a.b"] {
            assert!(is_hma_bank_name(&hma_name_of(name)), "{name:?}");
        }
        assert!(!is_hma_bank_name("lower"));
        assert!(!is_hma_bank_name("9A"));
        assert!(is_hma_bank_name("_"));
    }

    #[test]
    fn disable_times_follow_hma() {
        assert!(content_enabled(1, 100));
        assert!(!content_enabled(0, 100));
        assert!(!content_enabled(200, 100));
        assert!(content_enabled(100, 100));
    }
}
