//! `marsad hash vpdq` and `marsad hash audio`: decoding through ffmpeg.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use marsad_media::{Limits, video};

/// One line per hashed frame as Meta's tool prints it; with `--json`, one
/// object per frame: `{"frame", "quality", "hash", "timestamp"}`.
pub fn vpdq(
    file: &Path,
    seconds_per_hash: f64,
    downsample: Option<(u32, u32)>,
    json: bool,
) -> Result<ExitCode> {
    let opts = video::VpdqOptions { seconds_per_hash, downsample };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut write_err = None;
    video::hash_file_with(file, &opts, &Limits::default(), |f| {
        if write_err.is_none()
            && let Err(e) = if json {
                writeln!(
                    out,
                    "{}",
                    serde_json::json!({
                        "frame": f.frame_number, "quality": f.quality, "hash": f.hash.to_hex(),
                        "timestamp": (f.timestamp * 1000.0).round() / 1000.0,
                    })
                )
            } else {
                writeln!(out, "{}", f.to_line())
            }
        {
            write_err = Some(e);
        }
    })
    .with_context(|| format!("{}", file.display()))?;
    if let Some(e) = write_err {
        return Err(e).context("writing output");
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// As `fpcalc -raw` prints it, with the file first (as fpcalc 1.3 did):
/// `FILE=…`, `DURATION=…` (whole seconds of the file), `FINGERPRINT=…`
/// (unsigned items, comma-separated); with `--json` one object per file:
/// `{"file", "duration", "fingerprint": [...]}`.
pub fn audio_line(file: &Path, length: u32, json: bool) -> Result<String> {
    let limits = Limits::default();
    let items = marsad_media::audio::fingerprint_file(file, length, &limits)?;
    let duration = marsad_media::audio::duration_seconds(file, &limits).unwrap_or(0.0);
    if json {
        Ok(serde_json::json!({
            "file": file.display().to_string(),
            "duration": (duration * 100.0).round() / 100.0,
            "fingerprint": items,
        })
        .to_string())
    } else {
        Ok(format!(
            "FILE={}\nDURATION={}\nFINGERPRINT={}",
            file.display(),
            duration as u64,
            marsad_media::audio::to_raw_text(&items)
        ))
    }
}
