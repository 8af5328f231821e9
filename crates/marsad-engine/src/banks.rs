//! Hash banks: create, list, delete, import and export.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};

use marsad_core::SignalType;
use marsad_match::bankfile::{self, Format, LineError};
use marsad_store::{EntryFilter, StoreError};
use serde::Serialize;

use crate::Engine;
use crate::error::{EngineError, Result, invalid};

/// `marsad bank create --json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BankCreated {
    /// When it was created.
    pub created_at: String,
    /// Its name.
    pub name: String,
}

/// `marsad bank list --json`: one bank.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct BankRow {
    /// When it was created.
    pub created_at: String,
    /// Entries per signal type.
    #[schema(value_type = BTreeMap<String, u64>)]
    pub entries: BTreeMap<&'static str, u64>,
    /// Its name in HMA's API (`marsad serve`).
    pub hma_name: String,
    /// Its name.
    pub name: String,
    /// Entries in all.
    pub total: u64,
}

/// `marsad bank delete --json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BankDeleted {
    /// The bank deleted.
    pub deleted: String,
}

/// `marsad bank import --json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BankImported {
    /// Entries new to the bank.
    pub added: u64,
    /// The bank.
    pub bank: String,
    /// Valid entries read.
    pub entries: u64,
    /// The first invalid lines.
    pub errors: Vec<LineError>,
    /// Invalid lines in all.
    pub errors_total: u64,
    /// Entries the bank already held.
    pub existing: u64,
    /// The file as given.
    pub file: String,
    /// Lines read.
    pub lines: u64,
    /// Whether a bank made for this import was removed again because
    /// nothing was imported into it.
    #[serde(skip)]
    pub discarded: bool,
}

/// What to import, and into which bank.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BankImport<'a> {
    /// The bank.
    pub name: &'a str,
    /// The input's name, for messages (`-` for standard input).
    pub file: &'a str,
    /// The file's format.
    pub format: Format,
    /// The signal type of every line (CSV needs it; JSON lines say it).
    pub signal_type: Option<SignalType>,
    /// Create the bank when it does not exist.
    pub create: bool,
}

/// A bank name: 1–128 characters, no control characters, not only spaces.
pub fn check_bank_name(name: &str) -> Result<()> {
    if name.trim().is_empty() || name.chars().count() > 128 || name.chars().any(char::is_control) {
        return Err(invalid!("invalid bank name {name:?}: use 1 to 128 printable characters"));
    }
    Ok(())
}

impl Engine {
    /// Creates an empty bank.
    pub fn create_bank(&mut self, name: &str) -> Result<BankCreated> {
        check_bank_name(name)?;
        match self.store_mut().create_bank(name) {
            Err(StoreError::Conflict(_)) => {
                Err(EngineError::Conflict(format!("bank {name:?} already exists")))
            }
            Err(e) => Err(e.into()),
            Ok(b) => Ok(BankCreated { created_at: b.created_at.to_rfc3339(), name: b.name }),
        }
    }

    /// Every bank with its entry counts, by name.
    pub fn banks(&self) -> Result<Vec<BankRow>> {
        Ok(self
            .store()
            .banks()?
            .into_iter()
            .map(|b| BankRow {
                created_at: b.created_at.to_rfc3339(),
                total: b.entries.values().sum(),
                entries: b.entries.iter().map(|(t, n)| (t.as_str(), *n)).collect(),
                hma_name: b.settings.hma_name,
                name: b.name,
            })
            .collect())
    }

    /// Deletes a bank with its entries and their matches.
    pub fn delete_bank(&mut self, name: &str) -> Result<BankDeleted> {
        if !self.store_mut().delete_bank(name)? {
            return Err(EngineError::NotFound(format!("no bank named {name:?}")));
        }
        Ok(BankDeleted { deleted: name.to_owned() })
    }

    /// Imports the bank file read from `reader` as `req` says, all or
    /// nothing: the bank's creation and every entry are one transaction,
    /// which waits for other writers up to the store's busy timeout. A bank
    /// made for this import and left empty by it is not kept (`discarded`
    /// in the result), and a failed import leaves the store as it was.
    pub fn import_bank(&mut self, req: &BankImport<'_>, reader: &mut dyn BufRead) -> Result<BankImported> {
        let BankImport { name, file, format, signal_type, create } = *req;
        if format == Format::Csv && signal_type.is_none() {
            return Err(invalid!("a CSV bank file needs --type (pdq, vpdq, md5, sha256, audio or text)"));
        }
        let nothing = |e: StoreError| match e {
            StoreError::Busy { seconds } => EngineError::step(
                format!("importing {file} into bank {name:?}"),
                format!(
                    "the store is locked by another writer (an ingest, another bank import?) for more than \
                     {seconds} s: nothing was imported (wait for it to finish, or raise MARSAD_BUSY_TIMEOUT)"
                ),
            ),
            other => EngineError::step(format!("importing {file}: nothing was imported"), other),
        };
        let valid_name = check_bank_name(name);
        let mut import = match self.store_mut().begin_bank_import(name, create && valid_name.is_ok()) {
            Err(StoreError::NotFound(_)) if create => {
                return Err(valid_name
                    .err()
                    .unwrap_or_else(|| EngineError::NotFound(format!("no bank named {name:?}"))));
            }
            Err(StoreError::NotFound(_)) => {
                return Err(EngineError::NotFound(format!(
                    "no bank named {name:?} (create it with: marsad bank create {name}, or pass --create)"
                )));
            }
            Err(e) => return Err(nothing(e)),
            Ok(import) => import,
        };
        let mut added = 0u64;
        let report = bankfile::read(reader, format, signal_type, |chunk| {
            added += import.add(chunk)?;
            Ok::<(), StoreError>(())
        });
        let report = match report {
            Ok(r) => r,
            // Dropping the import rolls it back: nothing was imported.
            Err(bankfile::ReadError::Sink(e)) => return Err(nothing(e)),
            Err(e) => return Err(EngineError::step(format!("importing {file}: nothing was imported"), e)),
        };
        let discarded = import.created() && report.entries == 0;
        if !discarded {
            import.commit().map_err(nothing)?;
        }
        Ok(BankImported {
            added,
            bank: name.to_owned(),
            entries: report.entries,
            errors: report.errors,
            errors_total: report.errors_total,
            existing: report.entries - added,
            file: file.to_owned(),
            lines: report.lines,
            discarded,
        })
    }

    /// Writes bank `name` to `out` in `format` (only entries of
    /// `signal_type` when given), in the format import reads.
    pub fn export_bank(
        &self,
        name: &str,
        format: Format,
        signal_type: Option<SignalType>,
        out: &mut dyn Write,
    ) -> Result<()> {
        let Some(bank) = self.store().banks()?.into_iter().find(|b| b.name == name) else {
            return Err(EngineError::NotFound(format!("no bank named {name:?}")));
        };
        if format == Format::Csv && signal_type.is_none() && bank.entries.len() > 1 {
            let types: Vec<&str> = bank.entries.keys().map(|t| t.as_str()).collect();
            return Err(invalid!(
                "bank {name:?} holds {} signals; CSV holds one type: pass --type, or use --format jsonl",
                types.join(" and ")
            ));
        }
        let filter =
            EntryFilter { banks: Some(vec![name.to_owned()]), signal_type, ..EntryFilter::default() };
        let mut io_error = None;
        self.store().bank_entries(&filter, &mut |e| {
            if io_error.is_none()
                && let Err(err) = bankfile::write_entry(&mut &mut *out, format, &e)
            {
                io_error = Some(err);
            }
            Ok(())
        })?;
        if let Some(e) = io_error {
            return Err(EngineError::io("the bank export", e));
        }
        out.flush().map_err(|e| EngineError::io("the bank export", e))?;
        Ok(())
    }
}

/// One bank as `GET /api/v1/banks/{name}` shows it: its entries and its
/// matching settings.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BankDetail {
    /// Its name.
    pub name: String,
    /// Its name in HMA's API.
    pub hma_name: String,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// Entries per signal type.
    #[schema(value_type = std::collections::BTreeMap<String, u64>)]
    pub entries: BTreeMap<&'static str, u64>,
    /// Entries in all.
    pub total: u64,
    /// The share of content matched (HMA's `matching_enabled_ratio`).
    pub enabled_ratio: f64,
    /// Its own PDQ distance, when it has one (else the server's).
    pub pdq_threshold: Option<u32>,
}

impl Engine {
    /// The bank named `name` (its name or its HMA name);
    /// [`EngineError::NotFound`] when there is none.
    pub fn bank(&self, name: &str) -> Result<BankDetail> {
        let banks = self.store().banks()?;
        let b = banks
            .iter()
            .find(|b| b.name == name)
            .or_else(|| banks.iter().find(|b| b.settings.hma_name == name))
            .ok_or_else(|| EngineError::NotFound(format!("no bank named {name:?}")))?;
        Ok(BankDetail {
            name: b.name.clone(),
            hma_name: b.settings.hma_name.clone(),
            created_at: b.created_at.to_rfc3339(),
            entries: b.entries.iter().map(|(t, n)| (t.as_str(), *n)).collect(),
            total: b.entries.values().sum(),
            enabled_ratio: b.settings.enabled_ratio,
            pdq_threshold: b.settings.pdq_threshold,
        })
    }
}

/// One bank entry, as the bank's page lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct BankEntryRow {
    /// Its id.
    pub id: i64,
    /// Its signal type.
    pub signal_type: String,
    /// Its value.
    pub value: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// When it was added (RFC 3339).
    pub added_at: String,
}

/// Which entries of a bank to list ([`Engine::bank_entries`]).
#[derive(Clone, Debug, Default)]
pub struct EntryQuery {
    /// Only this signal type.
    pub signal_type: Option<SignalType>,
    /// Only entries of this value (found by the store's index, whatever
    /// the bank's size).
    pub value: Option<String>,
    /// Entries after this id (the page before's last).
    pub after: Option<i64>,
    /// At most this many.
    pub limit: u64,
}

impl Engine {
    /// The entries of bank `name` (its name or its HMA name) that `q`
    /// selects, by id, with the last id when there may be more.
    pub fn bank_entries(&self, name: &str, q: &EntryQuery) -> Result<(Vec<BankEntryRow>, Option<i64>)> {
        let bank = self.bank(name)?;
        // The value as stored: lowercase for the hex hashes.
        let value = q.value.as_ref().map(|v| {
            let v = v.trim();
            if v.bytes().all(|b| b.is_ascii_hexdigit()) { v.to_ascii_lowercase() } else { v.to_owned() }
        });
        let filter = EntryFilter {
            banks: Some(vec![bank.name]),
            signal_type: q.signal_type,
            after_id: q.after.map(marsad_core::EntryId),
            value,
            limit: Some(q.limit.saturating_add(1)),
            ..EntryFilter::default()
        };
        let mut rows = Vec::new();
        self.store().bank_entries(&filter, &mut |e| {
            rows.push(BankEntryRow {
                id: e.id.0,
                signal_type: e.signal_type.as_str().to_owned(),
                value: e.value,
                labels: e.labels,
                added_at: e.added_at.to_rfc3339(),
            });
            Ok(())
        })?;
        let more = rows.len() as u64 > q.limit;
        rows.truncate(usize::try_from(q.limit).unwrap_or(usize::MAX));
        let next = if more { rows.last().map(|r| r.id) } else { None };
        Ok((rows, next))
    }
}
