use std::process::ExitCode;

use anyhow::{Context, Result};
use marsad_ingest::IngestConfig;
use marsad_store::prelude::*;

use crate::cli::{DemoArgs, FilterArgs, ReportArgs, TimeArgs};
use crate::commands::ingest::{Kind, ingest_one};

pub fn run(args: DemoArgs, json: bool) -> Result<ExitCode> {
    clear_previous_demo(&args.out)?;
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let cfg = marsad_synth::DemoConfig { seed: args.seed, ..marsad_synth::DemoConfig::default() };
    if !json {
        println!("generating a synthetic corpus in {} (seed {}) …", args.out.display(), cfg.seed);
    }
    let corpus = marsad_synth::generate_demo(&args.out, &cfg)
        .with_context(|| format!("generating the demo corpus in {}", args.out.display()))?;
    let db = args.out.join("marsad.db");
    let db_str = db.display().to_string();
    let mut store = crate::store::open(&db_str)?;
    let ingest_cfg = IngestConfig::default();
    let fingerprinter = marsad_media::MediaFingerprinter::default();
    let mut runs = Vec::new();
    for export in &corpus.exports {
        let s = ingest_one(
            &mut store,
            Kind::Telegram,
            export,
            &ingest_cfg,
            &fingerprinter,
            &marsad_ingest::NoMatcher,
        )
        .with_context(|| format!("ingesting {}", export.display()))?;
        runs.push((export.clone(), s));
    }
    let (outlets, _) = crate::commands::observe::import_outlets(&mut store, &corpus.outlets_toml)?;
    let report_args = ReportArgs {
        out: args.out.join("report.html"),
        title: "marsad demo: a synthetic corpus".to_owned(),
        silence_hours: 24.0,
        dormancy_days: 30.0,
        recycling_days: 30.0,
        time: TimeArgs::default(),
        filter: FilterArgs::default(),
    };
    let report = crate::commands::report::write_report(&db_str, &mut store, &report_args)?;
    let report_path = std::path::absolute(&report_args.out).unwrap_or_else(|_| report_args.out.clone());
    let stats = store.stats()?;
    let sources = store.sources()?;
    if json {
        let exports: Vec<_> = runs
            .iter()
            .map(|(p, s)| serde_json::json!({ "export": p.display().to_string(), "summary": s }))
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "out": args.out.display().to_string(),
                "db": db_str,
                "outlets_toml": corpus.outlets_toml.display().to_string(),
                "truth_json": corpus.truth_json.display().to_string(),
                "ingests": exports,
                "stats": { "sources": stats.sources, "posts": stats.posts, "media": stats.media, "fingerprints": stats.fingerprints },
                "outlets": outlets.len(),
                "releases": report.releases,
                "sightings": report.sightings,
                "silences": report.silences.len(),
                "report": report_path.display().to_string(),
            })
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!();
    println!("ingested {} exports into {db_str}", runs.len());
    for (path, s) in &runs {
        let rel = path.strip_prefix(&args.out).unwrap_or(path);
        println!(
            "  {:<40} {:>6} posts ({} new), {:>4} media ({} new, {} missing), {} service skipped",
            rel.display(),
            s.posts_valid(),
            s.posts_added,
            s.media_added + s.media_missing,
            s.media_added,
            s.media_missing,
            s.service_skipped
        );
    }
    println!();
    println!("sources ({}):", sources.len());
    for src in &sources {
        let posts = store.posts_of_source(&src.key)?;
        let first = posts.first().map(|p| p.posted_at.to_rfc3339()).unwrap_or_default();
        let last = posts.last().map(|p| p.posted_at.to_rfc3339()).unwrap_or_default();
        println!("  {:<22} {:<34} {:>5} posts  {first} → {last}", src.key.to_string(), src.name, posts.len());
    }
    println!();
    println!(
        "store: {} sources, {} posts, {} media items, {} fingerprints",
        stats.sources, stats.posts, stats.media, stats.fingerprints
    );
    println!(
        "observatory: {} outlets registered; {} releases ({} attributed), {} sightings, {} silences of 24 h or more",
        outlets.len(),
        report.releases,
        report.official,
        report.sightings,
        report.silences.len()
    );
    println!("outlet registry: {}", corpus.outlets_toml.display());
    println!("planted truth:   {}", corpus.truth_json.display());
    println!();
    println!("report: {}", report_path.display());
    println!();
    println!("next: marsad --db {db_str} releases");
    println!("      marsad --db {db_str} analyze timeline --bucket week --by outlet");
    println!("      marsad --db {db_str} analyze silences --min-hours 24");
    Ok(ExitCode::SUCCESS)
}

/// What a demo writes in its folder; a folder holding only these is a
/// previous demo and is replaced. Anything else there is left alone and the
/// demo refuses to run.
const DEMO_ENTRIES: &[&str] = &[
    "exports",
    "outlets.toml",
    "truth.json",
    "marsad.db",
    "marsad.db-wal",
    "marsad.db-shm",
    "marsad.db.observatory",
    "marsad.db.pdq-index",
    "marsad.media",
    "report.html",
];

fn clear_previous_demo(out: &std::path::Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(out) else {
        return Ok(());
    };
    let names: Vec<String> = entries
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("reading {}", out.display()))?;
    if names.is_empty() {
        return Ok(());
    }
    if let Some(other) = names.iter().find(|n| !DEMO_ENTRIES.contains(&n.as_str())) {
        anyhow::bail!(
            "{} is not empty and does not look like a previous demo (it holds {other:?}); choose another --out",
            out.display()
        );
    }
    for name in &names {
        let p = out.join(name);
        let removed = if p.is_dir() { std::fs::remove_dir_all(&p) } else { std::fs::remove_file(&p) };
        removed.with_context(|| format!("removing the previous demo's {}", p.display()))?;
    }
    Ok(())
}
