//! `marsad report` and `marsad export`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use marsad_report::{ExportFormat, ReportOptions, Tables};
use marsad_store::prelude::*;

use crate::cli::{ExportArgs, ReportArgs, TableFormat};
use crate::commands::observe;

/// Writes `bytes` to `path` through a temporary file beside it, so that a
/// reader never sees half a report.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let name =
        path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "report".to_owned());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Groups what is new, then writes the report of `args` to `args.out`.
pub fn write_report(db: &str, store: &mut dyn Store, args: &ReportArgs) -> Result<marsad_report::ReportData> {
    let filter = observe::filter(&args.filter, Some(&args.time))?;
    let obs = observe::observatory(db, store)?;
    observe::warn_unknown_outlets(&obs, &filter);
    let opts = ReportOptions {
        title: args.title.clone(),
        filter,
        silence_min_hours: args.silence_hours,
        dormancy_days: args.dormancy_days,
        recycling_min_age_days: args.recycling_days,
        generated_at: marsad_core::UtcTime::now().unix_micros(),
        ..ReportOptions::default()
    };
    let data = marsad_report::data::compute(&obs, &opts);
    let html = marsad_report::html::page(&data, &opts);
    write_atomically(&args.out, html.as_bytes())?;
    Ok(data)
}

pub fn report(db: &str, json: bool, args: ReportArgs) -> Result<ExitCode> {
    for (name, v) in [
        ("--silence-hours", args.silence_hours),
        ("--dormancy-days", args.dormancy_days),
        ("--recycling-days", args.recycling_days),
    ] {
        anyhow::ensure!(v.is_finite() && v >= 0.0, "{name} must be a number of at least 0, not {v}");
    }
    let mut store = crate::store::open(db)?;
    let data = write_report(db, &mut store, &args)?;
    if json {
        println!(
            "{}",
            serde_json::json!({
                "out": args.out.display().to_string(),
                "from": marsad_observe::rfc3339(data.start),
                "to": marsad_observe::rfc3339(data.end),
                "releases": data.releases,
                "sightings": data.sightings,
                "silences": data.silences.len(),
            })
        );
    } else {
        println!(
            "report: {} ({} releases, {} sightings, {} to {})",
            args.out.display(),
            data.releases,
            data.sightings,
            marsad_observe::rfc3339(data.start),
            marsad_observe::rfc3339(data.end)
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn export(db: &str, json: bool, args: ExportArgs) -> Result<ExitCode> {
    let mut store = crate::store::open(db)?;
    // Bring releases up to date first, as every other reader does.
    observe::observatory(db, &mut store)?;
    let mut tables = Tables::default();
    store.releases(&mut |r| {
        tables.releases.push(r);
        Ok(())
    })?;
    store.sightings(&mut |s| {
        tables.sightings.push(s);
        Ok(())
    })?;
    tables.outlets = store.outlets()?;
    if args.out.exists() && !args.out.is_dir() {
        bail!(
            "--out {}: not a folder (export writes releases, sightings and outlets files into a folder)",
            args.out.display()
        );
    }
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let format = match args.format {
        TableFormat::Csv => ExportFormat::Csv,
        TableFormat::Parquet => ExportFormat::Parquet,
    };
    let files = marsad_report::export(&tables, format, &args.out)?;
    if json {
        println!(
            "{}",
            serde_json::json!({
                "files": files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
                "releases": tables.releases.len(),
                "sightings": tables.sightings.len(),
                "outlets": tables.outlets.len(),
            })
        );
    } else {
        println!(
            "wrote {} releases, {} sightings and {} outlets:",
            tables.releases.len(),
            tables.sightings.len(),
            tables.outlets.len()
        );
        for f in &files {
            println!("  {}", f.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
