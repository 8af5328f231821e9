//! Reviewer protection over HTTP: previews made on the server, small, grey
//! and blurred at the user's level (never below the admin's floor); one
//! item revealed on a POST with the session's CSRF token, by analysts and
//! moderators only, audited and counted; the admin's settings and accounts.

use marsad_engine::NoReporter;
use marsad_engine::ingest::{IngestOptions, InputKind};
use marsad_store::Role;
use reqwest::StatusCode;
use reqwest::header::COOKIE;
use serde_json::json;

use crate::Server;

const PASSWORD: &str = "a long enough password";

/// Sharp-edged colour blocks, as PNG.
fn stripes() -> Vec<u8> {
    let img = image::RgbImage::from_fn(400, 300, |x, y| {
        if (x / 48 + y / 48) % 2 == 0 { image::Rgb([240, 30, 30]) } else { image::Rgb([20, 20, 230]) }
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img).write_to(&mut out, image::ImageFormat::Png).expect("png");
    out.into_inner()
}

/// Mean squared difference of horizontally adjacent grey levels: a blur
/// spreads each edge, and lowers it.
fn sharpness(img: &image::DynamicImage) -> f64 {
    let g = img.to_luma8();
    let (mut sum, mut n) = (0u64, 0u64);
    for y in 0..g.height() {
        for x in 1..g.width() {
            sum += u64::from(g.get_pixel(x, y)[0].abs_diff(g.get_pixel(x - 1, y)[0])).pow(2);
            n += 1;
        }
    }
    sum as f64 / n as f64
}

/// A store with three posts: an image and a video kept (`--retain-media`),
/// and an image not kept.
pub(crate) fn store(s: &Server) -> (String, String, String) {
    let dir = s.db.parent().expect("folder").join("export");
    std::fs::create_dir_all(&dir).expect("folder");
    std::fs::write(dir.join("kept.png"), stripes()).expect("image");
    let video = dir.join("clip.mp4");
    let made = std::process::Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=10",
            "-t",
            "2",
            "-pix_fmt",
            "yuv420p",
        ])
        .arg(&video)
        .status()
        .expect("ffmpeg runs (scripts/test installs it)");
    assert!(made.success());
    let line = |id: u32, media: &str| {
        json!({"platform": "telegram", "source": "5005", "id": id, "timestamp": format!("2024-05-0{id}T00:00:00Z"),
               "text": format!("post {id}"), "media": [media]})
        .to_string()
    };
    std::fs::write(dir.join("kept.jsonl"), [line(1, "kept.png"), line(2, "clip.mp4")].join("\n"))
        .expect("jsonl");
    let mut e = s.engine();
    let opts = IngestOptions { retain_media: true, ..IngestOptions::default() };
    e.ingest(InputKind::Jsonl, &dir.join("kept.jsonl"), &opts, &NoReporter).expect("ingest");
    let mut other = image::RgbImage::new(64, 64);
    other.put_pixel(3, 3, image::Rgb([255, 255, 255]));
    other.save(dir.join("gone.png")).expect("image");
    std::fs::write(dir.join("gone.jsonl"), line(3, "gone.png")).expect("jsonl");
    e.ingest(InputKind::Jsonl, &dir.join("gone.jsonl"), &IngestOptions::default(), &NoReporter)
        .expect("ingest");
    let sha =
        |f: &str| marsad_hash::digest::Digests::of(&std::fs::read(dir.join(f)).expect("read")).sha256_hex();
    (sha("kept.png"), sha("clip.mp4"), sha("gone.png"))
}

async fn signed_in(s: &Server, name: &str, role: Role) -> (String, String) {
    s.engine().create_user("cli", name, role, PASSWORD).expect("user");
    signed_in_as(s, name).await
}

/// Signs in as the user `name` (password [`PASSWORD`]): the session cookie
/// and its CSRF token.
pub(crate) async fn signed_in_as(s: &Server, name: &str) -> (String, String) {
    let http =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let r = http.get(s.url("/login")).send().await.expect("login page");
    let login = r
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("marsad_login=").map(|v| v.split(';').next().unwrap_or("").to_owned()))
        .expect("login cookie");
    let r = http
        .post(s.url("/login"))
        .header(COOKIE, format!("marsad_login={login}"))
        .form(&[("name", name), ("password", PASSWORD), ("csrf", &login)])
        .send()
        .await
        .expect("sign in");
    let session = r
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("marsad_session=").map(|v| v.split(';').next().unwrap_or("").to_owned()))
        .expect("session cookie");
    let cookie = format!("marsad_session={session}");
    let html = http
        .get(s.url("/settings"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    let at = html.find(r#"name="csrf" value=""#).expect("csrf") + r#"name="csrf" value=""#.len();
    (cookie, html[at..].split('"').next().expect("value").to_owned())
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

async fn get(s: &Server, cookie: &str, path: &str) -> reqwest::Response {
    client().get(s.url(path)).header(COOKIE, cookie).send().await.expect("get")
}

async fn post(s: &Server, cookie: &str, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
    client().post(s.url(path)).header(COOKIE, cookie).form(form).send().await.expect("post")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn previews_are_blurred_on_the_server_and_a_reveal_is_audited_and_counted() {
    let s = Server::start().await;
    let (image_sha, video_sha, gone_sha) = store(&s);
    let (analyst, csrf) = signed_in(&s, "amal", Role::Analyst).await;
    let (viewer, viewer_csrf) = signed_in(&s, "vera", Role::Viewer).await;
    let (admin, admin_csrf) = signed_in(&s, "adam", Role::Admin).await;

    // The release page shows the blurred preview and a reveal button.
    let (_, releases) = s.get("/api/v1/releases?limit=1000").await;
    let mut pages = Vec::new();
    for r in releases["items"].as_array().expect("items") {
        pages.push(get(&s, &analyst, &format!("/releases/{}", r["id"])).await.text().await.expect("html"));
    }
    let image_page = pages.iter().find(|h| h.contains(&image_sha)).expect("the image's release");
    assert!(
        image_page.contains(&format!(r#"<img class="blurred" src="/media/{image_sha}/preview/0?blur=6""#)),
        "{image_page}"
    );
    assert!(image_page.contains(&format!(r#"action="/media/{image_sha}/reveal""#)));
    let video_page = pages.iter().find(|h| h.contains(&video_sha)).expect("the video's release");
    assert_eq!(video_page.matches(&format!("/media/{video_sha}/preview/")).count(), 4, "a strip of frames");
    let gone_page = pages.iter().find(|h| h.contains(&gone_sha)).expect("the third release");
    assert!(
        gone_page.contains("did not keep this file")
            && !gone_page.contains(&format!("/media/{gone_sha}/preview"))
    );

    // The preview's bytes: small, grey, blurred. The revealed: colour, sharp.
    let r = get(&s, &viewer, &format!("/media/{image_sha}/preview/0")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/png");
    let blurred = image::load_from_memory(&r.bytes().await.expect("png")).expect("decode");
    assert_eq!((blurred.width(), blurred.height()), (320, 240));
    assert!(matches!(blurred, image::DynamicImage::ImageLuma8(_)), "grey: {:?}", blurred.color());
    for i in 0..4 {
        let r = get(&s, &viewer, &format!("/media/{video_sha}/preview/{i}")).await;
        assert_eq!(r.status(), StatusCode::OK, "frame {i}");
    }
    assert_eq!(
        get(&s, &viewer, &format!("/media/{video_sha}/preview/4")).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&s, &viewer, &format!("/media/{gone_sha}/preview/0")).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(get(&s, &viewer, "/media/nothex/preview/0").await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        client().get(s.url(&format!("/media/{image_sha}/preview/0"))).send().await.expect("get").status(),
        StatusCode::SEE_OTHER
    );

    // Revealing: not by a viewer, not without the CSRF token, not by a GET.
    let reveal = format!("/media/{image_sha}/reveal");
    assert_eq!(post(&s, &viewer, &reveal, &[("csrf", &viewer_csrf)]).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(post(&s, &analyst, &reveal, &[]).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(get(&s, &analyst, &reveal).await.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(!s.engine().audit(None, None).expect("audit").iter().any(|a| a.action == "ui.reveal"));
    let r = post(&s, &analyst, &reveal, &[("csrf", &csrf), ("back", "//evil.example/")]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.expect("html");
    assert!(html.contains("Revealed today: 1 / 50"), "{html}");
    assert!(html.contains(r#"href="/""#), "only a local page to go back to: {html}");
    let at = html.find("data:image/png;base64,").expect("the image inline") + "data:image/png;base64,".len();
    let b64 = html[at..].split('"').next().expect("data");
    let png = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b64).expect("base64");
    let revealed = image::load_from_memory(&png).expect("decode");
    assert!(matches!(revealed, image::DynamicImage::ImageRgb8(_)), "in colour");
    assert!(
        sharpness(&blurred) * 3.0 < sharpness(&revealed),
        "{} vs {}",
        sharpness(&blurred),
        sharpness(&revealed)
    );
    let reveals: Vec<_> = s
        .engine()
        .audit(None, None)
        .expect("audit")
        .into_iter()
        .filter(|a| a.action == "ui.reveal")
        .collect();
    assert_eq!(reveals.len(), 1);
    assert_eq!(
        (reveals[0].actor.as_str(), reveals[0].target.as_deref()),
        ("amal", Some(format!("media:{image_sha}").as_str()))
    );

    // The blur level: the user's own, never below the floor.
    assert_eq!(
        post(&s, &analyst, "/settings/blur", &[("csrf", &csrf), ("blur", "1")]).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        post(&s, &analyst, "/settings/blur", &[("csrf", &csrf), ("blur", "11")]).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        post(&s, &analyst, "/settings/blur", &[("csrf", &csrf), ("blur", "9")]).await.status(),
        StatusCode::SEE_OTHER
    );
    let stronger = image::load_from_memory(
        &get(&s, &analyst, &format!("/media/{image_sha}/preview/0")).await.bytes().await.expect("png"),
    )
    .expect("decode");
    assert!(
        sharpness(&stronger) * 1.2 < sharpness(&blurred),
        "level 9 blurs more than 6: {} vs {}",
        sharpness(&stronger),
        sharpness(&blurred)
    );
    // The admin raises the floor above the viewer's default, and lowers the limit.
    assert_eq!(
        post(&s, &analyst, "/admin/protection", &[("csrf", &csrf), ("floor", "8"), ("limit", "1")])
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let r =
        post(&s, &admin, "/admin/protection", &[("csrf", &admin_csrf), ("floor", "8"), ("limit", "1")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = get(&s, &viewer, &format!("/releases/{}", releases["items"][0]["id"]))
        .await
        .text()
        .await
        .expect("html");
    assert!(html.contains("Revealed today: 0 / 1"), "{html}");
    assert_eq!(post(&s, &analyst, &reveal, &[("csrf", &csrf)]).await.status(), StatusCode::OK);
    let again = post(&s, &analyst, &reveal, &[("csrf", &csrf)]).await.text().await.expect("html");
    assert!(again.contains(r#"class="exposure over""#) && again.contains("Revealed today: 3 / 1"), "{again}");
    assert!(s.engine().protection("vera").expect("protection").blur >= 8);
    assert_eq!(
        post(&s, &admin, "/admin/protection", &[("csrf", &admin_csrf), ("floor", "11"), ("limit", "1")])
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_make_and_disable_accounts_in_the_page() {
    let s = Server::start().await;
    let (admin, csrf) = signed_in(&s, "adam", Role::Admin).await;
    let (viewer, viewer_csrf) = signed_in(&s, "vera", Role::Viewer).await;
    let make = |pw: &'static str, again: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("name", "nour".to_owned()),
            ("role", "moderator".to_owned()),
            ("password", pw.to_owned()),
            ("again", again.to_owned()),
        ]
    };
    fn form<'a>(f: &'a [(&'a str, String)]) -> Vec<(&'a str, &'a str)> {
        f.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }
    assert_eq!(
        post(&s, &admin, "/admin/users", &form(&make(PASSWORD, "another password here"))).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        post(&s, &admin, "/admin/users", &form(&make("short", "short"))).await.status(),
        StatusCode::BAD_REQUEST
    );
    let mut as_viewer = make(PASSWORD, PASSWORD);
    as_viewer[0].1 = viewer_csrf.clone();
    assert_eq!(post(&s, &viewer, "/admin/users", &form(&as_viewer)).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        post(&s, &admin, "/admin/users", &form(&make(PASSWORD, PASSWORD))).await.status(),
        StatusCode::SEE_OTHER
    );
    let users = s.engine().users().expect("users");
    let nour = users.iter().find(|u| u.name == "nour").expect("made");
    assert_eq!(nour.role, "moderator");
    assert_eq!(
        post(&s, &admin, "/admin/users", &form(&make(PASSWORD, PASSWORD))).await.status(),
        StatusCode::FORBIDDEN,
        "the name is taken"
    );
    let html = get(&s, &admin, "/settings").await.text().await.expect("html");
    assert!(html.contains("<bdi>nour</bdi>") && html.contains(r#"action="/admin/users/disable""#), "{html}");
    assert!(!get(&s, &viewer, "/settings").await.text().await.expect("html").contains("/admin/users"));
    assert_eq!(
        post(&s, &admin, "/admin/users/disable", &[("csrf", &csrf), ("name", "adam")]).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        post(&s, &admin, "/admin/users/disable", &[("csrf", &csrf), ("name", "nour")]).await.status(),
        StatusCode::SEE_OTHER
    );
    assert!(s.engine().users().expect("users").iter().any(|u| u.name == "nour" && u.disabled_at.is_some()));
    assert_eq!(
        post(&s, &admin, "/admin/users/disable", &[("csrf", &csrf), ("name", "nour")]).await.status(),
        StatusCode::NOT_FOUND
    );
    let audit = s.engine().audit(None, None).expect("audit");
    assert!(audit.iter().any(|a| a.action == "user.create" && a.actor == "adam"));
    assert!(audit.iter().any(|a| a.action == "user.disable" && a.actor == "adam"));
    s.stop().await;
}
