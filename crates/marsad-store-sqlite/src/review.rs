//! The review queue: decisions and the ignore list.

use marsad_core::{EntryId, PostId, Sha256, UtcTime};
use marsad_store::{
    DecisionRecord, ItemRef, NewDecision, QueueItem, QueueState, Result, ReviewTarget, StoreError, Verdict,
};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::backend;
use crate::read::time;

const COLUMNS: &str = "id, kind, target, verdict, note, actor, at, bank, undone_at, undone_by";

fn corrupt(id: i64, problem: String) -> StoreError {
    StoreError::Corrupt { record: format!("review decision {id}"), problem }
}

fn record(r: &Row<'_>) -> rusqlite::Result<DecisionRow> {
    Ok(DecisionRow {
        id: r.get(0)?,
        kind: r.get(1)?,
        target: r.get(2)?,
        verdict: r.get(3)?,
        note: r.get(4)?,
        actor: r.get(5)?,
        at: r.get(6)?,
        bank: r.get(7)?,
        undone_at: r.get(8)?,
        undone_by: r.get(9)?,
    })
}

struct DecisionRow {
    id: i64,
    kind: String,
    target: i64,
    verdict: String,
    note: Option<String>,
    actor: String,
    at: i64,
    bank: Option<String>,
    undone_at: Option<i64>,
    undone_by: Option<String>,
}

impl DecisionRow {
    fn into_record(self) -> Result<DecisionRecord> {
        let id = self.id;
        let target = ReviewTarget::of(&self.kind, self.target)
            .ok_or_else(|| corrupt(id, format!("unknown kind {:?}", self.kind)))?;
        let verdict = Verdict::parse(&self.verdict)
            .ok_or_else(|| corrupt(id, format!("unknown verdict {:?}", self.verdict)))?;
        let undone = match (self.undone_at, self.undone_by) {
            (Some(at), Some(by)) => Some((time(at)?, by)),
            _ => None,
        };
        Ok(DecisionRecord {
            id,
            decision: NewDecision {
                target,
                verdict,
                note: self.note,
                actor: self.actor,
                at: time(self.at)?,
                bank: self.bank,
            },
            undone,
        })
    }
}

/// The standing decision's id and verdict of `target`, if any.
fn standing(conn: &Connection, target: ReviewTarget) -> Result<Option<(i64, String)>> {
    conn.query_row(
        "SELECT id, verdict FROM review_decisions
         WHERE kind = ?1 AND target = ?2 AND undone_at IS NULL ORDER BY id DESC LIMIT 1",
        params![target.kind(), target.id()],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
    .map_err(backend)
}

/// The queue, as one query over matches and unattributed releases: `since`
/// is when the match was found or the release first seen.
const QUEUE: &str = "
    SELECT kind, target, since, decision FROM (
        SELECT 'match' AS kind, m.id AS target, m.matched_at AS since,
               (SELECT d.id FROM review_decisions d WHERE d.kind = 'match' AND d.target = m.id
                AND d.undone_at IS NULL ORDER BY d.id DESC LIMIT 1) AS decision
        FROM matches m
        UNION ALL
        SELECT 'release', r.id, r.first_seen,
               (SELECT d.id FROM review_decisions d WHERE d.kind = 'release' AND d.target = r.id
                AND d.undone_at IS NULL ORDER BY d.id DESC LIMIT 1)
        FROM releases r WHERE r.outlet IS NULL AND r.sightings > 0
    ) q";

pub(crate) fn review_queue(
    conn: &Connection,
    state: QueueState,
    after: Option<(UtcTime, ReviewTarget)>,
    limit: u64,
) -> Result<Vec<QueueItem>> {
    let which = match state {
        QueueState::Open => "q.decision IS NULL",
        QueueState::Escalated => {
            "q.decision IS NOT NULL AND (SELECT verdict FROM review_decisions WHERE id = q.decision) = 'escalate'"
        }
    };
    // Ordered by time, then kind, then id: `after` is a place in that order.
    let (t, k, i) =
        after.map_or((i64::MIN, "", i64::MIN), |(t, target)| (t.unix_micros(), target.kind(), target.id()));
    let sql = format!(
        "{QUEUE} WHERE {which} AND (q.since > ?1 OR (q.since = ?1 AND (q.kind > ?2 OR (q.kind = ?2 AND q.target > ?3))))
         ORDER BY q.since, q.kind, q.target LIMIT ?4"
    );
    let mut stmt = conn.prepare(&sql).map_err(backend)?;
    let rows = stmt
        .query_map(params![t, k, i, limit.min(i64::MAX as u64) as i64], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Option<i64>>(3)?,
            ))
        })
        .map_err(backend)?;
    let mut out = Vec::new();
    for row in rows {
        let (kind, id, since, decision) = row.map_err(backend)?;
        let target = ReviewTarget::of(&kind, id)
            .ok_or_else(|| StoreError::Corrupt { record: format!("queue item {id}"), problem: kind })?;
        out.push(QueueItem { target, since: time(since)?, decision });
    }
    Ok(out)
}

pub(crate) fn review_counts(conn: &Connection) -> Result<(u64, u64)> {
    conn.query_row(
        &format!(
            "SELECT COALESCE(SUM(q.decision IS NULL), 0),
                    COALESCE(SUM(q.decision IS NOT NULL AND
                        (SELECT verdict FROM review_decisions WHERE id = q.decision) = 'escalate'), 0)
             FROM ({QUEUE}) q"
        ),
        [],
        |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
    )
    .map_err(backend)
}

/// The matched item (a media item's SHA-256 or a post's id) and the entry
/// (bank name, signal type, value) of a stored match.
type MatchPair = (Option<Vec<u8>>, Option<i64>, String, String, String);

fn match_pair(conn: &Connection, id: i64) -> Result<Option<MatchPair>> {
    conn.query_row(
        "SELECT m.media_sha256, m.post_id, b.name, e.signal_type, e.value
         FROM matches m JOIN bank_entries e ON e.id = m.entry_id JOIN banks b ON b.id = e.bank_id
         WHERE m.id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
    )
    .optional()
    .map_err(backend)
}

fn exists(conn: &Connection, target: ReviewTarget) -> Result<bool> {
    let sql = match target {
        ReviewTarget::Match(_) => "SELECT 1 FROM matches WHERE id = ?1",
        ReviewTarget::Release(_) => "SELECT 1 FROM releases WHERE id = ?1",
    };
    Ok(conn.query_row(sql, [target.id()], |_| Ok(())).optional().map_err(backend)?.is_some())
}

pub(crate) fn decide(conn: &mut Connection, decisions: &[NewDecision]) -> Result<Vec<i64>> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(backend)?;
    let mut ids = Vec::with_capacity(decisions.len());
    for d in decisions {
        let t = d.target;
        if !exists(&tx, t)? {
            return Err(StoreError::NotFound(format!("no {} {}", t.kind(), t.id())));
        }
        if let Some((_, verdict)) = standing(&tx, t)?
            && verdict != "escalate"
        {
            return Err(StoreError::Conflict(format!(
                "{} {} is decided already ({verdict}): undo that decision first",
                t.kind(),
                t.id()
            )));
        }
        tx.execute(
            "INSERT INTO review_decisions (kind, target, verdict, note, actor, at, bank)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![t.kind(), t.id(), d.verdict.as_str(), d.note, d.actor, d.at.unix_micros(), d.bank],
        )
        .map_err(backend)?;
        let id = tx.last_insert_rowid();
        if let (ReviewTarget::Match(m), Verdict::Reject) = (t, d.verdict)
            && let Some((media, post, bank, signal_type, value)) = match_pair(&tx, m)?
        {
            tx.execute(
                "INSERT OR IGNORE INTO ignored_matches (media_sha256, post_id, bank, signal_type, value, decision_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![media, post, bank, signal_type, value, id],
            )
            .map_err(backend)?;
        }
        ids.push(id);
    }
    tx.commit().map_err(backend)?;
    Ok(ids)
}

pub(crate) fn undo_decision(
    conn: &mut Connection,
    id: i64,
    actor: &str,
    at: UtcTime,
) -> Result<Option<DecisionRecord>> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(backend)?;
    let Some(row) = tx
        .query_row(&format!("SELECT {COLUMNS} FROM review_decisions WHERE id = ?1"), [id], record)
        .optional()
        .map_err(backend)?
    else {
        return Ok(None);
    };
    let mut rec = row.into_record()?;
    if rec.undone.is_some() {
        return Err(StoreError::Conflict(format!("decision {id} was undone already")));
    }
    if let Some((later, _)) = standing(&tx, rec.decision.target)?
        && later != id
    {
        return Err(StoreError::Conflict(format!(
            "decision {id} is not its item's latest: undo decision {later} first"
        )));
    }
    tx.execute(
        "UPDATE review_decisions SET undone_at = ?2, undone_by = ?3 WHERE id = ?1",
        params![id, at.unix_micros(), actor],
    )
    .map_err(backend)?;
    tx.execute("DELETE FROM ignored_matches WHERE decision_id = ?1", [id]).map_err(backend)?;
    tx.commit().map_err(backend)?;
    rec.undone = Some((at, actor.to_owned()));
    Ok(Some(rec))
}

pub(crate) fn decisions(conn: &Connection, after: i64, limit: u64) -> Result<Vec<DecisionRecord>> {
    let mut stmt = conn
        .prepare(&format!("SELECT {COLUMNS} FROM review_decisions WHERE id > ?1 ORDER BY id LIMIT ?2"))
        .map_err(backend)?;
    let rows = stmt.query_map(params![after, limit.min(i64::MAX as u64) as i64], record).map_err(backend)?;
    rows.map(|r| r.map_err(backend).and_then(DecisionRow::into_record)).collect()
}

pub(crate) fn latest_decisions(conn: &Connection, limit: u64) -> Result<Vec<DecisionRecord>> {
    let mut stmt = conn
        .prepare(&format!("SELECT {COLUMNS} FROM review_decisions ORDER BY id DESC LIMIT ?1"))
        .map_err(backend)?;
    let rows = stmt.query_map([limit.min(i64::MAX as u64) as i64], record).map_err(backend)?;
    rows.map(|r| r.map_err(backend).and_then(DecisionRow::into_record)).collect()
}

pub(crate) fn standing_decisions(conn: &Connection, targets: &[ReviewTarget]) -> Result<Vec<DecisionRecord>> {
    let mut out = Vec::new();
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM review_decisions
             WHERE kind = ?1 AND target = ?2 AND undone_at IS NULL ORDER BY id DESC LIMIT 1"
        ))
        .map_err(backend)?;
    for t in targets {
        if let Some(row) = stmt.query_row(params![t.kind(), t.id()], record).optional().map_err(backend)? {
            out.push(row.into_record()?);
        }
    }
    Ok(out)
}

pub(crate) fn ignored_entries(conn: &Connection) -> Result<Vec<(ItemRef, EntryId)>> {
    let mut stmt = conn
        .prepare(
            "SELECT i.media_sha256, i.post_id, e.id FROM ignored_matches i
             JOIN banks b ON b.name = i.bank
             JOIN bank_entries e ON e.bank_id = b.id AND e.signal_type = i.signal_type AND e.value = i.value
             ORDER BY e.id",
        )
        .map_err(backend)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((r.get::<_, Option<Vec<u8>>>(0)?, r.get::<_, Option<i64>>(1)?, r.get::<_, i64>(2)?))
        })
        .map_err(backend)?;
    let mut out = Vec::new();
    for row in rows {
        let (media, post, entry) = row.map_err(backend)?;
        let item = match (media, post) {
            (Some(m), None) => {
                ItemRef::Media(Sha256(m.as_slice().try_into().map_err(|_| StoreError::Corrupt {
                    record: "ignored match".to_owned(),
                    problem: format!("a SHA-256 of {} bytes", m.len()),
                })?))
            }
            (None, Some(p)) => ItemRef::Post(PostId(p)),
            _ => {
                return Err(StoreError::Corrupt {
                    record: "ignored match".to_owned(),
                    problem: "neither a media item nor a post".to_owned(),
                });
            }
        };
        out.push((item, EntryId(entry)));
    }
    Ok(out)
}

/// Whether the pair of an item and entry is ignored (for matching).
pub(crate) const NOT_IGNORED: &str = "NOT EXISTS (
    SELECT 1 FROM ignored_matches i
    JOIN bank_entries e ON e.id = ?3 JOIN banks b ON b.id = e.bank_id
    WHERE i.bank = b.name AND i.signal_type = e.signal_type AND i.value = e.value
      AND (i.media_sha256 = ?1 OR i.post_id = ?2))";

pub(crate) fn ui_settings(conn: &Connection) -> Result<Vec<(String, i64)>> {
    let mut stmt = conn.prepare("SELECT key, value FROM ui_settings ORDER BY key").map_err(backend)?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).map_err(backend)?;
    rows.map(|r| r.map_err(backend)).collect()
}

pub(crate) fn set_ui_setting(conn: &Connection, key: &str, value: i64) -> Result<()> {
    conn.execute(
        "INSERT INTO ui_settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )
    .map_err(backend)?;
    Ok(())
}

pub(crate) fn user_blur(conn: &Connection, user: &str) -> Result<Option<u8>> {
    let blur: Option<Option<i64>> = conn
        .query_row(
            "SELECT p.blur FROM user_preferences p JOIN users u ON u.id = p.user_id WHERE u.name = ?1",
            [user],
            |r| r.get(0),
        )
        .optional()
        .map_err(backend)?;
    Ok(blur.flatten().map(|b| b.clamp(0, 255) as u8))
}

pub(crate) fn set_user_blur(conn: &Connection, user: &str, blur: Option<u8>) -> Result<bool> {
    let n = conn
        .execute(
            "INSERT INTO user_preferences (user_id, blur) SELECT id, ?2 FROM users WHERE name = ?1
             ON CONFLICT (user_id) DO UPDATE SET blur = excluded.blur",
            params![user, blur],
        )
        .map_err(backend)?;
    Ok(n > 0)
}

pub(crate) fn add_exposure(conn: &Connection, user: &str, day: i64, items: u64) -> Result<u64> {
    let items = items.min(i64::MAX as u64) as i64;
    let n: i64 = conn
        .query_row(
            "INSERT INTO exposures (user_name, day, items) VALUES (?1, ?2, ?3)
             ON CONFLICT (user_name, day) DO UPDATE SET items = items + excluded.items RETURNING items",
            params![user, day, items],
            |r| r.get(0),
        )
        .map_err(backend)?;
    Ok(n.max(0) as u64)
}

pub(crate) fn exposure(conn: &Connection, user: &str, day: i64) -> Result<u64> {
    let n: Option<i64> = conn
        .query_row("SELECT items FROM exposures WHERE user_name = ?1 AND day = ?2", params![user, day], |r| {
            r.get(0)
        })
        .optional()
        .map_err(backend)?;
    Ok(n.unwrap_or(0).max(0) as u64)
}
