//! `marsad bank …`: create, list, delete, import and export hash banks.

use std::io::{BufRead, BufReader};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use marsad_engine::BankFormat as Format;
use marsad_engine::banks::BankImport;

use crate::cli::{BankCommand, BankFormat};
use crate::table::Table;

fn format(f: BankFormat) -> Format {
    match f {
        BankFormat::Csv => Format::Csv,
        BankFormat::Jsonl => Format::Jsonl,
    }
}

pub fn run(db: &str, nats: &str, json: bool, cmd: BankCommand) -> Result<ExitCode> {
    let mut engine = crate::store::open(db)?;
    let changes = matches!(cmd, BankCommand::Delete { .. } | BankCommand::Import { .. });
    let code = run_on(&mut engine, json, cmd)?;
    if changes {
        announce(&engine, nats);
    }
    Ok(code)
}

/// Tells the servers on a shared store that the banks changed (the change
/// feed, `--nats`), so that their indexes follow at once. When the feed
/// cannot be reached they still follow the store at their next poll.
fn announce(engine: &marsad_engine::Engine, nats: &str) {
    if !matches!(engine.location(), marsad_engine::StoreLocation::Postgres(_)) {
        return;
    }
    if let Err(e) = engine
        .connect_queue(nats)
        .and_then(|q| q.notify_banks(0).map_err(|e| marsad_engine::EngineError::step("the change feed", e)))
    {
        eprintln!(
            "warning: the servers were not told of the change ({e}); they see it at their next poll of the store"
        );
    }
}

fn run_on(engine: &mut marsad_engine::Engine, json: bool, cmd: BankCommand) -> Result<ExitCode> {
    match cmd {
        BankCommand::Create { name } => {
            let bank = engine.create_bank(&name)?;
            if json {
                println!("{}", serde_json::to_string(&bank)?);
            } else {
                println!("created bank {name}");
            }
        }
        BankCommand::List => {
            let banks = engine.banks()?;
            if json {
                println!("{}", serde_json::to_string(&banks)?);
            } else if banks.is_empty() {
                println!("no banks (create one with: marsad bank create NAME)");
            } else {
                let mut t = Table::new(&["bank", "entries", "created", "by type"]);
                t.right(1);
                for b in &banks {
                    let by_type: Vec<String> = b.entries.iter().map(|(t, n)| format!("{t} {n}")).collect();
                    t.row(vec![
                        b.name.clone(),
                        b.total.to_string(),
                        b.created_at.clone(),
                        by_type.join(", "),
                    ]);
                }
                t.print();
            }
        }
        BankCommand::Delete { name } => {
            let d = engine.delete_bank(&name)?;
            if json {
                println!("{}", serde_json::to_string(&d)?);
            } else {
                println!("deleted bank {name}");
            }
        }
        BankCommand::Import { name, file, signal_type, format: f, create } => {
            let mut reader: Box<dyn BufRead> = if file.as_os_str() == "-" {
                Box::new(BufReader::new(std::io::stdin().lock()))
            } else {
                let f = std::fs::File::open(&file).with_context(|| format!("opening {}", file.display()))?;
                if f.metadata().map(|m| m.is_dir()).unwrap_or(false) {
                    bail!("{} is a folder, not a bank file", file.display());
                }
                Box::new(BufReader::with_capacity(1 << 20, f))
            };
            let shown = file.display().to_string();
            let req = BankImport {
                name: &name,
                file: &shown,
                format: format(f),
                signal_type: signal_type.map(|s| s.signal()),
                create,
            };
            let r = engine.import_bank(&req, &mut reader)?;
            if json {
                println!("{}", serde_json::to_string(&r)?);
            } else {
                println!(
                    "imported {shown} into bank {name}: {} added, {} already there, {} skipped",
                    r.added,
                    r.existing,
                    super::count(r.errors_total, "line")
                );
            }
            const SHOWN: usize = 10;
            for e in r.errors.iter().take(SHOWN) {
                eprintln!("  {shown}: {}", crate::table::shown(&e.to_string()));
            }
            if r.errors_total > SHOWN as u64 {
                eprintln!("  … and {} more invalid lines", r.errors_total - SHOWN as u64);
            }
            if r.entries == 0 {
                eprintln!("error: {shown} holds no valid entry");
                if r.discarded {
                    eprintln!("bank {name:?} was not created: nothing was imported into it");
                }
                return Ok(ExitCode::FAILURE);
            }
        }
        BankCommand::Export { name, format: f, signal_type } => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            engine.export_bank(&name, format(f), signal_type.map(|s| s.signal()), &mut out)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
