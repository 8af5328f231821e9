//! Ingesting an export or a JSON lines file into the store.

use std::path::Path;

use marsad_ingest::{
    ExactOnly, Fingerprinter, IngestConfig, IngestSummary, Matcher, NoMatcher, Reporter, Stages,
};
use marsad_match::MatchConfig;
use marsad_media::{FingerprintConfig, MediaFingerprinter};

use crate::Engine;
use crate::error::{Result, invalid};

/// What is ingested.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    /// A Telegram Desktop JSON export (folder or `result.json`).
    Telegram,
    /// One post per line of a JSON lines file.
    Jsonl,
}

/// How to ingest.
#[derive(Clone, Debug, PartialEq)]
pub struct IngestOptions {
    /// Keep media bytes beside the store.
    pub retain_media: bool,
    /// Store exact digests only.
    pub no_fingerprints: bool,
    /// Posts per transaction.
    pub batch_size: usize,
    /// vPDQ: seconds between hashed frames.
    pub seconds_per_hash: f64,
    /// Match new fingerprints against the banks.
    pub match_banks: bool,
    /// The zone of Telegram `date` values without an offset (used when
    /// `date_unixtime` is absent): an IANA name or an offset; `None` is UTC.
    pub export_timezone: Option<String>,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            retain_media: false,
            no_fingerprints: false,
            batch_size: IngestConfig::default().batch_size,
            seconds_per_hash: 1.0,
            match_banks: true,
            export_timezone: None,
        }
    }
}

impl Engine {
    /// Ingests `path`, fingerprinting every new item and matching it against
    /// every bank, one batch per transaction; progress goes to `reporter`.
    pub fn ingest(
        &mut self,
        kind: InputKind,
        path: &Path,
        opts: &IngestOptions,
        reporter: &dyn Reporter,
    ) -> Result<IngestSummary> {
        let (cfg, fingerprinter) = self.ingest_config(opts)?;
        let banks = if opts.match_banks { Some(self.bank_matcher(MatchConfig::default())?) } else { None };
        let matcher: &dyn Matcher = match &banks {
            Some(b) if !b.is_empty() => b,
            _ => &NoMatcher,
        };
        let stages = Stages { fingerprinter: fingerprinter.as_ref(), matcher, reporter, sink: None };
        let store = self.store_mut();
        match kind {
            InputKind::Telegram => marsad_ingest::telegram::ingest(store, path, &cfg, &stages),
            InputKind::Jsonl => marsad_ingest::jsonl::ingest(store, path, &cfg, &stages),
        }
        .map_err(Into::into)
    }

    /// The pipeline's configuration and fingerprinter for `opts`, checked.
    pub(crate) fn ingest_config(
        &self,
        opts: &IngestOptions,
    ) -> Result<(IngestConfig, Box<dyn Fingerprinter>)> {
        if opts.batch_size == 0 {
            return Err(invalid!("--batch-size must be at least 1"));
        }
        if !(opts.seconds_per_hash.is_finite() && opts.seconds_per_hash >= 0.0) {
            return Err(invalid!("--seconds-per-hash must be a number of at least 0"));
        }
        let export_timezone = match opts.export_timezone.as_deref() {
            None => marsad_core::LocalZone::Utc,
            Some(zone) => zone.parse().map_err(|e| invalid!("--export-timezone: {e}"))?,
        };
        let fingerprinter: Box<dyn Fingerprinter> = if opts.no_fingerprints {
            Box::new(ExactOnly)
        } else {
            Box::new(MediaFingerprinter::new(FingerprintConfig {
                seconds_per_hash: opts.seconds_per_hash,
                limits: self.limits(),
                ..FingerprintConfig::default()
            }))
        };
        let retain_media = match (opts.retain_media, self.media_dir()) {
            (false, _) => None,
            (true, Some(dir)) => Some(dir),
            (true, None) => return Err(media_dir_needed()),
        };
        let cfg = IngestConfig {
            batch_size: opts.batch_size,
            retain_media,
            // Pending texts of a batch held at once: an eighth of the budget.
            max_batch_text_bytes: (self.memory().total() / 8) as usize,
            export_timezone,
            ..IngestConfig::default()
        };
        Ok((cfg, fingerprinter))
    }
}

/// `--retain-media` without a folder for the media (a PostgreSQL store).
pub(crate) fn media_dir_needed() -> crate::EngineError {
    invalid!(
        "--retain-media needs a folder for the media: with a PostgreSQL store, name one in {} \
         (shared by the processes that keep or show media)",
        crate::store::MEDIA_DIR_VAR
    )
}
