#!/usr/bin/env python3
"""JPEG PDQ against python-threatexchange, side by side in one run: a
generated sweep of JPEGs (qualities 5-100, subsampling 4:4:4 / 4:2:2 /
4:2:0, progressive, restart markers, greyscale, CMYK, odd sizes, varied
content) hashed by python-threatexchange's PDQ hasher (Pillow decode +
Meta's C++ PDQ through `pdqhash`, the path HMA uses) and by
`marsad hash pdq --json`; every hash must be bit-identical. Also checks
that a JPEG cut short is refused by both (the same files), and records the end-to-end speed
ratio over the sweep.

Usage:
    pip install threatexchange pdqhash pillow
    cargo build --release -p marsad
    python3 bench/pdq_jpeg_vs_pytx.py [--count N] [--keep DIR]

python-threatexchange hashes a CMYK image's C, M, Y planes as R, G, B;
marsad's true-colour hash of a CMYK file differs by design, and
`marsad hash pdq --compat pytx` prints python-threatexchange's variant. So
every file is compared with `--compat pytx`, and every non-CMYK file with
plain `marsad hash pdq` too. Exit status 1 on any mismatch.
"""

import argparse
import io
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image, ImageFile

ROOT = pathlib.Path(__file__).resolve().parent.parent
MARSAD = ROOT / "target" / "release" / "marsad"

# Pillow's encoder needs the whole progressive or optimized output in one
# buffer ("Suspension not allowed here" otherwise); the same setting is the
# decoder's read size (decodermaxblock), which decides where a shortened
# file is refused, so it is raised only while saving.
def save(img, buf, **kw):
    ImageFile.MAXBLOCK = 1 << 24
    try:
        img.save(buf, "JPEG", **kw)
    finally:
        ImageFile.MAXBLOCK = 65536


SUBSAMPLING = {0: "4:4:4", 1: "4:2:2", 2: "4:2:0"}
SIZES = [(640, 480), (1, 1), (3, 7), (5, 5), (17, 250), (250, 17), (333, 217),
         (1001, 999), (129, 127), (64, 64), (800, 600), (15, 16), (1283, 721)]


def content(rng, kind, w, h):
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    if kind == "smooth":
        base = (np.sin(x / rng.uniform(5, 40)) + np.cos(y / rng.uniform(5, 40))) * 60 + 128
        img = np.stack([base, np.roll(base, int(rng.integers(0, 50)), axis=1), base[::-1]], axis=2)
    elif kind == "noise":
        img = rng.uniform(0, 255, (h, w, 3))
    elif kind == "shapes":
        img = np.full((h, w, 3), rng.uniform(0, 255, 3))
        for _ in range(8):
            x0, y0 = rng.integers(0, max(w, 1)), rng.integers(0, max(h, 1))
            img[y0:y0 + int(rng.integers(1, 200)), x0:x0 + int(rng.integers(1, 200))] = rng.uniform(0, 255, 3)
    else:  # stripes: sharp edges that stress upsampling and ringing
        period = int(rng.integers(2, 12))
        stripes = ((x // period + y // (period + 1)) % 2) * 255.0
        img = np.stack([stripes, 255 - stripes, np.roll(stripes, period // 2, axis=0)], axis=2)
        img = img * 0.7 + rng.normal(0, 20, img.shape)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


def make_sweep(folder, count):
    """Writes `count` JPEGs; returns {name: description}."""
    rng = np.random.default_rng(20261201)
    kinds = ["smooth", "noise", "shapes", "stripes"]
    made = {}
    i = 0
    while len(made) < count:
        w, h = SIZES[i % len(SIZES)]
        if i % 5 == 4:
            w, h = int(rng.integers(1, 900)), int(rng.integers(1, 900))
        kind = kinds[i % len(kinds)]
        mode = ["RGB", "RGB", "L", "CMYK"][(i // 3) % 4]
        quality = 5 + (i * 7) % 96
        subsampling = (i // 2) % 3
        progressive = i % 4 == 1
        restart = i % 6 == 2
        img = content(rng, kind, w, h).convert(mode)
        kw = dict(quality=quality, progressive=progressive)
        if mode != "L":
            kw["subsampling"] = subsampling
        if restart:
            kw["restart_marker_blocks"] = int(rng.integers(1, 8))
        if i % 9 == 3:
            kw["optimize"] = True
        name = f"j{i:04d}.jpg"
        buf = io.BytesIO()
        save(img, buf, **kw)
        (folder / name).write_bytes(buf.getvalue())
        made[name] = (f"{mode} {w}x{h} {kind} q{quality}"
                      + (f" {SUBSAMPLING[subsampling]}" if mode != "L" else "")
                      + (" progressive" if progressive else "")
                      + (" restarts" if restart else "")
                      + (" optimized" if kw.get("optimize") else ""))
        i += 1
    return made


def marsad_hashes(args, folder):
    out = subprocess.run([str(MARSAD), "--json", "hash", "pdq", *args, str(folder)],
                         capture_output=True, text=True)
    hashes = {}
    for line in out.stdout.splitlines():
        row = json.loads(line)
        hashes[pathlib.Path(row["file"]).name] = (row["hash"], row["quality"])
    return hashes, out


def distance(a, b):
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=600)
    ap.add_argument("--keep", help="write the sweep to this folder and keep it")
    args = ap.parse_args()
    if not MARSAD.is_file():
        sys.exit(f"error: {MARSAD} is missing: run cargo build --release -p marsad")
    from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_file

    tmp = None
    if args.keep:
        folder = pathlib.Path(args.keep)
        folder.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory()
        folder = pathlib.Path(tmp.name)
    sweep = make_sweep(folder, args.count)
    files = sorted(sweep)
    cmyk = {f for f in files if sweep[f].startswith("CMYK")}
    total_mb = sum((folder / f).stat().st_size for f in files) / 1e6
    print(f"{len(files)} JPEGs ({len(cmyk)} CMYK), {total_mb:.1f} MB, in {folder}")

    # Speed: python-threatexchange in one process (kinder to it than its
    # CLI), marsad as the command, process start and output included.
    t = time.perf_counter()
    tx = {f: pdq_from_file(folder / f) for f in files}
    t_tx = time.perf_counter() - t
    t = time.perf_counter()
    compat, _ = marsad_hashes(["--compat", "pytx"], folder)
    t_compat = time.perf_counter() - t
    t = time.perf_counter()
    plain, _ = marsad_hashes([], folder)
    t_plain = time.perf_counter() - t
    t = time.perf_counter()
    marsad_hashes(["-j", "1"], folder)
    t_one = time.perf_counter() - t

    failures = 0
    for label, got, subset in [("--compat pytx", compat, files),
                               ("plain, non-CMYK", plain, [f for f in files if f not in cmyk])]:
        same = 0
        for f in subset:
            want_hash, want_q = tx[f]
            if f not in got:
                failures += 1
                print(f"  {label}: {f} ({sweep[f]}): not hashed by marsad")
                continue
            h, q = got[f]
            if h == want_hash and q == want_q:
                same += 1
            else:
                failures += 1
                print(f"  {label}: {f} ({sweep[f]}): distance {distance(h, want_hash)}, quality {q} want {want_q}")
        print(f"{label}: {same}/{len(subset)} bit-identical (hash and quality)")
    differ = [f for f in cmyk if distance(plain[f][0], tx[f][0]) > 0]
    print(f"CMYK files whose true-colour hash differs from python-threatexchange's: {len(differ)}/{len(cmyk)}")

    # Files cut short: Pillow raises "image file is truncated", so
    # python-threatexchange hashes nothing; marsad must refuse the same
    # files. Cut to a third, and with only the last 2 bytes (the end marker)
    # gone, which Pillow accepts or refuses depending on its 64 KiB reads.
    for label, cut_at in [("cut to a third", lambda n: n // 3), ("end marker cut off", lambda n: n - 2)]:
        cut = folder / f"cut-{cut_at(300)}"
        cut.mkdir(exist_ok=True)
        subset = files[:200]
        for f in subset:
            data = (folder / f).read_bytes()
            (cut / f).write_bytes(data[: cut_at(len(data))])
        tx_ok = {}
        for f in subset:
            try:
                tx_ok[f] = pdq_from_file(cut / f)
            except OSError:
                pass
        got_cut, _ = marsad_hashes(["--compat", "pytx"], cut)
        agree = set(tx_ok) == set(got_cut) and all(got_cut[f] == tx_ok[f] for f in tx_ok)
        print(f"{label}: python-threatexchange refuses {len(subset) - len(tx_ok)}/{len(subset)}, "
              f"marsad refuses {len(subset) - len(got_cut)}/{len(subset)}, "
              f"{'the same files, the same hashes for the rest' if agree else 'DIFFERENT'}")
        if not agree:
            failures += 1
            for f in sorted(set(tx_ok) ^ set(got_cut)):
                print(f"  {f} ({sweep[f]}): {'marsad' if f in got_cut else 'python-threatexchange'} hashes it")

    n = len(files)
    ncpu = os.cpu_count()
    print(f"python-threatexchange pdq_from_file, in process: {t_tx:6.2f} s  {n / t_tx:7.1f} files/s  1x")
    print(f"marsad hash pdq -j 1:                          {t_one:6.2f} s  {n / t_one:7.1f} files/s  {t_tx / t_one:5.1f}x")
    print(f"marsad hash pdq ({ncpu} cores):                    {t_plain:6.2f} s  {n / t_plain:7.1f} files/s  {t_tx / t_plain:5.1f}x")
    print(f"marsad hash pdq --compat pytx ({ncpu} cores):      {t_compat:6.2f} s  {n / t_compat:7.1f} files/s  {t_tx / t_compat:5.1f}x")
    if failures:
        print(f"{failures} mismatches")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
