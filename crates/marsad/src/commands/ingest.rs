use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use marsad_ingest::{ExactOnly, Fingerprinter, IngestConfig, IngestSummary, Matcher, NoMatcher, Stages};
use marsad_media::{FingerprintConfig, MediaFingerprinter};
use marsad_store::prelude::*;

use crate::cli::{IngestCommand, IngestOpts};
use crate::reporter::Bars;

pub fn run(db: &str, json: bool, cmd: IngestCommand) -> Result<ExitCode> {
    let (path, opts, kind) = match &cmd {
        IngestCommand::Telegram { path, opts } => (path.as_path(), opts, Kind::Telegram),
        IngestCommand::Jsonl { file, opts } => (file.as_path(), opts, Kind::Jsonl),
    };
    let mut store = crate::store::open(db)?;
    let fingerprinter = fingerprinter(opts);
    // Every new fingerprint is matched against every bank.
    let banks = crate::commands::matching::load_banks(db, &store, marsad_match::MatchConfig::default())?;
    let matcher: &dyn Matcher = if banks.is_empty() { &NoMatcher } else { &banks };
    let summary = ingest_one(&mut store, kind, path, &config(db, opts), fingerprinter.as_ref(), matcher)?;
    if json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        print_summary(path, &summary);
    }
    Ok(exit_code(&summary))
}

#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Telegram,
    Jsonl,
}

pub fn config(db: &str, opts: &IngestOpts) -> IngestConfig {
    IngestConfig {
        batch_size: opts.batch_size as usize,
        retain_media: opts.retain_media.then(|| crate::store::media_dir(db)),
        ..IngestConfig::default()
    }
}

/// The fingerprint stage the options ask for.
pub fn fingerprinter(opts: &IngestOpts) -> Box<dyn Fingerprinter> {
    if opts.no_fingerprints {
        Box::new(ExactOnly)
    } else {
        Box::new(MediaFingerprinter::new(FingerprintConfig {
            seconds_per_hash: opts.seconds_per_hash,
            ..FingerprintConfig::default()
        }))
    }
}

pub fn ingest_one(
    store: &mut dyn Store,
    kind: Kind,
    path: &Path,
    cfg: &IngestConfig,
    fingerprinter: &dyn Fingerprinter,
    matcher: &dyn Matcher,
) -> Result<IngestSummary> {
    let bars = Bars::new();
    let stages = Stages { fingerprinter, matcher, reporter: &bars };
    let summary = match kind {
        Kind::Telegram => marsad_ingest::telegram::ingest(store, path, cfg, &stages)?,
        Kind::Jsonl => marsad_ingest::jsonl::ingest(store, path, cfg, &stages)?,
    };
    Ok(summary)
}

/// Non-zero when nothing valid was ingested: every record refused, or none
/// at all (an empty file is more likely the wrong file than a quiet
/// channel; the warning says which).
pub fn exit_code(s: &IngestSummary) -> ExitCode {
    if s.posts_valid() == 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

pub fn print_summary(path: &Path, s: &IngestSummary) {
    println!("ingested {}", path.display());
    println!("  posts     {:>9} added, {} already stored", s.posts_added, s.posts_existing);
    println!("  service   {:>9} messages skipped", s.service_skipped);
    println!("  media     {:>9} added, {} missing", s.media_added, s.media_missing);
    println!("  prints    {:>9} added, {} failed", s.fingerprints_added, s.fingerprint_errors);
    if s.matches_added > 0 {
        println!("  matches   {:>9} against the banks (marsad matches lists them)", s.matches_added);
    }
    println!("  errors    {:>9} records skipped", s.errors_total);
    const SHOWN: usize = 10;
    for e in s.errors.iter().take(SHOWN) {
        eprintln!("  error: {e}");
    }
    if s.errors_total > SHOWN as u64 {
        eprintln!(
            "  … and {} more errors (use --json for the first {})",
            s.errors_total - SHOWN as u64,
            s.errors.len()
        );
    }
    for m in s.missing_media.iter().take(SHOWN) {
        eprintln!("  missing: {m}");
    }
    if s.media_missing > SHOWN as u64 {
        eprintln!("  … and {} more missing media references", s.media_missing - SHOWN as u64);
    }
    for m in s.fingerprint_failures.iter().take(SHOWN) {
        eprintln!("  fingerprint failed: {m}");
    }
    if s.fingerprint_errors > SHOWN as u64 {
        eprintln!("  … and {} more failed fingerprints", s.fingerprint_errors - SHOWN as u64);
    }
    if s.posts_valid() == 0 {
        let why = if s.errors_total > 0 {
            "every record was refused"
        } else if s.service_skipped > 0 {
            "it holds service messages only"
        } else {
            "it holds no post"
        };
        eprintln!("warning: no valid post in {}: {why}", path.display());
    }
}
