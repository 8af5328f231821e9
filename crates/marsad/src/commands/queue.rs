//! `marsad worker`, `marsad jobs` and the waiting half of `ingest --queue`.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Result;
use marsad_engine::queue::{QueuedRunView, WorkerOptions};

use crate::cli::{JobsArgs, WorkerArgs};

/// Set by SIGINT or SIGTERM: the worker finishes its job and stops.
static STOP: AtomicBool = AtomicBool::new(false);

#[cfg(unix)]
extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

fn stop_on_signals() {
    #[cfg(unix)]
    // SAFETY: the handler only stores to an atomic, which is
    // async-signal-safe; the cast is the form `signal` takes a handler in.
    unsafe {
        let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
}

pub fn worker(db: &str, nats: &str, _memory: u64, args: WorkerArgs) -> Result<ExitCode> {
    marsad_engine::queue::set_threads(args.threads as usize)?;
    let mut engine = crate::store::open(db)?;
    let queue = engine.connect_queue(nats)?;
    let opts = WorkerOptions {
        idle_exit: args.idle_exit.filter(|s| s.is_finite() && *s >= 0.0).map(Duration::from_secs_f64),
        ..WorkerOptions::default()
    };
    stop_on_signals();
    eprintln!(
        "worker {} taking jobs from {} for {} ({} thread{})",
        opts.name,
        queue.inner().url(),
        engine.location(),
        args.threads,
        if args.threads == 1 { "" } else { "s" }
    );
    let totals = marsad_engine::queue::work(&mut engine, &queue, &opts, &STOP, &mut |e| {
        let error = e.error.as_deref().map(|e| format!(": {}", crate::table::shown(e))).unwrap_or_default();
        eprintln!("job {} {}: {} posts (attempt {}){error}", e.job, e.outcome, e.posts, e.attempt);
    })?;
    eprintln!(
        "worker {} stopped: {} batches applied, {} already applied, {} retried, {} dead",
        opts.name, totals.applied, totals.already_applied, totals.retried, totals.dead
    );
    Ok(ExitCode::SUCCESS)
}

pub fn jobs(db: &str, json: bool, args: JobsArgs) -> Result<ExitCode> {
    let mut engine = crate::store::open(db)?;
    if args.watch {
        return watch(&mut engine, json, &args);
    }
    let runs = match args.run {
        Some(run) => vec![engine.queued_run(run)?],
        None => engine.queued_runs(args.limit)?,
    };
    if json {
        if args.run.is_some() {
            println!("{}", serde_json::to_string(&runs[0])?);
        } else {
            println!("{}", serde_json::to_string(&runs)?);
        }
        return Ok(ExitCode::SUCCESS);
    }
    if runs.is_empty() {
        println!("no ingest has run through the work queue (marsad ingest … --queue)");
        return Ok(ExitCode::SUCCESS);
    }
    let mut table =
        crate::table::Table::new(&["run", "status", "batches", "posts", "dead", "started", "path"]);
    table.right(0).right(3).right(4);
    for r in &runs {
        table.row(vec![
            r.run_id.to_string(),
            r.status.clone(),
            progress(r),
            r.posts_applied.to_string(),
            r.batches_dead.to_string(),
            r.started_at.clone(),
            r.path.clone(),
        ]);
    }
    for l in table.lines() {
        println!("{l}");
    }
    for r in &runs {
        for d in &r.dead {
            eprintln!(
                "dead letter: run {} batch {} after {} attempts ({}, {}): {}",
                r.run_id,
                d.seq,
                d.attempts,
                d.worker,
                d.at,
                crate::table::shown(&d.error)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `applied+dead/total`, or `applied/…` while the reader publishes.
fn progress(r: &QueuedRunView) -> String {
    let done = r.batches_applied + r.batches_dead;
    match r.batches_total {
        Some(total) => format!("{done}/{total}"),
        None => format!("{done}/…"),
    }
}

fn line(r: &QueuedRunView, json: bool) -> Result<String> {
    if json {
        return Ok(serde_json::to_string(r)?);
    }
    Ok(format!(
        "run {} {}: batches {} ({} dead), {} posts, {} media, {} fingerprints",
        r.run_id,
        r.status,
        progress(r),
        r.batches_dead,
        r.posts_applied,
        r.summary.media_added,
        r.summary.fingerprints_added
    ))
}

fn watch(engine: &mut marsad_engine::Engine, json: bool, args: &JobsArgs) -> Result<ExitCode> {
    let mut shown: std::collections::HashMap<i64, String> = std::collections::HashMap::new();
    loop {
        let runs = match args.run {
            Some(run) => vec![engine.queued_run(run)?],
            None => engine.queued_runs(args.limit)?,
        };
        for r in &runs {
            let text = line(r, json)?;
            if shown.get(&r.run_id) != Some(&text) {
                println!("{text}");
                shown.insert(r.run_id, text);
            }
        }
        if runs.iter().all(|r| r.status != "running") {
            return Ok(ExitCode::SUCCESS);
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// `ingest --queue` without `--no-wait`: follows the run to its end.
pub fn wait(engine: &mut marsad_engine::Engine, run: i64, json: bool) -> Result<QueuedRunView> {
    let quiet = json || !std::io::IsTerminal::is_terminal(&std::io::stderr());
    let view = engine.wait_queued(run, Duration::from_secs(300), &mut |v| {
        if !quiet {
            eprintln!("{}", line(v, false).unwrap_or_default());
        }
    })?;
    Ok(view)
}
