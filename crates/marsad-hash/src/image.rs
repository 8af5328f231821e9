//! Decoding image bytes to 8-bit pixels the way the PDQ conformance vectors
//! were made (Pillow's `Image.open(..).convert("RGB")`): the format is
//! sniffed from the content, EXIF orientation is *not* applied (but a TIFF's
//! orientation tag is, as Pillow's TIFF plug-in applies it), alpha is
//! dropped (not composited), palette and greyscale are expanded, and 16-bit
//! samples are reduced to 8 bits as Pillow reduces them.
//!
//! JPEG goes through libjpeg-turbo, the library Pillow itself uses, with
//! Pillow's settings (accurate integer IDCT, fancy upsampling, CMYK with
//! Adobe polarity converted as Pillow converts it), so its pixels are
//! Pillow's to the bit; a JPEG whose data ends before its last row is an
//! error, as in Pillow. Other formats go through the `image` crate, but for
//! TIFF files it refuses: palette, grey + alpha and YCbCr ones are read with
//! the `tiff` crate and converted as Pillow converts them (CIELAB through
//! Little CMS, as Pillow). A GIF's first frame and palette BMP files are
//! read here as Pillow's plug-ins read them.
//!
//! [`open`] also keeps what python-threatexchange hashes where that differs
//! from the true colours: the palette indices of a palette PNG, TIFF, GIF or
//! BMP, the C, M, Y planes of a CMYK JPEG, the Y, Cb, Cr planes of an
//! uncompressed YCbCr TIFF, the L, a, b bytes of a CIELAB TIFF, the 0/1
//! pixels of a bilevel image ([`Opened::pytx_pixels`]).
//!
//! Untrusted input is expected: dimensions are checked against
//! [`DecodeLimits`] from the header before any pixel buffer is allocated, and
//! the decoder's own allocations are capped.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};

mod bmp;
mod gif;
mod jpeg;
mod tiff;

/// Bounds on what a decode may cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest accepted `width * height`.
    pub max_pixels: u64,
    /// Largest accepted width or height.
    pub max_side: u32,
    /// Cap on the bytes the decoder may allocate (the decoded pixel buffer
    /// included).
    pub max_alloc: u64,
}

impl Default for DecodeLimits {
    /// 100 megapixels, 65 535 pixels on a side, 1 GiB of decoder memory.
    fn default() -> Self {
        DecodeLimits { max_pixels: 100_000_000, max_side: 65_535, max_alloc: 1 << 30 }
    }
}

/// Why image bytes could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The first bytes match no supported format (empty input included).
    #[error("image format not recognised from its first bytes ({len} bytes given)")]
    UnknownFormat {
        /// Length of the input.
        len: usize,
    },
    /// The header declares more pixels or a longer side than the limits allow.
    #[error(
        "{format} image is {width}x{height}, over the limit of {max_pixels} pixels or {max_side} on a side"
    )]
    TooLarge {
        /// Format named by the sniffed magic bytes.
        format: &'static str,
        /// Width from the header.
        width: u32,
        /// Height from the header.
        height: u32,
        /// The pixel limit in force.
        max_pixels: u64,
        /// The side limit in force.
        max_side: u32,
    },
    /// Decoding would allocate more than `max_alloc` bytes.
    #[error("decoding the {format} image needs more than the {max_alloc}-byte memory limit")]
    MemoryLimit {
        /// Format named by the sniffed magic bytes.
        format: &'static str,
        /// The allocation limit in force.
        max_alloc: u64,
    },
    /// The format is recognised but this file uses a feature the decoder
    /// does not support.
    #[error("{format} image uses an unsupported feature: {message}")]
    Unsupported {
        /// Format named by the sniffed magic bytes.
        format: &'static str,
        /// The decoder's description.
        message: String,
    },
    /// The data is corrupt or truncated.
    #[error("{format} image is corrupt or truncated: {message}")]
    Malformed {
        /// Format named by the sniffed magic bytes.
        format: &'static str,
        /// The decoder's description.
        message: String,
    },
}

/// Interleaved 8-bit RGB pixels, row-major; `as_raw().len()` is always
/// `width * height * 3`.
#[derive(Clone, PartialEq, Eq)]
pub struct RgbImage {
    width: usize,
    height: usize,
    data: Vec<u8>,
}

impl std::fmt::Debug for RgbImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RgbImage")
            .field("width", &self.width)
            .field("height", &self.height)
            .finish_non_exhaustive()
    }
}

impl RgbImage {
    /// Wraps RGB bytes; `None` unless `data.len() == width * height * 3`.
    pub fn from_raw(width: usize, height: usize, data: Vec<u8>) -> Option<Self> {
        let want = width.checked_mul(height)?.checked_mul(3)?;
        (data.len() == want).then_some(RgbImage { width, height, data })
    }

    /// Pixels per row.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Number of rows.
    pub fn height(&self) -> usize {
        self.height
    }

    /// The interleaved RGB bytes.
    pub fn as_raw(&self) -> &[u8] {
        &self.data
    }

    /// The interleaved RGB bytes, by value.
    pub fn into_raw(self) -> Vec<u8> {
        self.data
    }
}

/// Decoded 8-bit pixels in the layout the decoder produced: 1 channel
/// (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA), interleaved, row-major.
/// Converting to RGB replicates grey and drops alpha.
#[derive(Clone, PartialEq, Eq)]
pub struct Pixels {
    width: usize,
    height: usize,
    channels: usize,
    data: Vec<u8>,
}

impl std::fmt::Debug for Pixels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pixels")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("channels", &self.channels)
            .finish_non_exhaustive()
    }
}

impl Pixels {
    /// Pixels per row.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Number of rows.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Bytes per pixel: 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// The interleaved bytes.
    pub fn as_raw(&self) -> &[u8] {
        &self.data
    }

    /// 8-bit RGB: grey replicated, alpha dropped.
    pub fn into_rgb(self) -> RgbImage {
        let (width, height) = (self.width, self.height);
        let data = match self.channels {
            3 => self.data,
            4 => self.data.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect(),
            c => self.data.chunks_exact(c).flat_map(|p| [p[0], p[0], p[0]]).collect(),
        };
        RgbImage { width, height, data }
    }
}

fn format_name(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Png => "png",
        ImageFormat::Jpeg => "jpeg",
        ImageFormat::Gif => "gif",
        ImageFormat::WebP => "webp",
        ImageFormat::Bmp => "bmp",
        ImageFormat::Tiff => "tiff",
        other => other.extensions_str().first().copied().unwrap_or("image"),
    }
}

fn map_error(err: image::ImageError, format: &'static str, limits: &DecodeLimits) -> DecodeError {
    use image::ImageError as E;
    match err {
        E::Limits(_) => DecodeError::MemoryLimit { format, max_alloc: limits.max_alloc },
        E::Unsupported(e) => DecodeError::Unsupported { format, message: e.to_string() },
        other => DecodeError::Malformed { format, message: other.to_string() },
    }
}

/// An image as Pillow's `Image.open` gives it, before any conversion: its
/// true colours, and what python-threatexchange hashes instead where that
/// differs (its hasher passes `numpy.asarray(image)` on, which for a palette
/// image is the palette indices and for a CMYK image the C, M, Y, K planes,
/// of which the first three are taken as R, G, B).
#[derive(Clone, PartialEq, Eq)]
pub struct Opened {
    pixels: Pixels,
    pytx: Pytx,
}

#[derive(Clone, PartialEq, Eq)]
enum Pytx {
    /// Same pixels as the true colours.
    Same,
    /// The palette indices, one channel.
    Palette(Pixels),
    /// Pillow's CMYK values, four channels (the true colours are converted
    /// from them).
    Cmyk(Pixels),
    /// The Y, Cb, Cr samples of an uncompressed YCbCr TIFF, which Pillow
    /// opens in mode `YCbCr` (the true colours are converted from them).
    Ycbcr(Pixels),
    /// The L, a, b samples of a CIELAB TIFF as `numpy.asarray` gives them
    /// from Pillow's mode `LAB` (the file's bytes: a and b signed, read as
    /// unsigned), taken as R, G, B.
    Lab(Pixels),
    /// A bilevel image's pixels as 0 and 1, one channel: Pillow's mode `1`
    /// gives numpy booleans, which pdqhash takes as 0 and 1 (not 0 and 255),
    /// so the quality, and for the smallest images the hash, differ.
    Bilevel(Pixels),
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened").field("pixels", &self.pixels).field("mode", &self.pillow_mode()).finish()
    }
}

impl Opened {
    /// The true colours, as [`decode_pixels`] gives them.
    pub fn pixels(&self) -> &Pixels {
        &self.pixels
    }

    /// The true colours, by value.
    pub fn into_pixels(self) -> Pixels {
        self.pixels
    }

    /// Pillow's mode where it decides what python-threatexchange hashes:
    /// `"P"` for a palette image, `"CMYK"`, `"YCbCr"`, or `None` for the
    /// others (whose python-threatexchange pixels are the true colours).
    pub fn pillow_mode(&self) -> Option<&'static str> {
        match self.pytx {
            Pytx::Same => None,
            Pytx::Palette(_) => Some("P"),
            Pytx::Cmyk(_) => Some("CMYK"),
            Pytx::Ycbcr(_) => Some("YCbCr"),
            Pytx::Lab(_) => Some("LAB"),
            Pytx::Bilevel(_) => Some("1"),
        }
    }

    /// The pixels python-threatexchange hashes, only where they differ from
    /// the true colours: the palette indices as one grey channel, the four
    /// CMYK channels, whose first three it takes as R, G, B (a [`Pixels`] of
    /// 4 channels is read that way: the fourth is dropped), or the Y, Cb, Cr
    /// channels, taken as R, G, B.
    pub fn pytx_pixels(&self) -> Option<&Pixels> {
        match &self.pytx {
            Pytx::Same => None,
            Pytx::Palette(p) | Pytx::Cmyk(p) | Pytx::Ycbcr(p) | Pytx::Lab(p) | Pytx::Bilevel(p) => Some(p),
        }
    }
}

/// Opens image bytes as Pillow does ([`Opened`]): the true colours of
/// [`decode_pixels`] and, for palette PNG and TIFF files, CMYK JPEG files
/// and uncompressed YCbCr TIFF files, the pixels python-threatexchange
/// hashes instead.
pub fn open(bytes: &[u8], limits: &DecodeLimits) -> Result<Opened, DecodeError> {
    let opened = open_any(bytes, limits)?;
    // Pillow refuses an image of no width or no height ("cannot identify"),
    // whatever its format; so does marsad, before any hash divides by them.
    if opened.pixels.width == 0 || opened.pixels.height == 0 {
        return Err(DecodeError::Malformed {
            format: sniffed_name(bytes),
            message: format!("an image of {}x{} pixels", opened.pixels.width, opened.pixels.height),
        });
    }
    Ok(opened)
}

/// The format's name from the first bytes, as the errors name it.
fn sniffed_name(bytes: &[u8]) -> &'static str {
    image::guess_format(bytes).map(format_name).unwrap_or(if is_tiff(bytes) { "tiff" } else { "image" })
}

fn open_any(bytes: &[u8], limits: &DecodeLimits) -> Result<Opened, DecodeError> {
    if is_jpeg(bytes) {
        let j = jpeg::decode(bytes, limits)?;
        if j.channels == 4 {
            let mut j = j;
            // Pillow reads CMYK JPEG data with Adobe's polarity (raw mode
            // `CMYK;I`, "assume adobe conventions"): every sample inverted.
            j.data.iter_mut().for_each(|v| *v = 255 - *v);
            let rgb = jpeg::cmyk_to_rgb(&j.data);
            let cmyk = Pixels { width: j.width, height: j.height, channels: 4, data: j.data };
            let pixels = Pixels { width: j.width, height: j.height, channels: 3, data: rgb };
            return Ok(Opened { pixels, pytx: Pytx::Cmyk(cmyk) });
        }
        let pixels = Pixels { width: j.width, height: j.height, channels: j.channels, data: j.data };
        return Ok(Opened { pixels, pytx: Pytx::Same });
    }
    if is_tiff(bytes) {
        // FillOrder 2 is undone on a copy, which is then opened as it is
        // (never checked again: a file whose copy still said 2, through a
        // repeated tag, would otherwise recurse without end).
        return match tiff::fill_order_fixed(bytes, limits)? {
            Some(fixed) => open_tiff(&fixed, limits),
            None => open_tiff(bytes, limits),
        };
    }
    if is_gif(bytes) {
        let (pixels, pytx) = gif::decode(bytes, limits)?;
        return Ok(Opened { pixels, pytx });
    }
    if let Some((pixels, indices)) = bmp::decode(bytes, limits)? {
        return Ok(Opened { pixels, pytx: Pytx::Palette(indices) });
    }
    let pixels = decode_other(bytes, limits)?;
    if is_bilevel_png(bytes) || bmp::is_bilevel(bytes) {
        let pytx = bilevel(&pixels);
        return Ok(Opened { pixels, pytx });
    }
    if is_palette_png(bytes) {
        let indices = png_indices(bytes, limits)?;
        return Ok(Opened { pixels, pytx: Pytx::Palette(indices) });
    }
    Ok(Opened { pixels, pytx: Pytx::Same })
}

/// Pillow's mode `1` as numpy gives it: each pixel's first sample (0 or
/// 255) as 0 or 1.
fn bilevel(pixels: &Pixels) -> Pytx {
    let c = pixels.channels.max(1);
    let data = pixels.data.chunks_exact(c).map(|p| p[0] / 255).collect();
    Pytx::Bilevel(Pixels { width: pixels.width, height: pixels.height, channels: 1, data })
}

/// A TIFF file as Pillow opens it, its fill order already 1 (see
/// [`tiff::fill_order_fixed`]).
fn open_tiff(bytes: &[u8], limits: &DecodeLimits) -> Result<Opened, DecodeError> {
    let decoded = match tiff::jpeg_decode(bytes, limits)? {
        Some(pixels) => Ok(pixels),
        None => decode_other(bytes, limits),
    };
    let (pixels, pytx) = match decoded {
        Err(e @ DecodeError::Unsupported { format: "tiff", .. }) => tiff::decode(bytes, limits, e)?,
        other => {
            let pixels = other?;
            let pytx = if tiff::is_bilevel(bytes) { bilevel(&pixels) } else { Pytx::Same };
            (pixels, pytx)
        }
    };
    // Pillow's TIFF plug-in, unlike its others, applies the orientation
    // tag when it loads (`ImageOps.exif_transpose` in `load_end`).
    let o = tiff::orientation(bytes);
    // Turning copies the pixels: both copies must fit the cap.
    let held = pixels.data.len() + pytx_len(&pytx);
    if (2..=8).contains(&o) && 2 * held as u64 > limits.max_alloc {
        return Err(DecodeError::MemoryLimit { format: "tiff", max_alloc: limits.max_alloc });
    }
    let pytx = match pytx {
        Pytx::Same => Pytx::Same,
        Pytx::Palette(p) => Pytx::Palette(orient(p, o)),
        Pytx::Cmyk(p) => Pytx::Cmyk(orient(p, o)),
        Pytx::Ycbcr(p) => Pytx::Ycbcr(orient(p, o)),
        Pytx::Lab(p) => Pytx::Lab(orient(p, o)),
        Pytx::Bilevel(p) => Pytx::Bilevel(orient(p, o)),
    };
    Ok(Opened { pixels: orient(pixels, o), pytx })
}

fn pytx_len(pytx: &Pytx) -> usize {
    match pytx {
        Pytx::Same => 0,
        Pytx::Palette(p) | Pytx::Cmyk(p) | Pytx::Ycbcr(p) | Pytx::Lab(p) | Pytx::Bilevel(p) => p.data.len(),
    }
}

/// `pixels` turned as Pillow's `ImageOps.exif_transpose` turns an image of
/// orientation `o` (2 to 8; other values leave it as it is).
fn orient(pixels: Pixels, o: u16) -> Pixels {
    if !(2..=8).contains(&o) {
        return pixels;
    }
    let Pixels { width: w, height: h, channels: c, data } = pixels;
    let swap = o >= 5;
    let (ow, oh) = if swap { (h, w) } else { (w, h) };
    let mut out = Vec::with_capacity(data.len());
    for y in 0..oh {
        for x in 0..ow {
            // The source pixel of output (x, y).
            let (sx, sy) = match o {
                2 => (w - 1 - x, y),         // FLIP_LEFT_RIGHT
                3 => (w - 1 - x, h - 1 - y), // ROTATE_180
                4 => (x, h - 1 - y),         // FLIP_TOP_BOTTOM
                5 => (y, x),                 // TRANSPOSE
                6 => (y, h - 1 - x),         // ROTATE_270
                7 => (w - 1 - y, h - 1 - x), // TRANSVERSE
                _ => (w - 1 - y, x),         // 8: ROTATE_90
            };
            let at = (sy * w + sx) * c;
            out.extend_from_slice(&data[at..at + c]);
        }
    }
    Pixels { width: ow, height: oh, channels: c, data: out }
}

/// Whether python-threatexchange's pixels may differ from the true colours
/// ([`Opened::pytx_pixels`]), told from the headers without decoding: a
/// palette PNG, a JPEG whose frame header declares four components, or a
/// TIFF whose first directory describes an 8-bit palette image or an
/// uncompressed YCbCr one.
pub fn pytx_may_differ(bytes: &[u8]) -> bool {
    is_palette_png(bytes)
        || (is_gif(bytes) && gif::in_palette_mode(bytes))
        || bmp::in_palette_mode(bytes)
        || is_bilevel_png(bytes)
        || bmp::is_bilevel(bytes)
        || (is_jpeg(bytes) && jpeg_components(bytes) == Some(4))
        || (is_tiff(bytes) && tiff::pytx_may_differ(bytes))
}

/// Pillow's GIF plug-in accepts data starting `GIF87a` or `GIF89a`.
fn is_gif(bytes: &[u8]) -> bool {
    bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a")
}

/// Whether the bytes are a JPEG-compressed TIFF that marsad decodes strip
/// by strip (through libjpeg-turbo, as Pillow through libtiff): its decode
/// holds a strip's or tile's pixels beside the whole image's.
pub fn is_jpeg_tiff(bytes: &[u8]) -> bool {
    is_tiff(bytes) && tiff::is_jpeg(bytes)
}

/// The TIFF and BigTIFF signatures, in either byte order.
fn is_tiff(bytes: &[u8]) -> bool {
    matches!(bytes.get(..4), Some(b"II*\0" | b"MM\0*" | b"II+\0" | b"MM\0+"))
}

/// The component count of a JPEG's first frame header, found by walking the
/// marker segments as libjpeg does (bounded by the data: every step moves
/// forward).
fn jpeg_components(bytes: &[u8]) -> Option<u8> {
    let mut i = 2;
    while i + 4 <= bytes.len() {
        // libjpeg skips bytes that are not a marker (with a warning), and
        // fill bytes before one.
        if bytes[i] != 0xFF || bytes[i + 1] == 0xFF || bytes[i + 1] == 0 {
            i += 1;
            continue;
        }
        let marker = bytes[i + 1];
        // Markers without a length: TEM, RSTn, SOI.
        if marker == 0x01 || (0xD0..=0xD8).contains(&marker) {
            i += 2;
            continue;
        }
        let len = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
        // SOF0..SOF15 but DHT (C4), JPG (C8) and DAC (CC).
        if (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            return bytes.get(i + 9).copied();
        }
        if marker == 0xDA || len < 2 {
            return None;
        }
        i += 2 + len;
    }
    None
}

/// Pillow's JPEG plug-in accepts data starting `FF D8 FF`.
fn is_jpeg(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xFF, 0xD8, 0xFF])
}

/// A PNG whose IHDR (the first chunk, as the format requires) says colour
/// type 3, which Pillow opens in mode `P`.
fn is_palette_png(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x89PNG\r\n\x1a\n")
        && bytes.get(12..16) == Some(&b"IHDR"[..])
        && bytes.get(25) == Some(&3)
}

/// A PNG whose IHDR says 1-bit greyscale, which Pillow opens in mode `1`.
fn is_bilevel_png(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x89PNG\r\n\x1a\n")
        && bytes.get(12..16) == Some(&b"IHDR"[..])
        && bytes.get(24) == Some(&1)
        && bytes.get(25) == Some(&0)
}

/// The palette indices of a palette PNG's image, one byte per pixel
/// (Pillow's `P;1`, `P;2`, `P;4` raw modes unpack the same way).
fn png_indices(bytes: &[u8], limits: &DecodeLimits) -> Result<Pixels, DecodeError> {
    let malformed = |e: png::DecodingError| DecodeError::Malformed { format: "png", message: e.to_string() };
    let memory_limit = || DecodeError::MemoryLimit { format: "png", max_alloc: limits.max_alloc };
    let mut decoder = png::Decoder::new_with_limits(
        Cursor::new(bytes),
        png::Limits { bytes: usize::try_from(limits.max_alloc).unwrap_or(usize::MAX) },
    );
    decoder.set_transformations(png::Transformations::IDENTITY);
    let mut reader = decoder.read_info().map_err(malformed)?;
    let size = reader.output_buffer_size().ok_or_else(memory_limit)?;
    let (width, height) = reader.info().size();
    let (width, height) = (width as usize, height as usize);
    // The true colours were decoded within the limits first, so the
    // indices (a third of them, or less) are too.
    let mut packed = Vec::new();
    packed.try_reserve_exact(size).map_err(|_| memory_limit())?;
    packed.resize(size, 0);
    let frame = reader.next_frame(&mut packed).map_err(malformed)?;
    let bits = frame.bit_depth as usize;
    let line = frame.line_size;
    let mut data = Vec::new();
    data.try_reserve_exact(width * height).map_err(|_| memory_limit())?;
    for row in packed.chunks(line).take(height) {
        if bits == 8 {
            data.extend_from_slice(&row[..width]);
        } else {
            let per_byte = 8 / bits;
            let mask = (1u8 << bits) - 1;
            data.extend((0..width).map(|x| {
                let shift = 8 - bits * (x % per_byte + 1);
                (row[x / per_byte] >> shift) & mask
            }));
        }
    }
    if data.len() != width * height {
        return Err(DecodeError::Malformed {
            format: "png",
            message: "image data shorter than its size".into(),
        });
    }
    Ok(Pixels { width, height, channels: 1, data })
}

/// Decodes image bytes to 8-bit pixels in the decoder's own layout (see
/// [`Pixels`]); [`decode_rgb`] converts them to RGB.
pub fn decode_pixels(bytes: &[u8], limits: &DecodeLimits) -> Result<Pixels, DecodeError> {
    if is_jpeg(bytes) || is_tiff(bytes) || is_gif(bytes) || bmp::in_palette_mode(bytes) {
        return open(bytes, limits).map(Opened::into_pixels);
    }
    let pixels = decode_other(bytes, limits)?;
    if pixels.width == 0 || pixels.height == 0 {
        return Err(DecodeError::Malformed {
            format: sniffed_name(bytes),
            message: format!("an image of {}x{} pixels", pixels.width, pixels.height),
        });
    }
    Ok(pixels)
}

/// Every format but JPEG, through the `image` crate.
fn decode_other(bytes: &[u8], limits: &DecodeLimits) -> Result<Pixels, DecodeError> {
    let unknown = || DecodeError::UnknownFormat { len: bytes.len() };
    let mut reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|_| unknown())?;
    if reader.format().is_none() && is_tiff(bytes) {
        // The `image` crate's sniffing knows classic TIFF only; its TIFF
        // decoder (the `tiff` crate) reads BigTIFF too, as Pillow does.
        reader.set_format(ImageFormat::Tiff);
    }
    let format = reader.format().ok_or_else(unknown)?;
    let name = format_name(format);
    let mut image_limits = image::Limits::default();
    image_limits.max_image_width = Some(limits.max_side);
    image_limits.max_image_height = Some(limits.max_side);
    image_limits.max_alloc = Some(limits.max_alloc);
    reader.limits(image_limits);
    let too_large = |width: u32, height: u32| DecodeError::TooLarge {
        format: name,
        width,
        height,
        max_pixels: limits.max_pixels,
        max_side: limits.max_side,
    };
    let decoder = match reader.into_decoder() {
        Ok(d) => d,
        // The header was read but its size is over the limits: say so.
        Err(image::ImageError::Limits(_)) => {
            let mut again = ImageReader::with_format(Cursor::new(bytes), format);
            again.no_limits();
            return Err(match again.into_dimensions() {
                Ok((w, h)) if w > limits.max_side || h > limits.max_side => too_large(w, h),
                _ => DecodeError::MemoryLimit { format: name, max_alloc: limits.max_alloc },
            });
        }
        Err(e) => return Err(map_error(e, name, limits)),
    };
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > limits.max_pixels
        || width > limits.max_side
        || height > limits.max_side
    {
        return Err(too_large(width, height));
    }
    if decoder.total_bytes() > limits.max_alloc {
        return Err(DecodeError::MemoryLimit { format: name, max_alloc: limits.max_alloc });
    }
    let image = DynamicImage::from_decoder(decoder).map_err(|e| map_error(e, name, limits))?;
    Ok(to_pixels(image))
}

/// Reduces any decoded image to 8-bit pixels as Pillow's `convert("RGB")`
/// would see them.
fn to_pixels(image: DynamicImage) -> Pixels {
    let (width, height) = (image.width() as usize, image.height() as usize);
    let (channels, data) = match image {
        DynamicImage::ImageLuma8(b) => (1, b.into_raw()),
        DynamicImage::ImageLumaA8(b) => (2, b.into_raw()),
        DynamicImage::ImageRgb8(b) => (3, b.into_raw()),
        DynamicImage::ImageRgba8(b) => (4, b.into_raw()),
        // Pillow opens 16-bit greyscale as mode "I;16", whose conversion to
        // RGB clips at 255 rather than scaling.
        DynamicImage::ImageLuma16(b) => (1, b.into_raw().iter().map(|&v| v.min(255) as u8).collect()),
        // Pillow unpacks 16-bit colour and grey + alpha samples by keeping
        // the high byte.
        DynamicImage::ImageLumaA16(b) => (2, high_bytes(b.as_raw())),
        DynamicImage::ImageRgb16(b) => (3, high_bytes(b.as_raw())),
        DynamicImage::ImageRgba16(b) => (4, high_bytes(b.as_raw())),
        other => (3, other.to_rgb8().into_raw()),
    };
    Pixels { width, height, channels, data }
}

fn high_bytes(samples: &[u16]) -> Vec<u8> {
    samples.iter().map(|&v| (v >> 8) as u8).collect()
}

/// Decodes image bytes to 8-bit RGB as the PDQ conformance vectors define it
/// (content-sniffed format, no EXIF rotation but a TIFF's orientation tag
/// applied as Pillow applies it, alpha dropped, grey and
/// palette expanded, 16-bit reduced as Pillow does).
pub fn decode_rgb(bytes: &[u8], limits: &DecodeLimits) -> Result<RgbImage, DecodeError> {
    decode_pixels(bytes, limits).map(Pixels::into_rgb)
}
