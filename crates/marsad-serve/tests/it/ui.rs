//! The web UI's sign-in, sessions and CSRF, over HTTP as a browser sends
//! them (cookies kept by hand, redirects not followed). The same flow in a
//! real browser is `ui_browser.rs`.

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};

use crate::Server;

const PASSWORD: &str = "a long enough password";

pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

/// `name=value` of a `Set-Cookie` named `name`, and the whole header.
fn set_cookie(r: &reqwest::Response, name: &str) -> Option<(String, String)> {
    r.headers().get_all(SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|v| {
        let pair = v.split(';').next()?.trim();
        let (n, value) = pair.split_once('=')?;
        (n == name).then(|| (value.to_owned(), v.to_owned()))
    })
}

/// The value of the hidden `csrf` field of a page.
pub(crate) fn csrf_field(html: &str) -> String {
    let at = html.find(r#"name="csrf" value=""#).expect("a csrf field") + r#"name="csrf" value=""#.len();
    html[at..].split('"').next().expect("value").to_owned()
}

/// The sign-in form: its CSRF cookie and field.
async fn login_form(s: &Server, http: &reqwest::Client) -> (String, String) {
    let r = http.get(s.url("/login")).send().await.expect("login page");
    assert_eq!(r.status(), StatusCode::OK);
    let (cookie, header) = set_cookie(&r, "marsad_login").expect("a login cookie");
    assert!(header.contains("HttpOnly") && header.contains("SameSite=Strict"), "{header}");
    let html = r.text().await.expect("html");
    let field = csrf_field(&html);
    assert_eq!(field, cookie, "double submit");
    (cookie, field)
}

async fn sign_in(
    s: &Server,
    http: &reqwest::Client,
    name: &str,
    password: &str,
    next: &str,
) -> reqwest::Response {
    let (cookie, csrf) = login_form(s, http).await;
    http.post(s.url("/login"))
        .header(COOKIE, format!("marsad_login={cookie}"))
        .form(&[("name", name), ("password", password), ("csrf", &csrf), ("next", next)])
        .send()
        .await
        .expect("sign in")
}

/// Signs in; the session cookie.
async fn session(s: &Server, http: &reqwest::Client, name: &str) -> String {
    let r = sign_in(s, http, name, PASSWORD, "/").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    set_cookie(&r, "marsad_session").expect("a session cookie").0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_sets_a_strict_http_only_session_and_the_dashboard_needs_it() {
    let s = Server::start().await;
    s.engine().create_user("cli", "amal", marsad_store::Role::Analyst, PASSWORD).expect("user");
    let http = client();

    // Not signed in: a page sends to the sign-in form, keeping where it was.
    let r = http.get(s.url("/?period=2024")).send().await.expect("dashboard");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/login?next=%2F%3Fperiod%3D2024");

    let r = sign_in(&s, &http, "amal", PASSWORD, "/?period=2024").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/?period=2024");
    let (cookie, header) = set_cookie(&r, "marsad_session").expect("a session cookie");
    assert_eq!(cookie.len(), 64);
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(header.contains(attr), "{attr}: {header}");
    }
    assert!(!header.contains("Secure"), "not behind TLS: {header}");
    // The store keeps only its hash.
    let raw = std::fs::read(&s.db).expect("store");
    assert!(!raw.windows(cookie.len()).any(|w| w == cookie.as_bytes()), "the cookie is stored");

    let r =
        http.get(s.url("/")).header(COOKIE, format!("marsad_session={cookie}")).send().await.expect("page");
    assert_eq!(r.status(), StatusCode::OK);
    let csp = r.headers()["content-security-policy"].to_str().expect("csp").to_owned();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(r.headers()["cache-control"], "no-store");
    let html = r.text().await.expect("html");
    assert!(
        html.contains("<h1>Dashboard</h1>") && html.contains("amal") && html.contains("analyst"),
        "{html}"
    );

    // Behind a TLS proxy the cookie is Secure.
    let (login, csrf) = login_form(&s, &http).await;
    let r = http
        .post(s.url("/login"))
        .header(COOKIE, format!("marsad_login={login}"))
        .header("x-forwarded-proto", "https")
        .form(&[("name", "amal"), ("password", PASSWORD), ("csrf", csrf.as_str())])
        .send()
        .await
        .expect("sign in");
    assert!(set_cookie(&r, "marsad_session").expect("cookie").1.contains("; Secure"));

    // Only a path of this site is a place to go after signing in.
    for evil in ["//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"] {
        let r = sign_in(&s, &http, "amal", PASSWORD, evil).await;
        assert_eq!(r.headers()[LOCATION], "/", "{evil}");
    }

    // A made-up cookie is no session.
    let r = http
        .get(s.url("/"))
        .header(COOKIE, format!("marsad_session={}", "ab".repeat(32)))
        .send()
        .await
        .expect("page");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_without_the_sessions_csrf_token_are_refused_and_sign_out_ends_the_session() {
    let s = Server::start().await;
    s.engine().create_user("cli", "badr", marsad_store::Role::Viewer, PASSWORD).expect("user");
    let http = client();

    // The sign-in form's own token: missing, or not the cookie's, is refused.
    let (cookie, _) = login_form(&s, &http).await;
    for (with_cookie, csrf) in [(true, "0".repeat(64)), (false, cookie.clone()), (true, String::new())] {
        let mut r =
            http.post(s.url("/login")).form(&[("name", "badr"), ("password", PASSWORD), ("csrf", &csrf)]);
        if with_cookie {
            r = r.header(COOKIE, format!("marsad_login={cookie}"));
        }
        let r = r.send().await.expect("sign in");
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert!(set_cookie(&r, "marsad_session").is_none());
    }

    let session_cookie = session(&s, &http, "badr").await;
    let page = http
        .get(s.url("/"))
        .header(COOKIE, format!("marsad_session={session_cookie}"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    let csrf = csrf_field(&page);
    // Sign-out without the token, or with another, is refused: the session lives.
    for form in [vec![], vec![("csrf", "0".repeat(64))]] {
        let r = http
            .post(s.url("/logout"))
            .header(COOKIE, format!("marsad_session={session_cookie}"))
            .form(&form)
            .send()
            .await
            .expect("logout");
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
    assert!(s.engine().session(&session_cookie).expect("session").is_some());
    // With it, the session ends and the cookie is removed.
    let r = http
        .post(s.url("/logout"))
        .header(COOKIE, format!("marsad_session={session_cookie}"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .expect("logout");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/login");
    assert!(set_cookie(&r, "marsad_session").expect("cleared").1.contains("Max-Age=0"));
    assert!(s.engine().session(&session_cookie).expect("session").is_none());
    let r = http
        .get(s.url("/"))
        .header(COOKIE, format!("marsad_session={session_cookie}"))
        .send()
        .await
        .expect("page");
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "the old cookie no longer works");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_sign_ins_are_bounded_and_audited() {
    let s = Server::start().await;
    s.engine().create_user("cli", "amal", marsad_store::Role::Admin, PASSWORD).expect("user");
    let http = client();
    for _ in 0..5 {
        let r = sign_in(&s, &http, "amal", "not the password!", "/").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(r.text().await.expect("html").contains("Wrong name or password."));
    }
    // Over the bound, even the right password is refused for a while.
    let r = sign_in(&s, &http, "amal", PASSWORD, "/").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = r.headers()["retry-after"].to_str().expect("text").parse().expect("seconds");
    assert!((1..=900).contains(&wait), "{wait}");
    assert!(set_cookie(&r, "marsad_session").is_none());
    assert!(r.text().await.expect("html").contains("Too many failed sign-ins"));
    // An unknown name is refused as a wrong password is.
    let r = sign_in(&s, &http, "nobody", PASSWORD, "/").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let engine_db = s.db.clone();
    let _kept = s.stop().await;
    let engine = marsad_engine::Engine::open(engine_db.to_str().expect("path")).expect("store");
    let refused =
        engine.audit(None, None).expect("audit").into_iter().filter(|r| r.action == "auth.refused").count();
    assert_eq!(refused, 6, "five wrong passwords and the unknown name; the blocked try checked nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_takes_the_session_with_its_csrf_token_for_the_uis_own_requests() {
    let s = Server::start().await;
    s.engine().create_user("cli", "amal", marsad_store::Role::Moderator, PASSWORD).expect("user");
    s.engine().create_user("cli", "vera", marsad_store::Role::Viewer, PASSWORD).expect("user");
    let http = client();
    let amal = session(&s, &http, "amal").await;
    let csrf = s.engine().session(&amal).expect("session").expect("live").csrf;
    let call = |method: Method, path: &str, cookie: &str, csrf: Option<&str>| {
        let mut r = http.request(method, s.url(path)).header(COOKIE, format!("marsad_session={cookie}"));
        if let Some(c) = csrf {
            r = r.header("x-csrf-token", c);
        }
        r
    };
    // A read needs the session only.
    let r = call(Method::GET, "/c/banks", &amal, None).send().await.expect("read");
    assert_eq!(r.status(), StatusCode::OK);
    // A write needs the CSRF token too.
    let body = serde_json::json!({"name": "FROM_UI"});
    let r = call(Method::POST, "/c/banks", &amal, None).json(&body).send().await.expect("write");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r =
        call(Method::POST, "/c/banks", &amal, Some(&"0".repeat(64))).json(&body).send().await.expect("write");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = call(Method::POST, "/c/banks", &amal, Some(&csrf)).json(&body).send().await.expect("write");
    assert_eq!(r.status(), StatusCode::CREATED);
    // The user's role is the session's: a viewer may not write.
    let vera = session(&s, &http, "vera").await;
    let vera_csrf = s.engine().session(&vera).expect("session").expect("live").csrf;
    let r = call(Method::POST, "/c/banks", &vera, Some(&vera_csrf))
        .json(&serde_json::json!({"name": "NOT_HERS"}))
        .send()
        .await
        .expect("write");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // An ended session is no caller.
    assert!(s.engine().logout(&amal).expect("logout"));
    let r = call(Method::GET, "/c/banks", &amal, None).send().await.expect("read");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let engine_db = s.db.clone();
    let _kept = s.stop().await;
    let engine = marsad_engine::Engine::open(engine_db.to_str().expect("path")).expect("store");
    let writes: Vec<String> = engine
        .audit(None, None)
        .expect("audit")
        .into_iter()
        .filter(|r| r.action == "POST /c/banks" && r.status == Some(201))
        .map(|r| r.actor)
        .collect();
    assert_eq!(writes, ["amal"], "the write is audited as the user's");
}

/// Signed in as `role`: a client whose requests carry the session cookie.
pub(crate) async fn signed_in(s: &Server, role: marsad_store::Role) -> (reqwest::Client, String) {
    let name = format!("u-{}", role.as_str());
    s.engine().create_user("cli", &name, role, PASSWORD).expect("user");
    let http = client();
    let cookie = session(s, &http, &name).await;
    (http, format!("marsad_session={cookie}"))
}

pub(crate) async fn page(
    http: &reqwest::Client,
    s: &Server,
    cookie: &str,
    path: &str,
) -> (StatusCode, String) {
    let r = http.get(s.url(path)).header(COOKIE, cookie).send().await.expect("page");
    (r.status(), r.text().await.expect("html"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalogue_pages_filter_search_and_page_as_the_api_does() {
    let s = crate::api::corpus().await;
    let (http, cookie) = signed_in(&s, marsad_store::Role::Viewer).await;

    // Releases: the API's selection, a row each; an empty field is no filter.
    let (_, api) = s.get("/api/v1/releases?outlet=Outlet%20A&limit=1000").await;
    let want = api["items"].as_array().expect("items").len();
    assert!(want >= 2, "{api}");
    let (status, html) = page(&http, &s, &cookie, "/releases?outlet=Outlet+A&from=&to=&format=").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert_eq!(html.matches("<bdi>Outlet A</bdi></a></td>").count(), want, "{html}");
    // A page at a time, with a link to the next one.
    let (_, first) = page(&http, &s, &cookie, "/releases?limit=2").await;
    assert_eq!(first.matches("<tr><td>").count(), 2);
    let at = first.find(r#"rel="next" href=""#).expect("a next link") + r#"rel="next" href=""#.len();
    let next = first[at..].split('"').next().expect("href").replace("&amp;", "&");
    assert!(next.starts_with("/releases?limit=2&cursor="), "{next}");
    let (status, second) = page(&http, &s, &cookie, &next).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(second.matches("<tr><td>").count(), 2);
    assert_ne!(first, second);
    // A bad filter is the API's 400, named, on the page.
    let (status, html) = page(&http, &s, &cookie, "/releases?format=nonsense").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("role=\"alert\"") && html.contains("format"), "{html}");

    // Posts: Arabic typed without diacritics, tatweel or hamza finds the
    // stored text that has them.
    let q: String = form_urlencoded::byte_serialize("السلام الانبار".as_bytes()).collect();
    let (status, html) = page(&http, &s, &cookie, &format!("/posts?q={q}&source=")).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains(crate::api::ARABIC), "{html}");
    assert_eq!(html.matches("<tr><td>").count(), 1, "{html}");
    let (_, none) = page(&http, &s, &cookie, "/posts?q=absent").await;
    assert!(none.contains("No post matches."));

    // Not signed in: the sign-in form.
    let r = client().get(s.url("/posts?q=x")).send().await.expect("page");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_sign_in_and_cookies_are_refused_cleanly() {
    let s = Server::start().await;
    s.engine().create_user("cli", "amal", marsad_store::Role::Admin, PASSWORD).expect("user");
    // No connection kept: the server closes the one of the refused upload,
    // which a pooled client could try again.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    let (cookie, csrf) = login_form(&s, &http).await;
    let post = |body: Vec<u8>| {
        http.post(s.url("/login"))
            .header(COOKIE, format!("marsad_login={cookie}"))
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
    };
    // A name of 3 MB: refused before it is read whole.
    let mut huge = format!("csrf={csrf}&password=x&name=").into_bytes();
    huge.resize(huge.len() + (3 << 20), b'a');
    // (the server answers before the body has all arrived, so the client
    // may see the connection closed instead of the 413)
    match post(huge).send().await {
        Ok(r) => assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE),
        Err(e) => assert!(e.is_request() || e.is_body(), "{e}"),
    }
    // Bytes that are not UTF-8, and control characters: refused or wrong, never a session.
    for body in [
        format!("csrf={csrf}&name=%FF%FE&password=x"),
        format!("csrf={csrf}&name=am%00al%1B[2J&password={PASSWORD}"),
    ] {
        let r = post(body.clone().into_bytes()).send().await.expect("post");
        assert!(r.status().is_client_error(), "{body}: {}", r.status());
        assert!(set_cookie(&r, "marsad_session").is_none(), "{body}");
    }
    // Cookies that are not a session's: the sign-in form, never an error.
    for bad in ["", "zz", &"a".repeat(4000), "%00", "../../etc/passwd"] {
        let preview = format!("/media/{}/preview/0", "a".repeat(64));
        for path in [
            "/",
            "/releases",
            "/posts",
            "/releases/1",
            "/outlets",
            "/outlets/x",
            "/sources",
            "/banks",
            "/banks/x",
            "/banks/x/export",
            "/matches",
            "/jobs",
            "/audit",
            "/review",
            "/themes",
            "/settings",
            preview.as_str(),
        ] {
            let r = http
                .get(s.url(path))
                .header(COOKIE, format!("marsad_session={bad}"))
                .send()
                .await
                .expect("page");
            assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path} with {bad:?}");
        }
    }
    // The server goes on.
    let r = sign_in(&s, &http, "amal", PASSWORD, "/").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_shows_the_store_and_the_audit_log_is_the_admins() {
    let s = crate::api::corpus().await;
    let (http, viewer) = signed_in(&s, marsad_store::Role::Viewer).await;
    let (_, admin) = signed_in(&s, marsad_store::Role::Admin).await;

    // The dashboard: the report's figures and its SVG charts, live.
    let (status, html) = page(&http, &s, &viewer, "/").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let (_, report) = s.get("/api/v1/analyze/timeline?bucket=year").await;
    let releases: u64 =
        report.as_array().expect("rows").iter().map(|r| r["releases"].as_u64().expect("n")).sum();
    assert!(
        html.contains(&format!(r#"<span class="n">{releases}</span> <span class="label">releases</span>"#)),
        "{html}"
    );
    assert!(html.matches("<svg").count() >= 4 && html.contains("Releases per"), "{html}");
    assert!(!html.contains("style=\""), "an inline style, which the page's CSP refuses");
    // The page is made again once the releases change (a new post).
    let more = s.db.parent().expect("folder").join("one-more.jsonl");
    let line = serde_json::json!({"platform": "telegram", "source": "9009", "id": 1, "timestamp": "2024-03-02T00:00:00Z",
                                  "text": "one more post of a channel of its own, long enough"});
    std::fs::write(&more, line.to_string()).expect("write");
    let opts = marsad_engine::ingest::IngestOptions::default();
    s.engine()
        .ingest(marsad_engine::ingest::InputKind::Jsonl, &more, &opts, &marsad_engine::NoReporter)
        .expect("ingest");
    let (_, html) = page(&http, &s, &viewer, "/").await;
    assert!(
        html.contains(&format!(
            r#"<span class="n">{}</span> <span class="label">releases</span>"#,
            releases + 1
        )),
        "{html}"
    );
    // for a period without releases, says so
    let (_, html) = page(&http, &s, &viewer, "/?from=2030-01-01&to=2031-01-01").await;
    assert!(html.contains("No releases in this period"), "{html}");
    let (status, _) = page(&http, &s, &viewer, "/?format=nonsense").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // A release of two sightings: both, what joined them, its attribution.
    let (_, api) = s.get("/api/v1/releases?limit=1000").await;
    let items = api["items"].as_array().expect("items");
    let two = items.iter().find(|r| r["sightings"] == 2).expect("a release of two sightings");
    let (status, html) = page(&http, &s, &viewer, &format!("/releases/{}", two["id"])).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("telegram:1001") && html.contains("telegram:2002"), "{html}");
    assert!(
        html.contains("<code>text</code>") && html.contains("alike (Jaccard)"),
        "what joined them: {html}"
    );
    assert!(html.contains("registered channel"), "its attribution: {html}");
    assert!(html.contains(r#"class="text" dir="auto""#), "user text isolated: {html}");
    let (_, detail) = s.get(&format!("/api/v1/releases/{}", two["id"])).await;
    assert_eq!(detail["links"][0]["rule"], "text", "{detail}");
    // The release whose document a bank holds: the match, linked to the bank.
    let matched = items
        .iter()
        .find(|r| r["evidence"]["rule"] == "bank_label" || r["format"] == "document")
        .expect("the document's release");
    let (_, html) = page(&http, &s, &viewer, &format!("/releases/{}", matched["id"])).await;
    assert!(html.contains(r#"<a href="/banks/statements"><bdi>statements</bdi></a>"#), "{html}");
    // The view is in the audit log, by whom (the audit writer is behind
    // the answer: waited for).
    let seen = format!("/releases/{}", two["id"]);
    let mut audited = false;
    for _ in 0..100 {
        let log = s.engine().audit(None, None).expect("audit");
        if log.iter().any(|a| {
            a.action == "ui.read" && a.actor == "u-viewer" && a.target.as_deref() == Some(seen.as_str())
        }) {
            audited = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(audited, "the release page's view is audited");
    for (path, status) in
        [("/releases/abc", StatusCode::BAD_REQUEST), ("/releases/99999999", StatusCode::NOT_FOUND)]
    {
        assert_eq!(page(&http, &s, &viewer, path).await.0, status, "{path}");
    }

    // Outlets: the registry with their releases; an outlet's page.
    let (_, html) = page(&http, &s, &viewer, "/outlets").await;
    // The link is a path segment: its space is %20 (a + would be a plus sign).
    assert!(html.contains(r#"href="/outlets/Outlet%20A""#) && html.contains("Outlet C"), "{html}");
    let (status, html) = page(&http, &s, &viewer, "/outlets/Outlet%20A").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Timeline") && html.contains(r#"href="/posts?source=telegram%3A1001""#), "{html}");
    assert!(html.contains("Silent") || html.contains("Active"), "its state now: {html}");
    let (status, html) = page(&http, &s, &viewer, "/outlets/%3Cscript%3E").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("&lt;script&gt;") && !html.contains("<script>"), "{html}");
    let (status, _) = page(&http, &s, &viewer, "/outlets/Outlet%20A?silence_days=-1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Sources, banks and their entries, matches, jobs.
    let (_, html) = page(&http, &s, &viewer, "/sources").await;
    assert_eq!(html.matches("<tr><td><a href=\"/posts?source=").count(), 4, "{html}");
    let (_, html) = page(&http, &s, &viewer, "/banks").await;
    assert!(html.contains(r#"href="/banks/statements""#), "{html}");
    let (_, bank) = s.get("/api/v1/banks/statements").await;
    assert_eq!(bank["total"], 1, "{bank}");
    let md5 = {
        let (_, m) = s.get("/api/v1/matches").await;
        m["items"][0]["value"].as_str().expect("the matched value").to_owned()
    };
    let (status, html) = page(&http, &s, &viewer, "/banks/statements").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains(&md5) && html.contains("Outlet A"), "{html}");
    let (_, html) =
        page(&http, &s, &viewer, &format!("/banks/statements?value={}", md5.to_uppercase())).await;
    assert!(html.contains(&md5), "found by value, whatever its case: {html}");
    let (_, html) = page(&http, &s, &viewer, &format!("/banks/statements?value={}", "0".repeat(32))).await;
    assert!(html.contains("No entry matches."), "{html}");
    assert_eq!(page(&http, &s, &viewer, "/banks/statements?type=bogus").await.0, StatusCode::BAD_REQUEST);
    assert_eq!(page(&http, &s, &viewer, "/banks/nope").await.0, StatusCode::NOT_FOUND);
    let (_, html) = page(&http, &s, &viewer, "/matches").await;
    assert!(html.contains(r#"href="/banks/statements""#) && html.contains("md5"), "{html}");
    let (_, html) = page(&http, &s, &viewer, "/matches?bank=nope").await;
    assert!(html.contains("No match."), "{html}");
    let (_, html) = page(&http, &s, &viewer, "/jobs").await;
    assert!(html.contains("No job yet."), "{html}");

    // The audit log: an admin's page only, and not in a viewer's menu.
    let (status, html) = page(&http, &s, &viewer, "/audit").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html.contains("admin"), "{html}");
    assert!(!page(&http, &s, &viewer, "/").await.1.contains(r#"href="/audit""#));
    let (status, html) = page(&http, &s, &admin, "/audit?actor=u-admin").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains("<code>auth.login</code>") && html.contains("<td><bdi>u-admin</bdi></td>"),
        "{html}"
    );
    let (_, html) = page(&http, &s, &admin, "/audit?actor=nobody").await;
    assert!(html.contains("No event."), "{html}");
    assert_eq!(page(&http, &s, &admin, "/audit?since=yesterday").await.0, StatusCode::BAD_REQUEST);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moderators_review_in_the_page_and_others_are_refused() {
    let s = crate::api::corpus().await;
    let (http, moderator) = signed_in(&s, marsad_store::Role::Moderator).await;
    let (_, viewer) = signed_in(&s, marsad_store::Role::Viewer).await;
    let (status, html) = page(&http, &s, &moderator, "/review").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let (_, api) = s.get("/api/v1/review").await;
    let first = &api["items"][0];
    let key = format!("{}:{}", first["kind"].as_str().expect("kind"), first["id"]);
    assert!(html.contains(&format!(r#"name="item" value="{key}""#)), "{html}");
    assert!(html.contains(&format!(r#"name="one" value="reject|{key}""#)), "{html}");
    let csrf = csrf_field(&html);
    let post = |cookie: &str, path: &str, form: Vec<(&str, String)>| {
        http.post(s.url(path)).header(COOKIE, cookie.to_owned()).form(&form).send()
    };
    // A viewer sees no queue and may not decide, whatever the token.
    let (status, _) = page(&http, &s, &viewer, "/review").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, vpage) = page(&http, &s, &viewer, "/").await;
    assert!(!vpage.contains(r#"href="/review""#));
    let vcsrf = csrf_field(&vpage);
    let r = post(&viewer, "/review/decide", vec![("csrf", vcsrf), ("one", format!("reject|{key}"))])
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Nor code a release, which is an analyst's work.
    let r =
        post(&viewer, "/releases/1/codes", vec![("csrf", csrf_field(&vpage)), ("primary", "war".to_owned())])
            .await
            .expect("post");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Without the session's CSRF token: refused.
    let r = post(&moderator, "/review/decide", vec![("one", format!("reject|{key}"))]).await.expect("post");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(s.get("/api/v1/decisions").await.1["items"].as_array().map(Vec::len), Some(0));

    // Decide one, with a note: back to the queue, which offers its undo.
    let r = post(
        &moderator,
        "/review/decide",
        vec![
            ("csrf", csrf.clone()),
            ("one", format!("reject|{key}")),
            ("note", "not it".to_owned()),
            ("state", "open".to_owned()),
        ],
    )
    .await
    .expect("post");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, log) = s.get("/api/v1/decisions").await;
    let id = log["items"][0]["id"].as_i64().expect("a decision");
    assert_eq!(
        (log["items"][0]["note"].as_str(), log["items"][0]["actor"].as_str()),
        (Some("not it"), Some("u-moderator"))
    );
    assert_eq!(r.headers()[LOCATION], format!("/review?decided={id}"));
    let (_, html) = page(&http, &s, &moderator, &format!("/review?decided={id}")).await;
    assert!(!html.contains(&format!(r#"name="item" value="{key}""#)), "decided, out of the queue: {html}");
    assert!(html.contains(&format!(r#"name="decision" value="{id}""#)), "its undo: {html}");
    // Undo it, then decide again, in bulk with the rest.
    let r = post(&moderator, "/review/undo", vec![("csrf", csrf.clone()), ("decision", id.to_string())])
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = page(&http, &s, &moderator, "/review").await;
    assert!(html.contains(&format!(r#"name="item" value="{key}""#)), "back in the queue: {html}");
    let all: Vec<String> = api["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| format!("{}:{}", i["kind"].as_str().expect("kind"), i["id"]))
        .collect();
    let mut form = vec![("csrf", csrf.clone()), ("verdict", "escalate".to_owned())];
    form.extend(all.iter().map(|k| ("item", k.clone())));
    let r = post(&moderator, "/review/decide", form).await.expect("post");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = page(&http, &s, &moderator, "/review?state=escalated").await;
    for k in &all {
        assert!(html.contains(&format!(r#"name="item" value="{k}""#)), "{k} escalated: {html}");
    }
    // Decided already: the page says so, with the status.
    let r =
        post(&moderator, "/review/decide", vec![("csrf", csrf.clone()), ("one", format!("confirm|{key}"))])
            .await
            .expect("post");
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "an escalated item may be decided");
    let r =
        post(&moderator, "/review/decide", vec![("csrf", csrf.clone()), ("one", format!("reject|{key}"))])
            .await
            .expect("post");
    assert_eq!(r.status(), StatusCode::CONFLICT);
    for bad in [
        vec![("csrf", csrf.clone()), ("one", "maybe|match:1".to_owned())],
        vec![("csrf", csrf.clone()), ("verdict", "reject".to_owned())],
        vec![("csrf", csrf.clone()), ("one", "reject|nothing".to_owned())],
    ] {
        assert_eq!(
            post(&moderator, "/review/decide", bad).await.expect("post").status(),
            StatusCode::BAD_REQUEST
        );
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_are_in_arabic_right_to_left_when_asked_and_stay_so() {
    let s = crate::api::corpus().await;
    let (http, cookie) = signed_in(&s, marsad_store::Role::Viewer).await;
    let r = http.get(s.url("/?lang=ar")).header(COOKIE, &cookie).send().await.expect("page");
    assert_eq!(r.status(), StatusCode::OK);
    let (lang, header) = set_cookie(&r, "marsad_lang").expect("the choice is kept");
    assert_eq!(lang, "ar");
    assert!(header.contains("SameSite=Strict") && header.contains("HttpOnly"), "{header}");
    let html = r.text().await.expect("html");
    assert!(html.contains(r#"<html lang="ar" dir="rtl">"#), "{html}");
    assert!(html.contains("<h1>لوحة المتابعة</h1>") && html.contains(">الإصدارات</a>"), "{html}");
    assert!(html.contains(r#"href="?lang=en""#), "a way back: {html}");
    // The next page, without the parameter: still Arabic; users' texts keep
    // their own direction.
    let both = format!("{cookie}; marsad_lang=ar");
    let (_, html) = page(&http, &s, &both, "/posts?q=%D8%A7%D9%84%D8%A7%D9%86%D8%A8%D8%A7%D8%B1").await;
    assert!(html.contains(r#"dir="rtl""#) && html.contains("<h1>المنشورات</h1>"), "{html}");
    assert!(html.contains(r#"class="text" dir="auto""#), "{html}");
    let (_, html) = page(&http, &s, &both, "/?lang=en").await;
    assert!(html.contains(r#"<html lang="en" dir="ltr">"#) && html.contains("<h1>Dashboard</h1>"), "{html}");
    // The sign-in page follows the browser's language.
    let r = client()
        .get(s.url("/login"))
        .header("accept-language", "ar-IQ,ar;q=0.9")
        .send()
        .await
        .expect("login");
    let html = r.text().await.expect("html");
    assert!(html.contains(r#"dir="rtl""#) && html.contains("تسجيل الدخول"), "{html}");
    // An unknown language is English.
    let (_, html) = page(&http, &s, &cookie, "/?lang=xx").await;
    assert!(html.contains(r#"<html lang="en" dir="ltr">"#), "{html}");
    s.stop().await;
}
