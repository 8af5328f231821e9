#!/usr/bin/env bash
# `marsad serve` under load, beside HMA 1.1.7's published figures: a new
# store with one bank of N random PDQ hashes (default one million), the
# server on a loopback port, then wrk:
#   1. GET /m/raw_lookup, rotating through 4,000 queries (90 % bank entries
#      with 1–8 bits flipped, so they match; 10 % random, so they do not);
#   2. POST /m/lookup of a 1280×720 JPEG (multipart, field `photo`);
# then how soon the live index matches 10,000 signals added through the API
# (POST /c/bank/BENCH2/signal), and 10,000 imported by the CLI while the
# server runs. Under 20,000 requests/s, perf profiles the server during a
# second lookup run. wrk runs on the same cores as the server.
#
#   bench/serve.sh                   # N=1000000
#   N=10000000 bench/serve.sh        # ten million
#   DURATION=20s CONNECTIONS=64 PROFILE=auto|yes|no LOAD_TIMEOUT=S bench/serve.sh
#
# Needs wrk (Debian's package: apt-get install -y wrk), curl, python3,
# ffmpeg (or Python's Pillow) for the JPEG, and perf (linux-perf) for the
# profile (skipped, saying so, without it). Everything is on 127.0.0.1 and
# in one temporary directory, removed on exit with the server stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${N:-1000000}"
duration="${DURATION:-20s}"
connections="${CONNECTIONS:-64}"
profile="${PROFILE:-auto}"
seed="${SEED:-20261201}"
# How long to wait for the index to load: 10 min plus 5 min per million.
load_timeout="${LOAD_TIMEOUT:-$((600 + 300 * n / 1000000))}"

if ! command -v wrk >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "wrk is missing: running apt-get install -y wrk" >&2
        apt-get install -y wrk >&2
    else
        echo "wrk is missing: install it (Debian: apt-get install -y wrk)" >&2
        exit 1
    fi
fi
for tool in curl python3; do
    command -v "$tool" >/dev/null || { echo "$tool is missing" >&2; exit 1; }
done

cargo build --release --locked -p marsad >&2
bin="$PWD/target/release/marsad"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/marsad-serve-bench.XXXXXX")"
db="$tmp/bench.db"
server=""
perf_pid=""
cleanup() {
    local rc=$?
    if [ "$rc" != 0 ] && [ -s "$tmp/serve.log" ]; then
        echo "failed ($rc); the server's log ends:" >&2
        tail -n 20 "$tmp/serve.log" >&2
    fi
    if [ -n "$perf_pid" ]; then kill -INT "$perf_pid" 2>/dev/null || true; wait "$perf_pid" 2>/dev/null || true; fi
    if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
        kill -TERM "$server" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
m=("$bin" --db "$db")
now() { echo "$EPOCHREALTIME"; }
secs() { python3 -c 'import sys; print(f"{float(sys.argv[2]) - float(sys.argv[1]):.2f}")' "$1" "$2"; }
kib() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr); load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "bank: $n random PDQ hashes (seed $seed)" >&2

# The bank, the queries (bank entries with 1–8 bits flipped, and random
# hashes), and 10,000 hashes for each live-index test.
python3 - "$n" "$seed" "$tmp" <<'PY'
import random, sys
n, seed, tmp = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rng = random.Random(seed)
near, far = 3600, 400
picked = dict.fromkeys(rng.sample(range(n), min(near, n)))
with open(f"{tmp}/bank.csv", "w") as out:
    for start in range(0, n, 100_000):
        lines = []
        for i in range(start, min(n, start + 100_000)):
            h = rng.getrandbits(256)
            if i in picked:
                picked[i] = h
            lines.append(f"{h:064x}\n")
        out.writelines(lines)
queries = []
for h in picked.values():
    for bit in rng.sample(range(256), rng.randint(1, 8)):
        h ^= 1 << bit
    queries.append(("near", h))
queries += [("random", rng.getrandbits(256)) for _ in range(far)]
rng.shuffle(queries)
with open(f"{tmp}/queries.txt", "w") as q, open(f"{tmp}/queries.kind", "w") as k:
    for kind, h in queries:
        q.write(f"{h:064x}\n")
        k.write(f"{kind} {h:064x}\n")
for name in ("api", "cli"):
    with open(f"{tmp}/{name}.csv", "w") as out:
        out.writelines(f"{rng.getrandbits(256):064x}\n" for _ in range(10_000))
PY

t0="$(now)"
"${m[@]}" bank import BENCH "$tmp/bank.csv" --type pdq --format csv --create >&2
echo "import of $n hashes: $(secs "$t0" "$(now)") s, store $(du -sh "$tmp" | cut -f1) with the CSV" >&2
rm -f "$tmp/bank.csv"
viewer="$("${m[@]}" token create --role viewer --name bench 2>/dev/null)"
moderator="$("${m[@]}" token create --role moderator --name bench-moderator 2>/dev/null)"

# The server, on a port the kernel picks; its one line on stdout names it.
t0="$(now)"
"${m[@]}" serve --addr 127.0.0.1:0 >"$tmp/serve.out" 2>"$tmp/serve.log" &
server=$!
port=""
for _ in $(seq 600); do
    port="$(sed -n 's|^listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$tmp/serve.out")"
    [ -n "$port" ] && break
    kill -0 "$server" 2>/dev/null || { cat "$tmp/serve.log" >&2; echo "the server stopped" >&2; exit 1; }
    sleep 0.1
done
[ -n "$port" ] || { echo "the server did not say where it listens within 60 s" >&2; exit 1; }
base="http://127.0.0.1:$port"
ready=""
until_ready=$((SECONDS + load_timeout))
while [ "$SECONDS" -lt "$until_ready" ]; do
    code="$(curl -s -o "$tmp/status" -w '%{http_code}' "$base/status" || true)"
    if [ "$code" = 200 ]; then ready=1; break; fi
    if [ "$code" != 503 ] && [ "$code" != 000 ]; then
        echo "GET /status answered $code: $(cat "$tmp/status")" >&2; exit 1
    fi
    kill -0 "$server" 2>/dev/null || { cat "$tmp/serve.log" >&2; echo "the server stopped" >&2; exit 1; }
    sleep 0.01
done
[ -n "$ready" ] || { echo "the index did not load within $load_timeout s (LOAD_TIMEOUT)" >&2; exit 1; }
load_s="$(secs "$t0" "$(now)")"
[ "$(cat "$tmp/status")" = I-AM-ALIVE ] || { echo "GET /status: $(cat "$tmp/status")" >&2; exit 1; }
rss_loaded="$(kib "$server" VmRSS)"
echo "server pid $server on $base: ready (200 I-AM-ALIVE) $load_s s after start, RSS $((rss_loaded / 1024)) MiB" >&2

# Every near query matches and no random one does (a sample, by curl).
python3 - "$base" "$viewer" "$tmp/queries.kind" <<'PY'
import json, sys, urllib.request
base, token, kinds = sys.argv[1], sys.argv[2], [l.split() for l in open(sys.argv[3])]
wrong = 0
for kind, h in kinds[:200]:
    req = urllib.request.Request(f"{base}/m/raw_lookup?signal_type=pdq&signal={h}&include_distance=true",
                                 headers={"Authorization": f"Bearer {token}"})
    found = json.load(urllib.request.urlopen(req))["matches"]
    if (kind == "near") != bool(found):
        wrong += 1
        print(f"GET /m/raw_lookup?signal_type=pdq&signal={h} ({kind}): {found}", file=sys.stderr)
if wrong:
    sys.exit(f"{wrong} of 200 sampled queries answered wrongly")
print("sample of 200 queries: every near one matched, no random one did", file=sys.stderr)
PY

# One wrk script for both runs: GET raw_lookup through the queries, or
# POST the JPEG when BENCH_JPEG is set; non-200 answers are counted.
cat >"$tmp/bench.lua" <<'LUA'
local token = os.getenv("BENCH_TOKEN")
local jpeg_path = os.getenv("BENCH_JPEG")
wrk.headers["Authorization"] = "Bearer " .. token
local paths = {}
if jpeg_path then
  local f = assert(io.open(jpeg_path, "rb"))
  local jpeg = f:read("*a")
  f:close()
  local boundary = "marsad-bench-7d3f0a91c2"
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. boundary
  wrk.body = "--" .. boundary .. "\r\n"
    .. 'Content-Disposition: form-data; name="photo"; filename="bench.jpg"\r\n'
    .. "Content-Type: image/jpeg\r\n\r\n" .. jpeg .. "\r\n--" .. boundary .. "--\r\n"
  paths[1] = "/m/lookup"
else
  for line in io.lines(os.getenv("BENCH_QUERIES")) do
    paths[#paths + 1] = "/m/raw_lookup?signal_type=pdq&signal=" .. line
  end
end

local threads = {}
function setup(thread)
  thread:set("first", #threads * 1009)
  table.insert(threads, thread)
end
function init(args)
  i = first or 0
  non200 = 0
end
function request()
  i = i % #paths + 1
  return wrk.format(nil, paths[i])
end
function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
  end
end
function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do
    bad = bad + t:get("non200")
  end
  local e = summary.errors
  local s = summary.duration / 1e6
  io.write(string.format(
    "RESULT %d %.3f %.1f %.3f %.3f %d %d\n",
    summary.requests, s, summary.requests / s, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, bad, e.connect + e.read + e.write + e.timeout))
end
LUA

# CPU seconds the server has used (user + system).
cpu() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$server/stat"; }
# wrk's own report on stderr; the RESULT line read into $result, with the
# CPU seconds the server and wrk used during the run appended.
run_wrk() { # threads connections duration path
    local before
    before="$(cpu)"
    BENCH_TOKEN="$viewer" BENCH_QUERIES="$tmp/queries.txt" /usr/bin/time -f '%U %S' -o "$tmp/wrk.time" \
        wrk -t"$1" -c"$2" -d"$3" --latency -s "$tmp/bench.lua" "$base$4" >"$tmp/wrk.out"
    grep -v '^RESULT' "$tmp/wrk.out" >&2
    result="$(sed -n 's/^RESULT //p' "$tmp/wrk.out") $(python3 -c 'import sys; print(f"{float(sys.argv[2]) - float(sys.argv[1]):.2f}")' "$before" "$(cpu)") $(awk '{print $1 + $2}' "$tmp/wrk.time")"
}

load_avg="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "== GET /m/raw_lookup: wrk -t2 -c$connections -d$duration --latency" >&2
run_wrk 2 "$connections" "$duration" /m/raw_lookup
read -r requests seconds rps p50 p99 non200 sock server_cpu wrk_cpu <<<"$result"
rss="$(kib "$server" VmRSS)"
hwm="$(kib "$server" VmHWM)"

python3 - "$n" "$requests" "$rps" "$p50" "$p99" "$non200" "$sock" "$rss" "$hwm" "$load_s" "$seconds" "$server_cpu" "$wrk_cpu" "$load_avg" <<'PY'
import sys
n, requests, rps, p50, p99, non200, sock, rss, hwm, load, seconds, server_cpu, wrk_cpu, load_avg = sys.argv[1:]
n, requests, rps, p50, p99 = int(n), int(requests), float(rps), float(p50), float(p99)
seconds, server_cpu, wrk_cpu = float(seconds), float(server_cpu), float(wrk_cpu)
non200, sock, rss, hwm = int(non200), int(sock), int(rss) / 1024, int(hwm) / 1024
print(f"\n### GET /m/raw_lookup, {n:,} PDQ hashes ({requests:,} requests)\n")
print("| | marsad serve (this run) | HMA 1.1.7 (published) | target |")
print("|---|---|---|---|")
print(f"| requests/s | {rps:,.0f} | 172.5 | ≥ 20,000 |")
print(f"| p50 latency | {p50:.2f} ms | 91 ms | |")
print(f"| p99 latency | {p99:.2f} ms | 127 ms | < 10 ms |")
print(f"| errors (non-200; socket) | {non200}; {sock} | | 0 |")
print(f"| server RSS after the run (peak) | {rss:.0f} MiB ({hwm:.0f} MiB) | 793 MB per worker, 2 workers | < 300 MB at 1 M |")
print(f"| index load (start to 200 I-AM-ALIVE) | {load} s | | |")
print(f"| server CPU per request | {server_cpu / requests * 1e6:.0f} µs | | |")
print(f"\nDuring the run the server used {server_cpu / seconds:.2f} cores and wrk {wrk_cpu / seconds:.2f} "
      f"of the machine's cores (load average before it: {load_avg}).")
print("\nHMA: two gunicorn workers and PostgreSQL, 1 M PDQ hashes, same kind of machine (figures as published).")
PY

# POST /m/lookup of a 1280×720 JPEG.
if command -v ffmpeg >/dev/null; then
    ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=size=1280x720 -frames:v 1 -q:v 3 "$tmp/photo.jpg"
elif python3 -c 'import PIL' 2>/dev/null; then
    python3 -c 'import sys; from PIL import Image; Image.effect_mandelbrot((1280, 720), (-2, -1.2, 1, 1.2), 100).convert("RGB").save(sys.argv[1], quality=90)' "$tmp/photo.jpg"
else
    echo "neither ffmpeg nor Pillow to make the JPEG" >&2; exit 1
fi
code="$(curl -s -o "$tmp/post.json" -w '%{http_code}' -H "Authorization: Bearer $viewer" \
    -F "photo=@$tmp/photo.jpg;type=image/jpeg" "$base/m/lookup?include_hashes=true")"
[ "$code" = 200 ] || { echo "POST /m/lookup answered $code: $(cat "$tmp/post.json")" >&2; exit 1; }
echo "POST /m/lookup of $(stat -c %s "$tmp/photo.jpg") bytes: $(cat "$tmp/post.json")" >&2
echo "== POST /m/lookup: wrk -t2 -c16 -d10s --latency" >&2
BENCH_JPEG="$tmp/photo.jpg" run_wrk 2 16 10s /m/lookup
read -r p_requests p_seconds p_rps p_p50 p_p99 p_non200 p_sock p_cpu _ <<<"$result"
echo
echo "### POST /m/lookup, a $(stat -c %s "$tmp/photo.jpg")-byte 1280×720 JPEG (wrk -t2 -c16 -d10s)"
echo
echo "$p_requests requests: $p_rps requests/s, p50 $p_p50 ms, p99 $p_p99 ms, non-200 $p_non200, socket errors $p_sock; server CPU $(python3 -c 'import sys; print(f"{float(sys.argv[1]) / float(sys.argv[2]) * 1e3:.1f} ms per request, {float(sys.argv[1]) / float(sys.argv[3]):.2f} cores")' "$p_cpu" "$p_requests" "$p_seconds")"

# The live index: 10,000 signals through the API, then 10,000 by the CLI.
python3 - "$base" "$viewer" "$moderator" "$tmp" "$bin" "$db" <<'PY'
import http.client, json, subprocess, sys, threading, time
from urllib.parse import urlsplit
base, viewer, moderator, tmp, marsad, db = sys.argv[1:]
host, port = urlsplit(base).hostname, urlsplit(base).port
WORKERS, DEADLINE = 4, 120.0

def call(c, method, path, token, body=None):
    headers = {"Authorization": f"Bearer {token}"}
    if body is not None:
        body, headers["Content-Type"] = json.dumps(body), "application/json"
    c.request(method, path, body=body, headers=headers)
    r = c.getresponse()
    return r.status, r.read()

def matched(c, h, content_id):
    path = f"/m/raw_lookup?signal_type=pdq&signal={h}"
    status, data = call(c, "GET", path, viewer)
    if status != 200:
        sys.exit(f"GET {path}: {status} {data!r}")
    found = json.loads(data)["matches"]
    return content_id in found if content_id is not None else bool(found)

def until_matched(c, pairs, since):
    """Polls until every (hash, content id) matches; seconds since `since`."""
    waiting = list(pairs)
    while waiting:
        waiting = [p for p in waiting if not matched(c, *p)]
        if waiting and time.perf_counter() - since > DEADLINE:
            sys.exit(f"{len(waiting)} signals still unmatched after {DEADLINE:.0f} s, e.g. {waiting[0]}")
    return time.perf_counter() - since

def in_parallel(work, items):
    chunks = [items[i::WORKERS] for i in range(WORKERS)]
    out, errors = [None] * WORKERS, []
    def run(k):
        try:
            out[k] = work(http.client.HTTPConnection(host, port, timeout=60), chunks[k])
        except BaseException as e:
            errors.append(e)
    threads = [threading.Thread(target=run, args=(k,)) for k in range(WORKERS)]
    for t in threads: t.start()
    for t in threads: t.join()
    if errors:
        raise errors[0]
    return [x for part in out for x in part]

class Watch:
    """Looks up one hash over and over on its own connection, keeping each
    answer's time: how long lookups wait while the index applies changes."""
    def __init__(self):
        self.times, self.stop = [], threading.Event()
        self.thread = threading.Thread(target=self.run)
        self.thread.start()
    def run(self):
        c = http.client.HTTPConnection(host, port, timeout=60)
        probe = "f" * 64
        while not self.stop.is_set():
            t = time.perf_counter()
            matched(c, probe, None)
            self.times.append(time.perf_counter() - t)
    def done(self):
        self.stop.set()
        self.thread.join()
        t = sorted(self.times)
        return f"{len(t):,} lookups meanwhile: p99 {t[len(t) * 99 // 100] * 1000:.1f} ms, slowest {t[-1] * 1000:.0f} ms"

def verify(pairs):
    missing = in_parallel(lambda c, part: [p for p in part if not matched(c, *p)], pairs)
    return len(pairs) - len(missing)

c = http.client.HTTPConnection(host, port, timeout=60)
status, data = call(c, "POST", "/c/banks", moderator, {"name": "BENCH2"})
if status != 201:
    sys.exit(f"POST /c/banks {{\"name\": \"BENCH2\"}}: {status} {data!r}")
hashes = [l.strip() for l in open(f"{tmp}/api.csv")]
done_order, lock, samples = [], threading.Lock(), []

def add(c, part):
    added = []
    for j, h in enumerate(part):
        sent = time.perf_counter()
        status, data = call(c, "POST", "/c/bank/BENCH2/signal", moderator, {"pdq": h})
        if status != 200:
            sys.exit(f"POST /c/bank/BENCH2/signal {{\"pdq\": \"{h}\"}}: {status} {data!r}")
        pair = (h, json.loads(data)["id"])
        added.append(pair)
        with lock:
            done_order.append(pair)
        if j % 100 == 99:  # one in a hundred: polled at once, from its sending
            samples.append(until_matched(c, [pair], sent))
    return added

watch = Watch()
t0 = time.perf_counter()
pairs = in_parallel(add, hashes)
t_added = time.perf_counter()
lag = until_matched(c, done_order[-100:], t_added)
t_all = time.perf_counter()
watched = watch.done()
ok = verify(pairs)
samples.sort()
print(f"\n### Live index\n")
print(f"- API: {len(pairs):,} signals added by POST /c/bank/BENCH2/signal ({WORKERS} keep-alive clients) "
      f"in {t_added - t0:.2f} s ({len(pairs) / (t_added - t0):,.0f}/s); the last 100 matched "
      f"{lag * 1000:.1f} ms after the last add returned, all {ok:,} of {len(pairs):,} matching "
      f"{t_all - t0:.2f} s after the first was sent; one in a hundred polled from its sending: "
      f"median {samples[len(samples) // 2] * 1000:.1f} ms, slowest {samples[-1] * 1000:.1f} ms; {watched}")

cli = [l.strip() for l in open(f"{tmp}/cli.csv")]
probe = [(h, None) for h in cli[-50:] + cli[:50]]
watch = Watch()
t0 = time.perf_counter()
subprocess.run([marsad, "--db", db, "bank", "import", "BENCH3", f"{tmp}/cli.csv",
                "--type", "pdq", "--format", "csv", "--create"], check=True, stdout=subprocess.DEVNULL)
t_imported = time.perf_counter()
lag = until_matched(c, probe, t_imported)
watched = watch.done()
ok = verify([(h, None) for h in cli])
print(f"- CLI: marsad bank import of {len(cli):,} hashes into a new bank while the server runs: "
      f"{t_imported - t0:.2f} s; the first and last 50 matched {lag:.2f} s after the import exited "
      f"({t_imported - t0 + lag:.2f} s after it started); {ok:,} of {len(cli):,} matching; {watched}")
PY
echo "server RSS at the end: $(($(kib "$server" VmRSS) / 1024)) MiB (peak $(($(kib "$server" VmHWM) / 1024)) MiB)"

# Where the time goes, under 20,000 requests/s (or when asked).
below="$(python3 -c 'import sys; print(int(float(sys.argv[1]) < 20000))' "$rps")"
if [ "$profile" = yes ] || { [ "$profile" = auto ] && [ "$below" = 1 ]; }; then
    # perf pads its symbol column to the longest name: cut it back.
    tidy() { grep -v -e '^#' -e '^$' | sed -E 's/[[:space:]]+-[[:space:]]+-[[:space:]]*$//; s/[[:space:]]+$//' | cut -c1-150; }
    if command -v perf >/dev/null && perf record -q -e cpu-clock -o "$tmp/probe.data" true 2>/dev/null; then
        echo "== profile: perf record -e cpu-clock -F 499 --call-graph dwarf of the server, 8 s of wrk -t2 -c$connections" >&2
        perf record -q -e cpu-clock -F 499 --call-graph dwarf,16384 -p "$server" -o "$tmp/perf.data" -- sleep 8 2>"$tmp/perf.log" &
        perf_pid=$!
        run_wrk 2 "$connections" 9s /m/raw_lookup
        wait "$perf_pid" || true
        perf_pid=""
        echo
        echo "### Profile of the server under GET /m/raw_lookup ($(echo "$result" | cut -d' ' -f3) requests/s while profiled)"
        echo
        echo "Self time, functions over 1 %:"
        echo '```'
        perf report -i "$tmp/perf.data" --stdio --no-children -g none --sort symbol --percent-limit 1 2>/dev/null |
            tidy | head -30
        echo '```'
        echo "Share of the server's samples spent in (callees included):"
        echo
        perf report -i "$tmp/perf.data" --stdio --children -g none --sort symbol --percent-limit 0.1 \
            >"$tmp/children.txt" 2>/dev/null
        python3 - "$tmp/children.txt" <<'PY'
import re, sys
frames = [
    ("the PDQ index search (PdqIndex::range)", "marsad_index::pdq::PdqIndex::range"),
    ("the lookup, index included (LiveBanks::lookup)", "marsad_engine::live::LiveBanks::lookup"),
    ("middleware and handler (auth::guard)", "marsad_serve::auth::guard::{{closure}}"),
    ("writing responses (writev, loopback TCP included)", "__GI___writev"),
    ("reading requests (recv)", "__libc_recv"),
    ("parsing HTTP (hyper)", "<hyper::proto::h1::role::Server as hyper::proto::h1::Http1Transaction>::parse"),
    ("the query string (axum Query)", "axum::extract::query::Query<T>::try_from_uri"),
    ("the JSON answer (axum Json)", "<axum::json::Json<T> as axum_core::response::into_response::IntoResponse>::into_response"),
    ("malloc and free (self time)", "(alloc)"),
]
alloc = {"malloc", "_int_malloc", "_int_free", "free", "cfree", "__libc_free", "__libc_malloc", "malloc_consolidate"}
share = {"(alloc)": 0.0}
line_re = re.compile(r"\s*([\d.]+)%\s+([\d.]+)%\s+\[.\]\s+(.*?)(?:\s+\(inlined\))?(?:\s+-\s+-)?\s*$")
for line in open(sys.argv[1]):
    m = line_re.match(line)
    if not m:
        continue
    name = m.group(3).strip()
    share[name] = max(share.get(name, 0.0), float(m.group(1)))
    if name in alloc:
        share["(alloc)"] += float(m.group(2))
print("| | share of samples |")
print("|---|---|")
for label, name in frames:
    print(f"| {label} | {share.get(name, 0.0):.1f} % |")
PY
    else
        echo "perf is missing or not permitted (Debian: apt-get install -y linux-perf; kernel.perf_event_paranoid): no profile" >&2
    fi
fi
