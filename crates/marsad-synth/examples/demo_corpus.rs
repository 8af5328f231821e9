//! Writes the demo corpus.
//!
//! `cargo run --release -p marsad-synth --example demo_corpus -- OUT_DIR [SEED] [DAYS] [SCALE]`

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use marsad_synth::{DemoConfig, generate_demo};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(out) = args.first().map(PathBuf::from) else {
        eprintln!("usage: demo_corpus OUT_DIR [SEED] [DAYS] [SCALE]");
        return ExitCode::from(2);
    };
    let mut cfg = DemoConfig::default();
    let parsed = (|| -> Result<(), String> {
        if let Some(s) = args.get(1) {
            cfg.seed = s.parse().map_err(|e| format!("seed {s:?}: {e}"))?;
        }
        if let Some(s) = args.get(2) {
            cfg.days = s.parse().map_err(|e| format!("days {s:?}: {e}"))?;
        }
        if let Some(s) = args.get(3) {
            cfg.scale = s.parse().map_err(|e| format!("scale {s:?}: {e}"))?;
        }
        Ok(())
    })();
    if let Err(e) = parsed {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let started = Instant::now();
    match generate_demo(&out, &cfg) {
        Ok(corpus) => {
            let t = &corpus.truth;
            println!(
                "wrote {} exports to {} in {:.2} s: {} releases, {} messages ({} service), {} media files, {} not included",
                corpus.exports.len(),
                out.display(),
                started.elapsed().as_secs_f64(),
                t.releases.len(),
                t.totals.messages,
                t.totals.service_messages,
                t.totals.media_files,
                t.totals.missing_media,
            );
            println!("truth: {}", corpus.truth_json.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
