//! What PDQ adds to decoding: for each file, the bytes are read once, then
//! decoded N times (decode alone) and decoded-and-hashed N times, on one
//! thread; prints the summed medians and the overhead of PDQ.
//!
//! `cargo run --release -p marsad-hash --example pdq_overhead -- [-n N] FILE...`

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use marsad_hash::image::{DecodeLimits, decode_pixels};
use marsad_hash::pdq;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut n = 5usize;
    if args.first().map(String::as_str) == Some("-n") {
        n = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(5);
        args.drain(..2);
    }
    let limits = DecodeLimits::default();
    let (mut decode_total, mut both_total) = (0.0, 0.0);
    for file in &args {
        let bytes = match std::fs::read(file) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("{file}: {e}");
                return ExitCode::FAILURE;
            }
        };
        let mut decode = Vec::with_capacity(n);
        let mut both = Vec::with_capacity(n);
        for _ in 0..n {
            let t = Instant::now();
            black_box(decode_pixels(&bytes, &limits).map(|p| p.width()).unwrap_or(0));
            decode.push(t.elapsed().as_secs_f64());
            let t = Instant::now();
            black_box(pdq::hash_image_bytes(&bytes, &limits).map(|o| o.quality).unwrap_or(0));
            both.push(t.elapsed().as_secs_f64());
        }
        decode_total += median(decode);
        both_total += median(both);
    }
    println!(
        "files={} decode_ms={:.1} decode_and_pdq_ms={:.1} pdq_overhead={:.1}%",
        args.len(),
        decode_total * 1e3,
        both_total * 1e3,
        (both_total / decode_total - 1.0) * 100.0
    );
    ExitCode::SUCCESS
}
