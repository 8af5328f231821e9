//! The moderators' review queue: stored matches and releases attributed to
//! no outlet wait for a decision (confirm, reject, escalate); decisions are
//! a log, each undoable; a rejected match puts its pair (the item and the
//! bank entry) on an ignore list, so that matching never stores it again.
//! Reviewer protection keeps its settings, each user's blur level and the
//! items each user revealed per day here too.

use marsad_core::{EntryId, ReleaseId, UtcTime};

/// What waits for a decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReviewTarget {
    /// A stored match, by its id.
    Match(i64),
    /// A release attributed to no outlet.
    Release(ReleaseId),
}

impl ReviewTarget {
    /// `match` or `release`.
    pub fn kind(self) -> &'static str {
        match self {
            ReviewTarget::Match(_) => "match",
            ReviewTarget::Release(_) => "release",
        }
    }

    /// The id within its kind.
    pub fn id(self) -> i64 {
        match self {
            ReviewTarget::Match(id) => id,
            ReviewTarget::Release(r) => r.0,
        }
    }

    /// From its kind and id.
    pub fn of(kind: &str, id: i64) -> Option<ReviewTarget> {
        match kind {
            "match" => Some(ReviewTarget::Match(id)),
            "release" => Some(ReviewTarget::Release(ReleaseId(id))),
            _ => None,
        }
    }
}

/// A moderator's decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// It is the known material (a match), or it is propaganda to keep (a
    /// release).
    Confirm,
    /// A false positive; a rejected match's pair is ignored from then on.
    Reject,
    /// Someone else must decide.
    Escalate,
}

impl Verdict {
    /// `confirm`, `reject` or `escalate`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Confirm => "confirm",
            Verdict::Reject => "reject",
            Verdict::Escalate => "escalate",
        }
    }

    /// From its name.
    pub fn parse(s: &str) -> Option<Verdict> {
        match s {
            "confirm" => Some(Verdict::Confirm),
            "reject" => Some(Verdict::Reject),
            "escalate" => Some(Verdict::Escalate),
            _ => None,
        }
    }
}

/// A decision to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewDecision {
    /// What is decided.
    pub target: ReviewTarget,
    /// The decision.
    pub verdict: Verdict,
    /// The moderator's note.
    pub note: Option<String>,
    /// Who decided.
    pub actor: String,
    /// When.
    pub at: UtcTime,
    /// The bank a confirmed item's hashes were added to, if any.
    pub bank: Option<String>,
}

/// A stored decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecisionRecord {
    /// Its id (increasing).
    pub id: i64,
    /// The decision as made.
    pub decision: NewDecision,
    /// When it was undone, and by whom.
    pub undone: Option<(UtcTime, String)>,
}

/// Which queue items to list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum QueueState {
    /// Without a standing decision.
    #[default]
    Open,
    /// Whose standing decision is to escalate.
    Escalated,
}

/// An item of the queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueItem {
    /// What it is.
    pub target: ReviewTarget,
    /// When it came (the match found, the release first seen).
    pub since: UtcTime,
    /// The standing decision, for escalated items.
    pub decision: Option<i64>,
}

/// The review queue and its decisions.
pub trait ReviewStore {
    /// Queue items in `state`, oldest first, after `after` (the last item of
    /// the page before), at most `limit`.
    fn review_queue(
        &self,
        state: QueueState,
        after: Option<(UtcTime, ReviewTarget)>,
        limit: u64,
    ) -> crate::Result<Vec<QueueItem>>;

    /// Items in the queue in each state: (open, escalated).
    fn review_counts(&self) -> crate::Result<(u64, u64)>;

    /// Stores decisions in one transaction, all or none; the ids given, in
    /// order. [`crate::StoreError::NotFound`] names a target that does not
    /// exist; [`crate::StoreError::Conflict`] one that already has a
    /// standing confirm or reject. A rejected match's pair goes on the
    /// ignore list.
    fn decide(&mut self, decisions: &[NewDecision]) -> crate::Result<Vec<i64>>;

    /// Undoes decision `id`: its item takes its standing decision before it
    /// (or opens again), and a pair it put on the ignore list is taken off.
    /// `None` if there is no such decision; [`crate::StoreError::Conflict`]
    /// if it was undone already or a later standing decision of the same
    /// item exists.
    fn undo_decision(&mut self, id: i64, actor: &str, at: UtcTime) -> crate::Result<Option<DecisionRecord>>;

    /// Decisions with an id above `after`, by id, at most `limit`.
    fn decisions(&self, after: i64, limit: u64) -> crate::Result<Vec<DecisionRecord>>;

    /// The latest `limit` decisions, newest first.
    fn latest_decisions(&self, limit: u64) -> crate::Result<Vec<DecisionRecord>>;

    /// The standing decision of each target asked (those without none are
    /// left out).
    fn standing_decisions(&self, targets: &[ReviewTarget]) -> crate::Result<Vec<DecisionRecord>>;

    /// The stored matches of these ids (those stored), by id.
    fn matches_by_id(&self, ids: &[i64]) -> crate::Result<Vec<crate::StoredMatch>>;

    /// The reviewer protection's settings, by key.
    fn ui_settings(&self) -> crate::Result<Vec<(String, i64)>>;

    /// Sets one of them.
    fn set_ui_setting(&mut self, key: &str, value: i64) -> crate::Result<()>;

    /// The blur level the user chose, if any.
    fn user_blur(&self, user: &str) -> crate::Result<Option<u8>>;

    /// Sets (or clears) the user's blur level; `false` if there is no such
    /// user.
    fn set_user_blur(&mut self, user: &str, blur: Option<u8>) -> crate::Result<bool>;

    /// Counts `items` more items revealed by `user` on `day` (days since
    /// 1970-01-01, UTC); the day's count after.
    fn add_exposure(&mut self, user: &str, day: i64, items: u64) -> crate::Result<u64>;

    /// Items revealed by `user` on `day`.
    fn exposure(&self, user: &str, day: i64) -> crate::Result<u64>;

    /// The ignored pairs: the bank entries each matched item must not be
    /// stored as matching again. For tests and the API.
    fn ignored_entries(&self) -> crate::Result<Vec<(crate::ItemRef, EntryId)>>;
}
