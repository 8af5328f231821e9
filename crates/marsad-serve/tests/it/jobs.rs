//! Ingest jobs: an export uploaded as a zip, tar or tar.gz, or a JSON lines
//! file, yields the store `marsad ingest` makes of the same input; hostile
//! archives fail naming the entry and write nothing outside their folder.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use marsad_engine::ingest::{IngestOptions, InputKind};
use marsad_engine::{Engine, NoReporter};
use marsad_store::Role;
use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{Server, left_nothing_in, send};

/// A Telegram Desktop export with text posts and two photos, in `dir`.
pub(crate) fn export(dir: &Path) -> PathBuf {
    let root = dir.join("ChatExport_2024-01-31");
    std::fs::create_dir_all(root.join("photos")).expect("mkdir");
    std::fs::write(root.join("photos/photo_1.png"), crate::busy_png(160, 120, 8)).expect("photo");
    std::fs::write(root.join("photos/photo_2.png"), crate::busy_png(200, 100, 5)).expect("photo");
    let text = |id: i64, text: &str| {
        json!({"id": id, "type": "message", "date": "2024-01-31T12:00:00",
               "date_unixtime": (1_706_702_400 + id * 60).to_string(), "from": "Channel",
               "from_id": "channel1", "text": text, "text_entities": [{"type": "plain", "text": text}]})
    };
    let chat = json!({"name": "Sand Dune Gazette", "type": "public_channel", "id": 1_000_000_001_i64, "messages": [
        text(1, "أول رسالة في القناة"),
        {"id": 2, "type": "message", "date_unixtime": "1706702520", "photo": "photos/photo_1.png",
         "width": 160, "height": 120, "text": "a photo"},
        text(3, "troisième message"),
        {"id": 4, "type": "message", "date_unixtime": "1706702640", "photo": "photos/photo_2.png",
         "width": 200, "height": 100, "text": ""},
        {"id": 5, "type": "service", "date_unixtime": "1706702700", "action": "pin_message", "text": ""},
    ]});
    std::fs::write(root.join("result.json"), serde_json::to_vec_pretty(&chat).expect("json")).expect("write");
    root
}

/// Every file under `root`, relative, sorted.
fn files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(root).expect("under root").to_owned());
            }
        }
    }
    out.sort();
    out
}

/// `root` zipped with its folder name as the top level (as a file manager
/// zips a folder).
fn zip_folder(root: &Path) -> Vec<u8> {
    let top = root.file_name().expect("name").to_string_lossy().into_owned();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    for rel in files(root) {
        zip.start_file(format!("{top}/{}", rel.display()), opts).expect("entry");
        zip.write_all(&std::fs::read(root.join(&rel)).expect("read")).expect("write");
    }
    zip.finish().expect("zip").into_inner()
}

/// `root`'s files at the archive's root, as a tar.
pub(crate) fn tar_folder(root: &Path) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for rel in files(root) {
        tar.append_path_with_name(root.join(&rel), &rel).expect("append");
    }
    tar.into_inner().expect("tar")
}

fn form(name: &str, bytes: Vec<u8>) -> Form {
    Form::new().part("file", Part::bytes(bytes).file_name(name.to_owned()))
}

async fn submit(s: &Server, form: Form) -> (StatusCode, Value) {
    send(s.req(Method::POST, "/api/v1/jobs", Some(Role::Analyst)).multipart(form)).await
}

/// Submits and waits for the job to end; its final record.
async fn run(s: &Server, form: Form) -> Value {
    let resp =
        s.req(Method::POST, "/api/v1/jobs", Some(Role::Analyst)).multipart(form).send().await.expect("post");
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let location = resp.headers()[reqwest::header::LOCATION].to_str().expect("location").to_owned();
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["status"], "queued");
    assert_eq!(body["url"], location.as_str());
    assert_eq!(location, format!("/api/v1/jobs/{}", body["id"]));
    wait(s, &location).await
}

pub(crate) async fn wait(s: &Server, url: &str) -> Value {
    let started = Instant::now();
    loop {
        let (status, job) = send(s.req(Method::GET, url, Some(Role::Viewer))).await;
        assert_eq!(status, StatusCode::OK, "{job}");
        if job["status"] == "done" || job["status"] == "failed" {
            return job;
        }
        assert!(matches!(job["status"].as_str(), Some("queued" | "running")), "{job}");
        assert!(started.elapsed() < Duration::from_secs(120), "the job never ended: {job}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What a store holds of the export, paths aside: sources, posts, media
/// with their fingerprints.
fn contents(engine: &Engine) -> Value {
    let store = engine.store();
    let mut out = Vec::new();
    for source in store.sources().expect("sources") {
        let posts = store.posts_of_source(&source.key).expect("posts");
        for p in posts {
            let media: Vec<Value> = p
                .media
                .iter()
                .map(|m| {
                    let item = m.sha256.as_ref().and_then(|h| store.media(h).expect("media"));
                    json!({
                        "kind": m.kind.as_str(), "path": m.path, "missing": m.missing,
                        "item": item.map(|i| json!({
                            "sha256": i.sha256.to_string(), "md5": i.md5.to_string(), "bytes": i.byte_size,
                            "mime": i.mime,
                            "fingerprints": i.fingerprints.iter().map(|f| format!("{f:?}")).collect::<Vec<_>>(),
                        })),
                    })
                })
                .collect();
            out.push(json!({
                "source": source.key.to_string(), "name": source.name, "id": p.platform_post_id,
                "at": p.posted_at.to_rfc3339(), "text": p.text, "media": media,
            }));
        }
    }
    json!({ "stats": serde_json::to_value(engine.stats().expect("stats")).expect("json"), "posts": out })
}

/// The summary without what names the run or the paths it read.
fn counts(summary: &Value) -> Value {
    let mut s = summary.clone();
    let obj = s.as_object_mut().expect("summary is an object");
    obj.remove("run_id");
    for list in ["errors", "missing_media", "fingerprint_failures", "repeated"] {
        let n = obj[list].as_array().map_or(0, Vec::len);
        obj.insert(list.to_owned(), json!(n));
    }
    s
}

/// What `marsad ingest` makes of `path` in a fresh store.
fn ingested(kind: InputKind, path: &Path) -> (tempfile::TempDir, Engine, Value) {
    let dir = tempfile::tempdir().expect("dir");
    let mut engine = Engine::open(dir.path().join("cli.db").to_str().expect("utf-8")).expect("store");
    let summary = engine.ingest(kind, path, &IngestOptions::default(), &NoReporter).expect("ingest");
    let summary = serde_json::to_value(&summary).expect("json");
    (dir, engine, summary)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ingest_job_uploaded_as_a_zip_yields_the_same_store_as_marsad_ingest() {
    let scratch = tempfile::tempdir().expect("scratch");
    let s = Server::start_with(|cfg| cfg.scratch = Some(scratch.path().to_owned())).await;
    let dir = tempfile::tempdir().expect("dir");
    let root = export(dir.path());
    let job = run(&s, form("export.zip", zip_folder(&root))).await;
    assert_eq!(job["status"], "done", "{job}");
    // the upload and the extracted export are removed
    left_nothing_in(scratch.path()).await;
    assert_eq!(job["kind"], "telegram");
    assert_eq!(job["file_name"], "export.zip");
    assert_eq!(job["created_by"], "analyst");
    assert_eq!(job["error"], Value::Null);
    for t in ["created", "started", "finished"] {
        let text = job[t].as_str().expect("a time");
        assert!(text.ends_with('Z') && marsad_core::UtcTime::parse_rfc3339(text).is_ok(), "{t}: {text}");
    }
    assert_eq!(job["progress"]["phase"], "ingesting", "{job}");
    assert_eq!(job["progress"]["extracted"]["entries"], 3);

    let (_cli_dir, cli, want) = ingested(InputKind::Telegram, &root);
    assert_eq!(counts(&job["summary"]), counts(&want));
    // The summary has the CLI's keys, in its order.
    let keys = |v: &Value| v.as_object().expect("object").keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&job["summary"]), keys(&want));
    assert_eq!(want["posts_added"], 4);
    assert_eq!(want["media_added"], 2);
    let served = contents(&s.engine());
    assert_eq!(served, contents(&cli));
    let pdq = served["posts"]
        .as_array()
        .expect("posts")
        .iter()
        .flat_map(|p| p["media"].as_array().cloned().unwrap_or_default())
        .filter(|m| m["item"]["fingerprints"].to_string().contains("Pdq"))
        .count();
    assert_eq!(pdq, 2, "both photos are fingerprinted: {served}");

    // Listed, newest first; the audit log has the job's start and end.
    let (_, second) = submit(&s, form("again.zip", zip_folder(&root))).await;
    let again = wait(&s, second["url"].as_str().expect("url")).await;
    assert_eq!(again["summary"]["posts_existing"], 4, "{again}");
    let (status, list) = send(s.req(Method::GET, "/api/v1/jobs", Some(Role::Viewer))).await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<_> = list["items"].as_array().expect("list").iter().map(|j| j["id"].clone()).collect();
    assert_eq!(ids, vec![again["id"].clone(), job["id"].clone()]);
    let (_, one) = send(s.req(Method::GET, "/api/v1/jobs?limit=1", Some(Role::Viewer))).await;
    assert_eq!(one["items"].as_array().map(Vec::len), Some(1));
    let stopped = s.stop().await;
    let engine = Engine::open(stopped.path().join("serve.db").to_str().expect("utf-8")).expect("store");
    let mut actions = Vec::new();
    engine
        .store()
        .audit(None, None, &mut |r| {
            if r.event.action.starts_with("job.") {
                actions.push((r.event.action, r.event.actor, r.event.detail.unwrap_or_default()));
            }
            Ok(())
        })
        .expect("audit");
    assert_eq!(actions.iter().filter(|a| a.0 == "job.create").count(), 2, "{actions:?}");
    assert_eq!(actions.iter().filter(|a| a.0 == "job.done").count(), 2, "{actions:?}");
    assert!(actions.iter().all(|a| a.1 == "analyst"));
    assert!(actions.iter().any(|a| a.0 == "job.create" && a.2.contains("export.zip")), "{actions:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tar_a_tar_gz_and_json_lines_are_ingested_as_marsad_ingest_does() {
    let s = Server::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let root = export(dir.path());
    let (_d, cli, want) = ingested(InputKind::Telegram, &root);
    let tar = tar_folder(&root);
    let job = run(&s, form("export.tar", tar.clone())).await;
    assert_eq!((job["status"].as_str(), job["kind"].as_str()), (Some("done"), Some("telegram")), "{job}");
    assert_eq!(counts(&job["summary"]), counts(&want));
    assert_eq!(contents(&s.engine()), contents(&cli));

    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).expect("gzip");
    let job = run(&s, form("export.tar.gz", gz.finish().expect("gzip"))).await;
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["summary"]["posts_existing"], 4, "{job}");

    let lines = [
        json!({"platform": "x", "source": "acct1", "id": "100", "timestamp": "2024-01-31T12:00:00Z", "text": "one"}),
        json!({"platform": "x", "source": "acct1", "id": "101", "timestamp": "2024-01-31T12:05:00Z", "text": "two"}),
    ]
    .iter()
    .map(Value::to_string)
    .collect::<Vec<_>>()
    .join("\n");
    let jsonl = dir.path().join("posts.jsonl");
    std::fs::write(&jsonl, &lines).expect("write");
    let (_d2, cli2, want2) = ingested(InputKind::Jsonl, &jsonl);
    let job = run(&s, form("posts.jsonl", lines.into_bytes())).await;
    assert_eq!((job["status"].as_str(), job["kind"].as_str()), (Some("done"), Some("jsonl")), "{job}");
    assert_eq!(counts(&job["summary"]), counts(&want2));
    let x = marsad_core::SourceKey {
        platform: marsad_core::Platform::new("x").expect("x"),
        platform_id: "acct1".into(),
    };
    let texts = |e: &Engine| {
        e.store().posts_of_source(&x).expect("posts").into_iter().map(|p| p.text).collect::<Vec<_>>()
    };
    assert_eq!(texts(&s.engine()), texts(&cli2));
    assert_eq!(texts(&cli2), vec!["one", "two"]);
}

/// A zip with these entries (name, content); a symbolic link when the
/// content starts with `->`.
fn hostile_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    for (name, bytes) in entries {
        if let Some(target) = bytes.strip_prefix(b"->") {
            zip.add_symlink(*name, std::str::from_utf8(target).expect("utf-8"), opts).expect("link");
        } else {
            zip.start_file(*name, opts).expect("entry");
            zip.write_all(bytes).expect("write");
        }
    }
    zip.finish().expect("zip").into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_archives_fail_naming_the_entry_and_write_nothing_outside() {
    let scratch = tempfile::tempdir().expect("scratch");
    let s = Server::start_with(|cfg| {
        cfg.max_upload = 1 << 20;
        cfg.scratch = Some(scratch.path().to_owned());
    })
    .await;
    let unique = format!("marsad-evil-{}-{}", std::process::id(), marsad_core::UtcTime::now().unix_micros());
    let outside = std::env::temp_dir().join(&unique);
    let result = br#"{"name": "C", "type": "public_channel", "id": 1, "messages": []}"#;
    let cases: Vec<(String, Vec<u8>, &str)> = vec![
        (
            format!("../{unique}"),
            hostile_zip(&[("export/result.json", result), (&format!("../{unique}"), b"evil")]),
            "`..` component",
        ),
        (
            outside.display().to_string(),
            hostile_zip(&[("export/result.json", result), (&outside.display().to_string(), b"evil")]),
            "absolute path",
        ),
        (
            "export/photos/link".to_owned(),
            hostile_zip(&[("export/result.json", result), ("export/photos/link", b"->/etc/passwd")]),
            "symbolic link",
        ),
        (
            "export/bomb.bin".to_owned(),
            hostile_zip(&[("export/result.json", result), ("export/bomb.bin", &vec![0u8; 11 << 20])]),
            "expands past 10485760 bytes",
        ),
    ];
    for (entry, bytes, why) in cases {
        assert!(bytes.len() < 1 << 20, "the upload itself is small: {}", bytes.len());
        let job = run(&s, form("hostile.zip", bytes)).await;
        assert_eq!(job["status"], "failed", "{job}");
        let error = job["error"].as_str().expect("an error");
        assert!(error.contains(&format!("{entry:?}")) && error.contains(why), "{entry}: {error}");
        assert_eq!(job["summary"], Value::Null);
        // what was extracted before the refusal is removed with the upload
        left_nothing_in(scratch.path()).await;
    }
    assert!(!outside.exists(), "an entry was written outside the job's folder");
    assert_eq!(s.engine().stats().expect("stats").posts, 0);

    // A tar entry named with `..`, written by hand (tar's builder refuses it).
    let mut header = tar::Header::new_gnu();
    header.as_old_mut().name[..unique.len() + 3].copy_from_slice(format!("../{unique}").as_bytes());
    header.set_size(4);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    let mut tar = header.as_bytes().to_vec();
    tar.extend_from_slice(b"evil");
    tar.resize(tar.len() + 508 + 1024, 0);
    let job = run(&s, form("hostile.tar", tar)).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert!(job["error"].as_str().is_some_and(|e| e.contains("`..` component")), "{job}");
    assert!(!outside.exists());

    // A gzip bomb: a tar of 11 MiB of zeros, compressed to a few KiB.
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(11 << 20);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, "export/zeros.bin", std::io::repeat(0).take(11 << 20)).expect("append");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&tar.into_inner().expect("tar")).expect("gzip");
    let job = run(&s, form("bomb.tar.gz", gz.finish().expect("gzip"))).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert!(job["error"].as_str().is_some_and(|e| e.contains("expands past")), "{job}");
    left_nothing_in(scratch.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_refused_naming_what_is_wrong() {
    let s = Server::start().await;
    let zip = hostile_zip(&[("result.json", b"{}")]);
    let (status, body) =
        send(s.req(Method::POST, "/api/v1/jobs", Some(Role::Viewer)).multipart(form("a.zip", zip.clone())))
            .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = send(s.req(Method::POST, "/api/v1/jobs", Some(Role::Analyst))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().is_some_and(|m| m.contains("\"file\"")), "{body}");
    let only_kind = Form::new().text("kind", "telegram");
    let (status, body) = submit(&s, only_kind).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().is_some_and(|m| m.contains("\"file\" is missing")), "{body}");
    let cases = [
        (form("a.zip", zip.clone()).text("kind", "pdf"), "\"kind\""),
        (form("a.zip", zip.clone()).text("kind", "jsonl"), "\"kind\""),
        (form("a.zip", zip.clone()).text("retain_media", "maybe"), "\"retain_media\""),
        (form("a.zip", zip.clone()).text("export_timezone", "Mars/Olympus"), "export_timezone"),
        (form("a.zip", zip.clone()).text("colour", "red"), "\"colour\""),
        (form("a.zip", Vec::new()), "empty"),
    ];
    for (f, named) in cases {
        let (status, body) = submit(&s, f).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{named}: {body}");
        assert!(body["message"].as_str().is_some_and(|m| m.contains(named)), "{named}: {body}");
    }
    let (status, body) = s.get("/api/v1/jobs/999").await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, json!({"message": "no job 999"})));
    let (status, body) = s.get("/api/v1/jobs/abc").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    for bad in ["0", "x", "100000"] {
        let (status, body) = s.get(&format!("/api/v1/jobs?limit={bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert!(body["message"].as_str().is_some_and(|m| m.contains("limit")), "{body}");
    }
    // Nothing was queued by any of these.
    assert_eq!(s.get("/api/v1/jobs").await.1, json!({"items": []}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_of_a_stopped_server_are_failed_and_those_of_a_live_one_kept() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("jobs.db");
    let mut e = Engine::open(db.to_str().expect("utf-8")).expect("store");
    let job = marsad_engine::jobs::NewJob {
        created_by: "analyst".into(),
        file_name: "big.zip".into(),
        bytes: 10,
        kind: marsad_engine::jobs::JobKind::Telegram,
        retain_media: false,
        no_fingerprints: false,
        export_timezone: None,
    };
    // Another server's jobs, one running and one queued; it is alive (it
    // has just said so).
    let running = e.submit_job(&job).expect("job").id;
    e.store_mut().start_job(running).expect("start");
    let queued = e.submit_job(&job).expect("job").id;
    let status = |e: &Engine, id| e.store().job(id).expect("job").expect("stored").status;
    let on = |silence_ms: u64| {
        move |cfg: &mut marsad_serve::ServeConfig| cfg.job_silence = Duration::from_millis(silence_ms)
    };
    let guard = || tempfile::tempdir().expect("dir");
    // A server starting beside it leaves them alone.
    let beside = Server::start_on(guard(), db.clone(), on(30_000)).await;
    for id in [running, queued] {
        assert_ne!(
            status(&e, id),
            marsad_engine::jobs::JobStatus::Failed,
            "job {id} of a live server failed"
        );
    }
    beside.stop().await;
    // Once their server is silent, a server starting fails them.
    std::thread::sleep(Duration::from_millis(300));
    let s = Server::start_on(guard(), db.clone(), on(200)).await;
    for id in [running, queued] {
        let (status, job) = s.get(&format!("/api/v1/jobs/{id}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(job["status"], "failed", "{job}");
        assert_eq!(job["error"], marsad_engine::jobs::STOPPED);
        assert!(job["finished"].is_string());
    }
    // A server's own jobs are kept alive by its heartbeats, however short
    // the silence allowed: a job submitted now is done, not failed.
    let root = export(dir.path());
    let done = run(&s, form("export.zip", zip_folder(&root))).await;
    assert_eq!(done["status"], "done", "{done}");
    drop(e);
}
