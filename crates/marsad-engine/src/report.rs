//! The HTML report and the exported tables.

use std::path::{Path, PathBuf};

use marsad_observe::analytics::Filter;
use marsad_report::{ExportFormat, ReportData, ReportOptions, Tables};
use serde::Serialize;

use crate::Engine;
use crate::error::{EngineError, Result, StepContext, invalid};
use crate::observatory::{UnknownOutlet, check_non_negative, unknown_outlets};

/// What a report is asked to show.
#[derive(Clone, Debug)]
pub struct ReportRequest {
    /// The page's title.
    pub title: String,
    /// Which releases (and period).
    pub filter: Filter,
    /// Shortest silence shown, in hours.
    pub silence_hours: f64,
    /// Dormancy window, in days.
    pub dormancy_days: f64,
    /// Least age of a recycled release, in days.
    pub recycling_days: f64,
}

impl ReportRequest {
    /// A request with its numbers checked.
    pub fn new(
        title: String,
        filter: Filter,
        silence_hours: f64,
        dormancy_days: f64,
        recycling_days: f64,
    ) -> Result<Self> {
        Ok(ReportRequest {
            title,
            filter,
            silence_hours: check_non_negative("--silence-hours", silence_hours)?,
            dormancy_days: check_non_negative("--dormancy-days", dormancy_days)?,
            recycling_days: check_non_negative("--recycling-days", recycling_days)?,
        })
    }
}

/// `marsad report --json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReportWritten {
    /// Start of the period drawn.
    pub from: String,
    /// The file written.
    pub out: String,
    /// Releases in the report.
    pub releases: u64,
    /// Sightings in the report.
    pub sightings: u64,
    /// Silences found.
    pub silences: usize,
    /// End of the period drawn.
    pub to: String,
    /// Releases attributed to a registered outlet.
    #[serde(skip)]
    pub official: u64,
    /// `--outlet`s of the filter that name no outlet.
    #[serde(skip)]
    pub unknown_outlets: Vec<UnknownOutlet>,
}

/// `marsad export --json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExportWritten {
    /// The files written.
    pub files: Vec<String>,
    /// Outlets exported.
    pub outlets: usize,
    /// Releases exported.
    pub releases: usize,
    /// Sightings exported.
    pub sightings: usize,
    /// Theme codes exported (of the taxonomy in use).
    pub theme_codes: usize,
}

/// Writes `bytes` to `path` through a temporary file beside it, so that a
/// reader never sees half a file.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| EngineError::io(dir.display(), e))?;
    let name =
        path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "report".to_owned());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(|e| EngineError::io(tmp.display(), e))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        EngineError::io(path.display(), e)
    })
}

impl Engine {
    /// Brings releases up to date, computes the report of `req` and writes
    /// it to `out` as one self-contained HTML file.
    pub fn write_report(&mut self, req: &ReportRequest, out: &Path) -> Result<ReportWritten> {
        let opts = options(req);
        let (data, unknown) = self.report_data_with(&opts)?;
        let html = marsad_report::html::page(&data, &opts);
        write_atomically(out, html.as_bytes())?;
        Ok(ReportWritten {
            from: marsad_observe::rfc3339(data.start),
            out: out.display().to_string(),
            releases: data.releases,
            sightings: data.sightings,
            silences: data.silences.len(),
            to: marsad_observe::rfc3339(data.end),
            official: data.official,
            unknown_outlets: unknown,
        })
    }

    /// The figures and series of the report of `req`.
    pub fn report_data(&mut self, req: &ReportRequest) -> Result<(ReportData, Vec<UnknownOutlet>)> {
        self.report_data_with(&options(req))
    }

    fn report_data_with(&mut self, opts: &ReportOptions) -> Result<(ReportData, Vec<UnknownOutlet>)> {
        let obs = self.observatory()?;
        let unknown = unknown_outlets(&obs, &opts.filter);
        Ok((marsad_report::data::compute(&obs, opts), unknown))
    }

    /// Brings releases up to date and writes the releases, sightings,
    /// outlets and theme codes tables into the folder `dir` (made when
    /// missing).
    pub fn export_tables(&mut self, format: ExportFormat, dir: &Path) -> Result<ExportWritten> {
        if dir.exists() && !dir.is_dir() {
            return Err(invalid!(
                "--out {}: not a folder (export writes releases, sightings and outlets files into a folder)",
                dir.display()
            ));
        }
        self.update_releases()?;
        let taxonomy = self.taxonomy()?.name;
        let mut tables = Tables::default();
        // One snapshot: the three tables describe the same moment whatever
        // other processes write meanwhile.
        let store = self.store();
        store.read_snapshot(&mut || {
            tables = Tables::default();
            store.releases(None, &mut |r| {
                tables.releases.push(r);
                Ok(())
            })?;
            store.sightings(None, &mut |s| {
                tables.sightings.push(s);
                Ok(())
            })?;
            tables.outlets = store.outlets()?;
            tables.codes = store.codes(&taxonomy, None)?;
            Ok(())
        })?;
        std::fs::create_dir_all(dir).map_err(|e| EngineError::io(dir.display(), e))?;
        let files: Vec<PathBuf> = marsad_report::export(&tables, format, dir).step("exporting")?;
        Ok(ExportWritten {
            files: files.iter().map(|f| f.display().to_string()).collect(),
            outlets: tables.outlets.len(),
            releases: tables.releases.len(),
            sightings: tables.sightings.len(),
            theme_codes: tables.codes.len(),
        })
    }
}

fn options(req: &ReportRequest) -> ReportOptions {
    ReportOptions {
        title: req.title.clone(),
        filter: req.filter.clone(),
        silence_min_hours: req.silence_hours,
        dormancy_days: req.dormancy_days,
        recycling_min_age_days: req.recycling_days,
        generated_at: marsad_core::UtcTime::now().unix_micros(),
        ..ReportOptions::default()
    }
}
