//! The moderators' review queue: stored matches and releases attributed to
//! no outlet wait for a decision — confirm, reject, escalate — with a note.
//! Decisions are a log, in the audit log too; each can be undone, latest
//! first. A rejected match's pair (the item and the bank entry) is ignored
//! from then on: matching never stores it again. A confirmed item's hashes
//! can be added to a bank in the same action.

use std::collections::BTreeMap;

use marsad_core::{ReleaseId, SignalType, UtcTime};
use marsad_store::{
    DecisionRecord, MatchedItem, NewBankEntry, NewDecision, QueueState, ReviewTarget, StoreError, Verdict,
};
use serde::Serialize;

use crate::Engine;
use crate::error::{EngineError, Result, invalid};
use crate::matching::StoredMatchRow;
use crate::observatory::ReleaseRow;

/// The most items decided at once.
pub const MAX_BULK: usize = 500;
/// The longest note, in bytes.
pub const MAX_NOTE: usize = 4096;

/// A decision as listed (`GET /api/v1/decisions`, the webhook's body).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DecisionView {
    /// Its id (increasing).
    pub id: i64,
    /// `match` or `release`.
    pub kind: String,
    /// The stored match's or the release's id.
    pub target: i64,
    /// `confirm`, `reject` or `escalate`.
    pub verdict: String,
    /// The moderator's note.
    pub note: Option<String>,
    /// Who decided.
    pub actor: String,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// The bank a confirmed item's hashes were added to.
    pub bank: Option<String>,
    /// When it was undone, if it was.
    pub undone_at: Option<String>,
    /// Who undid it.
    pub undone_by: Option<String>,
}

impl From<DecisionRecord> for DecisionView {
    fn from(r: DecisionRecord) -> Self {
        let d = r.decision;
        DecisionView {
            id: r.id,
            kind: d.target.kind().to_owned(),
            target: d.target.id(),
            verdict: d.verdict.as_str().to_owned(),
            note: d.note,
            actor: d.actor,
            at: d.at.to_rfc3339(),
            bank: d.bank,
            undone_at: r.undone.as_ref().map(|(t, _)| t.to_rfc3339()),
            undone_by: r.undone.map(|(_, by)| by),
        }
    }
}

/// An item of the queue with what a moderator needs to decide it.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct QueueItemView {
    /// `match` or `release`.
    pub kind: String,
    /// The stored match's or the release's id.
    pub id: i64,
    /// When it came (the match found, the release first seen).
    pub since: String,
    /// The match, for `match` items.
    pub r#match: Option<StoredMatchRow>,
    /// The release, for `release` items.
    pub release: Option<ReleaseRow>,
    /// The standing decision (escalated items).
    pub decision: Option<DecisionView>,
    /// The matched media item, for a media match.
    pub media: Option<QueueMedia>,
}

/// The media item of a match, as a reviewer's page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct QueueMedia {
    /// Its SHA-256.
    pub sha256: String,
    /// `image`, `video`, `audio` or `document`.
    pub kind: String,
    /// Whether the store kept its bytes (then it has a blurred preview).
    pub retained: bool,
}

/// A page of the queue.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct QueuePage {
    /// Items, oldest first.
    pub items: Vec<QueueItemView>,
    /// The `cursor` of the next page; `null` on the last.
    pub next_cursor: Option<String>,
    /// Items open in all.
    pub open: u64,
    /// Items escalated in all.
    pub escalated: u64,
}

/// What to decide.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecisionRequest {
    /// The items.
    pub targets: Vec<ReviewTarget>,
    /// The decision for all of them.
    pub verdict: Verdict,
    /// A note.
    pub note: Option<String>,
    /// With a confirmation: the bank the items' hashes are added to.
    pub bank: Option<String>,
}

/// Reads `match:12` or `release:7`.
pub fn parse_target(s: &str) -> Result<ReviewTarget> {
    let (kind, id) =
        s.split_once(':').ok_or_else(|| invalid!("{s:?} is not an item (match:ID or release:ID)"))?;
    let id: i64 = id.parse().map_err(|_| invalid!("{s:?} is not an item (match:ID or release:ID)"))?;
    ReviewTarget::of(kind, id).ok_or_else(|| invalid!("{s:?} is not an item (match:ID or release:ID)"))
}

/// `match:12`.
pub fn target_text(t: ReviewTarget) -> String {
    format!("{}:{}", t.kind(), t.id())
}

fn cursor_text(since: UtcTime, t: ReviewTarget) -> String {
    format!("{}:{}:{}", since.unix_micros(), t.kind(), t.id())
}

/// Reads a queue cursor this module gave.
pub fn parse_cursor(s: &str) -> Result<(UtcTime, ReviewTarget)> {
    let bad = || invalid!("{s:?} is not a cursor this list gave");
    let (micros, rest) = s.split_once(':').ok_or_else(bad)?;
    let since = micros.parse::<i64>().ok().and_then(UtcTime::from_unix_micros).ok_or_else(bad)?;
    Ok((since, parse_target(rest).map_err(|_| bad())?))
}

impl Engine {
    /// A page of the queue in `state` after `after` (a cursor of the page
    /// before), at most `limit` items, with what each is.
    pub fn review_queue(&mut self, state: QueueState, after: Option<&str>, limit: u64) -> Result<QueuePage> {
        self.update_releases()?;
        let after = after.map(parse_cursor).transpose()?;
        let store = self.store();
        let mut items = store.review_queue(state, after, limit.saturating_add(1))?;
        let more = items.len() as u64 > limit;
        items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let next_cursor = if more { items.last().map(|i| cursor_text(i.since, i.target)) } else { None };
        let match_ids: Vec<i64> = items
            .iter()
            .filter_map(|i| match i.target {
                ReviewTarget::Match(id) => Some(id),
                ReviewTarget::Release(_) => None,
            })
            .collect();
        let release_ids: Vec<ReleaseId> = items
            .iter()
            .filter_map(|i| match i.target {
                ReviewTarget::Release(id) => Some(id),
                ReviewTarget::Match(_) => None,
            })
            .collect();
        let mut matches: BTreeMap<i64, StoredMatchRow> = BTreeMap::new();
        for m in store.matches_by_id(&match_ids)? {
            let id = m.id;
            matches.insert(id, crate::matching::match_row(m)?);
        }
        let mut releases: BTreeMap<i64, ReleaseRow> = BTreeMap::new();
        if !release_ids.is_empty() {
            store.releases(Some(&release_ids), &mut |r| {
                releases.insert(r.id.0, ReleaseRow::from(r));
                Ok(())
            })?;
        }
        let targets: Vec<ReviewTarget> =
            items.iter().filter(|i| i.decision.is_some()).map(|i| i.target).collect();
        let mut standing: BTreeMap<ReviewTarget, DecisionView> = BTreeMap::new();
        for d in store.standing_decisions(&targets)? {
            standing.insert(d.decision.target, d.into());
        }
        let (open, escalated) = store.review_counts()?;
        let mut out = Vec::with_capacity(items.len());
        for i in items {
            let m = matches.remove(&i.target.id()).filter(|_| i.target.kind() == "match");
            let media = match m.as_ref().map(|m| &m.item) {
                Some(crate::matching::MatchedThing::Media { media, .. }) => {
                    let sha =
                        marsad_core::Sha256::from_hex(media).map_err(|e| invalid!("media {media}: {e}"))?;
                    store.media(&sha)?.map(|item| QueueMedia {
                        sha256: media.clone(),
                        kind: item.kind.as_str().to_owned(),
                        retained: item.retained_path.is_some(),
                    })
                }
                _ => None,
            };
            out.push(QueueItemView {
                kind: i.target.kind().to_owned(),
                id: i.target.id(),
                since: i.since.to_rfc3339(),
                r#match: m,
                release: releases.remove(&i.target.id()).filter(|_| i.target.kind() == "release"),
                decision: standing.remove(&i.target),
                media,
            });
        }
        let items = out;
        Ok(QueuePage { items, next_cursor, open, escalated })
    }

    /// Decides `req` as `actor`, all items or none: the decisions, in the
    /// order asked. With a confirmation and a bank, the items' hashes (a
    /// matched media item's digests and fingerprints, a release's media's)
    /// are added to the bank in the same action; each decision is audited.
    pub fn decide(&mut self, actor: &str, req: &DecisionRequest) -> Result<Vec<DecisionView>> {
        if req.targets.is_empty() {
            return Err(invalid!("no item to decide: choose one or more"));
        }
        if req.targets.len() > MAX_BULK {
            return Err(invalid!("{} items at once: at most {MAX_BULK}", req.targets.len()));
        }
        let note = req.note.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned);
        if note.as_ref().is_some_and(|n| n.len() > MAX_NOTE) {
            return Err(invalid!("the note is longer than {MAX_NOTE} bytes"));
        }
        if note.as_ref().is_some_and(|n| n.chars().any(|c| c.is_control() && c != '\n' && c != '\t')) {
            return Err(invalid!("the note holds control characters"));
        }
        let bank = match (&req.bank, req.verdict) {
            (Some(b), Verdict::Confirm) if !b.trim().is_empty() => Some(self.bank(b.trim())?.name),
            (Some(b), _) if !b.trim().is_empty() => {
                return Err(invalid!("only a confirmed item's hashes are added to a bank"));
            }
            _ => None,
        };
        let at = UtcTime::now();
        let decisions: Vec<NewDecision> = req
            .targets
            .iter()
            .map(|&target| NewDecision {
                target,
                verdict: req.verdict,
                note: note.clone(),
                actor: actor.to_owned(),
                at,
                bank: bank.clone(),
            })
            .collect();
        let entries = match &bank {
            Some(_) => self.hashes_of(&req.targets)?,
            None => Vec::new(),
        };
        let ids = self.store_mut().decide(&decisions).map_err(|e| match e {
            StoreError::NotFound(m) => EngineError::NotFound(m),
            StoreError::Conflict(m) => EngineError::Conflict(m),
            other => other.into(),
        })?;
        if let Some(b) = &bank
            && !entries.is_empty()
        {
            let labels = |e: &mut NewBankEntry| {
                e.labels.insert("review".to_owned(), format!("confirmed by {actor}"));
            };
            let mut entries = entries;
            entries.iter_mut().for_each(labels);
            let added = self.store_mut().add_bank_entries(b, &entries)?;
            self.audit_now(
                actor,
                "bank.add",
                Some(b),
                Some(serde_json::json!({ "entries": added, "from_review": ids }).to_string()),
            )?;
        }
        for (id, d) in ids.iter().zip(&decisions) {
            let detail = serde_json::json!({ "decision": id, "verdict": d.verdict.as_str(), "bank": d.bank });
            self.audit_now(actor, "review.decide", Some(&target_text(d.target)), Some(detail.to_string()))?;
        }
        Ok(ids
            .into_iter()
            .zip(decisions)
            .map(|(id, decision)| DecisionView::from(DecisionRecord { id, decision, undone: None }))
            .collect())
    }

    /// Undoes decision `id` as `actor`: its item takes its decision before
    /// (or opens again); a pair it put on the ignore list is taken off.
    pub fn undo_decision(&mut self, actor: &str, id: i64) -> Result<DecisionView> {
        let undone = self
            .store_mut()
            .undo_decision(id, actor, UtcTime::now())
            .map_err(|e| match e {
                StoreError::Conflict(m) => EngineError::Conflict(m),
                other => other.into(),
            })?
            .ok_or_else(|| EngineError::NotFound(format!("no decision {id}")))?;
        let view = DecisionView::from(undone);
        let target = format!("{}:{}", view.kind, view.target);
        self.audit_now(
            actor,
            "review.undo",
            Some(&target),
            Some(serde_json::json!({ "decision": id }).to_string()),
        )?;
        Ok(view)
    }

    /// Decisions with an id above `after`, by id, at most `limit`.
    pub fn decisions(&self, after: i64, limit: u64) -> Result<Vec<DecisionView>> {
        Ok(self.store().decisions(after, limit)?.into_iter().map(DecisionView::from).collect())
    }

    /// The latest `limit` decisions, newest first.
    pub fn latest_decisions(&self, limit: u64) -> Result<Vec<DecisionView>> {
        Ok(self.store().latest_decisions(limit)?.into_iter().map(DecisionView::from).collect())
    }

    /// The hashes of these items, as bank entries: a matched media item's
    /// MD5, SHA-256 and perceptual fingerprints (marsad's own), and those of
    /// a release's media.
    fn hashes_of(&mut self, targets: &[ReviewTarget]) -> Result<Vec<NewBankEntry>> {
        let mut media = Vec::new();
        let matches: Vec<i64> = targets
            .iter()
            .filter_map(|t| match t {
                ReviewTarget::Match(id) => Some(*id),
                ReviewTarget::Release(_) => None,
            })
            .collect();
        for m in self.store().matches_by_id(&matches)? {
            if let MatchedItem::Media { sha256, .. } = m.item {
                media.push(sha256);
            }
        }
        for t in targets {
            if let ReviewTarget::Release(id) = *t {
                let detail = self.release(id)?;
                for p in detail.posts {
                    for m in p.media {
                        if let Ok(sha) = marsad_core::Sha256::from_hex(&m.sha256) {
                            media.push(sha);
                        }
                    }
                }
            }
        }
        media.sort_unstable();
        media.dedup();
        let mut entries = Vec::new();
        for sha in media {
            let Some(item) = self.store().media(&sha)? else { continue };
            let mut add = |signal_type, value: String| {
                entries.push(NewBankEntry { signal_type, value, labels: BTreeMap::new() });
            };
            add(SignalType::Md5, item.md5.to_hex());
            add(SignalType::Sha256, item.sha256.to_hex());
            for f in item.fingerprints.iter().filter(|f| f.variant.is_none()) {
                add(f.signal_type, f.value.clone());
            }
        }
        Ok(entries)
    }
}
