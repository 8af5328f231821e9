//! The review queue: decisions, the ignore list and reviewer protection
//! (ReviewStore).
//!
//! Decisions are a log: undoing one marks it undone, never deletes it. A
//! rejected match puts its pair (the matched item, and the entry by bank
//! name, signal type and value) in `ignored_matches`, so that the pair is
//! not matched again even after its bank is emptied and filled again;
//! undoing the rejection takes the pair off.

use marsad_core::{EntryId, PostId, UtcTime};
use marsad_store::{
    DecisionRecord, ItemRef, NewDecision, QueueItem, QueueState, Result, ReviewTarget, StoreError,
    StoredMatch, Verdict,
};
use postgres::{Row, Transaction};

use crate::{PgStore, backend, sha, time};

/// The columns [`to_record`] reads, in its order.
const COLUMNS: &str = "id, kind, target, verdict, note, actor, at, bank, undone_at, undone_by";

fn corrupt(id: i64, problem: String) -> StoreError {
    StoreError::Corrupt { record: format!("review decision {id}"), problem }
}

/// A decision read with [`COLUMNS`].
fn to_record(r: &Row) -> Result<DecisionRecord> {
    let id: i64 = r.get(0);
    let kind: String = r.get(1);
    let verdict: String = r.get(3);
    let target =
        ReviewTarget::of(&kind, r.get(2)).ok_or_else(|| corrupt(id, format!("unknown kind {kind:?}")))?;
    let verdict =
        Verdict::parse(&verdict).ok_or_else(|| corrupt(id, format!("unknown verdict {verdict:?}")))?;
    let undone = match (r.get::<_, Option<i64>>(8), r.get::<_, Option<String>>(9)) {
        (Some(at), Some(by)) => Some((time(at)?, by)),
        _ => None,
    };
    Ok(DecisionRecord {
        id,
        decision: NewDecision {
            target,
            verdict,
            note: r.get(4),
            actor: r.get(5),
            at: time(r.get(6))?,
            bank: r.get(7),
        },
        undone,
    })
}

/// The standing decision's id and verdict of `target`, if any.
fn standing(tx: &mut Transaction<'_>, target: ReviewTarget) -> Result<Option<(i64, String)>> {
    let row = tx
        .query_opt(
            "SELECT id, verdict FROM review_decisions
             WHERE kind = $1 AND target = $2 AND undone_at IS NULL ORDER BY id DESC LIMIT 1",
            &[&target.kind(), &target.id()],
        )
        .map_err(backend)?;
    Ok(row.map(|r| (r.get(0), r.get(1))))
}

/// Whether `target` exists (a stored match, a release).
fn exists(tx: &mut Transaction<'_>, target: ReviewTarget) -> Result<bool> {
    let sql = match target {
        ReviewTarget::Match(_) => "SELECT 1 FROM matches WHERE id = $1",
        ReviewTarget::Release(_) => "SELECT 1 FROM releases WHERE id = $1",
    };
    Ok(tx.query_opt(sql, &[&target.id()]).map_err(backend)?.is_some())
}

/// The queue, as one query over matches and unattributed releases: `since`
/// is when the match was found or the release first seen; `decision` the
/// standing decision.
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

/// Whether a queue item `q` is escalated: its standing decision escalates.
const ESCALATED: &str =
    "q.decision IS NOT NULL AND (SELECT verdict FROM review_decisions WHERE id = q.decision) = 'escalate'";

impl marsad_store::ReviewStore for PgStore {
    fn review_queue(
        &self,
        state: QueueState,
        after: Option<(UtcTime, ReviewTarget)>,
        limit: u64,
    ) -> Result<Vec<QueueItem>> {
        let which = match state {
            QueueState::Open => "q.decision IS NULL",
            QueueState::Escalated => ESCALATED,
        };
        // Ordered by time, then kind, then id: `after` is a place in that
        // order (the kinds, `match` and `release`, are in the same order in
        // every collation).
        let (t, k, i) = after
            .map_or((i64::MIN, "", i64::MIN), |(t, target)| (t.unix_micros(), target.kind(), target.id()));
        let limit = limit.min(i64::MAX as u64) as i64;
        let sql = format!(
            "{QUEUE} WHERE {which} AND (q.since, q.kind, q.target) > ($1, $2, $3)
             ORDER BY q.since, q.kind, q.target LIMIT $4"
        );
        let rows = self.db()?.query(&sql, &[&t, &k, &i, &limit]).map_err(backend)?;
        rows.iter()
            .map(|r| {
                let (kind, id): (String, i64) = (r.get(0), r.get(1));
                let target = ReviewTarget::of(&kind, id).ok_or_else(|| StoreError::Corrupt {
                    record: format!("queue item {id}"),
                    problem: kind,
                })?;
                Ok(QueueItem { target, since: time(r.get(2))?, decision: r.get(3) })
            })
            .collect()
    }

    fn review_counts(&self) -> Result<(u64, u64)> {
        let r = self
            .db()?
            .query_one(
                &format!(
                    "SELECT count(*) FILTER (WHERE q.decision IS NULL), count(*) FILTER (WHERE {ESCALATED})
                     FROM ({QUEUE}) q"
                ),
                &[],
            )
            .map_err(backend)?;
        Ok((r.get::<_, i64>(0).max(0) as u64, r.get::<_, i64>(1).max(0) as u64))
    }

    fn decide(&mut self, decisions: &[NewDecision]) -> Result<Vec<i64>> {
        self.write(|tx| {
            let mut ids = Vec::with_capacity(decisions.len());
            for d in decisions {
                let t = d.target;
                if !exists(tx, t)? {
                    return Err(StoreError::NotFound(format!("no {} {}", t.kind(), t.id())));
                }
                if let Some((_, verdict)) = standing(tx, t)?
                    && verdict != "escalate"
                {
                    return Err(StoreError::Conflict(format!(
                        "{} {} is decided already ({verdict}): undo that decision first",
                        t.kind(),
                        t.id()
                    )));
                }
                let id: i64 = tx
                    .query_one(
                        "INSERT INTO review_decisions (kind, target, verdict, note, actor, at, bank)
                         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                        &[&t.kind(), &t.id(), &d.verdict.as_str(), &d.note, &d.actor, &d.at.unix_micros(), &d.bank],
                    )
                    .map_err(backend)?
                    .get(0);
                if let (ReviewTarget::Match(m), Verdict::Reject) = (t, d.verdict) {
                    // The match's pair: its item and its entry by bank name,
                    // signal type and value (a pair ignored already stays
                    // with the decision that put it there).
                    tx.execute(
                        "INSERT INTO ignored_matches (media_sha256, post_id, bank, signal_type, value, decision_id)
                         SELECT m.media_sha256, m.post_id, b.name, e.signal_type, e.value, $2
                         FROM matches m JOIN bank_entries e ON e.id = m.entry_id JOIN banks b ON b.id = e.bank_id
                         WHERE m.id = $1
                         ON CONFLICT DO NOTHING",
                        &[&m, &id],
                    )
                    .map_err(backend)?;
                }
                ids.push(id);
            }
            Ok(ids)
        })
    }

    fn undo_decision(&mut self, id: i64, actor: &str, at: UtcTime) -> Result<Option<DecisionRecord>> {
        self.write(|tx| {
            let Some(row) = tx
                .query_opt(&format!("SELECT {COLUMNS} FROM review_decisions WHERE id = $1"), &[&id])
                .map_err(backend)?
            else {
                return Ok(None);
            };
            let mut rec = to_record(&row)?;
            if rec.undone.is_some() {
                return Err(StoreError::Conflict(format!("decision {id} was undone already")));
            }
            if let Some((later, _)) = standing(tx, rec.decision.target)?
                && later != id
            {
                return Err(StoreError::Conflict(format!(
                    "decision {id} is not its item's latest: undo decision {later} first"
                )));
            }
            tx.execute(
                "UPDATE review_decisions SET undone_at = $2, undone_by = $3 WHERE id = $1",
                &[&id, &at.unix_micros(), &actor],
            )
            .map_err(backend)?;
            tx.execute("DELETE FROM ignored_matches WHERE decision_id = $1", &[&id]).map_err(backend)?;
            rec.undone = Some((at, actor.to_owned()));
            Ok(Some(rec))
        })
    }

    fn decisions(&self, after: i64, limit: u64) -> Result<Vec<DecisionRecord>> {
        let limit = limit.min(i64::MAX as u64) as i64;
        let rows = self
            .db()?
            .query(
                &format!("SELECT {COLUMNS} FROM review_decisions WHERE id > $1 ORDER BY id LIMIT $2"),
                &[&after, &limit],
            )
            .map_err(backend)?;
        rows.iter().map(to_record).collect()
    }

    fn latest_decisions(&self, limit: u64) -> Result<Vec<DecisionRecord>> {
        let limit = limit.min(i64::MAX as u64) as i64;
        let rows = self
            .db()?
            .query(&format!("SELECT {COLUMNS} FROM review_decisions ORDER BY id DESC LIMIT $1"), &[&limit])
            .map_err(backend)?;
        rows.iter().map(to_record).collect()
    }

    fn standing_decisions(&self, targets: &[ReviewTarget]) -> Result<Vec<DecisionRecord>> {
        // Each target's standing decision, in the order asked.
        let kinds: Vec<&str> = targets.iter().map(|t| t.kind()).collect();
        let ids: Vec<i64> = targets.iter().map(|t| t.id()).collect();
        let rows = self
            .db()?
            .query(
                &format!(
                    "SELECT d.* FROM UNNEST($1::text[], $2::bigint[]) WITH ORDINALITY AS t (kind, target, n)
                     CROSS JOIN LATERAL (
                         SELECT {COLUMNS} FROM review_decisions
                         WHERE kind = t.kind AND target = t.target AND undone_at IS NULL
                         ORDER BY id DESC LIMIT 1) d
                     ORDER BY t.n"
                ),
                &[&kinds, &ids],
            )
            .map_err(backend)?;
        rows.iter().map(to_record).collect()
    }

    fn matches_by_id(&self, ids: &[i64]) -> Result<Vec<StoredMatch>> {
        let mut c = self.db()?;
        crate::banks::matches_where(&mut c, Some(ids))
    }

    fn ui_settings(&self) -> Result<Vec<(String, i64)>> {
        let rows = self
            .db()?
            .query("SELECT key, value FROM ui_settings ORDER BY key COLLATE \"C\"", &[])
            .map_err(backend)?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn set_ui_setting(&mut self, key: &str, value: i64) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO ui_settings (key, value) VALUES ($1, $2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[&key, &value],
            )
            .map_err(backend)?;
            Ok(())
        })
    }

    fn user_blur(&self, user: &str) -> Result<Option<u8>> {
        let row = self
            .db()?
            .query_opt(
                "SELECT p.blur FROM user_preferences p JOIN users u ON u.id = p.user_id WHERE u.name = $1",
                &[&user],
            )
            .map_err(backend)?;
        Ok(row.and_then(|r| r.get::<_, Option<i64>>(0)).map(|b| b.clamp(0, 255) as u8))
    }

    fn set_user_blur(&mut self, user: &str, blur: Option<u8>) -> Result<bool> {
        let blur = blur.map(i64::from);
        let n = self.write(|tx| {
            tx.execute(
                "INSERT INTO user_preferences (user_id, blur) SELECT id, $2::bigint FROM users WHERE name = $1
                 ON CONFLICT (user_id) DO UPDATE SET blur = excluded.blur",
                &[&user, &blur],
            )
            .map_err(backend)
        })?;
        Ok(n > 0)
    }

    fn add_exposure(&mut self, user: &str, day: i64, items: u64) -> Result<u64> {
        let items = items.min(i64::MAX as u64) as i64;
        let n: i64 = self.write(|tx| {
            Ok(tx
                .query_one(
                    "INSERT INTO exposures (user_name, day, items) VALUES ($1, $2, $3)
                     ON CONFLICT (user_name, day) DO UPDATE SET items = exposures.items + excluded.items
                     RETURNING items",
                    &[&user, &day, &items],
                )
                .map_err(backend)?
                .get(0))
        })?;
        Ok(n.max(0) as u64)
    }

    fn exposure(&self, user: &str, day: i64) -> Result<u64> {
        let row = self
            .db()?
            .query_opt("SELECT items FROM exposures WHERE user_name = $1 AND day = $2", &[&user, &day])
            .map_err(backend)?;
        Ok(row.map_or(0, |r| r.get::<_, i64>(0)).max(0) as u64)
    }

    fn ignored_entries(&self) -> Result<Vec<(ItemRef, EntryId)>> {
        let rows = self
            .db()?
            .query(
                "SELECT i.media_sha256, i.post_id, e.id FROM ignored_matches i
                 JOIN banks b ON b.name = i.bank
                 JOIN bank_entries e ON e.bank_id = b.id AND e.signal_type = i.signal_type AND e.value = i.value
                 ORDER BY e.id, i.decision_id",
                &[],
            )
            .map_err(backend)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let media: Option<Vec<u8>> = r.get(0);
            let item = match (media, r.get::<_, Option<i64>>(1)) {
                (Some(m), None) => ItemRef::Media(sha(&m).map_err(|_| StoreError::Corrupt {
                    record: "ignored match".to_owned(),
                    problem: format!("a SHA-256 of {} bytes", m.len()),
                })?),
                (None, Some(p)) => ItemRef::Post(PostId(p)),
                _ => {
                    return Err(StoreError::Corrupt {
                        record: "ignored match".to_owned(),
                        problem: "neither a media item nor a post".to_owned(),
                    });
                }
            };
            out.push((item, EntryId(r.get(2))));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use marsad_core::{ReleaseId, UtcTime};
    use marsad_store::{QueueState, ReviewStore, ReviewTarget};

    /// A match and a release that came at the same time are ordered by
    /// kind, then id, and a page's last item is a cursor into that order.
    #[test]
    fn the_queue_is_ordered_by_time_kind_and_id() {
        let scratch = crate::ScratchStore::new().expect("the test database");
        let store = scratch.open().expect("open");
        let mut c =
            scratch.url().parse::<postgres::Config>().expect("url").connect(postgres::NoTls).expect("db");
        c.batch_execute(
            "INSERT INTO sources (id, platform, platform_id, name, kind) VALUES (1, 'telegram', '1', 's', 'channel');
             INSERT INTO posts (id, source_id, platform_post_id, posted_at) VALUES (1, 1, 'p', 0);
             INSERT INTO banks (id, name, created_at) VALUES (1, 'b', 0);
             INSERT INTO bank_entries (id, bank_id, signal_type, value, added_at) VALUES (1, 1, 'md5', 'v', 0);
             INSERT INTO matches (id, post_id, entry_id, signal_type, distance, matched_at)
                 VALUES (7, 1, 1, 'md5', 0, 100);
             INSERT INTO releases (id, first_seen, sightings, outlet) VALUES
                 (1, 100, 1, NULL), (2, 50, 1, NULL), (3, 100, 1, NULL), (4, 10, 1, 'o'), (5, 10, 0, NULL);",
        )
        .expect("seed");
        let expected = [
            ReviewTarget::Release(ReleaseId(2)),
            ReviewTarget::Match(7),
            ReviewTarget::Release(ReleaseId(1)),
            ReviewTarget::Release(ReleaseId(3)),
        ];
        let mut paged = Vec::new();
        let mut after = None;
        while let Some(item) = store.review_queue(QueueState::Open, after, 1).expect("page").pop() {
            after = Some((item.since, item.target));
            paged.push(item.target);
        }
        assert_eq!(paged, expected);
        assert_eq!(after.map(|(t, _)| t), UtcTime::from_unix_micros(100));
        assert_eq!(store.review_counts().expect("counts"), (4, 0));
    }
}
