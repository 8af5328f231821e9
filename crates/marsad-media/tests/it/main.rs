//! marsad-media against the references: vPDQ against Meta's regression
//! vectors, Chromaprint against `fpcalc -raw`, and hostile input. Needs
//! `ffmpeg`, `ffprobe` and `fpcalc` (scripts/test installs them); a missing
//! tool fails the tests loudly.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

mod audio;
mod bad_input;
mod no_network;
mod vpdq;

use std::path::{Path, PathBuf};
use std::process::Command;

/// `shared/conformance` beside the project.
pub fn conformance_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance");
    assert!(
        dir.join("vpdq/expected").is_dir(),
        "conformance vectors not found at {} (expected shared/conformance beside the project)",
        dir.display()
    );
    dir
}

/// Runs a tool to completion and asserts it succeeded.
#[track_caller]
pub fn tool(program: &str, args: &[&str]) -> std::process::Output {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| {
        panic!("cannot run {program} ({e}): install it (scripts/test does: apt-get install ffmpeg libchromaprint-tools)")
    });
    assert!(out.status.success(), "{program} {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// Generates a media file with ffmpeg from lavfi sources.
#[track_caller]
pub fn ffmpeg_generate(out: &Path, args: &[&str]) {
    let mut all = vec!["-nostdin", "-v", "error", "-y"];
    all.extend_from_slice(args);
    all.push(out.to_str().expect("utf-8 path"));
    tool("ffmpeg", &all);
}
