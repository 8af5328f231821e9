#!/usr/bin/env bash
# Ingest + fingerprint throughput of a generated image-heavy Telegram
# export, side by side in one run:
#   1. SQLite, one process (`marsad ingest`, every core);
#   2. PostgreSQL, one process (the same ingest into the shared store);
#   3. PostgreSQL through the work queue with ONE `marsad worker --threads 1`;
#   4. the same with TWO workers (`--threads 1` each).
# Each store is new (a schema of its own in database `test`, dropped after);
# the queue's time is from `ingest --queue` starting to every batch being
# applied (it waits for the workers).
#
#   bench/queue.sh                # N=3000 photos, 640×480 JPEG
#   N=10000 bench/queue.sh
#
# Needs the machine's PostgreSQL (127.0.0.1:5432, database test) and NATS
# with JetStream (127.0.0.1:4222): scripts/test starts both; psql; Python's
# Pillow for the images.
set -euo pipefail
cd "$(dirname "$0")/.."
# psql: no notices ("schema … does not exist, skipping", "drop cascades …").
export PGOPTIONS="${PGOPTIONS:---client-min-messages=warning}"
n="${N:-3000}"
pg="${MARSAD_TEST_POSTGRES:-postgres://127.0.0.1:5432/test}"
nats="${MARSAD_NATS:-nats://127.0.0.1:4222}"
work="$(mktemp -d)"
schemas=()
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for s in "${schemas[@]}"; do psql -q "$pg" -c "DROP SCHEMA IF EXISTS $s CASCADE" >/dev/null 2>&1 || true; done
    rm -rf "$work"
}
trap cleanup EXIT
cargo build --release --locked -p marsad >&2
m=./target/release/marsad

# An export of N photo messages, each a distinct 640×480 JPEG (smooth
# random shapes, so that PDQ sees real structure).
python3 - "$work/export" "$n" <<'PY'
import json, os, random, sys
from PIL import Image, ImageDraw
out, n = sys.argv[1], int(sys.argv[2])
os.makedirs(f"{out}/photos", exist_ok=True)
rng = random.Random(20261202)
msgs = []
for i in range(n):
    img = Image.new("RGB", (640, 480), tuple(rng.randrange(256) for _ in range(3)))
    d = ImageDraw.Draw(img)
    for _ in range(12):
        x, y = rng.randrange(640), rng.randrange(480)
        d.ellipse([x, y, x + rng.randrange(20, 300), y + rng.randrange(20, 300)],
                  fill=tuple(rng.randrange(256) for _ in range(3)))
    img.save(f"{out}/photos/p{i}.jpg", quality=85)
    msgs.append({"id": i + 1, "type": "message", "date": "2024-01-01T00:00:00",
                 "date_unixtime": str(1704067200 + 60 * i), "from": "Bench", "from_id": "channel1",
                 "photo": f"photos/p{i}.jpg", "width": 640, "height": 480,
                 "text": f"bench photo {i}", "text_entities": []})
json.dump({"name": "Bench", "type": "public_channel", "id": 1, "messages": msgs},
          open(f"{out}/result.json", "w"), ensure_ascii=False)
PY
du -sh "$work/export" >&2

schema() {
    local s="marsad_bench_$1_$$"
    schemas+=("$s")
    psql -q "$pg" -c "DROP SCHEMA IF EXISTS $s CASCADE; CREATE SCHEMA $s" >/dev/null
    echo "$pg?options=-csearch_path%3D$s"
}
timed() { # label, then the command; prints label, seconds, items/s
    local label="$1"; shift
    local start end
    start=$(date +%s.%N)
    "$@" > "$work/out.json"
    end=$(date +%s.%N)
    python3 - "$label" "$start" "$end" "$n" "$work/out.json" <<'PY'
import json, sys
label, start, end, n = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
s = json.load(open(sys.argv[5]))
s = s.get("summary", s)
secs = end - start
print(f"{label:34} {secs:7.2f} s  {n / secs:7.1f} photos/s  posts={s['posts_added']} prints={s['fingerprints_added']}")
PY
}
workers() { # db, count
    for _ in $(seq 1 "$2"); do
        "$m" --db "$1" --nats "$nats" worker --threads 1 2>>"$work/workers.log" &
        pids+=($!)
    done
}
stop_workers() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    pids=()
}

echo "machine: $(nproc) cores, $(uname -m); $n photos 640x480 JPEG"
timed "sqlite, one process" "$m" --db "$work/s.db" --json ingest telegram "$work/export"
db=$(schema direct)
timed "postgresql, one process" "$m" --db "$db" --json ingest telegram "$work/export"
for count in 1 2; do
    db=$(schema "queue$count")
    # The queue's streams are made by the first process to connect.
    "$m" --db "$db" --nats "$nats" jobs >/dev/null
    workers "$db" "$count"
    sleep 1
    timed "postgresql, queue, $count worker(s) x1 thread" \
        "$m" --db "$db" --nats "$nats" --json ingest telegram "$work/export" --queue
    stop_workers
done
