//! `/api/v1`: every route over a store with data, against the engine's own
//! answers; filters, pages, full-text search, bad parameters, the streamed
//! report and export, and the OpenAPI document.

use std::collections::BTreeSet;

use marsad_engine::banks::BankImport;
use marsad_engine::ingest::{IngestOptions, InputKind};
use marsad_engine::observatory::{FilterSpec, Query, analyze};
use marsad_engine::{BankFormat, NoReporter};
use marsad_store::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{Server, send};

/// A token of 24 letters from `seed`: unrelated texts share no shingles.
fn noise(seed: u64) -> String {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..24)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'a' + (x % 26) as u8)
        })
        .collect()
}

/// The Arabic post full-text search looks for: diacritics, tatweel and
/// hamza forms in the stored text.
pub(crate) const ARABIC: &str = "السَّلامُ عليكم من مدينة الأنبـار";

/// A store with three sources, reposted texts (releases of several
/// sightings), an attached document matched by a bank, and a registry.
pub(crate) async fn corpus() -> Server {
    corpus_on(Server::start().await)
}

/// The corpus of [`corpus`] in `server`'s store.
pub(crate) fn corpus_on(server: Server) -> Server {
    let dir = server.db.parent().expect("folder").join("corpus");
    std::fs::create_dir_all(&dir).expect("corpus folder");
    std::fs::write(dir.join("statement.txt"), "a statement of Outlet A\n").expect("document");
    let mut lines = Vec::new();
    let mut line = |source: &str, id: u32, minute: u32, text: &str, media: Option<&str>| {
        let mut v = json!({
            "platform": "telegram",
            "source": source,
            "source_name": format!("Channel {source}"),
            "id": id,
            "timestamp": format!("2024-03-{:02}T{:02}:{:02}:00Z", 1 + minute / 1440, minute / 60 % 24, minute % 60),
            "text": text,
        });
        if let Some(m) = media {
            v["media"] = json!([m]);
        }
        lines.push(v.to_string());
    };
    for i in 0..12u32 {
        let n = |k: u32| noise(u64::from(i + 100 * k));
        let text = format!("بيان {} {} {} {}", n(0), n(1), n(2), n(3));
        line("1001", i + 1, i * 200, &text, (i == 3).then_some("statement.txt"));
        if i % 2 == 0 {
            line("2002", i + 1, i * 200 + 30, &text, None);
        }
    }
    line("3003", 1, 50, ARABIC, None);
    line("3003", 2, 70, "نشرة الطقس ليوم غد", None);
    std::fs::write(dir.join("posts.jsonl"), lines.join("\n")).expect("jsonl");
    let md5 =
        marsad_hash::digest::Digests::of(&std::fs::read(dir.join("statement.txt")).expect("read")).md5_hex();
    std::fs::write(
        dir.join("bank.jsonl"),
        format!("{{\"type\": \"md5\", \"value\": \"{md5}\", \"labels\": {{\"outlet\": \"Outlet A\"}}}}\n"),
    )
    .expect("bank file");
    std::fs::write(
        dir.join("outlets.toml"),
        "[[outlet]]\nname = \"Outlet A\"\nchannels = [\"telegram:1001\"]\n\n[[outlet]]\nname = \"Outlet C\"\nchannels = [\"telegram:3003\"]\n",
    )
    .expect("registry");
    let mut e = server.engine();
    let req = BankImport {
        name: "statements",
        file: "bank.jsonl",
        format: BankFormat::Jsonl,
        signal_type: None,
        create: true,
    };
    let mut reader = std::io::BufReader::new(std::fs::File::open(dir.join("bank.jsonl")).expect("open"));
    e.import_bank(&req, &mut reader).expect("bank import");
    let summary = e
        .ingest(InputKind::Jsonl, &dir.join("posts.jsonl"), &IngestOptions::default(), &NoReporter)
        .expect("ingest");
    assert_eq!(summary.posts_added, 20, "{summary:?}");
    e.import_outlets(&dir.join("outlets.toml")).expect("registry");
    server
}

/// Every item of a list route, page by page with `limit`; checks each page
/// is at most `limit` long.
async fn all_pages(s: &Server, path: &str, limit: usize) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    let sep = if path.contains('?') { '&' } else { '?' };
    for _ in 0..1000 {
        let mut url = format!("{path}{sep}limit={limit}");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={}", urlencode(c)));
        }
        let (status, body) = s.get(&url).await;
        assert_eq!(status, StatusCode::OK, "{url}: {body}");
        let page = body["items"].as_array().expect("items").clone();
        assert!(page.len() <= limit, "{url}: page of {}", page.len());
        items.extend(page);
        match &body["next_cursor"] {
            Value::Null => return items,
            Value::String(c) => cursor = Some(c.clone()),
            other => panic!("{url}: next_cursor {other}"),
        }
    }
    panic!("{path}: pages never end");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A 400 whose message names `param`.
async fn refused(s: &Server, path: &str, param: &str) {
    let (status, body) = s.get(path).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
    let m = body["message"].as_str().unwrap_or_default();
    assert!(m.starts_with(&format!("parameter {param}:")), "{path}: {m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_and_posts_page_filter_and_search() {
    let s = corpus().await;
    let e = s.engine();
    let sources = all_pages(&s, "/api/v1/sources", 1).await;
    assert_eq!(
        sources,
        serde_json::to_value(e.sources().expect("sources")).expect("json").as_array().expect("rows").clone()
    );
    let counts: Vec<(String, u64)> = sources
        .iter()
        .map(|r| (r["source"].as_str().unwrap_or("").to_owned(), r["posts"].as_u64().unwrap_or(0)))
        .collect();
    assert_eq!(
        counts,
        [("telegram:1001".to_owned(), 12), ("telegram:2002".to_owned(), 6), ("telegram:3003".to_owned(), 2)]
    );

    // Every post once, by time, page by page.
    let posts = all_pages(&s, "/api/v1/posts", 3).await;
    assert_eq!(posts.len() as u64, e.stats().expect("stats").posts);
    let keys: BTreeSet<(String, String)> = posts
        .iter()
        .map(|p| {
            (p["source"].as_str().unwrap_or("").to_owned(), p["post_id"].as_str().unwrap_or("").to_owned())
        })
        .collect();
    assert_eq!(keys.len(), posts.len(), "no post twice");
    let times: Vec<&str> = posts.iter().map(|p| p["posted_at"].as_str().unwrap_or("")).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "by time: {times:?}");
    // Filters narrow.
    let of_b = all_pages(&s, "/api/v1/posts?source=telegram:2002", 100).await;
    assert_eq!(of_b.len(), 6);
    assert!(of_b.iter().all(|p| p["source"] == "telegram:2002"));
    let day1 = all_pages(&s, "/api/v1/posts?from=2024-03-01T00:00:00Z&to=2024-03-01T01:00:00Z", 100).await;
    let ids: Vec<(&str, &str)> = day1
        .iter()
        .map(|p| (p["source"].as_str().unwrap_or(""), p["post_id"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(ids, [("telegram:1001", "1"), ("telegram:2002", "1"), ("telegram:3003", "1")]);
    // Full-text search over the normalized text: with or without
    // diacritics, tatweel and hamza forms, the same post; not the other.
    for q in ["السلام", "السَّلام", "الـسـلام", "الانبار", "الأنبار", "الإنبار", "مدينه الانبار", "عليكم السلام"]
    {
        let found = all_pages(&s, &format!("/api/v1/posts?q={}", urlencode(q)), 100).await;
        let ids: Vec<(&str, &str)> = found
            .iter()
            .map(|p| (p["source"].as_str().unwrap_or(""), p["post_id"].as_str().unwrap_or("")))
            .collect();
        assert_eq!(ids, [("telegram:3003", "1")], "q={q}");
        assert_eq!(found[0]["text"], ARABIC);
    }
    assert!(
        all_pages(&s, &format!("/api/v1/posts?q={}", urlencode("الطقس")), 100)
            .await
            .iter()
            .all(|p| p["post_id"] == "2")
    );
    assert!(all_pages(&s, &format!("/api/v1/posts?q={}", urlencode("السلام الطقس")), 100).await.is_empty());
    assert!(
        all_pages(&s, &format!("/api/v1/posts?q={}&source=telegram:1001", urlencode("السلام")), 100)
            .await
            .is_empty()
    );
    // One post with its history.
    let (status, body) = s.get("/api/v1/posts/telegram:3003/1").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        serde_json::to_value(e.post_history("telegram:3003", "1").expect("history")).expect("json")
    );
    assert_eq!(s.get("/api/v1/posts/telegram:3003/999").await.0, StatusCode::NOT_FOUND);
    refused(&s, "/api/v1/posts/nonsense/1", "source").await;
    // Bad parameters name themselves.
    refused(&s, "/api/v1/posts?limit=0", "limit").await;
    refused(&s, "/api/v1/posts?limit=1001", "limit").await;
    refused(&s, "/api/v1/posts?limit=ten", "limit").await;
    refused(&s, "/api/v1/posts?from=yesterday", "from").await;
    refused(&s, "/api/v1/posts?from=2024-03-02&to=2024-03-01", "to").await;
    refused(&s, "/api/v1/posts?source=telegram", "source").await;
    refused(&s, "/api/v1/posts?cursor=xyz", "cursor").await;
    refused(&s, "/api/v1/posts?q=%21%21%21", "q").await;
    refused(&s, "/api/v1/posts?colour=red", "colour").await;
    refused(&s, "/api/v1/posts?limit=1&limit=2", "limit").await;
    refused(&s, "/api/v1/sources?cursor=o99", "cursor").await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn releases_outlets_and_one_release_in_full() {
    let s = corpus().await;
    let mut e = s.engine();
    let obs = e.observatory().expect("observatory");
    let expected = serde_json::to_value(
        e.releases(&obs, &FilterSpec::default().parse().expect("filter")).expect("releases"),
    )
    .expect("json");
    let listed = all_pages(&s, "/api/v1/releases", 2).await;
    assert_eq!(Value::Array(listed.clone()), expected);
    assert!(listed.len() >= 8, "reposts are one release each: {}", listed.len());
    assert!(listed.iter().any(|r| r["sightings"].as_u64() == Some(2)), "a repost is a second sighting");
    // Filters: the CLI's, as parameters.
    for (query, spec) in [
        ("outlet=Outlet+C", FilterSpec { outlets: vec!["Outlet C".to_owned()], ..FilterSpec::default() }),
        (
            "official_only=true&from=2024-03-02",
            FilterSpec { official_only: true, from: Some("2024-03-02".to_owned()), ..FilterSpec::default() },
        ),
        ("format=-text", FilterSpec { formats: Some("-text".to_owned()), ..FilterSpec::default() }),
    ] {
        let want = e.releases(&obs, &spec.parse().expect("filter")).expect("releases");
        let got = all_pages(&s, &format!("/api/v1/releases?{query}"), 1000).await;
        assert_eq!(Value::Array(got.clone()), serde_json::to_value(&want).expect("json"), "{query}");
        assert!(got.len() < listed.len(), "{query} narrows");
    }
    refused(&s, "/api/v1/releases?format=poster", "format").await;
    refused(&s, "/api/v1/releases?outlet=Nobody", "outlet").await;
    refused(&s, "/api/v1/releases?official_only=maybe", "official_only").await;
    // One release in full: its sightings, posts, media fingerprints,
    // matches and attribution evidence.
    let with_doc = listed.iter().find(|r| r["format"] == "document").expect("the release with the document");
    let id = with_doc["id"].as_i64().expect("id");
    let (status, body) = s.get(&format!("/api/v1/releases/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["release"], *with_doc);
    assert_eq!(
        body["sightings"].as_array().map(Vec::len),
        with_doc["sightings"].as_u64().map(|n| n as usize)
    );
    assert_eq!(body["release"]["evidence"]["rule"], "channel");
    let media = &body["posts"][0]["media"][0];
    assert_eq!(media["kind"], "document");
    assert!(media["fingerprints"].as_array().is_some_and(Vec::is_empty), "no perceptual hash: {media}");
    assert_eq!(media["md5"], body["matches"][0]["value"], "the bank's entry is the document's MD5");
    assert_eq!(body["matches"][0]["bank"], "statements");
    assert_eq!(s.get("/api/v1/releases/999999").await.0, StatusCode::NOT_FOUND);
    refused(&s, "/api/v1/releases/abc", "id").await;

    // The registry: listed; replaced by a POST of the registry file.
    let outlets = all_pages(&s, "/api/v1/outlets", 1).await;
    assert_eq!(Value::Array(outlets), serde_json::to_value(e.outlets().expect("outlets")).expect("json"));
    let post = |body: &'static str, role: Role| s.req(Method::POST, "/api/v1/outlets", Some(role)).body(body);
    let (status, body) = send(post(
        "[[outlet]]\nname = \"Outlet A\"\nchannels = [\"telegram:1001\", \"telegram:2002\"]\n",
        Role::Analyst,
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["outlets"], 1);
    assert_eq!(e.outlets().expect("outlets")[0].channels, ["telegram:1001", "telegram:2002"]);
    let (status, body) = send(post("[[outlet]]\nname = 3\n", Role::Analyst)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| m.starts_with("body:") && !m.contains("/tmp")),
        "{body}"
    );
    assert_eq!(send(post("", Role::Analyst)).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(send(post("[[outlet]]\nname = \"X\"\n", Role::Viewer)).await.0, StatusCode::FORBIDDEN);
    assert_eq!(e.outlets().expect("outlets").len(), 1, "refused imports change nothing");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_analysis_is_the_engines() {
    let s = corpus().await;
    let mut e = s.engine();
    let obs = e.observatory().expect("observatory");
    let all = FilterSpec::default().parse().expect("filter");
    let cases = [
        ("timeline?bucket=day&by=outlet", Query::timeline("day", Some("outlet")).expect("q"), all.clone()),
        ("timeline", Query::timeline("day", None).expect("q"), all.clone()),
        ("trend?bucket=month", Query::trend("month", None).expect("q"), all.clone()),
        ("silences?min_hours=2", Query::silences(2.0).expect("q"), all.clone()),
        ("dormancy?at=2024-03-03&days=1", Query::dormancy("2024-03-03", 1.0).expect("q"), all.clone()),
        (
            "recycling?from=2024-03-01&to=2024-03-04&min_age_days=0.5",
            Query::recycling("2024-03-01", "2024-03-04", 0.5).expect("q"),
            all.clone(),
        ),
        (
            "amplification?outlet=Outlet+A",
            Query::Amplification,
            FilterSpec { outlets: vec!["Outlet A".to_owned()], ..FilterSpec::default() }
                .parse()
                .expect("filter"),
        ),
    ];
    for (path, query, filter) in cases {
        let (status, body) = s.get(&format!("/api/v1/analyze/{path}")).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        let want = serde_json::to_value(analyze(&obs, &filter, &query).expect("analysis")).expect("json");
        assert_eq!(body, want, "{path}");
    }
    let (_, silences) = s.get("/api/v1/analyze/silences?min_hours=2").await;
    assert!(silences.as_array().is_some_and(|a| !a.is_empty()), "the corpus has gaps of hours: {silences}");
    refused(&s, "/api/v1/analyze/silences", "min_hours").await;
    refused(&s, "/api/v1/analyze/silences?min_hours=-1", "min_hours").await;
    refused(&s, "/api/v1/analyze/timeline?bucket=century", "bucket").await;
    refused(&s, "/api/v1/analyze/timeline?by=colour", "by").await;
    refused(&s, "/api/v1/analyze/trend?bucket=day", "bucket").await;
    refused(&s, "/api/v1/analyze/trend?by=format", "by").await;
    refused(&s, "/api/v1/analyze/dormancy?days=3", "at").await;
    refused(&s, "/api/v1/analyze/dormancy?at=soon&days=3", "at").await;
    refused(&s, "/api/v1/analyze/recycling?from=2024-03-04&to=2024-03-01&min_age_days=1", "to").await;
    refused(&s, "/api/v1/analyze/dormancy?at=2024-03-03&days=1&from=2024-03-01", "from").await;
    let (status, body) = s.get("/api/v1/analyze/horoscope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["message"].as_str().is_some_and(|m| m.contains("timeline")), "{body}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_and_the_exports_stream_and_are_audited() {
    let s = corpus().await;
    let mut e = s.engine();
    let r = s
        .req(Method::GET, "/api/v1/report?title=Weekly&from=2024-03-01&to=2024-03-04", Some(Role::Viewer))
        .send()
        .await
        .expect("report");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()[reqwest::header::CONTENT_TYPE].to_str().unwrap_or("").starts_with("text/html"));
    let html = r.text().await.expect("html");
    assert!(
        html.trim_start().to_ascii_lowercase().starts_with("<!doctype html"),
        "{}",
        &html[..html.len().min(200)]
    );
    assert!(html.contains("Weekly"));
    refused(&s, "/api/v1/report?silence_hours=-3", "silence_hours").await;

    let obs = e.observatory().expect("observatory");
    let releases = e.releases(&obs, &FilterSpec::default().parse().expect("filter")).expect("releases");
    let r = s
        .req(Method::GET, "/api/v1/export?table=releases&format=csv", Some(Role::Viewer))
        .send()
        .await
        .expect("export");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()[reqwest::header::CONTENT_TYPE].to_str().unwrap_or("").starts_with("text/csv"));
    let bytes = r.bytes().await.expect("csv");
    let mut reader = csv::Reader::from_reader(bytes.as_ref());
    let headers = reader.headers().expect("header").clone();
    assert!(headers.iter().any(|h| h == "id" || h == "release_id"), "{headers:?}");
    let rows = reader.records().collect::<Result<Vec<_>, _>>().expect("rows parse");
    assert_eq!(rows.len(), releases.len());
    let r = s
        .req(Method::GET, "/api/v1/export?table=sightings&format=parquet", Some(Role::Viewer))
        .send()
        .await
        .expect("export");
    assert_eq!(r.status(), StatusCode::OK);
    let bytes = r.bytes().await.expect("parquet");
    assert!(bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"), "a Parquet file");
    refused(&s, "/api/v1/export", "table").await;
    refused(&s, "/api/v1/export?table=passwords", "table").await;
    refused(&s, "/api/v1/export?table=outlets&format=xlsx", "format").await;

    s.running.as_ref().expect("running");
    // The audit log holds each export and the report, by the viewer.
    let mut found = Vec::new();
    for _ in 0..100 {
        found = e
            .audit(None, None)
            .expect("audit")
            .into_iter()
            .filter(|a| a.actor == "viewer" && (a.action == "export" || a.action == "report"))
            .collect();
        if found.len() >= 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let actions: Vec<&str> = found.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(actions, ["report", "export", "export"]);
    assert_eq!(found[1].detail.as_ref().map(|d| d["table"].clone()), Some(json!("releases")));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn banks_matches_and_the_audit_log() {
    let s = corpus().await;
    let e = s.engine();
    let banks = all_pages(&s, "/api/v1/banks", 1).await;
    assert_eq!(Value::Array(banks), serde_json::to_value(e.banks().expect("banks")).expect("json"));
    let (status, bank) = s.get("/api/v1/banks/statements").await;
    assert_eq!(status, StatusCode::OK, "{bank}");
    assert_eq!((bank["total"].as_u64(), bank["entries"]["md5"].as_u64()), (Some(1), Some(1)));
    assert_eq!(bank["enabled_ratio"], 1.0);
    assert_eq!(s.get("/api/v1/banks/STATEMENTS").await.1["name"], "statements", "by its HMA name too");
    assert_eq!(s.get("/api/v1/banks/nope").await.0, StatusCode::NOT_FOUND);

    let matches = all_pages(&s, "/api/v1/matches", 1).await;
    assert_eq!(
        Value::Array(matches.clone()),
        serde_json::to_value(e.stored_matches().expect("matches")).expect("json")
    );
    assert_eq!(matches.len(), 1);
    assert_eq!(all_pages(&s, "/api/v1/matches?bank=statements&source=telegram:1001", 10).await.len(), 1);
    assert!(all_pages(&s, "/api/v1/matches?bank=other", 10).await.is_empty());
    assert!(all_pages(&s, "/api/v1/matches?source=telegram:3003", 10).await.is_empty());
    refused(&s, "/api/v1/matches?source=3003", "source").await;

    s.get("/api/v1/sources").await;
    // Admin only; since and limit as the CLI's.
    let (status, _) = send(s.req(Method::GET, "/api/v1/audit", Some(Role::Analyst))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let mut items = Vec::new();
    for _ in 0..100 {
        let (status, body) = s.get("/api/v1/audit?since=2000-01-01&limit=1000").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        items = body["items"].as_array().expect("items").clone();
        if items.iter().any(|i| i["target"] == "/api/v1/sources") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(items.iter().any(|i| i["target"] == "/api/v1/sources" && i["actor"] == "admin"), "{items:?}");
    let (_, two) = s.get("/api/v1/audit?limit=2").await;
    assert_eq!(two["items"].as_array().map(Vec::len), Some(2));
    refused(&s, "/api/v1/audit?since=last-week", "since").await;
    refused(&s, "/api/v1/audit?limit=5000", "limit").await;
    s.stop().await;
}

/// Follows `$ref`s into the document's components.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let name = r.trim_start_matches("#/components/schemas/");
            resolve(doc, &doc["components"]["schemas"][name])
        }
        None => schema,
    }
}

/// Checks `value` has every required property of `schema`, recursively
/// through objects and arrays.
fn conforms(doc: &Value, schema: &Value, value: &Value, at: &str) {
    let schema = resolve(doc, schema);
    if let Some(one_of) = schema["oneOf"].as_array() {
        // An optional reference (`oneOf: [null, $ref]`): null, or the ref.
        if value.is_null() {
            return;
        }
        let inner = one_of.iter().find(|s| s["type"] != "null").expect("a non-null alternative");
        return conforms(doc, inner, value, at);
    }
    if let Some(required) = schema["required"].as_array() {
        let obj = value.as_object().unwrap_or_else(|| panic!("{at}: not an object: {value}"));
        for key in required {
            let key = key.as_str().expect("name");
            assert!(obj.contains_key(key), "{at}: missing required {key}: {value}");
            conforms(doc, &schema["properties"][key], &obj[key], &format!("{at}.{key}"));
        }
    }
    if let (Some(items), Some(values)) = (schema.get("items"), value.as_array()) {
        for (i, v) in values.iter().enumerate() {
            conforms(doc, items, v, &format!("{at}[{i}]"));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_every_route_and_describes_the_answers() {
    let s = corpus().await;
    let (status, doc) = s.get("/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "{}", doc["openapi"]);
    // Every /api/v1 route the server has (its site map, Flask syntax), with
    // every method it answers.
    let (_, site_map) = send(s.req(Method::GET, "/site-map", None)).await;
    let api: Vec<String> = site_map
        .as_array()
        .expect("routes")
        .iter()
        .filter_map(Value::as_str)
        .filter(|r| r.starts_with("/api/v1/"))
        .map(|r| r.replace("<int:", "{").replace('<', "{").replace('>', "}"))
        .collect();
    assert!(api.len() >= 14, "{api:?}");
    for route in &api {
        // (an action's route answers POST only)
        let method = if route.ends_with("/undo") { "post" } else { "get" };
        assert!(doc["paths"][route][method].is_object(), "{method} {route} is documented");
    }
    assert!(doc["paths"]["/api/v1/decisions"]["post"].is_object(), "POST /api/v1/decisions is documented");
    assert!(doc["paths"]["/api/v1/outlets"]["post"].is_object(), "POST /api/v1/outlets is documented");
    assert!(doc["paths"]["/api/v1/jobs"]["post"].is_object(), "POST /api/v1/jobs is documented");
    let documented: BTreeSet<&str> =
        doc["paths"].as_object().expect("paths").keys().map(String::as_str).collect();
    let listed: BTreeSet<&str> = api.iter().map(String::as_str).collect();
    assert_eq!(documented, listed, "the document has the server's routes, no more");
    // Parameters are documented.
    let names = |path: &str| -> Vec<String> {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .map_or(vec![], |p| p.iter().filter_map(|p| p["name"].as_str().map(str::to_owned)).collect())
    };
    for p in ["source", "from", "to", "q", "limit", "cursor"] {
        assert!(names("/api/v1/posts").iter().any(|n| n == p), "posts documents {p}");
    }
    // Each list route's answer has what its schema requires.
    for path in [
        "/api/v1/sources",
        "/api/v1/posts",
        "/api/v1/releases",
        "/api/v1/outlets",
        "/api/v1/banks",
        "/api/v1/matches",
        "/api/v1/audit",
    ] {
        let schema = &doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"];
        assert!(schema.is_object(), "{path} has a response schema");
        let resolved = resolve(&doc, schema);
        assert!(
            resolved["required"].as_array().is_some_and(|r| r.iter().any(|k| k == "items")),
            "{path}: {resolved}"
        );
        let (status, body) = s.get(path).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body["items"].as_array().is_some_and(|i| !i.is_empty()), "{path} has items to check");
        conforms(&doc, schema, &body, path);
    }
    for path in ["/api/v1/releases/1", "/api/v1/banks/statements", "/api/v1/posts/telegram:3003/1"] {
        let template = match path {
            p if p.starts_with("/api/v1/releases/") => "/api/v1/releases/{id}",
            p if p.starts_with("/api/v1/banks/") => "/api/v1/banks/{name}",
            _ => "/api/v1/posts/{source}/{post_id}",
        };
        let schema =
            &doc["paths"][template]["get"]["responses"]["200"]["content"]["application/json"]["schema"];
        let (status, body) = s.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        conforms(&doc, schema, &body, path);
    }
    s.stop().await;
}
