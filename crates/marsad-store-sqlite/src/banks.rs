//! Hash banks and the matches found against them.

use std::collections::BTreeMap;

use marsad_core::{BankId, EntryId, Md5, PostId, SignalType, UtcTime};
use marsad_store::{
    BankEntry, BankInfo, BankSettings, BankState, EntryFilter, ItemRef, MatchableItem, MatchedItem,
    NewBankEntry, NewFingerprint, NewMatch, Result, StoreError, StoredMatch,
};
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};

use crate::backend;
use crate::read::{sha, source_key, time, variant};

fn signal(s: &str) -> Result<SignalType> {
    SignalType::parse(s).ok_or_else(|| StoreError::Backend(format!("store holds unknown signal type {s:?}")))
}

fn labels_json(labels: &BTreeMap<String, String>) -> String {
    serde_json::to_string(labels).unwrap_or_else(|_| "{}".to_owned())
}

/// The stored labels of a bank entry, or an error naming the entry.
fn labels_of(entry: i64, text: &str) -> Result<BTreeMap<String, String>> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
        record: format!("bank entry {entry}"),
        problem: format!("labels {text:?} are not a JSON object of strings: {e}"),
    })
}

/// The columns of `banks` that [`bank_info`] reads, in its order.
pub(crate) const BANK_COLUMNS: &str = "id, name, created_at, hma_name, enabled_ratio, pdq_threshold";

/// A bank's row as [`BANK_COLUMNS`] reads it.
pub(crate) type BankRow = (i64, String, i64, Option<String>, f64, Option<i64>);

pub(crate) fn bank_row(r: &Row<'_>) -> rusqlite::Result<BankRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
}

/// A bank's settings from its row.
pub(crate) fn settings_of(row: &BankRow) -> BankSettings {
    let (_, name, _, hma, ratio, threshold) = row;
    BankSettings {
        hma_name: hma.clone().unwrap_or_else(|| marsad_store::hma_name_of(name)),
        enabled_ratio: *ratio,
        pdq_threshold: threshold.and_then(|t| u32::try_from(t).ok()),
    }
}

pub(crate) fn bank_info(conn: &Connection, row: BankRow) -> Result<BankInfo> {
    let settings = settings_of(&row);
    let (id, name, created, ..) = row;
    let mut stmt = conn
        .prepare_cached(
            "SELECT signal_type, count(*) FROM bank_entries WHERE bank_id = ?1 GROUP BY signal_type",
        )
        .map_err(backend)?;
    let mut entries = BTreeMap::new();
    let rows =
        stmt.query_map([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))).map_err(backend)?;
    for row in rows {
        let (t, n) = row.map_err(backend)?;
        entries.insert(signal(&t)?, n as u64);
    }
    Ok(BankInfo { id: BankId(id), name, created_at: time(created)?, entries, settings })
}

/// Gives a bank its HMA name: the one made from its name, with `_2`, `_3`…
/// when that is taken.
pub(crate) fn assign_hma_name(conn: &Connection, id: i64, name: &str) -> Result<String> {
    let base = marsad_store::hma_name_of(name);
    let mut candidate = base.clone();
    let mut n = 1;
    loop {
        let taken: bool = conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM banks WHERE hma_name = ?1 AND id <> ?2)",
                params![candidate, id],
                |r| r.get(0),
            )
            .map_err(backend)?;
        if !taken {
            break;
        }
        n += 1;
        candidate = format!("{base}_{n}");
    }
    conn.execute("UPDATE banks SET hma_name = ?1 WHERE id = ?2", params![candidate, id]).map_err(backend)?;
    Ok(candidate)
}

/// Appends a record to the bank change log.
pub(crate) fn log(conn: &Connection, kind: &str, bank: Option<i64>, content: Option<i64>) -> Result<()> {
    conn.execute(
        "INSERT INTO bank_log (kind, bank_id, content_id, at) VALUES (?1, ?2, ?3, ?4)",
        params![kind, bank, content, UtcTime::now().unix_micros()],
    )
    .map_err(backend)?;
    Ok(())
}

/// Inserts a bank with its HMA name and logs it; `None` if the name is taken.
pub(crate) fn insert_bank(conn: &Connection, name: &str, now: i64) -> Result<Option<(i64, String)>> {
    let added = conn
        .execute(
            "INSERT INTO banks (name, created_at) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
            params![name, now],
        )
        .map_err(backend)?;
    if added == 0 {
        return Ok(None);
    }
    let id = conn.last_insert_rowid();
    let hma = assign_hma_name(conn, id, name)?;
    log(conn, "bank", Some(id), None)?;
    Ok(Some((id, hma)))
}

pub(crate) fn create_bank(conn: &mut Connection, name: &str) -> Result<BankInfo> {
    let now = UtcTime::now();
    let tx = conn.transaction().map_err(backend)?;
    let Some((id, hma_name)) = insert_bank(&tx, name, now.unix_micros())? else {
        return Err(StoreError::Conflict(format!("bank {name:?}")));
    };
    tx.commit().map_err(backend)?;
    Ok(BankInfo {
        id: BankId(id),
        name: name.to_owned(),
        created_at: now,
        entries: BTreeMap::new(),
        settings: BankSettings { hma_name, ..BankSettings::default() },
    })
}

pub(crate) fn banks(conn: &Connection) -> Result<Vec<BankInfo>> {
    let mut stmt =
        conn.prepare(&format!("SELECT {BANK_COLUMNS} FROM banks ORDER BY name")).map_err(backend)?;
    let rows: Vec<BankRow> =
        stmt.query_map([], bank_row).map_err(backend)?.collect::<rusqlite::Result<_>>().map_err(backend)?;
    rows.into_iter().map(|row| bank_info(conn, row)).collect()
}

pub(crate) fn bank_settings(conn: &Connection) -> Result<Vec<(BankId, String, BankSettings)>> {
    let mut stmt =
        conn.prepare(&format!("SELECT {BANK_COLUMNS} FROM banks ORDER BY name")).map_err(backend)?;
    let rows: Vec<BankRow> =
        stmt.query_map([], bank_row).map_err(backend)?.collect::<rusqlite::Result<_>>().map_err(backend)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let settings = settings_of(&row);
            (BankId(row.0), row.1, settings)
        })
        .collect())
}

pub(crate) fn delete_bank(conn: &mut Connection, name: &str) -> Result<bool> {
    let tx = conn.transaction().map_err(backend)?;
    let id: Option<i64> = tx
        .query_row("SELECT id FROM banks WHERE name = ?1", [name], |r| r.get(0))
        .optional()
        .map_err(backend)?;
    let Some(id) = id else {
        return Ok(false);
    };
    // Explicitly, in this order, rather than by cascade: cascades fire per
    // row, and a bank may hold millions of entries.
    tx.execute(
        "DELETE FROM matches WHERE entry_id IN (SELECT id FROM bank_entries WHERE bank_id = ?1)",
        [id],
    )
    .map_err(backend)?;
    tx.execute(
        "DELETE FROM bank_content WHERE id IN (SELECT content_id FROM bank_entries WHERE bank_id = ?1)
            OR id IN (SELECT id FROM bank_entries WHERE bank_id = ?1)",
        [id],
    )
    .map_err(backend)?;
    tx.execute("DELETE FROM bank_entries WHERE bank_id = ?1", [id]).map_err(backend)?;
    tx.execute("DELETE FROM banks WHERE id = ?1", [id]).map_err(backend)?;
    log(&tx, "bank_deleted", Some(id), None)?;
    tx.execute("UPDATE meta SET value = value + 1 WHERE key = 'bank_generation'", []).map_err(backend)?;
    tx.commit().map_err(backend)?;
    Ok(true)
}

pub(crate) fn add_bank_entries(conn: &mut Connection, bank: &str, entries: &[NewBankEntry]) -> Result<u64> {
    let tx = conn.transaction().map_err(backend)?;
    let Some(id) = bank_id(&tx, bank)? else {
        return Err(StoreError::NotFound(format!("bank {bank:?}")));
    };
    let added = insert_entries(&tx, id, UtcTime::now().unix_micros(), entries)?;
    tx.commit().map_err(backend)?;
    Ok(added)
}

fn bank_id(conn: &Connection, bank: &str) -> Result<Option<i64>> {
    conn.query_row("SELECT id FROM banks WHERE name = ?1", [bank], |r| r.get(0)).optional().map_err(backend)
}

fn insert_entries(conn: &Connection, bank: i64, added_at: i64, entries: &[NewBankEntry]) -> Result<u64> {
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO bank_entries (bank_id, signal_type, value, labels, added_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (bank_id, signal_type, value) WHERE content_id IS NULL DO NOTHING",
        )
        .map_err(backend)?;
    let mut added = 0;
    for e in entries {
        added += insert
            .execute(params![bank, e.signal_type.as_str(), e.value, labels_json(&e.labels), added_at])
            .map_err(backend)? as u64;
    }
    Ok(added)
}

/// A bank import: one IMMEDIATE transaction from the bank's creation to the
/// last entry, rolled back when dropped uncommitted. Entries are inserted
/// as they come (the caller streams the file in chunks), so memory stays
/// that of one chunk; SQLite keeps the transaction's pages in the WAL.
pub(crate) struct Import<'a> {
    tx: rusqlite::Transaction<'a>,
    bank: i64,
    created: bool,
    added_at: i64,
}

impl<'a> Import<'a> {
    pub(crate) fn begin(conn: &'a mut Connection, bank: &str, create: bool) -> Result<Self> {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(backend)?;
        let now = UtcTime::now().unix_micros();
        let (id, created) = match bank_id(&tx, bank)? {
            Some(id) => (id, false),
            None if create => match insert_bank(&tx, bank, now)? {
                Some((id, _)) => (id, true),
                None => return Err(StoreError::Conflict(format!("bank {bank:?}"))),
            },
            None => return Err(StoreError::NotFound(format!("bank {bank:?}"))),
        };
        Ok(Import { tx, bank: id, created, added_at: now })
    }
}

impl marsad_store::BankImport for Import<'_> {
    fn created(&self) -> bool {
        self.created
    }

    fn add(&mut self, entries: &[NewBankEntry]) -> Result<u64> {
        insert_entries(&self.tx, self.bank, self.added_at, entries)
    }

    fn commit(self: Box<Self>) -> Result<()> {
        self.tx.commit().map_err(backend)
    }
}

fn entry_row(r: &Row<'_>) -> rusqlite::Result<(i64, String, String, String, String, i64)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
}

fn to_entry(row: (i64, String, String, String, String, i64)) -> Result<BankEntry> {
    let (id, bank, t, value, labels, added) = row;
    Ok(BankEntry {
        id: EntryId(id),
        bank,
        signal_type: signal(&t)?,
        value,
        labels: labels_of(id, &labels)?,
        added_at: time(added)?,
    })
}

pub(crate) fn bank_entries(
    conn: &Connection,
    filter: &EntryFilter,
    visit: &mut dyn FnMut(BankEntry) -> Result<()>,
) -> Result<()> {
    let mut sql = "SELECT e.id, b.name, e.signal_type, e.value, e.labels, e.added_at
                   FROM bank_entries e JOIN banks b ON b.id = e.bank_id WHERE e.id > ?"
        .to_owned();
    let mut args: Vec<rusqlite::types::Value> = vec![filter.after_id.map_or(0, |id| id.0).into()];
    if let Some(t) = filter.signal_type {
        sql.push_str(" AND e.signal_type = ?");
        args.push(t.as_str().to_owned().into());
    }
    if let Some(v) = &filter.value {
        sql.push_str(" AND e.value = ?");
        args.push(v.clone().into());
    }
    let mut left = filter.limit.unwrap_or(u64::MAX);
    if left == 0 {
        return Ok(());
    }
    if let Some(banks) = &filter.banks {
        if banks.is_empty() {
            return Ok(());
        }
        sql.push_str(&format!(" AND b.name IN ({})", vec!["?"; banks.len()].join(",")));
        args.extend(banks.iter().map(|b| b.clone().into()));
    }
    let Some(ids) = &filter.ids else {
        sql.push_str(" ORDER BY e.id");
        if let Some(n) = filter.limit {
            sql.push_str(&format!(" LIMIT {}", n.min(i64::MAX as u64)));
        }
        let mut stmt = conn.prepare(&sql).map_err(backend)?;
        let mut rows = stmt.query(params_from_iter(args)).map_err(backend)?;
        while let Some(r) = rows.next().map_err(backend)? {
            visit(to_entry(entry_row(r).map_err(backend)?)?)?;
        }
        return Ok(());
    };
    // By id, in chunks (SQLite limits bound parameters).
    let mut ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
    ids.sort_unstable();
    ids.dedup();
    for chunk in ids.chunks(500) {
        let q = format!("{sql} AND e.id IN ({}) ORDER BY e.id", vec!["?"; chunk.len()].join(","));
        let mut stmt = conn.prepare(&q).map_err(backend)?;
        let all: Vec<rusqlite::types::Value> =
            args.iter().cloned().chain(chunk.iter().map(|&i| i.into())).collect();
        let mut rows = stmt.query(params_from_iter(all)).map_err(backend)?;
        while let Some(r) = rows.next().map_err(backend)? {
            visit(to_entry(entry_row(r).map_err(backend)?)?)?;
            left -= 1;
            if left == 0 {
                return Ok(());
            }
        }
    }
    Ok(())
}

pub(crate) fn bank_state(conn: &Connection) -> Result<BankState> {
    let generation: i64 = conn
        .query_row("SELECT value FROM meta WHERE key = 'bank_generation'", [], |r| r.get(0))
        .map_err(backend)?;
    // The AUTOINCREMENT counter: the largest id ever given, deleted or not.
    let max_entry_id: i64 = conn
        .query_row(
            "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'bank_entries'), 0)",
            [],
            |r| r.get(0),
        )
        .map_err(backend)?;
    let entries: i64 =
        conn.query_row("SELECT count(*) FROM bank_entries", [], |r| r.get(0)).map_err(backend)?;
    Ok(BankState {
        generation,
        max_entry_id: (max_entry_id > 0).then_some(EntryId(max_entry_id)),
        entries: entries as u64,
    })
}

pub(crate) fn matches(conn: &Connection) -> Result<Vec<StoredMatch>> {
    matches_where(conn, None)
}

/// The stored matches of these ids (every one when `None`), by id.
pub(crate) fn matches_where(conn: &Connection, ids: Option<&[i64]>) -> Result<Vec<StoredMatch>> {
    let Some(ids) = ids else { return matches_chunk(conn, "") };
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let list = chunk.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        out.extend(matches_chunk(conn, &format!("WHERE m.id IN ({list})"))?);
    }
    Ok(out)
}

fn matches_chunk(conn: &Connection, filter: &str) -> Result<Vec<StoredMatch>> {
    let mut stmt = conn
        .prepare(&format!(
            "SELECT m.media_sha256, p.id, s.platform, s.platform_id, p.platform_post_id, p.posted_at,
                    e.id, b.name, e.signal_type, e.value, e.labels, e.added_at,
                    m.signal_type, m.distance, m.detail, m.matched_at, m.variant, m.id
             FROM matches m
             JOIN bank_entries e ON e.id = m.entry_id
             JOIN banks b ON b.id = e.bank_id
             LEFT JOIN posts p ON p.id = m.post_id
             LEFT JOIN sources s ON s.id = p.source_id
             {filter}
             ORDER BY m.id"
        ))
        .map_err(backend)?;
    let mut posts_of = conn
        .prepare(
            "SELECT DISTINCT s.platform, s.platform_id, p.platform_post_id, p.posted_at
             FROM post_media pm JOIN posts p ON p.id = pm.post_id JOIN sources s ON s.id = p.source_id
             WHERE pm.media_sha256 = ?1 ORDER BY p.posted_at, s.platform, s.platform_id, p.platform_post_id",
        )
        .map_err(backend)?;
    let mut out = Vec::new();
    let mut rows = stmt.query([]).map_err(backend)?;
    while let Some(r) = rows.next().map_err(backend)? {
        let media: Option<Vec<u8>> = r.get(0).map_err(backend)?;
        let item = match media {
            Some(bytes) => {
                let sha256 = sha(&bytes)?;
                let posts = posts_of
                    .query_map([bytes.as_slice()], |p| {
                        Ok((
                            p.get::<_, String>(0)?,
                            p.get::<_, String>(1)?,
                            p.get::<_, String>(2)?,
                            p.get::<_, i64>(3)?,
                        ))
                    })
                    .map_err(backend)?
                    .map(|row| {
                        let (platform, pid, post, at) = row.map_err(backend)?;
                        Ok((source_key(&platform, pid)?, post, time(at)?))
                    })
                    .collect::<Result<Vec<_>>>()?;
                MatchedItem::Media { sha256, posts }
            }
            None => {
                let platform: String = r.get(2).map_err(backend)?;
                MatchedItem::Post {
                    source: source_key(&platform, r.get(3).map_err(backend)?)?,
                    post_id: r.get(4).map_err(backend)?,
                    posted_at: time(r.get(5).map_err(backend)?)?,
                }
            }
        };
        let entry = to_entry((
            r.get(6).map_err(backend)?,
            r.get(7).map_err(backend)?,
            r.get(8).map_err(backend)?,
            r.get(9).map_err(backend)?,
            r.get(10).map_err(backend)?,
            r.get(11).map_err(backend)?,
        ))?;
        let t: String = r.get(12).map_err(backend)?;
        let id: i64 = r.get(17).map_err(backend)?;
        let variant = variant(r.get(16).map_err(backend)?, || format!("match {id}"))?;
        out.push(StoredMatch {
            id,
            item,
            entry,
            signal_type: signal(&t)?,
            distance: r.get(13).map_err(backend)?,
            detail: r.get(14).map_err(backend)?,
            matched_at: time(r.get(15).map_err(backend)?)?,
            variant,
        });
    }
    Ok(out)
}

/// Every media item with its digests and fingerprints, then every post
/// with text fingerprints and its text: read in one statement each, rows
/// grouped by item.
pub(crate) fn matchable_items(
    conn: &Connection,
    visit: &mut dyn FnMut(MatchableItem) -> Result<()>,
) -> Result<()> {
    let mut stmt = conn
        .prepare(
            "SELECT m.sha256, m.md5, f.signal_type, f.value, f.quality, f.variant
             FROM media m LEFT JOIN fingerprints f ON f.media_sha256 = m.sha256
             ORDER BY m.sha256, f.id",
        )
        .map_err(backend)?;
    let mut rows = stmt.query([]).map_err(backend)?;
    let mut current: Option<MatchableItem> = None;
    while let Some(r) = rows.next().map_err(backend)? {
        let sha256 = sha(&r.get::<_, Vec<u8>>(0).map_err(backend)?)?;
        let item = ItemRef::Media(sha256);
        let open = match current.take() {
            Some(c) if c.item == item => c,
            other => {
                if let Some(done) = other {
                    visit(done)?;
                }
                let md5: Vec<u8> = r.get(1).map_err(backend)?;
                let md5: [u8; 16] = md5.try_into().map_err(|_| {
                    StoreError::Backend(format!("media {}: stored MD5 is not 16 bytes", sha256.to_hex()))
                })?;
                MatchableItem {
                    item,
                    fingerprints: vec![
                        NewFingerprint::own(SignalType::Md5, Md5(md5).to_hex(), None),
                        NewFingerprint::own(SignalType::Sha256, sha256.to_hex(), None),
                    ],
                    text: None,
                }
            }
        };
        let mut open = open;
        if let Some(t) = r.get::<_, Option<String>>(2).map_err(backend)? {
            let v = variant(r.get(5).map_err(backend)?, || {
                format!("{t} fingerprint of media {}", sha256.to_hex())
            })?;
            open.fingerprints.push(NewFingerprint {
                signal_type: signal(&t)?,
                value: r.get(3).map_err(backend)?,
                quality: r.get(4).map_err(backend)?,
                variant: v,
            });
        }
        current = Some(open);
    }
    if let Some(done) = current.take() {
        visit(done)?;
    }
    let mut stmt = conn
        .prepare(
            "SELECT f.post_id, f.signal_type, f.value, f.quality, p.text, f.variant
             FROM fingerprints f JOIN posts p ON p.id = f.post_id
             WHERE f.post_id IS NOT NULL
             ORDER BY f.post_id, f.id",
        )
        .map_err(backend)?;
    let mut rows = stmt.query([]).map_err(backend)?;
    let mut current: Option<MatchableItem> = None;
    while let Some(r) = rows.next().map_err(backend)? {
        let item = ItemRef::Post(PostId(r.get(0).map_err(backend)?));
        let mut open = match current.take() {
            Some(c) if c.item == item => c,
            other => {
                if let Some(done) = other {
                    visit(done)?;
                }
                MatchableItem { item, fingerprints: Vec::new(), text: Some(r.get(4).map_err(backend)?) }
            }
        };
        let t: String = r.get(1).map_err(backend)?;
        let v = variant(r.get(5).map_err(backend)?, || {
            let post: i64 = r.get(0).unwrap_or_default();
            format!("{t} fingerprint of post {post}")
        })?;
        open.fingerprints.push(NewFingerprint {
            signal_type: signal(&t)?,
            value: r.get(2).map_err(backend)?,
            quality: r.get(3).map_err(backend)?,
            variant: v,
        });
        current = Some(open);
    }
    if let Some(done) = current.take() {
        visit(done)?;
    }
    Ok(())
}

/// Stores matches of stored items in one transaction.
pub(crate) fn add_matches(conn: &mut Connection, matches: &[(ItemRef, NewMatch)]) -> Result<u64> {
    let tx = conn.transaction().map_err(backend)?;
    let mut n = 0;
    for (item, m) in matches {
        n += match item {
            ItemRef::Media(sha256) => {
                crate::write::insert_matches(&tx, Some(&sha256.0), None, std::slice::from_ref(m))?
            }
            ItemRef::Post(id) => {
                crate::write::insert_matches(&tx, None, Some(id.0), std::slice::from_ref(m))?
            }
        };
    }
    tx.commit().map_err(backend)?;
    Ok(n)
}
