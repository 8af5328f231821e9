use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// marsad: an open, fast observatory for extremist propaganda online.
///
/// Collect → fingerprint → match → group into releases → attribute to
/// outlets → measure → report. Works on material you lawfully hold.
#[derive(Debug, Parser)]
#[command(name = "marsad", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// The store: a SQLite file path (created on first use).
    #[arg(long, global = true, env = "MARSAD_DB", default_value = "./marsad.db", value_name = "PATH")]
    pub db: String,

    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,

    /// More log output on stderr (-v info, -vv debug); or set MARSAD_LOG.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the store (other commands create it on first use too).
    Init,
    /// Ingest channel exports and post feeds into the store.
    #[command(subcommand)]
    Ingest(IngestCommand),
    /// Counts of what the store holds.
    Stats,
    /// Generate a synthetic corpus, ingest it and summarise it.
    Demo(DemoArgs),
}

#[derive(Debug, Subcommand)]
pub enum IngestCommand {
    /// A Telegram Desktop JSON export: a chat export folder, a whole-account
    /// export folder, or its result.json.
    Telegram {
        /// Export folder or result.json.
        path: PathBuf,
        #[command(flatten)]
        opts: IngestOpts,
    },
    /// JSON lines, one post per line (schema in the README).
    Jsonl {
        /// The .jsonl file.
        file: PathBuf,
        #[command(flatten)]
        opts: IngestOpts,
    },
}

#[derive(Debug, Args)]
pub struct IngestOpts {
    /// Keep media bytes in the store's media folder (content-addressed,
    /// beside the database). By default only fingerprints and paths are kept.
    #[arg(long)]
    pub retain_media: bool,

    /// Posts per transaction.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub batch_size: u32,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Folder for the generated corpus and its store (DIR/marsad.db).
    #[arg(long, default_value = "./marsad-demo", value_name = "DIR")]
    pub out: PathBuf,

    /// Seed of the generator (same seed, same corpus).
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
}
