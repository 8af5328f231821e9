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
