//! Text LSH: near-duplicates found, unrelated texts not, estimates exact.

use marsad_hash::text::{MinHasher, jaccard, normalize, shingles};
use marsad_index::text::{LshConfig, TextLsh};

/// `n` pseudo-random words (a splitmix sequence from `seed`).
fn words(seed: u32, n: usize) -> Vec<String> {
    // Start from a mixed seed: neighbouring seeds must not give shifted
    // copies of one sequence.
    let mut x = (u64::from(seed) ^ 0x5851_F42D_4C95_7F2D).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 29;
    (0..n)
        .map(|_| {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let z = (x ^ (x >> 31)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            format!("كلمة{}", (z >> 40) % 100_003)
        })
        .collect()
}

#[test]
fn near_duplicates_are_candidates_and_estimates_are_agreement_fractions() {
    let h = MinHasher::default();
    let mut lsh = TextLsh::new(LshConfig::default());
    let mut texts = Vec::new();
    for id in 0..500u32 {
        let t = normalize(&words(id, 40).join(" "));
        lsh.insert(id, &h.sign(&t)).unwrap();
        texts.push(t);
    }
    // A caption with a word changed and a conjunction added.
    let mut w = words(17, 40);
    w[5] = "تغيير".to_owned();
    w[0] = format!("و{}", w[0]);
    let query = normalize(&w.join(" "));
    let sig = h.sign(&query);
    let found = lsh.candidates(&sig, 0.0).unwrap();
    let exact = jaccard(&shingles(&query), &shingles(&texts[17]));
    assert!(exact > 0.8, "{exact}");
    let c = found.iter().find(|c| c.id == 17).expect("near-duplicate found");
    assert!((c.estimate - h.sign(&texts[17]).estimate_jaccard(&sig)).abs() < 0.02);
    // Unrelated texts (which share the prefix of every word here, so their
    // Jaccard is about 0.25) rarely become candidates, and never pass 0.5.
    assert!(found.len() < 50, "{} candidates of 500", found.len());
    assert!(lsh.candidates(&sig, 0.5).unwrap().iter().all(|c| c.id == 17));
}

#[test]
fn short_signatures_are_refused() {
    let mut lsh = TextLsh::new(LshConfig::default());
    let sig = MinHasher::new(16).sign("abc def");
    assert!(lsh.insert(1, &sig).is_err());
    assert!(lsh.candidates(&sig, 0.0).is_err());
    assert!(lsh.is_empty());
}

#[test]
fn recall_at_the_threshold_matches_the_banding_probability() {
    // Pairs with exact Jaccard in [0.8, 0.9): the share found must be near
    // the theoretical candidate probability (> 0.998).
    let h = MinHasher::default();
    let mut lsh = TextLsh::new(LshConfig::default());
    let mut pairs = 0;
    let mut found = 0;
    for id in 0..300u32 {
        let base = words(id + 1000, 60);
        let t = normalize(&base.join(" "));
        lsh.insert(id, &h.sign(&t)).unwrap();
        let mut w = base.clone();
        w[(id as usize) % 60] = format!("x{id}");
        w[(id as usize * 7 + 3) % 60] = format!("y{id}");
        let q = normalize(&w.join(" "));
        let j = jaccard(&shingles(&q), &shingles(&t));
        if (0.8..0.95).contains(&j) {
            pairs += 1;
            if lsh.candidates(&h.sign(&q), 0.0).unwrap().iter().any(|c| c.id == id) {
                found += 1;
            }
        }
    }
    assert!(pairs > 100, "{pairs}");
    assert!(found as f64 / pairs as f64 > 0.98, "{found}/{pairs}");
}
