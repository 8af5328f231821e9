#!/usr/bin/env python3
"""Exact PDQ range search at scale: marsad's index against faiss
(IndexBinaryFlat, and IndexBinaryMultiHash(256, 16, 16) with nflip = 1, the
multi-index python-threatexchange uses), both single-threaded, range_search
radius 32 (distances < 32, i.e. <= 31), on the same hashes, one run.

The bank is N random 256-bit hashes plus, for each query, planted near
neighbours at distances 0..40 (so some are just inside and some just
outside the threshold). Result sets are compared query by query.

Usage:
    pip install faiss-cpu numpy psutil
    python3 bench/pdq_index_vs_faiss.py [--n 1000000] [--queries 2000] [--faiss-queries 300]
"""

import argparse
import json
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "target" / "release" / "examples" / "pdq_index_bench"


def planted(n, q, per_query, rng):
    bank = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    queries = rng.integers(0, 256, size=(q, 32), dtype=np.uint8)
    # Plant neighbours of each query at distances 0..40 over the last
    # q * per_query rows of the bank.
    rows = rng.choice(n, size=q * per_query, replace=False)
    k = 0
    for i in range(q):
        for j in range(per_query):
            d = j * 41 // per_query
            h = queries[i].copy()
            bits = rng.choice(256, size=d, replace=False)
            for b in bits:
                h[b >> 3] ^= 1 << (b & 7)
            bank[rows[k]] = h
            k += 1
    return bank, queries


def faiss_run(index_factory, bank, queries, name):
    import faiss
    faiss.omp_set_num_threads(1)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    index = index_factory()
    index.add(bank)
    build = time.perf_counter() - t
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    lims, D, I = index.range_search(queries, 32)
    secs = time.perf_counter() - t
    results = []
    for i in range(len(queries)):
        pairs = sorted(zip(I[lims[i]:lims[i + 1]].tolist(), D[lims[i]:lims[i + 1]].tolist()))
        results.append(pairs)
    print(f"  {name:<34} build {build:7.2f} s  {len(queries)/secs:9.1f} queries/s  (+{(rss1-rss0)/1024:.0f} MiB RSS during build)")
    return results, len(queries) / secs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--faiss-queries", type=int, default=300)
    ap.add_argument("--per-query", type=int, default=20)
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "--locked", "-p", "marsad-index", "--example", "pdq_index_bench"],
                   cwd=ROOT, check=True)
    rng = np.random.default_rng(args.seed)
    bank, queries = planted(args.n, args.queries, args.per_query, rng)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        bank.tofile(tmp / "bank.bin")
        queries.tofile(tmp / "queries.bin")
        out = subprocess.run([str(EXAMPLE), str(tmp / "bank.bin"), str(tmp / "queries.bin"), "31", str(tmp / "r.txt")],
                             capture_output=True, text=True, check=True)
        stats = json.loads(out.stdout)
        ours = []
        for line in (tmp / "r.txt").read_text().splitlines():
            ours.append(sorted((int(a), int(b)) for a, b in (p.split(":") for p in line.split())) if line else [])
    print(f"N = {args.n:,} hashes, {args.queries} queries ({args.faiss_queries} for faiss), "
          f"{args.per_query} planted neighbours per query at distances 0..40, threshold 31")
    beside = (stats['index_bytes'] - stats['raw_bytes']) / args.n - 4
    print(f"  marsad PdqIndex, batch ({stats['simd']})        build {stats['build_s']:7.2f} s  {stats['qps']:9.1f} queries/s")
    print(f"  marsad PdqIndex, one query at a time                      {stats['single_qps']:9.1f} queries/s")
    print(f"  marsad memory: {stats['index_bytes']/args.n:.1f} B/hash = 32 raw + {beside:.1f} tables and directories "
          f"+ 4 ids; peak RSS {stats['peak_rss_kb']/1024:.0f} MiB (the bank itself read in first: "
          f"{stats['rss_before_build_kb']/1024:.0f} MiB)")

    import faiss
    fq = queries[: args.faiss_queries]
    flat, flat_qps = faiss_run(lambda: faiss.IndexBinaryFlat(256), bank, fq, "faiss IndexBinaryFlat")

    def mih():
        ix = faiss.IndexBinaryMultiHash(256, 16, 16)
        ix.nflip = 1
        return ix
    multi, multi_qps = faiss_run(mih, bank, fq, "faiss IndexBinaryMultiHash(16,16,nflip=1)")
    same_flat = sum(1 for a, b in zip(ours, flat) if a == b)
    same_multi = sum(1 for a, b in zip(ours, multi) if a == b)
    print(f"  identical result sets: marsad vs flat {same_flat}/{len(fq)}, marsad vs multi-hash {same_multi}/{len(fq)}")
    print(f"  speed-up per core (batch): {stats['qps']/flat_qps:.0f}x faiss flat, {stats['qps']/multi_qps:.0f}x faiss multi-hash; "
          f"one at a time: {stats['single_qps']/flat_qps:.0f}x, {stats['single_qps']/multi_qps:.0f}x")
    total = sum(len(r) for r in ours)
    print(f"  marsad hits: {total} over {args.queries} queries")
    return 0 if same_flat == len(fq) and same_multi == len(fq) else 1


if __name__ == "__main__":
    sys.exit(main())
