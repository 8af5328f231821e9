//! PDQ index: range queries at the default threshold on a random bank,
//! one at a time and in a batch, against a linear scan.
//!
//! `cargo bench -p marsad-index --bench pdq_index`; the side-by-side with
//! faiss at 1 M and 10 M hashes is `bench/pdq_index_vs_faiss.py`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use marsad_hash::pdq::PdqHash;
use marsad_index::pdq::PdqIndex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn bench(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut group = c.benchmark_group("pdq_index_range_31");
    group.measurement_time(Duration::from_secs(4)).sample_size(20);
    for n in [100_000usize, 1_000_000] {
        let mut index = PdqIndex::build((0..n).map(|i| (PdqHash::from_bytes(rng.random()), i as u32)));
        index.compact();
        let queries: Vec<PdqHash> = (0..256).map(|_| PdqHash::from_bytes(rng.random())).collect();
        group.throughput(Throughput::Elements(queries.len() as u64));
        group.bench_with_input(BenchmarkId::new("one_at_a_time", n), &n, |b, _| {
            let mut hits = Vec::new();
            b.iter(|| {
                for q in &queries {
                    hits.clear();
                    index.range(q, 31, &mut hits);
                }
                black_box(hits.len())
            })
        });
        group.bench_with_input(BenchmarkId::new("batch", n), &n, |b, _| {
            b.iter(|| black_box(index.range_batch(&queries, 31).len()))
        });
        group.bench_with_input(BenchmarkId::new("linear_scan", n), &n, |b, _| {
            let mut hits = Vec::new();
            b.iter(|| {
                for q in &queries[..16] {
                    hits.clear();
                    index.brute_force(q, 31, &mut hits);
                }
                black_box(hits.len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
