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
    /// Fingerprint files: PDQ, vPDQ, audio, MD5, SHA-256, text.
    #[command(subcommand)]
    Hash(HashCommand),
    /// Text tools: the Arabic-aware normalizer.
    #[command(subcommand)]
    Text(TextCommand),
    /// Generate a synthetic corpus, ingest it and summarise it.
    Demo(DemoArgs),
}

#[derive(Debug, Subcommand)]
pub enum HashCommand {
    /// PDQ perceptual hashes of images: one line `HASH,QUALITY,FILE` per file.
    Pdq {
        /// Print the eight dihedral hashes (original, rot90, rot180, rot270,
        /// flip-x, flip-y, flip-plus-1, flip-minus-1), then quality and file.
        #[arg(long)]
        dihedral: bool,
        /// Hash as Meta's C++ command-line tool does (images over 512 pixels
        /// on a side resized to 512×512 by nearest neighbour, float32 luma)
        /// instead of the full-resolution reference of the Python bindings.
        #[arg(long)]
        cpp_tool: bool,
        #[command(flatten)]
        files: FileArgs,
    },
    /// vPDQ video hashes: one line `FRAME_NUMBER,QUALITY,HASH,TIMESTAMP_SECONDS`
    /// per hashed frame.
    Vpdq {
        /// Hash one frame every this many seconds (0: every frame).
        #[arg(long, default_value_t = 1.0, value_name = "S")]
        seconds_per_hash: f64,
        /// Downscale frames to this width before hashing (with --downsample-height).
        #[arg(long, requires = "downsample_height", value_name = "W")]
        downsample_width: Option<u32>,
        /// Downscale frames to this height before hashing (with --downsample-width).
        #[arg(long, requires = "downsample_width", value_name = "H")]
        downsample_height: Option<u32>,
        /// The video file.
        file: PathBuf,
    },
    /// Chromaprint audio fingerprints (the default algorithm, as `fpcalc -raw`).
    Audio {
        /// Seconds of audio to fingerprint from the start (fpcalc's -length).
        #[arg(long, default_value_t = 120, value_name = "SECONDS")]
        length: u32,
        #[command(flatten)]
        files: FileArgs,
    },
    /// MD5 of bytes: `HASH  FILE` lines, as md5sum prints them.
    Md5 {
        #[command(flatten)]
        files: FileArgs,
    },
    /// SHA-256 of bytes: `HASH  FILE` lines, as sha256sum prints them.
    Sha256 {
        #[command(flatten)]
        files: FileArgs,
    },
    /// Normalized text and its MinHash signature, as JSON.
    Text {
        /// The text; without it, the whole of standard input is one text.
        text: Option<String>,
        /// Treat each line of standard input as a text (one JSON line each).
        #[arg(long, conflicts_with = "text")]
        lines: bool,
        /// Permutations of the signature.
        #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(u32).range(1..=4096))]
        permutations: u32,
    },
}

#[derive(Debug, Args)]
pub struct FileArgs {
    /// Files to hash; a folder means every file under it, in name order.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Files hashed at once (default: one per core).
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
}

#[derive(Debug, Subcommand)]
pub enum TextCommand {
    /// Normalize each line of standard input (NFKC, Arabic marks and tatweel
    /// dropped, letter variants unified, punctuation to spaces, lowercase,
    /// spaces collapsed) and write it to standard output.
    Normalize,
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

    /// Store exact digests only (SHA-256, MD5): no PDQ, vPDQ, audio or text
    /// fingerprints. A later ingest without this flag adds them.
    #[arg(long)]
    pub no_fingerprints: bool,

    /// vPDQ: hash one video frame every this many seconds.
    #[arg(long, default_value_t = 1.0, value_name = "S")]
    pub seconds_per_hash: f64,
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
