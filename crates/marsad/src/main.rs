//! `marsad`: the command-line interface. This crate only turns flags into
//! calls on the library crates, draws progress bars and prints results.

mod cli;
mod commands;
mod reporter;
mod store;
mod table;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    restore_sigpipe();
    let cli = cli::Cli::parse();
    init_tracing(cli.verbose);
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Rust ignores SIGPIPE, so output into a pipe its reader closed
/// (`marsad releases | head`) becomes a write error and a panic in
/// `println!`. Restore the default, as every Unix filter has it: the process
/// ends quietly when nobody reads its output any more. (marsad writes to no
/// child's standard input — ffmpeg gets /dev/null — so no other pipe can
/// raise it; sockets are written with MSG_NOSIGNAL.)
#[cfg(unix)]
fn restore_sigpipe() {
    // SAFETY: called first thing in main, before any thread is started;
    // setting a signal's disposition to the default has no other effect.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn restore_sigpipe() {}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("MARSAD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colours only for a person at a terminal, not in a redirected log.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(ansi)
        .init();
}
