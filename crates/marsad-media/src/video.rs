//! vPDQ of a video file: `ffprobe` for the first video stream's size and
//! frame rate, `ffmpeg` for its frames as RGB24 on a pipe (only the frames
//! to hash are converted, chosen by a `select` filter on the decoder's frame
//! index), PDQ per frame in parallel.
//!
//! Decoding follows Meta's vpdq: the first video stream, frames in decoder
//! output order (`-fps_mode passthrough`: none duplicated or dropped), no
//! rotation applied (`-noautorotate`), conversion to RGB24 (and any
//! downscaling) by libswscale.

use std::path::Path;

use marsad_hash::vpdq::{self, VpdqFeature};

use crate::ffmpeg::{Running, arguments, first_line, probe_video};
use crate::{Limits, MediaError};

/// How frames are chosen and prepared.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VpdqOptions {
    /// Hash one frame every this many seconds (0: every frame).
    pub seconds_per_hash: f64,
    /// Resize frames to exactly this width and height before hashing.
    pub downsample: Option<(u32, u32)>,
}

impl Default for VpdqOptions {
    /// One frame a second at full size (python-threatexchange's default).
    fn default() -> Self {
        VpdqOptions { seconds_per_hash: 1.0, downsample: None }
    }
}

/// Frames of more pixels than 4K UHD are decoded by one ffmpeg thread.
const SINGLE_THREAD_PIXELS: u64 = 3840 * 2160;

/// Most frames hashed in parallel at a time.
const BATCH: usize = 16;

/// How many frames of `frame_bytes` (RGB) and `luma_bytes` (the float
/// luma plane each hashing thread keeps) to hold at once: as many as
/// [`BATCH`] allows within half the budget, so that two videos can be
/// hashed side by side, and at least one; with the bytes that holds.
fn frames_in_budget(frame_bytes: u64, luma_bytes: u64, threads: u64, budget: u64) -> (usize, u64) {
    let cost = |n: u64| n * frame_bytes + n.min(threads.max(1)) * luma_bytes;
    let mut n = BATCH as u64;
    while n > 1 && cost(n) > budget / 2 {
        n -= 1;
    }
    (n as usize, cost(n))
}

/// Hashes a video file.
pub fn hash_file(path: &Path, opts: &VpdqOptions, limits: &Limits) -> Result<Vec<VpdqFeature>, MediaError> {
    let mut out = Vec::new();
    hash_file_with(path, opts, limits, |f| out.push(*f))?;
    Ok(out)
}

/// Hashes a video file, calling `each` with every feature in frame order as
/// soon as it is known (so a caller can print as it goes).
pub fn hash_file_with(
    path: &Path,
    opts: &VpdqOptions,
    limits: &Limits,
    mut each: impl FnMut(&VpdqFeature),
) -> Result<usize, MediaError> {
    if !opts.seconds_per_hash.is_finite() || opts.seconds_per_hash < 0.0 {
        return Err(MediaError::TooLarge(format!(
            "seconds per hash must be a non-negative number, got {}",
            opts.seconds_per_hash
        )));
    }
    crate::regular_file(path)?;
    let stream = probe_video(path, limits.timeout)?;
    let (width, height) = opts.downsample.unwrap_or((stream.width, stream.height));
    let pixels = u64::from(width) * u64::from(height);
    if pixels > limits.max_frame_pixels {
        return Err(MediaError::TooLarge(format!(
            "frames are {width}x{height}, over {} pixels",
            limits.max_frame_pixels
        )));
    }
    if width < marsad_hash::pdq::MIN_HASHABLE_DIM as u32 || height < marsad_hash::pdq::MIN_HASHABLE_DIM as u32
    {
        return Err(MediaError::Undecodable {
            message: format!("frames of {width}x{height} are too small to hash"),
        });
    }
    let frame_mod = vpdq::frame_mod(opts.seconds_per_hash, stream.fps);
    let mut filters = Vec::new();
    if frame_mod > 1 {
        filters.push(format!("select=not(mod(n\\,{frame_mod}))"));
    }
    // libswscale with the Lanczos filter and accurate rounding: measured
    // against Meta's regression vectors this reproduces the reference frames
    // best (every frame of the 128×128 vectors identical; full-size frames
    // identical but for a few at 2 bits). The size is given in numbers, not
    // `iw:ih`: when the resolution changes mid-stream, later frames are
    // scaled to the first frame's size, as Meta's vpdq does with swscale,
    // so every frame on the pipe has the size its reader expects.
    filters.push(format!("scale={width}:{height}:flags=lanczos+accurate_rnd"));
    filters.push("format=rgb24".to_owned());
    let filter = filters.join(",");
    // Frames larger than 4K are decoded on one thread: each decoder thread
    // holds frames of its own, which for 8K video costs ffmpeg 900 MB
    // instead of 540 MB, outside marsad's budget.
    let decoder_threads = if pixels > SINGLE_THREAD_PIXELS { "1" } else { "0" };
    let args = arguments(
        &["-nostdin", "-hide_banner", "-v", "error", "-noautorotate", "-threads", decoder_threads, "-i"],
        path,
        &[
            "-map",
            "0:v:0",
            "-an",
            "-sn",
            "-dn",
            "-vf",
            &filter,
            "-fps_mode",
            "passthrough",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "pipe:1",
        ],
    );

    // The frames held at once draw on the memory budget.
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let (batch_len, held) = frames_in_budget(pixels * 3, pixels * 4, threads as u64, limits.memory.total());
    let _held = limits.memory.reserve(held, format_args!("hashing {width}x{height} video frames"))?;
    let frame_bytes = (pixels * 3) as usize;
    let (w, h) = (width as usize, height as usize);
    let mut run = Running::start("ffmpeg", &args, limits.timeout)?;
    let mut batch: Vec<Vec<u8>> = (0..batch_len).map(|_| vec![0u8; frame_bytes]).collect();
    let mut lumas: Vec<Vec<f32>> = (0..threads.min(batch_len)).map(|_| Vec::new()).collect();
    let mut hashed = 0usize;
    let mut ended = false;
    while !ended {
        let mut n = 0;
        while n < batch_len {
            // A partial frame at the end is not a frame.
            if run.read_fill(&mut batch[n])? < frame_bytes {
                ended = true;
                break;
            }
            n += 1;
        }
        let first = hashed;
        let outputs = hash_frames(w, h, &batch[..n], &mut lumas);
        for (i, o) in outputs.into_iter().enumerate() {
            let frame_number = ((first + i) as u64 * u64::from(frame_mod)).min(u64::from(u32::MAX)) as u32;
            let timestamp = vpdq::timestamp(frame_number, stream.fps);
            if f64::from(frame_number) / stream.fps > limits.max_video_seconds {
                run.kill();
                let _ = run.finish();
                return Err(MediaError::TooLarge(format!(
                    "the video runs longer than {} s",
                    limits.max_video_seconds
                )));
            }
            each(&VpdqFeature { frame_number, quality: o.quality, hash: o.hash, timestamp });
        }
        hashed += n;
    }
    let done = run.finish()?;
    if hashed == 0 && done.stderr.contains("matches no streams") {
        return Err(MediaError::NoStream { kind: "video" });
    }
    if !done.success {
        return Err(MediaError::Undecodable {
            message: first_line(&done.stderr, "ffmpeg could not decode the video"),
        });
    }
    if hashed == 0 {
        return Err(MediaError::Undecodable {
            message: first_line(&done.stderr, "no frame could be decoded"),
        });
    }
    if !done.stderr.is_empty() {
        // Damaged data inside an otherwise readable file: the frames that
        // decoded are hashed; say what the decoder reported.
        tracing::warn!(file = %path.display(), decoder = %first_line(&done.stderr, ""), "video decoded with errors");
    }
    Ok(hashed)
}

/// PDQ of each frame of `frames`, in order, on up to `lumas.len()` threads
/// of its own (each with its luma buffer). Not on rayon's pool: a rayon
/// worker waiting for these frames could steal another file's job, whose
/// wait on the memory budget would then sit above this video's reservation
/// on the same stack, and never end.
fn hash_frames(
    w: usize,
    h: usize,
    frames: &[Vec<u8>],
    lumas: &mut [Vec<f32>],
) -> Vec<marsad_hash::pdq::PdqOutput> {
    // A stream that ends on a batch boundary leaves an empty last batch.
    if frames.len() <= 1 || lumas.len() <= 1 {
        let mut own = Vec::new();
        let luma = lumas.first_mut().unwrap_or(&mut own);
        return frames.iter().map(|rgb| vpdq::hash_frame(w, h, rgb, luma)).collect();
    }
    let per = frames.len().div_ceil(lumas.len());
    std::thread::scope(|scope| {
        let running: Vec<_> = frames
            .chunks(per)
            .zip(lumas.iter_mut())
            .map(|(chunk, luma)| {
                scope.spawn(move || {
                    chunk.iter().map(|rgb| vpdq::hash_frame(w, h, rgb, luma)).collect::<Vec<_>>()
                })
            })
            .collect();
        running
            .into_iter()
            .flat_map(|t| match t.join() {
                Ok(out) => out,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_last_batch_hashes_nothing() {
        let mut lumas = vec![Vec::new(), Vec::new()];
        assert!(hash_frames(4, 4, &[], &mut lumas).is_empty());
        let frames = vec![vec![0u8; 4 * 4 * 3]; 3];
        assert_eq!(hash_frames(4, 4, &frames, &mut lumas).len(), 3);
    }

    #[test]
    fn frames_held_fit_half_the_budget_and_at_least_one() {
        let frame_8k = 7680 * 4320 * 3;
        let luma_8k = 7680 * 4320 * 4;
        let (n, held) = frames_in_budget(frame_8k, luma_8k, 2, 512 << 20);
        assert_eq!(n, 1);
        assert_eq!(held, frame_8k + luma_8k);
        let (n, held) = frames_in_budget(640 * 360 * 3, 640 * 360 * 4, 2, 512 << 20);
        assert_eq!(n, BATCH);
        assert!(held <= 256 << 20);
        // Over half the budget for one frame: still one (the reservation
        // itself refuses what is over the whole budget).
        assert_eq!(frames_in_budget(400, 400, 8, 1000).0, 1);
    }
}
