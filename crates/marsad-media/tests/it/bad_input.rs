//! Hostile and broken files: a clear error, bounded time and memory, never
//! a panic.

use std::time::{Duration, Instant};

use marsad_media::video::{VpdqOptions, hash_file};
use marsad_media::{Limits, MediaError, MediaFingerprinter, audio::fingerprint_file};

fn limits() -> Limits {
    Limits { timeout: Duration::from_secs(20), ..Limits::default() }
}

#[test]
fn empty_and_junk_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.mp4");
    std::fs::write(&empty, b"").unwrap();
    let junk = dir.path().join("junk.mp3");
    std::fs::write(
        &junk,
        (0..50_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect::<Vec<_>>(),
    )
    .unwrap();
    for path in [&empty, &junk] {
        let v = hash_file(path, &VpdqOptions::default(), &limits());
        assert!(
            matches!(v, Err(MediaError::Undecodable { .. } | MediaError::NoStream { .. })),
            "{}: {v:?}",
            path.display()
        );
        let a = fingerprint_file(path, 120, &limits());
        assert!(
            matches!(a, Err(MediaError::Undecodable { .. } | MediaError::NoStream { .. })),
            "{}: {a:?}",
            path.display()
        );
    }
    let missing = dir.path().join("missing.mp4");
    assert!(matches!(hash_file(&missing, &VpdqOptions::default(), &limits()), Err(MediaError::Io(_))));
}

#[test]
fn truncated_and_corrupt_video_is_refused_or_partial() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.mp4");
    crate::ffmpeg_generate(
        &good,
        &["-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=4", "-pix_fmt", "yuv420p"],
    );
    let bytes = std::fs::read(&good).unwrap();
    // Cut before the index (mp4 keeps it at the end by default): unreadable.
    let cut = dir.path().join("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let err = hash_file(&cut, &VpdqOptions::default(), &limits()).unwrap_err();
    assert!(matches!(err, MediaError::Undecodable { .. }), "{err:?}");
    assert!(!err.to_string().is_empty());
    // Garbage written over the middle: frames that decode are hashed, or a
    // clear error; never a panic.
    let mut corrupt = bytes.clone();
    let mid = corrupt.len() / 3;
    for b in &mut corrupt[mid..mid + 4000] {
        *b ^= 0x5a;
    }
    let bad = dir.path().join("corrupt.mp4");
    std::fs::write(&bad, &corrupt).unwrap();
    match hash_file(&bad, &VpdqOptions::default(), &limits()) {
        Ok(features) => assert!(!features.is_empty()),
        Err(e) => assert!(matches!(e, MediaError::Undecodable { .. }), "{e:?}"),
    }
}

#[test]
fn a_video_that_never_ends_stops_at_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    // A stream with no end: ffmpeg's generator writing forever into a FIFO.
    let fifo = dir.path().join("endless.ts");
    let status = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(status.success());
    let mut writer = std::process::Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-re",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=160x120:rate=25",
            "-f",
            "mpegts",
        ])
        .arg(&fifo)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start ffmpeg");
    // The FIFO is not a regular file: the check refuses it at once.
    let refused = hash_file(&fifo, &VpdqOptions::default(), &limits());
    assert!(matches!(refused, Err(MediaError::Io(_))), "{refused:?}");
    let _ = writer.kill();
    let _ = writer.wait();

    // A file whose stream runs longer than the limit: stopped there.
    let long = dir.path().join("long.mkv");
    crate::ffmpeg_generate(
        &long,
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=64x48:rate=5:duration=120",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
        ],
    );
    let tight = Limits { max_video_seconds: 10.0, ..limits() };
    let started = Instant::now();
    let err = hash_file(&long, &VpdqOptions::default(), &tight).unwrap_err();
    assert!(matches!(err, MediaError::TooLarge(_)), "{err:?}");
    assert!(err.to_string().contains("longer than 10"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(20));

    // A decoder that takes too long is killed by the watchdog.
    let slow = Limits { timeout: Duration::from_millis(200), ..limits() };
    let started = Instant::now();
    let err = hash_file(&long, &VpdqOptions { seconds_per_hash: 0.0, downsample: None }, &slow);
    assert!(matches!(err, Err(MediaError::Timeout { .. }) | Ok(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn oversized_frames_are_refused_before_decoding() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.mp4");
    crate::ffmpeg_generate(
        &big,
        &["-f", "lavfi", "-i", "color=c=blue:size=1920x1080:rate=1:duration=1", "-pix_fmt", "yuv420p"],
    );
    let tight = Limits { max_frame_pixels: 1_000_000, ..limits() };
    let err = hash_file(&big, &VpdqOptions::default(), &tight).unwrap_err();
    assert!(err.to_string().contains("1920x1080"), "{err}");
}

#[test]
fn too_short_audio_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let short = dir.path().join("short.wav");
    crate::ffmpeg_generate(&short, &["-f", "lavfi", "-i", "sine=d=1"]);
    let err = fingerprint_file(&short, 120, &limits()).unwrap_err();
    assert!(err.to_string().contains("too short"), "{err}");
    // A video without audio has no audio stream.
    let silent = dir.path().join("silent.mp4");
    crate::ffmpeg_generate(&silent, &["-f", "lavfi", "-i", "testsrc=size=64x48:rate=5:duration=2"]);
    assert!(matches!(fingerprint_file(&silent, 120, &limits()), Err(MediaError::NoStream { kind: "audio" })));
}

#[test]
fn the_fingerprinter_reports_errors_as_text() {
    use marsad_ingest::Fingerprinter;
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.jpg");
    std::fs::write(&junk, b"not an image at all").unwrap();
    let fp = MediaFingerprinter::default();
    let err = fp.media(marsad_core::MediaKind::Image, &junk, Some(b"not an image at all")).unwrap_err();
    assert!(err.contains("not recognised"), "{err}");
    assert!(fp.media(marsad_core::MediaKind::Document, &junk, None).unwrap().is_empty());
    assert!(fp.text("   ").is_empty());
    assert_eq!(fp.text("نص قصير").len(), 1);
}

/// Runs ffmpeg with `args` (required: the test fails loudly without it).
fn ffmpeg(args: &[&str]) {
    let status = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y"])
        .args(args)
        .status()
        .expect("ffmpeg is required by this test (apt-get install ffmpeg)");
    assert!(status.success(), "ffmpeg {args:?}");
}

fn every_frame() -> VpdqOptions {
    VpdqOptions { seconds_per_hash: 0.0, downsample: None }
}

#[test]
fn a_video_changing_resolution_mid_stream_keeps_the_first_size() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("a.ts");
    let second = dir.path().join("b.ts");
    // Ten frames at 320×240, then ten at 160×96 of other content, in one
    // MPEG-TS stream (segments concatenated, as HLS does).
    for (out, src) in [(&first, "testsrc2=s=320x240:r=10:d=1"), (&second, "mandelbrot=s=160x96:r=10")] {
        ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            src,
            "-frames:v",
            "10",
            "-c:v",
            "libx264",
            "-g",
            "5",
            "-bf",
            "0",
            "-pix_fmt",
            "yuv420p",
            "-f",
            "mpegts",
            out.to_str().unwrap(),
        ]);
    }
    let joined = dir.path().join("joined.ts");
    let mut bytes = std::fs::read(&first).unwrap();
    bytes.extend(std::fs::read(&second).unwrap());
    std::fs::write(&joined, bytes).unwrap();

    let all = hash_file(&joined, &every_frame(), &limits()).unwrap();
    // One hash per frame: none made of misaligned bytes.
    assert_eq!(all.len(), 20, "frames {}", all.len());
    let a = hash_file(&first, &every_frame(), &limits()).unwrap();
    for (x, y) in all[..10].iter().zip(&a) {
        assert_eq!(x.hash, y.hash, "the first part is hashed as on its own");
    }
    // The later frames, scaled to the first size, hash close to the second
    // part scaled alike.
    let b = hash_file(&second, &VpdqOptions { downsample: Some((320, 240)), ..every_frame() }, &limits())
        .unwrap();
    for (x, y) in all[10..].iter().zip(&b) {
        assert!(x.hash.hamming(&y.hash) <= 16, "frame {}: {}", x.frame_number, x.hash.hamming(&y.hash));
    }
}

#[test]
fn an_animated_gif_keeps_its_pdq_when_its_vpdq_fails() {
    let dir = tempfile::tempdir().unwrap();
    let gif = dir.path().join("anim.gif");
    ffmpeg(&["-f", "lavfi", "-i", "testsrc2=s=400x300:r=5:d=1", gif.to_str().unwrap()]);
    let bytes = std::fs::read(&gif).unwrap();
    // Frames over the video frame limit: vPDQ refuses them.
    let cfg = marsad_media::FingerprintConfig {
        limits: Limits { max_frame_pixels: 100 * 100, ..limits() },
        ..marsad_media::FingerprintConfig::default()
    };
    let fps = MediaFingerprinter::new(cfg).image(&gif, &bytes).unwrap();
    // marsad's own PDQ of the first frame, and python-threatexchange's (of
    // its palette indices: ffmpeg writes palette GIFs).
    let kinds: Vec<_> = fps.iter().map(|f| (f.signal_type, f.variant.is_some())).collect();
    assert_eq!(
        kinds,
        [(marsad_core::SignalType::Pdq, false), (marsad_core::SignalType::Pdq, true)],
        "the first frame's PDQ is kept"
    );
    // Within the limits the vPDQ is computed too.
    let fps = MediaFingerprinter::default().image(&gif, &bytes).unwrap();
    assert_eq!(fps.len(), 3);
    assert_eq!(fps.iter().filter(|f| f.signal_type == marsad_core::SignalType::Vpdq).count(), 1);
}
