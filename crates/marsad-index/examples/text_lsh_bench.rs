//! Text near-duplicates at scale: signs every line of a file (marsad's
//! normalizer, character 4-grams, 128-permutation MinHash), writes the
//! signatures for other tools, finds every pair with exact Jaccard ≥ 0.8
//! by brute force (the truth), and times marsad's LSH + exact verification.
//!
//! `text_lsh_bench TEXTS.txt SIGNATURES.bin TRUTH.txt OURS.txt`
//! (signatures: 128 little-endian u32 per text; pairs: `i j` per line, i < j)

use std::io::{BufRead, BufWriter, Write};
use std::time::Instant;

use marsad_hash::text::{MinHasher, jaccard, normalize, shingles};
use marsad_index::text::{LshConfig, TextLsh};

const THRESHOLD: f64 = 0.8;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [texts, sigs_path, truth_path, ours_path] = &args[..] else {
        eprintln!("usage: text_lsh_bench TEXTS.txt SIGNATURES.bin TRUTH.txt OURS.txt");
        std::process::exit(2);
    };
    let lines: Vec<String> =
        std::io::BufReader::new(std::fs::File::open(texts)?).lines().collect::<Result<_, _>>()?;
    let n = lines.len();
    let hasher = MinHasher::default();
    let t = Instant::now();
    let normalized: Vec<String> = lines.iter().map(|l| normalize(l)).collect();
    let sets: Vec<Vec<u64>> = normalized.iter().map(|l| shingles(l)).collect();
    let sigs: Vec<_> = sets.iter().map(|s| hasher.sign_shingles(s)).collect();
    let sign_s = t.elapsed().as_secs_f64();
    let mut w = BufWriter::new(std::fs::File::create(sigs_path)?);
    for s in &sigs {
        for v in &s.0 {
            w.write_all(&v.to_le_bytes())?;
        }
    }
    w.flush()?;

    // Truth: every pair by brute force.
    let t = Instant::now();
    let mut truth = Vec::new();
    for i in 0..n {
        for j in i + 1..n {
            if jaccard(&sets[i], &sets[j]) >= THRESHOLD {
                truth.push((i, j));
            }
        }
    }
    let truth_s = t.elapsed().as_secs_f64();
    let mut w = BufWriter::new(std::fs::File::create(truth_path)?);
    for (i, j) in &truth {
        writeln!(w, "{i} {j}")?;
    }
    w.flush()?;

    // marsad: insert all, query each, verify candidates exactly.
    let t = Instant::now();
    let mut lsh = TextLsh::new(LshConfig::default());
    for (i, s) in sigs.iter().enumerate() {
        lsh.insert(i as u32, s).expect("128 permutations");
    }
    let insert_s = t.elapsed().as_secs_f64();
    // Candidates (what an LSH index answers), timed alone…
    let t = Instant::now();
    let all: Vec<Vec<u32>> = sigs
        .iter()
        .map(|s| lsh.candidates(s, THRESHOLD - 0.2).expect("128 permutations").iter().map(|c| c.id).collect())
        .collect();
    let query_s = t.elapsed().as_secs_f64();
    // …then confirmed by exact Jaccard.
    let t = Instant::now();
    let mut ours = Vec::new();
    let mut candidates = 0usize;
    for (i, cands) in all.iter().enumerate() {
        for &j in cands {
            let j = j as usize;
            if j <= i {
                continue;
            }
            candidates += 1;
            if jaccard(&sets[i], &sets[j]) >= THRESHOLD {
                ours.push((i, j));
            }
        }
    }
    let verify_s = t.elapsed().as_secs_f64();
    let mut w = BufWriter::new(std::fs::File::create(ours_path)?);
    for (i, j) in &ours {
        writeln!(w, "{i} {j}")?;
    }
    w.flush()?;
    let truth_set: std::collections::HashSet<(usize, usize)> = truth.iter().copied().collect();
    let found = ours.iter().filter(|p| truth_set.contains(p)).count();
    println!(
        "{{\"texts\": {n}, \"sign_s\": {sign_s:.3}, \"truth_pairs\": {}, \"truth_s\": {truth_s:.2}, \"insert_s\": {insert_s:.4}, \
         \"query_s\": {query_s:.4}, \"verify_s\": {verify_s:.4}, \"candidates\": {candidates}, \"found\": {found}, \"reported\": {}, \"memory_bytes\": {}}}",
        truth.len(),
        ours.len(),
        lsh.memory_bytes()
    );
    Ok(())
}
