//! PDQ against the reference's outputs on the shared conformance images
//! (`shared/conformance/pdq`, see its README for how they were made).
//!
//! PNG decoding is exact, and JPEG goes through Pillow's own library with
//! Pillow's settings, so every PNG and JPEG must match hash, all eight
//! dihedral hashes and quality bit for bit. WebP goes through a different
//! decoder than Pillow's, so its hashes may differ in a few bits; the bounds
//! below are the measured maxima with a little room. Each file is decoded and hashed once (debug
//! builds are slow) and checked against both `expected.csv` and
//! `expected_dihedral.csv`; run with `--nocapture` for the table of
//! non-PNG distances.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use marsad_hash::image::DecodeLimits;
use marsad_hash::pdq::{self, PdqHash};

/// Largest Hamming distance accepted for a WebP file (measured: 0; the
/// bound was set when JPEG was decoded by another decoder than Pillow's and
/// `labelme-subset__q0003.jpg` was 6 bits away).
const MAX_LOSSY_DISTANCE: u32 = 10;
/// Largest quality difference accepted for a non-PNG file (measured: 1).
const MAX_LOSSY_QUALITY_DELTA: i32 = 2;

/// Expected hashes (1 or 8) and quality by file name.
fn read_csv(path: &Path, n_hashes: usize) -> BTreeMap<String, (Vec<PdqHash>, u8)> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let rows: BTreeMap<String, (Vec<PdqHash>, u8)> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            assert_eq!(fields.len(), n_hashes + 2, "bad line {line:?} in {}", path.display());
            let hashes = fields[..n_hashes]
                .iter()
                .map(|h| PdqHash::from_hex(h).expect("expected hash parses"))
                .collect();
            let quality = fields[n_hashes].parse().expect("quality parses");
            (fields[n_hashes + 1].to_string(), (hashes, quality))
        })
        .collect();
    assert!(!rows.is_empty(), "{} has no rows", path.display());
    rows
}

/// PNG and JPEG files must be exact.
fn is_exact(file: &str) -> bool {
    let f = file.to_ascii_lowercase();
    f.ends_with(".png") || f.ends_with(".jpg") || f.ends_with(".jpeg")
}

/// Checks the files of one folder whose position in the CSV is `shard`
/// modulo `shards` (so slow debug builds can spread the folder over test
/// threads); returns (PNG files, non-PNG files) checked.
fn check_folder(
    image_dir: &str,
    plain_csv: &str,
    dihedral_csv: &str,
    shard: usize,
    shards: usize,
) -> (usize, usize) {
    let base = crate::conformance_dir().join("pdq");
    let plain = read_csv(&base.join(plain_csv), 1);
    let dihedral = read_csv(&base.join(dihedral_csv), 8);
    assert_eq!(
        plain.keys().collect::<Vec<_>>(),
        dihedral.keys().collect::<Vec<_>>(),
        "{plain_csv} and {dihedral_csv} list different files"
    );
    let limits = DecodeLimits::default();
    let (mut failures, mut table) = (String::new(), String::new());
    let (mut png, mut lossy) = (0, 0);
    for (file, (want_plain, want_q)) in plain.iter().skip(shard).step_by(shards) {
        let (want_dihedral, want_dq) = &dihedral[file];
        assert_eq!(want_q, want_dq, "{file}: the two CSVs disagree on quality");
        let path = base.join(image_dir).join(file);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let got = pdq::hash_image_bytes_dihedral(&bytes, &limits).unwrap_or_else(|e| panic!("{file}: {e}"));
        let d0 = got.hashes[0].hamming(&want_plain[0]);
        let d: Vec<u32> = got.hashes.iter().zip(want_dihedral).map(|(a, b)| a.hamming(b)).collect();
        let worst = d.iter().copied().max().unwrap_or(0).max(d0);
        let dq = (i32::from(got.quality) - i32::from(*want_q)).abs();
        if is_exact(file) {
            png += 1;
            if worst != 0 || dq != 0 {
                let _ = writeln!(
                    failures,
                    "{file}: distance {d0}, dihedral distances {d:?}, quality {} want {want_q}",
                    got.quality
                );
            }
        } else {
            lossy += 1;
            let _ = writeln!(table, "{file}\t{d0}\t{worst}\t{}\t{want_q}", got.quality);
            if worst > MAX_LOSSY_DISTANCE || dq > MAX_LOSSY_QUALITY_DELTA {
                let _ = writeln!(
                    failures,
                    "{file}: distance {d0}, dihedral distances {d:?}, quality {} want {want_q} \
                     (over the lossy-format bounds)",
                    got.quality
                );
            }
        }
    }
    eprintln!(
        "{image_dir} (part {shard} of {shards}): {png} PNG and JPEG files exact, {lossy} other files:\n\
         file\tdistance\tmax dihedral distance\tquality\texpected quality\n{table}"
    );
    assert!(failures.is_empty(), "{image_dir} mismatches:\n{failures}");
    (png, lossy)
}

#[test]
fn generated_and_photo_images() {
    let (png, lossy) = check_folder("images", "expected.csv", "expected_dihedral.csv", 0, 1);
    assert!(png >= 100, "{png} png and jpeg, {lossy} other: vectors missing?");
}

fn meta(shard: usize) -> (usize, usize) {
    check_folder("meta", "meta/expected.csv", "meta/expected_dihedral.csv", shard, 3)
}

// Meta's folder is mostly large JPEG and WebP files, slow to decode in debug
// builds: three tests so that they run on separate test threads.
#[test]
fn meta_test_images_part_0() {
    let (png, lossy) = meta(0);
    assert!(png + lossy >= 15, "{png} png, {lossy} other: vectors missing?");
}

#[test]
fn meta_test_images_part_1() {
    let (png, lossy) = meta(1);
    assert!(png + lossy >= 15, "{png} png, {lossy} other: vectors missing?");
}

#[test]
fn meta_test_images_part_2() {
    let (png, lossy) = meta(2);
    assert!(png + lossy >= 15, "{png} png, {lossy} other: vectors missing?");
}
