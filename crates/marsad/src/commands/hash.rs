//! `marsad hash …`: fingerprints of files, printed in the formats the
//! reference tools print, one line per file, in the order given.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use marsad_hash::digest::ExactDigests;
use marsad_hash::image::DecodeLimits;
use marsad_hash::pdq;
use marsad_hash::text::{MinHasher, normalize, shingles};
use rayon::prelude::*;

use crate::cli::{FileArgs, HashCommand};

/// Largest image file read for hashing.
const MAX_IMAGE_FILE: u64 = 1 << 30;

/// Files hashed between two flushes of output: keeps output in input order
/// while the files of a chunk are hashed in parallel.
const CHUNK: usize = 64;

pub fn run(json: bool, cmd: HashCommand) -> Result<ExitCode> {
    match cmd {
        HashCommand::Pdq { dihedral, cpp_tool, files } => {
            let limits = DecodeLimits::default();
            per_file(&files, |path| pdq_line(path, dihedral, cpp_tool, &limits, json))
        }
        HashCommand::Md5 { files } => {
            per_file(&files, |path| digests(path).map(|d| digest_line(path, "md5", &hex(&d.md5), json)))
        }
        HashCommand::Sha256 { files } => {
            per_file(&files, |path| digests(path).map(|d| digest_line(path, "sha256", &hex(&d.sha256), json)))
        }
        HashCommand::Vpdq { seconds_per_hash, downsample_width, downsample_height, file } => {
            crate::commands::media::vpdq(
                &file,
                seconds_per_hash,
                downsample_width.zip(downsample_height),
                json,
            )
        }
        HashCommand::Audio { length, files } => {
            per_file(&files, |path| crate::commands::media::audio_line(path, length, json))
        }
        HashCommand::Text { text, lines, permutations } => hash_text(text, lines, permutations as usize),
    }
}

/// Hashes every file (folders expanded) with `f`, in parallel chunks, and
/// prints the lines in input order. A failing file is reported on stderr
/// and the others still hashed; the exit status is then non-zero.
fn per_file(args: &FileArgs, f: impl Fn(&Path) -> Result<String> + Sync) -> Result<ExitCode> {
    let files = expand(&args.files)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.unwrap_or(0))
        .build()
        .context("starting worker threads")?;
    let stdout = std::io::stdout();
    let mut failed = 0usize;
    for chunk in files.chunks(CHUNK) {
        let lines: Vec<Result<String>> = pool.install(|| chunk.par_iter().map(|p| f(p)).collect());
        let mut out = stdout.lock();
        for (path, line) in chunk.iter().zip(lines) {
            match line {
                Ok(line) => writeln!(out, "{line}")?,
                Err(e) => {
                    failed += 1;
                    out.flush()?;
                    eprintln!("error: {}: {e:#}", path.display());
                }
            }
        }
        out.flush()?;
    }
    if failed > 0 {
        eprintln!("{failed} of {} could not be hashed", super::count(files.len() as u64, "file"));
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// The files named: files as given, folders expanded to every regular file
/// under them in name order.
fn expand(args: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::with_capacity(args.len());
    for arg in args {
        if arg.is_dir() {
            let before = files.len();
            for entry in walkdir::WalkDir::new(arg).sort_by_file_name() {
                let entry = entry.with_context(|| format!("listing {}", arg.display()))?;
                if entry.file_type().is_file() {
                    files.push(entry.into_path());
                }
            }
            if files.len() == before {
                eprintln!("warning: {}: a folder with no file under it", arg.display());
            }
        } else {
            files.push(arg.clone());
        }
    }
    Ok(files)
}

fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>> {
    let file = std::fs::File::open(path).context("cannot open")?;
    let len = file.metadata().context("cannot stat")?.len();
    if len > max {
        bail!("file is {len} bytes, over the {max}-byte limit for this hash");
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(max + 1).read_to_end(&mut bytes).context("cannot read")?;
    if bytes.len() as u64 > max {
        bail!("file grew past the {max}-byte limit while being read");
    }
    Ok(bytes)
}

/// `HASH  FILE` as md5sum prints it; with `--json`, `{"file", ALGORITHM}`.
fn digest_line(path: &Path, algorithm: &str, hash: &str, json: bool) -> String {
    if json {
        serde_json::json!({ "file": path.display().to_string(), algorithm: hash }).to_string()
    } else {
        format!("{hash}  {}", path.display())
    }
}

/// `HASH,QUALITY,FILE` (eight hashes with `--dihedral`); with `--json`,
/// `{"file", "hash", "quality"}` (and `"dihedral": [eight hashes]`).
fn pdq_line(
    path: &Path,
    dihedral: bool,
    cpp_tool: bool,
    limits: &DecodeLimits,
    json: bool,
) -> Result<String> {
    let bytes = read_bounded(path, MAX_IMAGE_FILE)?;
    // Eight dihedral hashes (the original first), or the original alone.
    let (hashes, quality) = if cpp_tool {
        let o = pdq::hash_image_bytes_cpp_tool(&bytes, limits)?;
        (o.hashes.to_vec(), o.quality)
    } else if dihedral {
        let o = pdq::hash_image_bytes_dihedral(&bytes, limits)?;
        (o.hashes.to_vec(), o.quality)
    } else {
        let o = pdq::hash_image_bytes(&bytes, limits)?;
        (vec![o.hash], o.quality)
    };
    let shown: Vec<String> = hashes.iter().take(if dihedral { 8 } else { 1 }).map(|h| h.to_hex()).collect();
    if json {
        let mut v =
            serde_json::json!({ "file": path.display().to_string(), "hash": shown[0], "quality": quality });
        if dihedral {
            v["dihedral"] = shown.into();
        }
        return Ok(v.to_string());
    }
    Ok(format!("{},{},{}", shown.join(","), quality, path.display()))
}

fn digests(path: &Path) -> Result<marsad_hash::digest::Digests> {
    let mut file = std::fs::File::open(path).context("cannot open")?;
    let mut d = ExactDigests::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => d.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e).context("cannot read"),
        }
    }
    Ok(d.finish())
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hash_text(text: Option<String>, lines: bool, permutations: usize) -> Result<ExitCode> {
    let hasher = MinHasher::new(permutations);
    let one = |t: &str| {
        let normalized = normalize(t);
        let signature = hasher.sign(&normalized);
        serde_json::json!({
            "normalized": normalized,
            "words": normalized.split(' ').filter(|w| !w.is_empty()).count(),
            "shingles": shingles(&normalized).len(),
            "permutations": permutations,
            "signature": signature.to_hex(),
        })
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match text {
        Some(t) => writeln!(out, "{}", one(&t))?,
        None if lines => {
            for (i, line) in crate::commands::text::stdin_lines().enumerate() {
                let line = line.with_context(|| format!("reading standard input, line {}", i + 1))?;
                writeln!(out, "{}", one(&line))?;
            }
        }
        None => {
            let mut all = Vec::new();
            std::io::stdin().lock().read_to_end(&mut all).context("reading standard input")?;
            let t = String::from_utf8(all).map_err(|e| {
                anyhow::anyhow!(
                    "standard input is not UTF-8 (invalid byte at offset {})",
                    e.utf8_error().valid_up_to()
                )
            })?;
            writeln!(out, "{}", one(&t))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
