#!/usr/bin/env python3
"""End-to-end PDQ over a folder of JPEGs: `marsad hash pdq` against
python-threatexchange's PDQ hasher (Pillow decode + Meta's C++ PDQ through
the `pdqhash` bindings, the path HMA uses), on the same files, same machine,
one run. Also what PDQ adds to JPEG decoding alone inside marsad.

Usage:
    pip install threatexchange pdqhash numpy pillow
    python3 bench/pdq_end_to_end.py [--count N] [--dir DIR]

The JPEGs are generated (smooth fields, shapes and noise at 640x480,
1280x720 and 1920x1080, quality 85) unless --dir names an existing folder.
Timings are the best of 3 runs; marsad is timed both on one thread (-j 1)
and on every core; python-threatexchange is single-threaded. Results are
checked to agree hash for hash.
"""

import argparse
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parent.parent
MARSAD = ROOT / "target" / "release" / "marsad"
OVERHEAD = ROOT / "target" / "release" / "examples" / "pdq_overhead"


def make_jpegs(folder, count):
    rng = np.random.default_rng(2026)
    sizes = [(640, 480), (1280, 720), (1920, 1080)]
    for i in range(count):
        w, h = sizes[i % len(sizes)]
        y, x = np.mgrid[0:h, 0:w]
        base = (np.sin(x / (17 + i % 13)) + np.cos(y / (23 + i % 7))) * 60 + 128
        img = np.stack([base, np.roll(base, i * 7, axis=1), base[::-1]], axis=2)
        img += rng.normal(0, 12, img.shape)
        for _ in range(6):
            x0, y0 = rng.integers(0, w - 100), rng.integers(0, h - 100)
            img[y0:y0 + 90, x0:x0 + 90] = rng.integers(0, 255, 3)
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(
            folder / f"img_{i:04d}.jpg", quality=85
        )


def best_of(n, fn):
    times = []
    out = None
    for _ in range(n):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--dir")
    args = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "--locked", "-p", "marsad"], cwd=ROOT, check=True)
    subprocess.run(["cargo", "build", "--release", "--locked", "-p", "marsad-hash", "--example", "pdq_overhead"], cwd=ROOT, check=True)

    tmp = None
    if args.dir:
        folder = pathlib.Path(args.dir)
    else:
        tmp = tempfile.TemporaryDirectory()
        folder = pathlib.Path(tmp.name)
        make_jpegs(folder, args.count)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))
    total_mb = sum(p.stat().st_size for p in files) / 1e6
    print(f"{len(files)} JPEGs, {total_mb:.1f} MB, in {folder}")

    from threatexchange.signal_type.pdq.signal import PdqSignal

    def tx_in_process():
        return {str(p): PdqSignal.hash_from_file(p) for p in files}

    cli_files = files[:20]

    def tx_cli():
        # The CLI hashes one file per invocation.
        for p in cli_files:
            subprocess.run(["threatexchange", "hash", "photo", str(p)], capture_output=True, text=True, check=True)

    def marsad(jobs):
        def run():
            out = subprocess.run([str(MARSAD), "hash", "pdq", "-j", str(jobs), str(folder)],
                                 capture_output=True, text=True, check=True)
            return {l.rsplit(",", 2)[2]: l.split(",")[0] for l in out.stdout.splitlines()}
        return run

    t_tx, tx_hashes = best_of(3, tx_in_process)
    t_tx_cli, _ = best_of(1, tx_cli)
    t_m1, m_hashes = best_of(3, marsad(1))
    ncpu = os.cpu_count()
    t_mn, _ = best_of(3, marsad(ncpu))

    same = sum(1 for f, h in tx_hashes.items() if m_hashes.get(f) == h)
    dist = []
    for f, h in tx_hashes.items():
        if f in m_hashes:
            dist.append(bin(int(h, 16) ^ int(m_hashes[f], 16)).count("1"))
    print(f"agreement: {same}/{len(files)} identical hashes, max distance {max(dist)} (JPEG decoders differ slightly)")
    print(f"python-threatexchange PdqSignal.hash_from_file, in process: {t_tx:7.2f} s  {len(files)/t_tx:7.1f} files/s")
    print(f"python-threatexchange CLI, one process per file ({len(cli_files)} files): {len(cli_files)/t_tx_cli:7.1f} files/s")
    print(f"marsad hash pdq -j 1:                                      {t_m1:7.2f} s  {len(files)/t_m1:7.1f} files/s  {t_tx/t_m1:5.1f}x in-process reference")
    print(f"marsad hash pdq -j {ncpu}:                                      {t_mn:7.2f} s  {len(files)/t_mn:7.1f} files/s  {t_tx/t_mn:5.1f}x")
    ov = subprocess.run([str(OVERHEAD), "-n", "3", *map(str, files)], capture_output=True, text=True, check=True)
    print(f"marsad decode vs decode+PDQ (one thread, in process): {ov.stdout.strip()}")


if __name__ == "__main__":
    sys.exit(main())
