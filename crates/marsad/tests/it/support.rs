//! Helpers: running the binary, building Telegram exports, reading the store.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use marsad_store::Stats;
use marsad_store::prelude::*;
use marsad_store_sqlite::SqliteStore;
use serde_json::{Value, json};

pub fn marsad() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_marsad"));
    c.env_remove("MARSAD_DB").env_remove("MARSAD_LOG");
    c
}

/// Runs marsad with `--db db` and the arguments.
pub fn run(db: &Path, args: &[&str]) -> Output {
    marsad().arg("--db").arg(db).args(args).output().expect("run marsad")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Starts `marsad --db db ingest telegram export ARGS…` with its output
/// piped (or discarded, when `quiet`), for a test that watches or kills it.
pub fn spawn_ingest(db: &Path, export: &Path, args: &[&str], quiet: bool) -> std::process::Child {
    let out = || if quiet { std::process::Stdio::null() } else { std::process::Stdio::piped() };
    marsad()
        .arg("--db")
        .arg(db)
        .args(["ingest", "telegram"])
        .arg(export)
        .args(args)
        .stdout(out())
        .stderr(out())
        .spawn()
        .expect("start marsad ingest")
}

/// Runs an ingest with `--json` and returns (exit success, summary).
pub fn ingest_json(db: &Path, kind: &str, path: &Path, extra: &[&str]) -> (bool, Value) {
    let mut args = vec!["ingest", kind, path.to_str().expect("utf8 path"), "--json"];
    args.extend_from_slice(extra);
    let o = run(db, &args);
    let out = stdout(&o);
    let v: Value = serde_json::from_str(out.trim())
        .unwrap_or_else(|e| panic!("ingest printed no JSON ({e}): stdout {out:?} stderr {:?}", stderr(&o)));
    (o.status.success(), v)
}

pub fn open(db: &Path) -> SqliteStore {
    SqliteStore::open(db).expect("open store")
}

pub fn stats(db: &Path) -> Stats {
    open(db).stats().expect("stats")
}

/// A Telegram single-chat export being built in a folder.
pub struct ChatExport {
    pub dir: PathBuf,
    pub chat: Value,
}

impl ChatExport {
    pub fn new(dir: &Path, id: i64, name: &str) -> Self {
        std::fs::create_dir_all(dir).expect("mkdir");
        ChatExport {
            dir: dir.to_owned(),
            chat: json!({ "name": name, "type": "public_channel", "id": id, "messages": [] }),
        }
    }

    pub fn push(&mut self, m: Value) -> &mut Self {
        self.chat["messages"].as_array_mut().expect("messages").push(m);
        self
    }

    /// Writes a media file under the export folder.
    pub fn file(&self, rel: &str, bytes: &[u8]) {
        let p = self.dir.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, bytes).expect("write media");
    }

    pub fn write(&self) -> PathBuf {
        let p = self.dir.join("result.json");
        std::fs::write(&p, serde_json::to_vec_pretty(&self.chat).expect("json")).expect("write");
        p
    }
}

/// A plain text message as Telegram Desktop writes it.
pub fn text_message(id: i64, unix: i64, text: &str) -> Value {
    json!({
        "id": id,
        "type": "message",
        "date": "2017-11-08T12:00:00",
        "date_unixtime": unix.to_string(),
        "from": "Channel",
        "from_id": "channel1",
        "text": text,
        "text_entities": [{"type": "plain", "text": text}],
    })
}

/// Writes a text-only single-chat export with `n` messages, streaming.
pub fn write_big_export(path: &Path, chat_id: i64, n: u64) {
    use std::io::Write;
    let f = std::fs::File::create(path).expect("create");
    let mut w = std::io::BufWriter::new(f);
    write!(
        w,
        "{{\"name\": \"Big Channel\", \"type\": \"public_channel\", \"id\": {chat_id}, \"messages\": ["
    )
    .expect("w");
    for i in 1..=n {
        if i > 1 {
            w.write_all(b",").expect("w");
        }
        let m = text_message(
            i as i64,
            1_500_000_000 + i as i64 * 37,
            &format!("رسالة تجريبية رقم {i} — placeholder"),
        );
        serde_json::to_writer(&mut w, &m).expect("w");
    }
    w.write_all(b"]}").expect("w");
    w.flush().expect("flush");
}

/// A small valid PNG (solid colour), so sniffed MIME types are real.
pub fn png_bytes(seed: u8) -> Vec<u8> {
    // 1×1 RGB PNG built by hand: signature, IHDR, IDAT (zlib stored), IEND.
    fn crc32(data: &[u8]) -> u32 {
        let mut c = 0xffff_ffffu32;
        for &b in data {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 != 0 { 0xedb8_8320 ^ (c >> 1) } else { c >> 1 };
            }
        }
        !c
    }
    fn adler(data: &[u8]) -> u32 {
        let (mut a, mut b) = (1u32, 0u32);
        for &d in data {
            a = (a + u32::from(d)) % 65521;
            b = (b + a) % 65521;
        }
        (b << 16) | a
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut c = kind.to_vec();
        c.extend_from_slice(data);
        out.extend_from_slice(&c);
        out.extend_from_slice(&crc32(&c).to_be_bytes());
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut png, b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0]);
    let raw = [0u8, seed, 255 - seed, 7];
    let mut z = vec![0x78, 0x01, 1, raw.len() as u8, 0, !(raw.len() as u8), 0xff];
    z.extend_from_slice(&raw);
    z.extend_from_slice(&adler(&raw).to_be_bytes());
    chunk(&mut png, b"IDAT", &z);
    chunk(&mut png, b"IEND", &[]);
    png
}

/// Every file under `dir`, in path order (none when it does not exist).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for p in entries.flatten().map(|e| e.path()) {
            if p.is_dir() { stack.push(p) } else { out.push(p) }
        }
    }
    out.sort();
    out
}
