//! The live index: changes made through the API, or by another process on
//! the same store (the CLI), are matched within a second, without a
//! rebuild; shutdown loses no accepted write.

use std::time::{Duration, Instant};

use marsad_core::SignalType;
use marsad_store::{NewBankEntry, Role};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::{Server, pdq};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_added_through_the_api_matches_at_once() {
    let s = Server::start().await;
    s.post_json("/c/banks", json!({"name": "LIVE"})).await;
    for i in 0..20 {
        let h = pdq(1000 + i);
        let (status, body) = s.post_json("/c/bank/LIVE/signal", json!({"pdq": h})).await;
        assert_eq!(status, StatusCode::OK);
        // Read-your-writes: the answer comes once the index has it.
        let (_, found) = s.get(&format!("/m/raw_lookup?signal_type=pdq&signal={h}")).await;
        assert_eq!(found, json!({"matches": [body["id"]]}), "entry {i}");
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_made_by_another_process_matches_within_a_second() {
    let s = Server::start().await;
    let mut cli = s.engine();
    cli.create_bank("cli bank").expect("create");
    let h = pdq(42);
    let started = Instant::now();
    cli.store_mut()
        .add_bank_entries(
            "cli bank",
            &[NewBankEntry { signal_type: SignalType::Pdq, value: h.clone(), labels: Default::default() }],
        )
        .expect("add");
    loop {
        let (_, body) = s.get(&format!("/m/lookup?signal_type=pdq&signal={h}")).await;
        if body.get("CLI_BANK").is_some() {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(1), "not matched within 1 s: {body}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // A deletion by the CLI stops the matches within a second too.
    let started = Instant::now();
    cli.delete_bank("cli bank").expect("delete");
    loop {
        let (_, body) = s.get(&format!("/m/raw_lookup?signal_type=pdq&signal={h}")).await;
        if body == json!({"matches": []}) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(1), "still matched after 1 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_loses_no_accepted_write() {
    let s = Server::start().await;
    s.post_json("/c/banks", json!({"name": "SHUT"})).await;
    let mut tasks = Vec::new();
    for i in 0..40u64 {
        let r = s
            .req(Method::POST, "/c/bank/SHUT/signal", Some(Role::Moderator))
            .json(&json!({"pdq": pdq(5000 + i)}));
        tasks.push(tokio::spawn(async move { r.send().await.ok().map(|r| r.status()) }));
    }
    tokio::time::sleep(Duration::from_millis(5)).await;
    let db = s.db.clone();
    let stop = tokio::spawn(s.stop());
    let mut accepted = 0;
    for t in tasks {
        if t.await.expect("task") == Some(StatusCode::OK) {
            accepted += 1;
        }
    }
    let _dir = stop.await.expect("stopped");
    let engine = marsad_engine::Engine::open(db.to_str().expect("path")).expect("store");
    let bank = engine.banks().expect("banks").into_iter().find(|b| b.name == "SHUT").expect("bank");
    assert_eq!(bank.total, accepted, "every answered write is stored");
    let audited = engine
        .audit(None, None)
        .expect("audit")
        .iter()
        .filter(|r| r.action == "POST /c/bank/{bank}/signal")
        .count();
    assert_eq!(audited as u64, accepted, "and audited");
    assert!(accepted > 0);
}

/// Hundreds of PDQ lookups at once answer exactly what each answers alone
/// (the index is read by many requests at a time).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_lookups_answer_as_single_ones() {
    // (one token sends them all at once)
    let s = Server::start_with(|c| c.token_concurrency = 1024).await;
    let mut cli = s.engine();
    cli.create_bank("batched").expect("create");
    let entries: Vec<NewBankEntry> = (0..400)
        .map(|i| NewBankEntry {
            signal_type: SignalType::Pdq,
            value: pdq(5000 + i),
            labels: Default::default(),
        })
        .collect();
    cli.store_mut().add_bank_entries("batched", &entries).expect("add");
    // Queries: each entry with three bits flipped (it matches), and hashes
    // that are in no bank.
    let near = |h: &str| {
        let first = u8::from_str_radix(&h[..1], 16).expect("hex") ^ 0x7;
        format!("{first:x}{}", &h[1..])
    };
    let mut queries: Vec<String> = (0..400).map(|i| near(&pdq(5000 + i))).collect();
    queries.extend((0..40).map(|i| pdq(90_000 + i)));
    let url = |q: &str| format!("/m/raw_lookup?signal_type=pdq&signal={q}&include_distance=true");
    let last = url(&queries[399]);
    let started = Instant::now();
    while s.get(&last).await.1["matches"].as_array().is_none_or(Vec::is_empty) {
        assert!(started.elapsed() < Duration::from_secs(10), "the entries never matched");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut alone = Vec::new();
    for q in &queries {
        alone.push(s.get(&url(q)).await);
    }
    for (i, (status, found)) in alone.iter().enumerate() {
        assert_eq!(*status, StatusCode::OK);
        let matches = found["matches"].as_array().expect("matches");
        if i < 400 {
            assert_eq!(matches.len(), 1, "query {i}: {found}");
            assert_eq!(matches[0]["distance"], "3", "query {i}: {found}");
        } else {
            assert!(matches.is_empty(), "query {i}: {found}");
        }
    }
    let token = s.token(Role::Viewer).to_owned();
    let together: Vec<_> = queries
        .iter()
        .map(|q| {
            let request = s.http.get(s.url(&url(q))).bearer_auth(&token);
            tokio::spawn(async move { crate::send(request).await })
        })
        .collect();
    for (i, handle) in together.into_iter().enumerate() {
        assert_eq!(handle.await.expect("request"), alone[i], "query {i} answered otherwise together");
    }
    s.stop().await;
}

/// Two servers on one PostgreSQL store, each polling the store only once a
/// minute, both on the change feed at `nats`.
async fn two_servers(db: &str, nats: &str) -> (Server, Server) {
    let start = |nats: String| {
        let db = std::path::PathBuf::from(db);
        async move {
            Server::start_on(tempfile::tempdir().expect("tmp"), db, move |c| {
                c.refresh = Duration::from_secs(60);
                c.nats = Some(nats);
            })
            .await
        }
    };
    let a = start(nats.to_owned()).await;
    let b = start(nats.to_owned()).await;
    (a, b)
}

/// `path` on server `on`, as a moderator of `tokens`' server (each server
/// of these tests makes its own tokens, revoking the other's).
fn as_moderator(on: &Server, tokens: &Server, method: Method, path: &str) -> reqwest::RequestBuilder {
    on.http.request(method, on.url(path)).bearer_auth(tokens.token(Role::Moderator))
}

/// Waits until `signal` matches on `s` (as `tokens`' moderator), at most
/// `within`; returns how long it took.
async fn matched(s: &Server, tokens: &Server, signal: &str, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let path = format!("/m/raw_lookup?signal_type=pdq&signal={signal}");
        let (status, body) = crate::send(as_moderator(s, tokens, Method::GET, &path)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if body["matches"].as_array().is_some_and(|m| !m.is_empty()) {
            return started.elapsed();
        }
        assert!(started.elapsed() < within, "not matched within {within:?}: {body}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_added_through_one_server_is_matched_by_the_other_within_a_second() {
    let scratch =
        marsad_store_postgres::ScratchStore::new().expect("the test database: PostgreSQL on 127.0.0.1:5432");
    let nats = std::env::var("MARSAD_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned());
    let (a, b) = two_servers(scratch.url(), &nats).await;
    let (status, _) =
        crate::send(as_moderator(&a, &b, Method::POST, "/c/banks").json(&json!({"name": "FEED"}))).await;
    assert_eq!(status, StatusCode::CREATED);
    for i in 0..5 {
        let h = pdq(7000 + i);
        let added = as_moderator(&a, &b, Method::POST, "/c/bank/FEED/signal").json(&json!({"pdq": h}));
        assert_eq!(crate::send(added).await.0, StatusCode::OK);
        // Polling once a minute cannot explain a match within a second:
        // the other server followed the change feed.
        matched(&b, &b, &h, Duration::from_secs(1)).await;
    }
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_whose_feed_drops_catches_up_with_entries_added_meanwhile() {
    let scratch =
        marsad_store_postgres::ScratchStore::new().expect("the test database: PostgreSQL on 127.0.0.1:5432");
    let dir = tempfile::tempdir().expect("tmp");
    let mut nats = marsad_queue::testing::TestNats::start(&dir.path().join("nats"));
    let (a, b) = two_servers(scratch.url(), &nats.url()).await;
    let (status, _) =
        crate::send(as_moderator(&a, &b, Method::POST, "/c/banks").json(&json!({"name": "DROP"}))).await;
    assert_eq!(status, StatusCode::CREATED);
    let first = pdq(8000);
    let added = as_moderator(&a, &b, Method::POST, "/c/bank/DROP/signal").json(&json!({"pdq": first}));
    assert_eq!(crate::send(added).await.0, StatusCode::OK);
    matched(&b, &b, &first, Duration::from_secs(1)).await;

    // The feed goes down; entries added meanwhile are announced to no one.
    nats.stop();
    let missed: Vec<String> = (1..4).map(|i| pdq(8000 + i)).collect();
    for h in &missed {
        let added = as_moderator(&a, &b, Method::POST, "/c/bank/DROP/signal").json(&json!({"pdq": h}));
        assert_eq!(crate::send(added).await.0, StatusCode::OK, "a write does not need the feed");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, body) = crate::send(as_moderator(
        &b,
        &b,
        Method::GET,
        &format!("/m/raw_lookup?signal_type=pdq&signal={}", missed[0]),
    ))
    .await;
    assert_eq!(body, json!({"matches": []}), "not seen while the feed is down (polling is once a minute)");
    // Back: the server reconnects and catches up from the store.
    let _nats = tokio::task::spawn_blocking(move || {
        nats.start_again();
        nats
    })
    .await
    .expect("restart");
    for h in &missed {
        matched(&b, &b, h, Duration::from_secs(15)).await;
    }
    a.stop().await;
    b.stop().await;
}
