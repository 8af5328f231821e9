//! `marsad hash …`: fingerprints of files in the reference tools' forms.

use std::io::Read;
use std::path::{Path, PathBuf};

pub use marsad_hash::image::DecodeLimits;
use marsad_hash::pdq;
pub use marsad_hash::text::normalize;
use marsad_hash::text::{MinHasher, shingles};
use marsad_media::{Limits, video};
use rayon::prelude::*;
use serde::Serialize;

use crate::error::{EngineError, Result, StepContext, invalid};

/// Largest image file read for hashing.
const MAX_IMAGE_FILE: u64 = 1 << 30;

/// Files hashed between two outputs: output stays in input order while the
/// files of a chunk are hashed in parallel.
const CHUNK: usize = 64;

/// The files named: files as given, folders expanded to every regular file
/// under them in name order. Also returns the folders that held no file.
pub fn expand_files(args: &[PathBuf]) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let mut files = Vec::with_capacity(args.len());
    let mut empty = Vec::new();
    for arg in args {
        if arg.is_dir() {
            let before = files.len();
            for entry in walkdir::WalkDir::new(arg).sort_by_file_name() {
                let entry = entry.map_err(|e| EngineError::step(format!("listing {}", arg.display()), e))?;
                if entry.file_type().is_file() {
                    files.push(entry.into_path());
                }
            }
            if files.len() == before {
                empty.push(arg.clone());
            }
        } else {
            files.push(arg.clone());
        }
    }
    Ok((files, empty))
}

/// Computes `f` of every item on `jobs` threads (0: every core), in chunks,
/// and hands the results to `emit` in input order.
pub fn in_order<T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    f: impl Fn(&T) -> R + Sync,
    emit: &mut dyn FnMut(&T, R) -> std::io::Result<()>,
) -> Result<()> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs).build().step("starting worker threads")?;
    for chunk in items.chunks(CHUNK) {
        let results: Vec<R> = pool.install(|| chunk.par_iter().map(&f).collect());
        for (item, r) in chunk.iter().zip(results) {
            emit(item, r).map_err(|e| EngineError::io("standard output", e))?;
        }
    }
    Ok(())
}

/// Errors of the file functions below do not repeat the file's name: the
/// caller prints it beside them.
fn cannot(what: &str, e: std::io::Error) -> EngineError {
    EngineError::step(format!("cannot {what}"), e)
}

fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>> {
    let io = |e| cannot("read", e);
    let file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    if len > max {
        return Err(invalid!("file is {len} bytes, over the {max}-byte limit for this hash"));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(max + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > max {
        return Err(invalid!("file grew past the {max}-byte limit while being read"));
    }
    Ok(bytes)
}

/// How to compute a file's PDQ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PdqMode {
    /// The original only, as python-threatexchange and HMA hash.
    Plain,
    /// The eight dihedral transforms (the original first).
    Dihedral,
    /// As Meta's C++ command-line tool (resized to 512×512 first), with
    /// the eight dihedral hashes.
    CppTool,
    /// python-threatexchange's variant (palette indices as grey, C, M, Y
    /// as R, G, B; the same hash as `Plain` for every other image).
    Pytx,
}

/// `marsad hash pdq --json`: one file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PdqFileHash {
    /// The eight hashes, with `--dihedral`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dihedral: Option<Vec<String>>,
    /// The file.
    pub file: String,
    /// The hash (of the original).
    pub hash: String,
    /// Its quality, 0–100.
    pub quality: u8,
}

impl PdqFileHash {
    /// `HASH,QUALITY,FILE` (the eight hashes first with `--dihedral`), as
    /// Meta's tools print it.
    pub fn to_line(&self) -> String {
        let hashes = self.dihedral.as_ref().map_or_else(|| self.hash.clone(), |d| d.join(","));
        format!("{hashes},{},{}", self.quality, self.file)
    }
}

/// The PDQ hash of an image file; `show_dihedral` keeps the eight hashes.
pub fn pdq_file(
    path: &Path,
    mode: PdqMode,
    show_dihedral: bool,
    limits: &DecodeLimits,
) -> Result<PdqFileHash> {
    let bytes = read_bounded(path, MAX_IMAGE_FILE)?;
    let fail = |e: marsad_hash::image::DecodeError| EngineError::Invalid(e.to_string());
    let (hashes, quality) = match mode {
        PdqMode::CppTool => {
            let o = pdq::hash_image_bytes_cpp_tool(&bytes, limits).map_err(fail)?;
            (o.hashes.to_vec(), o.quality)
        }
        PdqMode::Dihedral => {
            let o = pdq::hash_image_bytes_dihedral(&bytes, limits).map_err(fail)?;
            (o.hashes.to_vec(), o.quality)
        }
        PdqMode::Plain => {
            let o = pdq::hash_image_bytes(&bytes, limits).map_err(fail)?;
            (vec![o.hash], o.quality)
        }
        PdqMode::Pytx => {
            let o = pdq::hash_image_bytes_pytx(&bytes, limits).map_err(fail)?;
            (vec![o.hash], o.quality)
        }
    };
    let hex: Vec<String> = hashes.iter().map(|h| h.to_hex()).collect();
    Ok(PdqFileHash {
        hash: hex[0].clone(),
        dihedral: show_dihedral.then_some(hex),
        file: path.display().to_string(),
        quality,
    })
}

/// `marsad hash md5|sha256 --json`: one file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileDigest {
    /// The file.
    pub file: String,
    /// Its MD5, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub md5: Option<String>,
    /// Its SHA-256, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

impl FileDigest {
    /// `HASH  FILE`, as md5sum and sha256sum print it.
    pub fn to_line(&self) -> String {
        let hash = self.md5.as_deref().or(self.sha256.as_deref()).unwrap_or("");
        format!("{hash}  {}", self.file)
    }
}

/// Which digest `marsad hash` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DigestKind {
    /// MD5.
    Md5,
    /// SHA-256.
    Sha256,
}

/// One digest of a file.
pub fn digest_file(path: &Path, kind: DigestKind) -> Result<FileDigest> {
    // The same one-pass read ingestion makes of a media file.
    let d = marsad_ingest::media::examine(path, marsad_core::MediaKind::Document, None)
        .map_err(|e| cannot("read", e))?;
    let (md5, sha256) = match kind {
        DigestKind::Md5 => (Some(d.md5.to_hex()), None),
        DigestKind::Sha256 => (None, Some(d.sha256.to_hex())),
    };
    Ok(FileDigest { file: path.display().to_string(), md5, sha256 })
}

/// `marsad hash vpdq --json`: one hashed frame.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VpdqFrame {
    /// Its frame number.
    pub frame: u32,
    /// Its PDQ hash.
    pub hash: String,
    /// Its quality.
    pub quality: u8,
    /// Its time in seconds, to the millisecond.
    pub timestamp: f64,
}

/// Hashes a video's frames as Meta's vpdq does, handing each hashed frame
/// to `emit` (as a frame, and as the line Meta's tool prints).
pub fn vpdq_file(
    file: &Path,
    seconds_per_hash: f64,
    downsample: Option<(u32, u32)>,
    emit: &mut dyn FnMut(&VpdqFrame, &str) -> std::io::Result<()>,
) -> Result<()> {
    let opts = video::VpdqOptions { seconds_per_hash, downsample };
    let mut write_err = None;
    video::hash_file_with(file, &opts, &Limits::default(), |f| {
        if write_err.is_none() {
            let frame = VpdqFrame {
                frame: f.frame_number,
                hash: f.hash.to_hex(),
                quality: f.quality,
                timestamp: (f.timestamp * 1000.0).round() / 1000.0,
            };
            if let Err(e) = emit(&frame, &f.to_line()) {
                write_err = Some(e);
            }
        }
    })
    .map_err(|e| EngineError::Invalid(e.to_string()))?;
    match write_err {
        Some(e) => Err(EngineError::io("standard output", e)),
        None => Ok(()),
    }
}

/// `marsad hash audio --json`: one file.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AudioFileHash {
    /// Its length in seconds, to the hundredth.
    pub duration: f64,
    /// The file.
    pub file: String,
    /// Chromaprint's items.
    pub fingerprint: Vec<u32>,
}

impl AudioFileHash {
    /// As `fpcalc -raw` prints it, with the file first (as fpcalc 1.3 did):
    /// `FILE=…`, `DURATION=…` (whole seconds), `FINGERPRINT=…`.
    pub fn to_text(&self) -> String {
        format!(
            "FILE={}\nDURATION={}\nFINGERPRINT={}",
            self.file,
            self.duration as u64,
            marsad_media::audio::to_raw_text(&self.fingerprint)
        )
    }
}

/// The Chromaprint of the first `length` seconds of a file's sound.
pub fn audio_file(file: &Path, length: u32) -> Result<AudioFileHash> {
    let limits = Limits::default();
    let fail = |e: marsad_media::MediaError| EngineError::Invalid(e.to_string());
    let items = marsad_media::audio::fingerprint_file(file, length, &limits).map_err(fail)?;
    let duration = marsad_media::audio::duration_seconds(file, &limits).map_err(fail)?;
    Ok(AudioFileHash {
        duration: (duration * 100.0).round() / 100.0,
        file: file.display().to_string(),
        fingerprint: items,
    })
}

/// `marsad hash text`: a text's normalized form and signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TextHash {
    /// The normalized text.
    pub normalized: String,
    /// MinHash permutations.
    pub permutations: usize,
    /// Distinct character 4-grams.
    pub shingles: usize,
    /// The signature (hex).
    pub signature: String,
    /// Words of the normalized text.
    pub words: usize,
}

/// Signs texts with a MinHash of `permutations` permutations.
#[derive(Debug)]
pub struct TextHasher {
    hasher: MinHasher,
    permutations: usize,
}

impl TextHasher {
    /// A hasher of `permutations` permutations.
    pub fn new(permutations: usize) -> Self {
        TextHasher { hasher: MinHasher::new(permutations), permutations }
    }

    /// The normalized form and signature of `text`.
    pub fn hash(&self, text: &str) -> TextHash {
        let normalized = normalize(text);
        let signature = self.hasher.sign(&normalized).to_hex();
        TextHash {
            words: normalized.split(' ').filter(|w| !w.is_empty()).count(),
            shingles: shingles(&normalized).len(),
            permutations: self.permutations,
            signature,
            normalized,
        }
    }
}
