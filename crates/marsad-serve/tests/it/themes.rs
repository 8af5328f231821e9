//! Theme coding over the API and the pages: two analysts code releases,
//! blind to each other until both have; their kappa and alpha are the
//! planted values; the share table; the codes exported.

use marsad_store::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_analysts_code_blind_and_their_agreement_is_the_planted_one() {
    let s = crate::api::corpus().await;
    let (_, t) = s.get("/api/v1/themes").await;
    assert_eq!(t["name"], "winter-2015", "{t}");
    assert_eq!(t["theme"].as_array().map(Vec::len), Some(6));
    let (_, releases) = s.get("/api/v1/releases?limit=3").await;
    let ids: Vec<i64> =
        releases["items"].as_array().expect("items").iter().map(|r| r["id"].as_i64().expect("id")).collect();
    assert_eq!(ids.len(), 3);
    let code = |id: i64| format!("/api/v1/releases/{id}/codes");
    // The analyst (token "analyst") and the moderator (token "moderator")
    // code: war, utopia, war and war, utopia, utopia.
    for (role, themes) in
        [(Role::Analyst, ["war", "utopia", "war"]), (Role::Moderator, ["war", "utopia", "utopia"])]
    {
        for (id, theme) in ids.iter().zip(themes) {
            if role == Role::Moderator && *id == ids[0] {
                // Blind: the analyst's code is not shown before the moderator's own.
                let (_, seen) = s.as_role(role, Method::GET, &code(*id), None).await;
                assert_eq!(
                    (seen["hidden"].as_u64(), seen["others"].as_array().map(Vec::len)),
                    (Some(1), Some(0)),
                    "{seen}"
                );
            }
            let body = json!({"primary": theme, "secondary": ["belonging", theme]});
            let (status, made) = s.as_role(role, Method::PUT, &code(*id), Some(body)).await;
            assert_eq!(status, StatusCode::OK, "{made}");
            assert_eq!(made["secondary"], json!(["belonging"]), "the primary is not also secondary: {made}");
        }
    }
    let (_, seen) = s.as_role(Role::Moderator, Method::GET, &code(ids[0]), None).await;
    assert_eq!(seen["others"][0]["coder"], "analyst", "coded, the others are shown: {seen}");
    assert_eq!(seen["mine"]["primary"], "war");
    // A viewer does not code, and sees every code.
    let (_, seen) = s.as_role(Role::Viewer, Method::GET, &code(ids[0]), None).await;
    assert_eq!(
        (seen["mine"].clone(), seen["others"].as_array().map(Vec::len)),
        (Value::Null, Some(2)),
        "{seen}"
    );
    let (status, _) =
        s.as_role(Role::Viewer, Method::PUT, &code(ids[0]), Some(json!({"primary": "war"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for (body, status) in [
        (json!({"primary": "nonsense"}), StatusCode::BAD_REQUEST),
        (json!({"primary": "war", "secondary": ["nonsense"]}), StatusCode::BAD_REQUEST),
        (json!({"primary": "war", "extra": 1}), StatusCode::BAD_REQUEST),
        (json!({}), StatusCode::BAD_REQUEST),
    ] {
        assert_eq!(
            s.as_role(Role::Analyst, Method::PUT, &code(ids[0]), Some(body.clone())).await.0,
            status,
            "{body}"
        );
    }
    assert_eq!(
        s.as_role(Role::Analyst, Method::PUT, &code(99_999_999), Some(json!({"primary": "war"}))).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(s.get("/api/v1/releases/x/codes").await.0, StatusCode::BAD_REQUEST);

    // Planted: p_o = 2/3, p_e = 4/9, kappa = 0.4; alpha = 1 − 2 / ((36 − 18) / 5).
    let (_, a) = s.get("/api/v1/agreement").await;
    let pair = &a["pairs"][0];
    assert_eq!(
        (pair["a"].as_str(), pair["b"].as_str(), pair["releases"].as_u64()),
        (Some("analyst"), Some("moderator"), Some(3))
    );
    assert!((pair["kappa"].as_f64().expect("kappa") - 0.4).abs() < 1e-9, "{a}");
    assert!((a["alpha"].as_f64().expect("alpha") - (1.0 - 2.0 / 3.6)).abs() < 1e-9, "{a}");
    assert_eq!((a["releases_coded"].as_u64(), a["releases_shared"].as_u64()), (Some(3), Some(3)));

    // The share table: one row per theme per month with coded releases;
    // each month's shares add up to one.
    let (status, report) = s.get("/api/v1/analyze/themes?bucket=month").await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let rows = report["rows"].as_array().expect("rows");
    assert_eq!(rows.len() % 6, 0);
    let total: f64 = rows.iter().map(|r| r["releases"].as_f64().expect("n")).sum();
    assert!((total - 3.0).abs() < 1e-9, "each release once: {report}");
    let war: f64 =
        rows.iter().filter(|r| r["theme"] == "war").map(|r| r["releases"].as_f64().expect("n")).sum();
    assert!((war - 1.5).abs() < 1e-9, "release 3's tie is split: {report}");
    assert_eq!(s.get("/api/v1/analyze/themes?by=outlet").await.0, StatusCode::OK);
    assert_eq!(s.get("/api/v1/analyze/themes?by=format").await.0, StatusCode::BAD_REQUEST);
    assert_eq!(s.get("/api/v1/analyze/themes?bucket=hour").await.0, StatusCode::BAD_REQUEST);

    // Exported with the releases.
    let r = s
        .req(Method::GET, "/api/v1/export?table=theme_codes", Some(Role::Viewer))
        .send()
        .await
        .expect("export");
    assert_eq!(r.status(), StatusCode::OK);
    let csv = r.text().await.expect("csv");
    assert!(csv.starts_with("release_id,taxonomy,coder,primary_theme,secondary_themes,coded_at"), "{csv}");
    assert_eq!(csv.lines().count(), 7, "{csv}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_release_page_codes_blind_and_the_themes_page_shows_kappa() {
    use reqwest::header::COOKIE;
    let s = crate::api::corpus().await;
    let (_, releases) = s.get("/api/v1/releases?limit=3").await;
    let ids: Vec<i64> =
        releases["items"].as_array().expect("items").iter().map(|r| r["id"].as_i64().expect("id")).collect();
    let http =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let mut sessions = Vec::new();
    for name in ["amal", "omar"] {
        s.engine().create_user("cli", name, Role::Analyst, "a long enough password").expect("user");
        sessions.push(crate::protection::signed_in_as(&s, name).await);
    }
    let post = |cookie: &str, path: String, form: Vec<(&'static str, &'static str)>, csrf: &str| {
        let mut form: Vec<(&str, String)> = form.into_iter().map(|(k, v)| (k, v.to_owned())).collect();
        form.push(("csrf", csrf.to_owned()));
        http.post(s.url(&path)).header(COOKIE, cookie.to_owned()).form(&form).send()
    };
    for ((cookie, csrf), themes) in
        sessions.iter().zip([["war", "utopia", "war"], ["war", "utopia", "utopia"]])
    {
        for (id, theme) in ids.iter().zip(themes) {
            if cookie == &sessions[1].0 && *id == ids[0] {
                let html = http
                    .get(s.url(&format!("/releases/{id}")))
                    .header(COOKIE, cookie)
                    .send()
                    .await
                    .expect("page")
                    .text()
                    .await
                    .expect("html");
                assert!(html.contains("1 other analyst coded this release"), "{html}");
                assert!(!html.contains("<td><bdi>amal</bdi></td>"), "blind: {html}");
            }
            let r = post(
                cookie,
                format!("/releases/{id}/codes"),
                vec![("primary", theme), ("secondary", "mercy")],
                csrf,
            )
            .await
            .expect("post");
            assert_eq!(r.status(), StatusCode::SEE_OTHER, "{id} {theme}");
        }
    }
    let html = http
        .get(s.url(&format!("/releases/{}", ids[0])))
        .header(COOKIE, &sessions[1].0)
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(
        html.contains("<td><bdi>amal</bdi></td>") && html.contains("Your code: <strong>War</strong>"),
        "{html}"
    );
    let r = post(
        &sessions[0].0,
        format!("/releases/{}/codes", ids[0]),
        vec![("primary", "nonsense")],
        &sessions[0].1,
    )
    .await
    .expect("post");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = post(&sessions[0].0, format!("/releases/{}/codes", ids[0]), vec![], &sessions[0].1)
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let html = http
        .get(s.url("/themes"))
        .header(COOKIE, &sessions[0].0)
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(html.contains(r#"<td class="n kappa">0.400</td>"#), "{html}");
    assert!(html.contains(r#"<strong class="alpha">0.444</strong>"#), "{html}");
    s.stop().await;
}
