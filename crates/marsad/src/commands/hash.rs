//! `marsad hash …`: fingerprints of files, printed in the formats the
//! reference tools print, one line per file, in the order given.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use marsad_engine::hash::{self, DigestKind, PdqMode, TextHasher};

use crate::cli::{FileArgs, HashCommand, PdqCompat};

pub fn run(json: bool, cmd: HashCommand) -> Result<ExitCode> {
    match cmd {
        HashCommand::Pdq { dihedral, cpp_tool, compat, files } => {
            let mode = match (compat, cpp_tool, dihedral) {
                (Some(PdqCompat::Pytx), _, _) => PdqMode::Pytx,
                (None, true, _) => PdqMode::CppTool,
                (None, false, true) => PdqMode::Dihedral,
                (None, false, false) => PdqMode::Plain,
            };
            let limits = hash::DecodeLimits::default();
            per_file(&files, |path| {
                let h = hash::pdq_file(path, mode, dihedral, &limits)?;
                Ok(if json { serde_json::to_string(&h)? } else { h.to_line() })
            })
        }
        HashCommand::Md5 { files } => per_file(&files, |path| digest(path, DigestKind::Md5, json)),
        HashCommand::Sha256 { files } => per_file(&files, |path| digest(path, DigestKind::Sha256, json)),
        HashCommand::Vpdq { seconds_per_hash, downsample_width, downsample_height, file } => {
            vpdq(&file, seconds_per_hash, downsample_width.zip(downsample_height), json)
        }
        HashCommand::Audio { length, files } => per_file(&files, |path| {
            let h = hash::audio_file(path, length)?;
            Ok(if json { serde_json::to_string(&h)? } else { h.to_text() })
        }),
        HashCommand::Text { text, lines, permutations } => hash_text(text, lines, permutations as usize),
    }
}

fn digest(path: &Path, kind: DigestKind, json: bool) -> Result<String> {
    let d = hash::digest_file(path, kind)?;
    Ok(if json { serde_json::to_string(&d)? } else { d.to_line() })
}

/// Hashes every file (folders expanded) with `f`, in parallel, and prints
/// the lines in input order. A failing file is reported on stderr and the
/// others still hashed; the exit status is then non-zero.
fn per_file(args: &FileArgs, f: impl Fn(&Path) -> Result<String> + Sync) -> Result<ExitCode> {
    let (files, empty) = hash::expand_files(&args.files)?;
    for folder in &empty {
        eprintln!("warning: {}: a folder with no file under it", folder.display());
    }
    let stdout = std::io::stdout();
    let mut failed = 0usize;
    let mut out = std::io::BufWriter::new(stdout.lock());
    hash::in_order(&files, args.jobs.unwrap_or(0), |p: &PathBuf| f(p), &mut |path, line| {
        match line {
            Ok(line) => writeln!(out, "{line}")?,
            Err(e) => {
                failed += 1;
                out.flush()?;
                eprintln!("error: {}: {e:#}", path.display());
            }
        }
        Ok(())
    })?;
    out.flush()?;
    if failed > 0 {
        eprintln!("{failed} of {} could not be hashed", super::count(files.len() as u64, "file"));
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// One line per hashed frame as Meta's tool prints it; with `--json`, one
/// object per frame.
fn vpdq(file: &Path, seconds_per_hash: f64, downsample: Option<(u32, u32)>, json: bool) -> Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    hash::vpdq_file(file, seconds_per_hash, downsample, &mut |frame, line| {
        if json {
            serde_json::to_writer(&mut out, frame)?;
            writeln!(out)
        } else {
            writeln!(out, "{line}")
        }
    })
    .with_context(|| format!("{}", file.display()))?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn hash_text(text: Option<String>, lines: bool, permutations: usize) -> Result<ExitCode> {
    let hasher = TextHasher::new(permutations);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut one = |t: &str| -> Result<()> {
        writeln!(out, "{}", serde_json::to_string(&hasher.hash(t))?)?;
        Ok(())
    };
    match text {
        Some(t) => one(&t)?,
        None if lines => {
            for (i, line) in crate::commands::text::stdin_lines().enumerate() {
                let line = line.with_context(|| format!("reading standard input, line {}", i + 1))?;
                one(&line)?;
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
            one(&t)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
