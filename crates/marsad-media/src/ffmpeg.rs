//! Running `ffmpeg` and `ffprobe` on untrusted files: a wall-clock
//! timeout (a watchdog kills the process), a bounded tail of its error
//! output for messages, and the caller reading standard output in fixed-size
//! pieces, so memory never depends on the input.

use std::io::Read;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::MediaError;

/// Bytes of a tool's error output kept for error messages.
const STDERR_TAIL: usize = 4096;

/// A running `ffmpeg` or `ffprobe`.
pub(crate) struct Running {
    tool: &'static str,
    child: Arc<Mutex<Child>>,
    pub(crate) stdout: ChildStdout,
    stderr: Option<JoinHandle<String>>,
    stop_watchdog: Option<mpsc::Sender<()>>,
    watchdog: Option<JoinHandle<()>>,
    timed_out: Arc<AtomicBool>,
    timeout: Duration,
}

/// How a run ended.
pub(crate) struct Finished {
    pub success: bool,
    pub stderr: String,
}

impl Running {
    /// Starts `tool` with `args` (the input path is among them).
    pub(crate) fn start(
        tool: &'static str,
        args: &[std::ffi::OsString],
        timeout: Duration,
    ) -> Result<Self, MediaError> {
        let mut child = Command::new(tool)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    MediaError::ToolMissing { tool }
                } else {
                    MediaError::Tool { tool, message: format!("cannot start: {e}") }
                }
            })?;
        let (Some(stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take()) else {
            let _ = child.kill();
            return Err(MediaError::Tool { tool, message: "no pipes to the process".to_owned() });
        };
        let stderr = std::thread::spawn(move || {
            let mut tail = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                tail.extend_from_slice(&buf[..n]);
                if tail.len() > 2 * STDERR_TAIL {
                    tail.drain(..tail.len() - STDERR_TAIL);
                }
            }
            let start = tail.len().saturating_sub(STDERR_TAIL);
            String::from_utf8_lossy(&tail[start..]).trim().to_owned()
        });
        let child = Arc::new(Mutex::new(child));
        let timed_out = Arc::new(AtomicBool::new(false));
        let (stop, stopped) = mpsc::channel::<()>();
        let watchdog = {
            let child = Arc::clone(&child);
            let timed_out = Arc::clone(&timed_out);
            std::thread::spawn(move || {
                if let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(timeout) {
                    timed_out.store(true, Ordering::SeqCst);
                    if let Ok(mut c) = child.lock() {
                        let _ = c.kill();
                    }
                }
            })
        };
        Ok(Running {
            tool,
            child,
            stdout,
            stderr: Some(stderr),
            stop_watchdog: Some(stop),
            watchdog: Some(watchdog),
            timed_out,
            timeout,
        })
    }

    /// Fills `buf` from standard output as far as it goes; returns the bytes
    /// read (fewer than `buf.len()` only at the end of output).
    pub(crate) fn read_fill(&mut self, buf: &mut [u8]) -> Result<usize, MediaError> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.stdout.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(MediaError::Tool {
                        tool: self.tool,
                        message: format!("reading output: {e}"),
                    });
                }
            }
        }
        Ok(filled)
    }

    /// Stops the process early (the caller has what it needs, or a limit
    /// was reached).
    pub(crate) fn kill(&self) {
        if let Ok(mut c) = self.child.lock() {
            let _ = c.kill();
        }
    }

    /// Waits for the process; an error if the watchdog killed it.
    pub(crate) fn finish(mut self) -> Result<Finished, MediaError> {
        // Drain what is left so the process is not blocked on a full pipe.
        let _ = std::io::copy(&mut self.stdout, &mut std::io::sink());
        let status = self
            .child
            .lock()
            .map_err(|_| MediaError::Tool { tool: self.tool, message: "lock poisoned".to_owned() })?
            .wait();
        if let Some(stop) = self.stop_watchdog.take() {
            let _ = stop.send(());
        }
        if let Some(w) = self.watchdog.take() {
            let _ = w.join();
        }
        let stderr = self.stderr.take().and_then(|h| h.join().ok()).unwrap_or_default();
        if self.timed_out.load(Ordering::SeqCst) {
            return Err(MediaError::Timeout { tool: self.tool, seconds: self.timeout.as_secs_f64() });
        }
        let status =
            status.map_err(|e| MediaError::Tool { tool: self.tool, message: format!("waiting: {e}") })?;
        Ok(Finished { success: status.success(), stderr })
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop_watchdog.take() {
            if let Ok(mut c) = self.child.lock() {
                let _ = c.kill();
                let _ = c.wait();
            }
            let _ = stop.send(());
        }
    }
}

/// What `ffprobe` says of the first video stream.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct VideoStream {
    pub width: u32,
    pub height: u32,
    /// `avg_frame_rate`, or `r_frame_rate` when that is 0 (as vpdq does).
    pub fps: f64,
}

#[derive(serde::Deserialize)]
struct Probe {
    #[serde(default)]
    streams: Vec<ProbeStream>,
}

#[derive(serde::Deserialize)]
struct ProbeStream {
    width: Option<u32>,
    height: Option<u32>,
    avg_frame_rate: Option<String>,
    r_frame_rate: Option<String>,
}

fn rate(text: Option<&str>) -> Option<f64> {
    let text = text?;
    let (n, d) = text.split_once('/').unwrap_or((text, "1"));
    let (n, d): (f64, f64) = (n.trim().parse().ok()?, d.trim().parse().ok()?);
    (n > 0.0 && d > 0.0).then_some(n / d).filter(|r| r.is_finite())
}

/// Probes the first video stream of `path`.
pub(crate) fn probe_video(path: &Path, timeout: Duration) -> Result<VideoStream, MediaError> {
    let args = arguments(
        &[
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=width,height,avg_frame_rate,r_frame_rate",
            "-of",
            "json",
            "-i",
        ],
        path,
        &[],
    );
    let mut run = Running::start("ffprobe", &args, timeout)?;
    let mut out = Vec::new();
    (&mut run.stdout)
        .take(1 << 20)
        .read_to_end(&mut out)
        .map_err(|e| MediaError::Tool { tool: "ffprobe", message: format!("reading output: {e}") })?;
    let done = run.finish()?;
    if !done.success {
        return Err(MediaError::Undecodable {
            message: first_line(&done.stderr, "ffprobe could not read the file"),
        });
    }
    let probe: Probe = serde_json::from_slice(&out)
        .map_err(|e| MediaError::Tool { tool: "ffprobe", message: format!("unexpected output: {e}") })?;
    let Some(s) = probe.streams.first() else {
        return Err(MediaError::NoStream { kind: "video" });
    };
    let (Some(width), Some(height)) = (s.width.filter(|&w| w > 0), s.height.filter(|&h| h > 0)) else {
        return Err(MediaError::Undecodable { message: "the video stream has no frame size".to_owned() });
    };
    let fps =
        rate(s.avg_frame_rate.as_deref()).or_else(|| rate(s.r_frame_rate.as_deref())).ok_or_else(|| {
            MediaError::Undecodable { message: "the video stream has no frame rate".to_owned() }
        })?;
    Ok(VideoStream { width, height, fps })
}

/// The container's duration in seconds, if it says.
pub(crate) fn duration(path: &Path, timeout: Duration) -> Option<f64> {
    let args =
        arguments(&["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", "-i"], path, &[]);
    let mut run = Running::start("ffprobe", &args, timeout).ok()?;
    let mut out = Vec::new();
    (&mut run.stdout).take(4096).read_to_end(&mut out).ok()?;
    let done = run.finish().ok()?;
    if !done.success {
        return None;
    }
    String::from_utf8_lossy(&out).trim().parse::<f64>().ok().filter(|d| d.is_finite() && *d > 0.0)
}

/// The only protocols a decoder may open: the file named, and the pipe
/// marsad reads. No network, whatever the file says.
const PROTOCOLS: &str = "file,pipe";

/// The only demuxers a decoder may use: containers that hold their media
/// in the one file. Playlists and scripts that open other resources (HLS,
/// DASH, concat, image2 patterns, …) are refused: a 120-byte playlist named
/// `.mp4` would otherwise read other files, or stall on a live stream.
const DEMUXERS: &str = "mov,matroska,webm,avi,flv,mpegts,mpeg,asf,ogg,m4v,h264,hevc,mp3,wav,w64,flac,aac,aiff,caf,amr,ac3,eac3,wv,ape,gif,gif_pipe";

/// `before`, then the input, then `after`. The input is given as a `file:`
/// URL of its absolute path, so that a path such as `http://…` (a folder
/// named `http:` in an export) is never taken for a network address, and
/// it is preceded by the protocol and demuxer whitelists (an input option:
/// `before` must end with `-i`).
pub(crate) fn arguments(before: &[&str], path: &Path, after: &[&str]) -> Vec<std::ffi::OsString> {
    let (i, opts) = match before.split_last() {
        Some((&"-i", opts)) => (Some("-i"), opts),
        _ => (None, before),
    };
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut input = std::ffi::OsString::from("file:");
    input.push(absolute.as_os_str());
    opts.iter()
        .map(|s| s.into())
        .chain(["-protocol_whitelist", PROTOCOLS, "-format_whitelist", DEMUXERS].map(Into::into))
        .chain(i.map(Into::into))
        .chain([input])
        .chain(after.iter().map(|s| s.into()))
        .collect()
}

/// The most telling line of a tool's error output.
pub(crate) fn first_line(stderr: &str, fallback: &str) -> String {
    stderr
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(|l| l.chars().take(300).collect())
        .unwrap_or_else(|| fallback.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_input_is_a_file_url_behind_the_whitelists() {
        let args = arguments(&["-v", "error", "-i"], Path::new("http://127.0.0.1:9/x.mp4"), &["-f", "null"]);
        let args: Vec<String> = args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
        let i = args.iter().position(|a| a == "-i").unwrap_or(usize::MAX);
        let input = &args[i + 1];
        assert!(input.starts_with("file:/"), "{args:?}");
        assert!(input.ends_with("/http:/127.0.0.1:9/x.mp4"), "{args:?}");
        let w = args.iter().position(|a| a == "-protocol_whitelist").unwrap_or(usize::MAX);
        assert!(w < i && args[w + 1] == "file,pipe", "{args:?}");
        let f = args.iter().position(|a| a == "-format_whitelist").unwrap_or(usize::MAX);
        assert!(f < i && !args[f + 1].split(',').any(|d| ["hls", "dash", "concat", "image2"].contains(&d)));
        assert_eq!(&args[args.len() - 2..], ["-f", "null"]);
    }

    #[test]
    fn rates() {
        assert_eq!(rate(Some("30/1")), Some(30.0));
        assert_eq!(rate(Some("30000/1001")), Some(30000.0 / 1001.0));
        assert_eq!(rate(Some("0/0")), None);
        assert_eq!(rate(Some("25")), Some(25.0));
        assert_eq!(rate(None), None);
    }
}
