//! Decoding untrusted media with limits, and the fingerprint stage of
//! ingestion.
//!
//! - Images decode in process ([`marsad_hash::image`], with pixel and memory
//!   limits) and get PDQ (palette and CMYK images also python-threatexchange's
//!   variant of it); animated GIFs also get vPDQ.
//! - Video goes through `ffmpeg` ([`video::hash_file`]): frames as RGB24 on a
//!   pipe, one every `seconds_per_hash`, hashed with vPDQ as Meta's vpdq
//!   does.
//! - Audio goes through `ffmpeg` ([`audio::fingerprint_file`]): mono 16-bit
//!   11 025 Hz made by libswresample with the options `fpcalc` uses, then
//!   Chromaprint.
//!
//! Every external run has a wall-clock timeout, output is read in bounded
//! pieces, and frame size, duration and length are checked against
//! [`Limits`], so a hostile or endless file costs bounded memory and time.
//! [`MediaFingerprinter`] is the [`marsad_ingest::Fingerprinter`] the binary
//! plugs into ingestion. [`preview`] makes the small, blurred, grey images
//! reviewers see of images and video, under the same limits.
#![deny(missing_docs)]

pub mod audio;
mod ffmpeg;
pub mod preview;
pub mod video;

use std::path::Path;
use std::time::Duration;

use marsad_core::{MediaKind, MemoryBudget, OverBudget, SignalType, SignalVariant};
use marsad_hash::image::DecodeLimits;
use marsad_hash::text::MinHasher;
use marsad_store::NewFingerprint;

/// Bounds on what decoding one file may cost.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Image decoding limits.
    pub image: DecodeLimits,
    /// Largest video frame accepted (width × height).
    pub max_frame_pixels: u64,
    /// Longest video accepted, in seconds of video (frame number / fps).
    pub max_video_seconds: f64,
    /// Wall-clock time an external decoder may run on one file.
    pub timeout: Duration,
    /// The memory budget decoded pixels and video frames draw on, shared by
    /// every worker holding a clone of it.
    pub memory: MemoryBudget,
}

impl Default for Limits {
    /// 100-megapixel images, 8K video frames (35.4 megapixels), six hours of
    /// video, ten minutes of decoding per file, the default memory budget.
    fn default() -> Self {
        Limits::with_memory(MemoryBudget::default())
    }
}

impl Limits {
    /// The default limits over `memory`: no single decode may allocate more
    /// than the whole budget.
    pub fn with_memory(memory: MemoryBudget) -> Self {
        Limits {
            image: DecodeLimits { max_alloc: memory.total(), ..DecodeLimits::default() },
            max_frame_pixels: 7680 * 4608,
            max_video_seconds: 6.0 * 3600.0,
            timeout: Duration::from_secs(600),
            memory,
        }
    }
}

/// Why a media file could not be fingerprinted.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The decoder program is not installed.
    #[error("{tool} is not installed (on Debian: apt-get install ffmpeg)")]
    ToolMissing {
        /// `ffmpeg` or `ffprobe`.
        tool: &'static str,
    },
    /// The decoder program failed in a way that is not about the file.
    #[error("{tool}: {message}")]
    Tool {
        /// `ffmpeg` or `ffprobe`.
        tool: &'static str,
        /// What went wrong.
        message: String,
    },
    /// The decoder ran past its time limit and was stopped.
    #[error("{tool} ran for more than {seconds} s and was stopped")]
    Timeout {
        /// `ffmpeg` or `ffprobe`.
        tool: &'static str,
        /// The limit.
        seconds: f64,
    },
    /// The file is corrupt, truncated or not media.
    #[error("cannot decode: {message}")]
    Undecodable {
        /// The decoder's message.
        message: String,
    },
    /// The file has no stream of the kind needed.
    #[error("no {kind} stream in the file")]
    NoStream {
        /// `video` or `audio`.
        kind: &'static str,
    },
    /// A limit was exceeded.
    #[error("over the limit: {0}")]
    TooLarge(String),
    /// Image decoding failed.
    #[error(transparent)]
    Image(#[from] marsad_hash::image::DecodeError),
    /// The item needs more memory than the whole budget.
    #[error(transparent)]
    OverBudget(#[from] OverBudget),
    /// The file could not be read (the error is in the message, so it is
    /// not also a `source`: error chains would print it twice).
    #[error("cannot read: {0}")]
    Io(std::io::Error),
}

impl From<std::io::Error> for MediaError {
    fn from(e: std::io::Error) -> Self {
        MediaError::Io(e)
    }
}

/// `Ok` for a regular file; else why not, as [`MediaError::Io`].
pub(crate) fn regular_file(path: &std::path::Path) -> Result<(), MediaError> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => Ok(()),
        Ok(_) => Err(MediaError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "a folder or special file, not a regular file",
        ))),
        Err(e) => Err(MediaError::Io(e)),
    }
}

/// What the fingerprint stage computes.
#[derive(Clone, Debug)]
pub struct FingerprintConfig {
    /// Decoding limits.
    pub limits: Limits,
    /// vPDQ: seconds between hashed frames (python-threatexchange uses 1).
    pub seconds_per_hash: f64,
    /// Chromaprint: seconds of audio from the start (`fpcalc` uses 120).
    pub audio_seconds: u32,
    /// MinHash permutations of text signatures.
    pub text_permutations: usize,
}

impl Default for FingerprintConfig {
    fn default() -> Self {
        FingerprintConfig {
            limits: Limits::default(),
            seconds_per_hash: 1.0,
            audio_seconds: 120,
            text_permutations: marsad_hash::text::DEFAULT_PERMUTATIONS,
        }
    }
}

/// The fingerprint stage of ingestion: PDQ for images (with
/// python-threatexchange's variant for palette and CMYK images), vPDQ for
/// video and animated GIFs, Chromaprint for audio, a MinHash signature for
/// text.
#[derive(Clone, Debug)]
pub struct MediaFingerprinter {
    cfg: FingerprintConfig,
    minhash: MinHasher,
}

impl MediaFingerprinter {
    /// A fingerprinter with `cfg`.
    pub fn new(cfg: FingerprintConfig) -> Self {
        let minhash = MinHasher::new(cfg.text_permutations);
        MediaFingerprinter { cfg, minhash }
    }

    /// The limits its decodes run under (and the memory budget they draw on).
    pub fn limits(&self) -> &Limits {
        &self.cfg.limits
    }

    /// Reserves from the memory budget what decoding the image `bytes` will
    /// hold, for a caller decoding them itself (another PDQ form of the same
    /// file); held until the reservation is dropped.
    pub fn reserve_image_decode(&self, bytes: &[u8]) -> Result<Option<marsad_core::Reservation>, MediaError> {
        reserve_image(&self.cfg.limits.memory, bytes)
    }

    /// Fingerprints of an image's bytes: its PDQ; for a palette or CMYK
    /// image whose PDQ as python-threatexchange computes it differs (the one
    /// banks made by HMA hold), that one too, marked
    /// [`SignalVariant::Pytx`]; and for an animated GIF also its vPDQ. The
    /// image is decoded once, after reserving from the memory budget what
    /// the decoded pixels (both forms of them) will hold. When the vPDQ of a
    /// GIF fails (a canvas over the frame limit, a damaged later frame), its
    /// first frame's PDQ is kept and the failure warned about.
    pub fn image(&self, path: &Path, bytes: &[u8]) -> Result<Vec<NewFingerprint>, MediaError> {
        let both = {
            let _held = reserve_image(&self.cfg.limits.memory, bytes)?;
            marsad_hash::pdq::hash_image_bytes_variants(bytes, &self.cfg.limits.image)?
        };
        let own = both.true_colour;
        let mut fps = vec![NewFingerprint::own(SignalType::Pdq, own.hash.to_hex(), Some(own.quality))];
        // Equal hashes would match the same entries: the own one is enough.
        if let Some(pytx) = both.pytx.filter(|p| p.hash != own.hash) {
            fps.push(NewFingerprint {
                signal_type: SignalType::Pdq,
                value: pytx.hash.to_hex(),
                quality: Some(pytx.quality),
                variant: Some(SignalVariant::Pytx),
            });
        }
        if is_animated_gif(bytes) {
            let opts = video::VpdqOptions { seconds_per_hash: self.cfg.seconds_per_hash, downsample: None };
            match video::hash_file(path, &opts, &self.cfg.limits) {
                Ok(features) => fps.push(vpdq_fingerprint(&features)),
                Err(e) => tracing::warn!(
                    path = %path.display(),
                    error = %e,
                    "animated GIF: vPDQ not computed, the first frame's PDQ is kept"
                ),
            }
        }
        Ok(fps)
    }
}

/// What decoding `bytes` will hold at its peak, reserved from `memory`; an
/// image whose header the estimate cannot read reserves the whole budget.
fn reserve_image(
    memory: &MemoryBudget,
    bytes: &[u8],
) -> Result<Option<marsad_core::Reservation>, MediaError> {
    let Some(cost) = image_cost(bytes) else {
        // A header the estimate cannot read (a TIFF mode or a JPEG coding
        // only marsad-hash's own decoders take, or a damaged file): its
        // decode may take up to the whole budget, so it holds all of it.
        return Ok(Some(memory.reserve(memory.total(), "decoding an image of unknown size")?));
    };
    let what = format!("decoding the {} image of {}x{}", cost.format, cost.width, cost.height);
    Ok(Some(memory.reserve(cost.bytes, what)?))
}

/// An image's size and the bytes its decode holds at its peak.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ImageCost {
    format: &'static str,
    width: u32,
    height: u32,
    bytes: u64,
}

/// The peak bytes of decoding an image to RGB as marsad-hash does, from its
/// header alone: the decoder's own buffer in its native layout, the 8-bit
/// copy made of 16-bit samples, and the RGB buffer made from grey or alpha
/// layouts (held at the same time), plus a sixteenth for the decoder's own
/// working memory.
fn image_cost(bytes: &[u8]) -> Option<ImageCost> {
    use image::ImageDecoder as _;
    let reader = image::ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format().ok()?;
    let format = reader.format()?;
    let mut reader = reader;
    reader.no_limits();
    let decoder = reader.into_decoder().ok()?;
    let (width, height) = decoder.dimensions();
    let pixels = u64::from(width) * u64::from(height);
    let native = decoder.total_bytes();
    let colour = decoder.color_type();
    let channels = u64::from(colour.channel_count());
    let sixteen = colour.bytes_per_pixel() / colour.channel_count().max(1) > 1;
    // The 8-bit copy of 16-bit (or float) samples, held with the native
    // buffer; then the RGB buffer, held with the 8-bit one (none when the
    // 8-bit layout is RGB already).
    let eight = if sixteen { pixels * channels } else { 0 };
    let rgb = if channels == 3 { 0 } else { pixels * 3 };
    let mut peak = (native + eight).max(if sixteen { pixels * channels } else { native } + rgb);
    // A four-component (CMYK) JPEG or a palette image: libjpeg's four
    // channels or the palette indices are held beside the RGB ones.
    if marsad_hash::image::pytx_may_differ(bytes) {
        peak += pixels * 4;
    }
    // A JPEG-compressed TIFF: one strip or tile, up to the whole image,
    // decoded beside the image.
    if marsad_hash::image::is_jpeg_tiff(bytes) {
        peak += native;
    }
    // A progressive JPEG: libjpeg keeps every coefficient (2 bytes a sample,
    // up to three full-size components) until the last scan.
    if format == image::ImageFormat::Jpeg && jpeg_is_progressive(bytes) {
        peak += pixels * 6;
    }
    Some(ImageCost {
        format: format.extensions_str().first().copied().unwrap_or("image"),
        width,
        height,
        bytes: peak + peak / 16,
    })
}

impl MediaFingerprinter {
    /// Fingerprints of a video: vPDQ of its frames, and Chromaprint of its
    /// soundtrack when it has one (an audio bank entry made from a video's
    /// sound must match the video, at ingest as in `marsad match`).
    fn video(&self, path: &Path) -> Result<Vec<NewFingerprint>, MediaError> {
        let opts = video::VpdqOptions { seconds_per_hash: self.cfg.seconds_per_hash, downsample: None };
        let mut fps = vec![vpdq_fingerprint(&video::hash_file(path, &opts, &self.cfg.limits)?)];
        match audio::fingerprint_file(path, self.cfg.audio_seconds, &self.cfg.limits) {
            Ok(items) if !items.is_empty() => fps.push(audio_fingerprint(&items)),
            // A silent video, or one whose sound is too short for one item.
            Ok(_) | Err(MediaError::NoStream { .. }) => {}
            // The frames are hashed: keep them, and say why the sound is not.
            Err(e) => tracing::warn!(path = %path.display(), error = %e, "soundtrack not fingerprinted"),
        }
        Ok(fps)
    }
}

impl Default for MediaFingerprinter {
    fn default() -> Self {
        MediaFingerprinter::new(FingerprintConfig::default())
    }
}

/// The stored vPDQ fingerprint of a video: the python-threatexchange signal
/// string, with the median frame quality.
pub fn vpdq_fingerprint(features: &[marsad_hash::vpdq::VpdqFeature]) -> NewFingerprint {
    let mut q: Vec<u8> = features.iter().map(|f| f.quality).collect();
    q.sort_unstable();
    NewFingerprint {
        signal_type: SignalType::Vpdq,
        value: marsad_hash::vpdq::to_signal(features),
        quality: q.get(q.len() / 2).copied(),
        variant: None,
    }
}

/// The stored audio fingerprint: the items as `fpcalc -raw` prints them.
pub fn audio_fingerprint(items: &[u32]) -> NewFingerprint {
    NewFingerprint {
        signal_type: SignalType::Audio,
        value: audio::to_raw_text(items),
        quality: None,
        variant: None,
    }
}

/// Whether a JPEG's frame header is progressive (SOF2, SOF6, SOF10 or
/// SOF14), found by walking its marker segments up to the first scan.
fn jpeg_is_progressive(bytes: &[u8]) -> bool {
    let mut i = 2;
    while i + 4 <= bytes.len() {
        if bytes[i] != 0xFF {
            return false;
        }
        let marker = bytes[i + 1];
        match marker {
            0xFF => i += 1,
            0xC2 | 0xC6 | 0xCA | 0xCE => return true,
            0xC0 | 0xC1 | 0xC3 | 0xC5 | 0xC7 | 0xC9 | 0xCB | 0xCD | 0xCF | 0xDA => return false,
            0xD0..=0xD9 | 0x01 => i += 2,
            _ => {
                let len = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
                i += 2 + len;
            }
        }
    }
    false
}

/// Whether image bytes are a GIF with more than one frame.
fn is_animated_gif(bytes: &[u8]) -> bool {
    if !bytes.starts_with(b"GIF8") {
        return false;
    }
    let Ok(decoder) = image::codecs::gif::GifDecoder::new(std::io::Cursor::new(bytes)) else {
        return false;
    };
    use image::AnimationDecoder as _;
    decoder.into_frames().take(2).filter(Result::is_ok).count() == 2
}

impl marsad_ingest::Fingerprinter for MediaFingerprinter {
    fn media(
        &self,
        kind: MediaKind,
        path: &Path,
        bytes: Option<&[u8]>,
    ) -> Result<Vec<NewFingerprint>, String> {
        let result = match kind {
            MediaKind::Image => match bytes {
                Some(b) => self.image(path, b),
                None => Err(MediaError::TooLarge(format!(
                    "image files over {} bytes are not decoded",
                    marsad_ingest::pipeline::WHOLE_FILE_LIMIT
                ))),
            },
            MediaKind::Video => self.video(path),
            MediaKind::Audio => audio::fingerprint_file(path, self.cfg.audio_seconds, &self.cfg.limits)
                .map(|items| vec![audio_fingerprint(&items)]),
            MediaKind::Document => Ok(Vec::new()),
        };
        result.map_err(|e| e.to_string())
    }

    fn text(&self, text: &str) -> Vec<NewFingerprint> {
        let normalized = marsad_hash::text::normalize(text);
        if normalized.is_empty() {
            return Vec::new();
        }
        vec![NewFingerprint {
            signal_type: SignalType::Text,
            value: self.minhash.sign(&normalized).to_hex(),
            quality: None,
            variant: None,
        }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progressive_jpegs_are_told_from_their_frame_header() {
        let app0 = [0xFF, 0xE0, 0x00, 0x04, 0x4A, 0x46];
        let with = |sof: u8| {
            let mut b = vec![0xFF, 0xD8];
            b.extend_from_slice(&app0);
            b.extend_from_slice(&[0xFF, sof, 0x00, 0x0B, 8, 0, 16, 0, 16, 1, 1, 0x11, 0]);
            b
        };
        assert!(jpeg_is_progressive(&with(0xC2)));
        assert!(!jpeg_is_progressive(&with(0xC0)));
        // Cut short or not a JPEG: not progressive, no panic.
        assert!(!jpeg_is_progressive(&with(0xC2)[..5]));
        assert!(!jpeg_is_progressive(&[0xFF, 0xD8, 0xFF, 0xE0, 0xFF, 0xFF]));
        assert!(!jpeg_is_progressive(b"GIF89a"));
    }

    #[test]
    fn an_unreadable_header_holds_the_whole_budget() {
        let memory = MemoryBudget::new(64 << 20);
        let held = reserve_image(&memory, b"not an image at all").unwrap();
        assert_eq!(held.map(|r| r.bytes()), Some(64 << 20));
        assert_eq!(memory.in_use(), 0);
    }
}
