#!/usr/bin/env bash
# PDQ lookups/s of `marsad serve` on a shared PostgreSQL store: one server,
# then two servers on the same store (each with the whole index in memory,
# both on the NATS change feed) loaded at once by one wrk each, all on
# this machine's cores. The bank: N random PDQ hashes (default 100,000);
# queries rotate through 2,000 (90 % bank entries with 1–8 bits flipped, so
# they match; 10 % random).
#
#   bench/serve_shared.sh            # N=100000, DURATION=10s, CONNECTIONS=32
#
# Needs the machine's PostgreSQL (127.0.0.1:5432, database test), NATS
# (127.0.0.1:4222), wrk, curl, psql, python3. The store is a schema of its
# own, dropped on exit; everything is on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
# psql: no notices ("schema … does not exist, skipping", "drop cascades …").
export PGOPTIONS="${PGOPTIONS:---client-min-messages=warning}"
n="${N:-100000}"
duration="${DURATION:-10s}"
connections="${CONNECTIONS:-32}"
pg="${MARSAD_TEST_POSTGRES:-postgres://127.0.0.1:5432/test}"
nats="${MARSAD_NATS:-nats://127.0.0.1:4222}"
tmp="$(mktemp -d)"
schema="marsad_bench_serve_$$"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    psql -q "$pg" -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
    if [ -n "${KEEP:-}" ]; then echo "kept: $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
cargo build --release --locked -p marsad >&2
psql -q "$pg" -c "CREATE SCHEMA $schema" >/dev/null
db="$pg?options=-csearch_path%3D$schema"
m=(./target/release/marsad --db "$db" --nats "$nats")

python3 - "$tmp" "$n" <<'PY'
import random, sys
tmp, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(20261202)
bank = [rng.getrandbits(256) for _ in range(n)]
with open(f"{tmp}/bank.csv", "w") as f:
    f.writelines(f"{h:064x}\n" for h in bank)
with open(f"{tmp}/queries.txt", "w") as q:
    for i in range(2000):
        if i % 10 == 9:
            h = rng.getrandbits(256)
        else:
            h = rng.choice(bank)
            for b in rng.sample(range(256), rng.randint(1, 8)):
                h ^= 1 << b
        q.write(f"{h:064x}\n")
PY
"${m[@]}" bank import BENCH "$tmp/bank.csv" --type pdq --format csv --create >&2
token="$("${m[@]}" token create --role viewer --name bench 2>/dev/null)"
cat >"$tmp/bench.lua" <<'LUA'
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
local paths = {}
for line in io.lines(os.getenv("BENCH_QUERIES")) do
  paths[#paths + 1] = "/m/raw_lookup?signal_type=pdq&signal=" .. line
end
local i = 0
function request()
  i = i % #paths + 1
  return wrk.format(nil, paths[i])
end
LUA

start_server() { # name (run in $(…): the pid goes to a file, not to pids)
    "${m[@]}" serve --addr 127.0.0.1:0 >"$tmp/$1.out" 2>"$tmp/$1.log" &
    echo $! >"$tmp/$1.pid"
    local url=""
    for _ in $(seq 600); do
        url="$(sed -n 's|^listening on \(http://[^ ]*\).*|\1|p' "$tmp/$1.out")"
        [ -n "$url" ] && [ "$(curl -s "$url/status")" = I-AM-ALIVE ] && break
        sleep 0.1
    done
    echo "$url"
}
load() { # url, output
    BENCH_TOKEN="$token" BENCH_QUERIES="$tmp/queries.txt" \
        wrk -t1 -c"$connections" -d"$duration" --latency -s "$tmp/bench.lua" "$1/m/raw_lookup" >"$2"
    local timeouts
    timeouts="$(sed -n 's/.*timeout \([0-9]*\).*/\1/p' "$2")"
    [ -z "$timeouts" ] || echo "  ($1: $timeouts requests unanswered within wrk's 2 s; slowest answer $(awk '/Latency /{print $4; exit}' "$2"))"
}
rate() { sed -n 's/^Requests\/sec: *//p' "$1"; }
p99() { sed -n 's/^ *99% *//p' "$1"; }

one="$(start_server one)"
pids+=("$(cat "$tmp/one.pid")")
echo "machine: $(nproc) cores; bank of $n PDQ hashes in PostgreSQL; wrk -t1 -c$connections -d$duration per server"
load "$one" "$tmp/one.txt"
echo "one server:   $(rate "$tmp/one.txt") requests/s (p99 $(p99 "$tmp/one.txt"))"
two="$(start_server two)"
pids+=("$(cat "$tmp/two.pid")")
load "$one" "$tmp/a.txt" &
first=$!
load "$two" "$tmp/b.txt"
wait "$first"
a="$(rate "$tmp/a.txt")"
b="$(rate "$tmp/b.txt")"
python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print(f'two servers:  {a:,.0f} + {b:,.0f} = {a + b:,.0f} requests/s (p99 {sys.argv[3]} and {sys.argv[4]})')" \
    "$a" "$b" "$(p99 "$tmp/a.txt")" "$(p99 "$tmp/b.txt")"
