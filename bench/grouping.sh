#!/usr/bin/env bash
# Grouping N fingerprinted posts (default one million) into releases, one
# core: the posts are written to a new store first (not timed), then
# `update()` reads them, links them, writes the releases and describes them.
# Then 1 % more posts are grouped incrementally. Usage: bench/grouping.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000000}"
db="$(mktemp -d)/grouping.db"
cargo build --release --locked -p marsad-observe --example grouping_bench >&2
/usr/bin/time -f 'peak RSS %M KiB (generator included)' taskset -c 0 ./target/release/examples/grouping_bench --posts "$n" --db "$db"
rm -rf "$(dirname "$db")"
