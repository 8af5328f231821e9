//! TIFF files the `image` crate refuses but Pillow opens: palette (`P`,
//! `PA`; 1-, 2-, 4- and 8-bit indices), grey with an extra sample (`LA`,
//! `LX`), uncompressed or LZW/deflate YCbCr without subsampling, and
//! compressed YCbCr with chroma subsampling (as libtiff's `TIFFRGBAImage`
//! gives it to Pillow). The `tiff` crate reads the strips or tiles
//! (decompression, predictor); the colours are converted here as Pillow
//! converts them. CIELAB (8-bit L, a, b) is converted as Pillow's
//! `convert("RGB")` converts it: through Little CMS (the same release as
//! Pillow's wheels, built from source by `lcms2-sys`), from its Lab v2
//! identity profile to its built-in sRGB, perceptual intent. Uncompressed
//! subsampled YCbCr is read as Pillow misreads it: as if it were not
//! subsampled (it runs out of data and fails, or, for the tiniest images,
//! reads the blocks' bytes as pixels).

use std::io::Cursor;

use tiff::decoder::{Decoder, DecodingResult, Limits};
use tiff::tags::Tag;
use tiff::{TiffError, TiffResult};

use super::{DecodeError, DecodeLimits, Pixels, Pytx};

const FORMAT: &str = "tiff";

// TIFF 6.0 photometric interpretations and compressions.
const BLACK_IS_ZERO: u16 = 1;
const PALETTE: u16 = 3;
const YCBCR: u16 = 6;
const CIELAB: u16 = 8;
const NO_COMPRESSION: u16 = 1;
const OLD_JPEG: u16 = 6;
const JPEG: u16 = 7;

/// The tags that decide how Pillow opens the first image.
struct Layout {
    photometric: u16,
    compression: u16,
    samples: u16,
    bits: Vec<u16>,
    extra: Vec<u16>,
    planar: u16,
    subsampling: Vec<u16>,
    predictor: u16,
    tiled: bool,
}

fn read_layout<R: std::io::Read + std::io::Seek>(d: &mut Decoder<R>) -> TiffResult<Layout> {
    Ok(Layout {
        photometric: d.get_tag_unsigned(Tag::PhotometricInterpretation)?,
        compression: d.find_tag_unsigned(Tag::Compression)?.unwrap_or(NO_COMPRESSION),
        samples: d.find_tag_unsigned(Tag::SamplesPerPixel)?.unwrap_or(1),
        bits: d.find_tag_unsigned_vec(Tag::BitsPerSample)?.unwrap_or_else(|| vec![1]),
        extra: d.find_tag_unsigned_vec(Tag::ExtraSamples)?.unwrap_or_default(),
        planar: d.find_tag_unsigned(Tag::PlanarConfiguration)?.unwrap_or(1),
        subsampling: d.find_tag_unsigned_vec(Tag::ChromaSubsampling)?.unwrap_or_else(|| vec![2, 2]),
        predictor: d.find_tag_unsigned(Tag::Predictor)?.unwrap_or(1),
        tiled: d.find_tag(Tag::TileWidth)?.is_some(),
    })
}

impl Layout {
    fn all_8_bit(&self) -> bool {
        usize::from(self.samples) == self.bits.len() && self.bits.iter().all(|&b| b == 8)
    }

    /// Pillow's `P` (one index sample of 1, 2, 4 or 8 bits, or `PX`: an
    /// unspecified extra one it drops) and `PA` (unassociated alpha).
    fn palette(&self) -> Option<bool> {
        if self.photometric != PALETTE {
            return None;
        }
        match (self.samples, self.extra.as_slice(), self.bits.as_slice()) {
            (1, [], [1 | 2 | 4 | 8]) => Some(false),
            (2, [0], [8, 8]) => Some(false),
            (2, [2], [8, 8]) => Some(true),
            _ => None,
        }
    }

    /// Bits of a palette index.
    fn index_bits(&self) -> u16 {
        self.bits.first().copied().unwrap_or(8)
    }

    /// Pillow's `LA` and `LX`: grey and a second sample, dropped on the
    /// way to RGB.
    fn grey_extra(&self) -> bool {
        self.photometric == BLACK_IS_ZERO
            && self.samples == 2
            && self.all_8_bit()
            && matches!(self.extra.as_slice(), [0] | [2])
    }

    /// Pillow's `1`: one 1-bit sample, white or black is zero.
    fn bilevel(&self) -> bool {
        self.photometric <= BLACK_IS_ZERO && self.samples == 1 && self.bits == [1] && self.extra.is_empty()
    }

    fn ycbcr(&self) -> bool {
        self.photometric == YCBCR
            && self.samples == 3
            && self.all_8_bit()
            && self.subsampling == [1, 1]
            && !matches!(self.compression, OLD_JPEG | JPEG)
    }
}

fn decoder<'a>(bytes: &'a [u8], limits: &DecodeLimits) -> TiffResult<Decoder<Cursor<&'a [u8]>>> {
    let cap = usize::try_from(limits.max_alloc).unwrap_or(usize::MAX);
    let mut tiff_limits = Limits::default();
    tiff_limits.decoding_buffer_size = cap;
    tiff_limits.intermediate_buffer_size = cap;
    tiff_limits.ifd_value_size = cap.min(1 << 20);
    Ok(Decoder::new(Cursor::new(bytes))?.with_limits(tiff_limits))
}

fn map_error(e: TiffError, limits: &DecodeLimits) -> DecodeError {
    match e {
        TiffError::LimitsExceeded => DecodeError::MemoryLimit { format: FORMAT, max_alloc: limits.max_alloc },
        TiffError::UnsupportedError(e) => DecodeError::Unsupported { format: FORMAT, message: e.to_string() },
        other => DecodeError::Malformed { format: FORMAT, message: other.to_string() },
    }
}

/// Whether python-threatexchange's pixels may differ from the true colours:
/// a palette image (it hashes the indices), an uncompressed YCbCr one
/// (Pillow opens it in mode `YCbCr`, whose planes it hashes as R, G, B) or
/// a CIELAB one (mode `LAB`, likewise).
pub(super) fn pytx_may_differ(bytes: &[u8]) -> bool {
    let Ok(mut d) = decoder(bytes, &DecodeLimits::default()) else { return false };
    let Ok(l) = read_layout(&mut d) else { return false };
    l.palette() == Some(false)
        || (l.photometric == YCBCR && l.samples == 3 && l.all_8_bit() && l.compression == NO_COMPRESSION)
        || l.photometric == CIELAB
        || l.bilevel()
}

/// Whether Pillow opens the file in mode `1`: one 1-bit sample, white or
/// black is zero.
pub(super) fn is_bilevel(bytes: &[u8]) -> bool {
    let Ok(mut d) = decoder(bytes, &DecodeLimits::default()) else { return false };
    read_layout(&mut d).is_ok_and(|l| l.bilevel())
}

/// FillOrder 2 (bits from the least significant first), which the `tiff`
/// crate ignores: a copy of the file with the bits of every strip or tile
/// reversed and the tag set to 1, which then decodes as Pillow reads the
/// original. Pillow opens FillOrder 2 only in bilevel, grey (1 to 8 bits,
/// and 16-bit little-endian), RGB and palette layouts (it has
/// bit-reversing raw modes for those alone, and looks them up whatever the
/// compression): it refuses the others, and so does marsad. It reads
/// uncompressed data itself with those modes, and hands compressed data to
/// libtiff, which reverses the compressed bytes before decoding them (JPEG
/// aside: libtiff ignores the tag there). `Ok(None)` when there is nothing
/// to change.
pub(super) fn fill_order_fixed(bytes: &[u8], limits: &DecodeLimits) -> Result<Option<Vec<u8>>, DecodeError> {
    let err = |e| map_error(e, limits);
    let mut d = decoder(bytes, limits).map_err(err)?;
    if d.find_tag_unsigned::<u16>(Tag::FillOrder).map_err(err)? != Some(2) {
        return Ok(None);
    }
    let l = read_layout(&mut d).map_err(err)?;
    let little = bytes.starts_with(b"II");
    let sample_format =
        d.find_tag_unsigned_vec::<u16>(Tag::SampleFormat).map_err(err)?.unwrap_or_else(|| vec![1]);
    let pillow_reads_raw = sample_format.iter().all(|&f| f == 1)
        && l.extra.is_empty()
        && match (l.photometric, l.bits.as_slice()) {
            (0 | 1 | PALETTE, [1 | 2 | 4 | 8]) => true,
            (BLACK_IS_ZERO, [16]) => little,
            (2, [8, 8, 8]) => true,
            _ => false,
        };
    // Pillow looks the layout up with the fill order first, whatever the
    // compression.
    if !pillow_reads_raw {
        return Err(DecodeError::Unsupported {
            format: FORMAT,
            message: format!(
                "samples of {:?} bits (photometric {}) in FillOrder 2, which Pillow does not open",
                l.bits, l.photometric
            ),
        });
    }
    if matches!(l.compression, OLD_JPEG | JPEG) {
        return Ok(None);
    }
    let (offsets, counts) = if l.tiled {
        (Tag::TileOffsets, Tag::TileByteCounts)
    } else {
        (Tag::StripOffsets, Tag::StripByteCounts)
    };
    let offsets = d.get_tag_u64_vec(offsets).map_err(err)?;
    let counts = d.get_tag_u64_vec(counts).map_err(err)?;
    let mut copy = patched(bytes, &[(266, 1)]).ok_or_else(|| DecodeError::Malformed {
        format: FORMAT,
        message: "fill order tag not found in the first directory".into(),
    })?;
    for (&at, &n) in offsets.iter().zip(&counts) {
        let start = usize::try_from(at).unwrap_or(usize::MAX).min(copy.len());
        let end = start.saturating_add(usize::try_from(n).unwrap_or(usize::MAX)).min(copy.len());
        copy[start..end].iter_mut().for_each(|b| *b = b.reverse_bits());
    }
    Ok(Some(copy))
}

/// Whether the first directory says JPEG compression (7).
pub(super) fn is_jpeg(bytes: &[u8]) -> bool {
    let Ok(mut d) = decoder(bytes, &DecodeLimits::default()) else { return false };
    read_layout(&mut d).is_ok_and(|l| l.compression == JPEG)
}

/// JPEG-compressed TIFF (compression 7) in 8-bit grey, RGB or YCbCr
/// samples side by side, decoded as Pillow has libtiff decode it: each
/// strip or tile a JPEG stream (after the JPEGTables tag's tables) given to
/// libjpeg-turbo with Pillow's settings, YCbCr converted to RGB by libjpeg
/// (Pillow asks libtiff for `JPEGCOLORMODE_RGB`), then placed on the image.
/// `Ok(None)` for any other file, left to the `tiff` crate.
pub(super) fn jpeg_decode(bytes: &[u8], limits: &DecodeLimits) -> Result<Option<Pixels>, DecodeError> {
    let err = |e| map_error(e, limits);
    let mut d = decoder(bytes, limits).map_err(err)?;
    let l = read_layout(&mut d).map_err(err)?;
    let channels = match (l.compression, l.photometric, l.samples) {
        (JPEG, BLACK_IS_ZERO, 1) => 1,
        (JPEG, 2 | YCBCR, 3) => 3,
        _ => return Ok(None),
    };
    if !l.all_8_bit() || l.planar != 1 || !l.extra.is_empty() {
        return Ok(None);
    }
    let (width, height) = checked_dimensions(&mut d, limits)?;
    // The image, and one strip or tile decoded at a time.
    if 2 * (width * height * channels) as u64 > limits.max_alloc {
        return Err(DecodeError::MemoryLimit { format: FORMAT, max_alloc: limits.max_alloc });
    }
    let (piece_w, piece_h, offsets, counts) = if l.tiled {
        let tw = d.get_tag_u32(Tag::TileWidth).map_err(err)? as usize;
        let th = d.get_tag_u32(Tag::TileLength).map_err(err)? as usize;
        (
            tw,
            th,
            d.get_tag_u64_vec(Tag::TileOffsets).map_err(err)?,
            d.get_tag_u64_vec(Tag::TileByteCounts).map_err(err)?,
        )
    } else {
        let rows = d.find_tag_unsigned::<u32>(Tag::RowsPerStrip).map_err(err)?.map_or(height, |r| r as usize);
        (
            width,
            rows.clamp(1, height.max(1)),
            d.get_tag_u64_vec(Tag::StripOffsets).map_err(err)?,
            d.get_tag_u64_vec(Tag::StripByteCounts).map_err(err)?,
        )
    };
    let malformed = |message: String| DecodeError::Malformed { format: FORMAT, message };
    if piece_w == 0 || piece_h == 0 {
        return Err(malformed("a strip or tile of no size".into()));
    }
    let tables =
        d.find_tag(Tag::JPEGTables).map_err(err)?.map(|v| v.into_u8_vec()).transpose().map_err(err)?;
    let across = width.div_ceil(piece_w);
    let pieces = across * height.div_ceil(piece_h);
    if offsets.len() < pieces || counts.len() < pieces {
        return Err(malformed(format!(
            "{} strips or tiles listed, {pieces} needed",
            offsets.len().min(counts.len())
        )));
    }
    let mut data = vec![0u8; width * height * channels];
    let mut stream = Vec::new();
    for k in 0..pieces {
        let start = usize::try_from(offsets[k]).unwrap_or(usize::MAX);
        let end = start.saturating_add(usize::try_from(counts[k]).unwrap_or(usize::MAX));
        let piece = bytes
            .get(start..end)
            .ok_or_else(|| malformed(format!("strip or tile {k} past the end of the file")))?;
        stream.clear();
        // The tables' stream without its end marker, then the piece's
        // without its start marker: one stream, as libjpeg reads them.
        match &tables {
            Some(t) if t.len() >= 4 && piece.len() >= 2 => {
                stream.extend_from_slice(&t[..t.len() - 2]);
                stream.extend_from_slice(&piece[2..]);
            }
            _ => stream.extend_from_slice(piece),
        }
        let j = super::jpeg::decode(&stream, limits)?;
        let (x0, y0) = ((k % across) * piece_w, (k / across) * piece_h);
        let (w, h) = (piece_w.min(width - x0), piece_h.min(height - y0));
        if j.channels != channels || j.width < w || j.height < h {
            return Err(malformed(format!(
                "strip or tile {k} decodes to {}x{} in {} channels, {w}x{h} in {channels} wanted",
                j.width, j.height, j.channels
            )));
        }
        for y in 0..h {
            let from = y * j.width * channels;
            let to = ((y0 + y) * width + x0) * channels;
            data[to..to + w * channels].copy_from_slice(&j.data[from..from + w * channels]);
        }
    }
    Ok(Some(Pixels { width, height, channels, data }))
}

/// The first directory's Orientation tag, 1 when absent or unreadable.
pub(super) fn orientation(bytes: &[u8]) -> u16 {
    decoder(bytes, &DecodeLimits::default())
        .and_then(|mut d| d.find_tag_unsigned(Tag::Orientation))
        .ok()
        .flatten()
        .unwrap_or(1)
}

/// Decodes the first image of a TIFF file the `image` crate refused with
/// `refused`, which is returned unchanged for layouts not handled here.
pub(super) fn decode(
    bytes: &[u8],
    limits: &DecodeLimits,
    refused: DecodeError,
) -> Result<(Pixels, Pytx), DecodeError> {
    let err = |e| map_error(e, limits);
    let mut d = decoder(bytes, limits).map_err(err)?;
    let layout = read_layout(&mut d).map_err(err)?;
    if layout.photometric == CIELAB {
        return cielab(bytes, &layout, &mut d, limits);
    }
    if layout.photometric == YCBCR
        && layout.subsampling != [1, 1]
        && !matches!(layout.compression, OLD_JPEG | JPEG)
    {
        return subsampled_ycbcr(bytes, &layout, &mut d, limits);
    }
    let palette = layout.palette();
    if palette.is_none() && !layout.grey_extra() && !layout.ycbcr() {
        return Err(refused);
    }
    if layout.samples > 1 && layout.planar != 1 {
        return Err(DecodeError::Unsupported { format: FORMAT, message: "separate sample planes".into() });
    }
    let (width, height) = checked_dimensions(&mut d, limits)?;
    let channels = usize::from(layout.samples);
    // The decoded samples, plus RGB beside them at most.
    if (width * height) as u64 * (channels as u64 + 3) > limits.max_alloc {
        return Err(DecodeError::MemoryLimit { format: FORMAT, max_alloc: limits.max_alloc });
    }
    let want = width * height * channels;
    if let Some(alpha) = palette {
        let colormap: Vec<u16> = d.get_tag_u16_vec(Tag::ColorMap).map_err(err)?;
        // The tiff crate refuses palette images in every reading call, though
        // their samples are plain grey ones until looked up: read them as
        // grey from a copy whose photometric tag says so.
        let patched =
            patched(bytes, &[(262, BLACK_IS_ZERO.into())]).ok_or_else(|| DecodeError::Malformed {
                format: FORMAT,
                message: "photometric interpretation tag not found in the first directory".into(),
            })?;
        let mut grey = decoder(&patched, limits).map_err(err)?;
        let bits = usize::from(layout.index_bits());
        if bits < 8 {
            // Rows of packed indices, most significant bits first, each row
            // starting on a byte (Pillow's `P;1`, `P;2`, `P;4`).
            let row = (width * bits).div_ceil(8);
            let packed = read_u8(&mut grey, row * height).map_err(err)?;
            let per_byte = 8 / bits;
            let mask = (1u8 << bits) - 1;
            let samples: Vec<u8> = packed
                .chunks_exact(row)
                .flat_map(|r| {
                    (0..width).map(move |x| (r[x / per_byte] >> (8 - bits * (x % per_byte + 1))) & mask)
                })
                .collect();
            return Ok(palette_pixels(width, height, channels, alpha, &samples, &colormap));
        }
        let samples = read_u8(&mut grey, want).map_err(err)?;
        return Ok(palette_pixels(width, height, channels, alpha, &samples, &colormap));
    }
    let samples = read_u8(&mut d, want).map_err(err)?;
    if layout.grey_extra() {
        let data = samples.chunks_exact(2).flat_map(|p| [p[0]; 3]).collect();
        return Ok((Pixels { width, height, channels: 3, data }, Pytx::Same));
    }
    if layout.compression == NO_COMPRESSION {
        // Pillow reads uncompressed YCbCr itself, in mode `YCbCr`, and
        // converts it with its own fixed-point tables.
        let data = samples.chunks_exact(3).flat_map(|p| pillow_ycbcr_to_rgb(p[0], p[1], p[2])).collect();
        let raw = Pixels { width, height, channels: 3, data: samples };
        return Ok((Pixels { width, height, channels: 3, data }, Pytx::Ycbcr(raw)));
    }
    // Compressed YCbCr goes through libtiff's `TIFFRGBAImage`, and Pillow
    // opens the result in mode `RGB`.
    // YCbCrCoefficients and ReferenceBlackWhite, with libtiff's defaults.
    let luma = floats(&mut d, 529, 3).map_err(err)?.unwrap_or(vec![0.299, 0.587, 0.114]);
    let ref_bw = floats(&mut d, 532, 6).map_err(err)?.unwrap_or(vec![0.0, 255.0, 128.0, 255.0, 128.0, 255.0]);
    let t = LibtiffYcbcr::new(&luma, &ref_bw)?;
    let data = samples.chunks_exact(3).flat_map(|p| t.to_rgb(p[0], p[1], p[2])).collect();
    Ok((Pixels { width, height, channels: 3, data }, Pytx::Same))
}

/// Pillow's `LAB` mode (three 8-bit samples, nothing else: the only CIELAB
/// layout its TIFF plug-in opens), converted to RGB by Little CMS exactly
/// as Pillow's `convert("RGB")` asks it to.
fn cielab(
    bytes: &[u8],
    layout: &Layout,
    d: &mut Decoder<Cursor<&[u8]>>,
    limits: &DecodeLimits,
) -> Result<(Pixels, Pytx), DecodeError> {
    let err = |e| map_error(e, limits);
    if layout.samples != 3 || !layout.all_8_bit() || !layout.extra.is_empty() {
        return Err(DecodeError::Unsupported {
            format: FORMAT,
            message: format!(
                "CIELAB in {} samples of {:?} bits (Pillow opens only three 8-bit ones)",
                layout.samples, layout.bits
            ),
        });
    }
    if layout.planar != 1 {
        return Err(DecodeError::Unsupported { format: FORMAT, message: "separate sample planes".into() });
    }
    let (width, height) = checked_dimensions(d, limits)?;
    // At most held at once: the samples (kept as the variant), Pillow's
    // 4-byte L, a, b, pad and Little CMS's RGBA, or the samples, the RGBA
    // and the RGB made from it.
    if (width * height) as u64 * 11 > limits.max_alloc {
        return Err(DecodeError::MemoryLimit { format: FORMAT, max_alloc: limits.max_alloc });
    }
    // The tiff crate reads CIELAB samples only as RGB ones: read them from
    // a copy whose photometric tag says RGB.
    let patched = patched(bytes, &[(262, 2)]).ok_or_else(|| DecodeError::Malformed {
        format: FORMAT,
        message: "photometric interpretation tag not found in the first directory".into(),
    })?;
    let mut rgb = decoder(&patched, limits).map_err(err)?;
    let samples = read_u8(&mut rgb, width * height * 3).map_err(err)?;
    // Pillow's `LAB` raw mode stores a and b, signed in the file, offset
    // to unsigned; `numpy.asarray` packs them back, so python-threatexchange
    // hashes the file's bytes.
    let lab: Vec<[u8; 4]> = samples.chunks_exact(3).map(|p| [p[0], p[1] ^ 0x80, p[2] ^ 0x80, 0]).collect();
    let to_rgb = lab_transform()?;
    let mut out = vec![[0u8; 4]; lab.len()];
    to_rgb.transform_pixels(&lab, &mut out);
    drop(lab);
    let data = out.iter().flat_map(|p| [p[0], p[1], p[2]]).collect();
    drop(out);
    Ok((
        Pixels { width, height, channels: 3, data },
        Pytx::Lab(Pixels { width, height, channels: 3, data: samples }),
    ))
}

/// Pillow's `LAB` → `RGB` transform: `ImageCms.createProfile("LAB")`
/// (`cmsCreateLab2Profile` with the D50 white point) to
/// `createProfile("sRGB")`, pixel formats as `findLCMStype` gives them (Lab
/// v2 with one extra byte, RGBA), intent 0, no flags.
fn lab_transform() -> Result<lcms2::Transform<[u8; 4], [u8; 4]>, DecodeError> {
    use lcms2::{CIExyY, GlobalContext, Intent, PixelFormat, Profile, Transform};
    let failed = |e: lcms2::Error| DecodeError::Unsupported {
        format: FORMAT,
        message: format!("Little CMS could not build the CIELAB to sRGB transform: {e}"),
    };
    let lab = Profile::new_lab2_context(GlobalContext::new(), CIExyY::d50()).map_err(failed)?;
    let srgb = Profile::new_srgb();
    // COLORSPACE_SH(PT_LabV2) | CHANNELS_SH(3) | BYTES_SH(1) | EXTRA_SH(1).
    let lab_x = PixelFormat(PixelFormat::LabV2_8.0 | (1 << 7));
    Transform::new(&lab, lab_x, &srgb, PixelFormat::RGBA_8, Intent::Perceptual).map_err(failed)
}

/// The image's width and height, refused over the decode limits before
/// any sample is read.
fn checked_dimensions(
    d: &mut Decoder<Cursor<&[u8]>>,
    limits: &DecodeLimits,
) -> Result<(usize, usize), DecodeError> {
    let (w, h) = d.dimensions().map_err(|e| map_error(e, limits))?;
    if u64::from(w) * u64::from(h) > limits.max_pixels || w > limits.max_side || h > limits.max_side {
        return Err(DecodeError::TooLarge {
            format: FORMAT,
            width: w,
            height: h,
            max_pixels: limits.max_pixels,
            max_side: limits.max_side,
        });
    }
    Ok((w as usize, h as usize))
}

/// A tag of `n` numbers as libtiff reads it into `float`s (a rational as
/// the quotient of its parts taken as doubles, 0 for a zero denominator).
fn floats(d: &mut Decoder<Cursor<&[u8]>>, tag: u16, n: usize) -> TiffResult<Option<Vec<f32>>> {
    use tiff::decoder::ifd::Value;
    fn one(v: &Value) -> Option<f32> {
        Some(match *v {
            Value::Rational(a, b) => {
                if b == 0 {
                    0.0
                } else {
                    (f64::from(a) / f64::from(b)) as f32
                }
            }
            Value::SRational(a, b) => {
                if b == 0 {
                    0.0
                } else {
                    (f64::from(a) / f64::from(b)) as f32
                }
            }
            Value::Float(f) => f,
            Value::Double(f) => f as f32,
            _ => return None,
        })
    }
    let Some(v) = d.find_tag(Tag::Unknown(tag))? else { return Ok(None) };
    let list: Option<Vec<f32>> = match &v {
        Value::List(l) => l.iter().map(one).collect(),
        other => one(other).map(|f| vec![f]),
    };
    match list {
        Some(l) if l.len() == n => Ok(Some(l)),
        _ => Err(TiffError::FormatError(tiff::TiffFormatError::InvalidTypeForTag)),
    }
}

fn read_u8(d: &mut Decoder<Cursor<&[u8]>>, want: usize) -> TiffResult<Vec<u8>> {
    match d.read_image()? {
        DecodingResult::U8(mut v) if v.len() >= want => {
            v.truncate(want);
            Ok(v)
        }
        _ => Err(TiffError::FormatError(tiff::TiffFormatError::InconsistentSizesEncountered)),
    }
}

/// Pillow reads the colour map as `RGB;L` (all reds, then greens, then
/// blues) of 16-bit values divided by 256; an index past its end is black.
fn palette_pixels(
    width: usize,
    height: usize,
    channels: usize,
    alpha: bool,
    samples: &[u8],
    colormap: &[u16],
) -> (Pixels, Pytx) {
    let n = colormap.len() / 3;
    let entry = |plane: usize, i: usize| if i < n { (colormap[plane * n + i] / 256) as u8 } else { 0 };
    let indices: Vec<u8> = samples.chunks_exact(channels).map(|p| p[0]).collect();
    let data =
        indices.iter().flat_map(|&i| [entry(0, i.into()), entry(1, i.into()), entry(2, i.into())]).collect();
    let rgb = Pixels { width, height, channels: 3, data };
    if alpha {
        // `PA`: python-threatexchange fails on its two planes (pdqhash
        // wants three); its variant is left to be the true colours.
        return (rgb, Pytx::Same);
    }
    (rgb, Pytx::Palette(Pixels { width, height, channels: 1, data: indices }))
}

/// A copy of `bytes` whose first directory's entries for the given tags
/// hold one value each (a SHORT, or a LONG when it does not fit); `None`
/// when the directory or one of the entries is missing.
fn patched(bytes: &[u8], values: &[(u16, u32)]) -> Option<Vec<u8>> {
    let little = match bytes.get(..2)? {
        b"II" => true,
        b"MM" => false,
        _ => return None,
    };
    let u16_at = |i: usize| -> Option<u16> {
        let b: [u8; 2] = bytes.get(i..i + 2)?.try_into().ok()?;
        Some(if little { u16::from_le_bytes(b) } else { u16::from_be_bytes(b) })
    };
    let u32_at = |i: usize| -> Option<u32> {
        let b: [u8; 4] = bytes.get(i..i + 4)?.try_into().ok()?;
        Some(if little { u32::from_le_bytes(b) } else { u32::from_be_bytes(b) })
    };
    let u64_at = |i: usize| -> Option<u64> {
        let b: [u8; 8] = bytes.get(i..i + 8)?.try_into().ok()?;
        Some(if little { u64::from_le_bytes(b) } else { u64::from_be_bytes(b) })
    };
    // Classic TIFF: 2-byte count, 12-byte entries (4-byte count and value);
    // BigTIFF: 8-byte count, 20-byte entries (8-byte count and value).
    let (count, first, size, wide) = match u16_at(2)? {
        42 => {
            let ifd = usize::try_from(u32_at(4)?).ok()?;
            (u64::from(u16_at(ifd)?), ifd + 2, 12, false)
        }
        43 => {
            let ifd = usize::try_from(u64_at(8)?).ok()?;
            (u64_at(ifd)?, ifd + 8, 20, true)
        }
        _ => return None,
    };
    let entries: Vec<usize> = (0..usize::try_from(count).ok()?)
        .map(|k| first + k * size)
        .take_while(|&e| e + size <= bytes.len())
        .collect();
    let mut copy = bytes.to_vec();
    for &(tag, value) in values {
        let at = *entries.iter().find(|&&e| u16_at(e) == Some(tag))?;
        let (kind, v): (u16, Vec<u8>) = match u16::try_from(value) {
            Ok(short) => {
                (3, if little { short.to_le_bytes().to_vec() } else { short.to_be_bytes().to_vec() })
            }
            Err(_) => (4, if little { value.to_le_bytes().to_vec() } else { value.to_be_bytes().to_vec() }),
        };
        let put = |copy: &mut Vec<u8>, i: usize, b: &[u8]| copy[i..i + b.len()].copy_from_slice(b);
        put(&mut copy, at + 2, &if little { kind.to_le_bytes() } else { kind.to_be_bytes() });
        let (count_len, value_at) = if wide { (8, at + 12) } else { (4, at + 8) };
        let one: Vec<u8> = if little {
            1u64.to_le_bytes()[..count_len].to_vec()
        } else {
            1u64.to_be_bytes()[8 - count_len..].to_vec()
        };
        put(&mut copy, at + 4, &one);
        // The value, left-justified in its field, the rest zero.
        let field = if wide { 8 } else { 4 };
        copy[value_at..value_at + field].fill(0);
        put(&mut copy, value_at, &v);
    }
    Some(copy)
}

/// YCbCr with chroma subsampling, as Pillow opens it: an uncompressed file
/// Pillow reads itself as if it were not subsampled (it runs out of data,
/// or reads past the samples), so it is refused; a compressed one goes
/// through libtiff's `TIFFRGBAImage`, whose subsampled readers give every
/// pixel of a block the block's Cb and Cr and convert as
/// `TIFFYCbCrtoRGB`, and Pillow opens the result in mode `RGB`.
/// Uncompressed YCbCr with chroma subsampling, as Pillow reads it: as if it
/// were not subsampled (mode `YCbCr`, three bytes a pixel), each strip's
/// `width × rows × 3` bytes taken from its offset on, past the strip's own
/// bytes into whatever follows in the file. Pillow fails when the file ends
/// first (the usual case: subsampled data is smaller), and so does marsad;
/// the tiniest images, whose blocks' padding makes up the difference, get
/// Pillow's reading of the blocks' bytes as pixels.
fn misread_as_pillow(
    bytes: &[u8],
    layout: &Layout,
    d: &mut Decoder<Cursor<&[u8]>>,
    limits: &DecodeLimits,
    (hs, vs): (usize, usize),
) -> Result<(Pixels, Pytx), DecodeError> {
    let err = |e| map_error(e, limits);
    let refuse = |why: &str| DecodeError::Unsupported {
        format: FORMAT,
        message: format!(
            "uncompressed YCbCr with chroma subsampling [{hs}, {vs}], which Pillow reads as if it were not \
             subsampled: {why}"
        ),
    };
    if layout.tiled || layout.samples != 3 || !layout.all_8_bit() || layout.planar != 1 {
        return Err(refuse("not in 8-bit samples side by side in strips"));
    }
    let (width, height) = checked_dimensions(d, limits)?;
    if (6 * width * height) as u64 > limits.max_alloc {
        return Err(DecodeError::MemoryLimit { format: FORMAT, max_alloc: limits.max_alloc });
    }
    let rows = d.find_tag_unsigned::<u32>(Tag::RowsPerStrip).map_err(err)?.map_or(height, |r| r as usize);
    let rows = rows.clamp(1, height.max(1));
    let offsets = d.get_tag_u64_vec(Tag::StripOffsets).map_err(err)?;
    let mut samples = Vec::with_capacity(3 * width * height);
    for (k, y0) in (0..height).step_by(rows).enumerate() {
        let need = 3 * width * rows.min(height - y0);
        let at = offsets
            .get(k)
            .and_then(|&o| usize::try_from(o).ok())
            .ok_or_else(|| refuse("a strip is missing"))?;
        let strip = bytes.get(at..at.saturating_add(need)).ok_or_else(|| refuse("the file ends first"))?;
        samples.extend_from_slice(strip);
    }
    let data = samples.chunks_exact(3).flat_map(|p| pillow_ycbcr_to_rgb(p[0], p[1], p[2])).collect();
    let raw = Pixels { width, height, channels: 3, data: samples };
    Ok((Pixels { width, height, channels: 3, data }, Pytx::Ycbcr(raw)))
}

fn subsampled_ycbcr(
    bytes: &[u8],
    layout: &Layout,
    d: &mut Decoder<Cursor<&[u8]>>,
    limits: &DecodeLimits,
) -> Result<(Pixels, Pytx), DecodeError> {
    let err = |e| map_error(e, limits);
    let refuse = |why: String| DecodeError::Unsupported { format: FORMAT, message: why };
    let (hs, vs) = match layout.subsampling.as_slice() {
        &[h, v] => (usize::from(h), usize::from(v)),
        other => return Err(refuse(format!("YCbCr with chroma subsampling {other:?}"))),
    };
    if layout.compression == NO_COMPRESSION {
        return misread_as_pillow(bytes, layout, d, limits, (hs, vs));
    }
    // The combinations libtiff's TIFFRGBAImage converts.
    if !matches!((hs, vs), (1, 2) | (2, 1) | (2, 2) | (4, 1) | (4, 2) | (4, 4)) {
        return Err(refuse(format!(
            "YCbCr with chroma subsampling [{hs}, {vs}], which libtiff does not convert"
        )));
    }
    if layout.samples != 3 || !layout.all_8_bit() || layout.planar != 1 {
        return Err(refuse(format!(
            "YCbCr with chroma subsampling [{hs}, {vs}] not in 8-bit samples side by side"
        )));
    }
    if layout.tiled || !matches!(layout.predictor, 1 | 2) {
        let what = if layout.tiled { "in tiles" } else { "with a floating-point predictor" };
        return Err(refuse(format!("YCbCr with chroma subsampling [{hs}, {vs}] {what}")));
    }
    let (width, height) = checked_dimensions(d, limits)?;
    if hs > width || vs > height {
        return Err(refuse(format!(
            "YCbCr with chroma subsampling [{hs}, {vs}] larger than the image ({width}×{height}), which libtiff \
             refuses"
        )));
    }
    // A block: hs × vs luma samples, then Cb and Cr.
    let block = hs * vs + 2;
    let (across, down) = (width.div_ceil(hs), height.div_ceil(vs));
    let packed_len = across * down * block;
    if (packed_len + 3 * width * height) as u64 > limits.max_alloc {
        return Err(DecodeError::MemoryLimit { format: FORMAT, max_alloc: limits.max_alloc });
    }
    let rows_per_strip: u32 = d.find_tag_unsigned(Tag::RowsPerStrip).map_err(err)?.unwrap_or(u32::MAX);
    if (rows_per_strip as usize) < height && !(rows_per_strip as usize).is_multiple_of(vs) {
        return Err(DecodeError::Malformed {
            format: FORMAT,
            message: format!("{rows_per_strip} rows per strip, not a multiple of the subsampling {vs}"),
        });
    }
    let luma = floats(d, 529, 3).map_err(err)?.unwrap_or(vec![0.299, 0.587, 0.114]);
    let ref_bw = floats(d, 532, 6).map_err(err)?.unwrap_or(vec![0.0, 255.0, 128.0, 255.0, 128.0, 255.0]);
    let t = LibtiffYcbcr::new(&luma, &ref_bw)?;
    // The tiff crate does not read subsampled samples: read the blocks as
    // the rows of a grey image one block-row high per row of blocks.
    let mut values = vec![
        (256, (across * block) as u32),
        (257, down as u32),
        (262, u32::from(BLACK_IS_ZERO)),
        (277, 1),
        (258, 8),
    ];
    if rows_per_strip != u32::MAX {
        values.push((278, rows_per_strip.div_ceil(vs as u32)));
    }
    if layout.predictor == 2 {
        // Undone below, as libtiff undoes it.
        values.push((317, 1));
    }
    let copy = patched(bytes, &values).ok_or_else(|| DecodeError::Malformed {
        format: FORMAT,
        message: "a tag of the image's size or samples not found in the first directory".into(),
    })?;
    let mut grey = decoder(&copy, limits).map_err(err)?;
    let mut packed = read_u8(&mut grey, packed_len).map_err(err)?;
    if layout.predictor == 2 {
        // libtiff's horizontal predictor on subsampled samples: a strip is
        // undone in "scanlines" of a row of blocks divided by the vertical
        // subsampling (TIFFScanlineSize), a byte being the difference from
        // the one three (samples per pixel) before it. When the strip is
        // not a whole number of those, or they are not of whole pixels,
        // libtiff fails on the strip and Pillow's reader (which does not
        // stop on errors) converts it as it is, differences and all.
        let scanline = across * block / vs;
        let strip = (rows_per_strip.div_ceil(vs as u32) as usize).saturating_mul(across * block);
        for s in packed.chunks_mut(strip.max(1)) {
            if scanline > 0 && s.len().is_multiple_of(scanline) && scanline.is_multiple_of(3) {
                for row in s.chunks_exact_mut(scanline) {
                    for i in 3..row.len() {
                        row[i] = row[i].wrapping_add(row[i - 3]);
                    }
                }
            }
        }
    }
    let mut data = Vec::with_capacity(3 * width * height);
    for y in 0..height {
        for x in 0..width {
            let at = ((y / vs) * across + x / hs) * block;
            let luma = packed[at + (y % vs) * hs + x % hs];
            data.extend_from_slice(&t.to_rgb(luma, packed[at + hs * vs], packed[at + hs * vs + 1]));
        }
    }
    Ok((Pixels { width, height, channels: 3, data }, Pytx::Same))
}

// Pillow's YCbCr → RGB tables (src/libImaging/ConvertYCbCr.c), scaled by
// 2^6.
const SCALE: i32 = 6;

fn pillow_ycbcr_to_rgb(y: u8, cb: u8, cr: u8) -> [u8; 3] {
    let (y, cb, cr) = (i32::from(y), usize::from(cb), usize::from(cr));
    let r = y + (i32::from(R_CR[cr]) >> SCALE);
    let g = y + ((i32::from(G_CB[cb]) + i32::from(G_CR[cr])) >> SCALE);
    let b = y + (i32::from(B_CB[cb]) >> SCALE);
    [r.clamp(0, 255) as u8, g.clamp(0, 255) as u8, b.clamp(0, 255) as u8]
}

/// libtiff's `TIFFYCbCrToRGBInit` tables (libtiff/tif_color.c), computed
/// in `f32` as the C code does, and `TIFFYCbCrtoRGB`.
struct LibtiffYcbcr {
    cr_r: [i32; 256],
    cb_b: [i32; 256],
    cr_g: [i32; 256],
    cb_g: [i32; 256],
    y: [i32; 256],
}

const SHIFT: i32 = 16;
const ONE_HALF: i32 = 1 << (SHIFT - 1);

fn fix(x: f32) -> i32 {
    (f64::from(x) * f64::from(1 << SHIFT) + 0.5) as i32
}

/// `Code2V`: a code mapped between the reference black and white.
fn code2v(c: i32, rb: f32, rw: f32, cr: f32) -> f32 {
    // TIFF_FLOAT_EQ is exact equality.
    let range = if (rw - rb).abs() > 0.0 { rw - rb } else { 1.0 };
    // libtiff's int arithmetic wraps on hostile reference values; so does
    // this (never an overflow panic).
    (c.wrapping_sub(rb as i32) as f32 * cr) / range
}

fn clamp_f(v: f32, lo: f32, hi: f32) -> f32 {
    // libtiff's CLAMP, written to send NaN to the minimum.
    if v.is_nan() || v < lo {
        lo
    } else if v > hi {
        hi
    } else {
        v
    }
}

impl LibtiffYcbcr {
    fn new(luma: &[f32], rbw: &[f32]) -> Result<Self, DecodeError> {
        let bad =
            |what: &str| DecodeError::Malformed { format: FORMAT, message: format!("invalid {what} tag") };
        if luma.iter().any(|v| v.is_nan()) || luma[1].abs() <= f32::EPSILON {
            return Err(bad("YCbCrCoefficients"));
        }
        // libtiff's isInRefBlackWhiteRange.
        if rbw.iter().any(|&v| !(v > -0x7FFF_FFFF as f32 && v < 0x7FFF_FFFF as f32)) {
            return Err(bad("ReferenceBlackWhite"));
        }
        let (red, green, blue) = (luma[0], luma[1], luma[2]);
        let f1 = 2.0 - 2.0 * red;
        let d1 = fix(clamp_f(f1, 0.0, 2.0));
        let f2 = red * f1 / green;
        let d2 = -fix(clamp_f(f2, 0.0, 2.0));
        let f3 = 2.0 - 2.0 * blue;
        let d3 = fix(clamp_f(f3, 0.0, 2.0));
        let f4 = blue * f3 / green;
        let d4 = -fix(clamp_f(f4, 0.0, 2.0));
        let mut t =
            LibtiffYcbcr { cr_r: [0; 256], cb_b: [0; 256], cr_g: [0; 256], cb_g: [0; 256], y: [0; 256] };
        for i in 0..256 {
            let x = i as i32 - 128;
            let cr =
                clamp_f(code2v(x, rbw[4] - 128.0, rbw[5] - 128.0, 127.0), -128.0 * 32.0, 128.0 * 32.0) as i32;
            let cb =
                clamp_f(code2v(x, rbw[2] - 128.0, rbw[3] - 128.0, 127.0), -128.0 * 32.0, 128.0 * 32.0) as i32;
            t.cr_r[i] = ((i64::from(d1) * i64::from(cr) + i64::from(ONE_HALF)) >> SHIFT) as i32;
            t.cb_b[i] = ((i64::from(d3) * i64::from(cb) + i64::from(ONE_HALF)) >> SHIFT) as i32;
            t.cr_g[i] = d2.wrapping_mul(cr);
            t.cb_g[i] = d4.wrapping_mul(cb).wrapping_add(ONE_HALF);
            t.y[i] = clamp_f(code2v(x + 128, rbw[0], rbw[1], 255.0), -128.0 * 32.0, 128.0 * 32.0) as i32;
        }
        Ok(t)
    }

    fn to_rgb(&self, y: u8, cb: u8, cr: u8) -> [u8; 3] {
        let (y, cb, cr) = (usize::from(y), usize::from(cb), usize::from(cr));
        let r = self.y[y] + self.cr_r[cr];
        let g = self.y[y] + (self.cb_g[cb].wrapping_add(self.cr_g[cr]) >> SHIFT);
        let b = self.y[y] + self.cb_b[cb];
        [r.clamp(0, 255) as u8, g.clamp(0, 255) as u8, b.clamp(0, 255) as u8]
    }
}

const R_CR: [i16; 256] = [
    -11484, -11394, -11305, -11215, -11125, -11036, -10946, -10856, -10766, -10677, -10587, -10497, -10407,
    -10318, -10228, -10138, -10049, -9959, -9869, -9779, -9690, -9600, -9510, -9420, -9331, -9241, -9151,
    -9062, -8972, -8882, -8792, -8703, -8613, -8523, -8433, -8344, -8254, -8164, -8075, -7985, -7895, -7805,
    -7716, -7626, -7536, -7446, -7357, -7267, -7177, -7088, -6998, -6908, -6818, -6729, -6639, -6549, -6459,
    -6370, -6280, -6190, -6101, -6011, -5921, -5831, -5742, -5652, -5562, -5472, -5383, -5293, -5203, -5113,
    -5024, -4934, -4844, -4755, -4665, -4575, -4485, -4396, -4306, -4216, -4126, -4037, -3947, -3857, -3768,
    -3678, -3588, -3498, -3409, -3319, -3229, -3139, -3050, -2960, -2870, -2781, -2691, -2601, -2511, -2422,
    -2332, -2242, -2152, -2063, -1973, -1883, -1794, -1704, -1614, -1524, -1435, -1345, -1255, -1165, -1076,
    -986, -896, -807, -717, -627, -537, -448, -358, -268, -178, -89, 0, 90, 179, 269, 359, 449, 538, 628,
    718, 808, 897, 987, 1077, 1166, 1256, 1346, 1436, 1525, 1615, 1705, 1795, 1884, 1974, 2064, 2153, 2243,
    2333, 2423, 2512, 2602, 2692, 2782, 2871, 2961, 3051, 3140, 3230, 3320, 3410, 3499, 3589, 3679, 3769,
    3858, 3948, 4038, 4127, 4217, 4307, 4397, 4486, 4576, 4666, 4756, 4845, 4935, 5025, 5114, 5204, 5294,
    5384, 5473, 5563, 5653, 5743, 5832, 5922, 6012, 6102, 6191, 6281, 6371, 6460, 6550, 6640, 6730, 6819,
    6909, 6999, 7089, 7178, 7268, 7358, 7447, 7537, 7627, 7717, 7806, 7896, 7986, 8076, 8165, 8255, 8345,
    8434, 8524, 8614, 8704, 8793, 8883, 8973, 9063, 9152, 9242, 9332, 9421, 9511, 9601, 9691, 9780, 9870,
    9960, 10050, 10139, 10229, 10319, 10408, 10498, 10588, 10678, 10767, 10857, 10947, 11037, 11126, 11216,
    11306, 11395,
];

const G_CB: [i16; 256] = [
    2819, 2797, 2775, 2753, 2731, 2709, 2687, 2665, 2643, 2621, 2599, 2577, 2555, 2533, 2511, 2489, 2467,
    2445, 2423, 2401, 2379, 2357, 2335, 2313, 2291, 2269, 2247, 2225, 2202, 2180, 2158, 2136, 2114, 2092,
    2070, 2048, 2026, 2004, 1982, 1960, 1938, 1916, 1894, 1872, 1850, 1828, 1806, 1784, 1762, 1740, 1718,
    1696, 1674, 1652, 1630, 1608, 1586, 1564, 1542, 1520, 1498, 1476, 1454, 1432, 1410, 1388, 1366, 1344,
    1321, 1299, 1277, 1255, 1233, 1211, 1189, 1167, 1145, 1123, 1101, 1079, 1057, 1035, 1013, 991, 969, 947,
    925, 903, 881, 859, 837, 815, 793, 771, 749, 727, 705, 683, 661, 639, 617, 595, 573, 551, 529, 507, 485,
    463, 440, 418, 396, 374, 352, 330, 308, 286, 264, 242, 220, 198, 176, 154, 132, 110, 88, 66, 44, 22, 0,
    -21, -43, -65, -87, -109, -131, -153, -175, -197, -219, -241, -263, -285, -307, -329, -351, -373, -395,
    -417, -439, -462, -484, -506, -528, -550, -572, -594, -616, -638, -660, -682, -704, -726, -748, -770,
    -792, -814, -836, -858, -880, -902, -924, -946, -968, -990, -1012, -1034, -1056, -1078, -1100, -1122,
    -1144, -1166, -1188, -1210, -1232, -1254, -1276, -1298, -1320, -1343, -1365, -1387, -1409, -1431, -1453,
    -1475, -1497, -1519, -1541, -1563, -1585, -1607, -1629, -1651, -1673, -1695, -1717, -1739, -1761, -1783,
    -1805, -1827, -1849, -1871, -1893, -1915, -1937, -1959, -1981, -2003, -2025, -2047, -2069, -2091, -2113,
    -2135, -2157, -2179, -2201, -2224, -2246, -2268, -2290, -2312, -2334, -2356, -2378, -2400, -2422, -2444,
    -2466, -2488, -2510, -2532, -2554, -2576, -2598, -2620, -2642, -2664, -2686, -2708, -2730, -2752, -2774,
    -2796,
];

const G_CR: [i16; 256] = [
    5850, 5805, 5759, 5713, 5667, 5622, 5576, 5530, 5485, 5439, 5393, 5347, 5302, 5256, 5210, 5165, 5119,
    5073, 5028, 4982, 4936, 4890, 4845, 4799, 4753, 4708, 4662, 4616, 4570, 4525, 4479, 4433, 4388, 4342,
    4296, 4251, 4205, 4159, 4113, 4068, 4022, 3976, 3931, 3885, 3839, 3794, 3748, 3702, 3656, 3611, 3565,
    3519, 3474, 3428, 3382, 3336, 3291, 3245, 3199, 3154, 3108, 3062, 3017, 2971, 2925, 2879, 2834, 2788,
    2742, 2697, 2651, 2605, 2559, 2514, 2468, 2422, 2377, 2331, 2285, 2240, 2194, 2148, 2102, 2057, 2011,
    1965, 1920, 1874, 1828, 1782, 1737, 1691, 1645, 1600, 1554, 1508, 1463, 1417, 1371, 1325, 1280, 1234,
    1188, 1143, 1097, 1051, 1006, 960, 914, 868, 823, 777, 731, 686, 640, 594, 548, 503, 457, 411, 366, 320,
    274, 229, 183, 137, 91, 46, 0, -45, -90, -136, -182, -228, -273, -319, -365, -410, -456, -502, -547,
    -593, -639, -685, -730, -776, -822, -867, -913, -959, -1005, -1050, -1096, -1142, -1187, -1233, -1279,
    -1324, -1370, -1416, -1462, -1507, -1553, -1599, -1644, -1690, -1736, -1781, -1827, -1873, -1919, -1964,
    -2010, -2056, -2101, -2147, -2193, -2239, -2284, -2330, -2376, -2421, -2467, -2513, -2558, -2604, -2650,
    -2696, -2741, -2787, -2833, -2878, -2924, -2970, -3016, -3061, -3107, -3153, -3198, -3244, -3290, -3335,
    -3381, -3427, -3473, -3518, -3564, -3610, -3655, -3701, -3747, -3793, -3838, -3884, -3930, -3975, -4021,
    -4067, -4112, -4158, -4204, -4250, -4295, -4341, -4387, -4432, -4478, -4524, -4569, -4615, -4661, -4707,
    -4752, -4798, -4844, -4889, -4935, -4981, -5027, -5072, -5118, -5164, -5209, -5255, -5301, -5346, -5392,
    -5438, -5484, -5529, -5575, -5621, -5666, -5712, -5758, -5804,
];

const B_CB: [i16; 256] = [
    -14515, -14402, -14288, -14175, -14062, -13948, -13835, -13721, -13608, -13495, -13381, -13268, -13154,
    -13041, -12928, -12814, -12701, -12587, -12474, -12360, -12247, -12134, -12020, -11907, -11793, -11680,
    -11567, -11453, -11340, -11226, -11113, -11000, -10886, -10773, -10659, -10546, -10433, -10319, -10206,
    -10092, -9979, -9865, -9752, -9639, -9525, -9412, -9298, -9185, -9072, -8958, -8845, -8731, -8618, -8505,
    -8391, -8278, -8164, -8051, -7938, -7824, -7711, -7597, -7484, -7371, -7257, -7144, -7030, -6917, -6803,
    -6690, -6577, -6463, -6350, -6236, -6123, -6010, -5896, -5783, -5669, -5556, -5443, -5329, -5216, -5102,
    -4989, -4876, -4762, -4649, -4535, -4422, -4309, -4195, -4082, -3968, -3855, -3741, -3628, -3515, -3401,
    -3288, -3174, -3061, -2948, -2834, -2721, -2607, -2494, -2381, -2267, -2154, -2040, -1927, -1814, -1700,
    -1587, -1473, -1360, -1246, -1133, -1020, -906, -793, -679, -566, -453, -339, -226, -112, 0, 113, 227,
    340, 454, 567, 680, 794, 907, 1021, 1134, 1247, 1361, 1474, 1588, 1701, 1815, 1928, 2041, 2155, 2268,
    2382, 2495, 2608, 2722, 2835, 2949, 3062, 3175, 3289, 3402, 3516, 3629, 3742, 3856, 3969, 4083, 4196,
    4310, 4423, 4536, 4650, 4763, 4877, 4990, 5103, 5217, 5330, 5444, 5557, 5670, 5784, 5897, 6011, 6124,
    6237, 6351, 6464, 6578, 6691, 6804, 6918, 7031, 7145, 7258, 7372, 7485, 7598, 7712, 7825, 7939, 8052,
    8165, 8279, 8392, 8506, 8619, 8732, 8846, 8959, 9073, 9186, 9299, 9413, 9526, 9640, 9753, 9866, 9980,
    10093, 10207, 10320, 10434, 10547, 10660, 10774, 10887, 11001, 11114, 11227, 11341, 11454, 11568, 11681,
    11794, 11908, 12021, 12135, 12248, 12361, 12475, 12588, 12702, 12815, 12929, 13042, 13155, 13269, 13382,
    13496, 13609, 13722, 13836, 13949, 14063, 14176, 14289, 14403,
];
