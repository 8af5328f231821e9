//! Hash banks, their entries and the matches found against them
//! (BankStore), and the bank helpers the curation module shares.
//!
//! Bulk inserts (an import's chunks, added entries, found matches) are one
//! statement per chunk of rows: the rows' columns are bound as arrays and
//! unnested in their order, `ON CONFLICT DO NOTHING` leaves the rows held
//! already, and the statement's row count is how many were new.
//!
//! Entry ids are identity values: they only grow, but a sequence is not
//! transactional (an id spent by a transaction still running, or rolled
//! back, is gone all the same), so "the largest id ever given" is not read
//! from it: it is the largest id stored, or the mark `max_entry_id` in
//! `meta` that every removal of entries leaves first, whichever is larger.
//! A follower therefore never sees an id that a transaction not yet
//! committed holds (writers take ids one transaction at a time, under the
//! writer lock, so a committed id is never below one seen before).

use std::collections::{BTreeMap, HashMap};

use marsad_core::{BankId, EntryId, Md5, PostId, SignalType, UtcTime};
use marsad_store::{
    BankEntry, BankInfo, BankSettings, BankState, EntryFilter, ItemRef, MatchableItem, MatchedItem,
    NewBankEntry, NewFingerprint, NewMatch, Result, StoreError, StoredMatch,
};
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;
use postgres::{Client, GenericClient, Row, Transaction};

use crate::{PgStore, backend, sha, source_key, time, variant};

/// Rows per statement of a bulk insert.
const CHUNK: usize = 10_000;

/// A stored signal type, or an error naming it.
pub(crate) fn signal(s: &str) -> Result<SignalType> {
    SignalType::parse(s).ok_or_else(|| StoreError::Backend(format!("store holds unknown signal type {s:?}")))
}

/// Labels as stored: a JSON object of strings.
pub(crate) fn labels_json(labels: &BTreeMap<String, String>) -> String {
    serde_json::to_string(labels).unwrap_or_else(|_| "{}".to_owned())
}

/// The stored labels of a bank entry, or an error naming the entry.
pub(crate) fn labels_of(entry: i64, text: &str) -> Result<BTreeMap<String, String>> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
        record: format!("bank entry {entry}"),
        problem: format!("labels {text:?} are not a JSON object of strings: {e}"),
    })
}

/// The columns of `banks` that [`bank_row`] reads, in its order.
pub(crate) const BANK_COLUMNS: &str = "id, name, created_at, hma_name, enabled_ratio, pdq_threshold";

/// A bank's row as [`BANK_COLUMNS`] reads it.
pub(crate) type BankRow = (i64, String, i64, Option<String>, f64, Option<i32>);

/// A bank's row, read with [`BANK_COLUMNS`] first.
pub(crate) fn bank_row(r: &Row) -> BankRow {
    (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5))
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

/// A bank's row with its entries counted by signal type.
pub(crate) fn bank_info(c: &mut impl GenericClient, row: BankRow) -> Result<BankInfo> {
    let rows = c
        .query(
            "SELECT signal_type, count(*) FROM bank_entries WHERE bank_id = $1 GROUP BY signal_type",
            &[&row.0],
        )
        .map_err(backend)?;
    let mut entries = BTreeMap::new();
    for r in rows {
        entries.insert(signal(r.get(0))?, r.get::<_, i64>(1) as u64);
    }
    to_info(row, entries)
}

/// A bank's info from its row and its counts.
fn to_info(row: BankRow, entries: BTreeMap<SignalType, u64>) -> Result<BankInfo> {
    let settings = settings_of(&row);
    let (id, name, created, ..) = row;
    Ok(BankInfo { id: BankId(id), name, created_at: time(created)?, entries, settings })
}

/// Gives a bank its HMA name: the one made from its name, with `_2`, `_3`…
/// when that is taken.
pub(crate) fn assign_hma_name(tx: &mut Transaction<'_>, id: i64, name: &str) -> Result<String> {
    let base = marsad_store::hma_name_of(name);
    let mut candidate = base.clone();
    let mut n = 1;
    loop {
        let taken: bool = tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM banks WHERE hma_name = $1 AND id <> $2)",
                &[&candidate, &id],
            )
            .map_err(backend)?
            .get(0);
        if !taken {
            break;
        }
        n += 1;
        candidate = format!("{base}_{n}");
    }
    tx.execute("UPDATE banks SET hma_name = $1 WHERE id = $2", &[&candidate, &id]).map_err(backend)?;
    Ok(candidate)
}

/// Appends a record to the bank change log.
pub(crate) fn log(
    tx: &mut Transaction<'_>,
    kind: &str,
    bank: Option<i64>,
    content: Option<i64>,
) -> Result<()> {
    tx.execute(
        "INSERT INTO bank_log (kind, bank_id, content_id, at) VALUES ($1, $2, $3, $4)",
        &[&kind, &bank, &content, &UtcTime::now().unix_micros()],
    )
    .map_err(backend)?;
    Ok(())
}

/// Changes the bank generation (entries were removed).
pub(crate) fn bump_generation(tx: &mut Transaction<'_>) -> Result<()> {
    tx.execute("UPDATE meta SET value = value + 1 WHERE key = 'bank_generation'", &[]).map_err(backend)?;
    Ok(())
}

/// The largest entry id ever given, 0 before the first (see the module
/// documentation), as an SQL expression.
pub(crate) const MAX_ENTRY_ID: &str = "greatest(
    (SELECT coalesce(max(id), 0) FROM bank_entries),
    (SELECT coalesce(max(value), 0) FROM meta WHERE key = 'max_entry_id'))";

/// Records the largest entry id given so far in `meta`, before entries are
/// removed (the largest might be among them).
pub(crate) fn keep_max_entry_id(tx: &mut Transaction<'_>) -> Result<()> {
    tx.execute(
        "INSERT INTO meta (key, value) SELECT 'max_entry_id', coalesce(max(id), 0) FROM bank_entries
         ON CONFLICT (key) DO UPDATE SET value = greatest(meta.value, excluded.value)",
        &[],
    )
    .map_err(backend)?;
    Ok(())
}

/// Inserts a bank with its HMA name and logs it; `None` if the name is taken.
fn insert_bank(tx: &mut Transaction<'_>, name: &str, now: i64) -> Result<Option<(i64, String)>> {
    let added = tx
        .query_opt(
            "INSERT INTO banks (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING id",
            &[&name, &now],
        )
        .map_err(backend)?;
    let Some(row) = added else { return Ok(None) };
    let id: i64 = row.get(0);
    let hma = assign_hma_name(tx, id, name)?;
    log(tx, "bank", Some(id), None)?;
    Ok(Some((id, hma)))
}

/// The id of the bank of that name.
fn bank_id(tx: &mut Transaction<'_>, bank: &str) -> Result<Option<i64>> {
    Ok(tx.query_opt("SELECT id FROM banks WHERE name = $1", &[&bank]).map_err(backend)?.map(|r| r.get(0)))
}

/// Adds entries to a bank, one statement per [`CHUNK`], in their order (the
/// first of two equal entries is the one kept); returns how many were new.
fn insert_entries(
    tx: &mut Transaction<'_>,
    bank: i64,
    added_at: i64,
    entries: &[NewBankEntry],
) -> Result<u64> {
    if entries.is_empty() {
        return Ok(0);
    }
    let insert = tx
        .prepare(
            "INSERT INTO bank_entries (bank_id, signal_type, value, labels, added_at)
             SELECT $1::bigint, u.signal_type, u.value, u.labels, $2::bigint
             FROM UNNEST($3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS u (signal_type, value, labels, n)
             ORDER BY u.n
             ON CONFLICT (bank_id, signal_type, value) WHERE content_id IS NULL DO NOTHING",
        )
        .map_err(backend)?;
    let mut added = 0;
    for chunk in entries.chunks(CHUNK) {
        let types: Vec<&str> = chunk.iter().map(|e| e.signal_type.as_str()).collect();
        let values: Vec<&str> = chunk.iter().map(|e| e.value.as_str()).collect();
        let labels: Vec<String> = chunk.iter().map(|e| labels_json(&e.labels)).collect();
        added += tx.execute(&insert, &[&bank, &added_at, &types, &values, &labels]).map_err(backend)?;
    }
    Ok(added)
}

/// A bank import: one transaction, holding the writer lock, from the bank's
/// creation to the last entry, rolled back when dropped uncommitted.
/// Entries are inserted as they come (the caller streams the file in
/// chunks), so memory stays that of one chunk.
struct Import<'a> {
    tx: Transaction<'a>,
    bank: i64,
    created: bool,
    added_at: i64,
    /// The busy timeout, for [`StoreError::Busy`].
    busy_seconds: u64,
}

impl<'a> Import<'a> {
    fn begin(store: &'a mut PgStore, bank: &str, create: bool) -> Result<Self> {
        let busy_seconds = store.busy_timeout.as_secs().max(1);
        let busy = |e: StoreError| match e {
            StoreError::Busy { .. } => StoreError::Busy { seconds: busy_seconds },
            other => other,
        };
        let mut tx = store.client.get_mut().transaction().map_err(backend)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&crate::WRITER_LOCK])
            .map_err(|e| busy(backend(e)))?;
        let now = UtcTime::now().unix_micros();
        let (id, created) = match bank_id(&mut tx, bank)? {
            Some(id) => (id, false),
            None if create => match insert_bank(&mut tx, bank, now)? {
                Some((id, _)) => (id, true),
                None => return Err(StoreError::Conflict(format!("bank {bank:?}"))),
            },
            None => return Err(StoreError::NotFound(format!("bank {bank:?}"))),
        };
        Ok(Import { tx, bank: id, created, added_at: now, busy_seconds })
    }

    /// `e`, with the busy timeout when it is [`StoreError::Busy`].
    fn busy(&self, e: StoreError) -> StoreError {
        match e {
            StoreError::Busy { .. } => StoreError::Busy { seconds: self.busy_seconds },
            other => other,
        }
    }
}

impl marsad_store::BankImport for Import<'_> {
    fn created(&self) -> bool {
        self.created
    }

    fn add(&mut self, entries: &[NewBankEntry]) -> Result<u64> {
        insert_entries(&mut self.tx, self.bank, self.added_at, entries).map_err(|e| self.busy(e))
    }

    fn commit(self: Box<Self>) -> Result<()> {
        let seconds = self.busy_seconds;
        self.tx.commit().map_err(|e| match backend(e) {
            StoreError::Busy { .. } => StoreError::Busy { seconds },
            other => other,
        })
    }
}

/// The entry columns [`to_entry`] reads (`e` is `bank_entries`, `b` its bank).
const ENTRY_COLUMNS: &str = "e.id, b.name, e.signal_type, e.value, e.labels, e.added_at";

/// An entry read with [`ENTRY_COLUMNS`] from column `at` on.
fn to_entry(r: &Row, at: usize) -> Result<BankEntry> {
    let id: i64 = r.get(at);
    Ok(BankEntry {
        id: EntryId(id),
        bank: r.get(at + 1),
        signal_type: signal(r.get(at + 2))?,
        value: r.get(at + 3),
        labels: labels_of(id, r.get(at + 4))?,
        added_at: time(r.get(at + 5))?,
    })
}

/// Calls `visit` with every entry the filter selects, by increasing id.
pub(crate) fn bank_entries(
    c: &mut Client,
    filter: &EntryFilter,
    visit: &mut dyn FnMut(BankEntry) -> Result<()>,
) -> Result<()> {
    if filter.limit == Some(0)
        || filter.banks.as_ref().is_some_and(Vec::is_empty)
        || filter.ids.as_ref().is_some_and(Vec::is_empty)
    {
        return Ok(());
    }
    let after: i64 = filter.after_id.map_or(0, |id| id.0);
    let signal_type = filter.signal_type.map(SignalType::as_str);
    let ids: Option<Vec<i64>> = filter.ids.as_ref().map(|ids| ids.iter().map(|id| id.0).collect());
    let limit: Option<i64> = filter.limit.map(|n| n.min(i64::MAX as u64) as i64);
    let mut sql = format!(
        "SELECT {ENTRY_COLUMNS} FROM bank_entries e JOIN banks b ON b.id = e.bank_id WHERE e.id > $1"
    );
    let mut args: Vec<&(dyn ToSql + Sync)> = vec![&after];
    if let Some(t) = &signal_type {
        args.push(t);
        sql.push_str(&format!(" AND e.signal_type = ${}", args.len()));
    }
    if let Some(v) = &filter.value {
        args.push(v);
        sql.push_str(&format!(" AND e.value = ${}", args.len()));
    }
    if let Some(banks) = &filter.banks {
        args.push(banks);
        sql.push_str(&format!(" AND b.name = ANY(${})", args.len()));
    }
    if let Some(ids) = &ids {
        args.push(ids);
        sql.push_str(&format!(" AND e.id = ANY(${})", args.len()));
    }
    sql.push_str(" ORDER BY e.id");
    if let Some(n) = &limit {
        args.push(n);
        sql.push_str(&format!(" LIMIT ${}", args.len()));
    }
    let mut rows = c.query_raw(sql.as_str(), args.iter().copied()).map_err(backend)?;
    while let Some(r) = rows.next().map_err(backend)? {
        visit(to_entry(&r, 0)?)?;
    }
    Ok(())
}

/// The stored matches of these ids (every one when `None`), by id.
pub(crate) fn matches_where(c: &mut Client, ids: Option<&[i64]>) -> Result<Vec<StoredMatch>> {
    let sql = format!(
        "SELECT m.media_sha256, p.id, s.platform, s.platform_id, p.platform_post_id, p.posted_at,
                {ENTRY_COLUMNS},
                m.signal_type, m.distance, m.detail, m.matched_at, m.variant, m.id
         FROM matches m
         JOIN bank_entries e ON e.id = m.entry_id
         JOIN banks b ON b.id = e.bank_id
         LEFT JOIN posts p ON p.id = m.post_id
         LEFT JOIN sources s ON s.id = p.source_id
         {}
         ORDER BY m.id",
        if ids.is_some() { "WHERE m.id = ANY($1)" } else { "" }
    );
    let rows = match ids {
        Some(ids) => c.query(sql.as_str(), &[&ids]),
        None => c.query(sql.as_str(), &[]),
    }
    .map_err(backend)?;
    // The posts carrying each media item matched, in one statement.
    let mut media: Vec<&[u8]> = rows.iter().filter_map(|r| r.get::<_, Option<&[u8]>>(0)).collect();
    media.sort_unstable();
    media.dedup();
    let mut posts_of: HashMap<Vec<u8>, Vec<(marsad_core::SourceKey, String, UtcTime)>> = HashMap::new();
    if !media.is_empty() {
        let posts = c
            .query(
                "SELECT d.sha256, d.platform, d.platform_id, d.post, d.posted_at
                 FROM (SELECT DISTINCT pm.media_sha256 AS sha256, s.platform, s.platform_id,
                              p.platform_post_id AS post, p.posted_at
                       FROM post_media pm JOIN posts p ON p.id = pm.post_id JOIN sources s ON s.id = p.source_id
                       WHERE pm.media_sha256 = ANY($1)) d
                 ORDER BY d.sha256, d.posted_at, d.platform COLLATE \"C\", d.platform_id COLLATE \"C\",
                          d.post COLLATE \"C\"",
                &[&media],
            )
            .map_err(backend)?;
        for p in posts {
            let post = (source_key(p.get(1), p.get(2))?, p.get(3), time(p.get(4))?);
            posts_of.entry(p.get(0)).or_default().push(post);
        }
    }
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let item = match r.get::<_, Option<&[u8]>>(0) {
            Some(bytes) => MatchedItem::Media {
                sha256: sha(bytes)?,
                posts: posts_of.get(bytes).cloned().unwrap_or_default(),
            },
            None => MatchedItem::Post {
                source: source_key(r.get(2), r.get(3))?,
                post_id: r.get(4),
                posted_at: time(r.get(5))?,
            },
        };
        let id: i64 = r.get(17);
        out.push(StoredMatch {
            id,
            item,
            entry: to_entry(r, 6)?,
            signal_type: signal(r.get(12))?,
            distance: r.get(13),
            detail: r.get(14),
            matched_at: time(r.get(15))?,
            variant: variant(r.get(16), || format!("match {id}"))?,
        });
    }
    Ok(out)
}

/// A stored fingerprint quality, or an error naming `record`.
fn quality(q: Option<i32>, record: impl FnOnce() -> String) -> Result<Option<u8>> {
    q.map(|q| {
        u8::try_from(q).map_err(|_| StoreError::Corrupt { record: record(), problem: format!("quality {q}") })
    })
    .transpose()
}

/// Every media item with its digests and fingerprints, then every post
/// with text fingerprints and its text: read in one statement each, rows
/// grouped by item.
fn matchable_items(c: &mut Client, visit: &mut dyn FnMut(MatchableItem) -> Result<()>) -> Result<()> {
    let mut rows = c
        .query_raw(
            "SELECT m.sha256, m.md5, f.signal_type, f.value, f.quality, f.variant
             FROM media m LEFT JOIN fingerprints f ON f.media_sha256 = m.sha256
             ORDER BY m.sha256, f.id",
            std::iter::empty::<&(dyn ToSql + Sync)>(),
        )
        .map_err(backend)?;
    let mut current: Option<MatchableItem> = None;
    while let Some(r) = rows.next().map_err(backend)? {
        let sha256 = sha(r.get(0))?;
        let item = ItemRef::Media(sha256);
        let mut open = match current.take() {
            Some(c) if c.item == item => c,
            other => {
                if let Some(done) = other {
                    visit(done)?;
                }
                let md5: [u8; 16] = r.get::<_, &[u8]>(1).try_into().map_err(|_| {
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
        if let Some(t) = r.get::<_, Option<&str>>(2) {
            let record = || format!("{t} fingerprint of media {}", sha256.to_hex());
            open.fingerprints.push(NewFingerprint {
                signal_type: signal(t)?,
                value: r.get(3),
                quality: quality(r.get(4), record)?,
                variant: variant(r.get(5), record)?,
            });
        }
        current = Some(open);
    }
    if let Some(done) = current.take() {
        visit(done)?;
    }
    drop(rows);
    let mut rows = c
        .query_raw(
            "SELECT f.post_id, f.signal_type, f.value, f.quality, p.text, f.variant
             FROM fingerprints f JOIN posts p ON p.id = f.post_id
             WHERE f.post_id IS NOT NULL
             ORDER BY f.post_id, f.id",
            std::iter::empty::<&(dyn ToSql + Sync)>(),
        )
        .map_err(backend)?;
    let mut current: Option<MatchableItem> = None;
    while let Some(r) = rows.next().map_err(backend)? {
        let post: i64 = r.get(0);
        let item = ItemRef::Post(PostId(post));
        let mut open = match current.take() {
            Some(c) if c.item == item => c,
            other => {
                if let Some(done) = other {
                    visit(done)?;
                }
                MatchableItem { item, fingerprints: Vec::new(), text: Some(r.get(4)) }
            }
        };
        let t: &str = r.get(1);
        let record = || format!("{t} fingerprint of post {post}");
        open.fingerprints.push(NewFingerprint {
            signal_type: signal(t)?,
            value: r.get(2),
            quality: quality(r.get(3), record)?,
            variant: variant(r.get(5), record)?,
        });
        current = Some(open);
    }
    if let Some(done) = current.take() {
        visit(done)?;
    }
    Ok(())
}

/// Stores matches of stored items, one statement per [`CHUNK`], in their
/// order (the first of two matches of one item and entry is the one kept),
/// leaving out those held already and the pairs on the ignore list (as
/// SQLite's `review::NOT_IGNORED`); returns how many were new. A match of
/// an entry or item that does not exist fails the statement.
fn insert_matches(tx: &mut Transaction<'_>, matches: &[(ItemRef, NewMatch)]) -> Result<u64> {
    if matches.is_empty() {
        return Ok(0);
    }
    let insert = tx
        .prepare(
            "INSERT INTO matches
                    (media_sha256, post_id, entry_id, signal_type, distance, detail, matched_at, variant)
             SELECT u.media, u.post, u.entry, u.signal_type, u.distance, u.detail, $8::bigint, u.variant
             FROM UNNEST($1::bytea[], $2::bigint[], $3::bigint[], $4::text[], $5::float8[], $6::text[],
                         $7::text[])
                  WITH ORDINALITY AS u (media, post, entry, signal_type, distance, detail, variant, n)
             WHERE NOT EXISTS (
                 SELECT 1 FROM ignored_matches i
                 JOIN bank_entries e ON e.id = u.entry JOIN banks b ON b.id = e.bank_id
                 WHERE i.bank = b.name AND i.signal_type = e.signal_type AND i.value = e.value
                   AND (i.media_sha256 = u.media OR i.post_id = u.post))
             ORDER BY u.n
             ON CONFLICT DO NOTHING",
        )
        .map_err(backend)?;
    let now = UtcTime::now().unix_micros();
    let mut added = 0;
    for chunk in matches.chunks(CHUNK) {
        let mut media: Vec<Option<&[u8]>> = Vec::with_capacity(chunk.len());
        let mut posts: Vec<Option<i64>> = Vec::with_capacity(chunk.len());
        for (item, _) in chunk {
            match item {
                ItemRef::Media(sha256) => {
                    media.push(Some(sha256.0.as_slice()));
                    posts.push(None);
                }
                ItemRef::Post(id) => {
                    media.push(None);
                    posts.push(Some(id.0));
                }
            }
        }
        let entries: Vec<i64> = chunk.iter().map(|(_, m)| m.entry_id.0).collect();
        let types: Vec<&str> = chunk.iter().map(|(_, m)| m.signal_type.as_str()).collect();
        let distances: Vec<f64> = chunk.iter().map(|(_, m)| m.distance).collect();
        let details: Vec<Option<&str>> = chunk.iter().map(|(_, m)| m.detail.as_deref()).collect();
        let variants: Vec<Option<&str>> = chunk.iter().map(|(_, m)| m.variant.map(|v| v.as_str())).collect();
        added += tx
            .execute(&insert, &[&media, &posts, &entries, &types, &distances, &details, &variants, &now])
            .map_err(backend)?;
    }
    Ok(added)
}

impl marsad_store::BankStore for PgStore {
    fn create_bank(&mut self, name: &str) -> Result<BankInfo> {
        let now = UtcTime::now();
        let (id, hma_name) = self.write(|tx| {
            insert_bank(tx, name, now.unix_micros())?
                .ok_or_else(|| StoreError::Conflict(format!("bank {name:?}")))
        })?;
        Ok(BankInfo {
            id: BankId(id),
            name: name.to_owned(),
            created_at: now,
            entries: BTreeMap::new(),
            settings: BankSettings { hma_name, ..BankSettings::default() },
        })
    }

    fn banks(&self) -> Result<Vec<BankInfo>> {
        self.in_snapshot(|| {
            let mut c = self.db()?;
            // By name in code point order, as SQLite's BINARY collation.
            let banks = c
                .query(&format!("SELECT {BANK_COLUMNS} FROM banks ORDER BY name COLLATE \"C\""), &[])
                .map_err(backend)?;
            let counts = c
                .query(
                    "SELECT bank_id, signal_type, count(*) FROM bank_entries GROUP BY bank_id, signal_type",
                    &[],
                )
                .map_err(backend)?;
            let mut by_bank: HashMap<i64, BTreeMap<SignalType, u64>> = HashMap::new();
            for r in counts {
                by_bank.entry(r.get(0)).or_default().insert(signal(r.get(1))?, r.get::<_, i64>(2) as u64);
            }
            banks
                .iter()
                .map(|r| {
                    let row = bank_row(r);
                    let entries = by_bank.remove(&row.0).unwrap_or_default();
                    to_info(row, entries)
                })
                .collect()
        })
    }

    fn delete_bank(&mut self, name: &str) -> Result<bool> {
        self.write(|tx| {
            let Some(id) = bank_id(tx, name)? else { return Ok(false) };
            keep_max_entry_id(tx)?;
            // Explicitly, in this order, rather than by cascade, as SQLite's.
            tx.execute(
                "DELETE FROM matches WHERE entry_id IN (SELECT id FROM bank_entries WHERE bank_id = $1)",
                &[&id],
            )
            .map_err(backend)?;
            tx.execute(
                "DELETE FROM bank_content WHERE id IN (SELECT content_id FROM bank_entries WHERE bank_id = $1)
                    OR id IN (SELECT id FROM bank_entries WHERE bank_id = $1)",
                &[&id],
            )
            .map_err(backend)?;
            tx.execute("DELETE FROM bank_entries WHERE bank_id = $1", &[&id]).map_err(backend)?;
            tx.execute("DELETE FROM banks WHERE id = $1", &[&id]).map_err(backend)?;
            log(tx, "bank_deleted", Some(id), None)?;
            bump_generation(tx)?;
            Ok(true)
        })
    }

    fn add_bank_entries(&mut self, bank: &str, entries: &[NewBankEntry]) -> Result<u64> {
        self.write(|tx| {
            let Some(id) = bank_id(tx, bank)? else {
                return Err(StoreError::NotFound(format!("bank {bank:?}")));
            };
            insert_entries(tx, id, UtcTime::now().unix_micros(), entries)
        })
    }

    fn begin_bank_import<'a>(
        &'a mut self,
        bank: &str,
        create: bool,
    ) -> Result<Box<dyn marsad_store::BankImport + 'a>> {
        Ok(Box::new(Import::begin(self, bank, create)?))
    }

    fn bank_entries(
        &self,
        filter: &EntryFilter,
        visit: &mut dyn FnMut(BankEntry) -> Result<()>,
    ) -> Result<()> {
        bank_entries(&mut *self.db()?, filter, visit)
    }

    fn bank_state(&self) -> Result<BankState> {
        // One statement: one snapshot.
        let r = self
            .db()?
            .query_one(
                &format!(
                    "SELECT (SELECT value FROM meta WHERE key = 'bank_generation'), {MAX_ENTRY_ID},
                            (SELECT count(*) FROM bank_entries)"
                ),
                &[],
            )
            .map_err(backend)?;
        let generation: Option<i64> = r.get(0);
        let max_entry_id: i64 = r.get(1);
        let entries: i64 = r.get(2);
        Ok(BankState {
            generation: generation
                .ok_or_else(|| StoreError::Backend("corrupt store: no bank generation".into()))?,
            max_entry_id: (max_entry_id > 0).then_some(EntryId(max_entry_id)),
            entries: entries as u64,
        })
    }

    fn matches(&self) -> Result<Vec<StoredMatch>> {
        matches_where(&mut *self.db()?, None)
    }

    fn matchable_items(&self, visit: &mut dyn FnMut(MatchableItem) -> Result<()>) -> Result<()> {
        matchable_items(&mut *self.db()?, visit)
    }

    fn add_matches(&mut self, matches: &[(ItemRef, NewMatch)]) -> Result<u64> {
        self.write(|tx| insert_matches(tx, matches))
    }
}

#[cfg(test)]
mod tests {
    use marsad_core::Sha256;
    use marsad_store::BankStore;
    use postgres::NoTls;

    use super::*;
    use crate::ScratchStore;

    fn md5_entry(i: u32) -> NewBankEntry {
        NewBankEntry { signal_type: SignalType::Md5, value: format!("{i:032x}"), labels: BTreeMap::new() }
    }

    fn max_id(store: &PgStore) -> Option<EntryId> {
        store.bank_state().expect("state").max_entry_id
    }

    #[test]
    fn the_largest_entry_id_counts_committed_entries_and_survives_their_removal() {
        let scratch = ScratchStore::new().expect("the test database");
        let mut store = scratch.open().expect("open");
        let mut import = store.begin_bank_import("b", true).expect("begin");
        assert_eq!(import.add(&[md5_entry(1), md5_entry(2), md5_entry(1)]).expect("add"), 2);
        drop(import);
        assert_eq!(max_id(&store), None, "ids of an import rolled back were never given");
        store.create_bank("b").expect("create");
        assert_eq!(store.add_bank_entries("b", &[md5_entry(1), md5_entry(2)]).expect("add"), 2);
        let last = max_id(&store).expect("an entry");
        assert!(store.delete_bank("b").expect("delete"));
        assert_eq!(max_id(&store), Some(last), "kept after its entry is gone");
        store.create_bank("c").expect("create");
        store.add_bank_entries("c", &[md5_entry(3)]).expect("add");
        assert!(max_id(&store) > Some(last), "ids only grow");
    }

    #[test]
    fn matches_leave_out_ignored_pairs_and_keep_the_first_of_two() {
        let scratch = ScratchStore::new().expect("the test database");
        let mut store = scratch.open().expect("open");
        store.create_bank("known").expect("create");
        store.add_bank_entries("known", &[md5_entry(1), md5_entry(2)]).expect("add");
        let mut ids = Vec::new();
        store
            .bank_entries(&EntryFilter::default(), &mut |e| {
                ids.push(e.id);
                Ok(())
            })
            .expect("entries");
        let sha = Sha256([7; 32]);
        let mut c = scratch.url().parse::<postgres::Config>().expect("url").connect(NoTls).expect("connect");
        c.batch_execute(
            "INSERT INTO media (sha256, md5, kind, byte_size, original_path)
                 VALUES (decode(repeat('07', 32), 'hex'), decode(repeat('07', 16), 'hex'), 'image', 1, 'a.jpg');
             INSERT INTO sources (platform, platform_id, name, kind) VALUES ('telegram', '1', 'One', 'channel');
             INSERT INTO posts (source_id, platform_post_id, posted_at) SELECT id, '9', 5000000 FROM sources;
             INSERT INTO post_media (post_id, position, kind, path, media_sha256)
                 SELECT id, 0, 'image', 'a.jpg', decode(repeat('07', 32), 'hex') FROM posts;
             INSERT INTO review_decisions (kind, target, verdict, actor, at) VALUES ('match', 1, 'reject', 'mod', 0);
             INSERT INTO ignored_matches (media_sha256, bank, signal_type, value, decision_id)
                 SELECT decode(repeat('07', 32), 'hex'), 'known', 'md5', repeat('0', 31) || '1', id
                 FROM review_decisions",
        )
        .expect("items and an ignored pair");
        let found = |entry: EntryId, distance: f64| {
            (
                ItemRef::Media(sha),
                NewMatch {
                    entry_id: entry,
                    signal_type: SignalType::Md5,
                    distance,
                    detail: None,
                    variant: None,
                },
            )
        };
        let batch = [found(ids[0], 0.0), found(ids[1], 1.0), found(ids[1], 2.0)];
        assert_eq!(
            store.add_matches(&batch).expect("add"),
            1,
            "the ignored pair and the second of two left out"
        );
        assert_eq!(store.add_matches(&batch).expect("again"), 0);
        assert!(store.add_matches(&[found(EntryId(ids[1].0 + 100), 0.0)]).is_err(), "no such entry");
        let listed = store.matches().expect("matches");
        assert_eq!(listed.len(), 1);
        assert_eq!((listed[0].entry.id, listed[0].distance), (ids[1], 1.0));
        match &listed[0].item {
            MatchedItem::Media { sha256, posts } => {
                assert_eq!(*sha256, sha);
                assert_eq!(posts.iter().map(|p| p.1.as_str()).collect::<Vec<_>>(), ["9"]);
            }
            other => panic!("a media match, not {other:?}"),
        }
        assert_eq!(matches_where(&mut c, Some(&[listed[0].id, 999])).expect("by id"), listed);
    }
}
