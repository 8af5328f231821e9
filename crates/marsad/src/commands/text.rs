//! `marsad text …`: the normalizer as a filter.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};

use crate::cli::TextCommand;

pub fn run(cmd: TextCommand) -> Result<ExitCode> {
    match cmd {
        TextCommand::Normalize => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            for (i, line) in stdin_lines().enumerate() {
                let line = line.with_context(|| format!("reading standard input, line {}", i + 1))?;
                writeln!(out, "{}", marsad_engine::hash::normalize(&line))?;
            }
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The lines of standard input without their `\n` (a `\r` before it is a
/// control character, which normalization turns into a space and trims).
/// A line that is not UTF-8 is an error naming its byte offset.
pub fn stdin_lines() -> impl Iterator<Item = Result<String>> {
    std::io::stdin().lock().split(b'\n').map(|line| {
        let bytes = line.context("cannot read")?;
        String::from_utf8(bytes).map_err(|e| {
            anyhow!("not UTF-8 (invalid byte at offset {} of the line)", e.utf8_error().valid_up_to())
        })
    })
}
