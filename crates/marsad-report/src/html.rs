//! The report page: one HTML file holding its styles and SVG charts, with
//! no scripts and no references outside itself (a Content-Security-Policy
//! forbids every fetch), so that it opens the same offline, in a mail
//! attachment, or years later.

use std::fmt::Write as _;

use crate::data::{ReportData, ReportOptions};
use crate::{esc, svg};

const STYLE: &str = r#"
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", "Noto Sans", "Noto Naskh Arabic", sans-serif; margin: 0; color: #1f2328; background: #fbfbfa; }
main { max-width: 1000px; margin: 0 auto; padding: 24px 20px 64px; }
h1 { font-size: 26px; margin: 8px 0 4px; }
h2 { font-size: 19px; margin: 36px 0 4px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
p.meta, p.note { color: #57606a; margin: 4px 0 12px; font-size: 14px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0; }
.card { background: #fff; border: 1px solid #e1e4e8; border-radius: 6px; padding: 10px 14px; min-width: 120px; }
.card b { display: block; font-size: 22px; }
.card span { color: #57606a; font-size: 13px; }
figure { margin: 8px 0 0; background: #fff; border: 1px solid #e1e4e8; border-radius: 6px; padding: 8px; overflow-x: auto; }
svg { display: block; max-width: 100%; height: auto; }
svg text { font-family: inherit; fill: #333; }
svg .tick { font-size: 11px; fill: #666; }
svg .label, svg .value { font-size: 12px; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 16px; margin: 8px 4px 2px; font-size: 13px; }
.legend i { display: inline-block; width: 12px; height: 12px; margin-right: 5px; vertical-align: -1px; border-radius: 2px; }
.legend i.band { background: rgba(214,39,40,.13); border: 1px dashed rgba(214,39,40,.6); }
table { border-collapse: collapse; width: 100%; background: #fff; font-size: 13px; margin-top: 8px; }
th, td { border: 1px solid #e1e4e8; padding: 4px 8px; text-align: left; }
th, td, bdi, .legend span, svg text { unicode-bidi: isolate; }
th { background: #f3f4f6; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
td.silent { color: #b42318; font-weight: 600; }
footer { margin-top: 40px; color: #57606a; font-size: 12px; }
"#;

fn card(out: &mut String, value: &str, label: &str) {
    let _ = write!(out, r#"<div class="card"><b>{}</b><span>{}</span></div>"#, esc(value), esc(label));
}

fn pct(part: u64, whole: u64) -> String {
    if whole == 0 { "–".to_owned() } else { format!("{:.1}%", part as f64 / whole as f64 * 100.0) }
}

fn time(micros: Option<i64>) -> String {
    micros.map(marsad_observe::rfc3339).unwrap_or_else(|| "–".to_owned())
}

fn opt_f(v: Option<f64>, digits: usize) -> String {
    v.map(|v| format!("{v:.digits$}")).unwrap_or_else(|| "–".to_owned())
}

/// The whole page.
pub fn page(data: &ReportData, opts: &ReportOptions) -> String {
    let mut out = String::with_capacity(256 * 1024);
    let _ = write!(
        out,
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="generator" content="marsad {}">
<title>{}</title>
<style>{STYLE}</style>
</head>
<body>
<main>
<h1>{}</h1>
<p class="meta">{} to {} (UTC) · generated {}</p>
"#,
        env!("CARGO_PKG_VERSION"),
        esc(&opts.title),
        esc(&opts.title),
        esc(&marsad_observe::rfc3339(data.start)),
        esc(&marsad_observe::rfc3339(data.end)),
        esc(&marsad_observe::rfc3339(opts.generated_at)),
    );
    filters_note(&mut out, opts);

    out.push_str(r#"<section class="cards">"#);
    card(&mut out, &data.releases.to_string(), "releases");
    card(&mut out, &data.sightings.to_string(), "sightings");
    card(&mut out, &data.sources.to_string(), "channels");
    card(&mut out, &pct(data.official, data.releases), "attributed to an outlet");
    card(&mut out, &data.silences.len().to_string(), &format!("silences ≥ {} h", opts.silence_min_hours));
    let recycled: u64 = data.recycling.iter().map(|p| p.recycled).sum();
    let seen: u64 = data.recycling.iter().map(|p| p.sightings).sum();
    card(
        &mut out,
        &pct(recycled, seen),
        &format!("sightings recycled (≥ {} days old)", opts.recycling_min_age_days),
    );
    out.push_str("</section>\n");

    if data.releases == 0 && data.sightings == 0 {
        out.push_str(r#"<p class="note">No releases in this period: ingest exports first (<code>marsad ingest telegram PATH</code>).</p>"#);
        out.push_str("</main></body></html>\n");
        return out;
    }

    let unit = crate::data::unit_name(data.bucket);
    let _ = write!(
        out,
        r#"<h2 id="releases">Releases per {unit}</h2><p class="note">Each release counted once, in the {unit} it was first seen; shaded bands are silences, gaps of {} hours or more with no new release.</p><figure>{}"#,
        opts.silence_min_hours,
        svg::releases_stacked(data)
    );
    out.push_str(r#"<div class="legend">"#);
    for (s, colour) in data.series.iter().zip(svg::series_colours(data)) {
        let total: u64 = s.counts.iter().sum();
        let _ = write!(
            out,
            r#"<span><i style="background:{colour}"></i><bdi>{}</bdi> ({total})</span>"#,
            esc(&s.name)
        );
    }
    if !data.silences.is_empty() {
        out.push_str(r#"<span><i class="band"></i>silence</span>"#);
    }
    out.push_str("</div></figure>\n");

    let heat_unit = crate::data::unit_name(data.heat_bucket);
    let week_note = if data.heat_bucket == marsad_observe::calendar::Bucket::Week {
        " (Monday to Sunday, UTC)"
    } else {
        " (UTC; the period is too long for weeks)"
    };
    let _ = write!(
        out,
        r#"<h2 id="heatmap">Outlets × {}</h2><p class="note">Releases first seen per outlet and {heat_unit}{week_note}; empty rows are outlets that released nothing.</p><figure>{}</figure>"#,
        crate::data::unit_plural(data.heat_bucket),
        svg::heatmap(data)
    );

    if data.outlets_listed.is_empty() {
        out.push_str(r#"<h2 id="silent">Outlets gone silent</h2><p class="note">No outlet registry: import one with <code>marsad outlets import FILE.toml</code> to see which outlets fell silent.</p>"#);
    } else if data.silent_share.is_empty() {
        let _ = write!(
            out,
            r#"<h2 id="silent">Outlets gone silent</h2><p class="note">The period is shorter than the {}-day window.</p>"#,
            opts.dormancy_days
        );
    } else {
        let _ = write!(
            out,
            r#"<h2 id="silent">Outlets gone silent</h2><p class="note">At each week boundary, the share of the {} registered outlets with no release first seen in the {} days before it.</p><figure>{}</figure>"#,
            data.outlets_listed.len(),
            opts.dormancy_days,
            svg::silent_share(data, opts.dormancy_days)
        );
    }

    let _ = write!(
        out,
        r#"<h2 id="recycling">Recycled material</h2><p class="note">Share of each {unit}'s sightings whose release was first seen at least {} days before.</p><figure>{}</figure>"#,
        opts.recycling_min_age_days,
        svg::recycling(data, opts.recycling_min_age_days)
    );

    let _ = write!(
        out,
        r#"<h2 id="formats">Formats</h2><p class="note">A photo report is three or more images posted together.</p><figure>{}</figure>"#,
        svg::formats(data)
    );

    tables(&mut out, data, opts);
    let _ = write!(
        out,
        "<footer>Made by marsad {}. Times are UTC. Hover a mark to see its figure.</footer>\n</main>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    );
    out
}

fn filters_note(out: &mut String, opts: &ReportOptions) {
    let f = &opts.filter;
    let mut parts = Vec::new();
    if f.official_only {
        parts.push("official releases only".to_owned());
    }
    if let Some(formats) = &f.formats {
        parts.push(format!("formats: {}", formats.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(", ")));
    }
    if !f.exclude_formats.is_empty() {
        parts.push(format!(
            "excluding: {}",
            f.exclude_formats.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(", ")
        ));
    }
    if !f.outlets.is_empty() {
        parts.push(format!("outlets: {}", f.outlets.join(", ")));
    }
    if !parts.is_empty() {
        let _ = write!(out, r#"<p class="meta">Filters: {}</p>"#, esc(&parts.join("; ")));
    }
}

fn tables(out: &mut String, data: &ReportData, opts: &ReportOptions) {
    if !data.outlet_rows.is_empty() {
        let _ = write!(
            out,
            r#"<h2 id="outlets">Outlets</h2><table><thead><tr><th>outlet</th><th>releases</th><th>sightings</th><th>first release</th><th>last release</th><th>at the end ({} days)</th></tr></thead><tbody>"#,
            opts.dormancy_days
        );
        for r in &data.outlet_rows {
            let _ = write!(
                out,
                r#"<tr><td><bdi>{}</bdi></td><td class="n">{}</td><td class="n">{}</td><td>{}</td><td>{}</td>{}</tr>"#,
                esc(&r.name),
                r.releases,
                r.sightings,
                time(r.first),
                time(r.last),
                if r.silent_at_end { r#"<td class="silent">silent</td>"# } else { "<td>active</td>" }
            );
        }
        out.push_str("</tbody></table>\n");
    }

    let _ = write!(
        out,
        r#"<h2 id="silences">Silences</h2><p class="note">Gaps of at least {} hours between consecutive releases.</p>"#,
        opts.silence_min_hours
    );
    if data.silence_rows.is_empty() {
        out.push_str(r#"<p class="note">None.</p>"#);
    } else {
        out.push_str("<table><thead><tr><th>from</th><th>to</th><th>hours</th></tr></thead><tbody>");
        for s in &data.silence_rows {
            let _ = write!(
                out,
                r#"<tr><td>{}</td><td>{}</td><td class="n">{:.1}</td></tr>"#,
                esc(&s.start.to_rfc3339()),
                esc(&s.end.to_rfc3339()),
                s.hours
            );
        }
        out.push_str("</tbody></table>\n");
    }

    if !data.trend.is_empty() {
        let unit = crate::data::unit_name(data.trend_bucket);
        let (heading, label_chars) = if data.trend_bucket == marsad_observe::calendar::Bucket::Month {
            ("Monthly trend".to_owned(), 7)
        } else {
            (format!("Trend per {unit}"), 4)
        };
        let _ = write!(
            out,
            r#"<h2 id="trend">{heading}</h2><table><thead><tr><th>{unit}</th><th>releases</th><th>change</th><th>below peak</th><th>3-{unit} sum</th></tr></thead><tbody>"#
        );
        for t in &data.trend {
            let _ = write!(
                out,
                r#"<tr><td>{}{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{:.1}%</td><td class="n">{}</td></tr>"#,
                esc(&t.bucket.to_rfc3339().chars().take(label_chars).collect::<String>()),
                if t.partial { format!(r#"<span title="partial {unit}">*</span>"#) } else { String::new() },
                t.releases,
                t.change_pct.map(|c| format!("{c:+.1}%")).unwrap_or_else(|| "–".to_owned()),
                t.decline_from_peak_pct,
                t.rolling_3
            );
        }
        out.push_str("</tbody></table>\n");
        if data.trend.iter().any(|t| t.partial) {
            let _ = write!(
                out,
                r#"<p class="note">* Partial {unit}: the data (or the period) covers only part of it, so its count is not a whole {unit}'s and no change is shown into or out of it.</p>"#
            );
            out.push('\n');
        }
    }

    if !data.top_releases.is_empty() {
        out.push_str(r#"<h2 id="amplified">Most sighted releases</h2><table><thead><tr><th>release</th><th>outlet</th><th>first seen</th><th>sightings</th><th>channels</th><th>hours to 2nd</th><th>hours to 10th</th></tr></thead><tbody>"#);
        for s in &data.top_releases {
            let _ = write!(
                out,
                r#"<tr><td class="n">{}</td><td><bdi>{}</bdi></td><td>{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
                s.id,
                esc(s.outlet.as_deref().unwrap_or("unattributed")),
                esc(&s.first_seen.to_rfc3339()),
                s.sightings,
                s.channels,
                opt_f(s.hours_to_2nd, 1),
                opt_f(s.hours_to_10th, 1)
            );
        }
        out.push_str("</tbody></table>\n");
    }
}

#[cfg(test)]
mod tests {
    use marsad_observe::analytics::{Observatory, Release, Sighting};
    use marsad_observe::describe::Format;

    use super::page;
    use crate::data::{ReportOptions, compute};

    const DAY: i64 = 86_400_000_000;
    const FEB: i64 = 1_706_745_600_000_000; // 2024-02-01
    const MAR: i64 = 1_709_251_200_000_000; // 2024-03-01
    const APR: i64 = 1_711_929_600_000_000; // 2024-04-01

    /// The monthly table's cells, row by row.
    fn trend_rows(html: &str) -> Vec<String> {
        let table = html.split(r#"<h2 id="trend">"#).nth(1).expect("trend table");
        let body = table.split("</tbody>").next().unwrap_or_default();
        body.split("<tr>").skip(2).map(|r| r.split("</td>").next().unwrap_or_default().to_owned()).collect()
    }

    #[test]
    fn outlet_names_are_isolated_from_the_figures_beside_them() {
        let name = "Evil\u{202E} Media";
        let mut obs =
            Observatory { outlets: vec![name.into()], sources: vec!["t:1".into()], ..Default::default() };
        obs.releases.push(Release {
            id: 1,
            first_seen: FEB,
            last_seen: FEB,
            outlet: Some(0),
            format: Format::Photo,
            language: None,
            source: 0,
        });
        obs.sightings.push(Sighting { release: 0, source: 0, time: FEB });
        let opts = ReportOptions::default();
        let html = page(&compute(&obs, &opts), &opts);
        let mut rest = html.as_str();
        let mut seen = 0;
        while let Some(i) = rest.find(name) {
            // Every occurrence in the page's text sits inside an isolate.
            let before = &rest[..i];
            let isolated = before.ends_with("<bdi>")
                || before.rfind("<text").is_some_and(|t| !before[t..].contains("</text>"))
                || before.rfind("<title>").is_some_and(|t| !before[t..].contains("</title>"));
            assert!(isolated, "not isolated: …{}", &before[before.len().saturating_sub(80)..]);
            seen += 1;
            rest = &rest[i + name.len()..];
        }
        assert!(seen >= 2, "{seen}");
        assert!(html.contains("unicode-bidi: isolate"));
    }

    #[test]
    fn partial_months_are_marked_with_a_footnote() {
        // Data from February 15th to March's last microsecond: February is
        // partial, March whole.
        let times = [FEB + 14 * DAY, FEB + 20 * DAY, MAR + DAY, MAR + 2 * DAY, MAR + 3 * DAY];
        let mut obs =
            Observatory { outlets: vec!["A".into()], sources: vec!["t:1".into()], ..Default::default() };
        for (i, &t) in times.iter().enumerate() {
            obs.releases.push(Release {
                id: i as i64 + 1,
                first_seen: t,
                last_seen: t,
                outlet: Some(0),
                format: Format::Photo,
                language: None,
                source: 0,
            });
            obs.sightings.push(Sighting { release: i as u32, source: 0, time: t });
        }
        obs.sightings.push(Sighting { release: 0, source: 0, time: APR - 1 });
        let opts = ReportOptions::default();
        let html = page(&compute(&obs, &opts), &opts);
        let rows = trend_rows(&html);
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert!(rows[0].ends_with(r#"2024-02<span title="partial month">*</span>"#), "{rows:?}");
        assert!(rows[1].ends_with("2024-03"), "{rows:?}");
        // No +50 % out of half a month.
        let table = html.split(r#"<h2 id="trend">"#).nth(1).expect("trend table");
        let march = table.split("<td>2024-03").nth(1).expect("march row");
        assert!(march.starts_with(r#"</td><td class="n">3</td><td class="n">–</td>"#), "{march}");
        assert!(html.contains("* Partial month"));

        // Whole months only: no mark, no footnote.
        obs.sightings.push(Sighting { release: 0, source: 0, time: FEB });
        let html = page(&compute(&obs, &opts), &opts);
        assert_eq!(trend_rows(&html), ["<td>2024-02", "<td>2024-03"]);
        assert!(!html.contains("* Partial month"));
    }
}
