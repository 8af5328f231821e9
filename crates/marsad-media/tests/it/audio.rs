//! Chromaprint against `fpcalc -raw` (Debian's libchromaprint-tools) on
//! generated audio in the common formats. marsad decodes with ffmpeg and the
//! resampler options fpcalc uses, so the fingerprints should be identical;
//! the acceptance bound is a similarity (1 − 2 × bit error rate) ≥ 0.99.

use std::path::Path;

use marsad_hash::audio::best_alignment;
use marsad_media::Limits;
use marsad_media::audio::{fingerprint_file, parse_raw_text};

fn fpcalc(path: &Path) -> Vec<u32> {
    // fpcalc 1.5.1 with FFmpeg 5 reports "Error decoding audio frame (End of
    // file)" and exits non-zero at the end of every file, after printing the
    // fingerprint: judge it by its output.
    let out = std::process::Command::new("fpcalc")
        .args(["-raw", path.to_str().expect("utf-8 path")])
        .output()
        .expect("cannot run fpcalc: install it (scripts/test does: apt-get install libchromaprint-tools)");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.starts_with("FINGERPRINT=")).expect("fpcalc printed a fingerprint");
    parse_raw_text(line).expect("fpcalc output parses")
}

/// Similarity at offset 0 over the common length, and identical items.
fn compare(a: &[u32], b: &[u32]) -> (f64, usize) {
    let n = a.len().min(b.len());
    let errors: u32 = a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum();
    let identical = a.iter().zip(b).filter(|(x, y)| x == y).count();
    (1.0 - 2.0 * f64::from(errors) / (32.0 * n as f64), identical)
}

/// Sources: a chord with a tremolo, a rising chirp, a
/// melody of beeps, and brown noise; one longer than fpcalc's
/// 120-second cut; stereo, mono and 5.1; 8 to 48 kHz.
const SIGNALS: &[(&str, &str, &str)] = &[
    (
        "chord",
        "aevalsrc=0.3*sin(2*PI*440*t)*(1+0.5*sin(2*PI*3*t))+0.2*sin(2*PI*554.37*t)+0.2*sin(2*PI*659.25*t)|0.3*sin(2*PI*330*t)+0.1*sin(2*PI*880*t*(1+0.01*sin(t))):s=44100:d=25",
        "",
    ),
    ("chirp", "aevalsrc=0.5*sin(2*PI*(80+60*t)*t):s=48000:d=20", "mono"),
    ("beeps", "sine=frequency=523:beep_factor=3:sample_rate=8000:duration=15", "mono"),
    ("long", "anoisesrc=c=brown:a=0.3:r=22050:d=150", ""),
    ("surround", "sine=frequency=311:sample_rate=32000:duration=12", "5.1"),
];

#[test]
fn fingerprints_equal_fpcalc_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let mut report = String::new();
    let mut worst = 1.0f64;
    for (name, source, layout) in SIGNALS {
        let wav = dir.path().join(format!("{name}.wav"));
        let mut args = vec!["-f", "lavfi", "-i", source];
        if *layout == "5.1" {
            args.extend(["-af", "aformat=channel_layouts=5.1"]);
        } else if layout.is_empty() {
            args.extend(["-ac", "2"]);
        }
        crate::ffmpeg_generate(&wav, &args);
        for (ext, codec) in [
            ("wav", None),
            ("mp3", Some("libmp3lame")),
            ("ogg", Some("libvorbis")),
            ("opus", Some("libopus")),
            ("m4a", Some("aac")),
            ("flac", Some("flac")),
        ] {
            let file = if ext == "wav" {
                wav.clone()
            } else {
                let f = dir.path().join(format!("{name}.{ext}"));
                let mut a = vec!["-i", wav.to_str().unwrap(), "-c:a", codec.unwrap_or("copy")];
                if ext == "opus" && *layout == "5.1" {
                    a.extend(["-mapping_family", "1"]);
                }
                crate::ffmpeg_generate(&f, &a);
                f
            };
            let ours = fingerprint_file(&file, 120, &Limits::default())
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let reference = fpcalc(&file);
            assert_eq!(ours.len(), reference.len(), "{name}.{ext}: item count");
            let (similarity, identical) = compare(&ours, &reference);
            report.push_str(&format!("{name}.{ext}\t{}\t{identical}\t{similarity:.5}\n", ours.len()));
            worst = worst.min(similarity);
            assert!(similarity >= 0.99, "{name}.{ext}: similarity {similarity:.4} with fpcalc");
        }
    }
    eprintln!("file\titems\tidentical items\tsimilarity\n{report}worst similarity {worst:.5}");
}

#[test]
fn an_offset_copy_aligns() {
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full.flac");
    let late = dir.path().join("late.mp3");
    // Unrelated audio: a melody, a note every 0.4 s from a fixed walk.
    let melody = |step: u32, tempo: f64| {
        format!("aevalsrc=0.5*sin(2*PI*t*220*pow(2\\,mod(floor(t*{tempo})*{step}\\,12)/12)):s=44100:d=40")
    };
    crate::ffmpeg_generate(
        &full,
        &["-f", "lavfi", "-i", "anoisesrc=c=pink:a=0.4:r=44100:d=40", "-af", "lowpass=3000"],
    );
    // The same audio from second 5, re-encoded lossy.
    crate::ffmpeg_generate(
        &late,
        &["-ss", "5", "-i", full.to_str().unwrap(), "-c:a", "libmp3lame", "-b:a", "96k"],
    );
    let a = fingerprint_file(&full, 0, &Limits::default()).unwrap();
    let b = fingerprint_file(&late, 0, &Limits::default()).unwrap();
    let m = best_alignment(&a, &b, 120, 20).unwrap();
    // 5 s is 40.4 items of 1365/11025 s.
    assert!((39..=41).contains(&m.offset), "offset {}", m.offset);
    assert!(m.similarity() > 0.6, "similarity {}", m.similarity());
    let other = dir.path().join("other.wav");
    crate::ffmpeg_generate(&other, &["-f", "lavfi", "-i", &melody(7, 2.5)]);
    let c = fingerprint_file(&other, 0, &Limits::default()).unwrap();
    let unrelated = best_alignment(&a, &c, 120, 20).unwrap();
    assert!(unrelated.similarity() < 0.3, "unrelated audio scored {}", unrelated.similarity());
}
