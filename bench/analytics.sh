#!/usr/bin/env bash
# Every `marsad analyze` command over a store of N sightings (default ten
# million), each a whole process pinned to one core: open the store, see
# that nothing is ungrouped, load the releases (from the snapshot beside the
# store), compute, print JSON to /dev/null. Median of 5 runs; peak RSS of
# the last. The first command after grouping builds the snapshot: timed
# apart. Usage: bench/analytics.sh [N_SIGHTINGS] [DB]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-10000000}"
db="${2:-/tmp/marsad-analytics-$n.db}"
cargo build --release --locked -p marsad --bin marsad >&2
cargo build --release --locked -p marsad-observe --example analytics_fixture >&2
if [ ! -f "$db" ]; then
    /usr/bin/time -f 'fixture: %e s, peak %M KiB' ./target/release/examples/analytics_fixture --sightings "$n" --db "$db" >&2
fi
m=(taskset -c 0 ./target/release/marsad --db "$db" --json)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run() { # label, args…
    local label="$1"; shift
    local times=()
    for _ in 1 2 3 4 5; do
        /usr/bin/time -f '%e %M' -o "$tmp/t" "${m[@]}" "$@" > "$tmp/out"
        times+=("$(cat "$tmp/t")")
    done
    python3 - "$label" "$(wc -c < "$tmp/out")" "${times[@]}" <<'PY'
import sys
label, size, runs = sys.argv[1], int(sys.argv[2]), [r.split() for r in sys.argv[3:]]
secs = sorted(float(r[0]) for r in runs)
print(f"| {label} | {secs[len(secs)//2]:.2f} | {min(secs):.2f} | {int(runs[-1][1])/1024:.0f} | {size/1e6:.1f} |")
PY
}

"${m[@]}" stats
rm -f "$db.observatory"
/usr/bin/time -f 'first command (builds the snapshot): %e s, peak %M KiB' "${m[@]}" analyze silences --min-hours 24 > /dev/null
echo "| command | median s | best s | peak RSS MiB | output MB |"
echo "|---|---|---|---|---|"
run "timeline --bucket day" analyze timeline --bucket day
run "timeline --bucket week --by outlet" analyze timeline --bucket week --by outlet
run "timeline --bucket hijri-month --by language" analyze timeline --bucket hijri-month --by language
run "timeline --bucket day --by source" analyze timeline --bucket day --by source
run "timeline --bucket month --official-only --format=-text" analyze timeline --bucket month --official-only --format=-text
run "trend --bucket month" analyze trend --bucket month
run "trend --bucket hijri-month --by outlet" analyze trend --bucket hijri-month --by outlet
run "silences --min-hours 24" analyze silences --min-hours 24
run "silences --min-hours 6 --outlet 'Outlet 07'" analyze silences --min-hours 6 --outlet "Outlet 07"
run "dormancy --at 2026-06-01 --days 30" analyze dormancy --at 2026-06-01 --days 30
run "recycling --from 2025-01-01 --to 2026-01-01 --min-age-days 365" analyze recycling --from 2025-01-01 --to 2026-01-01 --min-age-days 365
run "amplification (summary and every release)" analyze amplification
