//! vPDQ matching: the index gives the percentages of the brute-force
//! definition, and the thresholds decide.

use marsad_hash::pdq::PdqHash;
use marsad_hash::vpdq::VpdqFeature;
use marsad_index::vpdq::{VpdqConfig, VpdqIndex, compare};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn video(rng: &mut impl Rng, frames: usize) -> Vec<VpdqFeature> {
    (0..frames)
        .map(|i| VpdqFeature {
            frame_number: i as u32,
            quality: if i % 10 == 9 { 30 } else { 90 },
            hash: PdqHash::from_bytes(rng.random()),
            timestamp: i as f64,
        })
        .collect()
}

/// The video with every frame's hash moved by `bits` bits.
fn edited(v: &[VpdqFeature], bits: usize, rng: &mut impl Rng) -> Vec<VpdqFeature> {
    v.iter()
        .map(|f| {
            let mut h = f.hash;
            for b in rand::seq::index::sample(rng, 256, bits) {
                h.flip_bit(b);
            }
            VpdqFeature { hash: h, ..*f }
        })
        .collect()
}

#[test]
fn index_percentages_equal_the_brute_force_matcher() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let cfg = VpdqConfig::default();
    let originals: Vec<Vec<VpdqFeature>> = (0..20).map(|_| video(&mut rng, 60)).collect();
    let mut index = VpdqIndex::new(cfg.quality_threshold);
    for (i, v) in originals.iter().enumerate() {
        index.insert(i as u32, v).unwrap();
    }
    // A re-encode (8 bits per frame), a trimmed copy (first half), a heavy
    // edit (40 bits per frame: no frame within 31), and a mix.
    let reencoded = edited(&originals[3], 8, &mut rng);
    let trimmed = originals[5][..30].to_vec();
    let heavy = edited(&originals[7], 40, &mut rng);
    let mut mixed = originals[9][..20].to_vec();
    mixed.extend(video(&mut rng, 20));
    for (query, target, should_match) in
        [(&reencoded, 3, true), (&trimmed, 5, true), (&heavy, 7, false), (&mixed, 9, false)]
    {
        let loose = VpdqConfig { query_match_percent: 0.0, ..cfg };
        let got = index.query(query, &loose);
        let (q, c) = compare(query, &originals[target], &cfg);
        if q > 0.0 {
            let m = got.iter().find(|m| m.id == target as u32).expect("target among candidates");
            assert!((m.query_match_percent - q).abs() < 1e-9 && (m.compared_match_percent - c).abs() < 1e-9);
        }
        let strict = index.query(query, &cfg);
        assert_eq!(
            strict.iter().any(|m| m.id == target as u32),
            should_match,
            "target {target}: {q:.1}/{c:.1}"
        );
    }
    // Trimmed: all its frames match, half of the original's do.
    let (q, c) = compare(&trimmed, &originals[5], &cfg);
    assert_eq!(q, 100.0);
    assert!((c - 50.0).abs() < 2.0, "{c}");
    // Mixed: half the query matches: below 80 %, above with a 50 % query
    // threshold; the compared threshold can refuse it too.
    let half = VpdqConfig { query_match_percent: 50.0, ..cfg };
    assert!(index.query(&mixed, &half).iter().any(|m| m.id == 9));
    let both = VpdqConfig { query_match_percent: 50.0, compared_match_percent: 50.0, ..cfg };
    assert!(!index.query(&mixed, &both).iter().any(|m| m.id == 9));
}

#[test]
fn videos_without_good_frames_are_refused() {
    let mut index = VpdqIndex::new(50);
    let bad = vec![VpdqFeature { frame_number: 0, quality: 10, hash: PdqHash::ZERO, timestamp: 0.0 }];
    assert!(index.insert(1, &bad).is_err());
    assert!(index.query(&bad, &VpdqConfig::default()).is_empty());
}
