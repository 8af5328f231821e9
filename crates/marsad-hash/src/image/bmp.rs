//! A BMP file that Pillow's BMP plug-in opens in mode `P`, and its palette
//! indices, which python-threatexchange hashes instead of the colours:
//! 1-, 4- and 8-bit pixels, uncompressed or RLE8/RLE4 compressed, whose
//! palette is not Pillow's grey one (`(0, 0, 0), (255, 255, 255)` for two
//! colours, the identity ramp for more: those open as `1` or `L`, whose
//! values are the colours). The header is read as Pillow reads it, and the
//! RLE data as its `BmpRleDecoder` does, quirks included (a run past the
//! row's end is cut, absolute runs are aligned on the file's even offsets).
//! The true colours are the indices looked up in the palette.

use super::{DecodeError, DecodeLimits, Pixels};

const FORMAT: &str = "bmp";

struct Header {
    width: usize,
    height: usize,
    /// Rows stored top row first (a negative height in the file).
    top_down: bool,
    bits: u16,
    compression: u32,
    /// Where the pixel data starts.
    offset: usize,
    /// The colours, blue, green, red (and a pad byte in all but the oldest
    /// header), as far as the file holds them.
    palette: Vec<u8>,
    padding: usize,
}

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(i..i + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

/// The header, and the palette when Pillow's mode is `P`; `None` for any
/// other mode, and for what Pillow refuses (left to the colour decoder's
/// own error).
fn palette_header(bytes: &[u8]) -> Option<Header> {
    match mode(bytes)? {
        Mode::Palette(h) => Some(h),
        _ => None,
    }
}

enum Mode {
    Palette(Header),
    /// `1` from 1-bit pixels.
    Bilevel,
    /// `L`, or `1` from wider pixels.
    Grey,
}

fn mode(bytes: &[u8]) -> Option<Mode> {
    if !bytes.starts_with(b"BM") {
        return None;
    }
    let mut offset = u32_at(bytes, 10)? as usize;
    let header_size = u32_at(bytes, 14)? as usize;
    let (width, height, top_down, bits, compression, colors, padding) = match header_size {
        12 => {
            let bits = u16_at(bytes, 24)?;
            (usize::from(u16_at(bytes, 18)?), usize::from(u16_at(bytes, 20)?), false, bits, 0, 0, 3)
        }
        40 | 52 | 56 | 64 | 108 | 124 => {
            let flip = *bytes.get(25)? == 0xFF;
            let raw_height = u32_at(bytes, 22)?;
            let height = if flip { (1u64 << 32) - u64::from(raw_height) } else { u64::from(raw_height) };
            let height = usize::try_from(height).ok()?;
            let colors = u32_at(bytes, 46)? as usize;
            (u32_at(bytes, 18)? as usize, height, flip, u16_at(bytes, 28)?, u32_at(bytes, 30)?, colors, 4)
        }
        _ => return None,
    };
    if !matches!(bits, 1 | 4 | 8) || !matches!(compression, 0..=2) {
        return None;
    }
    let colors = if colors == 0 { 1usize << bits } else { colors };
    if !(1..=65536).contains(&colors) {
        return None;
    }
    if offset == 14 + header_size {
        offset += padding * colors;
    }
    let at = 14 + header_size;
    let palette = bytes.get(at..at.saturating_add(padding * colors).min(bytes.len()))?;
    let grey_value = |i: usize| if colors == 2 { [0, 255][i] } else { i };
    let grey = (0..if colors == 2 { 2 } else { colors }).all(|i| {
        let v = grey_value(i);
        v < 256 && palette.get(i * padding..i * padding + 3) == Some(&[v as u8; 3][..])
    });
    if grey {
        return Some(if colors <= 2 && bits == 1 { Mode::Bilevel } else { Mode::Grey });
    }
    Some(Mode::Palette(Header {
        width,
        height,
        top_down,
        bits,
        compression,
        offset,
        palette: palette.to_vec(),
        padding,
    }))
}

/// Whether Pillow opens the file in mode `1` with 1-bit pixels (a black
/// and white palette).
pub(super) fn is_bilevel(bytes: &[u8]) -> bool {
    matches!(mode(bytes), Some(Mode::Bilevel))
}

/// Whether Pillow opens the file in mode `P`.
pub(super) fn in_palette_mode(bytes: &[u8]) -> bool {
    palette_header(bytes).is_some()
}

/// The true colours (each index looked up in the palette, black past its
/// end, as Pillow's `convert("RGB")`) and the indices, one byte a pixel,
/// top row first; `Ok(None)` when Pillow's mode is not `P`.
pub(super) fn decode(bytes: &[u8], limits: &DecodeLimits) -> Result<Option<(Pixels, Pixels)>, DecodeError> {
    let Some(h) = palette_header(bytes) else { return Ok(None) };
    let short =
        || DecodeError::Malformed { format: FORMAT, message: "image data shorter than its size".into() };
    let (width, height) = (h.width, h.height);
    if (width as u64) * (height as u64) > limits.max_pixels
        || width > limits.max_side as usize
        || height > limits.max_side as usize
    {
        return Err(DecodeError::TooLarge {
            format: FORMAT,
            width: width as u32,
            height: height as u32,
            max_pixels: limits.max_pixels,
            max_side: limits.max_side,
        });
    }
    // The rows as stored, the ones turned upright and their colours.
    if 5 * (width * height) as u64 > limits.max_alloc {
        return Err(DecodeError::MemoryLimit { format: FORMAT, max_alloc: limits.max_alloc });
    }
    let data = bytes.get(h.offset..).unwrap_or_default();
    let stored = if h.compression == 0 {
        let bits = usize::from(h.bits);
        let stride = ((width * bits + 31) >> 3) & !3;
        let mut out = Vec::with_capacity(width * height);
        for r in 0..height {
            let row = data.get(r * stride..r * stride + (width * bits).div_ceil(8)).ok_or_else(short)?;
            if bits == 8 {
                out.extend_from_slice(&row[..width]);
            } else {
                let per_byte = 8 / bits;
                let mask = (1u8 << bits) - 1;
                out.extend((0..width).map(|x| (row[x / per_byte] >> (8 - bits * (x % per_byte + 1))) & mask));
            }
        }
        out
    } else {
        let out = rle(bytes, h.offset, width, height, h.compression == 2);
        if out.len() < width * height {
            return Err(short());
        }
        out
    };
    let data = if h.top_down || width == 0 {
        stored
    } else {
        stored.chunks_exact(width).rev().flatten().copied().collect()
    };
    let colour = |i: u8| -> [u8; 3] {
        let at = usize::from(i) * h.padding;
        match h.palette.get(at..at + 3) {
            Some(c) => [c[2], c[1], c[0]],
            None => [0, 0, 0],
        }
    };
    let rgb = data.iter().flat_map(|&i| colour(i)).collect();
    Ok(Some((Pixels { width, height, channels: 3, data: rgb }, Pixels { width, height, channels: 1, data })))
}

/// Pillow's `BmpRleDecoder`, reading from `start` in the whole file (its
/// word alignment is on the file's offsets): the pixels in stored order,
/// possibly fewer than the image holds.
fn rle(bytes: &[u8], start: usize, width: usize, height: usize, rle4: bool) -> Vec<u8> {
    let total = width * height;
    let mut out: Vec<u8> = Vec::with_capacity(total);
    let mut at = start;
    let mut x = 0usize;
    while out.len() < total {
        let (Some(&count), Some(&byte)) = (bytes.get(at), bytes.get(at + 1)) else { break };
        at += 2;
        if count != 0 {
            let n = if x + usize::from(count) > width { width.saturating_sub(x) } else { usize::from(count) };
            if rle4 {
                out.extend((0..n).map(|i| if i % 2 == 0 { byte >> 4 } else { byte & 0x0F }));
            } else {
                out.extend(std::iter::repeat_n(byte, n));
            }
            x += n;
            continue;
        }
        match byte {
            0 => {
                // End of line: the row padded with index 0.
                while width > 0 && !out.len().is_multiple_of(width) {
                    out.push(0);
                }
                x = 0;
            }
            1 => break,
            2 => {
                let (Some(&right), Some(&up)) = (bytes.get(at), bytes.get(at + 1)) else { break };
                at += 2;
                let skip = (usize::from(right) + usize::from(up) * width).min(total - out.len());
                out.extend(std::iter::repeat_n(0, skip));
                x = if width > 0 { out.len() % width } else { 0 };
            }
            n => {
                let count = usize::from(n).min(total - out.len());
                let byte_count = if rle4 { count.div_ceil(2) } else { count };
                let end = (at + byte_count).min(bytes.len());
                let read = &bytes[at.min(end)..end];
                at = end;
                if rle4 {
                    for (i, &b) in read.iter().enumerate() {
                        out.push(b >> 4);
                        if i * 2 + 1 < count {
                            out.push(b & 0x0F);
                        }
                    }
                } else {
                    out.extend_from_slice(read);
                }
                if read.len() < byte_count || out.len() == total {
                    break;
                }
                x += usize::from(n);
                if !at.is_multiple_of(2) {
                    at += 1;
                }
            }
        }
    }
    out.truncate(total);
    out
}
