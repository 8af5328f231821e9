//! python-threatexchange's PDQ variant: `marsad hash pdq --compat pytx`
//! and `marsad match` on a palette PNG generated here, whose palette
//! indices (what python-threatexchange hashes) form a smooth field while its
//! colours are scrambled, so the two hashes are far apart.

use std::path::Path;

use serde_json::Value;

use crate::support::*;

const W: u32 = 96;
const H: u32 = 64;

/// Indices: a smooth diagonal field; palette: colours in a scrambled order.
fn write_palette_png(path: &Path) -> Vec<u8> {
    let indices: Vec<u8> = (0..H).flat_map(|y| (0..W).map(move |x| ((x * 2 + y * 3) % 256) as u8)).collect();
    let palette: Vec<u8> = (0..256u32)
        .flat_map(|i| {
            let v = (i * 151 % 256) as u8;
            [v, 255 - v, (i * 97 % 256) as u8]
        })
        .collect();
    let file = std::fs::File::create(path).unwrap();
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), W, H);
    enc.set_color(png::ColorType::Indexed);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_palette(palette);
    enc.write_header().unwrap().write_image_data(&indices).unwrap();
    indices
}

fn ok(db: &Path, args: &[&str]) -> String {
    let o = run(db, args);
    assert!(o.status.success(), "marsad {args:?} failed: {}", stderr(&o));
    stdout(&o)
}

fn hash_of(args: &[&str], file: &Path) -> String {
    let o = marsad().args(["--json", "hash", "pdq"]).args(args).arg(file).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["file"].as_str(), file.to_str(), "same shape as hash pdq --json");
    v["hash"].as_str().unwrap().to_owned()
}

#[test]
fn compat_pytx_hashes_palette_indices_and_match_says_which_variant() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("palette.png");
    let indices = write_palette_png(&png);
    let own = hash_of(&[], &png);
    let pytx = hash_of(&["--compat", "pytx"], &png);
    // python-threatexchange replicates the index plane into R, G, B.
    let grey: Vec<u8> = indices.iter().flat_map(|&i| [i, i, i]).collect();
    let want = marsad_hash::pdq::hash_rgb(W as usize, H as usize, &grey).hash.to_hex();
    assert_eq!(pytx, want, "the variant is the PDQ of the palette indices");
    let d = marsad_hash::pdq::PdqHash::from_hex(&own)
        .unwrap()
        .hamming(&marsad_hash::pdq::PdqHash::from_hex(&pytx).unwrap());
    assert!(d > 31, "the two variants must be far apart for this test to mean anything ({d} bits)");
    // Text output has the same shape as `marsad hash pdq`.
    let o = marsad().args(["hash", "pdq", "--compat", "pytx"]).arg(&png).output().unwrap();
    assert_eq!(
        stdout(&o).trim(),
        format!(
            "{pytx},{},{}",
            stdout(&marsad().args(["hash", "pdq"]).arg(&png).output().unwrap())
                .trim()
                .split(',')
                .nth(1)
                .unwrap(),
            png.display()
        )
    );
    // A file that is neither palette nor CMYK has one hash.
    let rgb = dir.path().join("rgb.png");
    image::RgbImage::from_fn(W, H, |x, y| image::Rgb([(x * 2) as u8, (y * 3) as u8, 7])).save(&rgb).unwrap();
    assert_eq!(hash_of(&[], &rgb), hash_of(&["--compat", "pytx"], &rgb));

    // A bank as HMA would build it holds the variant; another marsad's own hash.
    let db = dir.path().join("m.db");
    let hma = dir.path().join("hma.csv");
    std::fs::write(&hma, format!("{pytx},Example Media Office\n")).unwrap();
    let mine = dir.path().join("mine.csv");
    std::fs::write(&mine, format!("{own},Example Media Office\n")).unwrap();
    ok(&db, &["bank", "import", "hma", hma.to_str().unwrap(), "--type", "pdq", "--create"]);
    ok(&db, &["bank", "import", "mine", mine.to_str().unwrap(), "--type", "pdq", "--create"]);
    let out = ok(&db, &["--json", "match", png.to_str().unwrap()]);
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    let matches = v["matches"].as_array().unwrap();
    let by_bank =
        |b: &str| matches.iter().find(|m| m["bank"] == b).unwrap_or_else(|| panic!("no {b} match in {out}"));
    assert_eq!(by_bank("hma")["variant"], "pytx", "{out}");
    assert_eq!(by_bank("hma")["distance"], 0, "{out}");
    assert!(by_bank("mine").get("variant").is_none(), "own hash: no variant field: {out}");
    assert_eq!(matches.len(), 2, "{out}");
}
