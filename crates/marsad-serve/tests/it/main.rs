//! `marsad serve` tested as its clients use it: the real server on a
//! loopback port, a real HTTP client, a real store.

mod api;
mod auth;
mod contract;
mod fetch;
mod jobs;
mod live;
mod protection;
mod review;
mod themes;
mod ui;
mod ui_browser;
mod ui_files;
mod uploads;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use marsad_engine::Engine;
use marsad_serve::{Running, ServeConfig};
use marsad_store::Role;
use reqwest::StatusCode;
use serde_json::Value;

/// Waits (at most 5 s: the upload is removed just after the job's end is
/// stored) until `dir` is empty, naming what is left behind.
pub async fn left_nothing_in(dir: &Path) {
    let left = || {
        std::fs::read_dir(dir).expect("scratch folder").map(|e| e.expect("entry").path()).collect::<Vec<_>>()
    };
    for _ in 0..100 {
        if left().is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("left behind in the scratch folder: {:?}", left());
}

/// A server on a loopback port over a fresh store, with one token per role.
#[allow(missing_debug_implementations)]
pub struct Server {
    pub running: Option<Running>,
    pub base: String,
    pub db: PathBuf,
    pub tokens: HashMap<Role, String>,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Server {
    pub async fn start() -> Server {
        Server::start_with(|_| {}).await
    }

    pub async fn start_with(configure: impl FnOnce(&mut ServeConfig)) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("serve.db");
        Server::start_on(dir, db, configure).await
    }

    /// A server on the store `db` (which may be another server's), with a
    /// new token per role; `dir` is kept as long as the server.
    pub async fn start_on(
        dir: tempfile::TempDir,
        db: PathBuf,
        configure: impl FnOnce(&mut ServeConfig),
    ) -> Server {
        // (the store is blocking: PostgreSQL's client may not run on an
        // async thread)
        let tokens = tokio::task::block_in_place(|| {
            let mut engine = Engine::open(db.to_str().expect("utf-8 path")).expect("store");
            let mut tokens = HashMap::new();
            for role in Role::ALL {
                let _ = engine.revoke_token(role.as_str());
                let t = engine.create_token(role.as_str(), role).expect("token");
                tokens.insert(role, t.token);
            }
            tokens
        });
        let mut cfg = ServeConfig::new(db.to_str().expect("utf-8 path"));
        cfg.addr = "127.0.0.1:0".parse().expect("addr");
        cfg.refresh = Duration::from_millis(50);
        configure(&mut cfg);
        let running = marsad_serve::start(cfg).await.expect("server starts");
        let base = format!("http://{}", running.addr);
        let server = Server {
            running: Some(running),
            base,
            db,
            tokens,
            http: reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("client"),
            _dir: dir,
        };
        server.wait_ready().await;
        server
    }

    pub async fn wait_ready(&self) {
        let started = Instant::now();
        loop {
            let r = self.http.get(self.url("/status")).send().await.expect("status");
            if r.status() == StatusCode::OK {
                assert_eq!(r.text().await.expect("body"), "I-AM-ALIVE");
                return;
            }
            assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(r.text().await.expect("body"), "INDEX-NOT-LOADED");
            assert!(started.elapsed() < Duration::from_secs(30), "index never loaded");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn token(&self, role: Role) -> &str {
        &self.tokens[&role]
    }

    /// A request as `role` (`None`: no token).
    pub fn req(&self, method: reqwest::Method, path: &str, role: Option<Role>) -> reqwest::RequestBuilder {
        let r = self.http.request(method, self.url(path));
        match role {
            Some(role) => r.bearer_auth(self.token(role)),
            None => r,
        }
    }

    /// A request as `role`, with a JSON body when given.
    pub async fn as_role(
        &self,
        role: Role,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let r = self.req(method, path, Some(role));
        send(match body {
            Some(b) => r.json(&b),
            None => r,
        })
        .await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        send(self.req(reqwest::Method::GET, path, Some(Role::Admin))).await
    }

    pub async fn post_json(&self, path: &str, body: Value) -> (StatusCode, Value) {
        send(self.req(reqwest::Method::POST, path, Some(Role::Admin)).json(&body)).await
    }

    pub async fn put_json(&self, path: &str, body: Value) -> (StatusCode, Value) {
        send(self.req(reqwest::Method::PUT, path, Some(Role::Admin)).json(&body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        send(self.req(reqwest::Method::DELETE, path, Some(Role::Admin))).await
    }

    /// Another connection to the same store, as the CLI would open it.
    pub fn engine(&self) -> Engine {
        Engine::open(self.db.to_str().expect("utf-8 path")).expect("store")
    }

    /// Stops the server; the store's folder is kept until the returned
    /// guard is dropped.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(r) = self.running.take() {
            r.stop().await.expect("clean shutdown");
        }
        self._dir
    }
}

/// Sends a request; the status and the JSON body (`null` when empty).
pub async fn send(r: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let resp = r.send().await.expect("request");
    let status = resp.status();
    let text = resp.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, body)
}

/// A PDQ hash in ThreatExchange's hex form from a seed.
pub fn pdq(seed: u64) -> String {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..4)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            format!("{x:016x}")
        })
        .collect()
}

/// `hash` with its first `bits` bits flipped.
pub fn flip(hash: &str, bits: usize) -> String {
    let mut bytes: Vec<u8> =
        (0..32).map(|i| u8::from_str_radix(&hash[2 * i..2 * i + 2], 16).expect("hex")).collect();
    for b in 0..bits {
        bytes[b / 8] ^= 0x80 >> (b % 8);
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs python3 on the spot (the reference implementations are Python).
pub fn python(script: &str) -> String {
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .output()
        .expect("python3 is needed (scripts/test installs it with python-threatexchange)");
    assert!(out.status.success(), "python3 failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

/// A PNG of `cell`-pixel blocks of pseudo-random colours (generated; busy
/// enough for PDQ's quality threshold).
pub fn busy_png(width: u32, height: u32, cell: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        let mut v = x / cell * 131 + y / cell * 71 + 3;
        v ^= v << 13;
        v ^= v >> 17;
        v ^= v << 5;
        image::Rgb([v as u8, (v >> 8) as u8, (v >> 16) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).expect("png");
    out.into_inner()
}
