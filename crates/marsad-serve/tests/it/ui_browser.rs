//! The web UI in a real browser: Debian's Chromium, headless, driven by
//! Playwright (`playwright-core` from npm, installed by `scripts/test` into
//! `tests/ui/node_modules`), through `tests/ui/signin.mjs`.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::Server;

fn ui_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/ui")
}

/// Runs one of `tests/ui`'s scripts against the server; what it printed.
async fn browse(script: &str, base: &str, user: &str, password: &str) -> Value {
    let dir = ui_dir();
    assert!(
        dir.join("node_modules/playwright-core").is_dir(),
        "playwright-core is missing: run scripts/test (or: npm ci --prefix {})",
        dir.display()
    );
    let chromium = std::env::var("MARSAD_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    assert!(
        std::path::Path::new(&chromium).exists(),
        "{chromium} is missing: scripts/test installs Debian's chromium"
    );
    let mut child = std::process::Command::new("node")
        .arg(dir.join(script))
        .current_dir(&dir)
        .env("MARSAD_URL", base)
        .env("MARSAD_USER", user)
        .env("MARSAD_PASSWORD", password)
        .env("MARSAD_CHROMIUM", &chromium)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("node runs (scripts/test installs Node.js)");
    let started = std::time::Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("{script} did not finish within 120 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let out = child.wait_with_output().expect("output");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{script}: {}\n{stdout}", String::from_utf8_lossy(&out.stderr));
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{script} printed no JSON ({e}): {stdout}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_in_sees_the_dashboard_and_signs_out_in_chromium() {
    let s = Server::start().await;
    let password = "a long enough password";
    s.engine().create_user("cli", "عمر", marsad_store::Role::Moderator, password).expect("user");
    let seen = browse("signin.mjs", &s.base, "عمر", password).await;
    assert_eq!(seen["error"], Value::Null, "{seen:#}");
    assert_eq!(seen["first"], "/login", "{seen:#}");
    assert_eq!(seen["wrong"]["path"], "/login");
    assert_eq!(seen["wrong"]["alert"], "Wrong name or password.");
    assert_eq!(seen["wrong"]["name_kept"], "عمر");
    let signed_in = &seen["signed_in"];
    assert_eq!(signed_in["path"], "/");
    assert_eq!(signed_in["h1"], "Dashboard");
    assert_eq!(signed_in["who"], "عمر · moderator");
    // the report's six figures, then the store's five
    assert_eq!(signed_in["figures"].as_array().map(Vec::len), Some(11), "{signed_in}");
    assert_eq!(signed_in["styled"], "flex", "the stylesheet loaded");
    assert_eq!(signed_in["script_cookies"], "", "a script read a cookie: {signed_in}");
    let session = signed_in["cookies"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == "marsad_session"))
        .unwrap_or_else(|| panic!("no session cookie: {signed_in}"));
    assert_eq!((session["httpOnly"].as_bool(), session["sameSite"].as_str()), (Some(true), Some("Strict")));
    assert_eq!(seen["signed_out"], "/login");
    assert_eq!(seen["after"], "/login", "signed out, the dashboard asks again");
    // Nothing on the console but Chromium's note of the wrong password's
    // 401; nothing fetched from anywhere but the server.
    assert_eq!(
        seen["console"],
        serde_json::json!([
            "error: Failed to load resource: the server responded with a status of 401 (Unauthorized)"
        ]),
        "{seen:#}"
    );
    let elsewhere: Vec<&str> = seen["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .filter_map(Value::as_str)
        .filter(|u| !u.starts_with(&s.base))
        .collect();
    assert!(elsewhere.is_empty(), "requests elsewhere: {elsewhere:?}");
    s.stop().await;
}
