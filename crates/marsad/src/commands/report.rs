//! `marsad report` and `marsad export`.

use std::process::ExitCode;

use anyhow::Result;
use marsad_engine::ExportFormat;
use marsad_engine::report::ReportRequest;

use crate::cli::{ExportArgs, ReportArgs, TableFormat};
use crate::commands::observe;

pub fn report(db: &str, json: bool, args: ReportArgs) -> Result<ExitCode> {
    let filter = observe::spec(&args.filter, Some(&args.time)).parse()?;
    let req = ReportRequest::new(
        args.title.clone(),
        filter,
        args.silence_hours,
        args.dormancy_days,
        args.recycling_days,
    )?;
    let mut engine = crate::store::open(db)?;
    let r = engine.write_report(&req, &args.out)?;
    for u in &r.unknown_outlets {
        eprintln!("warning: {u}");
    }
    if json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        println!(
            "report: {} ({} releases, {} sightings, {} to {})",
            r.out, r.releases, r.sightings, r.from, r.to
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn export(db: &str, json: bool, args: ExportArgs) -> Result<ExitCode> {
    let mut engine = crate::store::open(db)?;
    let format = match args.format {
        TableFormat::Csv => ExportFormat::Csv,
        TableFormat::Parquet => ExportFormat::Parquet,
    };
    let w = engine.export_tables(format, &args.out)?;
    if json {
        println!("{}", serde_json::to_string(&w)?);
    } else {
        println!("wrote {} releases, {} sightings and {} outlets:", w.releases, w.sightings, w.outlets);
        for f in &w.files {
            println!("  {f}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
