//! What marsad hands to people and to other tools.
//!
//! - [`render`]: one self-contained HTML report (styles and SVG charts
//!   inline, no scripts, nothing fetched) — releases over time stacked by
//!   outlet with silences shaded, an outlet × week heat map, the share of
//!   outlets silent over time, recycling over time, the format mix, and
//!   tables;
//! - [`export`]: releases, sightings and outlets as CSV or Parquet for
//!   pandas and R.
//!
//! Both read an [`marsad_observe::analytics::Observatory`] (or the store's
//! records) and never write to the store.
#![deny(missing_docs)]

pub mod data;
pub mod export;
pub mod html;
pub mod svg;

pub use data::{ReportData, ReportOptions};
pub use export::{ExportError, ExportFormat, Tables, export};

use marsad_observe::analytics::Observatory;

/// The report of `obs` as one HTML page.
pub fn render(obs: &Observatory, opts: &ReportOptions) -> String {
    html::page(&data::compute(obs, opts), opts)
}

/// Escapes text for HTML and SVG (content and attribute values).
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
