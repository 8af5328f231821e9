//! `marsad demo`: a synthetic corpus generated, ingested, grouped,
//! attributed and reported on, in one folder.

use std::path::{Path, PathBuf};

use marsad_ingest::{IngestSummary, Reporter};
use serde::Serialize;

use crate::Engine;
use crate::error::{EngineError, Result, StepContext};
use crate::ingest::{IngestOptions, InputKind};
use crate::observatory::FilterSpec;
use crate::report::ReportRequest;
use crate::store::StoreStats;

/// One export the demo ingested.
#[derive(Clone, Debug, Serialize)]
pub struct DemoIngest {
    /// The export.
    pub export: String,
    /// What its ingest did.
    pub summary: IngestSummary,
}

/// A source of the demo store, with its posts' span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoSource {
    /// `platform:id`.
    pub key: String,
    /// Display name.
    pub name: String,
    /// Posts.
    pub posts: usize,
    /// First post (RFC 3339).
    pub first: String,
    /// Last post (RFC 3339).
    pub last: String,
}

/// `marsad demo --json`.
#[derive(Clone, Debug, Serialize)]
pub struct DemoSummary {
    /// The store.
    pub db: String,
    /// The exports ingested.
    pub ingests: Vec<DemoIngest>,
    /// The demo's folder.
    pub out: String,
    /// Outlets registered.
    pub outlets: usize,
    /// The outlet registry.
    pub outlets_toml: String,
    /// Releases.
    pub releases: u64,
    /// The report.
    pub report: String,
    /// Sightings.
    pub sightings: u64,
    /// Silences of 24 hours or more.
    pub silences: usize,
    /// What the store holds.
    pub stats: StoreStats,
    /// The planted truth.
    pub truth_json: String,
    /// Releases attributed to a registered outlet.
    #[serde(skip)]
    pub official: u64,
    /// The sources.
    #[serde(skip)]
    pub sources: Vec<DemoSource>,
    /// The seed used.
    #[serde(skip)]
    pub seed: u64,
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

/// Removes a previous demo from `out`; refuses a folder holding anything
/// else.
fn clear_previous_demo(out: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(out) else {
        return Ok(());
    };
    let names: Vec<String> = entries
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<std::io::Result<_>>()
        .map_err(|e| EngineError::io(out.display(), e))?;
    if let Some(other) = names.iter().find(|n| !DEMO_ENTRIES.contains(&n.as_str())) {
        return Err(EngineError::Conflict(format!(
            "{} is not empty and does not look like a previous demo (it holds {other:?}); choose another --out",
            out.display()
        )));
    }
    for name in &names {
        let p = out.join(name);
        let removed = if p.is_dir() { std::fs::remove_dir_all(&p) } else { std::fs::remove_file(&p) };
        removed.map_err(|e| EngineError::io(p.display(), e))?;
    }
    Ok(())
}

/// Generates the synthetic corpus of `seed` in `out` (replacing a previous
/// demo there), ingests it into `out/marsad.db`, imports its registry and
/// writes `out/report.html`. `generating` is called before the corpus is
/// generated (it takes a while).
pub fn run(
    out: &Path,
    seed: u64,
    reporter: &dyn Reporter,
    generating: &mut dyn FnMut(),
) -> Result<DemoSummary> {
    clear_previous_demo(out)?;
    std::fs::create_dir_all(out).map_err(|e| EngineError::io(out.display(), e))?;
    let cfg = marsad_synth::DemoConfig { seed, ..marsad_synth::DemoConfig::default() };
    generating();
    let corpus = marsad_synth::generate_demo(out, &cfg)
        .step(&format!("generating the demo corpus in {}", out.display()))?;
    let db: PathBuf = out.join("marsad.db");
    let db_str = db.display().to_string();
    let mut engine = Engine::open(&db_str)?;
    let opts = IngestOptions { match_banks: false, ..IngestOptions::default() };
    let mut ingests = Vec::new();
    for export in &corpus.exports {
        let summary = engine.ingest(InputKind::Telegram, export, &opts, reporter)?;
        ingests.push(DemoIngest { export: export.display().to_string(), summary });
    }
    let outlets = engine.import_outlets(&corpus.outlets_toml)?;
    let req = ReportRequest::new(
        "marsad demo: a synthetic corpus".to_owned(),
        FilterSpec::default().parse()?,
        24.0,
        30.0,
        30.0,
    )?;
    let report_path = out.join("report.html");
    let report = engine.write_report(&req, &report_path)?;
    let report_abs = std::path::absolute(&report_path).unwrap_or(report_path);
    let mut sources = Vec::new();
    for src in engine.store().sources()? {
        let posts = engine.store().posts_of_source(&src.key)?;
        sources.push(DemoSource {
            key: src.key.to_string(),
            name: src.name,
            posts: posts.len(),
            first: posts.first().map(|p| p.posted_at.to_rfc3339()).unwrap_or_default(),
            last: posts.last().map(|p| p.posted_at.to_rfc3339()).unwrap_or_default(),
        });
    }
    Ok(DemoSummary {
        db: db_str,
        ingests,
        out: out.display().to_string(),
        outlets: outlets.outlets,
        outlets_toml: corpus.outlets_toml.display().to_string(),
        releases: report.releases,
        report: report_abs.display().to_string(),
        sightings: report.sightings,
        silences: report.silences,
        stats: engine.stats()?,
        truth_json: corpus.truth_json.display().to_string(),
        official: report.official,
        sources,
        seed,
    })
}
