//! Every route × no token, a bad token and each role → the documented
//! status; refusals and writes in the audit log.

use marsad_store::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::{Server, pdq, send};

/// Every route with a request that reaches its handler, and the least role
/// it needs.
fn routes() -> Vec<(Method, &'static str, Option<serde_json::Value>, Role)> {
    let h = pdq(1);
    vec![
        (Method::GET, "/m/raw_lookup?signal_type=pdq&signal=H", None, Role::Viewer),
        (Method::GET, "/m/lookup?signal_type=pdq&signal=H", None, Role::Viewer),
        (Method::POST, "/m/compare", Some(json!({"pdq": [h, h]})), Role::Viewer),
        (Method::GET, "/m/index/status", None, Role::Viewer),
        (Method::POST, "/h/hash", None, Role::Viewer),
        (Method::POST, "/m/lookup", None, Role::Viewer),
        (Method::GET, "/c/banks", None, Role::Viewer),
        (Method::GET, "/c/bank/AUTH", None, Role::Viewer),
        (Method::GET, "/c/bank/AUTH/content/1", None, Role::Viewer),
        (Method::GET, "/c/signal_type", None, Role::Viewer),
        (Method::GET, "/c/signal_type/index", None, Role::Viewer),
        (Method::GET, "/c/content_type", None, Role::Viewer),
        (Method::GET, "/metrics", None, Role::Viewer),
        (Method::GET, "/api/v1/jobs", None, Role::Viewer),
        (Method::GET, "/api/v1/jobs/1", None, Role::Viewer),
        (Method::POST, "/api/v1/jobs", None, Role::Analyst),
        (Method::POST, "/c/banks", Some(json!({"name": "X"})), Role::Moderator),
        (Method::PUT, "/c/bank/AUTH", Some(json!({"enabled": true})), Role::Moderator),
        (Method::POST, "/c/bank/AUTH/signal", Some(json!({"pdq": h})), Role::Moderator),
        (Method::POST, "/c/bank/AUTH/content", None, Role::Moderator),
        (Method::PUT, "/c/bank/AUTH/content/1", Some(json!({"note": "n"})), Role::Moderator),
        (Method::DELETE, "/c/bank/AUTH/content/999", None, Role::Moderator),
        (Method::DELETE, "/c/bank/GONE", None, Role::Moderator),
        (Method::PUT, "/c/signal_type/pdq", Some(json!({"enabled_ratio": 1.0})), Role::Admin),
        (Method::GET, "/api/v1/openapi.json", None, Role::Viewer),
        (Method::GET, "/api/v1/sources", None, Role::Viewer),
        (Method::GET, "/api/v1/posts?q=x", None, Role::Viewer),
        (Method::GET, "/api/v1/posts/telegram:1/1", None, Role::Viewer),
        (Method::GET, "/api/v1/releases", None, Role::Viewer),
        (Method::GET, "/api/v1/releases/1", None, Role::Viewer),
        (Method::GET, "/api/v1/outlets", None, Role::Viewer),
        // Not a registry (a JSON string): refused as one, nothing replaced.
        (Method::POST, "/api/v1/outlets", Some(json!("not toml")), Role::Analyst),
        (Method::GET, "/api/v1/analyze/amplification", None, Role::Viewer),
        (Method::GET, "/api/v1/report", None, Role::Viewer),
        (Method::GET, "/api/v1/export?table=outlets", None, Role::Viewer),
        (Method::GET, "/api/v1/banks", None, Role::Viewer),
        (Method::GET, "/api/v1/banks/AUTH", None, Role::Viewer),
        (Method::GET, "/api/v1/matches", None, Role::Viewer),
        (Method::GET, "/api/v1/audit", None, Role::Admin),
        (Method::GET, "/api/v1/review", None, Role::Moderator),
        (Method::GET, "/api/v1/decisions", None, Role::Moderator),
        (Method::POST, "/api/v1/decisions", Some(json!({"items": [], "verdict": "reject"})), Role::Moderator),
        (Method::POST, "/api/v1/decisions/1/undo", None, Role::Moderator),
        (Method::GET, "/api/v1/themes", None, Role::Viewer),
        (Method::GET, "/api/v1/agreement", None, Role::Viewer),
        (Method::GET, "/api/v1/analyze/themes", None, Role::Viewer),
        (Method::GET, "/api/v1/releases/1/codes", None, Role::Viewer),
        (Method::PUT, "/api/v1/releases/1/codes", Some(json!({"primary": "war"})), Role::Analyst),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_checks_the_token_and_the_role() {
    let s = Server::start().await;
    s.post_json("/c/banks", json!({"name": "AUTH"})).await;
    s.post_json("/c/bank/AUTH/signal", json!({"pdq": pdq(1)})).await;
    let h = pdq(1);
    for (method, path, body, least) in routes() {
        let path = path.replace("=H", &format!("={h}"));
        let build = |token: Option<&str>| {
            let mut r = s.http.request(method.clone(), s.url(&path));
            if let Some(t) = token {
                r = r.bearer_auth(t);
            }
            if let Some(b) = &body {
                r = r.json(b);
            }
            r
        };
        let (status, body_none) = send(build(None)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path} without a token");
        assert!(body_none["message"].is_string(), "HMA-style body");
        let bad = format!("{}{}", marsad_engine::access::TOKEN_PREFIX, "0".repeat(64));
        assert_eq!(send(build(Some(&bad))).await.0, StatusCode::UNAUTHORIZED, "{method} {path} bad token");
        assert_eq!(
            send(build(Some("nonsense"))).await.0,
            StatusCode::UNAUTHORIZED,
            "{method} {path} garbage"
        );
        for role in Role::ALL {
            let (status, body) = send(build(Some(s.token(role)))).await;
            let refused_role = status == StatusCode::FORBIDDEN
                && body["message"].as_str().is_some_and(|m| m.starts_with("this needs the"));
            if role < least {
                assert!(refused_role, "{method} {path} as {role}: {status} {body}");
            } else {
                // (HMA's own 403s, such as "Bank already exists", may come.)
                assert!(
                    status != StatusCode::UNAUTHORIZED && !refused_role,
                    "{method} {path} as {role}: {status} {body}"
                );
            }
        }
    }
    // Open routes need nothing.
    for path in ["/status", "/status/live", "/site-map"] {
        assert_eq!(s.http.get(s.url(path)).send().await.expect("open").status(), StatusCode::OK, "{path}");
    }
    // A revoked token stops working within a second.
    s.engine().revoke_token("viewer").expect("revoke");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, _) = send(s.req(Method::GET, "/c/banks", Some(Role::Viewer))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hma_open_serves_hashing_and_matching_without_a_token() {
    let s = Server::start_with(|c| c.hma_open = true).await;
    let h = pdq(2);
    let (status, _) = send(s.http.get(s.url(&format!("/m/raw_lookup?signal_type=pdq&signal={h}")))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = send(s.http.get(s.url("/m/index/status"))).await;
    assert_eq!(status, StatusCode::OK);
    // Curation still needs a token.
    assert_eq!(send(s.http.get(s.url("/c/banks"))).await.0, StatusCode::UNAUTHORIZED);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_records_writes_lookups_and_refusals() {
    let s = Server::start().await;
    let h = pdq(5);
    s.post_json("/c/banks", json!({"name": "AUDITED"})).await;
    s.post_json("/c/bank/AUDITED/signal", json!({"pdq": h})).await;
    for _ in 0..3 {
        send(s.req(Method::GET, &format!("/m/raw_lookup?signal_type=pdq&signal={h}"), Some(Role::Viewer)))
            .await;
    }
    send(s.http.get(s.url("/c/banks"))).await;
    let engine_db = s.db.clone();
    let _dir = s.stop().await;
    let engine = marsad_engine::Engine::open(engine_db.to_str().expect("path")).expect("store");
    let rows = engine.audit(None, None).expect("audit");
    let find = |action: &str| rows.iter().filter(|r| r.action == action).collect::<Vec<_>>();
    let created = find("POST /c/banks");
    assert_eq!(created.len(), 1);
    assert_eq!((created[0].actor.as_str(), created[0].status), ("admin", Some(201)));
    assert_eq!(find("POST /c/bank/{bank}/signal").len(), 1);
    let lookups: u64 = find("lookup")
        .iter()
        .filter(|r| r.actor == "viewer")
        .map(|r| r.detail.as_ref().and_then(|d| d["count"].as_u64()).unwrap_or(0))
        .sum();
    assert_eq!(lookups, 3, "each lookup's token and time");
    assert_eq!(find("auth.refused").len(), 1);
    // Never the content looked up.
    let text = serde_json::to_string(&rows).expect("json");
    assert!(!text.contains(&h), "a looked-up hash is not in the audit log");
}

/// One token may have `--token-concurrency` requests in flight: the next
/// gets 429 with Retry-After, another token is not affected, and the slot
/// comes back when the request is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_in_flight_are_bounded_per_token() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = Server::start_with(|cfg| cfg.token_concurrency = 1).await;
    let viewer = server.tokens[&Role::Viewer].clone();
    // A request whose body has not all arrived holds its slot.
    let addr = server.base.trim_start_matches("http://").to_owned();
    let body = "--B\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"x.png\"\r\n\r\nnot an image\r\n--B--\r\n";
    let head = format!(
        "POST /h/hash HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {viewer}\r\n\
         Content-Type: multipart/form-data; boundary=B\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    async fn open_slow(addr: &str, head: &str, body: &str) -> tokio::net::TcpStream {
        use tokio::io::AsyncWriteExt;
        let mut slow = tokio::net::TcpStream::connect(addr).await.expect("connect");
        slow.write_all(head.as_bytes()).await.expect("write");
        slow.write_all(&body.as_bytes()[..10]).await.expect("write");
        slow
    }
    let mut slow = open_slow(&addr, &head, body).await;
    // Probe with the same token until a probe is refused. A probe in flight
    // when the slow request reaches the server takes the slot first, and the
    // slow request is the one refused: it is then sent again (bounded by
    // time, as on a loaded machine the slow request may take a while to
    // reach its handler).
    let mut refused = None;
    let mut reopened = 0;
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_secs(30) {
        let r = send(server.req(Method::GET, "/c/banks", Some(Role::Viewer))).await;
        if r.0 == StatusCode::TOO_MANY_REQUESTS {
            refused = Some(r);
            break;
        }
        assert_eq!(r.0, StatusCode::OK, "{}", r.1);
        let mut got = vec![0u8; 2048];
        if let Ok(read) =
            tokio::time::timeout(std::time::Duration::from_millis(10), slow.read(&mut got)).await
        {
            let n = read.unwrap_or(0);
            let answer = String::from_utf8_lossy(&got[..n]).into_owned();
            assert!(
                answer.starts_with("HTTP/1.1 429"),
                "the slow request is answered only when refused for a probe in flight: {answer:?}"
            );
            reopened += 1;
            slow = open_slow(&addr, &head, body).await;
        }
    }
    let Some((_, body_json)) = refused else {
        panic!(
            "a second request of the same token is refused while one is in flight ({reopened} slow requests were refused for a probe in flight)"
        );
    };
    assert!(body_json["message"].as_str().is_some_and(|m| m.contains("in flight")), "{body_json}");
    let r = server.req(Method::GET, "/c/banks", Some(Role::Viewer)).send().await.expect("request");
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
    // Another token has its own share.
    let other = send(server.req(Method::GET, "/c/banks", Some(Role::Admin))).await;
    assert_eq!(other.0, StatusCode::OK);
    // Finish the slow request: it is answered, and the slot comes back.
    slow.write_all(&body.as_bytes()[10..]).await.expect("write");
    let mut answer = vec![0u8; 1024];
    let n = slow.read(&mut answer).await.expect("read");
    assert!(String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 "), "an answer");
    drop(slow);
    let mut back = false;
    for _ in 0..200 {
        if send(server.req(Method::GET, "/c/banks", Some(Role::Viewer))).await.0 == StatusCode::OK {
            back = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(back, "the token's slot comes back once its request is answered");
}
