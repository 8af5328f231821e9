#!/usr/bin/env python3
"""Side-by-side PDQ timing: Meta's reference C++ (through the `pdqhash`
Python bindings, the path python-threatexchange and HMA use) against
marsad-hash, on the same decoded pixels, one thread each.

Every input is decoded once with Pillow (no EXIF rotation, converted to
8-bit RGB) and written as a lossless PNG to a temporary folder, so both
sides hash exactly the same pixels. The reference is timed on
`pdqhash.compute(rgb_array)` (which includes its numpy luma step, as callers
pay it); marsad is timed by the `pdq_time` example on `pdq::hash_rgb` (which
includes its luma step). Decoding is excluded on both sides. The "C++ part"
column subtracts the bindings' numpy luma step, timed separately, to show
the comparison against the C++ pipeline alone. The script also checks that
both sides produce the same hash and quality.

Usage:
    pip install pdqhash numpy pillow
    python3 bench/pdq_vs_reference.py [-n N] [IMAGE ...]

Without images it uses a few of shared/conformance/pdq/images plus
synthetic noise images of common sizes.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import pdqhash
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFORMANCE = os.path.join(ROOT, "..", "shared", "conformance", "pdq", "images")
DEFAULT_IMAGES = [
    "real_astronaut.png",
    "real_coffee.png",
    "synth_20261122_005_smooth_field_640x480.png",
    "synth_20261122_006_smooth_field_1920x1080.png",
    "synth_20261122_007_shapes_2000x3000.png",
]
SYNTHETIC_SIZES = [(320, 240), (1280, 720), (4000, 3000)]


def to_hex(bits):
    b = np.asarray(bits)[::-1]
    words = [sum(int(b[16 * i + j]) << j for j in range(16)) for i in range(16)]
    return "".join("%04x" % words[i] for i in range(15, -1, -1))


def time_luma_step(rgb, n):
    """The numpy part of `pdqhash.compute` (luma plane and scratch buffer),
    to estimate the C++ part alone by difference."""
    times = []
    for _ in range(n):
        t = time.perf_counter()
        gray = (rgb[:, :, 0] * 0.299 + rgb[:, :, 1] * 0.587 + rgb[:, :, 2] * 0.114).astype("float32")
        np.zeros_like(gray)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e6


def time_reference(rgb, n):
    pdqhash.compute(rgb)  # warm up
    times = []
    for _ in range(n):
        t = time.perf_counter()
        bits, quality = pdqhash.compute(rgb)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e6, to_hex(bits), quality


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=15, help="timed runs per image (median reported)")
    ap.add_argument("images", nargs="*")
    args = ap.parse_args()

    inputs = []
    if args.images:
        for path in args.images:
            inputs.append((os.path.basename(path), np.asarray(Image.open(path).convert("RGB"))))
    else:
        for name in DEFAULT_IMAGES:
            path = os.path.join(CONFORMANCE, name)
            if os.path.exists(path):
                inputs.append((name, np.asarray(Image.open(path).convert("RGB"))))
        rng = np.random.default_rng(7)
        for w, h in SYNTHETIC_SIZES:
            inputs.append((f"noise_{w}x{h}", rng.integers(0, 256, (h, w, 3), dtype=np.uint8)))

    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i, (name, rgb) in enumerate(inputs):
            path = os.path.join(tmp, f"{i:03d}.png")
            Image.fromarray(rgb).save(path, compress_level=1)
            files.append(path)
        cmd = [
            "cargo", "run", "--release", "-q", "-p", "marsad-hash",
            "--example", "pdq_time", "--", "-n", str(args.n), *files,
        ]
        out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout
        ours = {}
        for line in out.strip().splitlines()[1:]:
            f, w, h, us, hx, q = line.split("\t")[:6]
            ours[f] = (float(us), hx, int(q))

        print(f"{'image':44} {'size':>11} {'reference µs':>13} {'(C++ part)':>10} {'marsad µs':>10} "
              f"{'speed-up':>8} {'vs C++':>6} {'ref ns/px':>9} {'ours ns/px':>10} same")
        all_same = True
        for (name, rgb), path in zip(inputs, files):
            ref_us, ref_hex, ref_q = time_reference(rgb, args.n)
            cpp_us = max(ref_us - time_luma_step(rgb, args.n), 1.0)
            us, hx, q = ours[path]
            same = hx == ref_hex and q == ref_q
            all_same &= same
            px = rgb.shape[0] * rgb.shape[1]
            print(f"{name[:44]:44} {rgb.shape[1]:>5}x{rgb.shape[0]:<5} {ref_us:>13.0f} {cpp_us:>10.0f} "
                  f"{us:>10.0f} {ref_us / us:>7.1f}x {cpp_us / us:>5.1f}x {ref_us * 1e3 / px:>9.2f} "
                  f"{us * 1e3 / px:>10.2f} {'yes' if same else 'NO'}")
    print(f"cpu: {cpu_name()}, python {sys.version.split()[0]}, pdqhash {pdqhash.__version__}")
    return 0 if all_same else 1


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


if __name__ == "__main__":
    sys.exit(main())
