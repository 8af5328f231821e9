#!/usr/bin/env bash
# Text ingest into PostgreSQL against SQLite, side by side in one run: a
# generated Telegram export of N text messages (`examples/text_export`),
# `marsad ingest telegram` (default fingerprints: MinHash of every text)
# into a new SQLite file and into a new PostgreSQL schema, ROUNDS times
# alternately; wall time and peak RSS of each.
#
#   bench/pg_text.sh                          # N=200000, ROUNDS=3
#   OTHER=/path/to/older/marsad bench/pg_text.sh
#   FLAGS=--no-fingerprints bench/pg_text.sh  # the store's share alone
#
# OTHER adds a third column: the same PostgreSQL ingest by another build
# of marsad (to compare two ways of writing, e.g. before and after a
# change). Needs the machine's PostgreSQL (127.0.0.1:5432, database test;
# scripts/test starts it), psql and GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."
export PGOPTIONS="${PGOPTIONS:---client-min-messages=warning}"
n="${N:-200000}"
rounds="${ROUNDS:-3}"
pg="${MARSAD_TEST_POSTGRES:-postgres://127.0.0.1:5432/test}"
other="${OTHER:-}"
flags="${FLAGS:-}"
work="$(mktemp -d)"
schemas=()
cleanup() {
    for s in "${schemas[@]}"; do psql -q "$pg" -c "DROP SCHEMA IF EXISTS $s CASCADE" >/dev/null 2>&1 || true; done
    rm -rf "$work"
}
trap cleanup EXIT
[ -x /usr/bin/time ] || { echo "error: GNU time (/usr/bin/time) is missing: apt-get install time" >&2; exit 1; }
cargo build --release --locked -p marsad -p marsad-synth --example text_export >&2
m=./target/release/marsad
mkdir -p "$work/export"
./target/release/examples/text_export "$work/export/result.json" "$n" >&2

schema() {
    local s="marsad_text_$1_$$"
    schemas+=("$s")
    psql -q "$pg" -c "DROP SCHEMA IF EXISTS $s CASCADE; CREATE SCHEMA $s" >/dev/null
    echo "$pg?options=-csearch_path%3D$s"
}
run() { # label, binary, store
    local label="$1" bin="$2" db="$3"
    /usr/bin/time -f "%e %M" -o "$work/time" "$bin" --db "$db" --json ingest telegram $flags "$work/export" \
        > "$work/out.json"
    read -r secs kib < "$work/time"
    python3 - "$label" "$secs" "$kib" "$n" "$work/out.json" <<'PY'
import json, sys
label, secs, kib, n = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
s = json.load(open(sys.argv[5]))
# Some generated messages are service messages, skipped.
assert s["posts_added"] + s["service_skipped"] == n and not s["errors_total"], s
print(f"{label:<28} {secs:7.2f} s  {n / secs:9,.0f} msg/s  peak RSS {kib / 1024:5.0f} MiB  "
      f"fingerprints {s['fingerprints_added']}")
PY
}
for r in $(seq 1 "$rounds"); do
    rm -f "$work/m.db"*
    run "round $r: SQLite" "$m" "$work/m.db"
    run "round $r: PostgreSQL" "$m" "$(schema "new$r")"
    if [ -n "$other" ]; then
        run "round $r: PostgreSQL, OTHER" "$other" "$(schema "other$r")"
    fi
done
