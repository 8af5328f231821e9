//! Reading a media file once: exact digests, MIME sniffing, optional
//! retention of the bytes (content-addressed).

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use marsad_core::{Md5, MediaKind, Sha256};
use marsad_hash::digest::ExactDigests;

/// What reading a media file gave.
pub(crate) struct ReadMedia {
    pub sha256: Sha256,
    pub md5: Md5,
    pub byte_size: u64,
    pub sniffed_mime: Option<&'static str>,
    /// Where the bytes were kept, when retention is on.
    pub retained: Option<PathBuf>,
}

/// The largest media file read (4 GiB; Telegram's own limit is 4 GB a
/// file): a larger one — a sparse file claiming a terabyte, a file that
/// keeps growing — is refused rather than read or copied without end.
pub const MAX_MEDIA_BYTES: u64 = 4 << 30;

/// Opens `path` for reading only if it is a regular file: the open does not
/// block (a FIFO swapped in after the path was checked cannot hang the
/// read), and the open file itself is checked, so what is read is what was
/// checked.
pub fn open_regular(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    }
    let file = options.open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        let what =
            if meta.is_dir() { "is a directory" } else { "not a regular file (a device, FIFO or socket)" };
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, what));
    }
    if meta.len() > MAX_MEDIA_BYTES {
        return Err(too_large(meta.len()));
    }
    Ok(file)
}

fn too_large(len: u64) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!("{len} bytes, over the limit of {MAX_MEDIA_BYTES} bytes for a media file"),
    )
}

/// A retained copy being written: a file without a name in the retention
/// folder (Linux's `O_TMPFILE`), given its name only once complete, so that
/// nothing is left behind however the process ends — an error, a panic, a
/// `kill -9`. Where the file system cannot make nameless files, a named
/// temporary file (removed on every exit but a kill).
enum Retaining {
    Nameless(File),
    Named(tempfile::NamedTempFile),
}

impl Retaining {
    fn new(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        #[cfg(target_os = "linux")]
        {
            use rustix::fs::{Mode, OFlags};
            match rustix::fs::open(
                dir,
                OFlags::TMPFILE | OFlags::RDWR | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o600),
            ) {
                Ok(fd) => return Ok(Retaining::Nameless(File::from(fd))),
                Err(e) if e == rustix::io::Errno::OPNOTSUPP || e == rustix::io::Errno::ISDIR => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Retaining::Named(tempfile::NamedTempFile::new_in(dir)?))
    }

    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Retaining::Nameless(f) => f.write_all(bytes),
            Retaining::Named(t) => t.write_all(bytes),
        }
    }

    /// Names the complete copy `dest` (an existing copy is kept). A
    /// nameless file is named through its link in `proc_fd` (the process's
    /// `/proc/self/fd`, [`PROC_FD`]).
    fn persist(self, dest: &Path, proc_fd: &Path) -> std::io::Result<()> {
        match self {
            Retaining::Nameless(f) => {
                use std::os::fd::AsFd as _;
                let proc_path = proc_fd.join(rustix::fd::AsRawFd::as_raw_fd(&f.as_fd()).to_string());
                match rustix::fs::linkat(
                    rustix::fs::CWD,
                    &proc_path,
                    rustix::fs::CWD,
                    dest,
                    rustix::fs::AtFlags::SYMLINK_FOLLOW,
                ) {
                    Ok(()) => Ok(()),
                    // Another ingest kept the same bytes meanwhile.
                    Err(rustix::io::Errno::EXIST) => Ok(()),
                    // No /proc to name the file by: copy it to a named
                    // temporary file beside it, then give that its name.
                    Err(_) => {
                        let mut f = f;
                        std::io::Seek::rewind(&mut f)?;
                        let dir = dest.parent().unwrap_or_else(|| Path::new("."));
                        let mut named = tempfile::NamedTempFile::new_in(dir)?;
                        std::io::copy(&mut f, &mut named)?;
                        Retaining::Named(named).persist(dest, proc_fd)
                    }
                }
            }
            Retaining::Named(t) => {
                if dest.exists() {
                    return Ok(());
                }
                t.persist(dest).map(drop).map_err(|e| e.error)
            }
        }
    }
}

/// Where a process's open files are linked by number (Linux).
const PROC_FD: &str = "/proc/self/fd";

/// Reads `path` in one pass. With `retain`, the bytes are also written to a
/// nameless file in that folder and named `retain/ab/cd/<sha256>` once the
/// digest is known (an existing copy is kept). Only a regular file of at
/// most [`MAX_MEDIA_BYTES`] is read.
pub(crate) fn read_media(path: &Path, retain: Option<&Path>) -> std::io::Result<ReadMedia> {
    read_media_via(path, retain, Path::new(PROC_FD))
}

/// [`read_media`], naming a retained copy through `proc_fd` (tests give a
/// folder that does not exist, as in a container without `/proc`).
fn read_media_via(path: &Path, retain: Option<&Path>, proc_fd: &Path) -> std::io::Result<ReadMedia> {
    let mut file = open_regular(path)?;
    let mut temp = match retain {
        Some(dir) => Some(Retaining::new(dir)?),
        None => None,
    };
    let mut digests = ExactDigests::new();
    let mut head: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        total += n as u64;
        if total > MAX_MEDIA_BYTES {
            // It grew while being read.
            return Err(too_large(total));
        }
        let chunk = &buf[..n];
        digests.update(chunk);
        if head.len() < 8192 {
            let take = (8192 - head.len()).min(n);
            head.extend_from_slice(&chunk[..take]);
        }
        if let Some(t) = temp.as_mut() {
            t.write_all(chunk)?;
        }
    }
    let d = digests.finish();
    let sha256 = Sha256(d.sha256);
    let retained = match (temp, retain) {
        (Some(t), Some(dir)) => {
            let hex = sha256.to_hex();
            let folder = dir.join(&hex[0..2]).join(&hex[2..4]);
            std::fs::create_dir_all(&folder)?;
            let dest = folder.join(&hex);
            t.persist(&dest, proc_fd)?;
            Some(dest)
        }
        _ => None,
    };
    Ok(ReadMedia {
        sha256,
        md5: Md5(d.md5),
        byte_size: d.len,
        sniffed_mime: infer::get(&head).map(|t| t.mime_type()),
        retained,
    })
}

/// The MIME type of a file: the one declared by the export, else sniffed
/// from the content, else guessed from the file name.
pub(crate) fn choose_mime(declared: Option<&str>, sniffed: Option<&str>, path: &str) -> Option<String> {
    declared
        .filter(|m| m.contains('/'))
        .map(str::to_owned)
        .or_else(|| sniffed.map(str::to_owned))
        .or_else(|| mime_guess::from_path(path).first().map(|m| m.essence_str().to_owned()))
}

/// The kind of a media file whose declared kind is only a guess: the MIME
/// type decides when it names image, video or audio.
pub(crate) fn refine_kind(declared: MediaKind, mime: Option<&str>) -> MediaKind {
    match mime.map(MediaKind::from_mime) {
        Some(k @ (MediaKind::Image | MediaKind::Video | MediaKind::Audio)) => k,
        _ => declared,
    }
}

/// A file examined as ingestion examines a media file: its digests, and its
/// kind and MIME type decided by the same rules (the declared MIME type,
/// else the sniffed one, else a guess from the name; a MIME type naming
/// image, video or audio decides the kind).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Examined {
    /// SHA-256 of the bytes.
    pub sha256: Sha256,
    /// MD5 of the bytes.
    pub md5: Md5,
    /// Size in bytes.
    pub byte_size: u64,
    /// The kind the rules decided.
    pub kind: MediaKind,
    /// The MIME type, when known.
    pub mime: Option<String>,
}

/// Reads `path` once and decides its kind as ingestion does, starting from
/// `declared` (the kind an export gives, or [`MediaKind::Document`] when
/// nothing is declared).
pub fn examine(path: &Path, declared: MediaKind, declared_mime: Option<&str>) -> std::io::Result<Examined> {
    let read = read_media(path, None)?;
    let name = path.to_string_lossy();
    let mime = choose_mime(declared_mime, read.sniffed_mime, &name);
    let kind = refine_kind(declared, mime.as_deref());
    Ok(Examined { sha256: read.sha256, md5: read.md5, byte_size: read.byte_size, kind, mime })
}

/// The file a media reference of an export names, confined to the export:
/// `rel` is joined to `root` (the export's folder), and the result, with
/// every symbolic link followed, must lie inside `root` and be a regular
/// file. An absolute path, a `..` that climbs out, a link pointing
/// elsewhere, a device, a FIFO or a folder is refused with the reason; a
/// file that does not exist is returned as it is (its read reports it
/// missing).
pub fn confine(root: &Path, rel: &str) -> Result<PathBuf, String> {
    let relative = Path::new(rel);
    if relative.has_root() || relative.is_absolute() {
        return Err("refused: an absolute path (media must be inside the export)".to_owned());
    }
    let mut depth = 0usize;
    for c in relative.components() {
        match c {
            std::path::Component::ParentDir if depth == 0 => {
                return Err("refused: the path climbs out of the export".to_owned());
            }
            std::path::Component::ParentDir => depth -= 1,
            std::path::Component::Normal(_) => depth += 1,
            std::path::Component::CurDir => {}
            std::path::Component::RootDir | std::path::Component::Prefix(_) => {
                return Err("refused: an absolute path (media must be inside the export)".to_owned());
            }
        }
    }
    let root = if root.as_os_str().is_empty() { Path::new(".") } else { root };
    let joined = root.join(relative);
    let resolved = match joined.canonicalize() {
        Ok(p) => p,
        // Missing: reported by the read, as a missing file.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(joined),
        Err(e) => return Err(format!("unreadable: {e}")),
    };
    let root = root.canonicalize().map_err(|e| format!("unreadable export folder: {e}"))?;
    if !resolved.starts_with(&root) {
        return Err(format!("refused: resolves outside the export (to {})", resolved.display()));
    }
    let meta = std::fs::metadata(&resolved).map_err(|e| format!("unreadable: {e}"))?;
    if !meta.is_file() {
        return Err("refused: not a regular file (a folder, device or FIFO)".to_owned());
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Every file under `dir`, sorted.
    fn files(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_owned()];
        while let Some(d) = stack.pop() {
            for p in std::fs::read_dir(&d).unwrap().map(|e| e.unwrap().path()) {
                if p.is_dir() { stack.push(p) } else { out.push(p) }
            }
        }
        out.sort();
        out
    }

    /// Without `/proc` (a container that does not mount it) the nameless
    /// copy cannot be linked by its number: it is copied to a named
    /// temporary file beside its destination, which is then renamed. The
    /// copy lands whole, an existing copy is kept, and no temporary file is
    /// left, as with `/proc`.
    #[test]
    fn a_retained_copy_without_proc_lands_whole_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        // Larger than a read, not a multiple of it.
        let bytes: Vec<u8> = (0..3_000_017u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let source = dir.path().join("photo.jpg");
        std::fs::write(&source, &bytes).unwrap();
        #[cfg(target_os = "linux")]
        assert!(
            matches!(Retaining::new(dir.path()).unwrap(), Retaining::Nameless(_)),
            "the test folder's file system makes nameless files, so the fallback is the one tested"
        );
        for (i, proc_fd) in
            [Path::new("/nonexistent/proc/self/fd"), Path::new(PROC_FD)].into_iter().enumerate()
        {
            let retain = dir.path().join(format!("kept-{i}"));
            let read = read_media_via(&source, Some(&retain), proc_fd).unwrap();
            let hex = read.sha256.to_hex();
            let dest = retain.join(&hex[0..2]).join(&hex[2..4]).join(&hex);
            assert_eq!(read.retained.as_deref(), Some(dest.as_path()), "{proc_fd:?}");
            assert_eq!(std::fs::read(&dest).unwrap(), bytes, "{proc_fd:?}");
            assert_eq!(files(&retain), std::slice::from_ref(&dest), "{proc_fd:?}");
            // Again: the copy there is kept, nothing else is left.
            let again = read_media_via(&source, Some(&retain), proc_fd).unwrap();
            assert_eq!(again.retained.as_deref(), Some(dest.as_path()));
            assert_eq!(files(&retain), std::slice::from_ref(&dest), "{proc_fd:?}");
            assert_eq!(std::fs::read(&dest).unwrap(), bytes);
        }
    }

    #[test]
    fn media_paths_stay_inside_the_export() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("export");
        std::fs::create_dir_all(root.join("photos")).unwrap();
        std::fs::write(root.join("photos/a.jpg"), b"x").unwrap();
        std::fs::write(dir.path().join("secret.txt"), b"s").unwrap();
        let inside = confine(&root, "photos/a.jpg").unwrap();
        assert_eq!(inside, root.join("photos/a.jpg").canonicalize().unwrap());
        assert!(confine(&root, "photos/../photos/a.jpg").is_ok());
        assert!(confine(&root, "photos/missing.jpg").is_ok(), "missing files are the read's to report");
        for bad in ["../secret.txt", "photos/../../secret.txt", "/etc/passwd", "photos"] {
            let e = confine(&root, bad).unwrap_err();
            assert!(e.starts_with("refused"), "{bad}: {e}");
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.path().join("secret.txt"), root.join("photos/link.jpg")).unwrap();
            assert!(confine(&root, "photos/link.jpg").unwrap_err().contains("outside the export"));
            std::os::unix::fs::symlink("/dev/zero", root.join("photos/zero.jpg")).unwrap();
            assert!(confine(&root, "photos/zero.jpg").unwrap_err().starts_with("refused"));
        }
    }
}
