//! `marsad outlets`, `marsad releases`, `marsad analyze …`.

use std::process::ExitCode;

use anyhow::Result;
use marsad_engine::Engine;
use marsad_engine::analytics::{Filter, Observatory, Quantiles};
use marsad_engine::observatory::{Analysis, FilterSpec, Query, analyze as run_query, unknown_outlets};
use serde::Serialize;

use crate::cli::{AnalyzeCommand, FilterArgs, OutletsCommand, ReleasesArgs, TimeArgs};
use crate::table::Table;

/// The engine's filter spec from the flags.
pub fn spec(args: &FilterArgs, time: Option<&TimeArgs>) -> FilterSpec {
    FilterSpec {
        official_only: args.official_only,
        formats: args.format.clone(),
        outlets: args.outlet.clone(),
        from: time.and_then(|t| t.from.clone()),
        to: time.and_then(|t| t.to.clone()),
    }
}

/// Warns about each `--outlet` that names no outlet.
pub fn warn_unknown(obs: &Observatory, f: &Filter) {
    for u in unknown_outlets(obs, f) {
        eprintln!("warning: {u}");
    }
}

pub fn outlets(db: &str, json: bool, cmd: OutletsCommand) -> Result<ExitCode> {
    let mut engine = crate::store::open(db)?;
    match cmd {
        OutletsCommand::Import { file } => {
            let r = engine.import_outlets(&file)?;
            if json {
                println!("{}", serde_json::to_string(&r)?);
            } else {
                println!(
                    "registry: {} outlets from {}; {} releases attributed again",
                    r.outlets,
                    file.display(),
                    r.releases_attributed
                );
            }
        }
        OutletsCommand::List => {
            let outlets = engine.outlets()?;
            if json {
                println!("{}", serde_json::to_string(&outlets)?);
            } else if outlets.is_empty() {
                println!("no outlets registered (marsad outlets import FILE.toml)");
            } else {
                let mut t = Table::new(&["outlet", "channels", "aliases"]);
                for o in &outlets {
                    t.row(vec![o.name.clone(), o.channels.join(" "), o.aliases.join(" · ")]);
                }
                t.print();
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn releases(db: &str, json: bool, args: ReleasesArgs) -> Result<ExitCode> {
    let mut engine = crate::store::open(db)?;
    let f = spec(&args.filter, Some(&args.time)).parse()?;
    let obs = engine.observatory()?;
    warn_unknown(&obs, &f);
    let rows = engine.releases(&obs, &f)?;
    if json {
        print_json(&rows)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = Table::new(&["id", "first seen", "outlet", "sightings", "channels", "format", "lang"]);
    t.right(0).right(3).right(4);
    for r in &rows {
        t.row(vec![
            r.id.to_string(),
            r.first_seen.clone(),
            r.outlet.clone().unwrap_or_else(|| "(unknown)".to_owned()),
            r.sightings.to_string(),
            r.channels.to_string(),
            r.format.to_string(),
            r.language.clone().unwrap_or_else(|| "-".to_owned()),
        ]);
    }
    t.print();
    println!("{}", super::count(rows.len() as u64, "release"));
    Ok(ExitCode::SUCCESS)
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

/// The engine's query and filter of an `analyze` command.
fn query(cmd: &AnalyzeCommand) -> Result<(Query, FilterSpec)> {
    Ok(match cmd {
        AnalyzeCommand::Timeline { bucket, by, filter, time } => {
            (Query::timeline(bucket, by.as_deref())?, spec(filter, Some(time)))
        }
        AnalyzeCommand::Trend { bucket, by, filter, time } => {
            (Query::trend(bucket, by.as_deref())?, spec(filter, Some(time)))
        }
        AnalyzeCommand::Silences { min_hours, filter, time } => {
            (Query::silences(*min_hours)?, spec(filter, Some(time)))
        }
        AnalyzeCommand::Dormancy { at, days, filter } => (Query::dormancy(at, *days)?, spec(filter, None)),
        AnalyzeCommand::Recycling { window_from, window_to, min_age_days, filter } => {
            (Query::recycling(window_from, window_to, *min_age_days)?, spec(filter, None))
        }
        AnalyzeCommand::Amplification { filter, time } => (Query::Amplification, spec(filter, Some(time))),
        AnalyzeCommand::Themes { .. } => anyhow::bail!("analyze themes is not a query of the observatory"),
    })
}

fn analyze_themes(
    db: &str,
    json: bool,
    bucket: &str,
    by: Option<&str>,
    spec: FilterSpec,
) -> Result<ExitCode> {
    let f = spec.parse()?;
    let mut engine: Engine = crate::store::open(db)?;
    let report = engine.themes_report(&f, bucket, by)?;
    if json {
        print_json(&report)?;
        return Ok(ExitCode::SUCCESS);
    }
    let by_outlet = by.is_some();
    let mut head = vec!["bucket", ""];
    if by_outlet {
        head.push("outlet");
    }
    head.extend(["theme", "releases", "share", "coded"]);
    let mut t = Table::new(&head);
    let first_number = head.len() - 3;
    t.right(first_number).right(first_number + 1).right(first_number + 2);
    for r in &report.rows {
        let mut row = vec![r.bucket.clone(), r.label.clone().unwrap_or_default()];
        if by_outlet {
            row.push(r.outlet.clone().flatten().unwrap_or_else(|| "(unknown)".to_owned()));
        }
        row.extend([
            r.theme.clone(),
            format!("{:.1}", r.releases),
            format!("{:.1}%", r.share * 100.0),
            r.coded.to_string(),
        ]);
        t.row(row);
    }
    t.print();
    let a = &report.agreement;
    println!(
        "{} coded by {} ({} by two or more), taxonomy {}",
        super::count(a.releases_coded, "release"),
        super::count(a.coders.len() as u64, "coder"),
        a.releases_shared,
        report.taxonomy
    );
    for p in &a.pairs {
        let kappa = p.kappa.map_or("undefined".to_owned(), |k| format!("{k:.3}"));
        println!("  Cohen's kappa {} and {}: {kappa} over {}", p.a, p.b, super::count(p.releases, "release"));
    }
    println!(
        "  Krippendorff's alpha (nominal, all coders): {}",
        a.alpha.map_or(
            "undefined (no release coded twice with differing themes possible)".to_owned(),
            |v| format!("{v:.3}")
        )
    );
    Ok(ExitCode::SUCCESS)
}

/// `marsad themes show|import`.
pub fn themes(db: &str, json: bool, cmd: crate::cli::ThemesCommand) -> Result<ExitCode> {
    let mut engine: Engine = crate::store::open(db)?;
    let t = match cmd {
        crate::cli::ThemesCommand::Show => engine.taxonomy()?,
        crate::cli::ThemesCommand::Import { file } => engine.import_taxonomy("cli", &file)?,
    };
    if json {
        print_json(&t)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!("{}{}", t.name, if t.title.is_empty() { String::new() } else { format!(": {}", t.title) });
    let mut table = Table::new(&["key", "label", "description"]);
    for th in &t.themes {
        table.row(vec![th.key.clone(), th.label.clone(), th.description.clone()]);
    }
    table.print();
    Ok(ExitCode::SUCCESS)
}

pub fn analyze(db: &str, json: bool, cmd: AnalyzeCommand) -> Result<ExitCode> {
    if let AnalyzeCommand::Themes { bucket, by, filter, time } = &cmd {
        return analyze_themes(db, json, bucket, by.as_deref(), spec(filter, Some(time)));
    }
    let (q, spec) = query(&cmd)?;
    let f = spec.parse()?;
    let mut engine: Engine = crate::store::open(db)?;
    let obs = engine.observatory()?;
    warn_unknown(&obs, &f);
    let result = run_query(&obs, &f, &q)?;
    if json {
        print_json(&result)?;
        return Ok(ExitCode::SUCCESS);
    }
    match (&result, &q) {
        (Analysis::Timeline(rows), Query::Timeline { by, .. }) => {
            let mut t = Table::new(&["bucket", "", "key", "releases", "sightings"]);
            t.right(3).right(4);
            for r in rows {
                t.row(vec![
                    r.bucket.to_string(),
                    r.label.clone().unwrap_or_default(),
                    r.key
                        .clone()
                        .unwrap_or_else(|| if by.is_some() { "(unknown)".to_owned() } else { String::new() }),
                    r.releases.to_string(),
                    r.sightings.to_string(),
                ]);
            }
            t.print();
        }
        (Analysis::Trend(rows), Query::Trend { by_outlet, .. }) => {
            let mut t =
                Table::new(&["bucket", "", "outlet", "releases", "change", "from peak", "sum of 3", ""]);
            t.right(3).right(4).right(5).right(6);
            for r in rows {
                t.row(vec![
                    r.bucket.to_string(),
                    r.label.clone().unwrap_or_default(),
                    r.key.clone().unwrap_or_else(|| if *by_outlet { "(unknown)" } else { "all" }.to_owned()),
                    r.releases.to_string(),
                    pct(r.change_pct),
                    // Below the peak as a fall (−9.2 %), a peak as 0.0 % (not −0.0 %).
                    format!("{:.1}%", 0.0 - r.decline_from_peak_pct),
                    r.rolling_3.to_string(),
                    // The data covers the bucket in part: not a whole bucket's count.
                    if r.partial { "partial" } else { "" }.to_owned(),
                ]);
            }
            t.print();
        }
        (Analysis::Silences(rows), Query::Silences { min_hours }) => {
            for r in rows {
                println!("{} → {}  {:>8.1} h", r.start, r.end, r.hours);
            }
            // Whose releases the gaps are between: said, since the default
            // (every outlet together) is easy to misread.
            let scope = match f.outlets.as_slice() {
                [] => "between releases of any outlet, attributed or not".to_owned(),
                [one] => format!("between releases of {one}"),
                many => format!("between releases of {}", many.join(", ")),
            };
            println!("{} of {min_hours} h or more {scope}", super::count(rows.len() as u64, "silence"));
        }
        (Analysis::Dormancy(d), _) => {
            println!("at {} (window {} days)", d.at, d.days);
            let mut t = Table::new(&["outlet", "state", "last release"]);
            for o in &d.outlets {
                t.row(vec![
                    o.outlet.clone(),
                    if o.silent { "silent" } else { "active" }.to_owned(),
                    o.last_release.map_or_else(|| "never".to_owned(), |t| t.to_string()),
                ]);
            }
            for l in t.lines().iter().skip(1) {
                println!("  {l}");
            }
            println!(
                "{} of {} outlets silent ({:.0}%)",
                d.silent.len(),
                d.outlets.len(),
                d.silent_share * 100.0
            );
        }
        (Analysis::Recycling(r), Query::Recycling { min_age_days, .. }) => {
            println!(
                "{} of {} sightings ({:.1}%) were of releases first seen {min_age_days} days or more before",
                r.recycled,
                r.sightings,
                r.share * 100.0
            );
        }
        (Analysis::Amplification(a), _) => {
            let q = |name: &str, q: &Quantiles| {
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
        _ => anyhow::bail!("internal error: the analysis does not match its query"),
    }
    Ok(ExitCode::SUCCESS)
}
