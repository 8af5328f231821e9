//! Invariants, checked on generated input.

use marsad_hash::pdq::{self, PdqHash, reference};
use proptest::prelude::*;

fn hash() -> impl Strategy<Value = PdqHash> {
    any::<[u8; 32]>().prop_map(PdqHash::from_bytes)
}

/// A small RGB image: (width, height, pixels).
fn image() -> impl Strategy<Value = (usize, usize, Vec<u8>)> {
    (1usize..90, 1usize..90)
        .prop_flat_map(|(w, h)| (Just(w), Just(h), proptest::collection::vec(any::<u8>(), w * h * 3)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn hex_round_trips(h in hash()) {
        let hex = h.to_hex();
        prop_assert_eq!(hex.len(), 64);
        prop_assert_eq!(hex.to_lowercase(), hex.clone());
        prop_assert_eq!(PdqHash::from_hex(&hex), Ok(h));
        prop_assert_eq!(PdqHash::from_hex(&hex.to_uppercase()), Ok(h));
        prop_assert_eq!(PdqHash::from_words(h.words()), h);
        prop_assert_eq!(h.to_string(), hex);
    }

    #[test]
    fn hamming_is_a_metric(a in hash(), b in hash(), c in hash()) {
        prop_assert_eq!(a.hamming(&a), 0);
        prop_assert_eq!(a.hamming(&b), b.hamming(&a));
        prop_assert!(a.hamming(&c) <= a.hamming(&b) + b.hamming(&c));
        let not_a = PdqHash::from_bytes(a.as_bytes().map(|x| !x));
        prop_assert_eq!(a.hamming(&not_a), 256);
        let bits_differ = (0..256).filter(|&k| a.bit(k) != b.bit(k)).count() as u32;
        prop_assert_eq!(a.hamming(&b), bits_differ);
    }

    #[test]
    fn dihedral_original_is_the_plain_hash((w, h, rgb) in image()) {
        let plain = pdq::hash_rgb(w, h, &rgb);
        let d = pdq::hash_rgb_dihedral(w, h, &rgb);
        prop_assert_eq!(d.hashes[0], plain.hash);
        prop_assert_eq!(d.quality, plain.quality);
    }

    /// The streaming implementation equals the plain transcription of the
    /// reference, bit for bit, on all eight hashes and the quality.
    #[test]
    fn fast_path_equals_transcription((w, h, rgb) in image()) {
        let luma = reference::luma_from_rgb(&rgb);
        let want = reference::hash_luma_dihedral(w, h, &luma);
        prop_assert_eq!(pdq::hash_rgb_dihedral(w, h, &rgb), want);
        prop_assert_eq!(pdq::hash_luma_dihedral(w, h, &luma), want);
    }

    /// Balanced hashes: a non-degenerate image sets about half the bits
    /// (exactly 128 unless coefficients tie at the median).
    #[test]
    fn about_half_the_bits_are_set((w, h, rgb) in image()) {
        let out = pdq::hash_rgb(w, h, &rgb);
        if !out.hash.is_zero() {
            prop_assert!(out.hash.count_ones() <= 128, "{}", out.hash.count_ones());
        }
    }
}

#[test]
fn large_odd_sizes_match_transcription() {
    // Larger windows than the property test reaches, odd sizes, extreme
    // aspect ratios.
    for (w, h) in [(1000, 7), (7, 1000), (333, 517), (640, 480)] {
        let rgb: Vec<u8> = (0..w * h * 3).map(|i| ((i * 2_654_435_761usize) >> 13) as u8).collect();
        let luma = reference::luma_from_rgb(&rgb);
        assert_eq!(pdq::hash_rgb_dihedral(w, h, &rgb), reference::hash_luma_dihedral(w, h, &luma), "{w}x{h}");
    }
}

#[test]
fn non_finite_and_huge_luma_terminate() {
    let (w, h) = (40, 30);
    for fill in [f32::NAN, f32::INFINITY, f32::MAX, -f32::MAX] {
        let mut luma: Vec<f32> = (0..w * h).map(|i| (i % 97) as f32).collect();
        for v in luma.iter_mut().step_by(7) {
            *v = fill;
        }
        let out = pdq::hash_luma(w, h, &luma);
        assert!(out.quality <= 100);
        let _ = pdq::hash_luma_dihedral(w, h, &luma);
    }
}

#[test]
fn short_wide_and_tall_thin_images_match_transcription() {
    for (w, h) in [(3000, 5), (5, 3000), (2049, 17)] {
        let rgb: Vec<u8> = (0..w * h * 3).map(|i| ((i * 40_503) >> 5) as u8).collect();
        let luma = reference::luma_from_rgb(&rgb);
        assert_eq!(pdq::hash_rgb(w, h, &rgb), reference::hash_luma(w, h, &luma), "{w}x{h}");
    }
}

/// A small JPEG made by the `image` crate's encoder.
fn small_jpeg(w: u32, h: u32, seed: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x as u8).wrapping_mul(seed), (y as u8).wrapping_add(seed), ((x ^ y) as u8)])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).expect("encode");
    out.into_inner()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Damaged JPEG data (bytes overwritten, the file cut anywhere) is an
    /// error or an image, never a panic; one decode gives the same hashes as
    /// the separate functions, and the cheap sniff says exactly when the
    /// python-threatexchange variant exists.
    #[test]
    fn damaged_jpeg_never_panics_and_variants_agree(
        w in 1u32..70, h in 1u32..70, seed in any::<u8>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        cut in any::<prop::sample::Index>(), do_cut in any::<bool>(),
    ) {
        let mut bytes = small_jpeg(w, h, seed);
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if do_cut {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        let limits = marsad_hash::image::DecodeLimits::default();
        let both = pdq::hash_image_bytes_variants(&bytes, &limits);
        let plain = pdq::hash_image_bytes(&bytes, &limits);
        let pytx = pdq::hash_image_bytes_pytx(&bytes, &limits);
        match both {
            Ok(b) => {
                prop_assert_eq!(plain.ok(), Some(b.true_colour));
                prop_assert_eq!(pytx.ok(), Some(b.pytx.unwrap_or(b.true_colour)));
                prop_assert_eq!(b.pytx.is_some(), marsad_hash::image::pytx_may_differ(&bytes));
            }
            Err(_) => {
                prop_assert!(plain.is_err());
                prop_assert!(pytx.is_err());
            }
        }
    }
}
