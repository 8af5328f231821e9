//! `marsad match` and `marsad matches`.

use std::io::{BufRead, BufReader, Write};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use marsad_engine::matching::{MatchRequest, MatchedThing};

use crate::cli::{MatchArgs, MatchesArgs};
use crate::table::Table;

pub fn run(db: &str, args: MatchArgs) -> Result<ExitCode> {
    let engine = crate::store::open(db)?;
    let opts = MatchRequest {
        banks: args.banks.clone(),
        pdq_threshold: args.threshold,
        dihedral: args.dihedral,
        text_threshold: args.text_threshold,
        vpdq_query_threshold: args.vpdq_query_threshold,
        vpdq_compared_threshold: args.vpdq_compared_threshold,
        audio_max_ber: args.audio_max_ber,
        seconds_per_hash: args.seconds_per_hash,
    }
    .options()?;
    let mut matching = engine.matching(opts)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match &args.hashes {
        Some(file) => {
            let t = args.query_type.map(|q| q.signal()).unwrap_or(marsad_engine::SignalType::Pdq);
            let mut reader: Box<dyn BufRead> = if file.as_os_str() == "-" {
                Box::new(BufReader::new(std::io::stdin().lock()))
            } else {
                let f = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
                Box::new(BufReader::with_capacity(1 << 20, f))
            };
            let shown = file.display().to_string();
            let summary = matching.match_values(
                t,
                &mut reader,
                &mut |m| {
                    serde_json::to_writer(&mut out, m)?;
                    writeln!(out)
                },
                &mut |e| eprintln!("error: {shown}: line {}: {}", e.line, e.error),
            )?;
            out.flush()?;
            if summary.queries == 0 && summary.invalid == 0 {
                bail!("{shown} holds no query");
            }
            if summary.invalid > 0 {
                eprintln!(
                    "{} of {shown} {} invalid",
                    super::count(summary.invalid, "line"),
                    if summary.invalid == 1 { "was" } else { "were" }
                );
                return Ok(ExitCode::FAILURE);
            }
            Ok(ExitCode::SUCCESS)
        }
        None => {
            let mut failed = 0u64;
            matching.match_files(&args.files, args.jobs.unwrap_or(0), &mut |path, m| {
                if let marsad_engine::matching::FileMatch::Failed { error, .. } = m {
                    failed += 1;
                    eprintln!("error: {}: {error}", path.display());
                }
                serde_json::to_writer(&mut out, m)?;
                writeln!(out)?;
                out.flush()
            })?;
            Ok(if failed > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
        }
    }
}

/// `marsad matches`: the matches found at ingest (or by `--rescan`).
pub fn list(db: &str, json_out: bool, args: &MatchesArgs) -> Result<ExitCode> {
    let mut engine = crate::store::open(db)?;
    if args.rescan {
        let r = engine.rescan()?;
        let new = if r.added == 1 { "1 new match".to_owned() } else { format!("{} new matches", r.added) };
        eprintln!("matched {} in the store against the banks: {new}", super::count(r.items, "item"));
    }
    let matches = engine.stored_matches()?;
    if json_out {
        println!("{}", serde_json::to_string(&matches)?);
        return Ok(ExitCode::SUCCESS);
    }
    if matches.is_empty() {
        println!(
            "no matches (items are matched against the banks when they are ingested; \
             `marsad matches --rescan` matches what the store holds against the banks as they are now)"
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = Table::new(&["bank", "signal", "distance", "item", "labels"]);
    t.right(2);
    for m in &matches {
        let where_ = match &m.item {
            MatchedThing::Media { media, posts } => {
                let first = posts.first().map(|p| format!("{}/{}", p.source, p.post_id)).unwrap_or_default();
                let more = if posts.len() > 1 {
                    format!(" (+{})", super::count(posts.len() as u64 - 1, "post"))
                } else {
                    String::new()
                };
                format!("media {}… in {first}{more}", &media[..12.min(media.len())])
            }
            MatchedThing::Post { post } => format!("post {}/{}", post.source, post.post_id),
        };
        let labels: Vec<String> = m.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let distance = match m.distance {
            marsad_engine::matching::Distance::Bits(b) => format!("{b}"),
            marsad_engine::matching::Distance::Fraction(f) => format!("{f:.3}"),
        };
        // A match found by python-threatexchange's variant of the hash says so.
        let signal = match m.variant {
            Some(v) => format!("{} ({v})", m.signal_type),
            None => m.signal_type.to_owned(),
        };
        t.row(vec![m.bank.clone(), signal, distance, where_, labels.join(", ")]);
    }
    t.print();
    Ok(ExitCode::SUCCESS)
}
