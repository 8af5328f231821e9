//! Ingest jobs: an upload — an archive (zip, tar, tar.gz) of a Telegram
//! Desktop export folder, or a JSON lines file — ingested in a fresh
//! folder exactly as `marsad ingest` ingests the same folder or file, and
//! the job's record in the store.
//!
//! An archive is hostile input. [`extract`] writes only regular files and
//! folders, under the destination, each path built from the entry's name
//! component by component: an absolute name, a `..` component, a link
//! (symbolic or hard), a device file, a FIFO or any other special entry
//! refuses the whole archive with the entry's name; so do more bytes or
//! more entries than [`ExtractLimits`] allow (counted as they are written,
//! whatever the archive declares). Files are created new (never
//! overwritten, never through a link: none is ever made), with default
//! permissions.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use marsad_ingest::{IngestSummary, Reporter, Unit};
use serde::Serialize;

pub use marsad_store::{JobEnd, JobKind, JobRecord, JobStatus, NewJob};

use crate::Engine;
use crate::error::{EngineError, Result, invalid};
use crate::ingest::{IngestOptions, InputKind};

/// What an upload is, by its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UploadFormat {
    /// A zip archive.
    Zip,
    /// A tar archive.
    Tar,
    /// A gzip stream, taken for a tar archive.
    TarGz,
    /// Anything else: a file to ingest as it is.
    Plain,
}

impl UploadFormat {
    /// The format of the file at `path`, from its first 512 bytes.
    pub fn sniff(path: &Path) -> Result<UploadFormat> {
        let mut head = Vec::with_capacity(512);
        File::open(path)
            .and_then(|f| f.take(512).read_to_end(&mut head))
            .map_err(|e| EngineError::io(path.display(), e))?;
        Ok(UploadFormat::of(&head))
    }

    /// The format of a file that starts with `head` (its first 512 bytes).
    pub fn of(head: &[u8]) -> UploadFormat {
        // A zip's local header, or the end record of an empty one.
        if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
            UploadFormat::Zip
        } else if head.starts_with(&[0x1f, 0x8b]) {
            UploadFormat::TarGz
        } else if head.get(257..262) == Some(b"ustar") {
            UploadFormat::Tar
        } else {
            UploadFormat::Plain
        }
    }

    /// Whether it is an archive to extract.
    pub fn is_archive(self) -> bool {
        self != UploadFormat::Plain
    }

    /// What it is, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            UploadFormat::Zip => "a zip archive",
            UploadFormat::Tar => "a tar archive",
            UploadFormat::TarGz => "a gzip-compressed tar archive",
            UploadFormat::Plain => "a plain file",
        }
    }

    /// The kind of job an upload of this format is when the client does
    /// not say: an archive is a Telegram export, anything else JSON lines.
    pub fn inferred_kind(self) -> JobKind {
        if self.is_archive() { JobKind::Telegram } else { JobKind::Jsonl }
    }
}

/// The bounds of one extraction (zip bombs, tar bombs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExtractLimits {
    /// Most bytes written in all.
    pub max_bytes: u64,
    /// Most entries (files, folders and the rest).
    pub max_entries: u64,
}

impl ExtractLimits {
    /// Most entries by default: a large channel's export, with room.
    pub const DEFAULT_MAX_ENTRIES: u64 = 200_000;

    /// The bounds for uploads of at most `max_upload` bytes: ten times as
    /// many bytes extracted (media barely compress; a text-only export
    /// compresses about tenfold), [`Self::DEFAULT_MAX_ENTRIES`] entries.
    pub fn for_upload(max_upload: u64) -> ExtractLimits {
        ExtractLimits { max_bytes: max_upload.saturating_mul(10), max_entries: Self::DEFAULT_MAX_ENTRIES }
    }
}

/// What an extraction wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Extracted {
    /// Entries extracted (files and folders).
    pub entries: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// Longest GNU long name or pax record set read from a tar archive.
const MAX_TAR_NAME: u64 = 4096;
const MAX_PAX: u64 = 1 << 20;

fn refused(entry: &str, why: impl std::fmt::Display) -> EngineError {
    invalid!("archive entry {entry:?}: {why}")
}

/// The path under the destination of an entry named `name` (`/` or `\`
/// separated), or why it is refused; `None` for the archive's root.
fn entry_path(name: &[u8]) -> std::result::Result<Option<PathBuf>, &'static str> {
    if name.contains(&0) {
        return Err("a NUL byte in its name");
    }
    if name.first().is_some_and(|&b| b == b'/' || b == b'\\') {
        return Err("an absolute path (refused: entries must stay inside the archive's folder)");
    }
    if name.len() >= 2 && name[0].is_ascii_alphabetic() && name[1] == b':' {
        return Err(
            "an absolute path with a drive letter (refused: entries must stay inside the archive's folder)",
        );
    }
    let mut out = PathBuf::new();
    for part in name.split(|&b| b == b'/' || b == b'\\') {
        match part {
            b"" | b"." => {}
            b".." => return Err("a `..` component (refused: entries must stay inside the archive's folder)"),
            part => out.push(OsStr::from_bytes(part)),
        }
    }
    Ok((!out.as_os_str().is_empty()).then_some(out))
}

/// Writes extracted entries under one folder, within the limits.
struct Writer<'a> {
    dest: &'a Path,
    limits: ExtractLimits,
    done: Extracted,
    progress: &'a dyn Reporter,
}

impl Writer<'_> {
    fn count(&mut self, entry: &str) -> Result<()> {
        self.done.entries += 1;
        if self.done.entries > self.limits.max_entries {
            return Err(refused(
                entry,
                format_args!("more than {} entries in the archive", self.limits.max_entries),
            ));
        }
        Ok(())
    }

    fn dir(&mut self, entry: &str, rel: Option<PathBuf>) -> Result<()> {
        self.count(entry)?;
        if let Some(rel) = rel {
            std::fs::create_dir_all(self.dest.join(rel)).map_err(|e| refused(entry, e))?;
        }
        Ok(())
    }

    fn file(&mut self, entry: &str, rel: Option<PathBuf>, declared: u64, data: &mut dyn Read) -> Result<()> {
        self.count(entry)?;
        let Some(rel) = rel else { return Err(refused(entry, "a file without a name")) };
        let left = self.limits.max_bytes - self.done.bytes;
        let bomb = || {
            refused(
                entry,
                format_args!(
                    "the archive expands past {} bytes, the most extracted from one upload",
                    self.limits.max_bytes
                ),
            )
        };
        if declared > left {
            return Err(bomb());
        }
        let path = self.dest.join(&rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| refused(entry, format_args!("cannot make its folder: {e}")))?;
        }
        // Created new: a second entry of the same path is refused, never
        // written over the first.
        let file = std::fs::OpenOptions::new().write(true).create_new(true).open(&path).map_err(|e| {
            if e.kind() == io::ErrorKind::AlreadyExists {
                refused(entry, "a second entry of the same path")
            } else {
                refused(entry, e)
            }
        })?;
        let mut out = io::BufWriter::new(file);
        // What is written is counted, not what the archive declares.
        let written = io::copy(&mut data.take(left + 1), &mut out).map_err(|e| refused(entry, e))?;
        if written > left {
            return Err(bomb());
        }
        out.flush().map_err(|e| refused(entry, e))?;
        self.done.bytes += written;
        self.progress.advance(written);
        Ok(())
    }
}

/// Extracts the archive at `archive` (of `format`) into `dest`, a fresh
/// empty folder; see the module's documentation for what is refused.
/// Progress: a phase `extracting`, in bytes written.
pub fn extract(
    archive: &Path,
    format: UploadFormat,
    dest: &Path,
    limits: &ExtractLimits,
    progress: &dyn Reporter,
) -> Result<Extracted> {
    let file = File::open(archive).map_err(|e| EngineError::io(archive.display(), e))?;
    let mut w = Writer { dest, limits: *limits, done: Extracted::default(), progress };
    progress.start("extracting", None, Unit::Bytes);
    match format {
        UploadFormat::Zip => extract_zip(BufReader::new(file), &mut w)?,
        UploadFormat::Tar => extract_tar(BufReader::new(file), &mut w)?,
        UploadFormat::TarGz => extract_tar(flate2::read::MultiGzDecoder::new(BufReader::new(file)), &mut w)?,
        UploadFormat::Plain => return Err(invalid!("the upload is not an archive (zip, tar or tar.gz)")),
    }
    progress.finish();
    Ok(w.done)
}

fn extract_zip(reader: BufReader<File>, w: &mut Writer<'_>) -> Result<()> {
    let mut zip = zip::ZipArchive::new(reader).map_err(|e| invalid!("not a readable zip archive: {e}"))?;
    if zip.len() as u64 > w.limits.max_entries {
        return Err(invalid!(
            "the archive has {} entries, more than the {} allowed",
            zip.len(),
            w.limits.max_entries
        ));
    }
    for i in 0..zip.len() {
        let shown = match zip.name_for_index(i) {
            Some(Ok(name)) => name.into_owned(),
            _ => format!("#{}", i + 1),
        };
        let mut entry = zip.by_index(i).map_err(|e| refused(&shown, e))?;
        let rel = entry_path(entry.name_raw()).map_err(|why| refused(&shown, why))?;
        // The type is in the Unix mode's high bits when a Unix tool made
        // the archive.
        if entry.is_symlink() {
            return Err(refused(&shown, "a symbolic link (links are not extracted)"));
        }
        match entry.unix_mode().map(|m| m & 0o170_000) {
            None | Some(0 | 0o100_000 | 0o040_000) => {}
            Some(0o120_000) => return Err(refused(&shown, "a symbolic link (links are not extracted)")),
            Some(0o020_000 | 0o060_000) => return Err(refused(&shown, "a device file")),
            Some(0o010_000) => return Err(refused(&shown, "a FIFO")),
            Some(0o140_000) => return Err(refused(&shown, "a socket")),
            Some(other) => return Err(refused(&shown, format_args!("an entry of unknown type {other:o}"))),
        }
        if entry.is_dir() {
            w.dir(&shown, rel)?;
        } else {
            let declared = entry.size();
            w.file(&shown, rel, declared, &mut entry)?;
        }
    }
    Ok(())
}

/// Reads an extension entry's data (a long name, pax records), at most
/// `max` bytes.
fn small(entry: &mut dyn Read, size: u64, max: u64, shown: &str, what: &str) -> Result<Vec<u8>> {
    if size > max {
        return Err(refused(shown, format_args!("{what} of {size} bytes (at most {max})")));
    }
    let mut out = Vec::with_capacity(size as usize);
    entry.take(max).read_to_end(&mut out).map_err(|e| refused(shown, e))?;
    Ok(out)
}

/// The `path` of pax extended header records (`"%d %s=%s\n"`), refusing
/// those that would change how the archive reads (`size`).
fn pax_path(records: &[u8], shown: &str) -> Result<Option<Vec<u8>>> {
    let mut rest = records;
    let mut path = None;
    while !rest.is_empty() {
        let bad = || refused(shown, "malformed pax extended header");
        let space = rest.iter().position(|&b| b == b' ').ok_or_else(bad)?;
        let len: usize =
            std::str::from_utf8(&rest[..space]).ok().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
        if len <= space + 1 || len > rest.len() || rest[len - 1] != b'\n' {
            return Err(bad());
        }
        let record = &rest[space + 1..len - 1];
        let eq = record.iter().position(|&b| b == b'=').ok_or_else(bad)?;
        match &record[..eq] {
            b"path" => path = Some(record[eq + 1..].to_vec()),
            b"size" => return Err(refused(shown, "a pax size record (files past 8 GiB are not extracted)")),
            _ => {}
        }
        rest = &rest[len..];
    }
    Ok(path)
}

/// Reads at most `left` bytes, then fails: a tar stream (a gzip bomb) is
/// bounded whatever its headers say.
struct Bounded<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Err(io::Error::other("the archive expands past the most extracted from one upload"));
        }
        let n = buf.len().min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let got = self.inner.read(&mut buf[..n])?;
        self.left -= got as u64;
        Ok(got)
    }
}

fn extract_tar(reader: impl Read, w: &mut Writer<'_>) -> Result<()> {
    // Headers and padding of the most entries, beside their data.
    let overhead = w.limits.max_entries.saturating_mul(3 * 512).saturating_add(MAX_PAX);
    let stream = Bounded { inner: reader, left: w.limits.max_bytes.saturating_add(overhead) };
    let mut archive = tar::Archive::new(stream);
    // Raw: long names and pax records are read here, bounded, rather than
    // whole into memory by the tar crate.
    let entries = archive.entries().map_err(|e| invalid!("not a readable tar archive: {e}"))?.raw(true);
    let mut long_name: Option<Vec<u8>> = None;
    let mut pax: Option<Vec<u8>> = None;
    for (i, entry) in entries.enumerate() {
        let mut entry =
            entry.map_err(|e| invalid!("not a readable tar archive (at entry {}): {e}", i + 1))?;
        let header_name = entry.path_bytes().into_owned();
        let kind = entry.header().entry_type();
        let size = entry.size();
        let shown = String::from_utf8_lossy(&header_name).into_owned();
        if kind.is_gnu_longname() {
            let mut name = small(&mut entry, size, MAX_TAR_NAME, &shown, "a long name")?;
            while name.last() == Some(&0) {
                name.pop();
            }
            long_name = Some(name);
            continue;
        }
        if kind.is_pax_local_extensions() {
            let records = small(&mut entry, size, MAX_PAX, &shown, "a pax extended header")?;
            pax = pax_path(&records, &shown)?;
            continue;
        }
        if kind.is_pax_global_extensions() || kind.is_gnu_longlink() {
            // Global records name no entry; a link's target is refused with
            // its link below.
            small(&mut entry, size, MAX_PAX, &shown, "an extended header")?;
            continue;
        }
        let name = pax.take().or(long_name.take()).unwrap_or(header_name);
        let shown = String::from_utf8_lossy(&name).into_owned();
        let rel = entry_path(&name).map_err(|why| refused(&shown, why))?;
        match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous => w.file(&shown, rel, size, &mut entry)?,
            tar::EntryType::Directory => w.dir(&shown, rel)?,
            tar::EntryType::Symlink => {
                return Err(refused(&shown, "a symbolic link (links are not extracted)"));
            }
            tar::EntryType::Link => return Err(refused(&shown, "a hard link (links are not extracted)")),
            tar::EntryType::Char | tar::EntryType::Block => return Err(refused(&shown, "a device file")),
            tar::EntryType::Fifo => return Err(refused(&shown, "a FIFO")),
            other => {
                return Err(refused(
                    &shown,
                    format_args!("an entry of type {:?} (not extracted)", other.as_byte() as char),
                ));
            }
        }
    }
    Ok(())
}

/// The export folder in an extracted archive: the folder itself when
/// `result.json` is at its root, else the one folder below it that holds
/// one (macOS's `__MACOSX` folder aside).
pub fn find_export(dir: &Path) -> Result<PathBuf> {
    if dir.join("result.json").is_file() {
        return Ok(dir.to_owned());
    }
    let mut found = Vec::new();
    let listing = std::fs::read_dir(dir).map_err(|e| EngineError::io(dir.display(), e))?;
    for item in listing {
        let item = item.map_err(|e| EngineError::io(dir.display(), e))?;
        let path = item.path();
        if item.file_name() != "__MACOSX" && path.is_dir() && path.join("result.json").is_file() {
            found.push(path);
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(invalid!(
            "no result.json in the archive, at its root or one folder down: upload a Telegram Desktop export folder (JSON format)"
        )),
        _ => {
            let mut names: Vec<_> = found
                .iter()
                .filter_map(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .collect();
            names.sort();
            Err(invalid!("the archive holds several exports ({}): upload one at a time", names.join(", ")))
        }
    }
}

/// The ingest options of a job: `marsad ingest`'s defaults, with the
/// job's flags.
pub fn ingest_options(job: &NewJob) -> IngestOptions {
    IngestOptions {
        retain_media: job.retain_media,
        no_fingerprints: job.no_fingerprints,
        export_timezone: job.export_timezone.clone(),
        ..IngestOptions::default()
    }
}

/// Checks a job's options before it is accepted (the ingest checks them
/// again): the export timezone.
pub fn check(job: &NewJob) -> Result<()> {
    if let Some(zone) = &job.export_timezone {
        zone.parse::<marsad_core::LocalZone>().map_err(|e| invalid!("export_timezone: {e}"))?;
    }
    Ok(())
}

/// A job's progress, as the ingest reports it: the phase (`extracting`,
/// `checking`, `ingesting`), its unit, how many are done and the total
/// when known. A [`Reporter`] another thread reads with
/// [`JobProgress::snapshot`].
#[derive(Debug, Default)]
pub struct JobProgress {
    now: Mutex<Progress>,
}

/// A job's progress at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// The phase: `extracting`, `checking` or `ingesting`.
    pub phase: Option<String>,
    /// What `done` and `total` count: `bytes` or `records`.
    pub unit: Option<&'static str>,
    /// How many are done.
    pub done: u64,
    /// How many there are, when known.
    pub total: Option<u64>,
    /// What the extraction wrote (archives).
    pub extracted: Option<Extracted>,
}

impl JobProgress {
    /// The progress now.
    pub fn snapshot(&self) -> Progress {
        self.now.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn update(&self, f: impl FnOnce(&mut Progress)) {
        f(&mut self.now.lock().unwrap_or_else(|p| p.into_inner()));
    }
}

impl Reporter for JobProgress {
    fn start(&self, phase: &str, total: Option<u64>, unit: Unit) {
        self.update(|p| {
            p.phase = Some(phase.to_owned());
            p.unit = Some(match unit {
                Unit::Bytes => "bytes",
                Unit::Records => "records",
            });
            p.done = 0;
            p.total = total;
        });
    }

    fn advance(&self, n: u64) {
        self.update(|p| p.done += n);
    }

    fn finish(&self) {}
}

/// A job as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct JobView {
    /// Its id.
    pub id: i64,
    /// `queued`, `running`, `done` or `failed`.
    pub status: &'static str,
    /// When it was accepted (RFC 3339, UTC).
    pub created: String,
    /// When it started.
    pub started: Option<String>,
    /// When it ended.
    pub finished: Option<String>,
    /// The token that sent it.
    pub created_by: String,
    /// The uploaded file's name.
    pub file_name: String,
    /// The upload's size in bytes.
    pub bytes: u64,
    /// `telegram` or `jsonl`.
    pub kind: &'static str,
    /// The ingest flags.
    pub options: JobOptions,
    /// The progress ([`Progress`]): the last stored, or `null`.
    pub progress: Option<serde_json::Value>,
    /// The ingest's summary, as `marsad ingest --json` prints it.
    pub summary: Option<serde_json::Value>,
    /// Why it failed.
    pub error: Option<String>,
}

/// A job's ingest flags.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct JobOptions {
    /// `--retain-media`.
    pub retain_media: bool,
    /// `--no-fingerprints`.
    pub no_fingerprints: bool,
    /// `--export-timezone`.
    pub export_timezone: Option<String>,
}

fn json(text: Option<String>) -> Option<serde_json::Value> {
    text.and_then(|t| serde_json::from_str(&t).ok())
}

impl From<JobRecord> for JobView {
    fn from(r: JobRecord) -> Self {
        JobView {
            id: r.id,
            status: r.status.as_str(),
            created: r.created_at.to_rfc3339(),
            started: r.started_at.map(|t| t.to_rfc3339()),
            finished: r.finished_at.map(|t| t.to_rfc3339()),
            created_by: r.job.created_by,
            file_name: r.job.file_name,
            bytes: r.job.bytes,
            kind: r.job.kind.as_str(),
            options: JobOptions {
                retain_media: r.job.retain_media,
                no_fingerprints: r.job.no_fingerprints,
                export_timezone: r.job.export_timezone,
            },
            progress: json(r.progress),
            summary: json(r.summary),
            error: r.error,
        }
    }
}

/// The error a job left unfinished by a server that stopped gets.
pub const STOPPED: &str = "the server stopped before the job finished";

/// How often a server says its jobs are alive.
pub const JOB_HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(5);

/// How long a job's server may be silent before the job is failed as
/// stopped.
pub const JOB_SILENCE: std::time::Duration = std::time::Duration::from_secs(30);

/// Most jobs listed at once.
pub const MAX_LIST: u64 = 1000;

impl Engine {
    /// Stores a job, queued.
    pub fn submit_job(&mut self, job: &NewJob) -> Result<JobView> {
        check(job)?;
        Ok(self.store_mut().add_job(job)?.into())
    }

    /// The job with this id; [`EngineError::NotFound`] if there is none.
    pub fn job(&self, id: i64) -> Result<JobView> {
        match self.store().job(id)? {
            Some(r) => Ok(r.into()),
            None => Err(EngineError::NotFound(format!("no job {id}"))),
        }
    }

    /// The newest `limit` jobs (1 to [`MAX_LIST`]), newest first.
    pub fn jobs(&self, limit: u64) -> Result<Vec<JobView>> {
        if !(1..=MAX_LIST).contains(&limit) {
            return Err(invalid!("limit must be from 1 to {MAX_LIST}"));
        }
        Ok(self.store().jobs(limit)?.into_iter().map(JobView::from).collect())
    }

    /// Marks failed ([`STOPPED`]) every job left queued or running by a
    /// server silent for `silence` ([`JOB_SILENCE`] normally: it stopped);
    /// how many. Servers call it when they start and every
    /// [`JOB_HEARTBEAT`]: such jobs are not run again, since their uploads
    /// were temporary files of the process that stopped. The jobs of live
    /// servers are left alone.
    pub fn fail_unfinished_jobs(&mut self, silence: std::time::Duration) -> Result<u64> {
        let silence = i64::try_from(silence.as_micros()).unwrap_or(i64::MAX);
        let before = marsad_core::UtcTime::from_unix_micros(
            marsad_core::UtcTime::now().unix_micros().saturating_sub(silence),
        )
        .unwrap_or_else(marsad_core::UtcTime::now);
        Ok(self.store_mut().fail_unfinished_jobs(STOPPED, before)?)
    }

    /// Says that the server of these jobs is alive (every
    /// [`JOB_HEARTBEAT`], for the jobs it has queued or running).
    pub fn heartbeat_jobs(&mut self, ids: &[i64]) -> Result<()> {
        Ok(self.store_mut().heartbeat_jobs(ids)?)
    }

    /// Runs the queued job `id`, whose upload is the file `upload`:
    /// marks it running, extracts or copies the upload into a fresh
    /// folder under `scratch` (the system's temporary folder when `None`),
    /// ingests it as `marsad ingest` would with the job's flags, removes
    /// the folder and stores how it ended. Returns the record as stored.
    /// An ingest that stores no valid post fails (as `marsad ingest` exits
    /// non-zero), its summary kept.
    pub fn run_job(
        &mut self,
        id: i64,
        upload: &Path,
        limits: &ExtractLimits,
        scratch: Option<&Path>,
        progress: &JobProgress,
    ) -> Result<JobRecord> {
        let Some(record) = self.store().job(id)? else {
            return Err(EngineError::NotFound(format!("no job {id}")));
        };
        if !self.store_mut().start_job(id)? {
            return Err(invalid!("job {id} is {}, not queued", record.status.as_str()));
        }
        let outcome = self.ingest_upload(&record.job, upload, limits, scratch, progress);
        let snapshot = serde_json::to_string(&progress.snapshot()).ok();
        let end = match outcome {
            Ok(summary) => JobEnd {
                error: (summary.posts_valid() == 0).then(|| no_valid_post(&summary)),
                summary: serde_json::to_string(&summary).ok(),
                progress: snapshot,
            },
            Err(e) => JobEnd { error: Some(e.to_string()), summary: None, progress: snapshot },
        };
        self.store_mut().finish_job(id, &end)?;
        self.store().job(id)?.ok_or_else(|| EngineError::NotFound(format!("no job {id}")))
    }

    fn ingest_upload(
        &mut self,
        job: &NewJob,
        upload: &Path,
        limits: &ExtractLimits,
        scratch: Option<&Path>,
        progress: &JobProgress,
    ) -> Result<IngestSummary> {
        let format = UploadFormat::sniff(upload)?;
        let scratch = scratch.map_or_else(std::env::temp_dir, Path::to_path_buf);
        let dir = tempfile::Builder::new()
            .prefix("marsad-job-")
            .tempdir_in(&scratch)
            .map_err(|e| EngineError::io(scratch.display(), e))?;
        // Every upload is ingested from a folder of its own, so that what it
        // references (a media path in result.json or a JSON line) can only
        // be what came with it.
        let (kind, path) = match (job.kind, format) {
            (JobKind::Telegram, f) if f.is_archive() => {
                let root = dir.path().join("export");
                std::fs::create_dir(&root).map_err(|e| EngineError::io(root.display(), e))?;
                let extracted = extract(upload, f, &root, limits, progress)?;
                progress.update(|p| p.extracted = Some(extracted));
                (InputKind::Telegram, find_export(&root)?)
            }
            (JobKind::Telegram, _) => (InputKind::Telegram, copy_into(upload, dir.path(), "result.json")?),
            (JobKind::Jsonl, UploadFormat::Plain) => {
                (InputKind::Jsonl, copy_into(upload, dir.path(), "posts.jsonl")?)
            }
            (JobKind::Jsonl, f) => {
                return Err(invalid!(
                    "kind jsonl: the upload is {}; send the JSON lines file itself",
                    f.describe()
                ));
            }
        };
        let summary = self.ingest(kind, &path, &ingest_options(job), progress)?;
        if let Err(e) = dir.close() {
            tracing::warn!(error = %e, "cannot remove a job's temporary folder");
        }
        Ok(summary)
    }
}

fn copy_into(upload: &Path, dir: &Path, name: &str) -> Result<PathBuf> {
    let to = dir.join(name);
    std::fs::copy(upload, &to).map_err(|e| EngineError::io(to.display(), e))?;
    Ok(to)
}

fn no_valid_post(s: &IngestSummary) -> String {
    format!("no valid post in the upload: {}", s.no_post_reason())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_path(name: &str, want: std::result::Result<Option<&str>, &str>) {
        let got = entry_path(name.as_bytes());
        match want {
            Ok(p) => assert_eq!(got, Ok(p.map(PathBuf::from)), "{name:?}"),
            Err(why) => assert!(got.is_err_and(|g| g.contains(why)), "{name:?}"),
        }
    }

    #[test]
    fn entry_names_stay_inside() {
        check_path("export/result.json", Ok(Some("export/result.json")));
        check_path("./export//photos/p.jpg", Ok(Some("export/photos/p.jpg")));
        check_path("export\\photos\\p.jpg", Ok(Some("export/photos/p.jpg")));
        check_path("export/", Ok(Some("export")));
        check_path("./", Ok(None));
        check_path("../evil", Err("`..`"));
        check_path("export/../../evil", Err("`..`"));
        check_path("export\\..\\evil", Err("`..`"));
        check_path("/etc/passwd", Err("absolute"));
        check_path("\\evil", Err("absolute"));
        check_path("C:evil", Err("drive letter"));
        check_path("a\0b", Err("NUL"));
    }

    #[test]
    fn formats_are_told_by_their_first_bytes() {
        let mut tar = vec![0u8; 512];
        tar[257..262].copy_from_slice(b"ustar");
        assert_eq!(UploadFormat::of(b"PK\x03\x04rest"), UploadFormat::Zip);
        assert_eq!(UploadFormat::of(b"PK\x05\x06"), UploadFormat::Zip);
        assert_eq!(UploadFormat::of(&[0x1f, 0x8b, 8]), UploadFormat::TarGz);
        assert_eq!(UploadFormat::of(&tar), UploadFormat::Tar);
        assert_eq!(UploadFormat::of(b"{\"platform\": \"x\"}\n"), UploadFormat::Plain);
        assert_eq!(UploadFormat::of(b""), UploadFormat::Plain);
    }

    #[test]
    fn pax_paths_are_read_and_sizes_refused() {
        let rec = |k: &str, v: &str| {
            let body = format!(" {k}={v}\n");
            let mut n = body.len() + 1;
            if (n.to_string().len() + body.len()) != n {
                n = n.to_string().len() + body.len();
            }
            format!("{n}{body}")
        };
        let ok = format!("{}{}", rec("mtime", "1"), rec("path", "export/long name.json"));
        assert_eq!(pax_path(ok.as_bytes(), "x").ok().flatten(), Some(b"export/long name.json".to_vec()));
        assert!(pax_path(rec("size", "10").as_bytes(), "x").is_err());
        assert!(pax_path(b"99 path=x\n", "x").is_err());
        assert!(pax_path(b"garbage", "x").is_err());
    }
}
