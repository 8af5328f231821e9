//! Every HMA route and error, requests and responses as HMA 1.1.7's
//! blueprints define them.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{Server, flip, pdq, python, send};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_routes() {
    let s = Server::start().await;
    let r = s.http.get(s.url("/status/live")).send().await.expect("live");
    assert_eq!((r.status(), r.text().await.expect("body").as_str()), (StatusCode::OK, "I-AM-ALIVE"));
    let (status, map) = send(s.http.get(s.url("/site-map"))).await;
    assert_eq!(status, StatusCode::OK);
    let routes: Vec<&str> = map.as_array().expect("array").iter().filter_map(Value::as_str).collect();
    let mut sorted = routes.clone();
    sorted.sort_unstable();
    assert_eq!(routes, sorted, "sorted as HMA's");
    for r in ["/m/raw_lookup", "/c/bank/<bank_name>/content/<int:content_id>", "/status/live"] {
        assert!(routes.contains(&r), "{r}");
    }
    let (status, body) = s.get("/nowhere").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["message"].is_string());
    let r = s
        .req(reqwest::Method::GET, "/metrics", Some(marsad_store::Role::Viewer))
        .send()
        .await
        .expect("metrics");
    assert_eq!(r.status(), StatusCode::OK);
    let text = r.text().await.expect("body");
    assert!(
        text.contains("marsad_http_requests_total{method=\"GET\",route=\"/site-map\",status=\"200\"}"),
        "{text}"
    );
    assert!(text.contains("marsad_index_entries{signal_type=\"pdq\"} 0"), "{text}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn banks() {
    let s = Server::start().await;
    assert_eq!(s.get("/c/banks").await, (StatusCode::OK, json!([])));
    let (status, body) = s.post_json("/c/banks", json!({"name": "TEST_BANK"})).await;
    assert_eq!(
        (status, body),
        (StatusCode::CREATED, json!({"matching_enabled_ratio": 1.0, "name": "TEST_BANK"}))
    );
    // As HMA: `enabled` alone is ignored (the ratio defaults to 1), and
    // counts when the ratio is given as null.
    assert_eq!(
        s.post_json("/c/banks", json!({"name": "ON", "enabled": false})).await.1["matching_enabled_ratio"],
        1.0
    );
    let (_, off) =
        s.post_json("/c/banks", json!({"name": "OFF", "enabled": false, "enabled_ratio": null})).await;
    assert_eq!(off["matching_enabled_ratio"], 0.0);
    s.delete("/c/bank/ON").await;
    s.delete("/c/bank/OFF").await;
    let (status, body) = s.post_json("/c/banks", json!({"name": "HALF", "enabled_ratio": 0.5})).await;
    assert_eq!((status, body["matching_enabled_ratio"].clone()), (StatusCode::CREATED, json!(0.5)));
    assert_eq!(
        s.post_json("/c/banks", json!({"name": "TEST_BANK"})).await,
        (StatusCode::FORBIDDEN, json!({"message": "Bank already exists"}))
    );
    assert_eq!(
        s.post_json("/c/banks", json!({"name": "lower"})).await,
        (StatusCode::BAD_REQUEST, json!({"message": "Bank names must be UPPER_WITH_UNDERSCORE"}))
    );
    let (status, body) = s.post_json("/c/banks", json!({"enabled": true})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // flask-openapi3 validates the body alone: `loc` is the field, with no
    // "body" in front (as HMA answers, seen beside it with bench/hma-diff.py)
    assert_eq!(body[0]["loc"], json!(["name"]));
    assert_eq!(body[0]["type"], "missing");
    let (status, body) = s.post_json("/c/banks", json!({"name": 5})).await;
    assert_eq!(
        (status, body[0]["type"].clone(), body[0]["loc"].clone(), body[0]["input"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("string_type"), json!(["name"]), json!(5))
    );
    let (status, body) =
        send(s.req(reqwest::Method::POST, "/c/banks", Some(marsad_store::Role::Admin)).body("x")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        (body[0]["type"].clone(), body[0]["loc"].clone(), body[0]["input"].clone(), body[0]["ctx"].clone()),
        (json!("model_type"), json!([]), Value::Null, json!({"class_name": "BankCreateRequest"}))
    );
    assert_eq!(body[0]["msg"], "Input should be a valid dictionary or instance of BankCreateRequest");
    let (status, body) = s.put_json("/c/bank/TEST_BANK", json!([1])).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        (body[0]["ctx"].clone(), body[0]["input"].clone()),
        (json!({"class_name": "BankUpdateRequest"}), json!([1]))
    );
    let (status, body) = s.put_json("/c/bank/TEST_BANK", json!({"enabled_ratio": "x"})).await;
    assert_eq!(
        (status, body[0]["type"].clone(), body[0]["loc"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("float_parsing"), json!(["enabled_ratio"]))
    );
    assert_eq!(body[0]["msg"], "Input should be a valid number, unable to parse string as a number");

    assert_eq!(
        s.get("/c/bank/TEST_BANK").await.1,
        json!({"matching_enabled_ratio": 1.0, "name": "TEST_BANK"})
    );
    assert_eq!(
        s.get("/c/bank/NOPE").await,
        (StatusCode::NOT_FOUND, json!({"message": "bank 'NOPE' not found"}))
    );
    let (status, body) = s.get("/c/banks").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.as_array().map(Vec::len), Some(2));

    let (status, body) = s.put_json("/c/bank/TEST_BANK", json!({"name": "RENAMED", "enabled": false})).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"matching_enabled_ratio": 0.0, "name": "RENAMED"})));
    assert_eq!(
        s.put_json("/c/bank/RENAMED", json!({"name": "HALF"})).await,
        (StatusCode::FORBIDDEN, json!({"message": "Bank name already exists"}))
    );
    assert_eq!(
        s.put_json("/c/bank/GONE", json!({"enabled": true})).await,
        (StatusCode::NOT_FOUND, json!({"message": "Bank not found"}))
    );
    assert_eq!(s.put_json("/c/bank/RENAMED", json!({"name": "bad name"})).await.0, StatusCode::BAD_REQUEST);
    // marsad's own: a bank's PDQ distance, shown only when set.
    let (_, body) = s.put_json("/c/bank/RENAMED", json!({"pdq_threshold": 10})).await;
    assert_eq!(body["pdq_threshold"], 10);

    assert_eq!(s.delete("/c/bank/RENAMED").await, (StatusCode::OK, json!({"message": "Done"})));
    assert_eq!(s.delete("/c/bank/RENAMED").await, (StatusCode::OK, json!({"message": "Done"})));
    assert_eq!(s.get("/c/bank/RENAMED").await.0, StatusCode::NOT_FOUND);

    // A bank made by the CLI, with a name outside HMA's form, appears
    // under the name made from it.
    s.engine().create_bank("demo-known").expect("create");
    assert_eq!(s.get("/c/bank/DEMO_KNOWN").await.1["name"], "DEMO_KNOWN");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content() {
    let s = Server::start().await;
    s.post_json("/c/banks", json!({"name": "B"})).await;
    let h = pdq(1);
    let md5 = "D41D8CD98F00B204E9800998ECF8427E";
    let (status, body) =
        s.post_json("/c/bank/B/signal", json!({"pdq": h, "video_md5": md5, "note": "seen"})).await;
    assert_eq!(status, StatusCode::OK);
    let id = body["id"].as_i64().expect("integer id");
    assert_eq!(body["signals"], json!({"pdq": h, "video_md5": md5.to_lowercase()}));

    let (status, body) = s.get(&format!("/c/bank/B/content/{id}?include_signals=true")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({
            "bank": {"matching_enabled_ratio": 1.0, "name": "B"},
            "disable_until_ts": 1,
            "id": id,
            "note": "seen",
            "original_media_uri": null,
            "signals": {"pdq": h, "video_md5": md5.to_lowercase()},
        })
    );
    // Without include_signals, no signals key.
    assert!(s.get(&format!("/c/bank/B/content/{id}")).await.1.get("signals").is_none());
    assert_eq!(
        s.get("/c/bank/B/content/999999").await,
        (StatusCode::NOT_FOUND, json!({"message": "content '999999' not found"}))
    );
    assert_eq!(
        s.get(&format!("/c/bank/NOPE/content/{id}")).await,
        (StatusCode::NOT_FOUND, json!({"message": "bank 'NOPE' not found"}))
    );

    for (body, message) in [
        (json!({}), "No signals given"),
        (json!({"note": "only"}), "No signals given"),
        (json!({"nope": "x"}), "No such signal type nope"),
        (json!({"pdq": "ABC"}), "Invalid pdq signal: invalid PDQ hash"),
        (json!({"pdq": h.to_uppercase()}), "Invalid pdq signal: invalid PDQ hash"),
        (json!({"pdq": pdq(2), "note": "x".repeat(256)}), "note must be at most 255 characters"),
        (json!({"pdq": pdq(2), "note": 5}), "note should be a string"),
    ] {
        assert_eq!(
            s.post_json("/c/bank/B/signal", body.clone()).await,
            (StatusCode::BAD_REQUEST, json!({"message": message})),
            "{body}"
        );
    }
    assert_eq!(s.post_json("/c/bank/NOPE/signal", json!({"pdq": h})).await.0, StatusCode::NOT_FOUND);

    // Disabled content does not match /m/lookup (raw_lookup still sees it).
    let (status, body) = s.put_json(&format!("/c/bank/B/content/{id}"), json!({"disable_until_ts": 0})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["disable_until_ts"], 0);
    assert_eq!(body["bank"], json!({"matching_enabled_ratio": 1.0, "name": "B"}));
    for key in ["collab_metadata", "id", "note", "original_media_uri", "user_metadata"] {
        assert!(body.get(key).is_some(), "{key} in {body}");
    }
    assert_eq!(s.get(&format!("/m/lookup?signal_type=pdq&signal={h}")).await.1, json!({}));
    assert_eq!(s.get(&format!("/m/raw_lookup?signal_type=pdq&signal={h}")).await.1, json!({"matches": [id]}));
    // Disabled until a time in the past: enabled again.
    s.put_json(&format!("/c/bank/B/content/{id}"), json!({"disable_until_ts": 1_000_000, "note": ""})).await;
    let (_, body) = s.get(&format!("/m/lookup?signal_type=pdq&signal={h}")).await;
    assert_eq!(body, json!({"B": [{"bank_content_id": id, "distance": "0"}]}));
    assert!(s.get(&format!("/c/bank/B/content/{id}")).await.1.get("note").is_none(), "the note was removed");
    for (body, message) in [
        (json!({"disable_until_ts": -1}), "disable_until_ts must be a non-negative integer"),
        (
            json!({"disable_until_ts": 99_999_999_999i64}),
            "disable_until_ts must be less than 5 years in the future",
        ),
        (json!({"disable_until_ts": "x"}), "Invalid int: 'x'"),
    ] {
        assert_eq!(
            s.put_json(&format!("/c/bank/B/content/{id}"), body).await,
            (StatusCode::BAD_REQUEST, json!({"message": message}))
        );
    }

    assert_eq!(s.delete(&format!("/c/bank/B/content/{id}")).await, (StatusCode::OK, json!({"deleted": 1})));
    assert_eq!(s.delete(&format!("/c/bank/B/content/{id}")).await, (StatusCode::OK, json!({"deleted": 0})));
    assert_eq!(s.delete(&format!("/c/bank/NOPE/content/{id}")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(s.get(&format!("/m/raw_lookup?signal_type=pdq&signal={h}")).await.1, json!({"matches": []}));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matching() {
    let s = Server::start().await;
    s.post_json("/c/banks", json!({"name": "A"})).await;
    s.post_json("/c/banks", json!({"name": "C"})).await;
    let h = pdq(7);
    let (_, a) = s.post_json("/c/bank/A/signal", json!({"pdq": h})).await;
    let (_, c) =
        s.post_json("/c/bank/C/signal", json!({"pdq": flip(&h, 5), "video_md5": "0".repeat(32)})).await;
    let (a, c) = (a["id"].as_i64().expect("id"), c["id"].as_i64().expect("id"));
    let near = flip(&h, 3);

    let (status, body) = s.get(&format!("/m/raw_lookup?signal_type=pdq&signal={near}")).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"matches": [a, c]})));
    let (_, body) =
        s.get(&format!("/m/raw_lookup?signal_type=pdq&signal={near}&include_distance=true")).await;
    assert_eq!(
        body,
        json!({"matches": [{"bank_content_id": a, "distance": "3"}, {"bank_content_id": c, "distance": "2"}]})
    );
    let (_, body) = s.get(&format!("/m/raw_lookup?signal_type=pdq&signal={near}&banks=C")).await;
    assert_eq!(body, json!({"matches": [c]}));
    let (_, body) = s
        .get(&format!("/m/raw_lookup?signal_type=video_md5&signal={}&include_distance=1", "0".repeat(32)))
        .await;
    assert_eq!(body, json!({"matches": [{"bank_content_id": c, "distance": "-"}]}));
    let (_, body) = s.get(&format!("/m/raw_lookup?signal_type=pdq&signal={}", pdq(99))).await;
    assert_eq!(body, json!({"matches": []}));

    let (status, body) = s.get("/m/raw_lookup?signal_type=pdq").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        (body[0]["loc"].clone(), body[0]["msg"].clone()),
        (json!(["signal"]), json!("Field required"))
    );
    // every bad field at once, in RawLookupRequest's order
    let (status, body) = s.get("/m/raw_lookup?include_distance=x").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let problems: Vec<(Value, Value)> =
        body.as_array().expect("list").iter().map(|p| (p["loc"].clone(), p["type"].clone())).collect();
    assert_eq!(
        problems,
        vec![
            (json!(["signal"]), json!("missing")),
            (json!(["signal_type"]), json!("missing")),
            (json!(["include_distance"]), json!("bool_parsing")),
        ]
    );
    assert_eq!(s.get(&format!("/m/raw_lookup?signal={h}")).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        s.get(&format!("/m/raw_lookup?signal_type=pdq&signal={h}&include_distance=maybe")).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        s.get(&format!("/m/raw_lookup?signal_type=nope&signal={h}")).await,
        (StatusCode::BAD_REQUEST, json!({"message": "No such SignalType 'nope'"}))
    );
    assert_eq!(
        s.get("/m/raw_lookup?signal_type=pdq&signal=abc").await,
        (StatusCode::BAD_REQUEST, json!({"message": "invalid signal: invalid PDQ hash"}))
    );

    // /m/lookup: by bank, no signal-type level.
    let (status, body) = s.get(&format!("/m/lookup?signal_type=pdq&signal={near}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"A": [{"bank_content_id": a, "distance": "3"}], "C": [{"bank_content_id": c, "distance": "2"}]})
    );
    let (_, body) = s.get(&format!("/m/lookup?signal_type=pdq&signal={near}&banks=A")).await;
    assert_eq!(body, json!({"A": [{"bank_content_id": a, "distance": "3"}]}));
    assert_eq!(
        s.get("/m/lookup?signal_type=pdq").await,
        (
            StatusCode::BAD_REQUEST,
            json!({"message": "Either url or both signal and signal_type are required"})
        )
    );
    // marsad's own: the matched entry's metadata.
    let (_, body) =
        s.get(&format!("/m/lookup?signal_type=pdq&signal={near}&banks=A&include_metadata=true")).await;
    assert_eq!(body["A"][0]["metadata"]["bank"], "A");

    // A bank's own PDQ distance.
    s.put_json("/c/bank/C", json!({"pdq_threshold": 1})).await;
    let (_, body) = s.get(&format!("/m/raw_lookup?signal_type=pdq&signal={near}")).await;
    assert_eq!(body, json!({"matches": [a]}));
    s.put_json("/c/bank/A", json!({"pdq_threshold": 40})).await;
    let far = flip(&h, 36);
    assert_eq!(
        s.get(&format!("/m/raw_lookup?signal_type=pdq&signal={far}")).await.1,
        json!({"matches": [a]})
    );

    // compare
    let (status, body) = s
        .post_json("/m/compare", json!({"pdq": [h, near], "video_md5": ["0".repeat(32), "1".repeat(32)]}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"pdq": [true, {"distance": 3}], "video_md5": [false, {}]}));
    assert_eq!(
        s.post_json("/m/compare", json!({"pdq": [h, far]})).await.1,
        json!({"pdq": [false, {"distance": 36}]})
    );
    for (body, message) in [
        (json!([1, 2]), "Request input was not a dict".to_owned()),
        (json!({"pdq": h}), "Comparison hashes for pdq was not a list".to_owned()),
        (json!({"pdq": [h]}), "Comparison hash list length must be exactly 2".to_owned()),
        (json!({"nope": [h, h]}), "No such SignalType 'nope'".to_owned()),
        (json!({"pdq": [h, "zz"]}), "Invalid pdq hash: invalid PDQ hash".to_owned()),
    ] {
        assert_eq!(
            s.post_json("/m/compare", body).await,
            (StatusCode::BAD_REQUEST, json!({"message": message}))
        );
    }

    // index status
    let (status, body) = s.get("/m/index/status").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["pdq"]["present"], true);
    assert_eq!(body["pdq"]["size"], 2);
    assert!(body["pdq"]["built_to"].as_i64().expect("ts") > 1_700_000_000);
    assert_eq!(body["vpdq"], json!({"built_to": -1, "present": true, "size": 0}));
    let (_, one) = s.get("/m/index/status?signal_type=pdq").await;
    assert_eq!(one.as_object().map(|m| m.len()), Some(1));
    assert_eq!(
        s.get("/m/index/status?signal_type=nope").await,
        (StatusCode::BAD_REQUEST, json!({"message": "No such signal type 'nope'"}))
    );

    // Configuration
    let (_, types) = s.get("/c/signal_type").await;
    assert_eq!(types[0], json!({"enabled_ratio": 1.0, "name": "pdq"}));
    assert_eq!(types[1]["name"], "video_md5");
    let r = s
        .req(reqwest::Method::PUT, "/c/signal_type/pdq", Some(marsad_store::Role::Admin))
        .json(&json!({"enabled_ratio": 0.5}))
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(s.get("/c/signal_type").await.1[0], json!({"enabled_ratio": 0.5, "name": "pdq"}));
    // HMA's view: require_json_param and str_to_type, 400s with its words
    assert_eq!(
        s.put_json("/c/signal_type/pdq", json!({})).await,
        (StatusCode::BAD_REQUEST, json!({"message": "enabled_ratio is required"}))
    );
    assert_eq!(
        s.put_json("/c/signal_type/pdq", json!({"enabled_ratio": "x"})).await,
        (StatusCode::BAD_REQUEST, json!({"message": "Invalid float: 'x'"}))
    );
    assert_eq!(
        s.put_json("/c/signal_type/pdq", json!({"enabled_ratio": "0.5"})).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(s.get("/c/signal_type").await.1[0], json!({"enabled_ratio": 0.5, "name": "pdq"}));
    let (_, idx) = s.get("/c/signal_type/index?signal_type=pdq").await;
    assert_eq!(idx["pdq"]["db_size"], 2);
    assert_eq!(idx["pdq"]["index_size"], 2);
    assert_eq!(idx["pdq"]["index_out_of_date"], false);
    assert_eq!(
        s.get("/c/content_type").await.1,
        json!([{"enabled": true, "name": "photo"}, {"enabled": true, "name": "video"}])
    );
    s.stop().await;
}

/// The coin flip HMA makes per lookup is Python's `random.Random(seed)`:
/// the same seeds take the same banks as in HMA (decided here by python3).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_coin_flip_follows_python() {
    let seeds: Vec<String> = (0..40).map(|i| format!("content-{i}")).collect();
    let draws =
        python(&format!("import random\nfor s in {:?}: print(repr(random.Random(s).random()))", seeds));
    let draws: Vec<f64> = draws.lines().map(|l| l.parse().expect("float")).collect();
    for (s, want) in seeds.iter().zip(&draws) {
        assert_eq!(marsad_serve::pyrandom::random_of_seed(s), *want, "{s}");
    }
    let s = Server::start().await;
    s.post_json("/c/banks", json!({"name": "HALF", "enabled_ratio": 0.5})).await;
    let h = pdq(3);
    s.post_json("/c/bank/HALF/signal", json!({"pdq": h})).await;
    for (seed, draw) in seeds.iter().zip(&draws) {
        let (_, body) = s.get(&format!("/m/lookup?signal_type=pdq&signal={h}&seed={seed}")).await;
        assert_eq!(body.get("HALF").is_some(), 0.5 >= *draw, "seed {seed} drew {draw}");
        let (_, body) =
            s.get(&format!("/m/lookup?signal_type=pdq&signal={h}&seed={seed}&bypass_coinflip=true")).await;
        assert!(body.get("HALF").is_some(), "bypassed");
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_upload_named_video_hashes_to_video_md5() {
    // HMA hashes the bytes of an upload named `video` to video_md5 whatever
    // they hold; marsad's own vpdq, a default it cannot compute for an image,
    // is left out rather than failing the request (seen beside HMA with
    // bench/hma-diff.py).
    let s = Server::start().await;
    let png = crate::busy_png(96, 64, 3);
    let form = |field: &str| {
        reqwest::multipart::Form::new().part(
            field.to_owned(),
            reqwest::multipart::Part::bytes(png.clone())
                .file_name("a.png")
                .mime_str("image/png")
                .expect("mime"),
        )
    };
    let post = |path: &str, field: &str| {
        send(s.req(reqwest::Method::POST, path, Some(marsad_store::Role::Viewer)).multipart(form(field)))
    };
    let (_, as_photo) = post("/h/hash?types=md5", "photo").await;
    let md5 = as_photo["md5"].as_str().expect("md5").to_owned();
    assert_eq!(post("/h/hash", "video").await, (StatusCode::OK, json!({"video_md5": md5})));
    // asked for by name, a signal the file does not give is still a 400
    let (status, body) = post("/h/hash?types=vpdq", "video").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["message"],
        "cannot hash the file as video: no vpdq signal (the file is taken for image)"
    );
    // HMA skips empty names in `types`
    let (status, body) = post("/h/hash?types=pdq,", "photo").await;
    assert_eq!((status, body.as_object().map(|m| m.len())), (StatusCode::OK, Some(1)));
    s.stop().await;
}
