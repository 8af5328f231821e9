//! Banks as a matching service serves them: settings, HMA's content items,
//! the change log, signal type settings.

use std::collections::BTreeMap;

use marsad_core::{BankId, EntryId, SignalType, UtcTime};
use marsad_store::{
    BankChange, BankContent, BankCursor, BankEntry, BankInfo, BankLogRecord, BankUpdate, CONTENT_ENABLED,
    ContentUpdate, NewContent, Result, ServedEntry, StoreError,
};
use rusqlite::{Connection, OptionalExtension, params};

use crate::backend;
use crate::banks::{BANK_COLUMNS, assign_hma_name, bank_info, bank_row, log, settings_of};
use crate::read::time;

/// Gives every bank without an HMA name one, oldest first (the migration
/// that adds HMA names).
pub(crate) fn assign_missing_hma_names(conn: &Connection) -> Result<()> {
    let mut stmt =
        conn.prepare("SELECT id, name FROM banks WHERE hma_name IS NULL ORDER BY id").map_err(backend)?;
    let rows: Vec<(i64, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(backend)?
        .collect::<rusqlite::Result<_>>()
        .map_err(backend)?;
    for (id, name) in rows {
        assign_hma_name(conn, id, &name)?;
    }
    Ok(())
}

fn signal(s: &str) -> Result<SignalType> {
    SignalType::parse(s).ok_or_else(|| StoreError::Backend(format!("store holds unknown signal type {s:?}")))
}

fn bank_by_hma_name(conn: &Connection, hma_name: &str) -> Result<Option<BankInfo>> {
    let row = conn
        .query_row(&format!("SELECT {BANK_COLUMNS} FROM banks WHERE hma_name = ?1"), [hma_name], bank_row)
        .optional()
        .map_err(backend)?;
    row.map(|row| bank_info(conn, row)).transpose()
}

pub(crate) fn update_bank(conn: &mut Connection, hma_name: &str, update: &BankUpdate) -> Result<BankInfo> {
    let tx = conn.transaction().map_err(backend)?;
    let Some(bank) = bank_by_hma_name(&tx, hma_name)? else {
        return Err(StoreError::NotFound(format!("bank {hma_name:?}")));
    };
    if let Some(new) = &update.rename
        && new != hma_name
    {
        let taken: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM banks WHERE (hma_name = ?1 OR name = ?1) AND id <> ?2)",
                params![new, bank.id.0],
                |r| r.get(0),
            )
            .map_err(backend)?;
        if taken {
            return Err(StoreError::Conflict(format!("bank {new:?}")));
        }
        // The bank's own name follows its HMA name when the two were one.
        if bank.name == hma_name {
            tx.execute("UPDATE banks SET name = ?1 WHERE id = ?2", params![new, bank.id.0])
                .map_err(backend)?;
        }
        tx.execute("UPDATE banks SET hma_name = ?1 WHERE id = ?2", params![new, bank.id.0])
            .map_err(backend)?;
    }
    if let Some(ratio) = update.enabled_ratio {
        tx.execute("UPDATE banks SET enabled_ratio = ?1 WHERE id = ?2", params![ratio, bank.id.0])
            .map_err(backend)?;
    }
    if let Some(threshold) = update.pdq_threshold {
        tx.execute("UPDATE banks SET pdq_threshold = ?1 WHERE id = ?2", params![threshold, bank.id.0])
            .map_err(backend)?;
    }
    log(&tx, "bank", Some(bank.id.0), None)?;
    let row = tx
        .query_row(&format!("SELECT {BANK_COLUMNS} FROM banks WHERE id = ?1"), [bank.id.0], bank_row)
        .map_err(backend)?;
    let info = bank_info(&tx, row)?;
    tx.commit().map_err(backend)?;
    Ok(info)
}

pub(crate) fn add_bank_content(conn: &mut Connection, hma_name: &str, content: &NewContent) -> Result<i64> {
    if content.signals.is_empty() {
        return Err(StoreError::Invalid("a content item needs at least one signal".into()));
    }
    let tx = conn.transaction().map_err(backend)?;
    let bank: Option<i64> = tx
        .query_row("SELECT id FROM banks WHERE hma_name = ?1", [hma_name], |r| r.get(0))
        .optional()
        .map_err(backend)?;
    let Some(bank) = bank else {
        return Err(StoreError::NotFound(format!("bank {hma_name:?}")));
    };
    let labels = serde_json::to_string(&content.labels).unwrap_or_else(|_| "{}".to_owned());
    let now = UtcTime::now().unix_micros();
    let mut id = None;
    {
        let mut insert = tx
            .prepare_cached(
                "INSERT INTO bank_entries (bank_id, signal_type, value, labels, added_at, content_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .map_err(backend)?;
        for (t, value) in &content.signals {
            // The first entry's content id is its own id, known once it is
            // inserted: a placeholder no content has until then.
            insert.execute(params![bank, t.as_str(), value, labels, now, id.unwrap_or(-1)]).map_err(|e| {
                match e.sqlite_error_code() {
                    Some(rusqlite::ErrorCode::ConstraintViolation) => {
                        StoreError::Invalid(format!("content item with two {t} signals"))
                    }
                    _ => backend(e),
                }
            })?;
            if id.is_none() {
                let first = tx.last_insert_rowid();
                tx.execute("UPDATE bank_entries SET content_id = ?1 WHERE id = ?1", [first])
                    .map_err(backend)?;
                id = Some(first);
            }
        }
    }
    let id = id.expect("at least one signal");
    tx.execute(
        "INSERT INTO bank_content (id, note, metadata, disable_until_ts, original_media_uri)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, content.note, content.metadata, CONTENT_ENABLED, content.original_media_uri],
    )
    .map_err(backend)?;
    tx.commit().map_err(backend)?;
    Ok(id)
}

/// The rows of `bank_contents`: entry, bank and content columns.
type ContentRow =
    (i64, i64, String, String, String, i64, i64, Option<String>, Option<String>, i64, Option<String>);

pub(crate) fn bank_contents(conn: &Connection, ids: &[i64]) -> Result<Vec<BankContent>> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut out: Vec<BankContent> = Vec::new();
    for chunk in ids.chunks(400) {
        let marks = vec!["?"; chunk.len()].join(",");
        let sql = format!(
            "SELECT coalesce(e.content_id, e.id) AS cid, e.id, e.signal_type, e.value, e.labels, e.added_at,
                    e.bank_id, c.note, c.metadata, coalesce(c.disable_until_ts, 1), c.original_media_uri
             FROM bank_entries e LEFT JOIN bank_content c ON c.id = coalesce(e.content_id, e.id)
             WHERE e.content_id IN ({marks}) OR (e.content_id IS NULL AND e.id IN ({marks}))
             ORDER BY cid, e.id"
        );
        let mut stmt = conn.prepare(&sql).map_err(backend)?;
        let args: Vec<i64> = chunk.iter().chain(chunk.iter()).copied().collect();
        let rows: Vec<ContentRow> = stmt
            .query_map(rusqlite::params_from_iter(args), |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                    r.get(10)?,
                ))
            })
            .map_err(backend)?
            .collect::<rusqlite::Result<_>>()
            .map_err(backend)?;
        for (cid, entry, t, value, labels, added, bank_id, note, metadata, disable, uri) in rows {
            let t = signal(&t)?;
            if let Some(last) = out.last_mut()
                && last.id == cid
            {
                last.signals.push((EntryId(entry), t, value));
                continue;
            }
            let bank = conn
                .query_row(&format!("SELECT {BANK_COLUMNS} FROM banks WHERE id = ?1"), [bank_id], bank_row)
                .map_err(backend)?;
            let labels: BTreeMap<String, String> =
                serde_json::from_str(&labels).map_err(|e| StoreError::Corrupt {
                    record: format!("bank entry {entry}"),
                    problem: format!("labels {labels:?} are not a JSON object of strings: {e}"),
                })?;
            out.push(BankContent {
                id: cid,
                bank_id: BankId(bank_id),
                bank_settings: settings_of(&bank),
                bank: bank.1,
                signals: vec![(EntryId(entry), t, value)],
                labels,
                note,
                metadata,
                disable_until_ts: disable,
                original_media_uri: uri,
                added_at: time(added)?,
            });
        }
    }
    Ok(out)
}

pub(crate) fn update_bank_content(
    conn: &mut Connection,
    id: i64,
    update: &ContentUpdate,
) -> Result<Option<BankContent>> {
    let tx = conn.transaction().map_err(backend)?;
    let Some(existing) = bank_contents(&tx, &[id])?.pop() else {
        return Ok(None);
    };
    tx.execute(
        "INSERT INTO bank_content (id, note, metadata, disable_until_ts, original_media_uri)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO NOTHING",
        params![id, existing.note, existing.metadata, existing.disable_until_ts, existing.original_media_uri],
    )
    .map_err(backend)?;
    if let Some(ts) = update.disable_until_ts {
        tx.execute("UPDATE bank_content SET disable_until_ts = ?1 WHERE id = ?2", params![ts, id])
            .map_err(backend)?;
    }
    if let Some(note) = &update.note {
        tx.execute("UPDATE bank_content SET note = ?1 WHERE id = ?2", params![note, id]).map_err(backend)?;
    }
    log(&tx, "content", Some(existing.bank_id.0), Some(id))?;
    let updated = bank_contents(&tx, &[id])?.pop();
    tx.commit().map_err(backend)?;
    Ok(updated)
}

pub(crate) fn remove_bank_content(conn: &mut Connection, hma_name: &str, id: i64) -> Result<u64> {
    let tx = conn.transaction().map_err(backend)?;
    let bank: Option<i64> = tx
        .query_row("SELECT id FROM banks WHERE hma_name = ?1", [hma_name], |r| r.get(0))
        .optional()
        .map_err(backend)?;
    if bank.is_none() {
        return Err(StoreError::NotFound(format!("bank {hma_name:?}")));
    }
    // As HMA does, the content is looked up by its id alone.
    let owner: Option<i64> = tx
        .query_row(
            "SELECT bank_id FROM bank_entries WHERE content_id = ?1 OR (content_id IS NULL AND id = ?1) LIMIT 1",
            [id],
            |r| r.get(0),
        )
        .optional()
        .map_err(backend)?;
    let Some(owner) = owner else {
        return Ok(0);
    };
    let entries = "SELECT id FROM bank_entries WHERE content_id = ?1 OR (content_id IS NULL AND id = ?1)";
    tx.execute(&format!("DELETE FROM matches WHERE entry_id IN ({entries})"), [id]).map_err(backend)?;
    tx.execute("DELETE FROM bank_entries WHERE content_id = ?1 OR (content_id IS NULL AND id = ?1)", [id])
        .map_err(backend)?;
    tx.execute("DELETE FROM bank_content WHERE id = ?1", [id]).map_err(backend)?;
    tx.execute("UPDATE meta SET value = value + 1 WHERE key = 'bank_generation'", []).map_err(backend)?;
    log(&tx, "content_deleted", Some(owner), Some(id))?;
    tx.commit().map_err(backend)?;
    Ok(1)
}

pub(crate) fn served_entries(
    conn: &Connection,
    after_id: i64,
    visit: &mut dyn FnMut(ServedEntry) -> Result<()>,
) -> Result<()> {
    let mut stmt = conn
        .prepare(
            "SELECT e.id, b.name, e.signal_type, e.value, e.labels, e.added_at, e.bank_id,
                    coalesce(e.content_id, e.id), coalesce(c.disable_until_ts, 1)
             FROM bank_entries e JOIN banks b ON b.id = e.bank_id
             LEFT JOIN bank_content c ON c.id = coalesce(e.content_id, e.id)
             WHERE e.id > ?1 ORDER BY e.id",
        )
        .map_err(backend)?;
    let mut rows = stmt.query([after_id]).map_err(backend)?;
    while let Some(r) = rows.next().map_err(backend)? {
        let id: i64 = r.get(0).map_err(backend)?;
        let labels: String = r.get(4).map_err(backend)?;
        let entry = BankEntry {
            id: EntryId(id),
            bank: r.get(1).map_err(backend)?,
            signal_type: signal(&r.get::<_, String>(2).map_err(backend)?)?,
            value: r.get(3).map_err(backend)?,
            labels: serde_json::from_str(&labels).map_err(|e| StoreError::Corrupt {
                record: format!("bank entry {id}"),
                problem: format!("labels {labels:?} are not a JSON object of strings: {e}"),
            })?,
            added_at: time(r.get(5).map_err(backend)?)?,
        };
        visit(ServedEntry {
            entry,
            bank_id: BankId(r.get(6).map_err(backend)?),
            content_id: r.get(7).map_err(backend)?,
            disable_until_ts: r.get(8).map_err(backend)?,
        })?;
    }
    Ok(())
}

pub(crate) fn bank_cursor(conn: &Connection) -> Result<BankCursor> {
    conn.query_row(
        "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'bank_entries'), 0),
                coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'bank_log'), 0)",
        [],
        |r| Ok(BankCursor { max_entry_id: r.get(0)?, log_seq: r.get(1)? }),
    )
    .map_err(backend)
}

pub(crate) fn bank_log(conn: &Connection, after_seq: i64) -> Result<Vec<BankLogRecord>> {
    let mut stmt = conn
        .prepare("SELECT seq, kind, bank_id, content_id FROM bank_log WHERE seq > ?1 ORDER BY seq")
        .map_err(backend)?;
    let rows: Vec<(i64, String, Option<i64>, Option<i64>)> = stmt
        .query_map([after_seq], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .map_err(backend)?
        .collect::<rusqlite::Result<_>>()
        .map_err(backend)?;
    rows.into_iter()
        .map(|(seq, kind, bank, content)| {
            let bad = || StoreError::Corrupt {
                record: format!("bank log record {seq}"),
                problem: format!("kind {kind:?} without its bank or content"),
            };
            let change = match kind.as_str() {
                "bank" => BankChange::Bank(BankId(bank.ok_or_else(bad)?)),
                "bank_deleted" => BankChange::BankDeleted(BankId(bank.ok_or_else(bad)?)),
                "content" => BankChange::Content(content.ok_or_else(bad)?),
                "content_deleted" => BankChange::ContentDeleted(content.ok_or_else(bad)?),
                "signal_types" => BankChange::SignalTypes,
                _ => return Err(bad()),
            };
            Ok(BankLogRecord { seq, change })
        })
        .collect()
}

pub(crate) fn signal_type_ratios(conn: &Connection) -> Result<BTreeMap<String, f64>> {
    let mut stmt = conn.prepare("SELECT name, enabled_ratio FROM signal_type_config").map_err(backend)?;
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(backend)?
        .collect::<rusqlite::Result<_>>()
        .map_err(backend)
}

pub(crate) fn set_signal_type_ratio(conn: &mut Connection, name: &str, ratio: f64) -> Result<()> {
    let tx = conn.transaction().map_err(backend)?;
    tx.execute(
        "INSERT INTO signal_type_config (name, enabled_ratio) VALUES (?1, ?2)
         ON CONFLICT (name) DO UPDATE SET enabled_ratio = excluded.enabled_ratio",
        params![name, ratio],
    )
    .map_err(backend)?;
    log(&tx, "signal_types", None, None)?;
    tx.commit().map_err(backend)
}
