//! The review queue over the API and the UI: who may see and decide,
//! decisions all or none, undo, a confirmation's hashes added to a bank,
//! the decisions' log and audit, and the signed webhook with its retries.

use std::time::Duration;

use marsad_engine::NoReporter;
use marsad_engine::ingest::{IngestOptions, InputKind};
use marsad_store::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::Server;

/// The corpus, plus a post in a channel no outlet registers: a release to
/// review.
fn with_unattributed(s: Server) -> Server {
    let s = crate::api::corpus_on(s);
    let path = s.db.parent().expect("folder").join("more.jsonl");
    let line = json!({"platform": "telegram", "source": "4004", "id": 1, "timestamp": "2024-04-01T00:00:00Z",
                      "text": "a post of a channel no outlet registers, long enough to link"});
    std::fs::write(&path, line.to_string()).expect("write");
    s.engine().ingest(InputKind::Jsonl, &path, &IngestOptions::default(), &NoReporter).expect("ingest");
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moderators_decide_undo_and_confirm_into_a_bank() {
    let s = with_unattributed(Server::start().await);
    // Only moderators and admins see the queue and decide.
    for role in [Role::Viewer, Role::Analyst] {
        assert_eq!(s.as_role(role, Method::GET, "/api/v1/review", None).await.0, StatusCode::FORBIDDEN);
        let body = json!({"items": ["match:1"], "verdict": "reject"});
        assert_eq!(
            s.as_role(role, Method::POST, "/api/v1/decisions", Some(body)).await.0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(s.as_role(role, Method::GET, "/api/v1/decisions", None).await.0, StatusCode::FORBIDDEN);
    }
    let (status, queue) = s.as_role(Role::Moderator, Method::GET, "/api/v1/review", None).await;
    assert_eq!(status, StatusCode::OK, "{queue}");
    let items = queue["items"].as_array().expect("items").clone();
    let m = items.iter().find(|i| i["kind"] == "match").expect("the stored match");
    assert_eq!(m["match"]["bank"], "statements", "{m}");
    assert_eq!(m["match"]["id"], m["id"]);
    let r = items.iter().find(|i| i["kind"] == "release").expect("the unattributed release");
    assert_eq!(r["release"]["outlet"], Value::Null, "{r}");
    assert_eq!(queue["open"].as_u64(), Some(items.len() as u64));
    let (mid, rid) = (m["id"].as_i64().expect("id"), r["id"].as_i64().expect("id"));

    // Bad requests name the problem and decide nothing.
    for (body, why) in [
        (json!({"items": [format!("match:{mid}")], "verdict": "maybe"}), "verdict"),
        (json!({"items": ["x:1"], "verdict": "reject"}), "items"),
        (json!({"items": [], "verdict": "reject"}), "no item"),
        (json!({"items": [format!("match:{mid}")], "verdict": "reject", "extra": 1}), "body"),
        (json!({"items": [format!("match:{mid}")], "verdict": "reject", "note": "a\u{1b}[2J"}), "control"),
        (
            json!({"items": [format!("match:{mid}")], "verdict": "reject", "bank": "statements"}),
            "only a confirmed",
        ),
        (json!({"items": vec![format!("match:{mid}"); 501], "verdict": "reject"}), "at most 500"),
    ] {
        let (status, err) = s.post_json("/api/v1/decisions", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {err}");
        assert!(err["message"].as_str().is_some_and(|m| m.contains(why)), "{why}: {err}");
    }
    // All or none: a missing item refuses the batch.
    let body = json!({"items": [format!("match:{mid}"), "release:99999999"], "verdict": "reject"});
    assert_eq!(s.post_json("/api/v1/decisions", body).await.0, StatusCode::NOT_FOUND);
    assert_eq!(s.get("/api/v1/decisions").await.1["items"].as_array().map(Vec::len), Some(0));

    // Reject the match, escalate the release, in two calls.
    let body = json!({"items": [format!("match:{mid}")], "verdict": "reject", "note": "ليس هو"});
    let (status, made) = s.as_role(Role::Moderator, Method::POST, "/api/v1/decisions", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let reject = made["items"][0].clone();
    assert_eq!((reject["verdict"].as_str(), reject["actor"].as_str()), (Some("reject"), Some("moderator")));
    assert_eq!(reject["note"], "ليس هو");
    let body = json!({"items": [format!("release:{rid}")], "verdict": "escalate"});
    assert_eq!(s.post_json("/api/v1/decisions", body).await.0, StatusCode::CREATED);
    let (_, queue) = s.get("/api/v1/review").await;
    assert_eq!(queue["open"].as_u64(), Some(items.len() as u64 - 2), "{queue}");
    let (_, escalated) = s.get("/api/v1/review?state=escalated").await;
    assert_eq!(escalated["items"][0]["id"], rid, "{escalated}");
    assert_eq!(escalated["items"][0]["decision"]["verdict"], "escalate");
    // Decided already: 409, until undone.
    let again = json!({"items": [format!("match:{mid}")], "verdict": "confirm"});
    assert_eq!(s.post_json("/api/v1/decisions", again.clone()).await.0, StatusCode::CONFLICT);
    let undo = format!("/api/v1/decisions/{}/undo", reject["id"]);
    let (status, undone) = s.as_role(Role::Moderator, Method::POST, &undo, None).await;
    assert_eq!(status, StatusCode::OK, "{undone}");
    assert_eq!(undone["undone_by"], "moderator");
    assert_eq!(s.as_role(Role::Moderator, Method::POST, &undo, None).await.0, StatusCode::CONFLICT);
    assert_eq!(s.post_json("/api/v1/decisions/99999/undo", json!({})).await.0, StatusCode::NOT_FOUND);
    assert_eq!(s.post_json("/api/v1/decisions/abc/undo", json!({})).await.0, StatusCode::BAD_REQUEST);

    // Confirmed into a bank: the media item's digests become its entries.
    s.engine().create_bank("confirmed").expect("bank");
    let body = json!({"items": [format!("match:{mid}")], "verdict": "confirm", "bank": "confirmed"});
    let (status, made) = s.post_json("/api/v1/decisions", body).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(made["items"][0]["bank"], "confirmed");
    let (_, bank) = s.get("/api/v1/banks/confirmed").await;
    assert_eq!(
        (bank["entries"]["md5"].as_u64(), bank["entries"]["sha256"].as_u64()),
        (Some(1), Some(1)),
        "{bank}"
    );
    let md5 = m["match"]["value"].as_str().expect("the matched md5");
    let query =
        marsad_engine::banks::EntryQuery { value: Some(md5.to_owned()), limit: 5, ..Default::default() };
    let (found, _) = s.engine().bank_entries("confirmed", &query).expect("entries");
    assert_eq!(found.len(), 1, "the matched document's MD5 is in the bank");
    assert_eq!(found[0].labels.get("review").map(String::as_str), Some("confirmed by admin"));

    // The log, by id; the audit log names each decision and undo.
    let (_, log) = s.as_role(Role::Moderator, Method::GET, "/api/v1/decisions?limit=10", None).await;
    let log = log["items"].as_array().expect("items").clone();
    assert_eq!(log.len(), 3);
    assert!(log[0]["undone_at"].is_string() && log[2]["undone_at"].is_null(), "{log:?}");
    let (_, after) = s.get(&format!("/api/v1/decisions?after={}", log[1]["id"])).await;
    assert_eq!(after["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(s.get("/api/v1/decisions?after=x").await.0, StatusCode::BAD_REQUEST);
    let audit = s.engine().audit(None, None).expect("audit");
    let actions: Vec<&str> =
        audit.iter().filter(|a| a.action.starts_with("review.")).map(|a| a.action.as_str()).collect();
    assert_eq!(actions, ["review.decide", "review.decide", "review.undo", "review.decide"], "{audit:?}");
    assert!(audit.iter().any(|a| a.action == "bank.add" && a.target.as_deref() == Some("confirmed")));
    // The OpenAPI document lists the routes.
    let (_, doc) = s.get("/api/v1/openapi.json").await;
    for path in ["/api/v1/review", "/api/v1/decisions", "/api/v1/decisions/{id}/undo"] {
        assert!(doc["paths"][path].is_object(), "{path}");
    }
    s.stop().await;
}

/// One HTTP request as a receiver sees it.
struct Delivery {
    headers: Vec<(String, String)>,
    body: String,
}

/// A webhook receiver on a loopback port answering `statuses` in turn
/// (then 200), sending each request it got.
async fn receiver(statuses: Vec<u16>) -> (String, tokio::sync::mpsc::UnboundedReceiver<Delivery>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut statuses = statuses.into_iter();
        for _ in 0..20 {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let (head, body) = loop {
                let n = sock.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    return;
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).into_owned();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().to_owned())
                        })
                        .and_then(|v| v.parse::<usize>().ok())
                        .unwrap_or(0);
                    if body.len() >= len {
                        break (head.to_owned(), body[..len].to_owned());
                    }
                }
            };
            let headers = head
                .lines()
                .skip(1)
                .filter_map(|l| {
                    l.split_once(':').map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                })
                .collect();
            let _ = tx.send(Delivery { headers, body });
            let status = statuses.next().unwrap_or(200);
            let answer = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            let _ = sock.write_all(answer.as_bytes()).await;
        }
    });
    (url, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_decision_reaches_the_webhook_signed_and_retried() {
    let secret = "a shared secret of some length";
    let (url, mut got) = receiver(vec![500, 503]).await;
    let mut hook = marsad_serve::webhook::WebhookConfig::parse(&url, secret.to_owned()).expect("config");
    hook.backoff = Duration::from_millis(50);
    let s = with_unattributed(Server::start_with(move |cfg| cfg.review_webhook = Some(hook)).await);
    let (_, queue) = s.get("/api/v1/review").await;
    let item = format!("{}:{}", queue["items"][0]["kind"].as_str().expect("kind"), queue["items"][0]["id"]);
    let (status, made) =
        s.post_json("/api/v1/decisions", json!({"items": [item], "verdict": "escalate"})).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let id = made["items"][0]["id"].as_i64().expect("id");
    // Refused twice, delivered the third time: the same body, signed.
    let mut seen = Vec::new();
    for _ in 0..3 {
        let d = tokio::time::timeout(Duration::from_secs(20), got.recv())
            .await
            .expect("a delivery")
            .expect("open");
        seen.push(d);
    }
    let header = |d: &Delivery, k: &str| d.headers.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(
        seen.iter().map(|d| header(d, "x-marsad-attempt")).collect::<Vec<_>>(),
        [Some("1".into()), Some("2".into()), Some("3".into())]
    );
    for d in &seen {
        assert_eq!(d.body, seen[0].body);
        assert_eq!(
            header(d, "x-marsad-signature"),
            Some(marsad_serve::webhook::signature(secret, d.body.as_bytes()))
        );
        assert_eq!(header(d, "x-marsad-delivery"), Some(id.to_string()));
        assert_eq!(header(d, "content-type").as_deref(), Some("application/json"));
    }
    let body: Value = serde_json::from_str(&seen[0].body).expect("json");
    assert_eq!(
        (body["event"].as_str(), body["decision"]["id"].as_i64()),
        (Some("review.decision"), Some(id))
    );
    assert_eq!(body["decision"]["verdict"], "escalate");
    // An undo is delivered too.
    let (status, _) = s.post_json(&format!("/api/v1/decisions/{id}/undo"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let d =
        tokio::time::timeout(Duration::from_secs(20), got.recv()).await.expect("a delivery").expect("open");
    let body: Value = serde_json::from_str(&d.body).expect("json");
    assert_eq!(body["event"], "review.undo");
    assert!(marsad_serve::webhook::WebhookConfig::parse("ftp://x/", secret.to_owned()).is_err());
    assert!(marsad_serve::webhook::WebhookConfig::parse(&url, "short".to_owned()).is_err());
    s.stop().await;
}
