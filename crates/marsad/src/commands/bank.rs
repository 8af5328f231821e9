//! `marsad bank …`: create, list, delete, import and export hash banks.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use marsad_core::SignalType;
use marsad_match::bankfile::{self, Format};
use marsad_store::prelude::*;
use marsad_store::{EntryFilter, StoreError};

use crate::cli::{BankCommand, BankFormat};

fn format(f: BankFormat) -> Format {
    match f {
        BankFormat::Csv => Format::Csv,
        BankFormat::Jsonl => Format::Jsonl,
    }
}

/// A bank name: 1–128 characters, no control characters, not only spaces.
fn check_name(name: &str) -> Result<()> {
    if name.trim().is_empty() || name.chars().count() > 128 || name.chars().any(char::is_control) {
        bail!("invalid bank name {name:?}: use 1 to 128 printable characters");
    }
    Ok(())
}

pub fn run(db: &str, json: bool, cmd: BankCommand) -> Result<ExitCode> {
    let mut store = crate::store::open(db)?;
    match cmd {
        BankCommand::Create { name } => {
            check_name(&name)?;
            let bank = match store.create_bank(&name) {
                Err(StoreError::Conflict(_)) => bail!("bank {name:?} already exists"),
                other => other?,
            };
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "name": bank.name, "created_at": bank.created_at.to_rfc3339() })
                );
            } else {
                println!("created bank {name}");
            }
        }
        BankCommand::List => {
            let banks = store.banks()?;
            if json {
                let list: Vec<_> = banks
                    .iter()
                    .map(|b| {
                        let entries: serde_json::Map<String, serde_json::Value> =
                            b.entries.iter().map(|(t, n)| (t.as_str().to_owned(), (*n).into())).collect();
                        serde_json::json!({
                            "name": b.name,
                            "created_at": b.created_at.to_rfc3339(),
                            "entries": entries,
                            "total": b.entries.values().sum::<u64>(),
                        })
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(list));
            } else if banks.is_empty() {
                println!("no banks (create one with: marsad bank create NAME)");
            } else {
                // RFC 3339 with microseconds is 27 characters.
                println!("{:<24} {:>10}  {:<27}  by type", "bank", "entries", "created");
                for b in &banks {
                    let by_type: Vec<String> = b.entries.iter().map(|(t, n)| format!("{t} {n}")).collect();
                    println!(
                        "{:<24} {:>10}  {:<27}  {}",
                        b.name,
                        b.entries.values().sum::<u64>(),
                        b.created_at.to_rfc3339(),
                        by_type.join(", ")
                    );
                }
            }
        }
        BankCommand::Delete { name } => {
            if !store.delete_bank(&name)? {
                bail!("no bank named {name:?}");
            }
            if json {
                println!("{}", serde_json::json!({ "deleted": name }));
            } else {
                println!("deleted bank {name}");
            }
        }
        BankCommand::Import { name, file, signal_type, format: f, create } => {
            return import(
                &mut store,
                json,
                &name,
                &file,
                signal_type.map(|s| s.signal()),
                format(f),
                create,
            );
        }
        BankCommand::Export { name, format: f, signal_type } => {
            export(&store, &name, format(f), signal_type.map(|s| s.signal()))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn import(
    store: &mut dyn Store,
    json: bool,
    name: &str,
    file: &Path,
    signal_type: Option<SignalType>,
    format: Format,
    create: bool,
) -> Result<ExitCode> {
    if format == Format::Csv && signal_type.is_none() {
        bail!("a CSV bank file needs --type (pdq, vpdq, md5, sha256, audio or text)");
    }
    let mut created = false;
    if !store.banks()?.iter().any(|b| b.name == name) {
        if !create {
            bail!("no bank named {name:?} (create it with: marsad bank create {name}, or pass --create)");
        }
        check_name(name)?;
        store.create_bank(name)?;
        created = true;
    }
    let outcome = import_into(store, json, name, file, signal_type, format);
    // A bank made for this import and left empty by it is removed again:
    // a failed import leaves the store as it was.
    if created && !matches!(outcome, Ok(ExitCode::SUCCESS)) {
        store.delete_bank(name).with_context(|| format!("removing the empty bank {name:?}"))?;
        eprintln!("bank {name:?} was not created: nothing was imported into it");
    }
    outcome
}

fn import_into(
    store: &mut dyn Store,
    json: bool,
    name: &str,
    file: &Path,
    signal_type: Option<SignalType>,
    format: Format,
) -> Result<ExitCode> {
    let reader: Box<dyn BufRead> = if file.as_os_str() == "-" {
        Box::new(BufReader::new(std::io::stdin().lock()))
    } else {
        let f = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
        if f.metadata().map(|m| m.is_dir()).unwrap_or(false) {
            bail!("{} is a folder, not a bank file", file.display());
        }
        Box::new(BufReader::with_capacity(1 << 20, f))
    };
    let mut added = 0u64;
    let report = bankfile::read(reader, format, signal_type, |chunk| {
        added += store.add_bank_entries(name, chunk)?;
        Ok::<(), StoreError>(())
    })
    .with_context(|| format!("importing {}", file.display()))?;
    let existing = report.entries - added;
    if json {
        println!(
            "{}",
            serde_json::json!({
                "bank": name,
                "file": file.display().to_string(),
                "lines": report.lines,
                "entries": report.entries,
                "added": added,
                "existing": existing,
                "errors_total": report.errors_total,
                "errors": report.errors,
            })
        );
    } else {
        println!(
            "imported {} into bank {name}: {added} added, {existing} already there, {} skipped",
            file.display(),
            super::count(report.errors_total, "line")
        );
    }
    const SHOWN: usize = 10;
    for e in report.errors.iter().take(SHOWN) {
        eprintln!("  {}: {e}", file.display());
    }
    if report.errors_total > SHOWN as u64 {
        eprintln!("  … and {} more invalid lines", report.errors_total - SHOWN as u64);
    }
    if report.entries == 0 {
        eprintln!("error: {} holds no valid entry", file.display());
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn export(store: &dyn Store, name: &str, format: Format, signal_type: Option<SignalType>) -> Result<()> {
    let Some(bank) = store.banks()?.into_iter().find(|b| b.name == name) else {
        bail!("no bank named {name:?}");
    };
    if format == Format::Csv && signal_type.is_none() && bank.entries.len() > 1 {
        let types: Vec<&str> = bank.entries.keys().map(|t| t.as_str()).collect();
        bail!(
            "bank {name:?} holds {} signals; CSV holds one type: pass --type, or use --format jsonl",
            types.join(" and ")
        );
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let filter = EntryFilter { banks: Some(vec![name.to_owned()]), signal_type, ..EntryFilter::default() };
    let mut io_error = None;
    store.bank_entries(&filter, &mut |e| {
        if io_error.is_none()
            && let Err(err) = bankfile::write_entry(&mut out, format, &e)
        {
            io_error = Some(err);
        }
        Ok(())
    })?;
    if let Some(e) = io_error {
        return Err(e).context("writing the bank");
    }
    out.flush()?;
    Ok(())
}
