//! Tables for pandas and R: releases, sightings and outlets, as CSV (UTF-8,
//! a header row, RFC 3339 times) or Parquet (typed columns, times as UTC
//! microsecond timestamps, Snappy-compressed).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use marsad_store::{OutletRecord, ReleaseRecord, SightingRecord};
use parquet::data_type::{ByteArray, ByteArrayType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

/// The export formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// Comma-separated values.
    Csv,
    /// Apache Parquet.
    Parquet,
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Writing a file failed.
    #[error("writing {path}: {message}")]
    Write {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
}

/// The data to export.
#[derive(Debug, Default)]
pub struct Tables {
    /// Releases.
    pub releases: Vec<ReleaseRecord>,
    /// Sightings.
    pub sightings: Vec<SightingRecord>,
    /// The outlet registry.
    pub outlets: Vec<OutletRecord>,
    /// Analysts' theme codes of the releases.
    pub codes: Vec<marsad_store::CodeRecord>,
}

/// A column of a table.
enum Col {
    Int(Vec<i64>),
    Time(Vec<i64>),
    Text(Vec<String>),
    OptText(Vec<Option<String>>),
}

struct Table {
    name: &'static str,
    columns: Vec<(&'static str, Col)>,
    rows: usize,
}

fn rfc3339(micros: i64) -> String {
    marsad_core::UtcTime::from_unix_micros(micros).map(|t| t.to_rfc3339()).unwrap_or_default()
}

fn tables(t: &Tables) -> Vec<Table> {
    let r = &t.releases;
    let releases = Table {
        name: "releases",
        rows: r.len(),
        columns: vec![
            ("id", Col::Int(r.iter().map(|x| x.id.0).collect())),
            ("outlet", Col::OptText(r.iter().map(|x| x.outlet.clone()).collect())),
            ("first_seen", Col::Time(r.iter().map(|x| x.first_seen.unix_micros()).collect())),
            ("last_seen", Col::Time(r.iter().map(|x| x.last_seen.unix_micros()).collect())),
            ("sightings", Col::Int(r.iter().map(|x| x.sightings as i64).collect())),
            ("channels", Col::Int(r.iter().map(|x| x.channels as i64).collect())),
            ("format", Col::Text(r.iter().map(|x| x.format.as_str().to_owned()).collect())),
            ("language", Col::OptText(r.iter().map(|x| x.language.clone()).collect())),
            (
                "first_source",
                Col::OptText(r.iter().map(|x| x.first_source.as_ref().map(ToString::to_string)).collect()),
            ),
            ("attribution", Col::OptText(r.iter().map(|x| Some(x.evidence.rule().to_owned())).collect())),
            ("evidence", Col::Text(r.iter().map(|x| x.evidence.to_json()).collect())),
        ],
    };
    let s = &t.sightings;
    let sightings = Table {
        name: "sightings",
        rows: s.len(),
        columns: vec![
            ("release_id", Col::Int(s.iter().map(|x| x.release_id.0).collect())),
            ("source", Col::Text(s.iter().map(|x| x.source.to_string()).collect())),
            ("posted_at", Col::Time(s.iter().map(|x| x.posted_at.unix_micros()).collect())),
            ("post_id", Col::Text(s.iter().map(|x| x.post_id.clone()).collect())),
            ("posts", Col::Int(s.iter().map(|x| x.posts as i64).collect())),
        ],
    };
    let o = &t.outlets;
    let outlets = Table {
        name: "outlets",
        rows: o.len(),
        columns: vec![
            ("name", Col::Text(o.iter().map(|x| x.name.clone()).collect())),
            ("aliases", Col::Text(o.iter().map(|x| x.aliases.join("|")).collect())),
            (
                "channels",
                Col::Text(
                    o.iter()
                        .map(|x| x.channels.iter().map(ToString::to_string).collect::<Vec<_>>().join("|"))
                        .collect(),
                ),
            ),
            ("region", Col::OptText(o.iter().map(|x| x.region.clone()).collect())),
            ("parent", Col::OptText(o.iter().map(|x| x.parent.clone()).collect())),
        ],
    };
    let c = &t.codes;
    let codes = Table {
        name: "theme_codes",
        rows: c.len(),
        columns: vec![
            ("release_id", Col::Int(c.iter().map(|x| x.release.0).collect())),
            ("taxonomy", Col::Text(c.iter().map(|x| x.taxonomy.clone()).collect())),
            ("coder", Col::Text(c.iter().map(|x| x.coder.clone()).collect())),
            ("primary_theme", Col::Text(c.iter().map(|x| x.primary.clone()).collect())),
            ("secondary_themes", Col::Text(c.iter().map(|x| x.secondary.join("|")).collect())),
            ("coded_at", Col::Time(c.iter().map(|x| x.at.unix_micros()).collect())),
        ],
    };
    vec![releases, sightings, outlets, codes]
}

/// A text cell as a spreadsheet will not evaluate it: texts come from
/// exports anyone could have written, and a cell beginning with `=`, `+`,
/// `-`, `@`, a tab or a carriage return is a formula to Excel, LibreOffice
/// and Google Sheets. Such a cell gets a leading `'` (OWASP's advice); the
/// Parquet files keep the text as it is (typed columns are not evaluated).
fn inert(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{cell}") } else { cell.to_owned() }
}

fn write_csv(path: &Path, table: &Table) -> Result<(), String> {
    let mut w = csv::Writer::from_path(path).map_err(|e| e.to_string())?;
    w.write_record(table.columns.iter().map(|(n, _)| *n)).map_err(|e| e.to_string())?;
    for i in 0..table.rows {
        let row: Vec<String> = table
            .columns
            .iter()
            .map(|(_, c)| match c {
                Col::Int(v) => v[i].to_string(),
                Col::Time(v) => rfc3339(v[i]),
                Col::Text(v) => inert(&v[i]),
                Col::OptText(v) => v[i].as_deref().map(inert).unwrap_or_default(),
            })
            .collect();
        w.write_record(&row).map_err(|e| e.to_string())?;
    }
    w.flush().map_err(|e| e.to_string())
}

fn write_parquet(path: &Path, table: &Table) -> Result<(), String> {
    let fields: Vec<String> = table
        .columns
        .iter()
        .map(|(n, c)| match c {
            Col::Int(_) => format!("REQUIRED INT64 {n};"),
            Col::Time(_) => format!("REQUIRED INT64 {n} (TIMESTAMP(MICROS,true));"),
            Col::Text(_) => format!("REQUIRED BYTE_ARRAY {n} (UTF8);"),
            Col::OptText(_) => format!("OPTIONAL BYTE_ARRAY {n} (UTF8);"),
        })
        .collect();
    let schema = parse_message_type(&format!("message {} {{ {} }}", table.name, fields.join(" ")))
        .map_err(|e| e.to_string())?;
    let props = WriterProperties::builder().set_compression(parquet::basic::Compression::SNAPPY).build();
    let file = File::create(path).map_err(|e| e.to_string())?;
    let mut writer =
        SerializedFileWriter::new(file, Arc::new(schema), Arc::new(props)).map_err(|e| e.to_string())?;
    let mut group = writer.next_row_group().map_err(|e| e.to_string())?;
    let mut i = 0;
    while let Some(mut col) = group.next_column().map_err(|e| e.to_string())? {
        let (_, data) = &table.columns[i];
        let result = match data {
            Col::Int(v) | Col::Time(v) => col.typed::<Int64Type>().write_batch(v, None, None).map(|_| ()),
            Col::Text(v) => {
                let vals: Vec<ByteArray> = v.iter().map(|s| ByteArray::from(s.as_str())).collect();
                col.typed::<ByteArrayType>().write_batch(&vals, None, None).map(|_| ())
            }
            Col::OptText(v) => {
                let defs: Vec<i16> = v.iter().map(|x| i16::from(x.is_some())).collect();
                let vals: Vec<ByteArray> = v.iter().flatten().map(|s| ByteArray::from(s.as_str())).collect();
                col.typed::<ByteArrayType>().write_batch(&vals, Some(&defs), None).map(|_| ())
            }
        };
        result.map_err(|e| e.to_string())?;
        col.close().map_err(|e| e.to_string())?;
        i += 1;
    }
    group.close().map_err(|e| e.to_string())?;
    writer.close().map_err(|e| e.to_string())?;
    Ok(())
}

/// Writes `releases`, `sightings` and `outlets` (`.csv` or `.parquet`) into
/// `dir`; returns the files written.
pub fn export(tables_in: &Tables, format: ExportFormat, dir: &Path) -> Result<Vec<PathBuf>, ExportError> {
    let mut written = Vec::new();
    for table in tables(tables_in) {
        let ext = match format {
            ExportFormat::Csv => "csv",
            ExportFormat::Parquet => "parquet",
        };
        let path = dir.join(format!("{}.{ext}", table.name));
        let result = match format {
            ExportFormat::Csv => write_csv(&path, &table),
            ExportFormat::Parquet => write_parquet(&path, &table),
        };
        result.map_err(|message| ExportError::Write { path: path.display().to_string(), message })?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod inert_tests {
    use super::inert;

    #[test]
    fn formula_cells_are_made_inert() {
        for (cell, want) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+1", "'+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("Gazette", "Gazette"),
            ("مكتب = المثال", "مكتب = المثال"),
            ("", ""),
        ] {
            assert_eq!(inert(cell), want, "{cell:?}");
        }
    }
}
