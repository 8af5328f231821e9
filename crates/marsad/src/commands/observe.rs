//! `marsad outlets`, `marsad releases`, `marsad analyze …`.

use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use marsad_core::UtcTime;
use marsad_observe::analytics::{self, By, Filter, Observatory};
use marsad_observe::calendar::Bucket;
use marsad_observe::describe::Format;
use marsad_observe::group::GroupConfig;
use marsad_store::OutletRecord;
use marsad_store::prelude::*;
use serde::Serialize;

use crate::cli::{AnalyzeCommand, FilterArgs, OutletsCommand, ReleasesArgs, TimeArgs};

/// A time on the command line: RFC 3339, or a date (midnight UTC).
pub fn parse_time(text: &str) -> Result<i64> {
    if let Ok(t) = UtcTime::parse_rfc3339(text) {
        return Ok(t.unix_micros());
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
        let dt = d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        return Ok(dt.timestamp_micros());
    }
    bail!("invalid time {text:?}: use RFC 3339 (2024-01-31T12:00:00Z) or a date (2024-01-31, UTC)")
}

pub fn filter(args: &FilterArgs, time: Option<&TimeArgs>) -> Result<Filter> {
    let mut f =
        Filter { official_only: args.official_only, outlets: args.outlet.clone(), ..Filter::default() };
    if let Some(list) = &args.format {
        let mut include = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (exclude, name) = match item.strip_prefix(['-', '!']) {
                Some(n) => (true, n),
                None => (false, item),
            };
            let fmt = Format::parse(name).ok_or_else(|| {
                anyhow!("unknown format {name:?}: use video, photo, photo_report, audio, text or document")
            })?;
            if exclude {
                f.exclude_formats.push(fmt);
            } else {
                include.push(fmt);
            }
        }
        if !include.is_empty() {
            f.formats = Some(include);
        }
    }
    if let Some(t) = time {
        f.from = t.from.as_deref().map(parse_time).transpose()?;
        f.to = t.to.as_deref().map(parse_time).transpose()?;
        if let (Some(from), Some(to), Some(a), Some(b)) = (f.from, f.to, &t.from, &t.to) {
            period_is_ordered(from, to, a, b)?;
        }
    }
    Ok(f)
}

/// A period is `[--from, --to)`: the end must come after the start.
fn period_is_ordered(from: i64, to: i64, from_text: &str, to_text: &str) -> Result<()> {
    if to <= from {
        bail!(
            "--to {to_text} is not after --from {from_text}: a period runs from --from up to, not including, --to"
        );
    }
    Ok(())
}

/// An `--outlet` that names no outlet selects nothing: say so, rather than
/// print an empty table that reads as silence.
pub fn warn_unknown_outlets(obs: &Observatory, f: &Filter) {
    for name in &f.outlets {
        if !obs.outlets.contains(name) {
            let known = if obs.outlets.is_empty() {
                "no outlet is registered (marsad outlets import FILE)".to_owned()
            } else {
                format!(
                    "the outlets are {}",
                    obs.outlets.iter().map(|o| format!("{o:?}")).collect::<Vec<_>>().join(", ")
                )
            };
            eprintln!(
                "warning: --outlet {name:?} names no outlet (names match exactly, aliases do not); {known}"
            );
        }
    }
}

/// Groups new posts and describes changed releases, then loads the
/// observatory (from its cache when current).
pub fn observatory(db: &str, store: &mut dyn Store) -> Result<Observatory> {
    let summary =
        marsad_observe::update::update(store, &GroupConfig::default(), false).context("grouping releases")?;
    if summary.new_posts > 0 {
        tracing::info!(?summary, "releases updated");
    }
    let cache = crate::store::observatory_path(db);
    marsad_observe::snapshot::load(&*store, cache.as_deref()).context("loading releases")
}

/// Replaces the registry with the outlets of a TOML file and attributes
/// every release again.
pub fn import_outlets(
    store: &mut dyn Store,
    file: &std::path::Path,
) -> Result<(Vec<OutletRecord>, marsad_observe::update::UpdateSummary)> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let outlets = marsad_observe::registry::parse(&text).map_err(|e| anyhow!("{}: {e}", file.display()))?;
    let records: Vec<OutletRecord> = outlets
        .iter()
        .map(|o| OutletRecord {
            name: o.name.clone(),
            aliases: o.aliases.clone(),
            channels: o.channels.clone(),
            region: o.region.clone(),
            parent: o.parent.clone(),
        })
        .collect();
    store.replace_outlets(&records)?;
    // Attribution depends on the registry: every release again.
    let summary = marsad_observe::update::update(store, &GroupConfig::default(), true)?;
    Ok((records, summary))
}

pub fn outlets(db: &str, json: bool, cmd: OutletsCommand) -> Result<ExitCode> {
    let mut store = crate::store::open(db)?;
    match cmd {
        OutletsCommand::Import { file } => {
            let (records, s) = import_outlets(&mut store, &file)?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "outlets": records.len(), "releases_attributed": s.releases_described })
                );
            } else {
                println!(
                    "registry: {} outlets from {}; {} releases attributed again",
                    records.len(),
                    file.display(),
                    s.releases_described
                );
            }
        }
        OutletsCommand::List => {
            let outlets = store.outlets()?;
            if json {
                let list: Vec<_> = outlets
                    .iter()
                    .map(|o| {
                        serde_json::json!({
                            "name": o.name, "aliases": o.aliases,
                            "channels": o.channels.iter().map(ToString::to_string).collect::<Vec<_>>(),
                            "region": o.region, "parent": o.parent,
                        })
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(list));
            } else if outlets.is_empty() {
                println!("no outlets registered (marsad outlets import FILE.toml)");
            } else {
                for o in &outlets {
                    let chans: Vec<String> = o.channels.iter().map(ToString::to_string).collect();
                    println!("{:<32} {}  {}", o.name, chans.join(" "), o.aliases.join(" · "));
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct ReleaseRow {
    id: marsad_core::ReleaseId,
    outlet: Option<String>,
    first_seen: String,
    last_seen: String,
    sightings: u64,
    channels: u64,
    format: marsad_core::ReleaseFormat,
    language: Option<String>,
    evidence: marsad_core::Evidence,
}

pub fn releases(db: &str, json: bool, args: ReleasesArgs) -> Result<ExitCode> {
    let mut store = crate::store::open(db)?;
    let f = filter(&args.filter, Some(&args.time))?;
    let obs = observatory(db, &mut store)?;
    warn_unknown_outlets(&obs, &f);
    let mask = f.mask(&obs);
    let keep: std::collections::HashSet<marsad_core::ReleaseId> = obs
        .releases
        .iter()
        .zip(&mask)
        .filter(|(_, k)| **k)
        .map(|(r, _)| marsad_core::ReleaseId(r.id))
        .collect();
    let mut rows = Vec::new();
    store.releases(&mut |r| {
        if keep.contains(&r.id) {
            rows.push(ReleaseRow {
                id: r.id,
                outlet: r.outlet,
                first_seen: r.first_seen.to_rfc3339(),
                last_seen: r.last_seen.to_rfc3339(),
                sightings: r.sightings,
                channels: r.channels,
                format: r.format,
                language: r.language,
                evidence: r.evidence,
            });
        }
        Ok(())
    })?;
    if json {
        println!("{}", serde_json::to_string(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:>6}  {:<20}  {:<26} {:>9} {:>8}  {:<12} {:<4}",
        "id", "first seen", "outlet", "sightings", "channels", "format", "lang"
    );
    for r in &rows {
        println!(
            "{:>6}  {:<20}  {:<26} {:>9} {:>8}  {:<12} {:<4}",
            r.id,
            r.first_seen,
            r.outlet.as_deref().unwrap_or("(unknown)"),
            r.sightings,
            r.channels,
            r.format,
            r.language.as_deref().unwrap_or("-")
        );
    }
    println!("{}", super::count(rows.len() as u64, "release"));
    Ok(ExitCode::SUCCESS)
}

fn bucket(text: &str, allowed: &[&str]) -> Result<Bucket> {
    if !allowed.contains(&text) {
        bail!("--bucket must be one of {}", allowed.join(", "));
    }
    Bucket::parse(text).ok_or_else(|| anyhow!("--bucket must be one of {}", allowed.join(", ")))
}

/// Streams `value` as one JSON line to standard output (outputs can be
/// hundreds of megabytes: never built in memory first).
fn print_json<T: Serialize>(value: &T) -> Result<()> {
    use std::io::Write as _;
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    serde_json::to_writer(&mut out, value)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}

fn pct(v: Option<f64>) -> String {
    v.map_or("-".to_owned(), |v| format!("{v:+.1}%"))
}

pub fn analyze(db: &str, json: bool, cmd: AnalyzeCommand) -> Result<ExitCode> {
    let mut store = crate::store::open(db)?;
    match cmd {
        AnalyzeCommand::Timeline { bucket: b, by, filter: fa, time } => {
            let bucket = bucket(&b, &["hour", "day", "week", "month", "hijri-month"])?;
            let by = by
                .as_deref()
                .map(|s| {
                    By::parse(s).ok_or_else(|| anyhow!("--by must be outlet, format, language or source"))
                })
                .transpose()?;
            let f = filter(&fa, Some(&time))?;
            let obs = observatory(db, &mut store)?;
            warn_unknown_outlets(&obs, &f);
            let rows = analytics::timeline(&obs, &f, bucket, by);
            if json {
                print_json(&rows)?;
            } else {
                println!("{:<22} {:<14} {:<28} {:>9} {:>10}", "bucket", "", "key", "releases", "sightings");
                for r in &rows {
                    println!(
                        "{:<22} {:<14} {:<28} {:>9} {:>10}",
                        r.bucket,
                        r.label.as_deref().unwrap_or(""),
                        r.key.as_deref().unwrap_or(if by.is_some() { "(unknown)" } else { "" }),
                        r.releases,
                        r.sightings
                    );
                }
            }
        }
        AnalyzeCommand::Trend { bucket: b, by, filter: fa, time } => {
            let bucket = bucket(&b, &["month", "hijri-month"])?;
            let by_outlet = match by.as_deref() {
                None => false,
                Some("outlet") => true,
                Some(other) => bail!("trend groups by outlet only, not {other:?}"),
            };
            let f = filter(&fa, Some(&time))?;
            let obs = observatory(db, &mut store)?;
            warn_unknown_outlets(&obs, &f);
            let rows = analytics::trend(&obs, &f, bucket, by_outlet);
            if json {
                print_json(&rows)?;
            } else {
                println!(
                    "{:<22} {:<12} {:<26} {:>8} {:>9} {:>10} {:>9}",
                    "bucket", "", "outlet", "releases", "change", "from peak", "sum of 3"
                );
                for r in &rows {
                    println!(
                        "{:<22} {:<12} {:<26} {:>8} {:>9} {:>9.1}% {:>9}",
                        r.bucket,
                        r.label.as_deref().unwrap_or(""),
                        r.key.as_deref().unwrap_or(if by_outlet { "(unknown)" } else { "all" }),
                        r.releases,
                        pct(r.change_pct),
                        // Below the peak as a fall (−9.2 %), a peak as 0.0 % (not −0.0 %).
                        0.0 - r.decline_from_peak_pct,
                        r.rolling_3
                    );
                }
            }
        }
        AnalyzeCommand::Silences { min_hours, filter: fa, time } => {
            if !(min_hours.is_finite() && min_hours >= 0.0) {
                bail!("--min-hours must be a non-negative number");
            }
            let f = filter(&fa, Some(&time))?;
            let obs = observatory(db, &mut store)?;
            warn_unknown_outlets(&obs, &f);
            let rows = analytics::silences(&obs, &f, min_hours);
            if json {
                print_json(&rows)?;
            } else {
                for r in &rows {
                    println!("{} → {}  {:>8.1} h", r.start, r.end, r.hours);
                }
                // Whose releases the gaps are between: said, since the
                // default (every outlet together) is easy to misread.
                let scope = match f.outlets.as_slice() {
                    [] => "between releases of any outlet, attributed or not".to_owned(),
                    [one] => format!("between releases of {one}"),
                    many => format!("between releases of {}", many.join(", ")),
                };
                println!("{} of {min_hours} h or more {scope}", super::count(rows.len() as u64, "silence"));
            }
        }
        AnalyzeCommand::Dormancy { at, days, filter: fa } => {
            if !(days.is_finite() && days > 0.0) {
                bail!("--days must be a positive number");
            }
            let at = parse_time(&at)?;
            let f = filter(&fa, None)?;
            let obs = observatory(db, &mut store)?;
            warn_unknown_outlets(&obs, &f);
            if obs.outlets.is_empty() {
                bail!("no outlets registered: import a registry first (marsad outlets import FILE.toml)");
            }
            let d = analytics::dormancy(&obs, &f, at, days);
            if json {
                print_json(&d)?;
            } else {
                println!("at {} (window {} days)", d.at, d.days);
                for o in &d.outlets {
                    println!(
                        "  {:<32} {:<7} last release {}",
                        o.outlet,
                        if o.silent { "silent" } else { "active" },
                        o.last_release.as_deref().unwrap_or("never")
                    );
                }
                println!(
                    "{} of {} outlets silent ({:.0}%)",
                    d.silent.len(),
                    d.outlets.len(),
                    d.silent_share * 100.0
                );
            }
        }
        AnalyzeCommand::Recycling { window_from, window_to, min_age_days, filter: fa } => {
            let (from, to) = (parse_time(&window_from)?, parse_time(&window_to)?);
            period_is_ordered(from, to, &window_from, &window_to)?;
            if !(min_age_days.is_finite() && min_age_days >= 0.0) {
                bail!("--min-age-days must be a number of at least 0, not {min_age_days}");
            }
            let f = filter(&fa, None)?;
            let obs = observatory(db, &mut store)?;
            warn_unknown_outlets(&obs, &f);
            let r = analytics::recycling(&obs, &f, from, to, min_age_days);
            if json {
                print_json(&r)?;
            } else {
                println!(
                    "{} of {} sightings ({:.1}%) were of releases first seen {min_age_days} days or more before",
                    r.recycled,
                    r.sightings,
                    r.share * 100.0
                );
            }
        }
        AnalyzeCommand::Amplification { filter: fa, time } => {
            let f = filter(&fa, Some(&time))?;
            let obs = observatory(db, &mut store)?;
            warn_unknown_outlets(&obs, &f);
            let a = analytics::amplification(&obs, &f);
            if json {
                print_json(&a)?;
            } else {
                let q = |name: &str, q: &analytics::Quantiles| {
                    let v = |x: Option<f64>| x.map_or("-".to_owned(), |x| format!("{x:.1}"));
                    println!(
                        "  {name:<14} n={:<7} median {:>7}  p90 {:>7}  max {:>8}  mean {:>7}",
                        q.count,
                        v(q.p50),
                        v(q.p90),
                        v(q.max),
                        v(q.mean)
                    );
                };
                println!("{}", super::count(a.summary.releases, "release"));
                q("sightings", &a.summary.sightings);
                q("channels", &a.summary.channels);
                q("hours to 2nd", &a.summary.hours_to_2nd);
                q("hours to 10th", &a.summary.hours_to_10th);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
