//! Builds a PDQ index over a bank file and times range queries on one
//! thread. Files hold raw hashes, 32 bytes each in text order; results are
//! written one line per query: `id:distance` pairs sorted by id, space
//! separated.
//!
//! `pdq_index_bench BANK.bin QUERIES.bin THRESHOLD RESULTS.txt`

use std::io::{BufWriter, Read, Write};
use std::time::Instant;

use marsad_hash::pdq::PdqHash;
use marsad_index::pdq::PdqIndex;

fn read_hashes(path: &str) -> std::io::Result<Vec<PdqHash>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.read_to_end(&mut bytes)?;
    Ok(bytes
        .chunks_exact(32)
        .map(|c| {
            let mut b = [0u8; 32];
            b.copy_from_slice(c);
            PdqHash::from_bytes(b)
        })
        .collect())
}

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [bank, queries, threshold, results] = &args[..] else {
        eprintln!("usage: pdq_index_bench BANK.bin QUERIES.bin THRESHOLD RESULTS.txt");
        std::process::exit(2);
    };
    let threshold: u32 = threshold.parse().expect("threshold");
    let bank = read_hashes(bank)?;
    let queries = read_hashes(queries)?;
    let rss_before = peak_rss_kb();
    let t = Instant::now();
    let mut index = PdqIndex::build(bank.iter().enumerate().map(|(i, h)| (*h, i as u32)));
    index.compact();
    let build = t.elapsed().as_secs_f64();
    drop(bank);
    // One query at a time (what an upload check does)…
    let t = Instant::now();
    let mut hits = Vec::new();
    let mut single = Vec::with_capacity(queries.len());
    for q in &queries {
        hits.clear();
        index.range(q, threshold, &mut hits);
        let mut h = hits.clone();
        h.sort_unstable();
        single.push(h);
    }
    let single_secs = t.elapsed().as_secs_f64();
    // …and all at once (what matching a file of hashes does).
    let t = Instant::now();
    let mut all = index.range_batch(&queries, threshold);
    let query_secs = t.elapsed().as_secs_f64();
    for h in &mut all {
        h.sort_unstable();
    }
    assert_eq!(all, single, "batch and single searches disagree");
    let mut out = BufWriter::new(std::fs::File::create(results)?);
    for h in &all {
        let line: Vec<String> = h.iter().map(|x| format!("{}:{}", x.id, x.distance)).collect();
        writeln!(out, "{}", line.join(" "))?;
    }
    out.flush()?;
    println!(
        "{{\"n\": {}, \"queries\": {}, \"build_s\": {build:.3}, \"query_s\": {query_secs:.4}, \"qps\": {:.1}, \"single_qps\": {:.1}, \
         \"index_bytes\": {}, \"raw_bytes\": {}, \"peak_rss_kb\": {}, \"rss_before_build_kb\": {rss_before}, \"simd\": \"{:?}\", \
         \"hits\": {}}}",
        index.len(),
        queries.len(),
        queries.len() as f64 / query_secs,
        queries.len() as f64 / single_secs,
        index.memory_bytes(),
        index.raw_bytes(),
        peak_rss_kb(),
        index.simd(),
        all.iter().map(Vec::len).sum::<usize>(),
    );
    Ok(())
}
