#!/usr/bin/env bash
# Peak memory of one `marsad ingest` over decompression bombs, against the
# memory budget: two 16-bit 10000×10000 PNGs (600 MiB of samples each),
# 8-bit 8000×8000 RGBA and RGB PNGs, a 16-bit 6000×6000 RGBA PNG, two 8K
# videos and a 60 MB text, in one Telegram export. Then the report of a
# store spanning year 1 to year 9999.
#
#   bench/memory.sh [BUDGET]     # default 512M; needs ffmpeg, python3, GNU time
#
# Prints marsad's own peak RSS (VmHWM, polled) and the largest peak of the
# process tree (GNU time's "Maximum resident set size", ffmpeg included).
set -euo pipefail
cd "$(dirname "$0")/.."
budget="${1:-512M}"
cargo build --release -q -p marsad
bin="$PWD/target/release/marsad"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
ex="$work/export"
mkdir -p "$ex/photos" "$ex/video_files"
still() { ffmpeg -nostdin -v error -y -f lavfi -i "color=c=$2:s=$3:d=1" -frames:v 1 -pix_fmt "$4" "$ex/photos/$1"; }
still a16.png gray 10000x10000 rgb48be
still b16.png white 10000x10000 rgb48be
still c8.png gray 8000x8000 rgba
still d8.png white 8000x8000 rgb24
still e16.png black 6000x6000 rgba64be
for c in red blue; do
    ffmpeg -nostdin -v error -y -f lavfi -i "color=c=$c:s=7680x4320:r=4:d=2" -c:v mpeg4 -q:v 31 "$ex/video_files/$c.mp4"
done
python3 - "$ex" <<'EOF'
import json, sys
ex = sys.argv[1]
msgs = []
for i, p in enumerate(["a16.png", "b16.png", "c8.png", "d8.png", "e16.png"]):
    msgs.append({"id": i + 1, "type": "message", "date_unixtime": str(1700000000 + i * 60), "photo": "photos/" + p, "text": f"still {i}"})
for i, v in enumerate(["red.mp4", "blue.mp4"]):
    msgs.append({"id": 10 + i, "type": "message", "date_unixtime": str(1700001000 + i * 60), "file": "video_files/" + v,
                 "media_type": "video_file", "mime_type": "video/mp4", "text": "clip"})
msgs.append({"id": 20, "type": "message", "date_unixtime": "1700002000", "text": "word " * (12 << 20)})
json.dump({"name": "Budget", "type": "public_channel", "id": 1000000301, "messages": msgs}, open(ex + "/result.json", "w"))
EOF
echo "files: $(du -sh "$ex" | cut -f1) on disk; $(nproc) cores; budget $budget"
/usr/bin/time -f "%M" -o "$work/tree_kib" "$bin" --db "$work/m.db" --memory "$budget" ingest telegram "$ex" --json >"$work/summary.json" &
sleep 0.05
pid="$(pgrep -n -f "$work/m.db" || true)"
peak=0
while [ -n "$pid" ] && [ -e "/proc/$pid/status" ]; do
    v="$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)"
    [ -n "$v" ] && [ "$v" -gt "$peak" ] && peak="$v"
    sleep 0.01
done
wait
python3 - "$work/summary.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
print(f"posts {s['posts_added']}, media {s['media_added']}, fingerprints {s['fingerprints_added']}, refused {s['fingerprint_errors']}")
for f in s["fingerprint_failures"]:
    print("  refused:", f["error"])
EOF
echo "marsad peak RSS: $((peak / 1024)) MiB; process tree peak (GNU time): $(( $(cat "$work/tree_kib") / 1024 )) MiB"

printf '%s\n%s\n' \
  '{"platform":"telegram","source":"1","id":1,"timestamp":"0001-01-01T00:00:00Z","text":"placeholder text one two three four five"}' \
  '{"platform":"telegram","source":"2","id":2,"timestamp":"9999-12-31T23:00:00Z","text":"another placeholder text six seven eight nine"}' \
  >"$work/span.jsonl"
"$bin" --db "$work/span.db" ingest jsonl "$work/span.jsonl" >/dev/null
/usr/bin/time -f "%M %e" -o "$work/report_cost" "$bin" --db "$work/span.db" report --out "$work/span.html" >/dev/null
read -r kib secs <"$work/report_cost"
echo "report of year 1 to 9999: $(stat -c %s "$work/span.html") bytes, peak RSS $((kib / 1024)) MiB, $secs s"
