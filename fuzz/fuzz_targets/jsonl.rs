//! JSON lines of posts: the bounded line reader on its own (every byte
//! accounted for, no line over the limit held), then a whole file through
//! `marsad_ingest::jsonl::ingest` into a store: per-line errors, never a
//! panic.
#![no_main]

use std::sync::{Mutex, OnceLock};

use libfuzzer_sys::fuzz_target;
use marsad_ingest::lines::{LineRead, read_line_bounded};
use marsad_ingest::{ExactOnly, IngestConfig, Stages};
use marsad_store_sqlite::SqliteStore;

struct Env {
    _dir: tempfile::TempDir,
    file: std::path::PathBuf,
    store: SqliteStore,
}

fn env() -> &'static Mutex<Env> {
    static ENV: OnceLock<Mutex<Env>> = OnceLock::new();
    ENV.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temporary folder");
        let store = SqliteStore::open(&dir.path().join("m.db")).expect("store");
        let file = dir.path().join("posts.jsonl");
        Mutex::new(Env { _dir: dir, file, store })
    })
}

fn lines(data: &[u8], limit: usize) {
    let mut r: &[u8] = data;
    let mut buf = Vec::new();
    let mut seen = 0usize;
    while let Some(read) = read_line_bounded(&mut r, &mut buf, limit).expect("reading a slice") {
        match read {
            LineRead::TooLong { bytes } => {
                assert!(bytes > limit as u64);
                seen += bytes as usize;
            }
            _ => {
                assert!(buf.len() <= limit);
                seen += buf.len();
            }
        }
    }
    assert!(seen <= data.len());
}

fuzz_target!(|data: &[u8]| {
    lines(data, 7);
    lines(data, 4096);
    let mut env = env().lock().unwrap_or_else(|e| e.into_inner());
    let Env { file, store, .. } = &mut *env;
    std::fs::write(&*file, data).expect("writing the input");
    let cfg = IngestConfig { batch_size: 7, ..IngestConfig::default() };
    let _ = marsad_ingest::jsonl::ingest(store, file, &cfg, &Stages::new(&ExactOnly));
});
