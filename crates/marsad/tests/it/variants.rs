//! Banks made elsewhere still match what is ingested: a palette PNG and a
//! CMYK JPEG are generated here (Pillow), python-threatexchange's PDQ of
//! each is computed on the spot (`pdq_from_file`, the hash HMA banks hold)
//! and put in a bank; ingestion stores that variant beside marsad's own
//! true-colour PDQ and matches it, at ingest and by `matches --rescan`, and
//! every match says `"variant": "pytx"`. The test fails loudly, never
//! skips, when Python, Pillow, pdqhash or threatexchange is missing.

use std::path::Path;

use marsad_core::{SignalType, SignalVariant};
use marsad_hash::pdq::PdqHash;
use marsad_store::prelude::*;
use serde_json::{Value, json};

use crate::support::*;

/// Writes the two images into its folder and prints, per image,
/// `name,pytx hash,pytx quality,Pillow mode`.
const SCRIPT: &str = r#"
import sys, pathlib
import numpy as np
from PIL import Image
from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_file
out = pathlib.Path(sys.argv[1])
h, w = 64, 96
y, x = np.mgrid[0:h, 0:w]
# Palette indices: a smooth diagonal field; colours: in a scrambled order,
# so the indices python-threatexchange hashes and the true colours differ.
im = Image.new("P", (w, h))
im.putdata(((x * 2 + y * 3) % 256).astype(np.uint8).flatten().tolist())
im.putpalette([c for i in range(256) for c in ((i * 151) % 256, 255 - (i * 151) % 256, (i * 97) % 256)])
im.save(out / "palette.png")
# CMYK: python-threatexchange hashes C, M, Y as R, G, B (a negative).
base = (np.sin(x / 7.0) + np.cos(y / 5.0)) * 60 + 128
rgb = np.stack([base, np.roll(base, 9, axis=1), base[::-1]], axis=2)
Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB").convert("CMYK").save(out / "cmyk.jpg", quality=95)
for name in ["palette.png", "cmyk.jpg"]:
    hash, quality = pdq_from_file(out / name)
    print(f"{name},{hash},{quality},{Image.open(out / name).mode}")
"#;

/// One generated image: its file and python-threatexchange's hash of it.
struct Generated {
    name: &'static str,
    pytx: String,
}

/// Generates the images into `dir` and returns python-threatexchange's
/// hashes of them, checking they are the modes meant.
fn generate(dir: &Path) -> Vec<Generated> {
    let out = std::process::Command::new("python3").arg("-c").arg(SCRIPT).arg(dir).output().unwrap_or_else(|e| {
        panic!("running python3 failed ({e}); install Python 3 with `pip install threatexchange pdqhash pillow`")
    });
    assert!(
        out.status.success(),
        "the reference script failed (needs `pip install threatexchange pdqhash pillow`):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout).unwrap();
    let mut got = Vec::new();
    for (line, (name, mode)) in table.lines().zip([("palette.png", "P"), ("cmyk.jpg", "CMYK")]) {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!((f.len(), f[0], f[3]), (4, name, mode), "bad reference line {line:?}");
        got.push(Generated { name, pytx: f[1].to_owned() });
    }
    assert_eq!(got.len(), 2, "{table}");
    got
}

/// marsad's own (true-colour) PDQ of a file, as `marsad hash pdq` prints it.
fn own_hash(file: &Path) -> String {
    let o = marsad().args(["--json", "hash", "pdq"]).arg(file).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    v["hash"].as_str().unwrap().to_owned()
}

/// An export of one channel whose two posts carry the images: the CMYK
/// JPEG as a photo, the palette PNG as a file. Returns the export folder.
fn export_with(dir: &Path, images: &Path) -> std::path::PathBuf {
    let mut e = ChatExport::new(&dir.join("export"), 1_000_000_077, "Variant Channel");
    e.file("photos/cmyk.jpg", &std::fs::read(images.join("cmyk.jpg")).unwrap());
    e.file("files/palette.png", &std::fs::read(images.join("palette.png")).unwrap());
    e.push(json!({"id": 1, "type": "message", "date_unixtime": "1700000000", "photo": "photos/cmyk.jpg",
                  "text": ""}))
        .push(json!({"id": 2, "type": "message", "date_unixtime": "1700000060", "file": "files/palette.png",
                     "mime_type": "image/png", "text": ""}));
    e.write();
    e.dir
}

/// A bank as HMA would build it: python-threatexchange's hashes only.
fn import_hma_bank(db: &Path, dir: &Path, images: &[Generated]) {
    let csv = dir.join("hma.csv");
    let rows: String = images.iter().map(|g| format!("{},{}\n", g.pytx, g.name)).collect();
    std::fs::write(&csv, rows).unwrap();
    let o = run(db, &["bank", "import", "hma", csv.to_str().unwrap(), "--type", "pdq", "--create"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// The generated images with their own hashes, checked far from
/// python-threatexchange's (over the match threshold), so that only the
/// variant can match.
fn images(dir: &Path) -> (std::path::PathBuf, Vec<Generated>) {
    let images = dir.join("images");
    std::fs::create_dir_all(&images).unwrap();
    let generated = generate(&images);
    for g in &generated {
        let own = PdqHash::from_hex(&own_hash(&images.join(g.name))).unwrap();
        let d = own.hamming(&PdqHash::from_hex(&g.pytx).unwrap());
        assert!(
            d > 31,
            "{}: the variants must be far apart for the test to mean anything ({d} bits)",
            g.name
        );
    }
    (images, generated)
}

/// `marsad matches --json`, checked: one match per image, each found by
/// the variant alone, at distance 0 from python-threatexchange's hash.
fn assert_variant_matches(db: &Path, generated: &[Generated]) {
    let o = run(db, &["--json", "matches"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{v}");
    for g in generated {
        let m = rows
            .iter()
            .find(|m| m["value"] == g.pytx.as_str())
            .unwrap_or_else(|| panic!("no match of {}'s python-threatexchange hash in {v}", g.name));
        assert_eq!(m["variant"], "pytx", "{v}");
        assert_eq!((m["signal_type"].as_str(), m["distance"].as_u64()), (Some("pdq"), Some(0)), "{v}");
        assert_eq!(m["labels"]["label"], g.name, "{v}");
        assert!(m["item"]["media"].is_string(), "{v}");
    }
    let text = stdout(&run(db, &["matches"]));
    assert_eq!(text.matches("pdq (pytx)").count(), 2, "{text}");

    // The variant is stored beside marsad's own PDQ, marked.
    let store = open(db);
    for m in rows {
        let sha = marsad_core::Sha256::from_hex(m["item"]["media"].as_str().unwrap()).unwrap();
        let media = store.media(&sha).unwrap().expect("stored");
        let pdq: Vec<_> = media.fingerprints.iter().filter(|f| f.signal_type == SignalType::Pdq).collect();
        assert_eq!(pdq.len(), 2, "{:?}", media.fingerprints);
        assert_eq!(pdq[0].variant, None);
        assert_eq!(
            (pdq[1].variant, pdq[1].value.as_str()),
            (Some(SignalVariant::Pytx), m["value"].as_str().unwrap())
        );
    }
}

#[test]
fn ingest_stores_and_matches_python_threatexchanges_variant() {
    let dir = tempfile::tempdir().unwrap();
    let (images, generated) = images(dir.path());
    let db = dir.path().join("m.db");
    import_hma_bank(&db, dir.path(), &generated);
    let (ok, summary) = ingest_json(&db, "telegram", &export_with(dir.path(), &images), &[]);
    assert!(ok, "{summary}");
    assert_eq!(summary["fingerprint_errors"], 0, "{summary}");
    assert_eq!(summary["matches_added"], 2, "both images match only through the variant: {summary}");
    assert_variant_matches(&db, &generated);
}

#[test]
fn a_rescan_matches_stored_variants_against_a_later_bank() {
    let dir = tempfile::tempdir().unwrap();
    let (images, generated) = images(dir.path());
    let db = dir.path().join("m.db");
    let (ok, summary) = ingest_json(&db, "telegram", &export_with(dir.path(), &images), &[]);
    assert!(ok, "{summary}");
    assert_eq!(summary["matches_added"], 0, "no banks yet: {summary}");
    import_hma_bank(&db, dir.path(), &generated);
    let o = run(&db, &["matches", "--rescan"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("2 new matches"), "{}", stderr(&o));
    assert_variant_matches(&db, &generated);
    let again = run(&db, &["matches", "--rescan"]);
    assert!(stderr(&again).contains("0 new matches"), "{}", stderr(&again));
}
