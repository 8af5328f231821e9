#!/usr/bin/env bash
# The web UI's pages timed on a large store: N sightings (default one
# million posts, about 200,000 releases; the analytics fixture), the server
# on a loopback port, one signed-in session; each page requested REQUESTS
# times (default 200) in turn over one kept-alive connection, after 10 to
# warm up: p50, p95 and p99 of the time from sending the request to the last
# byte of the answer (the server's time plus loopback).
#
#   bench/ui.sh                    # N=1000000
#   N=200000 REQUESTS=100 bench/ui.sh
#
# Needs python3 and curl. Everything is on 127.0.0.1 and in one temporary
# directory (the store is kept in /tmp/marsad-ui-N.db for later runs).
set -euo pipefail
cd "$(dirname "$0")/.."
n="${N:-1000000}"
requests="${REQUESTS:-200}"
db="/tmp/marsad-ui-$n.db"
cargo build --release --locked -p marsad --bin marsad >&2
cargo build --release --locked -p marsad-observe --example analytics_fixture >&2
if [ ! -f "$db" ]; then
    /usr/bin/time -f 'fixture: %e s, peak %M KiB' ./target/release/examples/analytics_fixture --sightings "$n" --db "$db" >&2
fi
m=(./target/release/marsad --db "$db")
"${m[@]}" stats >&2
tmp=$(mktemp -d)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
password="a benchmark password"
"${m[@]}" user list --json | grep -q '"bench"' || printf '%s\n' "$password" | "${m[@]}" user create bench --role admin >&2
"${m[@]}" serve --addr 127.0.0.1:0 > "$tmp/out" 2> "$tmp/err" &
server=$!
for _ in $(seq 600); do grep -q listening "$tmp/out" 2>/dev/null && break; sleep 0.1; done
base=$(sed -n 's/^listening on \(http[^ ]*\).*/\1/p' "$tmp/out")
[ -n "$base" ] || { cat "$tmp/err" >&2; exit 1; }
release=$("${m[@]}" --json releases --from 2025-06-01 --to 2025-06-02 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
echo "store: $("${m[@]}" --json stats)" >&2
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" >&2
python3 - "$base" "$password" "$requests" "$release" <<'PY'
import http.client, re, sys, time, urllib.parse
base, password, n, release = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
host = urllib.parse.urlparse(base).netloc
c = http.client.HTTPConnection(host)
c.request("GET", "/login"); r = c.getresponse(); r.read()
login = re.search(r"marsad_login=([0-9a-f]+)", r.getheader("set-cookie")).group(1)
body = urllib.parse.urlencode({"name": "bench", "password": password, "csrf": login})
c.request("POST", "/login", body, {"Cookie": f"marsad_login={login}", "Content-Type": "application/x-www-form-urlencoded"})
r = c.getresponse(); r.read()
session = re.search(r"marsad_session=([0-9a-f]+)", r.getheader("set-cookie")).group(1)
headers = {"Cookie": f"marsad_session={session}"}
pages = [
    ("the catalogue's first page", "/releases"),
    ("the catalogue filtered (an outlet, a year)", "/releases?outlet=Outlet+07&from=2025-01-01&to=2026-01-01"),
    ("a search (two words)", "/posts?q=" + urllib.parse.quote("نشرة weekly")),
    ("a search (a rare word)", "/posts?q=" + urllib.parse.quote("123")),
    ("a search (one common word)", "/posts?q=" + urllib.parse.quote("بيان")),
    ("a release page", f"/releases/{release}"),
    ("the dashboard", "/"),
    ("the dashboard, one year", "/?from=2025-01-01&to=2026-01-01"),
    ("the review queue", "/review"),
]
print(f"| page | requests | p50 ms | p95 ms | p99 ms | bytes |")
print(f"|---|---|---|---|---|---|")
for label, path in pages:
    times = []
    size = 0
    for i in range(n + 10):
        t = time.perf_counter()
        c.request("GET", path, headers=headers)
        r = c.getresponse()
        data = r.read()
        dt = time.perf_counter() - t
        if r.status != 200:
            sys.exit(f"{path}: {r.status} {data[:300]!r}")
        if i >= 10:
            times.append(dt * 1000)
        size = len(data)
    times.sort()
    q = lambda p: times[min(len(times) - 1, int(p * len(times)))]
    print(f"| {label} (`{path}`) | {n} | {q(0.50):.1f} | {q(0.95):.1f} | {q(0.99):.1f} | {size:,} |")
PY
