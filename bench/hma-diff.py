#!/usr/bin/env python3
"""Run the same sequence of HMA API calls against Meta's HMA and against
`marsad serve`, and compare them call by call.

Usage:
    pip install requests pillow
    python3 bench/hma-diff.py --hma http://127.0.0.1:5100 \
        --marsad http://127.0.0.1:PORT --marsad-token marsad_... [--verbose]

Both servers must start from empty stores (a fresh HMA database, a fresh
marsad --db): content ids are then expected to coincide, and the script
still maps each side's ids to labels (c1, c2, ...) so that a shifted
sequence does not hide the real comparison. The marsad token must be an
admin's (the sequence changes signal type settings).

The calls are written from HMA's blueprints (`/h` hashing.py, `/m`
matching.py, `/c` curation.py and their pydantic schemas), not from its
tests. HMA builds its index in the background: before a lookup that
depends on a bank change the script waits until HMA's
`/c/signal_type/index` says no index is out of date, then `--hma-settle`
seconds for its in-memory index cache to reload. marsad's index is live.

What is normalised before comparing (both sides alike):
  * content ids, through the labels above;
  * timestamps in `/m/index/status` and `/c/signal_type/index`;
  * the order of match lists (HMA's comes from its faiss index);
  * pydantic's version in the `url` of a 422's problems;
  * on two steps, the wording that is the installed pydantic's (the
    `[type=…]` detail of a quoted ValidationError) or marsad's reason after
    HMA's "Invalid or unsafe URL provided" (README documents both);
  * in listings and answers keyed by signal type, the signal types HMA does
    not install (marsad's own `md5`, `sha256`, `audio`, `text`, `vpdq`) are
    dropped: README documents them.

Set up HMA as README ("Serving: HMA's matching API") says: a venv with
hasher-matcher-actioner installed, a PostgreSQL database, its migrations,
gunicorn with TASK_INDEXER and TASK_INDEX_CACHE on (short intervals make the
run faster).

Every remaining difference is printed with both bodies; the script exits 1
if one is not on ALLOWED below (each with its reason), else 0.
"""

import argparse
import io
import json
import random
import sys
import time

import requests
from PIL import Image, ImageDraw

# Steps whose difference is known and documented (README, "Serving: HMA's
# matching API"), with the reason. A step listed here that turns out the
# same is reported as "same".
ALLOWED = {
    "site-map": "marsad serves neither HMA's exchange, UI, dev nor openapi "
    "routes, and lists its own API and UI routes (README: exchange routes "
    "are not served)",
    "lookup GET bypass_coinflip": "marsad honours bypass_coinflip on GET too; "
    "HMA reads it only on POST (README, Matching)",
    "lookup POST flat image": "a photo of PDQ quality under 50: HMA answers "
    "400, marsad matches nothing (README, Signal types)",
    "route 404 non-int content id": "Flask answers an unknown route with its "
    "HTML 404 page; marsad answers JSON",
    # HMA's own failures, where marsad answers what HMA's view means
    "compare video_md5": "HMA answers 500: SignalSimilarityInfo (the exact "
    "types' comparison detail) is not JSON serializable",
    "compare two types": "HMA answers 500, as for compare video_md5",
    "set signal type": "HMA answers 500 to every PUT /c/signal_type/<name>: "
    "with flask-openapi3 4.x the view gets no signal_type_name (TypeError)",
    "signal types after set": "follows from set signal type (HMA changed nothing)",
    "set signal type back": "HMA answers 500, as for set signal type",
    "set signal type no ratio": "HMA answers 500, as for set signal type",
    "set signal type ratio not number": "HMA answers 500, as for set signal type",
    "set signal type ratio as string": "HMA answers 500, as for set signal type",
    "set signal type ratio > 1": "HMA answers 500, as for set signal type",
    "set signal type unknown": "HMA answers 500, as for set signal type",
    "raw_lookup one-entry index": "HMA matches nothing in a PDQ index of one "
    "hash once stored and loaded (python-threatexchange's PDQIndex "
    "serialize/deserialize of one entry; built in memory it matches)",
    "lookup one-entry index": "as raw_lookup one-entry index",
}

# Signal types HMA installs by default; marsad's extra ones are dropped from
# listings (documented).
HMA_SIGNAL_TYPES = {"pdq", "video_md5"}


def py_random(seed):
    """The number HMA's lookup draws for a seed (random.Random(seed))."""
    return random.Random(seed).random()


# ---------------------------------------------------------------- images


def make_image(seed, size=(320, 240), fmt="PNG", flat=False):
    rnd = random.Random(seed)
    img = Image.new("RGB", size, (128, 128, 128))
    if not flat:
        draw = ImageDraw.Draw(img)
        for _ in range(40):
            x0, y0 = rnd.randrange(size[0]), rnd.randrange(size[1])
            x1, y1 = x0 + rnd.randrange(10, 120), y0 + rnd.randrange(10, 120)
            colour = tuple(rnd.randrange(256) for _ in range(3))
            if rnd.random() < 0.5:
                draw.rectangle([x0, y0, x1, y1], fill=colour)
            else:
                draw.ellipse([x0, y0, x1, y1], fill=colour)
    buf = io.BytesIO()
    img.save(buf, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return buf.getvalue()


def make_video():
    """Two seconds of ffmpeg's test pattern as MP4, or None without ffmpeg."""
    import shutil
    import subprocess
    import tempfile

    if shutil.which("ffmpeg") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        out = f"{tmp}/v.mp4"
        subprocess.run(
            ["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=duration=2:size=128x96:rate=5",
             "-pix_fmt", "yuv420p", "-c:v", "libx264", "-bitexact", "-y", out],
            check=True,
        )
        with open(out, "rb") as f:
            return f.read()


def flip_bits(hex_hash, n, seed):
    """The hash with n distinct bits flipped (PDQ distance n)."""
    bits = int(hex_hash, 16)
    for b in random.Random(seed).sample(range(256), n):
        bits ^= 1 << b
    return f"{bits:064x}"


# ---------------------------------------------------------------- targets


class Target:
    def __init__(self, name, base, token=None):
        self.name = name
        self.base = base.rstrip("/")
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        # label -> id and id -> label for content ids
        self.ids = {}
        self.labels = {}

    def call(self, method, path, **kw):
        resp = self.session.request(method, self.base + path, timeout=120, **kw)
        try:
            body = resp.json()
        except ValueError:
            body = resp.text.strip()
        return resp.status_code, body


def fmt(path, target):
    """Fill {label} placeholders with the target's own content ids."""
    return path.format(**{k: v for k, v in target.ids.items()})


# ---------------------------------------------------------------- normalising


def norm_ids(body, target):
    def walk(v, key=None):
        if isinstance(v, dict):
            return {k: walk(x, k) for k, x in v.items()}
        if isinstance(v, list):
            out = [walk(x, key) for x in v]
            if key in ("matches",) or (out and all(isinstance(x, dict) and "bank_content_id" in x for x in out)):
                out.sort(key=lambda x: json.dumps(x, sort_keys=True))
            return out
        if key in ("id", "bank_content_id", "matches") and isinstance(v, int) and not isinstance(v, bool):
            return target.labels.get(v, f"<unknown id {v}>")
        return v

    return walk(body)


def norm_422(body):
    """pydantic's problems as they are, but for the library's version in
    `url` (https://errors.pydantic.dev/2.14/v/missing)."""
    if isinstance(body, list) and all(isinstance(e, dict) and "loc" in e for e in body):
        out = []
        for e in body:
            e = dict(e)
            if isinstance(e.get("url"), str):
                e["url"] = e["url"].rsplit("/", 1)[-1]
            out.append(e)
        return out
    return body


def pydantic_message(body):
    """A message quoting a pydantic ValidationError, without the detail
    lines whose wording is the installed pydantic's ([type=…] and its
    "For further information" URL)."""
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return {**body, "message": body["message"].split(" [type=")[0]}
    return body


def url_refused(body):
    """marsad, not fetching URLs, says why after HMA's words."""
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        m = body["message"]
        if m.startswith("Invalid or unsafe URL provided"):
            return {**body, "message": "Invalid or unsafe URL provided"}
    return body


def norm_timestamps(body):
    if not isinstance(body, dict):
        return body
    out = {}
    for st, v in body.items():
        if isinstance(v, dict):
            v = dict(v)
            for k in ("built_to", "newest_db_item", "index_built_to"):
                if isinstance(v.get(k), int) and v[k] > 0:
                    v[k] = "<ts>"
        out[st] = v
    return out


def only_hma_types(body):
    """Drop marsad's own signal types (documented) from a listing or an
    answer keyed by signal type."""
    if isinstance(body, dict) and "message" not in body:
        return {k: v for k, v in body.items() if k in HMA_SIGNAL_TYPES}
    if isinstance(body, list):
        return [x for x in body if not (isinstance(x, dict) and "enabled_ratio" in x and x.get("name") not in HMA_SIGNAL_TYPES)]
    return body


# ---------------------------------------------------------------- runner


class Diff:
    def __init__(self, hma, marsad, settle, verbose):
        self.hma = hma
        self.marsad = marsad
        self.settle = settle
        self.verbose = verbose
        self.rows = []

    def sync(self, deadline=180):
        """Wait until HMA's stored indexes are built to its banks' content,
        then for its in-memory cache to load them. marsad needs nothing."""
        start = time.time()
        while True:
            status, body = self.hma.call("GET", "/c/signal_type/index")
            if status == 200 and isinstance(body, dict) and not any(
                v.get("index_out_of_date") for v in body.values()
            ):
                break
            if time.time() - start > deadline:
                print(f"warning: HMA's index still out of date after {deadline}s: {body}", file=sys.stderr)
                break
            time.sleep(1)
        time.sleep(self.settle)
        if self.verbose:
            print(f"  (HMA index synced in {time.time() - start:.1f}s)", file=sys.stderr)

    def step(self, name, method, path, norm=None, record=None, **kw):
        """One call on both sides. `kw` goes to requests (json, params,
        files, data); a callable value is called with the target. `record`
        names the label under which the answer's "id" is kept."""
        results = []
        for target in (self.hma, self.marsad):
            args = {k: (v(target) if callable(v) else v) for k, v in kw.items()}
            status, body = target.call(method, fmt(path, target), **args)
            if record and isinstance(body, dict) and isinstance(body.get("id"), int):
                target.ids[record] = body["id"]
                target.labels[body["id"]] = record
            body = norm_422(norm_ids(body, target))
            if norm:
                body = norm(body)
            results.append((status, body))
        (hs, hb), (ms, mb) = results
        same = hs == ms and hb == mb
        verdict = "same" if same else ("allowed" if name in ALLOWED else "DIFFERS")
        self.rows.append((name, method, path, hs, ms, verdict, hb, mb))
        return results

    def report(self):
        width = max(len(r[0]) for r in self.rows)
        print(f"{'step':<{width}}  {'HMA':>4} {'marsad':>6}  verdict")
        for name, method, path, hs, ms, verdict, hb, mb in self.rows:
            print(f"{name:<{width}}  {hs:>4} {ms:>6}  {verdict}")
            if verdict != "same":
                print(f"{'':<{width}}    {method} {path}")
                if verdict == "allowed":
                    print(f"{'':<{width}}    reason: {ALLOWED[name]}")
                print(f"{'':<{width}}    HMA:    {short(hb)}")
                print(f"{'':<{width}}    marsad: {short(mb)}")
        bad = [r for r in self.rows if r[5] == "DIFFERS"]
        allowed = [r for r in self.rows if r[5] == "allowed"]
        print(f"\n{len(self.rows)} calls: {len(self.rows) - len(bad) - len(allowed)} same, "
              f"{len(allowed)} allowed differences, {len(bad)} differences")
        return 1 if bad else 0


def short(body, limit=700):
    text = json.dumps(body, sort_keys=True) if not isinstance(body, str) else body
    return text if len(text) <= limit else text[:limit] + "…"


# ---------------------------------------------------------------- the sequence


def run(d):
    P1 = f"{random.Random(1).getrandbits(256):064x}"
    P2 = f"{random.Random(2).getrandbits(256):064x}"
    P1_NEAR = flip_bits(P1, 9, 3)
    P1_FAR = flip_bits(P1, 40, 4)
    MD5 = "D41D8CD98F00B204E9800998ECF8427E"
    IMG_A = make_image("a")
    IMG_B = make_image("b")
    IMG_A_JPEG = make_image("a", fmt="JPEG")
    IMG_FLAT = make_image("flat", flat=True)

    def photo(data, name="photo", filename="x.png", mime="image/png"):
        return lambda _t: {name: (filename, data, mime)}

    # seeds whose draw keeps a 0.5 bank in, and keeps it out
    seed_in = next(f"s{i}" for i in range(1000) if py_random(f"s{i}") <= 0.5)
    seed_out = next(f"s{i}" for i in range(1000) if py_random(f"s{i}") > 0.5)

    # ---- banks
    d.step("list banks (empty)", "GET", "/c/banks")
    d.step("create bank", "POST", "/c/banks", json={"name": "DIFF_A"})
    d.step("create bank enabled_ratio", "POST", "/c/banks", json={"name": "DIFF_B", "enabled_ratio": 0.5})
    d.step("create bank enabled=false", "POST", "/c/banks", json={"name": "DIFF_C", "enabled": False})
    d.step("create bank _LEADING", "POST", "/c/banks", json={"name": "_DIFF_E1"})
    d.step("create bank lowercase name", "POST", "/c/banks", json={"name": "diff_bad"})
    d.step("create bank dash name", "POST", "/c/banks", json={"name": "DIFF-BAD"})
    d.step("create bank digit first", "POST", "/c/banks", json={"name": "1DIFF"})
    d.step("create bank empty name", "POST", "/c/banks", json={"name": ""})
    d.step("create bank duplicate", "POST", "/c/banks", json={"name": "DIFF_A"})
    d.step("create bank no name", "POST", "/c/banks", json={})
    d.step("create bank name not string", "POST", "/c/banks", json={"name": 5})
    d.step("create bank ratio not number", "POST", "/c/banks", json={"name": "DIFF_X", "enabled_ratio": "lots"})
    d.step("create bank not json", "POST", "/c/banks", data="name=DIFF_Y",
           headers={"Content-Type": "application/x-www-form-urlencoded"})
    d.step("list banks", "GET", "/c/banks")
    d.step("get bank", "GET", "/c/bank/DIFF_B")
    d.step("get bank unknown", "GET", "/c/bank/NO_SUCH_BANK")
    d.step("update bank ratio", "PUT", "/c/bank/DIFF_C", json={"enabled_ratio": 0.25})
    d.step("update bank enabled", "PUT", "/c/bank/DIFF_C", json={"enabled": True})
    d.step("update bank rename", "PUT", "/c/bank/DIFF_C", json={"name": "DIFF_D"})
    d.step("get renamed bank old name", "GET", "/c/bank/DIFF_C")
    d.step("update bank rename bad", "PUT", "/c/bank/DIFF_D", json={"name": "bad name"})
    d.step("update bank rename to existing", "PUT", "/c/bank/DIFF_D", json={"name": "DIFF_A"})
    d.step("update bank unknown", "PUT", "/c/bank/NO_SUCH_BANK", json={"enabled_ratio": 1.0})
    d.step("update bank ratio not number", "PUT", "/c/bank/DIFF_D", json={"enabled_ratio": "x"})
    d.step("update bank empty body", "PUT", "/c/bank/DIFF_D", json={})
    d.step("delete bank", "DELETE", "/c/bank/DIFF_D")
    d.step("delete bank unknown", "DELETE", "/c/bank/NO_SUCH_BANK")
    d.step("list banks after delete", "GET", "/c/banks")

    # ---- signals
    d.step("add signal pdq + note", "POST", "/c/bank/DIFF_A/signal", json={"pdq": P1, "note": "n1"}, record="c1")
    d.step("add signal pdq bank B", "POST", "/c/bank/DIFF_B/signal", json={"pdq": P2}, record="c2")
    d.step("add signal video_md5 upper", "POST", "/c/bank/DIFF_A/signal", json={"video_md5": MD5}, record="c3")
    d.step("add signal pdq bad", "POST", "/c/bank/DIFF_A/signal", json={"pdq": "abc"})
    d.step("add signal pdq uppercase", "POST", "/c/bank/DIFF_A/signal", json={"pdq": P1.upper()})
    d.step("add signal unknown type", "POST", "/c/bank/DIFF_A/signal", json={"nosuch": "x"})
    d.step("add signal none", "POST", "/c/bank/DIFF_A/signal", json={})
    d.step("add signal only note", "POST", "/c/bank/DIFF_A/signal", json={"note": "x"})
    d.step("add signal note too long", "POST", "/c/bank/DIFF_A/signal", json={"pdq": P1, "note": "x" * 256})
    d.step("add signal note not string", "POST", "/c/bank/DIFF_A/signal", json={"pdq": P1, "note": 5})
    d.step("add signal unknown bank", "POST", "/c/bank/NO_SUCH_BANK/signal", json={"pdq": P1})

    # ---- content by upload
    meta = json.dumps({"content_id": "c-1", "content_uri": "https://example.com/a", "json": {"k": [1, 2]}})
    d.step("add content photo + metadata + note", "POST", "/c/bank/DIFF_A/content",
           files=photo(IMG_A), data={"metadata": meta, "note": "seen"}, record="c4")
    d.step("add content photo bank B", "POST", "/c/bank/DIFF_B/content", files=photo(IMG_B), record="c5")
    d.step("add content metadata bad json", "POST", "/c/bank/DIFF_A/content",
           files=photo(IMG_A), data={"metadata": "{nope"})
    d.step("add content metadata not object", "POST", "/c/bank/DIFF_A/content",
           files=photo(IMG_A), data={"metadata": "[1]"})
    d.step("add content metadata unknown key", "POST", "/c/bank/DIFF_A/content",
           files=photo(IMG_A), data={"metadata": json.dumps({"colour": "red"})}, norm=pydantic_message)
    d.step("add content no file", "POST", "/c/bank/DIFF_A/content", data={"note": "x"})
    d.step("add content field not a content type", "POST", "/c/bank/DIFF_A/content",
           files=photo(IMG_A, name="document"))
    d.step("add content two files", "POST", "/c/bank/DIFF_A/content",
           files=lambda _t: [("photo", ("a.png", IMG_A, "image/png")), ("video", ("b.png", IMG_B, "image/png"))])
    d.step("add content unknown bank", "POST", "/c/bank/NO_SUCH_BANK/content", files=photo(IMG_A))
    d.step("add content url not http", "POST", "/c/bank/DIFF_A/content", params={"url": "ftp://example.com/a.png"}, norm=url_refused)

    # ---- content get / update
    d.step("get content", "GET", "/c/bank/DIFF_A/content/{c4}")
    d.step("get content include_signals", "GET", "/c/bank/DIFF_A/content/{c4}", params={"include_signals": "true"})
    d.step("get content include_metadata=false", "GET", "/c/bank/DIFF_A/content/{c4}",
           params={"include_metadata": "false"})
    d.step("get content signal + note", "GET", "/c/bank/DIFF_A/content/{c1}", params={"include_signals": "true"})
    d.step("get content via other bank", "GET", "/c/bank/DIFF_B/content/{c1}")
    d.step("get content unknown id", "GET", "/c/bank/DIFF_A/content/999999")
    d.step("get content unknown bank", "GET", "/c/bank/NO_SUCH_BANK/content/{c1}")
    d.step("route 404 non-int content id", "GET", "/c/bank/DIFF_A/content/abc")
    d.step("update content disable", "PUT", "/c/bank/DIFF_A/content/{c1}", json={"disable_until_ts": 0})
    d.step("update content note", "PUT", "/c/bank/DIFF_A/content/{c4}", json={"note": "changed"})
    d.step("update content note clear", "PUT", "/c/bank/DIFF_A/content/{c4}", json={"note": ""})
    d.step("update content negative ts", "PUT", "/c/bank/DIFF_A/content/{c1}", json={"disable_until_ts": -1})
    d.step("update content ts far future", "PUT", "/c/bank/DIFF_A/content/{c1}", json={"disable_until_ts": 4102444800 * 2})
    d.step("update content ts not int", "PUT", "/c/bank/DIFF_A/content/{c1}", json={"disable_until_ts": "soon"})
    d.step("update content ts as string", "PUT", "/c/bank/DIFF_A/content/{c3}", json={"disable_until_ts": "1"})
    d.step("update content unknown id", "PUT", "/c/bank/DIFF_A/content/999999", json={"disable_until_ts": 1})
    d.step("update content unknown bank", "PUT", "/c/bank/NO_SUCH_BANK/content/{c1}", json={"disable_until_ts": 1})
    d.step("get content disabled", "GET", "/c/bank/DIFF_A/content/{c1}")

    # ---- hashing
    d.step("hash photo png", "POST", "/h/hash", files=photo(IMG_A))
    d.step("hash photo jpeg", "POST", "/h/hash", files=photo(IMG_A_JPEG, filename="a.jpg", mime="image/jpeg"))
    d.step("hash flat image", "POST", "/h/hash", files=photo(IMG_FLAT))
    d.step("hash types=pdq", "POST", "/h/hash", files=photo(IMG_A), params={"types": "pdq"})
    d.step("hash types=video_md5 for photo", "POST", "/h/hash", files=photo(IMG_A), params={"types": "video_md5"})
    d.step("hash as video", "POST", "/h/hash", files=photo(IMG_A, name="video"))
    d.step("hash no file", "POST", "/h/hash")
    d.step("hash unknown content type field", "POST", "/h/hash", files=photo(IMG_A, name="document"))
    d.step("hash two files", "POST", "/h/hash",
           files=lambda _t: [("photo", ("a.png", IMG_A, "image/png")), ("photo", ("b.png", IMG_B, "image/png"))])
    d.step("hash GET no url", "GET", "/h/hash")
    d.step("hash GET url not http", "GET", "/h/hash", params={"url": "ftp://example.com/a.png"}, norm=url_refused)
    d.step("hash GET url bad port", "GET", "/h/hash", params={"url": "http://example.com:abc/a.png"}, norm=url_refused)

    # ---- matching (after HMA's index has caught up)
    d.sync()
    rl = "/m/raw_lookup"
    d.step("raw_lookup exact", "GET", rl, params={"signal_type": "pdq", "signal": P1})
    d.step("raw_lookup include_distance", "GET", rl, params={"signal_type": "pdq", "signal": P1, "include_distance": "true"})
    d.step("raw_lookup near", "GET", rl, params={"signal_type": "pdq", "signal": P1_NEAR, "include_distance": "true"})
    d.step("raw_lookup far", "GET", rl, params={"signal_type": "pdq", "signal": P1_FAR, "include_distance": "true"})
    d.step("raw_lookup banks filter hit", "GET", rl, params={"signal_type": "pdq", "signal": P1, "banks": "DIFF_A,DIFF_B"})
    d.step("raw_lookup banks filter miss", "GET", rl, params={"signal_type": "pdq", "signal": P1, "banks": "DIFF_B"})
    d.step("raw_lookup video_md5", "GET", rl, params={"signal_type": "video_md5", "signal": MD5.lower(), "include_distance": "true"})
    d.step("raw_lookup include_distance=1", "GET", rl, params={"signal_type": "pdq", "signal": P1, "include_distance": "1"})
    d.step("raw_lookup include_distance bad", "GET", rl, params={"signal_type": "pdq", "signal": P1, "include_distance": "maybe"})
    d.step("raw_lookup bad signal", "GET", rl, params={"signal_type": "pdq", "signal": "zz"})
    d.step("raw_lookup unknown type", "GET", rl, params={"signal_type": "nosuch", "signal": P1})
    d.step("raw_lookup no signal", "GET", rl, params={"signal_type": "pdq"})
    d.step("raw_lookup nothing", "GET", rl)

    lk = "/m/lookup"
    d.step("lookup GET (disabled content)", "GET", lk, params={"signal_type": "pdq", "signal": P1})
    d.step("lookup GET bank B seed in", "GET", lk, params={"signal_type": "pdq", "signal": P2, "seed": seed_in})
    d.step("lookup GET bank B seed out", "GET", lk, params={"signal_type": "pdq", "signal": P2, "seed": seed_out})
    d.step("lookup GET bypass_coinflip", "GET", lk,
           params={"signal_type": "pdq", "signal": P2, "seed": seed_out, "bypass_coinflip": "true"})
    d.step("lookup GET video_md5", "GET", lk, params={"signal_type": "video_md5", "signal": MD5.lower()})
    d.step("lookup GET banks filter", "GET", lk, params={"signal_type": "pdq", "signal": P2, "seed": seed_in, "banks": "DIFF_A"})
    d.step("lookup GET no signal", "GET", lk, params={"signal_type": "pdq"})
    d.step("lookup GET nothing", "GET", lk)
    d.step("lookup GET bad signal", "GET", lk, params={"signal_type": "pdq", "signal": "zz"})
    d.step("lookup GET unknown type", "GET", lk, params={"signal_type": "nosuch", "signal": P1})
    d.step("lookup GET url not http", "GET", lk, params={"url": "file:///etc/passwd"}, norm=url_refused)
    d.step("lookup POST photo", "POST", lk, files=photo(IMG_A))
    d.step("lookup POST photo B seed in", "POST", lk, files=photo(IMG_B), params={"seed": seed_in})
    d.step("lookup POST photo B seed out", "POST", lk, files=photo(IMG_B), params={"seed": seed_out})
    d.step("lookup POST bypass_coinflip", "POST", lk, files=photo(IMG_B), params={"seed": seed_out, "bypass_coinflip": "true"})
    d.step("lookup POST banks filter", "POST", lk, files=photo(IMG_A), params={"banks": "DIFF_B"})
    d.step("lookup POST jpeg", "POST", lk, files=photo(IMG_A_JPEG, filename="a.jpg", mime="image/jpeg"))
    d.step("lookup POST flat image", "POST", lk, files=photo(IMG_FLAT))
    d.step("lookup POST no file", "POST", lk)

    cmp = "/m/compare"
    d.step("compare pdq near", "POST", cmp, json={"pdq": [P1, P1_NEAR]})
    d.step("compare pdq far", "POST", cmp, json={"pdq": [P1, P1_FAR]})
    d.step("compare video_md5", "POST", cmp, json={"video_md5": [MD5, MD5.lower()]})
    d.step("compare two types", "POST", cmp, json={"pdq": [P1, P2], "video_md5": [MD5, "0" * 32]})
    d.step("compare empty", "POST", cmp, json={})
    d.step("compare three hashes", "POST", cmp, json={"pdq": [P1, P1, P1]})
    d.step("compare not a list", "POST", cmp, json={"pdq": P1})
    d.step("compare not a dict", "POST", cmp, json=[P1, P1])
    d.step("compare unknown type", "POST", cmp, json={"nosuch": [P1, P1]})
    d.step("compare bad hash", "POST", cmp, json={"pdq": [P1, "zz"]})

    d.step("index status", "GET", "/m/index/status", norm=lambda b: norm_timestamps(only_hma_types(b)))
    d.step("index status pdq", "GET", "/m/index/status", params={"signal_type": "pdq"}, norm=norm_timestamps)
    d.step("index status unknown", "GET", "/m/index/status", params={"signal_type": "nosuch"})

    # ---- signal and content types
    d.step("signal types", "GET", "/c/signal_type", norm=only_hma_types)
    d.step("set signal type", "PUT", "/c/signal_type/video_md5", json={"enabled_ratio": 0.0})
    d.step("signal types after set", "GET", "/c/signal_type", norm=only_hma_types)
    d.step("lookup type at ratio 0", "GET", "/m/raw_lookup", params={"signal_type": "video_md5", "signal": MD5.lower()})
    d.step("set signal type back", "PUT", "/c/signal_type/video_md5", json={"enabled_ratio": 1.0})
    d.step("set signal type no ratio", "PUT", "/c/signal_type/pdq", json={})
    d.step("set signal type ratio not number", "PUT", "/c/signal_type/pdq", json={"enabled_ratio": "x"})
    d.step("set signal type ratio as string", "PUT", "/c/signal_type/pdq", json={"enabled_ratio": "1.0"})
    d.step("set signal type ratio > 1", "PUT", "/c/signal_type/pdq", json={"enabled_ratio": 1.5})
    d.step("set signal type unknown", "PUT", "/c/signal_type/nosuch", json={"enabled_ratio": 1.0})
    d.step("signal type index", "GET", "/c/signal_type/index", norm=lambda b: norm_timestamps(only_hma_types(b)))
    d.step("signal type index pdq", "GET", "/c/signal_type/index", params={"signal_type": "pdq"}, norm=norm_timestamps)
    d.step("signal type index unknown", "GET", "/c/signal_type/index", params={"signal_type": "nosuch"})
    d.step("content types", "GET", "/c/content_type")

    # ---- removal, then lookups again
    d.step("enable content again", "PUT", "/c/bank/DIFF_A/content/{c1}", json={"disable_until_ts": 1})
    d.step("delete content", "DELETE", "/c/bank/DIFF_A/content/{c4}")
    d.step("delete content again", "DELETE", "/c/bank/DIFF_A/content/{c4}")
    d.step("delete content unknown bank", "DELETE", "/c/bank/NO_SUCH_BANK/content/{c1}")
    d.step("delete content via other bank", "DELETE", "/c/bank/DIFF_B/content/{c1}")
    d.step("get deleted content", "GET", "/c/bank/DIFF_A/content/{c4}")
    d.step("delete bank B", "DELETE", "/c/bank/DIFF_B")
    d.step("add signal again", "POST", "/c/bank/DIFF_A/signal", json={"pdq": P1_NEAR}, record="c6")
    d.sync()
    d.step("raw_lookup one-entry index", "GET", rl, params={"signal_type": "pdq", "signal": P1, "include_distance": "true"})
    d.step("lookup one-entry index", "GET", lk, params={"signal_type": "pdq", "signal": P1})
    d.step("add signal second", "POST", "/c/bank/DIFF_A/signal", json={"pdq": P2, "note": "again"}, record="c7")
    d.sync()
    d.step("raw_lookup after deletes", "GET", rl, params={"signal_type": "pdq", "signal": P1, "include_distance": "true"})
    d.step("lookup after deletes", "GET", lk, params={"signal_type": "pdq", "signal": P1})
    d.step("lookup re-added hash", "GET", lk, params={"signal_type": "pdq", "signal": P2})
    d.step("lookup POST deleted photo", "POST", lk, files=photo(IMG_A))
    d.step("lookup POST deleted bank", "POST", lk, files=photo(IMG_B), params={"bypass_coinflip": "true"})
    d.step("index status after deletes", "GET", "/m/index/status", norm=lambda b: norm_timestamps(only_hma_types(b)))
    d.step("list banks at end", "GET", "/c/banks")

    # ---- a real video (when ffmpeg is there)
    video = make_video()
    if video is not None:
        vid = lambda _t: {"video": ("v.mp4", video, "video/mp4")}
        d.step("hash video", "POST", "/h/hash", files=vid, norm=only_hma_types)
        d.step("add content video", "POST", "/c/bank/DIFF_A/content", files=vid, norm=only_hma_types, record="c8")
        d.step("get content video", "GET", "/c/bank/DIFF_A/content/{c8}", params={"include_signals": "true"},
               norm=lambda b: {**b, "signals": only_hma_types(b.get("signals"))} if isinstance(b, dict) and "signals" in b else b)
        d.sync()
        d.step("lookup POST video", "POST", lk, files=vid, norm=only_hma_types)
    else:
        print("ffmpeg not found: the video steps are skipped", file=sys.stderr)

    # ---- core
    d.step("status", "GET", "/status")
    d.step("status live", "GET", "/status/live")
    d.step("site-map", "GET", "/site-map")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hma", required=True, help="HMA's base URL, e.g. http://127.0.0.1:5100")
    ap.add_argument("--marsad", required=True, help="marsad serve's base URL")
    ap.add_argument("--marsad-token", required=True, help="an admin token for marsad")
    ap.add_argument("--hma-token", help="a bearer token, if HMA sits behind an auth hook")
    ap.add_argument("--hma-settle", type=float, default=7.0,
                    help="seconds for HMA's index cache to reload a built index (its "
                    "TASK_INDEX_CACHE_INTERVAL_SECONDS plus one)")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    d = Diff(Target("hma", args.hma, args.hma_token), Target("marsad", args.marsad, args.marsad_token),
             args.hma_settle, args.verbose)
    run(d)
    return d.report()


if __name__ == "__main__":
    sys.exit(main())
