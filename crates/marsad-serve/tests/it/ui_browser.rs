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
    browse_with(script, base, user, password, &[]).await
}

/// [`browse`] with more environment for the script.
async fn browse_with(script: &str, base: &str, user: &str, password: &str, env: &[(&str, String)]) -> Value {
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
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("node runs (scripts/test installs Node.js)");
    let started = std::time::Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > Duration::from_secs(300) {
            let _ = child.kill();
            panic!("{script} did not finish within 300 s");
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

/// Where the browser tests' screenshots are kept (test artefacts).
fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ui-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moderator_searches_reviews_and_reveals_and_a_viewer_is_refused_in_chromium() {
    let s = crate::api::corpus().await;
    let (image_sha, _, _) = crate::protection::store(&s);
    let password = "a long enough password";
    s.engine().create_user("cli", "مها", marsad_store::Role::Moderator, password).expect("user");
    s.engine().create_user("cli", "vera", marsad_store::Role::Viewer, password).expect("user");
    s.engine().create_user("cli", "omar", marsad_store::Role::Analyst, password).expect("user");
    let (_, releases) = s.get("/api/v1/releases?limit=1000").await;
    let to_code: Vec<String> =
        releases["items"].as_array().expect("items").iter().take(3).map(|r| r["id"].to_string()).collect();
    let mut release = None;
    for r in releases["items"].as_array().expect("items") {
        let (_, d) = s.get(&format!("/api/v1/releases/{}", r["id"])).await;
        if d["posts"]
            .as_array()
            .is_some_and(|p| p.iter().any(|p| p["media"].to_string().contains(&image_sha)))
        {
            release = Some(r["id"].to_string());
        }
    }
    let release = release.expect("the image's release");
    let shots = screenshots();
    let files = tempfile::tempdir().expect("tmp");
    let upload = files.path().join("uploaded.jsonl");
    let line = serde_json::json!({"platform": "telegram", "source": "4004", "source_name": "Channel 4004",
        "id": 1, "timestamp": "2024-03-09T00:00:00Z", "text": "uploaded from the browser"});
    std::fs::write(&upload, format!("{line}\n")).expect("upload");
    let bank_file = files.path().join("hashes.csv");
    std::fs::write(&bank_file, format!("{}\n{}\n{}\n", crate::pdq(1), crate::pdq(2), crate::pdq(3)))
        .expect("csv");
    let env = [
        ("MARSAD_UPLOAD", upload.display().to_string()),
        ("MARSAD_BANK_FILE", bank_file.display().to_string()),
        ("MARSAD_VIEWER", "vera".to_owned()),
        ("MARSAD_RELEASE", release.clone()),
        // Stored with diacritics, hamza and tatweel: typed without.
        ("MARSAD_QUERY", "السلام الانبار".to_owned()),
        ("MARSAD_SCREENSHOTS", shots.display().to_string()),
        ("MARSAD_ANALYST", "omar".to_owned()),
        ("MARSAD_CODE_RELEASES", to_code.join(",")),
    ];
    let seen = browse_with("review.mjs", &s.base, "مها", password, &env).await;
    assert_eq!(seen["error"], Value::Null, "{seen:#}");
    for (page, h1) in [
        ("dashboard", "Dashboard"),
        ("releases", "Releases"),
        ("outlets", "Outlets"),
        ("review", "Review queue"),
        ("settings", "Settings"),
    ] {
        assert_eq!(seen["pages"][page]["h1"], h1, "{page}: {seen:#}");
    }
    // The search found the post, shown in its own direction.
    assert_eq!(seen["search"]["rows"], 1, "{seen:#}");
    assert!(seen["search"]["text"].as_str().is_some_and(|t| t.contains(crate::api::ARABIC)), "{seen:#}");
    assert_eq!(seen["search"]["dir"], "auto");
    // Every media element blurred (by the stylesheet, over the server's
    // own blur) until revealed; revealed, not; back, blurred again.
    let media = seen["release"]["media"].as_array().expect("media");
    assert!(!media.is_empty(), "{seen:#}");
    for m in media {
        assert!(m["filter"].as_str().is_some_and(|f| f.contains("blur") && f.contains("grayscale")), "{m}");
        assert!(m["src"].as_str().is_some_and(|s| s.starts_with("/media/")), "{m}");
    }
    let revealed = seen["revealed"]["media"].as_array().expect("media");
    assert_eq!(revealed.len(), 1, "{seen:#}");
    assert_eq!(revealed[0]["filter"], "none");
    assert!(revealed[0]["src"].as_str().is_some_and(|s| s.starts_with("data:image/png")));
    assert!(seen["revealed"]["exposure"].as_str().is_some_and(|e| e.contains("1 /")), "{seen:#}");
    assert!(
        seen["after_reveal"]
            .as_array()
            .expect("media")
            .iter()
            .all(|m| m["filter"].as_str().is_some_and(|f| f.contains("blur")))
    );
    // The reveal is in the audit log, as the moderator's.
    let audit = s.engine().audit(None, None).expect("audit");
    assert!(
        audit.iter().any(|a| a.action == "ui.reveal"
            && a.actor == "مها"
            && a.target.as_deref() == Some(format!("media:{image_sha}").as_str())),
        "{audit:?}"
    );
    // Decided, undone, decided again.
    let review = &seen["review"];
    assert!(review["decided_url"].as_str().is_some_and(|u| u.starts_with("?decided=")), "{seen:#}");
    assert_eq!(review["still_listed"], false);
    assert_eq!(review["back"], true, "undone, back in the queue");
    let (_, log) = s.get("/api/v1/decisions").await;
    let verdicts: Vec<(&str, bool)> = log["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|d| (d["verdict"].as_str().unwrap_or(""), d["undone_at"].is_string()))
        .collect();
    assert_eq!(verdicts, [("reject", true), ("confirm", false)], "{log}");
    // No serious or critical accessibility violation on any page.
    for (page, violations) in seen["axe"].as_object().expect("axe") {
        assert_eq!(violations, &serde_json::json!([]), "{page}");
    }
    assert_eq!(seen["axe"].as_object().map(serde_json::Map::len), Some(14));
    // In Arabic, right to left, and kept for the next page.
    assert_eq!(seen["arabic"]["dir"], "rtl", "{seen:#}");
    assert_eq!(seen["arabic"]["h1"], "لوحة المتابعة");
    assert_eq!(seen["arabic"]["nav_first"], "لوحة المتابعة");
    assert_eq!(seen["arabic"]["kept"], "rtl");
    // Coded by two: the second blind to the first's codes until coding
    // each release; then both shown, and their kappa (planted: 0.4).
    let coding = &seen["coding"];
    assert_eq!(coding["first"], serde_json::json!([false, false, false]), "{seen:#}");
    assert_eq!(coding["second"], serde_json::json!([true, true, true]), "{seen:#}");
    assert_eq!(coding["others_after"], 1);
    assert_eq!(coding["kappa"], "0.400");
    assert_eq!(coding["alpha"], "0.444");
    assert_eq!(seen["signed_out"], "/login");
    // An upload from the Jobs page ran; a bank file imported from the
    // Banks page; the catalogue sorted from its menu.
    assert!(seen["upload"]["at"].as_str().is_some_and(|a| a.starts_with("/jobs#job-")), "{seen:#}");
    assert_eq!(seen["upload"]["status"], "done", "{seen:#}");
    assert!(seen["bank_import"].as_str().is_some_and(|t| t.contains("3 added")), "{seen:#}");
    assert!(seen["sorted"]["search"].as_str().is_some_and(|q| q.contains("sort=sightings")), "{seen:#}");
    let counts: Vec<u64> =
        seen["sorted"]["sightings"].as_array().expect("rows").iter().filter_map(Value::as_u64).collect();
    assert!(counts.len() > 2 && counts.windows(2).all(|w| w[0] >= w[1]), "{seen:#}");
    assert!(counts.first() > counts.last(), "{seen:#}");
    // A viewer: no queue in the menu, 403 at its address, no reveal.
    assert_eq!(seen["viewer"]["menu_has_review"], false);
    assert_eq!(seen["viewer"]["review_status"], 403);
    assert_eq!(seen["viewer"]["reveal"], "Forbidden");
    // Nothing fetched from anywhere but the server; the screenshots kept.
    let elsewhere: Vec<&str> = seen["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .filter_map(Value::as_str)
        .filter(|u| !u.starts_with(&s.base) && !u.starts_with("data:"))
        .collect();
    assert!(elsewhere.is_empty(), "requests elsewhere: {elsewhere:?}");
    for name in
        ["dashboard", "releases", "release", "posts", "outlets", "review", "review-decided", "settings"]
    {
        assert!(shots.join(format!("{name}.png")).is_file(), "screenshot {name}");
    }
    s.stop().await;
}
