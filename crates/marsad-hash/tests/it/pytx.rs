//! JPEG and palette images against python-threatexchange and Pillow run on
//! the spot: a Python script (Pillow at test time only) writes a sweep of
//! JPEGs (qualities, subsampling, progressive, restart markers, greyscale,
//! CMYK, odd sizes) and palette PNGs into a temporary folder and prints,
//! per file, python-threatexchange's `pdq_from_file` and the reference hash
//! of Pillow's `convert("RGB")` (the true colours); both must equal
//! marsad's bit for bit. The test fails loudly, never skips, when Python,
//! Pillow, pdqhash or threatexchange is missing (`pip install threatexchange
//! pdqhash pillow`).

use marsad_hash::image::DecodeLimits;
use marsad_hash::pdq;

const SCRIPT: &str = r#"
import io, sys, pathlib
import numpy as np
from PIL import Image, ImageFile
import pdqhash
from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_file, _pdq_from_numpy_array
ImageFile.MAXBLOCK = 1 << 24
out = pathlib.Path(sys.argv[1])
rng = np.random.default_rng(7)
sizes = [(1, 1), (4, 9), (5, 5), (31, 17), (250, 17), (17, 250), (129, 127), (333, 217), (640, 480)]
i = 0
for (w, h) in sizes:
    for mode in ["RGB", "L", "CMYK"]:
        for variant in range(3):
            y, x = np.mgrid[0:h, 0:w]
            base = (np.sin(x / (3 + i % 11)) + np.cos(y / (5 + i % 7))) * 60 + 128
            img = np.stack([base, np.roll(base, i, axis=1), base[::-1]], axis=2) + rng.normal(0, 25, (h, w, 3))
            im = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB").convert(mode)
            kw = dict(quality=[5, 50, 75, 95, 100][i % 5], progressive=variant == 1)
            if mode != "L":
                kw["subsampling"] = i % 3
            if variant == 2:
                kw["restart_marker_blocks"] = 1 + i % 4
            im.save(out / f"j{i:03d}.jpg", "JPEG", **kw)
            i += 1
for n, (w, h) in enumerate(sizes[2:]):
    for bits in [1, 2, 4, 8]:
        colours = 1 << bits
        idx = (rng.integers(0, colours, (h, w))).astype(np.uint8)
        im = Image.fromarray(idx, "L").convert("P")
        pal = rng.integers(0, 256, colours * 3).astype(np.uint8).tolist()
        im.putpalette(pal)
        im.save(out / f"p{n}_{bits}.png", bits=bits)
# Files cut short: Pillow refuses or decodes them depending on where the data
# ends relative to the 64 KiB blocks it reads; large files cross blocks.
for n, q in enumerate([100, 90]):
    img = rng.uniform(0, 255, (700, 900, 3)).astype(np.uint8)
    Image.fromarray(img, "RGB").save(out / f"big{n}.jpg", quality=q, progressive=n == 1)
for f in sorted(out.glob("*.jpg"))[::5]:
    data = f.read_bytes()
    for k, end in enumerate([len(data) // 3, len(data) - 2, len(data) - 1, len(data) - 9, 65536 + 3]):
        if 0 < end < len(data):
            (out / f"cut{k}_{f.name}").write_bytes(data[:end])
# The block size is also the decoder's read size: back to Pillow's default.
ImageFile.MAXBLOCK = 65536
for f in sorted(out.iterdir()):
    try:
        tx, txq = pdq_from_file(f)
    except OSError:
        print(f"{f.name},REFUSED")
        continue
    rgb = np.asarray(Image.open(f).convert("RGB"))
    true, trueq = _pdq_from_numpy_array(rgb)
    print(f"{f.name},{tx},{txq},{true},{trueq},{Image.open(f).mode}")
"#;

#[test]
fn jpeg_and_palette_hashes_equal_python_threatexchange() {
    let dir = tempfile::tempdir().expect("creating a temporary folder");
    let table = crate::run_reference(SCRIPT, dir.path());
    let limits = DecodeLimits::default();
    let (mut checked, mut cmyk, mut palette, mut refused, mut failures) = (0, 0, 0, 0, Vec::new());
    for line in table.lines() {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() == 2 && f[1] == "REFUSED" {
            let bytes = std::fs::read(dir.path().join(f[0])).expect("reading a generated file");
            if let Ok(o) = pdq::hash_image_bytes(&bytes, &limits) {
                failures.push(format!("{}: Pillow refuses it, marsad hashed it ({})", f[0], o.hash.to_hex()));
            }
            refused += 1;
            continue;
        }
        assert_eq!(f.len(), 6, "bad reference line {line:?}");
        let (name, tx, txq, true_hex, trueq, mode) = (f[0], f[1], f[2], f[3], f[4], f[5]);
        let bytes = std::fs::read(dir.path().join(name)).expect("reading a generated file");
        let both = pdq::hash_image_bytes_variants(&bytes, &limits).unwrap_or_else(|e| panic!("{name}: {e}"));
        // The variant is computed only where Pillow's mode makes it differ.
        assert_eq!(both.pytx.is_some(), mode == "P" || mode == "CMYK", "{name} ({mode})");
        cmyk += usize::from(mode == "CMYK");
        palette += usize::from(mode == "P");
        compare(&bytes, both, [name, mode, tx, txq, true_hex, trueq], &mut failures);
        checked += 1;
    }
    assert!(
        checked >= 100 && cmyk >= 20 && palette >= 20 && refused >= 20,
        "{checked} files, {cmyk} CMYK, {palette} palette, {refused} refused"
    );
    assert!(failures.is_empty(), "{} of {checked} differ:\n{}", failures.len(), failures.join("\n"));
}

/// GIF and BMP files Pillow opens in mode `P` (python-threatexchange hashes
/// their indices), `L` or `1`, written by Pillow and rewritten by hand where
/// Pillow does not write the layout: a first frame smaller than the screen
/// and placed inside it, or reaching past it; a local colour table, a local
/// grey ramp under a global table; a transparent index; interlacing; RLE;
/// files cut short.
const GIF_BMP_SCRIPT: &str = r#"
import io, sys, pathlib, struct
import numpy as np
from PIL import Image
from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_file, _pdq_from_numpy_array
out = pathlib.Path(sys.argv[1])
rng = np.random.default_rng(5)
def palette(n):
    return rng.integers(0, 256, n * 3).astype(np.uint8).tolist()
def smooth(w, h, levels):
    y, x = np.mgrid[0:h, 0:w]
    base = (np.sin(x / 5) + np.cos(y / 7)) * 0.5 + 0.5 + rng.normal(0, 0.15, (h, w))
    return np.clip(base * levels, 0, levels - 1).astype(np.uint8)
def gif_parts(data):
    # header + screen descriptor, global table, blocks up to the image
    # descriptor, the descriptor, the image data (to the trailer).
    flags = data[10]
    table_end = 13 + (3 << ((flags & 7) + 1) if flags & 128 else 0)
    i = table_end
    while data[i] != 0x2C:
        i += 2
        while data[i]:
            i += 1 + data[i]
        i += 1
    return data[:13], data[13:table_end], data[table_end:i], data[i:i + 10], data[i + 10:]
for (w, h) in [(1, 1), (7, 5), (97, 61), (320, 200)]:
    for bits in [1, 2, 4, 8]:
        idx = smooth(w, h, 1 << bits)
        im = Image.fromarray(idx, "L").convert("P")
        im.putpalette(palette(1 << bits))
        stem = f"{w}x{h}_{bits}"
        im.save(out / f"g_{stem}.gif")
        im.save(out / f"gi_{stem}.gif", interlace=True)
        im.save(out / f"gt_{stem}.gif", transparency=(1 << bits) - 1)
        im.save(out / f"b_{stem}.bmp")
        if bits == 8:
            im.save(out / f"brle_{stem}.bmp", compression="rle8")
        data = (out / f"g_{stem}.gif").read_bytes()
        head, table, blocks, desc, rest = gif_parts(data)
        # The frame placed inside a larger screen, and past a smaller one.
        for name, (sw, sh, x0, y0) in {"in": (w + 9, h + 4, 5, 3), "past": (max(1, w - 2), max(1, h - 1), 2, 1)}.items():
            hd = head[:6] + struct.pack("<HH", sw, sh) + head[10:]
            dd = desc[:1] + struct.pack("<HH", x0, y0) + desc[5:]
            (out / f"gx{name}_{stem}.gif").write_bytes(hd + table + blocks + dd + rest)
        # The table moved into the frame (local), and a local grey ramp under
        # the global table (Pillow then opens it in mode L).
        local_flags = 0x80 | (head[10] & 7)
        (out / f"gl_{stem}.gif").write_bytes(head[:10] + bytes([head[10] & 0x7F]) + head[11:] + blocks + desc[:9] + bytes([local_flags]) + table + rest)
        ramp = bytes(v for i in range(len(table) // 3) for v in (i, i, i))
        (out / f"gr_{stem}.gif").write_bytes(head + table + blocks + desc[:9] + bytes([local_flags]) + ramp + rest)
        if w >= 97:
            (out / f"gcut_{stem}.gif").write_bytes(data[: len(data) // 2])
            bmp = (out / f"b_{stem}.bmp").read_bytes()
            (out / f"bcut_{stem}.bmp").write_bytes(bmp[: len(bmp) // 2])
    grey = smooth(w, h, 256)
    Image.fromarray(grey, "L").save(out / f"grey_{w}x{h}.gif")
    Image.fromarray(grey, "L").save(out / f"grey_{w}x{h}.bmp")
    Image.fromarray(grey, "L").convert("1").save(out / f"bw_{w}x{h}.bmp")
    Image.fromarray(grey, "L").convert("1").save(out / f"bw_{w}x{h}.png")
    Image.fromarray(grey, "L").convert("1").save(out / f"bw_{w}x{h}.tif")
    Image.fromarray(grey, "L").convert("1").save(out / f"bwlzw_{w}x{h}.tif", compression="tiff_lzw")
    Image.fromarray(grey, "L").convert("1").save(out / f"bwg4_{w}x{h}.tif", compression="group4")
# RLE4 and 4-bit raw BMPs, which Pillow reads but does not write, by hand:
# even rows in encoded runs (of pairs, and one cut past the row's end), odd
# rows in absolute runs (word-aligned), a delta, an early end of line.
def bmp(w, h, bits, comp, data, colours):
    pal = bytes(v for c in range(colours) for v in (rng.integers(0, 256), rng.integers(0, 256), rng.integers(0, 256), 0))
    off = 14 + 40 + len(pal)
    info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, bits, comp, len(data), 2835, 2835, colours, 0)
    return b"BM" + struct.pack("<IHHI", off + len(data), 0, 0, off) + info + pal + data
for (w, h) in [(5, 3), (37, 21), (120, 77)]:
    idx = smooth(w, h, 16)
    rows = [idx[h - 1 - r] for r in range(h)]
    raw = b"".join(bytes(((int(r[x]) << 4) | (int(r[x + 1]) if x + 1 < w else 0)) for x in range(0, w, 2)).ljust(((w * 4 + 31) >> 3) & ~3, b"\0") for r in rows)
    (out / f"b4raw_{w}x{h}.bmp").write_bytes(bmp(w, h, 4, 0, raw, 16))
    rle = bytearray()
    for k, r in enumerate(rows):
        if k == 1:
            rle += bytes([0, 2, 3, 0])  # delta: three pixels right
            r = r[3:]
        if k == 2 and w > 4:
            rle += bytes([2, (int(r[0]) << 4) | int(r[1]), 0, 0])  # end of line early
            continue
        if k % 2 == 0:
            for x in range(0, len(r), 2):
                n = 2 if x + 1 < len(r) else 1
                rle += bytes([n + (3 if x + 2 >= len(r) else 0), (int(r[x]) << 4) | (int(r[x + 1]) if n == 2 else 0)])
        else:
            x = 0
            while x < len(r):
                n = min(len(r) - x, 40)
                if n < 3:
                    rle += bytes([n, (int(r[x]) << 4) | (int(r[x + 1]) if n == 2 else 0)])
                else:
                    chunk = bytes(((int(r[x + i]) << 4) | (int(r[x + i + 1]) if i + 1 < n else 0)) for i in range(0, n, 2))
                    rle += bytes([0, n]) + chunk + (b"\0" if len(chunk) % 2 else b"")
                x += n
        rle += bytes([0, 0])
    rle += bytes([0, 1])
    (out / f"b4rle_{w}x{h}.bmp").write_bytes(bmp(w, h, 4, 2, bytes(rle), 16))
for f in sorted(out.iterdir()):
    try:
        tx, txq = pdq_from_file(f)
        im = Image.open(f)
        true, trueq = _pdq_from_numpy_array(np.asarray(im.convert("RGB")))
    except Exception as e:
        print(f"{f.name},REFUSED")
        continue
    print(f"{f.name},{tx},{txq},{true},{trueq},{im.mode}")
"#;

#[test]
fn gif_and_bmp_hashes_equal_python_threatexchange() {
    let dir = tempfile::tempdir().expect("creating a temporary folder");
    let table = crate::run_reference(GIF_BMP_SCRIPT, dir.path());
    let limits = DecodeLimits::default();
    let mut failures = Vec::new();
    let mut modes = std::collections::BTreeMap::<String, usize>::new();
    let mut refused = 0;
    for line in table.lines() {
        let f: Vec<&str> = line.split(',').collect();
        let bytes = std::fs::read(dir.path().join(f[0])).expect("reading a generated file");
        if f.get(1) == Some(&"REFUSED") {
            if let Ok(o) = pdq::hash_image_bytes(&bytes, &limits) {
                failures.push(format!("{}: Pillow refuses it, marsad hashed it ({})", f[0], o.hash.to_hex()));
            }
            refused += 1;
            continue;
        }
        assert_eq!(f.len(), 6, "bad reference line {line:?}");
        let (name, tx, txq, true_hex, trueq, mode) = (f[0], f[1], f[2], f[3], f[4], f[5]);
        *modes.entry(mode.to_owned()).or_default() += 1;
        let both = match pdq::hash_image_bytes_variants(&bytes, &limits) {
            Ok(b) => b,
            Err(e) => {
                failures.push(format!("{name} ({mode}): Pillow opens it, marsad: {e}"));
                continue;
            }
        };
        assert_eq!(both.pytx.is_some(), marsad_hash::image::pytx_may_differ(&bytes), "{name} ({mode})");
        compare(&bytes, both, [name, mode, tx, txq, true_hex, trueq], &mut failures);
    }
    let checked: usize = modes.values().sum();
    assert!(
        modes.get("P").copied().unwrap_or(0) >= 100
            && modes.contains_key("L")
            && modes.contains_key("1")
            && refused >= 4,
        "{checked} files by Pillow's mode {modes:?}, {refused} refused"
    );
    assert!(failures.is_empty(), "{} of {checked} differ:\n{}", failures.len(), failures.join("\n"));
}

/// Checks one file's hashes against the reference line's (name, Pillow's
/// mode, python-threatexchange's hash and quality, the true colours' hash
/// and quality): marsad's true-colour and python-threatexchange hashes, and
/// that one decode (`both`) gives the same as the separate calls. A
/// difference is added to `failures`.
fn compare(bytes: &[u8], both: pdq::PdqVariants, reference: [&str; 6], failures: &mut Vec<String>) {
    let [name, mode, tx, txq, true_hex, trueq] = reference;
    let limits = DecodeLimits::default();
    let plain = pdq::hash_image_bytes(bytes, &limits).unwrap_or_else(|e| panic!("{name}: {e}"));
    let pytx = pdq::hash_image_bytes_pytx(bytes, &limits).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(plain, both.true_colour, "{name}: one decode gives the same true-colour hash");
    assert_eq!(both.pytx.unwrap_or(both.true_colour), pytx, "{name}: variants agree");
    if pytx.hash.to_hex() != tx || pytx.quality.to_string() != txq {
        failures.push(format!(
            "{name} ({mode}) pytx: {} {} want {tx} {txq}",
            pytx.hash.to_hex(),
            pytx.quality
        ));
    }
    if plain.hash.to_hex() != true_hex || plain.quality.to_string() != trueq {
        failures.push(format!(
            "{name} ({mode}) true colour: {} {} want {true_hex} {trueq}",
            plain.hash.to_hex(),
            plain.quality
        ));
    }
}
