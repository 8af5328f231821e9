//! `marsad token`, `marsad serve` and `marsad audit` as a user runs them:
//! the binary on a loopback port, stopped with SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{marsad, run, stdout};

#[test]
fn tokens_are_shown_once_listed_and_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let o = run(&db, &["token", "create", "--role", "moderator", "--name", "ci"]);
    assert!(o.status.success(), "{}", crate::support::stderr(&o));
    let token = stdout(&o).trim().to_owned();
    assert!(token.starts_with("marsad_") && token.len() == 71, "{token}");
    let o = run(&db, &["token", "create", "--role", "boss", "--name", "x"]);
    assert!(!o.status.success());
    assert!(crate::support::stderr(&o).contains("viewer, analyst, moderator or admin"));
    let o = run(&db, &["token", "create", "--role", "viewer", "--name", "ci"]);
    assert!(!o.status.success(), "a second token of that name");
    let list: Value = serde_json::from_str(&stdout(&run(&db, &["--json", "token", "list"]))).unwrap();
    assert_eq!(list[0]["name"], "ci");
    assert_eq!(list[0]["role"], "moderator");
    assert!(!list.to_string().contains(&token), "the token is never listed");
    // Only its hash is stored.
    let raw = std::fs::read(&db).unwrap();
    assert!(!raw.windows(token.len()).any(|w| w == token.as_bytes()));
    assert!(run(&db, &["token", "revoke", "ci"]).status.success());
    assert!(!run(&db, &["token", "revoke", "ci"]).status.success());
    let audit = stdout(&run(&db, &["--json", "audit"]));
    let actions: Vec<String> = audit
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(actions, ["token.create", "token.revoke"]);
}

#[test]
fn serve_answers_and_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let token =
        stdout(&run(&db, &["token", "create", "--role", "moderator", "--name", "ci"])).trim().to_owned();
    let mut child = marsad()
        .args(["--db", db.to_str().unwrap(), "serve", "--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let base = line.trim().strip_prefix("listening on ").expect("the listening line").to_owned();
    let http = reqwest::blocking::Client::new();
    let started = Instant::now();
    while http.get(format!("{base}/status")).send().map(|r| r.status().as_u16()).unwrap_or(0) != 200 {
        assert!(started.elapsed() < Duration::from_secs(30), "never ready");
        std::thread::sleep(Duration::from_millis(20));
    }
    let r = http
        .post(format!("{base}/c/banks"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"name": "FROM_CLI_TEST"}))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    assert_eq!(http.get(format!("{base}/c/banks")).send().unwrap().status().as_u16(), 401);
    // SIGTERM: a clean exit, and the write is in the store and the log.
    // SAFETY: kill(2) with a pid this test spawned and has not reaped.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    let banks: Value = serde_json::from_str(&stdout(&run(&db, &["--json", "bank", "list"]))).unwrap();
    assert_eq!(banks[0]["hma_name"], "FROM_CLI_TEST");
    let audit = stdout(&run(&db, &["--json", "audit", "--limit", "10"]));
    assert!(audit.contains("\"POST /c/banks\""), "{audit}");
    assert!(audit.contains("\"auth.refused\""), "{audit}");
}
