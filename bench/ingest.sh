#!/usr/bin/env bash
# Ingest throughput and peak memory on a generated text-only Telegram export,
# pinned to one core. Usage: bench/ingest.sh [N_MESSAGES] [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000000}"
work="${2:-$(mktemp -d)}"
cargo build --release --locked -p marsad -p marsad-synth --bins --examples >&2
mkdir -p "$work"
rm -f "$work"/bench.db*
./target/release/examples/text_export "$work/result.json" "$n" >&2
ls -l "$work/result.json" >&2
for fp in none text; do
    rm -f "$work"/bench.db*
    extra=()
    [ "$fp" = none ] && extra=(--no-fingerprints)
    /usr/bin/time -f '%e %M' -o "$work/time.txt" \
        taskset -c 0 ./target/release/marsad --db "$work/bench.db" --json ingest telegram "${extra[@]}" "$work/result.json" \
        > "$work/summary.json"
    read -r secs kb < "$work/time.txt"
    posts=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["posts_added"]+s["service_skipped"])' "$work/summary.json")
    python3 - "$n" "$secs" "$kb" "$fp" <<'PY'
import sys
n, secs, kb, fp = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
print(f"fingerprints={fp:5} messages={n} wall={secs:.2f}s rate={n/secs:,.0f} msg/s peak_rss={kb/1024:.1f} MiB")
PY
done
