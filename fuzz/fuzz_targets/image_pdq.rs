//! Untrusted image bytes through the decoder and PDQ (true colours and
//! python-threatexchange's variant): never a panic, never more memory than
//! the limits allow.
#![no_main]

use libfuzzer_sys::fuzz_target;
use marsad_hash::image::DecodeLimits;

fuzz_target!(|data: &[u8]| {
    // Small limits so the fuzzer explores headers, not huge allocations.
    let limits = DecodeLimits { max_pixels: 4_000_000, max_side: 8192, max_alloc: 64 << 20 };
    if let Ok(out) = marsad_hash::pdq::hash_image_bytes_dihedral(data, &limits) {
        assert!(out.quality <= 100);
        let plain = marsad_hash::pdq::hash_image_bytes(data, &limits).expect("decoded once, decodes again");
        assert_eq!(plain.hash, out.hashes[0]);
        // The one decode that gives python-threatexchange's variant too
        // (palette GIF/BMP/PNG/TIFF, CMYK, YCbCr, CIELAB, bilevel) agrees.
        let both = marsad_hash::pdq::hash_image_bytes_variants(data, &limits).expect("decodes a third time");
        assert_eq!(both.true_colour, plain);
        let pytx = marsad_hash::pdq::hash_image_bytes_pytx(data, &limits).expect("and a fourth");
        assert_eq!(both.pytx.unwrap_or(plain), pytx);
    }
    let _ = marsad_hash::pdq::hash_image_bytes_cpp_tool(data, &limits);
});
