//! Previews of media for the people who review it: small PNGs made on the
//! server, blurred and greyscale unless revealed, so that the material's
//! unblurred bytes never reach a browser that did not ask to see them.
//!
//! An image is decoded under the same limits as for hashing, scaled to fit
//! [`PreviewOptions::max_side`], then made grey and blurred (a Gaussian of
//! [`PreviewOptions::sigma`] pixels, at the preview's size). A video gives
//! a strip of frames spread over its length (ffmpeg, first video stream,
//! under the decoding limits), each treated as an image.

use std::path::Path;

use image::{DynamicImage, ImageFormat, RgbImage};
use marsad_hash::image::{DecodeLimits, decode_rgb};

use crate::ffmpeg::{Running, arguments, first_line, probe_video};
use crate::{Limits, MediaError};

/// How a preview is made.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PreviewOptions {
    /// The longest side, in pixels.
    pub max_side: u32,
    /// Greyscale.
    pub grey: bool,
    /// Gaussian blur, in pixels of the preview (0: none).
    pub sigma: f32,
}

impl PreviewOptions {
    /// Unblurred, in colour (a revealed item).
    pub fn revealed(max_side: u32) -> Self {
        PreviewOptions { max_side, grey: false, sigma: 0.0 }
    }

    /// Blurred by `sigma` pixels, grey.
    pub fn protected(max_side: u32, sigma: f32) -> Self {
        PreviewOptions { max_side, grey: true, sigma }
    }
}

/// The size that fits `max_side`, keeping the aspect (never enlarged).
fn fitted(width: u32, height: u32, max_side: u32) -> (u32, u32) {
    let max_side = max_side.max(1);
    if width <= max_side && height <= max_side {
        return (width.max(1), height.max(1));
    }
    let scale = f64::from(max_side) / f64::from(width.max(height));
    (((f64::from(width) * scale).round() as u32).max(1), ((f64::from(height) * scale).round() as u32).max(1))
}

/// Scales, greys and blurs `rgb`, then encodes it as PNG.
fn finish(rgb: RgbImage, opts: &PreviewOptions) -> Result<Vec<u8>, MediaError> {
    let (w, h) = fitted(rgb.width(), rgb.height(), opts.max_side);
    let mut img = DynamicImage::ImageRgb8(rgb);
    if (w, h) != (img.width(), img.height()) {
        img = img.resize_exact(w, h, image::imageops::FilterType::Triangle);
    }
    if opts.grey {
        img = DynamicImage::ImageLuma8(img.to_luma8());
    }
    if opts.sigma > 0.0 {
        img = img.blur(opts.sigma);
    }
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Png)
        .map_err(|e| MediaError::Undecodable { message: format!("encoding the preview: {e}") })?;
    Ok(out.into_inner())
}

/// The preview of image bytes (any format the hashing decoder reads).
pub fn image(bytes: &[u8], opts: &PreviewOptions, limits: &DecodeLimits) -> Result<Vec<u8>, MediaError> {
    let rgb = decode_rgb(bytes, limits)?;
    let (w, h) = (rgb.width() as u32, rgb.height() as u32);
    let raw = RgbImage::from_raw(w, h, rgb.into_raw())
        .ok_or_else(|| MediaError::Undecodable { message: "decoded pixels of the wrong size".to_owned() })?;
    finish(raw, opts)
}

/// Previews of up to `count` frames of the video at `path`, spread over
/// its length (the first frame, then one every `duration / count`).
pub fn video(
    path: &Path,
    count: usize,
    opts: &PreviewOptions,
    limits: &Limits,
) -> Result<Vec<Vec<u8>>, MediaError> {
    crate::regular_file(path)?;
    let stream = probe_video(path, limits.timeout)?;
    if u64::from(stream.width) * u64::from(stream.height) > limits.max_frame_pixels {
        return Err(MediaError::TooLarge(format!(
            "frames are {}x{}, over {} pixels",
            stream.width, stream.height, limits.max_frame_pixels
        )));
    }
    let count = count.clamp(1, 16);
    // Frames are scaled by ffmpeg to the preview's size, so that only small
    // frames cross the pipe.
    let (w, h) = fitted(stream.width, stream.height, opts.max_side);
    let seconds =
        crate::ffmpeg::duration(path, limits.timeout).unwrap_or(0.0).clamp(0.0, limits.max_video_seconds);
    let step = if seconds > 0.0 { seconds / count as f64 } else { 1.0 };
    let filter = format!("fps=1/{step:.6},scale={w}:{h}:flags=bilinear,format=rgb24");
    let frames = count.to_string();
    let args = arguments(
        &["-nostdin", "-hide_banner", "-v", "error", "-threads", "1", "-i"],
        path,
        &[
            "-map",
            "0:v:0",
            "-an",
            "-sn",
            "-dn",
            "-vf",
            &filter,
            "-frames:v",
            &frames,
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "pipe:1",
        ],
    );
    let frame_bytes = (w as usize) * (h as usize) * 3;
    let mut run = Running::start("ffmpeg", &args, limits.timeout)?;
    let mut out = Vec::new();
    while out.len() < count {
        let mut buf = vec![0u8; frame_bytes];
        if run.read_fill(&mut buf)? < frame_bytes {
            break;
        }
        let rgb = RgbImage::from_raw(w, h, buf)
            .ok_or_else(|| MediaError::Undecodable { message: "a frame of the wrong size".to_owned() })?;
        out.push(finish(rgb, &PreviewOptions { max_side: opts.max_side, ..*opts })?);
    }
    let done = run.finish()?;
    if out.is_empty() {
        return Err(MediaError::Undecodable {
            message: first_line(&done.stderr, "no frame could be decoded"),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 64×48 image of sharp stripes in colour.
    fn stripes() -> Vec<u8> {
        let img = RgbImage::from_fn(64, 48, |x, _| {
            if (x / 2) % 2 == 0 { image::Rgb([250, 20, 20]) } else { image::Rgb([10, 10, 240]) }
        });
        let mut out = std::io::Cursor::new(Vec::new());
        DynamicImage::ImageRgb8(img).write_to(&mut out, ImageFormat::Png).expect("png");
        out.into_inner()
    }

    /// Mean absolute difference of horizontally adjacent grey levels.
    fn sharpness(png: &[u8]) -> f64 {
        let img = image::load_from_memory(png).expect("decode").to_luma8();
        let mut sum = 0u64;
        let mut n = 0u64;
        for y in 0..img.height() {
            for x in 1..img.width() {
                sum += u64::from(img.get_pixel(x, y)[0].abs_diff(img.get_pixel(x - 1, y)[0]));
                n += 1;
            }
        }
        sum as f64 / n as f64
    }

    #[test]
    fn a_protected_preview_is_small_grey_and_blurred() {
        let limits = DecodeLimits::default();
        let revealed = image(&stripes(), &PreviewOptions::revealed(32), &limits).expect("revealed");
        let protected = image(&stripes(), &PreviewOptions::protected(32, 4.0), &limits).expect("protected");
        let r = image::load_from_memory(&revealed).expect("decode");
        let p = image::load_from_memory(&protected).expect("decode");
        assert_eq!((r.width(), r.height()), (32, 24), "fitted, aspect kept");
        assert_eq!((p.width(), p.height()), (32, 24));
        assert!(matches!(p, DynamicImage::ImageLuma8(_)), "grey: {:?}", p.color());
        assert!(
            sharpness(&protected) * 4.0 < sharpness(&revealed),
            "{} vs {}",
            sharpness(&protected),
            sharpness(&revealed)
        );
    }

    #[test]
    fn a_small_image_is_not_enlarged_and_garbage_is_an_error() {
        assert_eq!(fitted(10, 5, 320), (10, 5));
        assert_eq!(fitted(1000, 10, 100), (100, 1));
        let err = image(b"not an image", &PreviewOptions::revealed(32), &DecodeLimits::default())
            .expect_err("garbage");
        assert!(matches!(err, MediaError::Image(_)), "{err}");
    }
}
