//! The PDQ index returns exactly the brute-force result set, on random
//! banks with planted neighbours at every distance from 0 to 40, and on
//! empty, tiny and skewed banks.

use marsad_hash::pdq::PdqHash;
use marsad_index::pdq::{Hit, PdqIndex, Simd};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random_hash(rng: &mut impl Rng) -> PdqHash {
    PdqHash::from_bytes(rng.random())
}

/// `h` with `d` distinct bits flipped, chosen by `pattern`:
/// 0 anywhere, 1 packed into as few blocks as possible, 2 spread over the
/// 16 blocks as evenly as possible (the pigeonhole's worst case).
fn flip(h: &PdqHash, d: usize, pattern: u8, rng: &mut impl Rng) -> PdqHash {
    let mut out = *h;
    let mut bits: Vec<usize> = match pattern {
        0 => rand::seq::index::sample(rng, 256, d).into_vec(),
        1 => {
            let start = rng.random_range(0..16) * 16;
            (0..d).map(|i| (start + i) % 256).collect()
        }
        _ => {
            let offset = rng.random_range(0..16);
            (0..d).map(|i| ((i % 16) * 16 + (i / 16 + offset) % 16) % 256).collect()
        }
    };
    bits.sort_unstable();
    bits.dedup();
    for b in bits {
        out.flip_bit(b);
    }
    out
}

fn sorted(mut v: Vec<Hit>) -> Vec<Hit> {
    v.sort_unstable();
    v
}

fn check_all(index: &PdqIndex, queries: &[PdqHash], thresholds: &[u32]) {
    for simd in [Simd::Portable, Simd::Avx2, Simd::Avx512] {
        let index = index.clone().with_simd(simd);
        for q in queries {
            for &t in thresholds {
                let (mut got, mut want) = (Vec::new(), Vec::new());
                index.range(q, t, &mut got);
                index.brute_force(q, t, &mut want);
                assert_eq!(sorted(got), sorted(want), "threshold {t}, {simd:?}, query {q}");
            }
        }
    }
}

/// A bank of `n` random hashes plus, for each query, planted neighbours at
/// every distance 0..=40 in three bit patterns.
fn planted_bank(seed: u64, n: usize, queries: usize) -> (PdqIndex, Vec<PdqHash>) {
    let (items, qs) = planted_items(seed, n, queries);
    let mut index = PdqIndex::build(items);
    index.compact();
    (index, qs)
}

/// The hashes of [`planted_bank`], with their ids, and the queries.
fn planted_items(seed: u64, n: usize, queries: usize) -> (Vec<(PdqHash, u32)>, Vec<PdqHash>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut items: Vec<(PdqHash, u32)> = (0..n).map(|i| (random_hash(&mut rng), i as u32)).collect();
    let qs: Vec<PdqHash> = (0..queries).map(|_| random_hash(&mut rng)).collect();
    let mut id = n as u32;
    for q in &qs {
        for d in 0..=40 {
            for pattern in 0..3 {
                items.push((flip(q, d, pattern, &mut rng), id));
                id += 1;
            }
        }
    }
    (items, qs)
}

#[test]
fn planted_neighbours_at_every_distance_are_found_exactly() {
    let (index, queries) = planted_bank(1, 20_000, 12);
    let thresholds: Vec<u32> = (0..=40).chain([47, 48, 64, 256]).collect();
    check_all(&index, &queries, &thresholds);
    // At the default threshold each query finds its 32 × 3 planted
    // neighbours at 0..=31 (random hashes are ~128 bits away).
    let mut hits = Vec::new();
    index.range(&queries[0], 31, &mut hits);
    assert_eq!(hits.len(), 32 * 3);
}

#[test]
fn empty_and_tiny_banks() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let q = random_hash(&mut rng);
    let empty = PdqIndex::new();
    let mut hits = Vec::new();
    empty.range(&q, 31, &mut hits);
    assert!(hits.is_empty() && empty.is_empty());
    for n in [1usize, 2, 3, 17] {
        let items: Vec<(PdqHash, u32)> = (0..n).map(|i| (flip(&q, i * 9, 0, &mut rng), i as u32)).collect();
        let mut tail_only = PdqIndex::build(items.clone());
        check_all(&tail_only, &[q], &[0, 9, 18, 31, 40]);
        tail_only.compact();
        check_all(&tail_only, &[q], &[0, 9, 18, 31, 40]);
    }
}

#[test]
fn skewed_banks_with_many_equal_and_near_equal_hashes() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let base = random_hash(&mut rng);
    let mut items = Vec::new();
    // 3000 copies of one hash, 3000 hashes within 4 bits of it, the zero
    // hash 2000 times, and hashes that agree with the query on every block
    // but one.
    for i in 0..3000u32 {
        items.push((base, i));
        items.push((flip(&base, rng.random_range(1..=4), 0, &mut rng), 10_000 + i));
        if i < 2000 {
            items.push((PdqHash::ZERO, 20_000 + i));
        }
    }
    for i in 0..500u32 {
        items.push((flip(&base, 16, 1, &mut rng), 30_000 + i));
    }
    let mut index = PdqIndex::build(items);
    index.compact();
    let near = flip(&base, 30, 2, &mut rng);
    let zero_near = flip(&PdqHash::ZERO, 31, 2, &mut rng);
    check_all(&index, &[base, near, zero_near, PdqHash::ZERO], &[0, 4, 16, 30, 31, 32, 40]);
}

#[test]
fn removal_and_incremental_insertion() {
    let (mut index, queries) = planted_bank(4, 5000, 3);
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    // Insert more one by one (through the tail and a merge), remove some.
    for i in 0..6000u32 {
        index.insert(&flip(&queries[i as usize % 3], (i % 41) as usize, 0, &mut rng), 1_000_000 + i);
    }
    for id in (0..400u32).step_by(7) {
        index.remove(5000 + id);
    }
    index.remove(1_000_003);
    check_all(&index, &queries, &[0, 10, 31, 40]);
    let mut hits = Vec::new();
    index.range(&queries[0], 40, &mut hits);
    assert!(hits.iter().all(|h| h.id != 1_000_003));
}

#[test]
fn dihedral_queries_report_each_id_once_at_its_smallest_distance() {
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let a = random_hash(&mut rng);
    let b = flip(&a, 5, 0, &mut rng);
    let index = PdqIndex::build([(a, 1), (b, 2)]);
    let mut hits = Vec::new();
    index.range_any(&[b, a, flip(&a, 40, 0, &mut rng)], 31, &mut hits);
    hits.sort_unstable();
    assert_eq!(hits, [Hit { id: 1, distance: 0 }, Hit { id: 2, distance: 0 }]);
}

#[test]
fn index_files_round_trip_and_corruption_is_refused() {
    let (mut index, queries) = planted_bank(7, 6000, 2);
    index.insert(&queries[0], 99_999);
    index.remove(3);
    let mut bytes = Vec::new();
    index.write_to(&mut bytes).unwrap();
    let back = PdqIndex::read_from(&mut bytes.as_slice()).unwrap();
    assert_eq!(back, index);
    check_all(&back, &queries, &[31]);
    assert!(PdqIndex::read_from(&mut &b"not an index"[..]).is_err());
    assert!(PdqIndex::read_from(&mut &bytes[..bytes.len() / 2]).is_err());
    // A position out of range in the first table entry: refused, not
    // trusted. Layout: magic, 3-word header, segment size, hashes, ids,
    // 16 directories, then the tables.
    let n = 6000 + 2 * 41 * 3;
    let at = 8 + 12 + 4 + n * 32 + n * 4 + 16 * 65_537 * 4;
    let mut bad = bytes.clone();
    bad[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    let err = PdqIndex::read_from(&mut bad.as_slice()).unwrap_err();
    assert!(err.to_string().contains("position"), "{err}");
    // A directory that is not monotone.
    let mut bad = bytes.clone();
    let dir = 8 + 12 + 4 + n * 32 + n * 4 + 65_537 * 4 + 400;
    bad[dir..dir + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(PdqIndex::read_from(&mut bad.as_slice()).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn index_equals_brute_force(
        seed in any::<u64>(),
        n in prop_oneof![Just(0usize), 1usize..20, 100usize..300, 4096usize..6000],
        dup in 0usize..50,
        t in 0u32..=40,
        compact in any::<bool>(),
    ) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let q = random_hash(&mut rng);
        let mut items: Vec<(PdqHash, u32)> = (0..n).map(|i| (random_hash(&mut rng), i as u32)).collect();
        for d in 0..=40usize {
            items.push((flip(&q, d, (d % 3) as u8, &mut rng), 100_000 + d as u32));
        }
        let twin = flip(&q, t as usize, 2, &mut rng);
        for i in 0..dup {
            items.push((twin, 200_000 + i as u32));
        }
        let mut index = PdqIndex::build(items);
        if compact {
            index.compact();
        }
        let (mut got, mut want) = (Vec::new(), Vec::new());
        index.range(&q, t, &mut got);
        index.brute_force(&q, t, &mut want);
        prop_assert_eq!(sorted(got), sorted(want));
    }
}

#[test]
fn batch_search_equals_brute_force() {
    let (mut index, centres) = planted_bank(8, 9000, 1);
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    // 150 queries: 60 at every distance 0..=40 from the planted cluster's
    // centre (whose neighbours sit at 0..=40 from it), 90 random.
    let mut queries: Vec<PdqHash> = (0..150).map(|_| random_hash(&mut rng)).collect();
    let centre = centres[0];
    for (i, q) in queries.iter_mut().enumerate().take(60) {
        *q = flip(&centre, i % 41, (i % 3) as u8, &mut rng);
    }
    index.insert(&queries[3], 77_777);
    index.remove(12);
    let mut near_centre = Vec::new();
    index.brute_force(&centre, 31, &mut near_centre);
    assert!(near_centre.len() >= 96, "the planted cluster is there");
    for simd in [Simd::Portable, Simd::Avx2, Simd::Avx512] {
        let index = index.clone().with_simd(simd);
        for t in [0u32, 7, 20, 31, 40] {
            let batch = index.range_batch(&queries, t);
            assert_eq!(batch.len(), queries.len());
            for (q, got) in queries.iter().zip(batch) {
                let mut want = Vec::new();
                index.brute_force(q, t, &mut want);
                assert_eq!(sorted(got), sorted(want), "threshold {t}, {simd:?}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn batches_equal_brute_force_with_planted_neighbours(seed in any::<u64>(), t in 0u32..=40) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let queries: Vec<PdqHash> = (0..40).map(|_| random_hash(&mut rng)).collect();
        let mut items: Vec<(PdqHash, u32)> = (0..5000).map(|i| (random_hash(&mut rng), i)).collect();
        for (qi, q) in queries.iter().enumerate() {
            for d in (0..=40usize).step_by(3) {
                items.push((flip(q, d, (d % 3) as u8, &mut rng), 10_000 + (qi * 100 + d) as u32));
            }
        }
        let mut index = PdqIndex::build(items);
        index.compact();
        for (q, got) in queries.iter().zip(index.range_batch(&queries, t)) {
            let mut want = Vec::new();
            index.brute_force(q, t, &mut want);
            prop_assert_eq!(sorted(got), sorted(want));
        }
    }
}

/// Hashes added one by one (as a live index grows) are merged
/// geometrically: a logarithmic number of segments, never one segment
/// rebuilt per tail; removals and results stay exact; a bulk load of the
/// same hashes is built into one segment.
#[test]
fn one_by_one_additions_merge_geometrically_and_stay_exact() {
    let (items, queries) = planted_items(6, 60_000, 6);
    let mut live = PdqIndex::new();
    let mut most = 0;
    for (i, (h, id)) in items.iter().enumerate() {
        live.insert(h, *id);
        most = most.max(live.segments());
        if i == 30_000 {
            check_all(&live, &queries, &[0, 16, 31, 40]);
        }
    }
    assert_eq!(live.len(), items.len());
    // 60,738 hashes in tails of 4,096: a binary counter of at most
    // log2(15) + 1 = 4 segments (plus one being merged), not 15.
    assert!(most <= 5, "{most} segments at once");
    for id in (0..items.len() as u32).step_by(7) {
        live.remove(id);
    }
    check_all(&live, &queries, &[0, 16, 31, 40]);

    let mut loaded = PdqIndex::new();
    for (h, id) in &items {
        loaded.insert_unindexed(h, *id);
    }
    assert_eq!(loaded.segments(), 0);
    check_all(&loaded, &queries[..2], &[31]);
    loaded.compact();
    assert_eq!(loaded.segments(), 1);
    check_all(&loaded, &queries, &[0, 16, 31, 40]);
}
