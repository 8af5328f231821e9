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
        let pytx = pdq::hash_image_bytes_pytx(&bytes, &limits).unwrap_or_else(|e| panic!("{name}: {e}"));
        let plain = pdq::hash_image_bytes(&bytes, &limits).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(plain, both.true_colour, "{name}: one decode gives the same true-colour hash");
        assert_eq!(both.pytx.unwrap_or(both.true_colour), pytx, "{name}: variants agree");
        // The variant is computed only where Pillow's mode makes it differ.
        assert_eq!(both.pytx.is_some(), mode == "P" || mode == "CMYK", "{name} ({mode})");
        cmyk += usize::from(mode == "CMYK");
        palette += usize::from(mode == "P");
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
        checked += 1;
    }
    assert!(
        checked >= 100 && cmyk >= 20 && palette >= 20 && refused >= 20,
        "{checked} files, {cmyk} CMYK, {palette} palette, {refused} refused"
    );
    assert!(failures.is_empty(), "{} of {checked} differ:\n{}", failures.len(), failures.join("\n"));
}
