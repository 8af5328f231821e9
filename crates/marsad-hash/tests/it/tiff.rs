//! TIFF modes the `image` crate refuses, against Pillow and
//! python-threatexchange run on the spot: a Python script (Pillow at test
//! time only) writes palette (`P`, `PA`), grey + alpha (`LA`), YCbCr and
//! CIELAB files, uncompressed and LZW / deflate compressed (with the
//! horizontal predictor, in strips of a few rows, as BigTIFF; one
//! big-endian palette file built by hand), and prints
//! per file Pillow's mode, the reference hash of `convert("RGB")` (whose
//! pixels it also writes, compared byte for byte) and
//! python-threatexchange's `pdq_from_bytes` (or `ERR` where it fails), with
//! orientation tags (which Pillow's TIFF plug-in applies). marsad
//! must match both bit for bit, and refuse CIELAB, whose conversion Pillow
//! leaves to LittleCMS. Fails loudly, never skips, when Python, Pillow,
//! pdqhash or threatexchange is missing.

use marsad_hash::image::{self, DecodeError, DecodeLimits};
use marsad_hash::pdq;

const SCRIPT: &str = r#"
import io, sys, pathlib
import numpy as np
from PIL import Image
from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_bytes, _pdq_from_numpy_array
out = pathlib.Path(sys.argv[1])
rng = np.random.default_rng(11)
sizes = [(1, 1), (5, 7), (31, 17), (129, 127), (333, 217)]
i = 0
for (w, h) in sizes:
    y, x = np.mgrid[0:h, 0:w]
    base = (np.sin(x / (3 + i % 11)) + np.cos(y / (5 + i % 7))) * 60 + 128
    img = np.stack([base, np.roll(base, 3, axis=1), base[::-1]], axis=2) + rng.normal(0, 30, (h, w, 3))
    rgb = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")
    # RGB and L, which the `image` crate decodes, for the variants (BigTIFF).
    for mode in ["P", "PA", "LA", "YCbCr", "LAB", "RGB", "L"]:
        if mode == "P":
            im = rgb.quantize(colors=200)
        elif mode == "PA":
            im = rgb.quantize(colors=60).convert("PA")
        elif mode == "LAB":
            im = rgb.convert("LAB")
        else:
            im = rgb.convert(mode)
        # Strips of 7 rows, the horizontal predictor, BigTIFF.
        variants = {
            "raw": {},
            "tiff_lzw": {"compression": "tiff_lzw"},
            "tiff_adobe_deflate": {"compression": "tiff_adobe_deflate"},
            "lzwpred": {"compression": "tiff_lzw", "tiffinfo": {317: 2}},
            "deflate7": {"compression": "tiff_adobe_deflate", "tiffinfo": {278: 7}},
            "big": {"big_tiff": True},
        }
        if mode == "YCbCr":
            # libtiff converts with the ReferenceBlackWhite and
            # YCbCrCoefficients tags; Pillow's own tables ignore them.
            variants["lzwrbw"] = {"compression": "tiff_lzw", "tiffinfo": {532: (16, 235, 128, 240, 128, 240)}}
            variants["lzwcoef"] = {"compression": "tiff_lzw", "tiffinfo": {529: (0.2126, 0.7152, 0.0722)}}
            variants["rawrbw"] = {"tiffinfo": {532: (16, 235, 128, 240, 128, 240)}}
        for comp, kw in variants.items():
            im.save(out / f"t{i:03d}_{w}x{h}_{mode}_{comp}.tif", "TIFF", **kw)
            i += 1
# A big-endian palette file, which Pillow does not write: built by hand.
import struct
w, h = 37, 23
idx = rng.integers(0, 256, (h, w), dtype=np.uint8).tobytes()
cmap = rng.integers(0, 65536, 768).astype(np.uint16)
entries = [(256, 3, 1, w), (257, 3, 1, h), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 3),
           (273, 4, 1, 0), (277, 3, 1, 1), (278, 3, 1, h), (279, 4, 1, len(idx)), (320, 3, 768, 0)]
ifd_len = 2 + 12 * len(entries) + 4
cmap_at = 8 + ifd_len
data_at = cmap_at + 768 * 2
ifd = struct.pack(">H", len(entries))
for tag, typ, count, val in entries:
    if tag == 273:
        val = data_at
    if tag == 320:
        ifd += struct.pack(">HHII", tag, typ, count, cmap_at)
    elif typ == 3:
        ifd += struct.pack(">HHIHH", tag, typ, count, val, 0)
    else:
        ifd += struct.pack(">HHII", tag, typ, count, val)
ifd += struct.pack(">I", 0)
(out / "mm_37x23_P_raw.tif").write_bytes(b"MM\0*" + struct.pack(">I", 8) + ifd + cmap.astype(">u2").tobytes() + idx)
# Pillow applies a TIFF's orientation tag when it loads the file.
for o in range(1, 9):
    for mode in ["RGB", "L", "P", "YCbCr", "LA"]:
        im = rgb.quantize(colors=90) if mode == "P" else rgb.convert(mode)
        for comp in [None, "tiff_lzw"]:
            kw = {"compression": comp} if comp else {}
            im.save(out / f"o{o}_{mode}_{comp or 'raw'}.tif", "TIFF", tiffinfo={274: o}, **kw)
rgb_dir = out / "rgb"
rgb_dir.mkdir()
# Files are opened from memory, as marsad sees them: Pillow opens an
# uncompressed single-strip L or P file given by name through mmap with the
# size already turned for orientations 5 to 8, which scrambles it (a Pillow
# bug, absent from memory, i.e. from python-threatexchange's pdq_from_bytes).
for f in sorted(out.glob("*.tif")):
    im = Image.open(io.BytesIO(f.read_bytes()))
    if im.mode != "LAB":
        (rgb_dir / f.name).write_bytes(im.convert("RGB").tobytes())
    true, trueq = _pdq_from_numpy_array(np.asarray(im.convert("RGB")))
    try:
        tx, txq = pdq_from_bytes(f.read_bytes())
    except Exception:
        tx, txq = "ERR", "ERR"
    print(f"{f.name},{im.mode},{true},{trueq},{tx},{txq}")
"#;

#[test]
fn tiff_modes_hash_as_pillow_and_python_threatexchange() {
    let dir = tempfile::tempdir().expect("creating a temporary folder");
    let table = crate::run_reference(SCRIPT, dir.path());
    let limits = DecodeLimits::default();
    let (mut checked, mut lab, mut failures) = (0, 0, Vec::new());
    let mut modes = std::collections::BTreeSet::new();
    for line in table.lines() {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 6, "bad reference line {line:?}");
        let (name, mode, true_hex, trueq, tx, txq) = (f[0], f[1], f[2], f[3], f[4], f[5]);
        let bytes = std::fs::read(dir.path().join(name)).expect("reading a generated file");
        modes.insert(mode.to_string());
        if mode == "LAB" {
            match pdq::hash_image_bytes(&bytes, &limits) {
                Err(e @ DecodeError::Unsupported { .. }) => {
                    assert!(e.to_string().contains("LittleCMS"), "{name}: {e}");
                }
                other => failures.push(format!("{name}: LAB must be refused, got {other:?}")),
            }
            lab += 1;
            continue;
        }
        // Pixels first: Pillow's `convert("RGB")` to the byte.
        let rgb = image::decode_rgb(&bytes, &limits).unwrap_or_else(|e| panic!("{name}: {e}"));
        let want_rgb = std::fs::read(dir.path().join("rgb").join(name)).expect("reading Pillow's pixels");
        if rgb.as_raw() != want_rgb.as_slice() {
            let n = rgb.as_raw().iter().zip(&want_rgb).filter(|(a, b)| a != b).count();
            failures
                .push(format!("{name} ({mode}): {n} of {} RGB bytes differ from Pillow's", want_rgb.len()));
        }
        let plain = pdq::hash_image_bytes(&bytes, &limits).unwrap_or_else(|e| panic!("{name}: {e}"));
        if plain.hash.to_hex() != true_hex || plain.quality.to_string() != trueq {
            failures.push(format!(
                "{name} ({mode}) true colour: {} {} want {true_hex} {trueq}",
                plain.hash.to_hex(),
                plain.quality
            ));
        }
        let both = pdq::hash_image_bytes_variants(&bytes, &limits).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(plain, both.true_colour, "{name}: one decode gives the same true-colour hash");
        assert_eq!(both.pytx.is_some(), image::pytx_may_differ(&bytes), "{name} ({mode})");
        let opened = image::open(&bytes, &limits).unwrap_or_else(|e| panic!("{name}: {e}"));
        // Pillow's mode as python-threatexchange sees it; `PA` makes it fail.
        let want_mode = match mode {
            "P" | "YCbCr" => Some(mode),
            _ => None,
        };
        assert_eq!(opened.pillow_mode(), want_mode, "{name}");
        if tx == "ERR" {
            assert_eq!(mode, "PA", "{name}: python-threatexchange failed on it");
        } else {
            let pytx = pdq::hash_image_bytes_pytx(&bytes, &limits).unwrap_or_else(|e| panic!("{name}: {e}"));
            if pytx.hash.to_hex() != tx || pytx.quality.to_string() != txq {
                failures.push(format!(
                    "{name} ({mode}) pytx: {} {} want {tx} {txq}",
                    pytx.hash.to_hex(),
                    pytx.quality
                ));
            }
        }
        checked += 1;
    }
    // The limits hold before any pixel buffer: the header's size is over
    // them, or the samples would be.
    for mode in ["P", "PA", "LA", "YCbCr"] {
        for comp in ["raw", "tiff_lzw"] {
            let name = table
                .lines()
                .filter_map(|l| l.split(',').next())
                .find(|n| n.ends_with(&format!("_333x217_{mode}_{comp}.tif")))
                .unwrap_or_else(|| panic!("no 333x217 {mode} {comp} file"));
            let bytes = std::fs::read(dir.path().join(name)).expect("reading a generated file");
            let small_side = DecodeLimits { max_side: 300, ..limits };
            match image::decode_rgb(&bytes, &small_side) {
                Err(DecodeError::TooLarge { width: 333, height: 217, .. }) => {}
                other => panic!("{name}: want TooLarge, got {other:?}"),
            }
            let few = DecodeLimits { max_pixels: 333 * 216, ..limits };
            assert!(matches!(image::decode_rgb(&bytes, &few), Err(DecodeError::TooLarge { .. })), "{name}");
            let small_alloc = DecodeLimits { max_alloc: 100_000, ..limits };
            match image::decode_rgb(&bytes, &small_alloc) {
                Err(DecodeError::MemoryLimit { max_alloc: 100_000, .. }) => {}
                other => panic!("{name}: want MemoryLimit, got {other:?}"),
            }
            let (out, peak) = crate::peak_alloc(|| image::decode_rgb(&bytes, &limits));
            out.unwrap_or_else(|e| panic!("{name}: {e}"));
            // Samples, RGB and the input copy a palette file needs, with
            // room for the decoder's strip buffers.
            assert!(peak < 333 * 217 * 12 + 2 * bytes.len(), "{name}: {peak} bytes at peak");
        }
    }
    // Compressed YCbCr comes back from libtiff as RGB, so Pillow reports
    // mode RGB for it.
    let want: std::collections::BTreeSet<String> =
        ["L", "LA", "LAB", "P", "PA", "RGB", "YCbCr"].iter().map(|s| s.to_string()).collect();
    assert_eq!(modes, want, "Pillow's modes for the generated files");
    assert!(checked >= 180 && lab >= 25, "{checked} files checked, {lab} LAB");
    assert!(failures.is_empty(), "{} of {checked} differ:\n{}", failures.len(), failures.join("\n"));
}
