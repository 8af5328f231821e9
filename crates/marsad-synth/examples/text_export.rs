//! Streams a large text-only Telegram export.
//!
//! `cargo run --release -p marsad-synth --example text_export -- OUT.json N [SEED]`

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use marsad_synth::write_text_export;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(out), Some(n)) = (args.first().map(PathBuf::from), args.get(1)) else {
        eprintln!("usage: text_export OUT.json N [SEED]");
        return ExitCode::from(2);
    };
    let Ok(n) = n.parse::<u64>() else {
        eprintln!("error: N must be a whole number, got {n:?}");
        return ExitCode::from(2);
    };
    let seed = match args.get(2).map(|s| s.parse::<u64>()) {
        None => 1,
        Some(Ok(seed)) => seed,
        Some(Err(e)) => {
            eprintln!("error: seed: {e}");
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    if let Err(e) = write_text_export(&out, n, seed) {
        eprintln!("error: writing {}: {e}", out.display());
        return ExitCode::FAILURE;
    }
    println!("wrote {n} messages to {} in {:.2} s", out.display(), started.elapsed().as_secs_f64());
    ExitCode::SUCCESS
}
