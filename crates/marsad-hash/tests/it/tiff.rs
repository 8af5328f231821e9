//! TIFF modes the `image` crate refuses, against Pillow and
//! python-threatexchange run on the spot: a Python script (Pillow at test
//! time only) writes palette (`P`, `PA`), grey + alpha (`LA`), YCbCr and
//! CIELAB files, uncompressed and LZW / deflate compressed (with the
//! horizontal predictor, in strips of a few rows, as BigTIFF; one
//! big-endian palette file built by hand; by hand too, what Pillow reads
//! but does not write: 1-, 2- and 4-bit palettes, RGB and RGBA in separate
//! planes, and YCbCr with every chroma subsampling, with and without
//! compression, predictor and colour tags), and prints
//! per file Pillow's mode, the reference hash of `convert("RGB")` (whose
//! pixels it also writes, compared byte for byte) and
//! python-threatexchange's `pdq_from_bytes` (or `ERR` where it fails), with
//! orientation tags (which Pillow's TIFF plug-in applies). marsad
//! must match both bit for bit (CIELAB too, which Pillow converts through
//! Little CMS; uncompressed subsampled YCbCr, which Pillow misreads, as
//! Pillow misreads it), and refuse what Pillow or libtiff refuses. Fails loudly, never skips, when Python, Pillow,
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
        if mode in ("RGB", "L"):
            # JPEG-compressed, which libtiff hands to libjpeg strip by strip.
            variants["jpeg"] = {"compression": "jpeg"}
            variants["jpeg16q40"] = {"compression": "jpeg", "quality": 40, "tiffinfo": {278: 16}}
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
# Layouts Pillow reads but does not write, built by hand (little-endian,
# uncompressed or deflate): 1-, 2- and 4-bit palettes, RGB and RGBA in
# separate planes, and YCbCr with chroma subsampling.
import zlib
def tiff(w, h, tags, strips):
    tags = dict(tags)
    tags[256] = (4, [w]); tags[257] = (4, [h]); tags[279] = (4, [len(s) for s in strips])
    fmt = {1: "B", 3: "H", 4: "I"}
    def enc(typ, vals):
        if typ == 5:
            return b"".join(struct.pack("<II", *v) for v in vals)
        return struct.pack("<" + fmt[typ] * len(vals), *vals)
    tags[273] = (4, [0] * len(strips))
    entries = sorted(tags.items())
    extra_at = 8 + 2 + 12 * len(entries) + 4
    data_at = extra_at + sum(len(enc(t, v)) for _, (t, v) in entries if len(enc(t, v)) > 4)
    offsets = [data_at + sum(len(s) for s in strips[:k]) for k in range(len(strips))]
    tags[273] = (4, offsets)
    ifd, extra = struct.pack("<H", len(entries)), b""
    for tag, (typ, vals) in sorted(tags.items()):
        b = enc(typ, vals)
        if len(b) <= 4:
            ifd += struct.pack("<HHI", tag, typ, len(vals)) + b.ljust(4, b"\0")
        else:
            ifd += struct.pack("<HHII", tag, typ, len(vals), extra_at + len(extra))
            extra += b
    return b"II*\0" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0) + extra + b"".join(strips)
def pack(a):
    return zlib.compress(a) if comp == 8 else a
for (w, h) in [(1, 1), (13, 9), (64, 33), (333, 217)]:
    y, x = np.mgrid[0:h, 0:w]
    base = np.clip((np.sin(x / 7) + np.cos(y / 5)) * 60 + 128 + rng.normal(0, 20, (h, w)), 0, 255)
    for comp in (1, 8):
        for rps in sorted({h, 5}):
            bounds = range(0, h, rps)
            for bits in (1, 2, 4):
                idx = (base.astype(np.uint16) * (1 << bits) // 256).astype(np.uint8)
                row = (w * bits + 7) // 8
                packed = np.zeros((h, row), np.uint8)
                for k in range(w):
                    packed[:, k * bits // 8] |= idx[:, k] << (8 - bits - (k * bits) % 8)
                cmap = rng.integers(0, 65536, 3 << bits).tolist()
                tags = {258: (3, [bits]), 259: (3, [comp]), 262: (3, [3]), 277: (3, [1]), 278: (4, [rps]), 320: (3, cmap)}
                strips = [pack(packed[r:r + rps].tobytes()) for r in bounds]
                (out / f"h_p{bits}_{w}x{h}_{comp}_{rps}.tif").write_bytes(tiff(w, h, tags, strips))
            for n in (3, 4):
                planes = np.stack([base, base[::-1], np.roll(base, 5, axis=1), 255 - base][:n]).astype(np.uint8)
                tags = {258: (3, [8] * n), 259: (3, [comp]), 262: (3, [2]), 277: (3, [n]), 278: (4, [rps]), 284: (3, [2])}
                if n == 4:
                    tags[338] = (3, [2])
                strips = [pack(p[r:r + rps].tobytes()) for p in planes for r in bounds]
                (out / f"h_planar{n}_{w}x{h}_{comp}_{rps}.tif").write_bytes(tiff(w, h, tags, strips))
    for (hs, vs) in [(1, 2), (2, 1), (2, 2), (4, 1), (4, 2), (4, 4), (1, 4)]:
        across, down = -(-w // hs), -(-h // vs)
        ys = np.clip(np.pad(base, ((0, down * vs - h), (0, across * hs - w)), mode="edge"), 0, 255).astype(np.uint8)
        chroma = rng.integers(0, 256, (down, across, 2)).astype(np.uint8)
        blocks = np.concatenate([ys.reshape(down, vs, across, hs).transpose(0, 2, 1, 3).reshape(down, across, hs * vs), chroma], axis=2)
        for name, comp, rps, more in [
            ("deflate", 8, down * vs, {}), ("strips", 8, 2 * vs, {}), ("raw", 1, down * vs, {}),
            ("pred", 8, 3 * vs, {317: (3, [2])}),
            ("rbw", 8, down * vs, {532: (5, [(16, 1), (235, 1), (128, 1), (240, 1), (128, 1), (240, 1)])}),
            ("coef", 8, down * vs, {529: (5, [(2126, 10000), (7152, 10000), (722, 10000)])}),
        ]:
            tags = {258: (3, [8, 8, 8]), 259: (3, [comp]), 262: (3, [6]), 277: (3, [3]), 278: (4, [rps]), 530: (3, [hs, vs])}
            tags.update(more)
            strips = [pack(blocks[r // vs:(r + rps) // vs].tobytes()) for r in range(0, down * vs, rps)]
            (out / f"h_ycc{hs}{vs}_{w}x{h}_{name}.tif").write_bytes(tiff(w, h, tags, strips))
# FillOrder 2: the file's strips bit-reversed and the tag set to 2 (as a
# writer in that order makes them), for what Pillow reads itself
# (uncompressed bilevel, grey, 16-bit grey, RGB, palette; it refuses LA
# and RGBA) and what it hands to libtiff (LZW, deflate, PackBits, Group 4,
# JPEG, which ignores the tag).
def fill_order_2(src, dst, reverse=True):
    data = bytearray(src.read_bytes())
    assert data[:4] == b"II*\0"
    ifd = struct.unpack_from("<I", data, 4)[0]
    n = struct.unpack_from("<H", data, ifd)[0]
    tags = {}
    for k in range(n):
        tag, typ, count, val = struct.unpack_from("<HHII", data, ifd + 2 + 12 * k)
        tags[tag] = (typ, count, val, ifd + 2 + 12 * k)
    def values(tag):
        typ, count, val, _ = tags[tag]
        size = {3: 2, 4: 4}[typ]
        if count * size <= 4:
            return list(struct.unpack_from("<" + "HI"[size // 4] * count, data, tags[tag][3] + 8))
        return list(struct.unpack_from("<" + "HI"[size // 4] * count, data, val))
    for at, cnt in zip(values(273), values(279)) if reverse else []:
        data[at:at + cnt] = bytes(int(f"{b:08b}"[::-1], 2) for b in data[at:at + cnt])
    struct.pack_into("<H", data, tags[266][3] + 8, 2)
    dst.write_bytes(bytes(data))
fo_src = out / "fo_src"
fo_src.mkdir()
for (w, h) in [(5, 7), (64, 33), (129, 127)]:
    y, x = np.mgrid[0:h, 0:w]
    base = np.clip((np.sin(x / 7) + np.cos(y / 5)) * 60 + 128 + rng.normal(0, 20, (h, w)), 0, 255)
    rgb = Image.fromarray(np.stack([base, base[::-1], np.roll(base, 3, axis=1)], axis=2).astype(np.uint8), "RGB")
    for mode in ["1", "L", "I;16", "RGB", "P", "LA", "RGBA"]:
        if mode == "P":
            im = rgb.quantize(colors=100)
        elif mode == "I;16":
            im = Image.fromarray((base * 200).astype(np.uint16))
        else:
            im = rgb.convert(mode)
        comps = ["raw", "tiff_lzw", "tiff_adobe_deflate", "packbits"]
        comps += ["group4"] if mode == "1" else []
        comps += ["jpeg"] if mode in ("RGB", "L") else []
        for comp in comps:
            name = f"fo2_{w}x{h}_{mode.replace(';', '')}_{comp}.tif"
            kw = {} if comp == "raw" else {"compression": comp}
            im.save(fo_src / name, "TIFF", tiffinfo={266: 1, 278: 8}, **kw)
            fill_order_2(fo_src / name, out / name)
            if comp == "jpeg":
                # The tag alone, as libtiff writes JPEG whatever it says.
                fill_order_2(fo_src / name, out / name.replace("fo2_", "fo2tag_"), reverse=False)
rgb_dir = out / "rgb"
rgb_dir.mkdir()
# Files are opened from memory, as marsad sees them: Pillow opens an
# uncompressed single-strip L or P file given by name through mmap with the
# size already turned for orientations 5 to 8, which scrambles it (a Pillow
# bug, absent from memory, i.e. from python-threatexchange's pdq_from_bytes).
for f in sorted(out.glob("*.tif")):
    try:
        im = Image.open(io.BytesIO(f.read_bytes()))
        im.load()
    except Exception as e:
        print(f"{f.name},REFUSED,{type(e).__name__}")
        continue
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
    let (mut refused, mut misread) = (Vec::new(), 0);
    let (mut fill_order, mut fill_order_refused) = (0, 0);
    for line in table.lines() {
        let f: Vec<&str> = line.split(',').collect();
        // Uncompressed subsampled YCbCr, which Pillow reads as if it were
        // not subsampled (it runs out of data and fails, or for the tiniest
        // images reads the blocks' bytes as pixels, which marsad does too,
        // checked below with the rest), and what libtiff refuses (a
        // subsampling it does not convert, or one larger than the image):
        // where Pillow fails, marsad refuses, naming why.
        let pillow_refused = f.get(1) == Some(&"REFUSED");
        misread += usize::from(f[0].starts_with("h_ycc") && f[0].ends_with("_raw.tif") && !pillow_refused);
        if f[0].starts_with("h_ycc") && pillow_refused {
            let bytes = std::fs::read(dir.path().join(f[0])).expect("reading a generated file");
            match pdq::hash_image_bytes(&bytes, &limits) {
                Err(e @ DecodeError::Unsupported { .. })
                    if e.to_string().contains("YCbCr with chroma subsampling") =>
                {
                    refused.push(f[0].to_owned())
                }
                other => failures.push(format!("{}: must be refused, marsad gave {other:?}", f[0])),
            }
            continue;
        }
        if pillow_refused && f[0].starts_with("fo2_") {
            // FillOrder 2 in a layout Pillow has no bit-reversing raw mode
            // for.
            let bytes = std::fs::read(dir.path().join(f[0])).expect("reading a generated file");
            match pdq::hash_image_bytes(&bytes, &limits) {
                Err(e @ DecodeError::Unsupported { .. }) if e.to_string().contains("FillOrder 2") => {
                    fill_order_refused += 1
                }
                // JPEG data, which libtiff reads whatever the tag says: its
                // reversed bits are corrupt for both.
                Err(_) if f[0].ends_with("_jpeg.tif") => {}
                other => failures.push(format!("{}: must be refused, marsad gave {other:?}", f[0])),
            }
            continue;
        }
        assert!(!pillow_refused, "Pillow refused {line:?}");
        fill_order += usize::from(f[0].starts_with("fo2"));
        assert_eq!(f.len(), 6, "bad reference line {line:?}");
        let (name, mode, true_hex, trueq, tx, txq) = (f[0], f[1], f[2], f[3], f[4], f[5]);
        let bytes = std::fs::read(dir.path().join(name)).expect("reading a generated file");
        modes.insert(mode.to_string());
        lab += usize::from(mode == "LAB");
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
            "P" | "YCbCr" | "LAB" | "1" => Some(mode),
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
    for mode in ["P", "PA", "LA", "YCbCr", "LAB"] {
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
        ["1", "I;16", "L", "LA", "LAB", "P", "PA", "RGB", "RGBA", "YCbCr"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    assert_eq!(modes, want, "Pillow's modes for the generated files");
    assert!(checked >= 180 && lab >= 25, "{checked} files checked, {lab} LAB");
    assert!(
        fill_order >= 60 && fill_order_refused >= 6,
        "FillOrder 2: {fill_order} read, {fill_order_refused} refused"
    );
    // Pillow misreads only the tiniest of them; it refuses the others.
    assert!(
        refused.len() >= 20 && (1..=8).contains(&misread),
        "{} refused, {misread} misread by Pillow",
        refused.len()
    );
    assert!(failures.is_empty(), "{} of {checked} differ:\n{}", failures.len(), failures.join("\n"));
}
