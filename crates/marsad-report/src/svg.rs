//! The charts, as inline SVG: drawn by hand because they are few and plain,
//! and because an SVG written here needs no fonts, scripts or files beside
//! the report. Every mark carries a `<title>` so that hovering shows the
//! figure behind it.

use std::fmt::Write as _;

use chrono::{Datelike, TimeZone, Utc};
use marsad_observe::calendar::Bucket;

use crate::data::{ReportData, SeriesKind};
use crate::esc;

/// Colours of the outlets drawn on their own (Tableau 10, which stays
/// distinguishable for the common colour-vision deficiencies).
pub const PALETTE: [&str; 9] =
    ["#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#9c755f", "#ff9da7", "#e15759"];
/// The other outlets together.
pub const OTHER: &str = "#8c8c8c";
/// Releases attributed to no outlet.
pub const UNATTRIBUTED: &str = "#cfcfcf";
/// Format bars (one colour: formats are not outlets).
pub const FORMAT_BAR: &str = "#5b7083";
/// Silence bands.
pub const SILENCE: &str = "#d62728";
/// The silent-share line.
pub const SILENT_LINE: &str = "#b42318";
/// Recycling bars.
pub const RECYCLING: &str = "#6a51a3";
/// The heat map's deepest cell.
pub const HEAT_MAX: &str = "#08306b";

/// The colour of each stacked series, in order.
pub fn series_colours(data: &ReportData) -> Vec<&'static str> {
    let mut k = 0;
    data.series
        .iter()
        .map(|s| match s.kind {
            SeriesKind::Outlet => {
                k += 1;
                PALETTE[(k - 1) % PALETTE.len()]
            }
            SeriesKind::OtherOutlets => OTHER,
            SeriesKind::Unattributed => UNATTRIBUTED,
        })
        .collect()
}

const WIDTH: f64 = 960.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;

fn date(micros: i64) -> String {
    Utc.timestamp_micros(micros).single().map(|t| t.format("%Y-%m-%d").to_string()).unwrap_or_default()
}

fn datetime(micros: i64) -> String {
    Utc.timestamp_micros(micros)
        .single()
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// A time axis mapping `[a, b)` onto `[x0, x1]`.
#[derive(Clone, Copy)]
struct TimeAxis {
    a: i64,
    b: i64,
    x0: f64,
    x1: f64,
}

impl TimeAxis {
    fn x(&self, t: i64) -> f64 {
        let t = t.clamp(self.a, self.b);
        self.x0 + (t - self.a) as f64 / (self.b - self.a).max(1) as f64 * (self.x1 - self.x0)
    }

    /// Ticks: days, weeks, months, quarters or years, whichever gives at
    /// most a dozen.
    fn ticks(&self) -> Vec<(i64, String)> {
        let span_days = (self.b - self.a) as f64 / 86_400e6;
        let (bucket, every, fmt): (Bucket, u32, &str) = if span_days <= 12.0 {
            (Bucket::Day, 1, "%m-%d")
        } else if span_days <= 84.0 {
            (Bucket::Week, 1, "%m-%d")
        } else if span_days <= 366.0 {
            (Bucket::Month, 1, "%Y-%m")
        } else if span_days <= 1100.0 {
            (Bucket::Month, 3, "%Y-%m")
        } else {
            // Years, decades, centuries…: at most a dozen ticks however long
            // the span.
            let years = span_days / 365.2425;
            let n = [1u16, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000]
                .into_iter()
                .find(|&n| f64::from(n) * 12.0 >= years)
                .unwrap_or(10_000);
            (Bucket::Years(n), 1, "%Y")
        };
        let mut out = Vec::new();
        let mut t = bucket.start(self.a);
        while t < self.b {
            if let Some(d) = Utc.timestamp_micros(t).single().filter(|_| t >= self.a)
                && (every == 1 || d.month0() % every == 0)
            {
                out.push((t, d.format(fmt).to_string()));
            }
            let n = bucket.next(t);
            if n <= t {
                break;
            }
            t = n;
        }
        out
    }
}

/// Round tick values for `0..=max`.
fn y_ticks(max: f64) -> Vec<f64> {
    if max <= 0.0 {
        return vec![0.0];
    }
    let raw = max / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag);
    let step = step.max(1.0);
    let mut v = Vec::new();
    let mut t = 0.0;
    while t <= max + 1e-9 {
        v.push(t);
        t += step;
    }
    if v.last().is_some_and(|&l| l < max) {
        v.push(t);
    }
    v
}

fn open(out: &mut String, height: f64, label: &str) {
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" aria-label="{}"><title>{}</title>"#,
        esc(label),
        esc(label)
    );
}

fn x_axis(out: &mut String, axis: &TimeAxis, y: f64, top: f64) {
    let _ = write!(
        out,
        r##"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#666"/>"##,
        axis.x0, axis.x1
    );
    for (t, label) in axis.ticks() {
        let x = axis.x(t);
        let _ = write!(
            out,
            r##"<line x1="{x:.1}" y1="{top:.1}" x2="{x:.1}" y2="{:.1}" stroke="#e5e5e5"/><text x="{x:.1}" y="{:.1}" class="tick" text-anchor="middle">{}</text>"##,
            y,
            y + 16.0,
            esc(&label)
        );
    }
}

fn y_axis(out: &mut String, ticks: &[f64], y_of: impl Fn(f64) -> f64, fmt: impl Fn(f64) -> String) {
    for &v in ticks {
        let y = y_of(v);
        let _ = write!(
            out,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#eeeeee"/><text x="{:.1}" y="{:.1}" class="tick" text-anchor="end">{}</text>"##,
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            esc(&fmt(v))
        );
    }
}

fn bucket_axis(data: &ReportData) -> TimeAxis {
    let a = data.buckets.first().copied().unwrap_or(data.start);
    let b = data.buckets.last().map_or(data.end, |&l| data.bucket.next(l));
    TimeAxis { a, b, x0: LEFT, x1: WIDTH - RIGHT }
}

fn silence_bands(out: &mut String, data: &ReportData, axis: &TimeAxis, top: f64, bottom: f64) {
    for &(a, b) in &data.silences {
        let (x0, x1) = (axis.x(a), axis.x(b));
        let hours = (b - a) as f64 / 3.6e9;
        let _ = write!(
            out,
            r#"<rect class="silence" x="{x0:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="{SILENCE}" fill-opacity="0.13" stroke="{SILENCE}" stroke-opacity="0.5" stroke-dasharray="3 3"><title>silence: {} → {} ({hours:.1} h without a release)</title></rect>"#,
            (x1 - x0).max(1.5),
            bottom - top,
            datetime(a),
            datetime(b)
        );
    }
}

/// Releases per bucket stacked by outlet, with silence bands.
pub fn releases_stacked(data: &ReportData) -> String {
    let height = 300.0;
    let bottom = height - BOTTOM;
    let axis = bucket_axis(data);
    let totals: Vec<u64> =
        (0..data.buckets.len()).map(|i| data.series.iter().map(|s| s.counts[i]).sum()).collect();
    let max = totals.iter().copied().max().unwrap_or(0) as f64;
    let ticks = y_ticks(max);
    let top_value = ticks.last().copied().unwrap_or(1.0).max(1.0);
    let y_of = |v: f64| bottom - v / top_value * (bottom - TOP);
    let unit = if data.bucket == Bucket::Week { "week" } else { "month" };
    let mut out = String::new();
    open(&mut out, height, &format!("Releases per {unit}, stacked by outlet, with silences shaded"));
    y_axis(&mut out, &ticks, y_of, |v| format!("{v}"));
    x_axis(&mut out, &axis, bottom, TOP);
    let colours = series_colours(data);
    for (i, &start) in data.buckets.iter().enumerate() {
        let end = data.bucket.next(start);
        let (x0, x1) = (axis.x(start), axis.x(end));
        let w = (x1 - x0 - 1.0).max(0.8);
        let mut acc = 0.0;
        for (s, colour) in data.series.iter().zip(&colours) {
            let n = s.counts[i];
            if n == 0 {
                continue;
            }
            let (ya, yb) = (y_of(acc), y_of(acc + n as f64));
            acc += n as f64;
            let _ = write!(
                out,
                r#"<rect class="bar" x="{:.1}" y="{yb:.1}" width="{w:.1}" height="{:.1}" fill="{colour}"><title>{} — {unit} of {}: {n} release{}</title></rect>"#,
                x0 + 0.5,
                ya - yb,
                esc(&s.name),
                date(start),
                if n == 1 { "" } else { "s" }
            );
        }
    }
    silence_bands(&mut out, data, &axis, TOP, bottom);
    out.push_str("</svg>");
    out
}

/// Interpolates from a pale to a deep blue.
fn heat_colour(n: u64, max: u64) -> String {
    if n == 0 {
        return "#f1f3f5".to_owned();
    }
    let f = ((n as f64) / (max.max(1) as f64)).sqrt();
    let lerp = |a: f64, b: f64| (a + (b - a) * f).round() as u8;
    format!("#{:02x}{:02x}{:02x}", lerp(198.0, 8.0), lerp(219.0, 48.0), lerp(239.0, 107.0))
}

/// Releases per outlet per week.
pub fn heatmap(data: &ReportData) -> String {
    let label_w = 210.0;
    let row_h = 18.0;
    let top = 24.0;
    let weeks = data.weeks.len().max(1);
    let cell_w = ((WIDTH - label_w - RIGHT) / weeks as f64).clamp(2.0, 28.0);
    let width = label_w + cell_w * weeks as f64 + RIGHT;
    let height = top + row_h * data.heat.len() as f64 + 8.0;
    let max = data.heat.iter().flat_map(|(_, v)| v.iter().copied()).max().unwrap_or(0);
    let mut out = String::new();
    let unit = crate::data::unit_name(data.heat_bucket);
    let label = format!("Releases per outlet per {unit}");
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0} {height:.0}" width="{width:.0}" height="{height:.0}" role="img" aria-label="{label}"><title>{label}</title>"#
    );
    // Month labels along the top (years, for longer columns).
    let mut last_month = None;
    let by_year = data.heat_bucket != Bucket::Week;
    let year_every = weeks.div_ceil(12).max(1);
    for (i, &w) in data.weeks.iter().enumerate() {
        if by_year {
            if i % year_every == 0 {
                let Some(d) = Utc.timestamp_micros(w).single() else { continue };
                let _ = write!(
                    out,
                    r#"<text x="{:.1}" y="14" class="tick">{}</text>"#,
                    label_w + cell_w * i as f64,
                    d.format("%Y")
                );
            }
            continue;
        }
        let Some(d) = Utc.timestamp_micros(w).single() else { continue };
        let month = (d.year(), d.month());
        if last_month != Some(month) {
            let first = last_month.is_none();
            last_month = Some(month);
            let every = if weeks > 104 { 3 } else { 1 };
            if first || d.month0() % every == 0 {
                let _ = write!(
                    out,
                    r#"<text x="{:.1}" y="14" class="tick">{}</text>"#,
                    label_w + cell_w * i as f64,
                    d.format(if weeks > 104 { "%Y-%m" } else { "%b %Y" })
                );
            }
        }
    }
    for (row, (name, counts)) in data.heat.iter().enumerate() {
        let y = top + row_h * row as f64;
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" class="label" text-anchor="end">{}</text>"#,
            label_w - 8.0,
            y + row_h * 0.7,
            esc(&truncate(name, 30))
        );
        for (i, &n) in counts.iter().enumerate() {
            let _ = write!(
                out,
                r#"<rect class="cell" x="{:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{} — {unit} of {}: {n} release{}</title></rect>"#,
                label_w + cell_w * i as f64,
                (cell_w - 1.0).max(1.0),
                row_h - 2.0,
                heat_colour(n, max),
                esc(name),
                date(data.weeks[i]),
                if n == 1 { "" } else { "s" }
            );
        }
    }
    out.push_str("</svg>");
    out
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_owned() } else { s.chars().take(n - 1).chain(['…']).collect() }
}

/// Share of the outlets silent over time.
pub fn silent_share(data: &ReportData, days: f64) -> String {
    let height = 220.0;
    let bottom = height - BOTTOM;
    let axis = bucket_axis(data);
    let last = data.silent_share.last().map_or(axis.b, |p| p.0);
    let axis = TimeAxis { b: axis.b.max(last), ..axis };
    let y_of = |v: f64| bottom - v * (bottom - TOP);
    let mut out = String::new();
    open(&mut out, height, &format!("Share of outlets with no release in the previous {days} days"));
    y_axis(&mut out, &[0.0, 0.25, 0.5, 0.75, 1.0], y_of, |v| format!("{:.0}%", v * 100.0));
    x_axis(&mut out, &axis, bottom, TOP);
    let points: Vec<String> =
        data.silent_share.iter().map(|&(t, v)| format!("{:.1},{:.1}", axis.x(t), y_of(v))).collect();
    let _ = write!(
        out,
        r#"<polyline class="line" points="{}" fill="none" stroke="{SILENT_LINE}" stroke-width="2"/>"#,
        points.join(" ")
    );
    for &(t, v) in &data.silent_share {
        let silent = (v * data.outlets_listed.len() as f64).round();
        let _ = write!(
            out,
            r#"<circle class="point" cx="{:.1}" cy="{:.1}" r="3" fill="{SILENT_LINE}"><title>{}: {silent} of {} outlets silent ({:.0}%)</title></circle>"#,
            axis.x(t),
            y_of(v),
            date(t),
            data.outlets_listed.len(),
            v * 100.0
        );
    }
    out.push_str("</svg>");
    out
}

/// Share of sightings that were recycled, per bucket.
pub fn recycling(data: &ReportData, days: f64) -> String {
    let height = 220.0;
    let bottom = height - BOTTOM;
    let axis = bucket_axis(data);
    let max = data
        .recycling
        .iter()
        .filter(|p| p.sightings > 0)
        .map(|p| p.recycled as f64 / p.sightings as f64)
        .fold(0.0, f64::max);
    let top_value = if max <= 0.0 { 0.1 } else { (max * 10.0).ceil() / 10.0 };
    let ticks: Vec<f64> = (0..=4).map(|i| top_value * i as f64 / 4.0).collect();
    let y_of = |v: f64| bottom - v / top_value * (bottom - TOP);
    let mut out = String::new();
    open(
        &mut out,
        height,
        &format!("Share of sightings whose release was first seen at least {days} days earlier"),
    );
    y_axis(&mut out, &ticks, y_of, |v| format!("{:.1}%", v * 100.0));
    x_axis(&mut out, &axis, bottom, TOP);
    for p in &data.recycling {
        if p.sightings == 0 {
            continue;
        }
        let share = p.recycled as f64 / p.sightings as f64;
        let (x0, x1) = (axis.x(p.start), axis.x(data.bucket.next(p.start)));
        let y = y_of(share);
        let _ = write!(
            out,
            r#"<rect class="bar" x="{:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{RECYCLING}"><title>{}: {} of {} sightings recycled ({:.1}%)</title></rect>"#,
            x0 + 0.5,
            (x1 - x0 - 1.0).max(0.8),
            (bottom - y).max(if p.recycled > 0 { 1.0 } else { 0.0 }),
            date(p.start),
            p.recycled,
            p.sightings,
            share * 100.0
        );
    }
    out.push_str("</svg>");
    out
}

/// Releases per format, as horizontal bars.
pub fn formats(data: &ReportData) -> String {
    let row_h = 26.0;
    let label_w = 120.0;
    let height = 8.0 + row_h * data.formats.len().max(1) as f64;
    let total: u64 = data.formats.iter().map(|f| f.1).sum();
    let max = data.formats.iter().map(|f| f.1).max().unwrap_or(1).max(1);
    let span = WIDTH - label_w - 170.0;
    let mut out = String::new();
    open(&mut out, height, "Releases by format");
    for (i, (format, n)) in data.formats.iter().enumerate() {
        let y = 4.0 + row_h * i as f64;
        let w = (*n as f64 / max as f64 * span).max(1.0);
        let pct = *n as f64 / total.max(1) as f64 * 100.0;
        let _ = write!(
            out,
            r##"<text x="{:.1}" y="{:.1}" class="label" text-anchor="end">{}</text><rect class="bar" x="{label_w}" y="{y:.1}" width="{w:.1}" height="{:.1}" fill="{}"><title>{}: {n} releases ({pct:.1}%)</title></rect><text x="{:.1}" y="{:.1}" class="value">{n} ({pct:.1}%)</text>"##,
            label_w - 8.0,
            y + row_h * 0.62,
            format.as_str().replace('_', " "),
            row_h - 6.0,
            FORMAT_BAR,
            format.as_str(),
            label_w + w + 6.0,
            y + row_h * 0.62
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn y_ticks_cover_the_maximum_with_round_steps() {
        assert_eq!(y_ticks(0.0), vec![0.0]);
        assert_eq!(y_ticks(4.0), vec![0.0, 1.0, 2.0, 3.0, 4.0]);
        let t = y_ticks(754.0);
        assert_eq!(t[1] - t[0], 200.0);
        assert!(*t.last().unwrap_or(&0.0) >= 754.0);
    }

    #[test]
    fn heat_colour_is_pale_for_zero_and_deepest_at_the_maximum() {
        assert_eq!(heat_colour(0, 10), "#f1f3f5");
        assert_eq!(heat_colour(10, 10), "#08306b");
    }

    #[test]
    fn time_ticks_stay_within_the_axis_and_are_few() {
        let day = 86_400_000_000i64;
        for span in [3, 30, 120, 700, 3000] {
            let a = 1_704_067_200_000_000 + 5 * day;
            let axis = TimeAxis { a, b: a + span * day, x0: 0.0, x1: 100.0 };
            let ticks = axis.ticks();
            assert!(!ticks.is_empty() && ticks.len() <= 14, "span {span}: {} ticks", ticks.len());
            assert!(ticks.iter().all(|(t, _)| *t >= axis.a && *t < axis.b));
        }
    }
}
