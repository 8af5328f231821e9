//! PDQ, Meta's 256-bit perceptual image hash, bit-identical to the reference
//! C++ implementation as the `pdqhash` Python bindings run it.
//!
//! The pipeline (all float32 after the luma step): luma per pixel, two
//! passes of row-then-column box filters ("Jarosz filter", window about
//! 1/128 of each dimension), decimation to 64×64 at the cell centres, a
//! quality score from the 64×64 gradients, the 16×16 lowest non-constant
//! frequencies of the DCT, and one bit per coefficient above their median.
//! Images under 5 pixels on a side hash to zero with quality 0, as in the
//! reference.
//!
//! ```
//! use marsad_hash::pdq;
//! let (w, h) = (32, 24);
//! let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 7 % 251) as u8).collect();
//! let out = pdq::hash_rgb(w, h, &rgb);
//! assert_eq!(out.hash.to_hex().len(), 64);
//! assert!(out.quality <= 100);
//! let parsed = pdq::PdqHash::from_hex(&out.hash.to_hex()).unwrap();
//! assert_eq!(parsed.hamming(&out.hash), 0);
//! ```

mod dct;
mod fast;
mod hash;
pub mod reference;

pub use hash::{PdqHash, PdqHashParseError};

use crate::image::{DecodeError, DecodeLimits, Pixels};
use fast::{FloatRows, GreyRows, LumaRows, RgbRows};

/// Images smaller than this on either side hash to zero (`MIN_HASHABLE_DIM`).
pub const MIN_HASHABLE_DIM: usize = 5;

/// A PDQ hash and its quality score.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PdqOutput {
    /// The hash.
    pub hash: PdqHash,
    /// Quality 0..=100; the reference suggests discarding hashes under 50.
    pub quality: u8,
}

/// The hashes of the eight rotations and mirror images of an image, computed
/// from one DCT as the reference does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PdqDihedral {
    /// In order: original, rotated 90°, 180°, 270°, flipped about the
    /// horizontal axis (flip-x), about the vertical axis (flip-y), about the
    /// main diagonal (flip-plus-1) and the anti-diagonal (flip-minus-1).
    pub hashes: [PdqHash; 8],
    /// Quality 0..=100 (the same for all eight).
    pub quality: u8,
}

impl PdqDihedral {
    /// The hash of the image as given.
    pub fn original(&self) -> PdqOutput {
        PdqOutput { hash: self.hashes[0], quality: self.quality }
    }
}

/// The 16×16 DCT block and quality, or `None` when the image is too small.
fn dct_of<S: LumaRows>(src: &S) -> Option<([[f32; 16]; 16], u8)> {
    if src.width() < MIN_HASHABLE_DIM || src.height() < MIN_HASHABLE_DIM {
        return None;
    }
    let small = fast::downsample(src);
    let quality = dct::quality(&small);
    Some((dct::dct64_to_16(&small), quality))
}

fn hash_source<S: LumaRows>(src: &S) -> PdqOutput {
    match dct_of(src) {
        Some((block, quality)) => PdqOutput { hash: dct::to_bits(&block), quality },
        None => PdqOutput { hash: PdqHash::ZERO, quality: 0 },
    }
}

fn dihedral_source<S: LumaRows>(src: &S) -> PdqDihedral {
    match dct_of(src) {
        Some((block, quality)) => PdqDihedral { hashes: dct::dihedral_bits(&block), quality },
        None => PdqDihedral { hashes: [PdqHash::ZERO; 8], quality: 0 },
    }
}

fn check_len(width: usize, height: usize, channels: usize, len: usize, what: &str) {
    let want = width.checked_mul(height).and_then(|n| n.checked_mul(channels));
    assert!(want == Some(len), "{what} buffer has {len} values, {width}x{height} needs {want:?}");
}

/// PDQ of interleaved 8-bit RGB pixels, row-major, `width * height * 3` bytes.
///
/// # Panics
/// If `rgb.len() != width * height * 3`.
pub fn hash_rgb(width: usize, height: usize, rgb: &[u8]) -> PdqOutput {
    check_len(width, height, 3, rgb.len(), "rgb");
    hash_source(&RgbRows { width, height, channels: 3, data: rgb })
}

/// The eight dihedral PDQ hashes of interleaved 8-bit RGB pixels.
///
/// # Panics
/// If `rgb.len() != width * height * 3`.
pub fn hash_rgb_dihedral(width: usize, height: usize, rgb: &[u8]) -> PdqDihedral {
    check_len(width, height, 3, rgb.len(), "rgb");
    dihedral_source(&RgbRows { width, height, channels: 3, data: rgb })
}

/// PDQ of a float luma plane, row-major, `width * height` values (the
/// reference's `pdqHash256FromFloatLuma`).
///
/// # Panics
/// If `luma.len() != width * height`.
pub fn hash_luma(width: usize, height: usize, luma: &[f32]) -> PdqOutput {
    check_len(width, height, 1, luma.len(), "luma");
    hash_source(&FloatRows { width, height, data: luma })
}

/// The eight dihedral PDQ hashes of a float luma plane.
///
/// # Panics
/// If `luma.len() != width * height`.
pub fn hash_luma_dihedral(width: usize, height: usize, luma: &[f32]) -> PdqDihedral {
    check_len(width, height, 1, luma.len(), "luma");
    dihedral_source(&FloatRows { width, height, data: luma })
}

/// PDQ of a decoded image.
pub fn hash_image(image: &crate::image::RgbImage) -> PdqOutput {
    hash_rgb(image.width(), image.height(), image.as_raw())
}

/// Decodes image bytes ([`crate::image::decode_pixels`]) and hashes them.
/// The luma is computed straight from the decoder's layout (greyscale,
/// RGB or RGBA), which gives the same result as [`crate::image::decode_rgb`]
/// followed by [`hash_rgb`] without the conversion copy.
pub fn hash_image_bytes(bytes: &[u8], limits: &DecodeLimits) -> Result<PdqOutput, DecodeError> {
    let pixels = crate::image::decode_pixels(bytes, limits)?;
    Ok(match_pixels(&pixels, |s| hash_source(s), |s| hash_source(s)))
}

/// Decodes image bytes and computes the eight dihedral hashes.
pub fn hash_image_bytes_dihedral(bytes: &[u8], limits: &DecodeLimits) -> Result<PdqDihedral, DecodeError> {
    let pixels = crate::image::decode_pixels(bytes, limits)?;
    Ok(match_pixels(&pixels, |s| dihedral_source(s), |s| dihedral_source(s)))
}

/// The PDQ of image bytes as python-threatexchange computes it
/// (`pdq_from_bytes`: Pillow's `numpy.asarray(Image.open(..))` hashed as
/// R, G, B), which differs from [`hash_image_bytes`] for palette images
/// (their indices are hashed as grey levels) and CMYK images (C, M, Y are
/// hashed as R, G, B); for every other image it is the same hash.
pub fn hash_image_bytes_pytx(bytes: &[u8], limits: &DecodeLimits) -> Result<PdqOutput, DecodeError> {
    let opened = crate::image::open(bytes, limits)?;
    let pixels = opened.pytx_pixels().unwrap_or(opened.pixels());
    Ok(match_pixels(pixels, |s| hash_source(s), |s| hash_source(s)))
}

/// The true-colour PDQ of an image and, where python-threatexchange's
/// differs, that one too (see [`hash_image_bytes_pytx`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PdqVariants {
    /// [`hash_image_bytes`]'s hash.
    pub true_colour: PdqOutput,
    /// [`hash_image_bytes_pytx`]'s hash, for palette and CMYK images only.
    pub pytx: Option<PdqOutput>,
}

/// Decodes image bytes once and computes [`PdqVariants`].
pub fn hash_image_bytes_variants(bytes: &[u8], limits: &DecodeLimits) -> Result<PdqVariants, DecodeError> {
    let opened = crate::image::open(bytes, limits)?;
    let pytx = opened.pytx_pixels().map(|p| match_pixels(p, |s| hash_source(s), |s| hash_source(s)));
    let true_colour = match_pixels(opened.pixels(), |s| hash_source(s), |s| hash_source(s));
    Ok(PdqVariants { true_colour, pytx })
}

fn match_pixels<T>(
    pixels: &Pixels,
    rgb: impl FnOnce(&RgbRows<'_>) -> T,
    grey: impl FnOnce(&GreyRows<'_>) -> T,
) -> T {
    let (width, height) = (pixels.width(), pixels.height());
    let channels = pixels.channels();
    let data = pixels.as_raw();
    if channels <= 2 {
        grey(&GreyRows { width, height, channels, data })
    } else {
        rgb(&RgbRows { width, height, channels, data })
    }
}

/// Luma of 8-bit RGB as Meta's C++ code computes it
/// (`fillFloatLumaFromRGB`, also what vPDQ uses): `0.299f·R + 0.587f·G +
/// 0.114f·B` in float32, summed left to right. It differs in the last bit
/// from the Python bindings' double-precision luma for some colours.
#[inline]
pub fn luma_f32(r: u8, g: u8, b: u8) -> f32 {
    0.299f32 * f32::from(r) + 0.587f32 * f32::from(g) + 0.114f32 * f32::from(b)
}

/// Fills `out` with the C++ luma ([`luma_f32`]) of interleaved RGB pixels.
///
/// # Panics
/// If `rgb.len() != 3 * out.len()`.
pub fn fill_luma_f32(rgb: &[u8], out: &mut [f32]) {
    assert_eq!(rgb.len(), out.len() * 3, "rgb buffer has {} bytes for {} pixels", rgb.len(), out.len());
    for (o, p) in out.iter_mut().zip(rgb.chunks_exact(3)) {
        *o = luma_f32(p[0], p[1], p[2]);
    }
}

/// The side the C++ command-line tool (`pdq-photo-hasher`) downscales to.
pub const CPP_TOOL_DOWNSAMPLE_DIMS: usize = 512;

/// Decodes image bytes and hashes them as Meta's C++ command-line tool
/// does rather than as the Python bindings do: an image wider or taller than
/// 512 pixels is first resized to exactly 512×512 by nearest neighbour
/// (source index `⌊x · W / 512⌋`, CImg's rule), and luma is the C++ float32
/// luma ([`luma_f32`]; grey images use the grey value). Faster on large
/// images, and not the hash banks built with python-threatexchange or HMA
/// expect: use it only to compare with hashes made by that tool.
pub fn hash_image_bytes_cpp_tool(bytes: &[u8], limits: &DecodeLimits) -> Result<PdqDihedral, DecodeError> {
    let pixels = crate::image::decode_pixels(bytes, limits)?;
    let (w, h, ch) = (pixels.width(), pixels.height(), pixels.channels());
    let data = pixels.as_raw();
    let n = CPP_TOOL_DOWNSAMPLE_DIMS;
    let (ow, oh) = if w > n || h > n { (n, n) } else { (w, h) };
    let xs: Vec<usize> = (0..ow).map(|x| x * w / ow).collect();
    let mut luma = Vec::with_capacity(ow * oh);
    for y in 0..oh {
        let row = &data[(y * h / oh) * w * ch..][..w * ch];
        luma.extend(xs.iter().map(|&x| {
            let p = &row[x * ch..];
            if ch <= 2 { f32::from(p[0]) } else { luma_f32(p[0], p[1], p[2]) }
        }));
    }
    Ok(hash_luma_dihedral(ow, oh, &luma))
}
