//! `marsad hash …` and `marsad text normalize`: output formats, agreement
//! with the reference tools (md5sum, sha256sum, fpcalc, Meta's vectors),
//! bad input.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::support::*;

fn conformance() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance");
    assert!(dir.join("pdq/expected.csv").is_file(), "shared/conformance missing at {}", dir.display());
    dir
}

/// Runs marsad with stdin.
fn with_stdin(args: &[&str], input: &[u8]) -> std::process::Output {
    let mut child = marsad()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn marsad");
    child.stdin.take().expect("stdin").write_all(input).expect("write stdin");
    child.wait_with_output().expect("wait")
}

fn expected_rows(csv: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(csv)
        .expect("read csv")
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (head, file) = l.rsplit_once(',').expect("row");
            (file.to_owned(), head.to_owned())
        })
        .collect()
}

#[test]
fn pdq_prints_hash_quality_file_as_the_reference() {
    let base = conformance().join("pdq");
    let rows: Vec<_> = expected_rows(&base.join("expected.csv"))
        .into_iter()
        .filter(|(f, _)| f.ends_with(".png"))
        .take(12)
        .collect();
    let files: Vec<String> =
        rows.iter().map(|(f, _)| base.join("images").join(f).display().to_string()).collect();
    let mut args = vec!["hash", "pdq"];
    args.extend(files.iter().map(String::as_str));
    let o = marsad().args(&args).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), rows.len());
    for ((file, want), (line, given)) in rows.iter().zip(lines.iter().zip(&files)) {
        // FILE exactly as given, after HASH,QUALITY as the reference prints them.
        assert_eq!(*line, format!("{want},{given}"), "{file}");
    }
}

#[test]
fn dihedral_prints_eight_hashes_then_quality_and_file() {
    let base = conformance().join("pdq");
    let rows: Vec<_> = expected_rows(&base.join("expected_dihedral.csv"))
        .into_iter()
        .filter(|(f, _)| f.ends_with(".png"))
        .take(4)
        .collect();
    for (file, want) in rows {
        let path = base.join("images").join(&file);
        let o = marsad().args(["hash", "pdq", "--dihedral"]).arg(&path).output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(stdout(&o).trim_end(), format!("{want},{}", path.display()));
        assert_eq!(want.split(',').count(), 9);
    }
}

#[test]
fn cpp_tool_mode_downsamples_large_images() {
    let base = conformance().join("pdq/images");
    let file = std::fs::read_dir(&base)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("1920x1080"))
        .expect("a 1920x1080 image in the vectors");
    let plain = marsad().args(["hash", "pdq"]).arg(&file).output().unwrap();
    let cpp = marsad().args(["hash", "pdq", "--cpp-tool"]).arg(&file).output().unwrap();
    assert!(plain.status.success() && cpp.status.success());
    let h = |o: &std::process::Output| stdout(o).split(',').next().unwrap().to_owned();
    let (a, b) = (h(&plain), h(&cpp));
    let d = marsad_hash::pdq::PdqHash::from_hex(&a)
        .unwrap()
        .hamming(&marsad_hash::pdq::PdqHash::from_hex(&b).unwrap());
    // Nearest-neighbour resizing changes a few bits, not the picture.
    assert!(d <= 40, "distance {d} between full-resolution and C++-tool hashes");
}

#[test]
fn bad_files_are_named_and_the_rest_still_hashed() {
    let dir = tempfile::tempdir().unwrap();
    let good = conformance().join("pdq/images/real_astronaut.png");
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not an image").unwrap();
    let empty = dir.path().join("empty.png");
    std::fs::write(&empty, b"").unwrap();
    let missing = dir.path().join("missing.png");
    let o = marsad().args(["hash", "pdq"]).arg(&text).arg(&good).arg(&empty).arg(&missing).output().unwrap();
    assert!(!o.status.success());
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.contains("real_astronaut.png"));
    let err = stderr(&o);
    for f in [&text, &empty, &missing] {
        assert!(err.contains(&f.display().to_string()), "{err}");
    }
    assert!(err.contains("3 of 4 files could not be hashed"), "{err}");
}

#[test]
fn a_folder_means_every_file_under_it_in_name_order() {
    let dir = tempfile::tempdir().unwrap();
    let src = conformance().join("pdq/images");
    for (i, name) in ["real_camera.png", "real_coins.png", "real_brick.png"].iter().enumerate() {
        let sub = dir.path().join(if i == 2 { "b/inner" } else { "a" });
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::copy(src.join(name), sub.join(name)).unwrap();
    }
    let o = marsad().args(["hash", "pdq", "-j", "1"]).arg(dir.path()).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let files: Vec<String> = stdout(&o).lines().map(|l| l.rsplit(',').next().unwrap().to_owned()).collect();
    let rel: Vec<String> =
        files.iter().map(|f| Path::new(f).strip_prefix(dir.path()).unwrap().display().to_string()).collect();
    assert_eq!(rel, ["a/real_camera.png", "a/real_coins.png", "b/inner/real_brick.png"]);
}

#[test]
fn md5_and_sha256_print_as_the_coreutils_do() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.bin");
    let b = dir.path().join("b b.bin");
    std::fs::write(&a, b"").unwrap();
    std::fs::write(&b, (0..300_000u32).map(|i| i as u8).collect::<Vec<_>>()).unwrap();
    for (cmd, tool) in [("md5", "md5sum"), ("sha256", "sha256sum")] {
        let ours = marsad().args(["hash", cmd]).arg(&a).arg(&b).output().unwrap();
        let theirs = std::process::Command::new(tool).arg(&a).arg(&b).output().unwrap();
        assert!(ours.status.success());
        assert_eq!(stdout(&ours), String::from_utf8_lossy(&theirs.stdout), "{cmd}");
    }
}

#[test]
fn text_normalize_filters_stdin_line_by_line() {
    let o = with_stdin(&["text", "normalize"], "الـسَّلامُ   عليكم\r\nHELLO, World!\n\n٢٠١٧ أإآ".as_bytes());
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "السلام عليكم\nhello world\n\n2017 ااا\n");
    let bad = with_stdin(&["text", "normalize"], b"ok\n\xff\xfe\n");
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("line 2"), "{}", stderr(&bad));
}

#[test]
fn hash_text_prints_normalized_text_and_signature() {
    let o = marsad().args(["hash", "text", "بيانٌ   رقم ٣"]).output().unwrap();
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["normalized"], "بيان رقم 3");
    assert_eq!(v["words"], 3);
    assert_eq!(v["permutations"], 128);
    let sig = v["signature"].as_str().unwrap();
    assert_eq!(sig.len(), 128 * 8);
    // The same text, differently written, has the same signature.
    let o2 = with_stdin(&["hash", "text", "--permutations", "128"], "بيان رقم 3".as_bytes());
    let v2: serde_json::Value = serde_json::from_str(stdout(&o2).trim()).unwrap();
    assert_eq!(v2["signature"], v["signature"]);
    let lines = with_stdin(&["hash", "text", "--lines", "--permutations", "16"], "a b c d\nنص\n".as_bytes());
    assert_eq!(stdout(&lines).lines().count(), 2);
}

#[test]
fn vpdq_prints_frame_quality_hash_timestamp() {
    let video = conformance().join("vpdq/videos/chair-20-sd-bar.mp4");
    let o = marsad().args(["hash", "vpdq"]).arg(&video).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 21);
    for (i, line) in lines.iter().enumerate() {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 4, "{line}");
        assert_eq!(f[0], (i * 30).to_string());
        assert!(f[1].parse::<u8>().unwrap() <= 100);
        assert!(marsad_hash::pdq::PdqHash::from_hex(f[2]).is_ok());
        assert_eq!(f[3], format!("{:.3}", i as f64), "{line}");
    }
    let every = marsad().args(["hash", "vpdq", "--seconds-per-hash", "0"]).arg(&video).output().unwrap();
    assert_eq!(stdout(&every).lines().count(), 614);
    let bad = marsad().args(["hash", "vpdq"]).arg(conformance().join("pdq/expected.csv")).output().unwrap();
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("expected.csv"), "{}", stderr(&bad));
}

#[test]
fn audio_prints_what_fpcalc_prints() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tone.ogg");
    let made = std::process::Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=300:beep_factor=2:duration=12",
            "-c:a",
            "libvorbis",
        ])
        .arg(&file)
        .status()
        .expect("ffmpeg is needed (scripts/test installs it)");
    assert!(made.success());
    let o = marsad().args(["hash", "audio"]).arg(&file).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let ours: Vec<&str> = out.lines().collect();
    assert_eq!(ours[0], format!("FILE={}", file.display()));
    let reference =
        std::process::Command::new("fpcalc").arg("-raw").arg(&file).output().expect("fpcalc is needed");
    let reference = String::from_utf8_lossy(&reference.stdout);
    let fp_line = reference.lines().find(|l| l.starts_with("FINGERPRINT=")).expect("fpcalc fingerprint");
    let dur_line = reference.lines().find(|l| l.starts_with("DURATION=")).expect("fpcalc duration");
    assert_eq!(ours[1], dur_line);
    assert_eq!(ours[2], fp_line);
}

#[test]
fn json_output_carries_what_the_lines_carry() {
    let images = conformance().join("pdq/images");
    let files: Vec<PathBuf> =
        ["real_chelsea.png", "real_chelsea_q75.jpg"].iter().map(|f| images.join(f)).collect();
    let lines = |args: &[&str]| -> Vec<String> {
        let o = marsad().args(args).args(&files).output().unwrap();
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        stdout(&o).lines().map(str::to_owned).collect()
    };
    let csv = lines(&["hash", "pdq", "--dihedral"]);
    let json = lines(&["--json", "hash", "pdq", "--dihedral"]);
    assert_eq!(csv.len(), 2);
    for (c, j) in csv.iter().zip(&json) {
        let v: serde_json::Value = serde_json::from_str(j).unwrap();
        let fields: Vec<&str> = c.split(',').collect();
        let dihedral: Vec<&str> =
            v["dihedral"].as_array().unwrap().iter().map(|h| h.as_str().unwrap()).collect();
        assert_eq!(dihedral, fields[..8]);
        assert_eq!(v["hash"], fields[0]);
        assert_eq!(v["quality"].to_string(), fields[8]);
        assert_eq!(v["file"], fields[9]);
    }
    for algorithm in ["md5", "sha256"] {
        let csv = lines(&["hash", algorithm]);
        let json = lines(&["--json", "hash", algorithm]);
        for (c, j) in csv.iter().zip(&json) {
            let v: serde_json::Value = serde_json::from_str(j).unwrap();
            let (hash, file) = c.split_once("  ").unwrap();
            assert_eq!((v[algorithm].as_str(), v["file"].as_str()), (Some(hash), Some(file)), "{algorithm}");
        }
    }
    let video = conformance().join("vpdq/videos/chair-19-sd-bar.mp4");
    let csv = stdout(&marsad().args(["hash", "vpdq"]).arg(&video).output().unwrap());
    let json = stdout(&marsad().args(["--json", "hash", "vpdq"]).arg(&video).output().unwrap());
    assert!(!csv.is_empty());
    for (c, j) in csv.lines().zip(json.lines()) {
        let v: serde_json::Value = serde_json::from_str(j).unwrap();
        let again = format!(
            "{},{},{},{:.3}",
            v["frame"],
            v["quality"],
            v["hash"].as_str().unwrap(),
            v["timestamp"].as_f64().unwrap()
        );
        assert_eq!(again, c);
    }
    assert_eq!(csv.lines().count(), json.lines().count());
}
