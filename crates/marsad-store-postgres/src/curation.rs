//! Banks as a matching service serves them (CurationStore): settings,
//! HMA's content items, the change log, signal type settings.

use std::collections::{BTreeMap, HashMap};

use marsad_core::{BankId, EntryId, UtcTime};
use marsad_store::{
    BankChange, BankContent, BankCursor, BankEntry, BankInfo, BankLogRecord, BankSettings, BankUpdate,
    CONTENT_ENABLED, ContentUpdate, NewContent, Result, ServedEntry, StoreError,
};
use postgres::error::SqlState;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;
use postgres::{GenericClient, Transaction};

use crate::banks::{
    BANK_COLUMNS, MAX_ENTRY_ID, bank_info, bank_row, bump_generation, keep_max_entry_id, labels_json,
    labels_of, log, settings_of, signal,
};
use crate::{PgStore, backend, time};

/// The bank with that HMA name.
fn bank_by_hma_name(tx: &mut Transaction<'_>, hma_name: &str) -> Result<Option<BankInfo>> {
    let row = tx
        .query_opt(&format!("SELECT {BANK_COLUMNS} FROM banks WHERE hma_name = $1"), &[&hma_name])
        .map_err(backend)?;
    row.map(|r| bank_info(tx, bank_row(&r))).transpose()
}

/// The id of the bank with that HMA name.
fn bank_id_by_hma_name(tx: &mut Transaction<'_>, hma_name: &str) -> Result<Option<i64>> {
    Ok(tx
        .query_opt("SELECT id FROM banks WHERE hma_name = $1", &[&hma_name])
        .map_err(backend)?
        .map(|r| r.get(0)))
}

/// The content items with these ids that exist, by id: each content
/// item's entries (an entry added on its own is an item of one), with its
/// row of `bank_content` when it has one, read in one statement.
fn contents(c: &mut impl GenericClient, ids: &[i64]) -> Result<Vec<BankContent>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = c
        .query(
            "SELECT coalesce(e.content_id, e.id) AS cid, e.id, e.signal_type, e.value, e.labels, e.added_at,
                    e.bank_id, c.note, c.metadata, coalesce(c.disable_until_ts, 1), c.original_media_uri
             FROM bank_entries e LEFT JOIN bank_content c ON c.id = coalesce(e.content_id, e.id)
             WHERE e.content_id = ANY($1) OR (e.content_id IS NULL AND e.id = ANY($1))
             ORDER BY cid, e.id",
            &[&ids],
        )
        .map_err(backend)?;
    let mut bank_ids: Vec<i64> = rows.iter().map(|r| r.get(6)).collect();
    bank_ids.sort_unstable();
    bank_ids.dedup();
    let banks: HashMap<i64, (String, BankSettings)> = c
        .query(&format!("SELECT {BANK_COLUMNS} FROM banks WHERE id = ANY($1)"), &[&bank_ids])
        .map_err(backend)?
        .iter()
        .map(|r| {
            let row = bank_row(r);
            let settings = settings_of(&row);
            (row.0, (row.1, settings))
        })
        .collect();
    let mut out: Vec<BankContent> = Vec::new();
    for r in rows {
        let cid: i64 = r.get(0);
        let entry: i64 = r.get(1);
        let t = signal(r.get(2))?;
        let value: String = r.get(3);
        if let Some(last) = out.last_mut()
            && last.id == cid
        {
            last.signals.push((EntryId(entry), t, value));
            continue;
        }
        let bank_id: i64 = r.get(6);
        let (bank, bank_settings) = banks
            .get(&bank_id)
            .cloned()
            .ok_or_else(|| StoreError::Backend(format!("bank {bank_id} of entry {entry} vanished")))?;
        out.push(BankContent {
            id: cid,
            bank_id: BankId(bank_id),
            bank,
            bank_settings,
            signals: vec![(EntryId(entry), t, value)],
            labels: labels_of(entry, r.get(4))?,
            note: r.get(7),
            metadata: r.get(8),
            disable_until_ts: r.get(9),
            original_media_uri: r.get(10),
            added_at: time(r.get(5))?,
        });
    }
    Ok(out)
}

impl marsad_store::CurationStore for PgStore {
    fn update_bank(&mut self, hma_name: &str, update: &BankUpdate) -> Result<BankInfo> {
        let threshold: Option<Option<i32>> = update
            .pdq_threshold
            .map(|t| t.map(i32::try_from).transpose())
            .transpose()
            .map_err(|_| StoreError::Invalid("a PDQ threshold out of range".into()))?;
        self.write(|tx| {
            let Some(bank) = bank_by_hma_name(tx, hma_name)? else {
                return Err(StoreError::NotFound(format!("bank {hma_name:?}")));
            };
            let id = bank.id.0;
            if let Some(new) = &update.rename
                && new != hma_name
            {
                let taken: bool = tx
                    .query_one(
                        "SELECT EXISTS (SELECT 1 FROM banks WHERE (hma_name = $1 OR name = $1) AND id <> $2)",
                        &[new, &id],
                    )
                    .map_err(backend)?
                    .get(0);
                if taken {
                    return Err(StoreError::Conflict(format!("bank {new:?}")));
                }
                // The bank's own name follows its HMA name when the two were one.
                if bank.name == hma_name {
                    tx.execute("UPDATE banks SET name = $1 WHERE id = $2", &[new, &id]).map_err(backend)?;
                }
                tx.execute("UPDATE banks SET hma_name = $1 WHERE id = $2", &[new, &id]).map_err(backend)?;
            }
            if let Some(ratio) = update.enabled_ratio {
                tx.execute("UPDATE banks SET enabled_ratio = $1 WHERE id = $2", &[&ratio, &id])
                    .map_err(backend)?;
            }
            if let Some(threshold) = threshold {
                tx.execute("UPDATE banks SET pdq_threshold = $1 WHERE id = $2", &[&threshold, &id])
                    .map_err(backend)?;
            }
            log(tx, "bank", Some(id), None)?;
            let row = tx
                .query_one(&format!("SELECT {BANK_COLUMNS} FROM banks WHERE id = $1"), &[&id])
                .map_err(backend)?;
            bank_info(tx, bank_row(&row))
        })
    }

    fn add_bank_content(&mut self, hma_name: &str, content: &NewContent) -> Result<i64> {
        if content.signals.is_empty() {
            return Err(StoreError::Invalid("a content item needs at least one signal".into()));
        }
        self.write(|tx| {
            let Some(bank) = bank_id_by_hma_name(tx, hma_name)? else {
                return Err(StoreError::NotFound(format!("bank {hma_name:?}")));
            };
            let labels = labels_json(&content.labels);
            let now = UtcTime::now().unix_micros();
            // The item's id is its first entry's: taken first, so that every
            // entry is inserted with it.
            let id: i64 = tx
                .query_one("SELECT nextval(pg_get_serial_sequence('bank_entries', 'id'))", &[])
                .map_err(backend)?
                .get(0);
            for (i, (t, value)) in content.signals.iter().enumerate() {
                let first = if i == 0 { Some(id) } else { None };
                tx.execute(
                    "INSERT INTO bank_entries (id, bank_id, signal_type, value, labels, added_at, content_id)
                     VALUES (coalesce($1, nextval(pg_get_serial_sequence('bank_entries', 'id'))),
                             $2, $3, $4, $5, $6, $7)",
                    &[&first, &bank, &t.as_str(), value, &labels, &now, &id],
                )
                .map_err(|e| match e.code() {
                    Some(&SqlState::UNIQUE_VIOLATION) => {
                        StoreError::Invalid(format!("content item with two {t} signals"))
                    }
                    _ => backend(e),
                })?;
            }
            tx.execute(
                "INSERT INTO bank_content (id, note, metadata, disable_until_ts, original_media_uri)
                 VALUES ($1, $2, $3, $4, $5)",
                &[&id, &content.note, &content.metadata, &CONTENT_ENABLED, &content.original_media_uri],
            )
            .map_err(backend)?;
            Ok(id)
        })
    }

    fn bank_contents(&self, ids: &[i64]) -> Result<Vec<BankContent>> {
        self.in_snapshot(|| contents(&mut **self.db()?, ids))
    }

    fn update_bank_content(&mut self, id: i64, update: &ContentUpdate) -> Result<Option<BankContent>> {
        self.write(|tx| {
            let Some(existing) = contents(tx, &[id])?.pop() else {
                return Ok(None);
            };
            tx.execute(
                "INSERT INTO bank_content (id, note, metadata, disable_until_ts, original_media_uri)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
                &[
                    &id,
                    &existing.note,
                    &existing.metadata,
                    &existing.disable_until_ts,
                    &existing.original_media_uri,
                ],
            )
            .map_err(backend)?;
            if let Some(ts) = update.disable_until_ts {
                tx.execute("UPDATE bank_content SET disable_until_ts = $1 WHERE id = $2", &[&ts, &id])
                    .map_err(backend)?;
            }
            if let Some(note) = &update.note {
                tx.execute("UPDATE bank_content SET note = $1 WHERE id = $2", &[note, &id])
                    .map_err(backend)?;
            }
            log(tx, "content", Some(existing.bank_id.0), Some(id))?;
            Ok(contents(tx, &[id])?.pop())
        })
    }

    fn remove_bank_content(&mut self, hma_name: &str, id: i64) -> Result<u64> {
        self.write(|tx| {
            if bank_id_by_hma_name(tx, hma_name)?.is_none() {
                return Err(StoreError::NotFound(format!("bank {hma_name:?}")));
            }
            // As HMA does, the content is looked up by its id alone.
            let owner: Option<i64> = tx
                .query_opt(
                    "SELECT bank_id FROM bank_entries
                     WHERE content_id = $1 OR (content_id IS NULL AND id = $1) LIMIT 1",
                    &[&id],
                )
                .map_err(backend)?
                .map(|r| r.get(0));
            let Some(owner) = owner else {
                return Ok(0);
            };
            keep_max_entry_id(tx)?;
            tx.execute(
                "DELETE FROM matches WHERE entry_id IN
                     (SELECT id FROM bank_entries WHERE content_id = $1 OR (content_id IS NULL AND id = $1))",
                &[&id],
            )
            .map_err(backend)?;
            tx.execute(
                "DELETE FROM bank_entries WHERE content_id = $1 OR (content_id IS NULL AND id = $1)",
                &[&id],
            )
            .map_err(backend)?;
            tx.execute("DELETE FROM bank_content WHERE id = $1", &[&id]).map_err(backend)?;
            bump_generation(tx)?;
            log(tx, "content_deleted", Some(owner), Some(id))?;
            Ok(1)
        })
    }

    fn bank_settings(&self) -> Result<Vec<(BankId, String, BankSettings)>> {
        // By name in code point order, as SQLite's BINARY collation.
        let rows = self
            .db()?
            .query(&format!("SELECT {BANK_COLUMNS} FROM banks ORDER BY name COLLATE \"C\""), &[])
            .map_err(backend)?;
        Ok(rows
            .iter()
            .map(|r| {
                let row = bank_row(r);
                let settings = settings_of(&row);
                (BankId(row.0), row.1, settings)
            })
            .collect())
    }

    fn served_entries(&self, after_id: i64, visit: &mut dyn FnMut(ServedEntry) -> Result<()>) -> Result<()> {
        let mut c = self.db()?;
        let mut rows = c
            .query_raw(
                "SELECT e.id, b.name, e.signal_type, e.value, e.labels, e.added_at, e.bank_id,
                        coalesce(e.content_id, e.id), coalesce(c.disable_until_ts, 1)
                 FROM bank_entries e JOIN banks b ON b.id = e.bank_id
                 LEFT JOIN bank_content c ON c.id = coalesce(e.content_id, e.id)
                 WHERE e.id > $1 ORDER BY e.id",
                [&after_id as &(dyn ToSql + Sync)],
            )
            .map_err(backend)?;
        while let Some(r) = rows.next().map_err(backend)? {
            let id: i64 = r.get(0);
            let entry = BankEntry {
                id: EntryId(id),
                bank: r.get(1),
                signal_type: signal(r.get(2))?,
                value: r.get(3),
                labels: labels_of(id, r.get(4))?,
                added_at: time(r.get(5))?,
            };
            visit(ServedEntry {
                entry,
                bank_id: BankId(r.get(6)),
                content_id: r.get(7),
                disable_until_ts: r.get(8),
            })?;
        }
        Ok(())
    }

    fn bank_cursor(&self) -> Result<BankCursor> {
        // One statement: one snapshot. The log is never pruned, so its
        // largest sequence number is the last ever given.
        let r = self
            .db()?
            .query_one(&format!("SELECT {MAX_ENTRY_ID}, (SELECT coalesce(max(seq), 0) FROM bank_log)"), &[])
            .map_err(backend)?;
        Ok(BankCursor { max_entry_id: r.get(0), log_seq: r.get(1) })
    }

    fn bank_log(&self, after_seq: i64) -> Result<Vec<BankLogRecord>> {
        let rows = self
            .db()?
            .query(
                "SELECT seq, kind, bank_id, content_id FROM bank_log WHERE seq > $1 ORDER BY seq",
                &[&after_seq],
            )
            .map_err(backend)?;
        rows.iter()
            .map(|r| {
                let (seq, kind, bank, content): (i64, &str, Option<i64>, Option<i64>) =
                    (r.get(0), r.get(1), r.get(2), r.get(3));
                let bad = || StoreError::Corrupt {
                    record: format!("bank log record {seq}"),
                    problem: format!("kind {kind:?} without its bank or content"),
                };
                let change = match kind {
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

    fn signal_type_ratios(&self) -> Result<BTreeMap<String, f64>> {
        let rows =
            self.db()?.query("SELECT name, enabled_ratio FROM signal_type_config", &[]).map_err(backend)?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn set_signal_type_ratio(&mut self, name: &str, ratio: f64) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO signal_type_config (name, enabled_ratio) VALUES ($1, $2)
                 ON CONFLICT (name) DO UPDATE SET enabled_ratio = excluded.enabled_ratio",
                &[&name, &ratio],
            )
            .map_err(backend)?;
            log(tx, "signal_types", None, None)
        })
    }
}
