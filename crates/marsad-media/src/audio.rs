//! Chromaprint of an audio file: `ffmpeg` decodes the first audio stream
//! and libswresample makes mono 16-bit 11 025 Hz samples with exactly the
//! options `fpcalc` gives it (`filter_size=16`, `phase_shift=8`,
//! `linear_interp=1`, `cutoff=0.8`, internal format s16p), in one
//! resampler that also downmixes, as `fpcalc` does; marsad-hash computes
//! the fingerprint. The first `seconds` of audio are used, cut at exactly
//! `seconds × 11 025` samples as `fpcalc -length` cuts them.

use std::path::Path;

use marsad_hash::audio::{Chromaprint, SAMPLE_RATE};

use crate::ffmpeg::{Running, arguments, first_line};
use crate::{Limits, MediaError};

/// The resampler options `fpcalc` sets (chromaprint's "compatible mode").
const RESAMPLE: &str = "aresample=resampler=swr:osr=11025:ochl=mono:osf=s16:\
                        filter_size=16:phase_shift=8:linear_interp=1:cutoff=0.8:tsf=s16p";

/// Fingerprints the first `seconds` of a file's audio (0: all of it, up to
/// the video-length limit).
pub fn fingerprint_file(path: &Path, seconds: u32, limits: &Limits) -> Result<Vec<u32>, MediaError> {
    crate::regular_file(path)?;
    let seconds = if seconds == 0 { limits.max_video_seconds } else { f64::from(seconds) };
    let max_samples = (seconds * f64::from(SAMPLE_RATE)) as u64;
    let args = arguments(
        &["-nostdin", "-hide_banner", "-v", "error", "-i"],
        path,
        &[
            "-map",
            "0:a:0",
            "-vn",
            "-sn",
            "-dn",
            "-af",
            RESAMPLE,
            "-f",
            "s16le",
            "-acodec",
            "pcm_s16le",
            "pipe:1",
        ],
    );
    let mut run = Running::start("ffmpeg", &args, limits.timeout)?;
    let mut fp = Chromaprint::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut samples = Vec::with_capacity(buf.len() / 2);
    let mut total = 0u64;
    let mut cut = false;
    loop {
        let got = run.read_fill(&mut buf)?;
        let full = got == buf.len();
        let take = ((max_samples - total) as usize).min(got / 2);
        samples.clear();
        samples.extend(buf[..take * 2].chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])));
        fp.feed(&samples);
        total += take as u64;
        if total >= max_samples {
            cut = true;
            run.kill();
            break;
        }
        if !full {
            break;
        }
    }
    let done = run.finish()?;
    if total == 0 && done.stderr.contains("matches no streams") {
        return Err(MediaError::NoStream { kind: "audio" });
    }
    if !cut && !done.success {
        return Err(MediaError::Undecodable {
            message: first_line(&done.stderr, "ffmpeg could not decode the audio"),
        });
    }
    if total == 0 {
        return Err(MediaError::Undecodable {
            message: first_line(&done.stderr, "no audio could be decoded"),
        });
    }
    let items = fp.finish();
    if items.is_empty() {
        return Err(MediaError::Undecodable {
            message: format!(
                "{:.2} s of audio is too short to fingerprint (at least 2.6 s needed)",
                total as f64 / f64::from(SAMPLE_RATE)
            ),
        });
    }
    Ok(items)
}

/// The duration of a file as its container states it (what `fpcalc`
/// prints as `DURATION`).
pub fn duration_seconds(path: &Path, limits: &Limits) -> Result<f64, MediaError> {
    let args = arguments(
        &[
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "default=noprint_wrappers=1:nokey=1",
            "-i",
        ],
        path,
        &[],
    );
    let mut run = Running::start("ffprobe", &args, limits.timeout)?;
    let mut out = vec![0u8; 256];
    let n = run.read_fill(&mut out)?;
    let done = run.finish()?;
    let text = String::from_utf8_lossy(&out[..n]);
    match text.trim().parse::<f64>() {
        Ok(d) if done.success && d.is_finite() && d >= 0.0 => Ok(d),
        _ => Err(MediaError::Undecodable { message: first_line(&done.stderr, "no duration in the file") }),
    }
}

// The text form has one parser and one formatter, in marsad-hash; they
// are re-exported here, beside the fingerprinting, for callers of this
// crate.
pub use marsad_hash::audio::{RawTextError, parse_raw_text, to_raw_text};
