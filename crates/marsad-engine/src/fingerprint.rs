//! Fingerprinting one file: the single path that ingest, `marsad match` and
//! the server's uploads share.

use std::path::Path;

use marsad_core::{MediaKind, SignalType};
use marsad_ingest::Fingerprinter;
use marsad_store::NewFingerprint;

use crate::error::{EngineError, Result};

/// Largest `.txt` file read whole as a text query.
const MAX_TEXT_FILE: u64 = 16 * 1024 * 1024;

/// Everything a file can be matched by.
#[derive(Clone, Debug, PartialEq)]
pub struct FileSignals {
    /// The kind the file was taken for, by ingestion's rules.
    pub kind: MediaKind,
    /// MD5 and SHA-256 first, then the fingerprints of its content
    /// (python-threatexchange's variant of a palette or CMYK image's PDQ
    /// after marsad's own).
    pub fingerprints: Vec<NewFingerprint>,
    /// The text of a plain-text file (texts are matched on it).
    pub text: Option<String>,
}

impl FileSignals {
    /// marsad's own value of one signal, if the file has it (not a
    /// variant: those are in [`FileSignals::fingerprints`]).
    pub fn get(&self, t: SignalType) -> Option<&NewFingerprint> {
        self.fingerprints.iter().find(|f| f.signal_type == t && f.variant.is_none())
    }
}

/// Fingerprints the file at `path` exactly as ingestion fingerprints a media
/// file of a post: read once for its digests, its kind decided by the same
/// MIME rules (sniffed content, else the name), then the same
/// [`marsad_ingest::pipeline::fingerprint_one`] (PDQ for images, vPDQ and the
/// soundtrack's Chromaprint for video, Chromaprint for audio). A plain-text
/// file (`text/plain`, e.g. `.txt`) is also read as text and signed as a
/// post's text is.
pub fn fingerprint_file(fp: &dyn Fingerprinter, path: &Path) -> Result<FileSignals> {
    // Errors do not repeat the path: the caller shows it beside them.
    let meta = std::fs::metadata(path).map_err(|e| EngineError::step("cannot open", e))?;
    if meta.is_dir() {
        return Err(EngineError::Invalid("is a folder".to_owned()));
    }
    // A FIFO or a device would block or never end.
    if !meta.is_file() {
        return Err(EngineError::Invalid("not a regular file (a device or FIFO)".to_owned()));
    }
    let ex = marsad_ingest::media::examine(path, MediaKind::Document, None)
        .map_err(|e| EngineError::step("cannot read", e))?;
    let mut fingerprints = vec![
        NewFingerprint::own(SignalType::Md5, ex.md5.to_hex(), None),
        NewFingerprint::own(SignalType::Sha256, ex.sha256.to_hex(), None),
    ];
    let mut text = None;
    if ex.kind == MediaKind::Document && ex.mime.as_deref() == Some("text/plain") {
        if ex.byte_size > MAX_TEXT_FILE {
            return Err(EngineError::Invalid(format!(
                "a text of {} bytes is over the {MAX_TEXT_FILE}-byte limit",
                ex.byte_size
            )));
        }
        let bytes = std::fs::read(path).map_err(|e| EngineError::step("cannot read", e))?;
        let t = String::from_utf8(bytes).map_err(|e| {
            EngineError::Invalid(format!(
                "a .txt file that is not UTF-8 (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ))
        })?;
        fingerprints.extend(fp.text(&t));
        text = Some(t);
    } else if fp.wants_media(ex.kind) {
        let found =
            marsad_ingest::pipeline::fingerprint_one(fp, ex.kind, path).map_err(EngineError::Invalid)?;
        fingerprints.extend(found);
    }
    Ok(FileSignals { kind: ex.kind, fingerprints, text })
}

pub use marsad_media::MediaFingerprinter;

impl crate::Engine {
    /// The fingerprinter that ingest uses, under this engine's limits and
    /// memory budget (for files handed over one at a time: uploads).
    pub fn fingerprinter(&self) -> MediaFingerprinter {
        MediaFingerprinter::new(marsad_media::FingerprintConfig {
            limits: self.limits(),
            ..marsad_media::FingerprintConfig::default()
        })
    }
}
