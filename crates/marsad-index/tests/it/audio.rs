//! Audio matching on synthetic fingerprints: shifted and bit-flipped copies
//! match at the right offset, unrelated fingerprints do not.

use marsad_index::audio::{AudioConfig, AudioIndex};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn noisy(items: &[u32], flip_rate: f64, rng: &mut impl Rng) -> Vec<u32> {
    items
        .iter()
        .map(|&v| (0..32).fold(v, |acc, b| if rng.random_bool(flip_rate) { acc ^ (1 << b) } else { acc }))
        .collect()
}

#[test]
fn shifted_noisy_copies_match_at_their_offset() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut index = AudioIndex::new();
    let tracks: Vec<Vec<u32>> = (0..50).map(|_| (0..900).map(|_| rng.random()).collect()).collect();
    for (i, t) in tracks.iter().enumerate() {
        index.insert(i as u32, t);
    }
    // Track 12 from item 100 on, with 8 % of bits flipped (a re-encode).
    let query = noisy(&tracks[12][100..500], 0.08, &mut rng);
    let found = index.query(&query, &AudioConfig::default());
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].id, found[0].offset, found[0].overlap), (12, -100, 400));
    assert!((found[0].bit_error_rate - 0.08).abs() < 0.02);
    // Unrelated audio matches nothing; too noisy a copy neither.
    let other: Vec<u32> = (0..400).map(|_| rng.random()).collect();
    assert!(index.query(&other, &AudioConfig::default()).is_empty());
    let ruined = noisy(&tracks[12][100..500], 0.3, &mut rng);
    assert!(index.query(&ruined, &AudioConfig::default()).is_empty());
}

#[test]
fn silence_does_not_match_everything() {
    let mut index = AudioIndex::new();
    let silence = vec![marsad_hash::audio::SILENCE_ITEM; 300];
    index.insert(1, &silence);
    index.insert(2, &silence);
    assert!(index.query(&silence, &AudioConfig::default()).is_empty());
}
