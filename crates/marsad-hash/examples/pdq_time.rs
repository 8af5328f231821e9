//! Times PDQ on already-decoded pixels: decodes each file once, then hashes
//! its RGB pixels N times on one thread and prints, per file, the median
//! microseconds per hash, the hash, the quality and the fastest run
//! (tab-separated).
//!
//! `cargo run --release -p marsad-hash --example pdq_time -- [-n N] [--dihedral] FILE...`

use std::process::ExitCode;
use std::time::Instant;

use marsad_hash::image::{DecodeLimits, decode_rgb};
use marsad_hash::pdq;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1).peekable();
    let mut iterations = 20usize;
    let mut dihedral = false;
    let mut files = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "-n" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) if n > 0 => iterations = n,
                _ => {
                    eprintln!("-n needs a positive number");
                    return ExitCode::from(2);
                }
            },
            "--dihedral" => dihedral = true,
            _ => files.push(a),
        }
    }
    if files.is_empty() {
        eprintln!("usage: pdq_time [-n N] [--dihedral] FILE...");
        return ExitCode::from(2);
    }
    let limits = DecodeLimits::default();
    println!("file\twidth\theight\tmedian_us\thash\tquality\tmin_us");
    for file in &files {
        let image = match std::fs::read(file)
            .map_err(|e| e.to_string())
            .and_then(|b| decode_rgb(&b, &limits).map_err(|e| e.to_string()))
        {
            Ok(i) => i,
            Err(e) => {
                eprintln!("{file}: {e}");
                return ExitCode::FAILURE;
            }
        };
        let (w, h, rgb) = (image.width(), image.height(), image.as_raw());
        let mut times = Vec::with_capacity(iterations);
        let mut last = pdq::hash_rgb(w, h, rgb);
        for _ in 0..iterations {
            let t = Instant::now();
            last = if dihedral {
                pdq::hash_rgb_dihedral(w, h, rgb).original()
            } else {
                pdq::hash_rgb(w, h, rgb)
            };
            times.push(t.elapsed().as_secs_f64() * 1e6);
            std::hint::black_box(&last);
        }
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        println!("{file}\t{w}\t{h}\t{median:.1}\t{}\t{}\t{:.1}", last.hash.to_hex(), last.quality, times[0]);
    }
    ExitCode::SUCCESS
}
