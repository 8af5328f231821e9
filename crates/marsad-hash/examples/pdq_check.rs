//! Checks PDQ hashes of image files against a CSV of expected values
//! (`HASH,QUALITY,FILENAME` or eight dihedral hashes then quality and file
//! name, as in shared/conformance), printing every mismatch.
//!
//! `cargo run --release -p marsad-hash --example pdq_check -- EXPECTED.csv IMAGE_DIR`

use std::process::ExitCode;

use marsad_hash::image::DecodeLimits;
use marsad_hash::pdq::{self, PdqHash};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [csv, dir] = &args[..] else {
        eprintln!("usage: pdq_check EXPECTED.csv IMAGE_DIR");
        return ExitCode::from(2);
    };
    let text = match std::fs::read_to_string(csv) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("reading {csv}: {e}");
            return ExitCode::from(2);
        }
    };
    let limits = DecodeLimits::default();
    let (mut checked, mut bad) = (0usize, 0usize);
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split(',').collect();
        let n = fields.len() - 2;
        let want: Vec<PdqHash> = fields[..n].iter().map(|h| PdqHash::from_hex(h).expect("hash")).collect();
        let want_q: u8 = fields[n].parse().expect("quality");
        let file = fields[n + 1];
        checked += 1;
        let out = match std::fs::read(format!("{dir}/{file}"))
            .map_err(|e| e.to_string())
            .and_then(|b| pdq::hash_image_bytes_dihedral(&b, &limits).map_err(|e| e.to_string()))
        {
            Ok(out) => out,
            Err(e) => {
                bad += 1;
                println!("{file}: {e}");
                continue;
            }
        };
        let got = &out.hashes[..n];
        let d: Vec<u32> = got.iter().zip(&want).map(|(a, b)| a.hamming(b)).collect();
        if d.iter().any(|&x| x != 0) || out.quality != want_q {
            bad += 1;
            println!("{file}: distances {d:?} quality {} want {want_q}", out.quality);
        }
    }
    println!("{checked} checked, {bad} mismatched");
    if bad == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
