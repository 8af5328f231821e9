//! A GIF's first frame as Pillow's GIF plug-in opens it: on a canvas the
//! size of the logical screen (grown to the frame when the frame reaches
//! past it), filled with the frame's transparent index, or index 0, where
//! the frame does not cover it; in mode `P` when the frame has a colour
//! table (its own, else the global one) that is not the identity grey ramp,
//! else in mode `L`, the indices taken as grey (but a local grey ramp under
//! a global table: Pillow says `L`, and converts through the global table). The true colours are
//! Pillow's `convert("RGB")` of that: each index looked up in the table
//! (black past its end; transparency plays no part), and
//! python-threatexchange hashes the indices themselves (mode `P`).
//!
//! The `gif` crate reads the blocks and the LZW data (de-interlaced).

use std::io::Cursor;

use super::{DecodeError, DecodeLimits, Pixels, Pytx};

const FORMAT: &str = "gif";

/// Pillow's `_is_palette_needed`: a table is kept unless every entry `i`
/// is the grey `(i, i, i)`.
fn needed(table: &[u8]) -> bool {
    table.chunks(3).enumerate().any(|(i, c)| c.iter().any(|&v| usize::from(v) != i))
}

fn options(limits: &DecodeLimits) -> gif::DecodeOptions {
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::Indexed);
    options.check_frame_consistency(false);
    options.set_memory_limit(gif::MemoryLimit::Bytes(
        std::num::NonZeroU64::new(limits.max_alloc.max(1)).expect("at least 1"),
    ));
    options
}

/// Whether Pillow opens the file in mode `P`, told from its blocks without
/// decoding the image data.
pub(super) fn in_palette_mode(bytes: &[u8]) -> bool {
    let mut options = options(&DecodeLimits::default());
    options.skip_frame_decoding(true);
    let Ok(mut decoder) = options.read_info(Cursor::new(bytes)) else { return false };
    let global = decoder.global_palette().is_some_and(needed);
    match decoder.next_frame_info() {
        Ok(Some(frame)) => frame.palette.as_deref().is_some_and(needed) || global,
        _ => false,
    }
}

pub(super) fn decode(bytes: &[u8], limits: &DecodeLimits) -> Result<(Pixels, Pytx), DecodeError> {
    let malformed = |e: gif::DecodingError| DecodeError::Malformed { format: FORMAT, message: e.to_string() };
    let memory_limit = || DecodeError::MemoryLimit { format: FORMAT, max_alloc: limits.max_alloc };
    let mut decoder = options(limits).read_info(Cursor::new(bytes)).map_err(malformed)?;
    let (screen_w, screen_h) = (usize::from(decoder.width()), usize::from(decoder.height()));
    let global: Option<Vec<u8>> = decoder.global_palette().filter(|t| needed(t)).map(<[u8]>::to_vec);
    let frame = decoder
        .read_next_frame()
        .map_err(malformed)?
        .ok_or_else(|| DecodeError::Malformed { format: FORMAT, message: "no image in the file".into() })?;
    let (left, top) = (usize::from(frame.left), usize::from(frame.top));
    let (fw, fh) = (usize::from(frame.width), usize::from(frame.height));
    let width = screen_w.max(left + fw);
    let height = screen_h.max(top + fh);
    let (w32, h32) = (width as u32, height as u32);
    if (width * height) as u64 > limits.max_pixels || w32 > limits.max_side || h32 > limits.max_side {
        return Err(DecodeError::TooLarge {
            format: FORMAT,
            width: w32,
            height: h32,
            max_pixels: limits.max_pixels,
            max_side: limits.max_side,
        });
    }
    // The frame's indices, the canvas's and its RGB at once.
    if (fw * fh + width * height * 4) as u64 > limits.max_alloc {
        return Err(memory_limit());
    }
    if frame.buffer.len() < fw * fh {
        return Err(DecodeError::Malformed {
            format: FORMAT,
            message: "image data shorter than its size".into(),
        });
    }
    // A local table replaces the global one. A local grey ramp makes Pillow
    // call the frame mode `L`, but the global table it set as the image's
    // palette when it opened the file still converts its indices to RGB.
    let table = match &frame.palette {
        Some(local) if needed(local) => Some(local.clone()),
        _ => global,
    };
    let fill = frame.transparent.unwrap_or(0);
    let mut indices = vec![fill; width * height];
    for (y, row) in frame.buffer.chunks_exact(fw.max(1)).take(fh).enumerate() {
        let at = (top + y) * width + left;
        indices[at..at + fw].copy_from_slice(&row[..fw]);
    }
    let Some(table) = table else {
        // Mode `L`: the indices are the grey levels, and what
        // python-threatexchange hashes.
        return Ok((Pixels { width, height, channels: 1, data: indices }, Pytx::Same));
    };
    let colour = |i: u8| -> [u8; 3] {
        let at = usize::from(i) * 3;
        match table.get(at..at + 3) {
            Some(c) => [c[0], c[1], c[2]],
            None => [0, 0, 0],
        }
    };
    let data = indices.iter().flat_map(|&i| colour(i)).collect();
    let rgb = Pixels { width, height, channels: 3, data };
    Ok((rgb, Pytx::Palette(Pixels { width, height, channels: 1, data: indices })))
}
