use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use marsad_engine::IngestSummary;
use marsad_engine::ingest::{IngestOptions, InputKind};

use crate::cli::{IngestCommand, IngestOpts};
use crate::reporter::Bars;

pub fn run(db: &str, nats: &str, json: bool, cmd: IngestCommand) -> Result<ExitCode> {
    let (path, opts, kind) = match &cmd {
        IngestCommand::Telegram { path, opts } => (path.as_path(), opts, InputKind::Telegram),
        IngestCommand::Jsonl { file, opts } => (file.as_path(), opts, InputKind::Jsonl),
    };
    let mut engine = crate::store::open(db)?;
    let summary = if opts.queue {
        let queue = engine.connect_queue(nats)?;
        let read = engine.ingest_queued(kind, path, &options(opts), &queue, opts.send_media, &Bars::new())?;
        if opts.no_wait {
            if json {
                println!("{}", serde_json::to_string(&engine.queued_run(read.run_id)?)?);
            } else {
                println!(
                    "queued {}: run {} (marsad jobs --watch --run {} follows it)",
                    path.display(),
                    read.run_id,
                    read.run_id
                );
            }
            return Ok(ExitCode::SUCCESS);
        }
        let view = super::queue::wait(&mut engine, read.run_id, json)?;
        for d in &view.dead {
            eprintln!(
                "  dead letter: batch {} after {} attempts: {}",
                d.seq,
                d.attempts,
                crate::table::shown(&d.error)
            );
        }
        view.summary
    } else {
        engine.ingest(kind, path, &options(opts), &Bars::new())?
    };
    if json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        print_summary(path, &summary);
    }
    Ok(exit_code(&summary))
}

fn options(opts: &IngestOpts) -> IngestOptions {
    IngestOptions {
        retain_media: opts.retain_media,
        no_fingerprints: opts.no_fingerprints,
        batch_size: opts
            .batch_size
            .map_or(if opts.queue { marsad_engine::queue::QUEUE_BATCH_SIZE } else { 2000 }, |b| b as usize),
        seconds_per_hash: opts.seconds_per_hash,
        match_banks: true,
        export_timezone: opts.export_timezone.clone(),
    }
}

/// Non-zero when nothing valid was ingested: every record refused, or none
/// at all (an empty file is more likely the wrong file than a quiet
/// channel; the warning says which).
fn exit_code(s: &IngestSummary) -> ExitCode {
    if s.posts_valid() == 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

fn print_summary(path: &Path, s: &IngestSummary) {
    println!("ingested {}", path.display());
    println!("  posts     {:>9} added, {} already stored", s.posts_added, s.posts_existing);
    println!("  service   {:>9} messages skipped", s.service_skipped);
    if s.unsupported_skipped > 0 {
        println!(
            "  unsupported {:>7} entries skipped (not exportable by Telegram Desktop)",
            s.unsupported_skipped
        );
    }
    if s.posts_edited > 0 {
        println!("  edited    {:>9} posts with a new text (the earlier kept as a version)", s.posts_edited);
    }
    if s.repeated_ids > 0 {
        println!("  repeated  {:>9} message ids skipped (the first message kept)", s.repeated_ids);
    }
    println!("  media     {:>9} added, {} missing", s.media_added, s.media_missing);
    println!("  prints    {:>9} added, {} failed", s.fingerprints_added, s.fingerprint_errors);
    if s.matches_added > 0 {
        println!("  matches   {:>9} against the banks (marsad matches lists them)", s.matches_added);
    }
    println!("  errors    {:>9} records skipped", s.errors_total);
    const SHOWN: usize = 10;
    for e in s.errors.iter().take(SHOWN) {
        eprintln!("  error: {}", crate::table::shown(&e.to_string()));
    }
    if s.errors_total > SHOWN as u64 {
        eprintln!(
            "  … and {} more errors (use --json for the first {})",
            s.errors_total - SHOWN as u64,
            s.errors.len()
        );
    }
    for r in s.repeated.iter().take(SHOWN) {
        eprintln!("  warning: {}", crate::table::shown(&r.to_string()));
    }
    if s.repeated_ids > SHOWN as u64 {
        eprintln!("  … and {} more repeated message ids", s.repeated_ids - SHOWN as u64);
    }
    for m in s.missing_media.iter().take(SHOWN) {
        eprintln!("  missing: {}", crate::table::shown(&m.to_string()));
    }
    if s.media_missing > SHOWN as u64 {
        eprintln!("  … and {} more missing media references", s.media_missing - SHOWN as u64);
    }
    for m in s.fingerprint_failures.iter().take(SHOWN) {
        eprintln!("  fingerprint failed: {}", crate::table::shown(&m.to_string()));
    }
    if s.fingerprint_errors > SHOWN as u64 {
        eprintln!("  … and {} more failed fingerprints", s.fingerprint_errors - SHOWN as u64);
    }
    if s.posts_valid() == 0 {
        eprintln!("warning: no valid post in {}: {}", path.display(), s.no_post_reason());
    }
}
