//! The web UI's forms that send files (an export uploaded as an ingest
//! job, a bank file imported) and its downloads (a bank exported), and
//! the catalogue's sort: as a browser sends them, over HTTP.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_DISPOSITION, COOKIE, LOCATION};
use reqwest::multipart::{Form, Part};
use serde_json::Value;

use crate::Server;
use crate::ui::{csrf_field, page, signed_in};
use marsad_store::Role;

/// A multipart form whose first part is `csrf` (as the pages' forms are).
fn with_csrf(csrf: &str) -> Form {
    Form::new().text("csrf", csrf.to_owned())
}

async fn post(
    http: &reqwest::Client,
    s: &Server,
    cookie: &str,
    path: &str,
    form: Form,
) -> (StatusCode, String, Option<String>) {
    let r = http.post(s.url(path)).header(COOKIE, cookie).multipart(form).send().await.expect("post");
    let location = r.headers().get(LOCATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
    (r.status(), r.text().await.expect("body"), location)
}

async fn jobs_count(s: &Server) -> usize {
    let (status, jobs) = s.get("/api/v1/jobs").await;
    assert_eq!(status, StatusCode::OK, "{jobs}");
    jobs["items"].as_array().expect("items").len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_uploaded_from_the_jobs_page_is_ingested_as_the_apis_jobs_are() {
    let s = Server::start().await;
    let (http, cookie) = signed_in(&s, Role::Analyst).await;
    let (status, html) = page(&http, &s, &cookie, "/jobs").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains(r#"enctype="multipart/form-data""#) && html.contains(r#"type="file""#), "{html}");
    let csrf = csrf_field(&html);

    let dir = tempfile::tempdir().expect("tmp");
    let tar = crate::jobs::tar_folder(&crate::jobs::export(dir.path()));
    let file = || Part::bytes(tar.clone()).file_name("export.tar");

    // Without a session: 401 before the body is read.
    for path in ["/jobs", "/banks/import"] {
        let r =
            crate::ui::client().post(s.url(path)).multipart(Form::new().part("file", file())).send().await;
        assert_eq!(r.expect("post").status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    // Refused, and nothing queued: no token, a wrong one, the token after
    // the file, a file sent to a form that takes none, and a viewer.
    let refused: Vec<(&str, Form)> = vec![
        ("no token", Form::new().part("file", file())),
        ("a wrong token", with_csrf("0123456789abcdef").part("file", file())),
        ("the token after the file", Form::new().part("file", file()).text("csrf", csrf.clone())),
    ];
    for (why, form) in refused {
        let (status, body, _) = post(&http, &s, &cookie, "/jobs", form).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{why}: {body}");
        assert!(body.contains("did not come from this site"), "{why}: {body}");
    }
    let (status, body, _) =
        post(&http, &s, &cookie, "/review/decide", with_csrf(&csrf).part("file", file())).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a file only goes to the forms that take one: {body}");
    let (viewer, viewer_cookie) = signed_in(&s, Role::Viewer).await;
    let (_, viewer_page) = page(&viewer, &s, &viewer_cookie, "/jobs").await;
    assert!(!viewer_page.contains(r#"type="file""#), "a viewer gets no upload form");
    let viewer_csrf = csrf_field(&viewer_page);
    let (status, body, _) =
        post(&viewer, &s, &viewer_cookie, "/jobs", with_csrf(&viewer_csrf).part("file", file())).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("analyst"), "{body}");
    assert_eq!(jobs_count(&s).await, 0, "no refused upload was queued");

    // A bad field is the API's 400, named, on the page.
    let (status, body, _) =
        post(&http, &s, &cookie, "/jobs", with_csrf(&csrf).text("kind", "pdf").part("file", file())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("kind"), "{body}");

    // Accepted: back to the Jobs page at the job, which ends as the API's.
    let (status, _, location) = post(
        &http,
        &s,
        &cookie,
        "/jobs",
        with_csrf(&csrf).text("kind", "telegram").text("retain_media", "true").part("file", file()),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = location.expect("a redirect");
    let id: i64 = location.strip_prefix("/jobs#job-").and_then(|n| n.parse().ok()).expect(&location);
    let job = crate::jobs::wait(&s, &format!("/api/v1/jobs/{id}")).await;
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["created_by"], "u-analyst", "{job}");
    assert_eq!(job["options"]["retain_media"], true, "{job}");
    assert_eq!(job["summary"]["posts_added"], 4, "{job}");
    let (_, html) = page(&http, &s, &cookie, "/jobs").await;
    assert!(html.contains(&format!(r#"id="job-{id}""#)), "{html}");
    let db = s.db.clone();
    let _kept = s.stop().await;
    let engine = marsad_engine::Engine::open(db.to_str().expect("path")).expect("store");
    let audit = engine.audit(None, None).expect("audit");
    assert!(
        audit.iter().any(|e| e.action == "job.create" && e.actor == "u-analyst"),
        "the upload is audited as the user's"
    );
}

/// The value of the first PDQ hash of a seed, and a CSV of three with one
/// bad line.
fn csv_of(seeds: &[u64]) -> String {
    let mut lines: Vec<String> = seeds.iter().map(|&k| format!("{},src=ui-test", crate::pdq(k))).collect();
    lines.insert(1, "not a hash".to_owned());
    lines.join("\n") + "\n"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn banks_are_imported_and_exported_from_their_pages_and_match_at_once() {
    let s = Server::start().await;
    let (http, cookie) = signed_in(&s, Role::Moderator).await;
    let (status, html) = page(&http, &s, &cookie, "/banks").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains(r#"action="/banks/import""#), "{html}");
    let csrf = csrf_field(&html);
    let csv = csv_of(&[11, 12, 13]);
    let form = |bank: &str, create: bool| {
        let f = with_csrf(&csrf).text("bank", bank.to_owned()).text("format", "csv").text("type", "pdq");
        let f = if create { f.text("create", "true") } else { f };
        f.part("file", Part::bytes(csv.clone().into_bytes()).file_name("hashes.csv"))
    };

    // Into a bank that does not exist, without create: a 404 naming it.
    let (status, body, _) = post(&http, &s, &cookie, "/banks/import", form("Ghost bank", false)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body.contains("Ghost bank"), "{body}");
    // Bad fields: named.
    let (status, body, _) = post(
        &http,
        &s,
        &cookie,
        "/banks/import",
        with_csrf(&csrf)
            .text("bank", "b")
            .text("format", "xml")
            .part("file", Part::bytes(b"x".to_vec()).file_name("f")),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("format"), "{body}");
    let (status, body, _) = post(
        &http,
        &s,
        &cookie,
        "/banks/import",
        with_csrf(&csrf)
            .text("bank", "b")
            .text("sneaky", "1")
            .part("file", Part::bytes(b"x".to_vec()).file_name("f")),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("sneaky"), "{body}");
    // Without the token, or as an analyst: refused, nothing made.
    let (status, _, _) = post(&http, &s, &cookie, "/banks/import", {
        Form::new()
            .text("bank", "Forged")
            .text("create", "true")
            .part("file", Part::bytes(csv.clone().into_bytes()).file_name("h.csv"))
    })
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (analyst, analyst_cookie) = signed_in(&s, Role::Analyst).await;
    let (_, analyst_page) = page(&analyst, &s, &analyst_cookie, "/banks").await;
    assert!(!analyst_page.contains(r#"action="/banks/import""#), "an analyst gets no import form");
    let analyst_csrf = csrf_field(&analyst_page);
    let (status, body, _) = post(&analyst, &s, &analyst_cookie, "/banks/import", {
        with_csrf(&analyst_csrf)
            .text("bank", "Forged")
            .text("create", "true")
            .part("file", Part::bytes(csv.clone().into_bytes()).file_name("h.csv"))
    })
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(s.engine().banks().expect("banks").is_empty(), "no refused import made a bank");

    // Imported: three entries, the bad line named; matched at once.
    let name = "Gazette \"bank\" ١";
    let (status, body, _) = post(&http, &s, &cookie, "/banks/import", form(name, true)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("3 added, 0 already there, 1 lines skipped, of 4 lines"), "{body}");
    assert!(body.contains("<td class=\"n\">2</td>"), "the bad line is named: {body}");
    let banks = s.engine().banks().expect("banks");
    assert_eq!(banks.len(), 1);
    assert_eq!(banks[0].total, 3);
    let (status, found) = s.get(&format!("/m/raw_lookup?signal_type=pdq&signal={}", crate::pdq(12))).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["matches"].as_array().map(Vec::len), Some(1), "the live index has the import: {found}");
    // The same file again: all already there.
    let (_, again, _) = post(&http, &s, &cookie, "/banks/import", form(name, false)).await;
    assert!(again.contains("0 added, 3 already there"), "{again}");

    // The bank's page links its exports; each is the file import reads.
    // The banks page links the bank's page (a name with spaces, quotes and
    // Arabic digits, as a path segment).
    let (_, banks_page) = page(&http, &s, &cookie, "/banks").await;
    let at =
        banks_page.find(r#"<a href="/banks/Gazette"#).expect("a link to the bank") + r#"<a href=""#.len();
    let path = banks_page[at..].split('"').next().expect("href").to_owned();
    assert_eq!(path, "/banks/Gazette%20%22bank%22%20%D9%A1");
    let (status, bank_page) = page(&http, &s, &cookie, &path).await;
    assert_eq!(status, StatusCode::OK, "{bank_page}");
    assert!(bank_page.contains("/export?format=csv&amp;type=pdq"), "{bank_page}");
    let r = http
        .get(s.url(&format!("{path}/export?format=csv&type=pdq")))
        .header(COOKIE, &cookie)
        .send()
        .await
        .expect("export");
    assert_eq!(r.status(), StatusCode::OK);
    let disposition = r.headers()[CONTENT_DISPOSITION].to_str().expect("ascii").to_owned();
    assert!(disposition.starts_with("attachment; filename=\"Gazette__bank___"), "{disposition}");
    let exported = r.text().await.expect("csv");
    let mut got: Vec<&str> = exported.lines().map(|l| l.split(',').next().expect("value")).collect();
    got.sort_unstable();
    let mut want = vec![crate::pdq(11), crate::pdq(12), crate::pdq(13)];
    want.sort_unstable();
    assert_eq!(got, want, "{exported}");
    let r = http.get(s.url(&format!("{path}/export"))).header(COOKIE, &cookie).send().await.expect("export");
    let jsonl = r.text().await.expect("jsonl");
    let lines: Vec<Value> = jsonl.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    assert_eq!(lines.len(), 3);
    assert!(lines.iter().all(|l| l["type"] == "pdq" && l["labels"]["label"] == "src=ui-test"), "{jsonl}");
    let (status, body) = page(&http, &s, &cookie, &format!("{path}/export?format=pdf")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = page(&http, &s, &cookie, "/banks/nothing-here/export").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalogue_sorts_as_asked_in_the_page_and_the_api() {
    let s = crate::api::corpus().await;
    let (http, cookie) = signed_in(&s, Role::Viewer).await;
    let ids = |v: &Value| -> Vec<i64> {
        v["items"].as_array().expect("items").iter().map(|r| r["id"].as_i64().expect("id")).collect()
    };
    let (_, oldest) = s.get("/api/v1/releases?limit=1000").await;
    let (_, default) = s.get("/api/v1/releases?limit=1000&sort=first-seen").await;
    assert_eq!(ids(&oldest), ids(&default));
    let firsts: Vec<&str> = oldest["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|r| r["first_seen"].as_str().expect("t"))
        .collect();
    assert!(firsts.windows(2).all(|w| w[0] <= w[1]), "{firsts:?}");
    let (_, newest) = s.get("/api/v1/releases?limit=1000&sort=newest").await;
    let mut reversed = ids(&oldest);
    reversed.reverse();
    assert_eq!(ids(&newest), reversed);
    let (_, most) = s.get("/api/v1/releases?limit=1000&sort=sightings").await;
    let counts: Vec<u64> = most["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|r| r["sightings"].as_u64().expect("n"))
        .collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{counts:?}");
    assert!(counts.first() > counts.last(), "the corpus has releases seen once and twice: {counts:?}");
    let (_, lately) = s.get("/api/v1/releases?limit=1000&sort=last-seen").await;
    let lasts: Vec<&str> = lately["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|r| r["last_seen"].as_str().expect("t"))
        .collect();
    assert!(lasts.windows(2).all(|w| w[0] >= w[1]), "{lasts:?}");
    // Paging keeps the order: two pages of newest are its first four.
    let (_, first) = s.get("/api/v1/releases?limit=2&sort=newest").await;
    let cursor = first["next_cursor"].as_str().expect("cursor").to_owned();
    let (_, second) = s.get(&format!("/api/v1/releases?limit=2&sort=newest&cursor={cursor}")).await;
    assert_eq!([ids(&first), ids(&second)].concat(), reversed[..4]);
    let (status, bad) = s.get("/api/v1/releases?sort=random").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(bad.to_string().contains("sort"), "{bad}");

    // The page: the menu shows the choice, the rows come in its order.
    let (status, html) = page(&http, &s, &cookie, "/releases?sort=newest&limit=1000").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains(r#"<option value="newest" selected>"#), "{html}");
    let shown: Vec<i64> = html
        .match_indices(r#"<tr><td><a href="/releases/"#)
        .map(|(at, m)| html[at + m.len()..].split('"').next().expect("id").parse().expect("an id"))
        .collect();
    assert_eq!(shown, reversed);
    let (status, _) = page(&http, &s, &cookie, "/releases?sort=random").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    s.stop().await;
}
