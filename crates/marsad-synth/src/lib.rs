//! Synthetic corpora in the real Telegram Desktop JSON export format, for
//! `marsad demo`, tests and benchmarks. Never real material: every outlet,
//! channel and person is fictional, every caption neutral placeholder text
//! (weather, markets, sports, bulletins), every image, document and
//! recording generated.
//!
//! - [`generate_demo`] writes a researcher-style corpus: outlet channels
//!   exported one folder each, supporter chats in one whole-account export,
//!   media files, an outlet registry (`outlets.toml`) and the planted
//!   [`Truth`] (`truth.json`): releases and every sighting of them, a global
//!   silence, dormant outlets, totals.
//! - [`write_text_export`] streams a text-only single-chat export of any
//!   size, for ingest benchmarks.
//!
//! Output depends only on the inputs: the same seed gives byte-identical
//! files, whatever the number of threads.
//!
//! ```no_run
//! use marsad_synth::{DemoConfig, generate_demo};
//!
//! let corpus = generate_demo("/tmp/marsad-demo".as_ref(), &DemoConfig::default())?;
//! println!("{} releases", corpus.truth.releases.len());
//! # Ok::<(), std::io::Error>(())
//! ```
#![deny(missing_docs)]

mod catalog;
mod clock;
mod demo;
mod media;
mod stream;
mod telegram;
mod text;
mod truth;

use std::io;
use std::path::{Path, PathBuf};

pub use telegram::NOT_INCLUDED;
pub use truth::{
    Dormancy, QuietPeriod, ReleaseFormat, Sighting, SightingKind, Totals, Truth, TruthChannel, TruthOutlet,
    TruthRelease,
};

/// What [`generate_demo`] makes.
#[derive(Clone, Debug, PartialEq)]
pub struct DemoConfig {
    /// Seed of every random choice.
    pub seed: u64,
    /// Start of the window (UTC seconds).
    pub start_unix: i64,
    /// Length of the window in days (7 to 3660).
    pub days: u32,
    /// Multiplies the outlets' publishing rates: 1.0 is the demo size
    /// (about a thousand media files over 120 days), 0.2 a quick test.
    pub scale: f32,
    /// Offset from UTC of the exporting machine's clock, which Telegram
    /// uses for the zone-less `date` strings (`date_unixtime` is UTC).
    pub utc_offset_secs: i32,
}

impl Default for DemoConfig {
    /// Seed 2026, 120 days from 2024-01-01T00:00:00Z, scale 1, exported on
    /// a machine at UTC+3.
    fn default() -> Self {
        DemoConfig {
            seed: 2026,
            start_unix: 1_704_067_200,
            days: 120,
            scale: 1.0,
            utc_offset_secs: 3 * 3_600,
        }
    }
}

/// Where [`generate_demo`] wrote the corpus, and what it planted.
#[derive(Clone, Debug)]
pub struct DemoCorpus {
    /// Every `result.json`: one per outlet channel
    /// (`exports/<slug>/result.json`), then the whole-account export of the
    /// supporter chats (`exports/account/result.json`).
    pub exports: Vec<PathBuf>,
    /// The outlet registry.
    pub outlets_toml: PathBuf,
    /// The planted truth, as JSON.
    pub truth_json: PathBuf,
    /// The planted truth.
    pub truth: Truth,
}

/// Writes a demo corpus into `out_dir`, which must be missing or empty.
///
/// Layout:
/// ```text
/// out_dir/
///   outlets.toml
///   truth.json
///   exports/<outlet-slug>/result.json, photos/, files/
///   exports/account/result.json, chats/chat_001/photos/, …/files/
/// ```
///
/// # Errors
/// `InvalidInput` for a window outside 7–3660 days, a scale outside
/// (0, 20] or an offset beyond ±14 h; `AlreadyExists` when `out_dir` holds
/// files; any I/O error while writing.
pub fn generate_demo(out_dir: &Path, cfg: &DemoConfig) -> io::Result<DemoCorpus> {
    demo::generate(out_dir, cfg)
}

/// The [`Truth`] that [`generate_demo`] would plant for `cfg`, computed
/// without writing anything (planning is cheap; media generation is not).
///
/// # Errors
/// `InvalidInput` for the configurations [`generate_demo`] refuses.
pub fn plan_demo(cfg: &DemoConfig) -> io::Result<Truth> {
    demo::truth(cfg)
}

/// Streams a text-only single-chat export of exactly `n_messages` messages
/// to `path`, in constant memory.
///
/// About 5 % are service messages (pins), 65 % have plain-string text and
/// 30 % text as an array of strings and entities; some are edited,
/// forwarded or replies. Text is neutral placeholder Arabic, English,
/// French or Turkish of 20–400 characters (tags and links may follow).
///
/// # Errors
/// Any I/O error while creating or writing the file.
pub fn write_text_export(path: &Path, n_messages: u64, seed: u64) -> io::Result<()> {
    stream::write_text_export(path, n_messages, seed)
}
