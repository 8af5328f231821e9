//! URL fetching: off by default; when on, only public addresses, every
//! redirect checked; loopback only here (a test server on 127.0.0.1,
//! allowed by address, and refusals decided before any connection).

use std::net::SocketAddr;

use axum::http::{StatusCode as AxStatus, header};
use axum::response::IntoResponse;
use marsad_store::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::{Server, send};

/// A small web server on 127.0.0.1: `/img.png`, redirects to wherever
/// `/to?u=` says, and a body too large.
async fn web() -> SocketAddr {
    let png = crate::busy_png(96, 96, 6);
    let app = axum::Router::new()
        .route(
            "/img.png",
            axum::routing::get(move || async move {
                ([(header::CONTENT_TYPE, "image/png")], png).into_response()
            }),
        )
        .route(
            "/to",
            axum::routing::get(
                |q: axum::extract::Query<std::collections::HashMap<String, String>>| async move {
                    (AxStatus::FOUND, [(header::LOCATION, q.get("u").cloned().unwrap_or_default())])
                        .into_response()
                },
            ),
        )
        .route(
            "/big",
            axum::routing::get(|| async {
                ([(header::CONTENT_TYPE, "image/png")], vec![0u8; 300 * 1024]).into_response()
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("web") });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urls_are_not_fetched_unless_allowed() {
    let web = web().await;
    let s = Server::start().await;
    let (status, body) = s.get(&format!("/h/hash?url=http://{web}/img.png")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"].as_str().expect("message").starts_with("Invalid or unsafe URL provided"),
        "{body}"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_addresses_and_redirects_to_them_are_refused() {
    let web = web().await;
    let s = Server::start_with(|c| {
        c.fetch.enabled = true;
        c.fetch.allow = vec![marsad_serve::fetch::parse_net("127.0.0.1/32").expect("net")];
        c.max_upload = 256 * 1024;
    })
    .await;
    // Allowed by address: fetched and hashed as an upload of the same bytes.
    let (status, by_url) = s.get(&format!("/h/hash?url=http://{web}/img.png")).await;
    assert_eq!(status, StatusCode::OK, "{by_url}");
    assert_eq!(by_url["pdq"].as_str().map(str::len), Some(64));
    let port = web.port();
    for url in [
        format!("http://127.0.0.2:{port}/img.png"),
        "http://10.0.0.1/x.png".to_owned(),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://[::1]/x".to_owned(),
        "http://[::ffff:10.0.0.1]/x".to_owned(),
        "http://0.0.0.0/x".to_owned(),
        "file:///etc/passwd".to_owned(),
        "gopher://example.com/".to_owned(),
        format!("http://user:pw@127.0.0.1:{port}/img.png"),
        // Redirects to refused places.
        format!("http://{web}/to?u=http://10.0.0.1/"),
        format!("http://{web}/to?u=http://169.254.169.254/latest/meta-data/"),
        format!("http://{web}/to?u=http://127.0.0.2:{port}/img.png"),
        format!("http://{web}/to?u=file:///etc/passwd"),
    ] {
        let (status, body) = s.get(&format!("/h/hash?url={}", urlencode(&url))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{url}: {body}");
        assert!(
            body["message"].as_str().expect("message").starts_with("Invalid or unsafe URL provided"),
            "{url}: {body}"
        );
    }
    // A redirect to an allowed place is followed.
    let (status, _) =
        s.get(&format!("/h/hash?url={}", urlencode(&format!("http://{web}/to?u=/img.png")))).await;
    assert_eq!(status, StatusCode::OK);
    // Too large.
    let (status, body) = s.get(&format!("/h/hash?url=http://{web}/big")).await;
    assert_eq!((status, body), (StatusCode::PAYLOAD_TOO_LARGE, json!({"message": "Content too large"})));
    // Lookup and banking by URL.
    s.post_json("/c/banks", json!({"name": "URLS"})).await;
    let r = s
        .req(Method::POST, &format!("/c/bank/URLS/content?url=http://{web}/img.png"), Some(Role::Moderator))
        .json(&json!({"note": "by url"}));
    let (status, added) = send(r).await;
    assert_eq!(status, StatusCode::OK, "{added}");
    assert_eq!(added["signals"]["pdq"], by_url["pdq"]);
    let (_, found) = s.get(&format!("/m/lookup?url=http://{web}/img.png")).await;
    assert_eq!(found, json!({"pdq": {"URLS": [{"bank_content_id": added["id"], "distance": "0"}]}}));
    let (_, found) = s.get(&format!("/m/lookup?url=http://{web}/img.png&signal_type=pdq")).await;
    assert_eq!(found, json!({"URLS": [{"bank_content_id": added["id"], "distance": "0"}]}));
    s.stop().await;
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
