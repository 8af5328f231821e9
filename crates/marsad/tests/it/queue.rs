//! Ingest through the work queue (NATS JetStream) into PostgreSQL, with
//! `marsad worker` processes: the demo corpus gives exactly the SQLite
//! demo's catalogue, and survives workers killed with SIGKILL and a NATS
//! server restarted mid-ingest — every post once, every fingerprint, no
//! batch lost or applied twice.
//!
//! The queue is the machine's NATS (127.0.0.1:4222) for the first tests; the
//! restart test starts a NATS server of its own on a free port, so that no
//! other test's queue is touched. Each test's store is a scratch schema of
//! its own, and so its queue (named from the store's identity) is its own.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use marsad_store_postgres::ScratchStore;
use serde_json::Value;

use crate::postgres::{assert_same_catalogue_as, json};
use crate::support::{marsad, stderr};

/// A `marsad worker` process, killed when dropped.
struct Worker {
    child: Child,
    log: PathBuf,
}

impl Worker {
    fn start(db: &str, nats: &str, log: PathBuf) -> Worker {
        let file = std::fs::File::create(&log).expect("log");
        let child = marsad()
            .args(["--db", db, "--nats", nats, "worker", "--idle-exit", "60"])
            .env("MARSAD_QUEUE_ACK_WAIT_MS", "1500")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("start a worker");
        Worker { child, log }
    }

    /// SIGKILL: no clean-up of any kind.
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL the worker");
        self.child.wait().expect("reap");
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The demo corpus and its SQLite store (`marsad demo`'s own).
struct Demo {
    _dir: tempfile::TempDir,
    root: PathBuf,
    sqlite: String,
    exports: Vec<String>,
    outlets: String,
    /// Each export's summary in the SQLite demo.
    summaries: Vec<Value>,
}

fn demo() -> Demo {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("demo");
    let demo = json("unused.db", &["demo", "--out", out.to_str().expect("utf8")]);
    let ingests = demo["ingests"].as_array().expect("ingests");
    Demo {
        root: dir.path().to_owned(),
        sqlite: out.join("marsad.db").display().to_string(),
        exports: ingests.iter().map(|i| i["export"].as_str().expect("export").to_owned()).collect(),
        summaries: ingests.iter().map(|i| i["summary"].clone()).collect(),
        outlets: demo["outlets_toml"].as_str().expect("registry").to_owned(),
        _dir: dir,
    }
}

/// `marsad ingest telegram EXPORT --queue ARGS… --json` with the queue's
/// ack wait shortened as the workers'.
fn ingest_queued(db: &str, nats: &str, export: &str, args: &[&str]) -> Value {
    let o = marsad()
        .args(["--db", db, "--nats", nats, "ingest", "telegram", export, "--queue", "--json"])
        .args(args)
        .env("MARSAD_QUEUE_ACK_WAIT_MS", "1500")
        .output()
        .expect("run marsad");
    assert!(o.status.success(), "ingest --queue {export}: {}", stderr(&o));
    serde_json::from_str(crate::support::stdout(&o).trim()).expect("json")
}

fn import_outlets(db: &str, toml: &str) {
    let o = marsad().args(["--db", db, "outlets", "import", toml]).output().expect("import");
    assert!(o.status.success(), "{}", stderr(&o));
}

/// The queued runs once every one has ended (`marsad jobs --watch` returns
/// when none is running), each completed with every batch applied once.
fn settled_runs(db: &str, runs: usize) -> Vec<Value> {
    let watch = marsad()
        .args(["--db", db, "jobs", "--watch"])
        .stdout(Stdio::null())
        .spawn()
        .expect("jobs --watch")
        .wait_with_output();
    assert!(watch.expect("jobs --watch").status.success());
    let list = json(db, &["jobs"]);
    let list = list.as_array().expect("runs").clone();
    assert_eq!(list.len(), runs, "{list:?}");
    for r in &list {
        assert_eq!(r["status"], "completed", "{r}");
        assert_eq!(r["batches_dead"], 0, "{r}");
        assert_eq!(r["batches_applied"], r["batches_total"], "every batch applied exactly once: {r}");
        assert!(r["dead"].as_array().is_some_and(Vec::is_empty), "{r}");
    }
    list
}

/// Whether some of the `runs` queued runs have not ended yet (or not
/// started).
fn unfinished(db: &str, runs: usize) -> bool {
    let list = json(db, &["jobs"]);
    let list = list.as_array().expect("runs");
    list.len() < runs || list.iter().any(|r| r["status"] == "running")
}

fn sum(values: &[Value], key: &str) -> u64 {
    values.iter().map(|v| v[key].as_u64().unwrap_or_else(|| panic!("{key} in {v}"))).sum()
}

#[test]
fn the_demo_through_the_queue_with_two_workers_gives_the_sqlite_demo() {
    let demo = demo();
    let scratch = ScratchStore::new().expect("the test database: PostgreSQL on 127.0.0.1:5432");
    let pg = scratch.url();
    let nats = marsad_queue_url();
    let workers = [0, 1].map(|i| Worker::start(pg, &nats, demo.root.join(format!("worker{i}.log"))));
    for (export, want) in demo.exports.iter().zip(&demo.summaries) {
        let got = ingest_queued(pg, &nats, export, &[]);
        for key in [
            "posts_added",
            "posts_existing",
            "service_skipped",
            "media_added",
            "media_missing",
            "fingerprints_added",
            "errors_total",
        ] {
            assert_eq!(got[key], want[key], "{key} of {export}: {got}");
        }
    }
    import_outlets(pg, &demo.outlets);
    assert_same_catalogue_as(&demo.sqlite, pg, &demo.root, true);
    // Both workers took jobs.
    for w in &workers {
        assert!(w.log().contains(" applied: "), "a worker applied nothing: {}", w.log());
    }
    settled_runs(pg, demo.exports.len());
}

#[test]
fn workers_killed_mid_ingest_lose_nothing_and_apply_nothing_twice() {
    let demo = demo();
    let scratch = ScratchStore::new().expect("the test database: PostgreSQL on 127.0.0.1:5432");
    let pg = scratch.url();
    let nats = marsad_queue_url();
    let mut n = 0;
    let mut start = || {
        n += 1;
        Worker::start(pg, &nats, demo.root.join(format!("worker{n}.log")))
    };
    let mut worker = start();
    // Small batches: many jobs, so that a kill lands in the middle of one.
    for export in &demo.exports {
        ingest_queued(pg, &nats, export, &["--no-wait", "--batch-size", "15"]);
    }
    let mut seed =
        std::process::id() as u64 ^ Instant::now().elapsed().as_nanos() as u64 ^ 0x9e37_79b9_7f4a_7c15;
    for _ in 0..3 {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        std::thread::sleep(Duration::from_millis(300 + (seed >> 33) % 1200));
        assert!(unfinished(pg, demo.exports.len()), "the worker is killed mid-ingest");
        worker.kill();
        worker = start();
    }
    let _second = start();
    let runs = settled_runs(pg, demo.exports.len());
    let summaries: Vec<Value> = runs.iter().map(|r| r["summary"].clone()).collect();
    // Every post once: the runs added exactly the SQLite demo's posts and
    // media, whichever order the workers applied them in.
    for key in ["posts_added", "media_added", "fingerprints_added", "service_skipped", "media_missing"] {
        assert_eq!(sum(&summaries, key), sum(&demo.summaries, key), "{key}");
    }
    import_outlets(pg, &demo.outlets);
    assert_same_catalogue_as(&demo.sqlite, pg, &demo.root, true);
    drop(worker);
}

#[test]
fn a_nats_restart_mid_ingest_loses_nothing() {
    let demo = demo();
    let scratch = ScratchStore::new().expect("the test database: PostgreSQL on 127.0.0.1:5432");
    let pg = scratch.url();
    let mut nats = marsad_queue::testing::TestNats::start(&demo.root.join("nats"));
    let url = nats.url();
    let _workers = [0, 1].map(|i| Worker::start(pg, &url, demo.root.join(format!("worker{i}.log"))));
    let exports = demo.exports.clone();
    let (db, publish_url) = (pg.to_owned(), url.clone());
    let reader = std::thread::spawn(move || {
        for export in &exports {
            // An ingest that starts while NATS is down fails at once,
            // having published nothing, and is run again (as its user
            // would); one that is publishing when NATS goes down waits for
            // it and goes on.
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let o = marsad()
                    .args(["--db", &db, "--nats", &publish_url, "ingest", "telegram", export, "--queue"])
                    .args(["--no-wait", "--batch-size", "15"])
                    .env("MARSAD_QUEUE_ACK_WAIT_MS", "1500")
                    .output()
                    .expect("run marsad");
                if o.status.success() {
                    break;
                }
                let e = stderr(&o);
                assert!(e.contains("cannot connect to NATS") && Instant::now() < deadline, "{export}: {e}");
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    });
    std::thread::sleep(Duration::from_millis(700));
    assert!(unfinished(pg, demo.exports.len()), "NATS is restarted mid-ingest");
    nats.restart();
    reader.join().expect("the reader published every batch");
    let runs = settled_runs(pg, demo.exports.len());
    let summaries: Vec<Value> = runs.iter().map(|r| r["summary"].clone()).collect();
    for key in ["posts_added", "media_added", "fingerprints_added"] {
        assert_eq!(sum(&summaries, key), sum(&demo.summaries, key), "{key}");
    }
    import_outlets(pg, &demo.outlets);
    assert_same_catalogue_as(&demo.sqlite, pg, &demo.root, true);
}

#[test]
fn a_queue_needs_a_shared_store_and_a_reachable_nats() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("m.db");
    let export = dir.path().join("feed.jsonl");
    std::fs::write(
        &export,
        "{\"source\":\"s\",\"id\":\"1\",\"posted_at\":\"2020-01-01T00:00:00Z\",\"text\":\"x\"}\n",
    )
    .expect("write");
    let o = marsad()
        .arg("--db")
        .arg(&db)
        .args(["--nats", &marsad_queue_url(), "ingest", "jsonl"])
        .arg(&export)
        .arg("--queue")
        .output()
        .expect("run");
    assert!(!o.status.success());
    assert!(stderr(&o).contains("PostgreSQL"), "{}", stderr(&o));
    let scratch = ScratchStore::new().expect("PostgreSQL");
    let o = marsad()
        .args(["--db", scratch.url(), "--nats", "nats://127.0.0.1:1", "worker"])
        .output()
        .expect("run");
    assert!(!o.status.success());
    assert!(stderr(&o).contains("cannot connect to NATS at nats://127.0.0.1:1"), "{}", stderr(&o));
}

/// Two posts of a JSON lines feed.
const FEED: &str = concat!(
    r#"{"platform": "web", "source": "s", "id": 1, "timestamp": "2024-01-31T12:00:00Z", "text": "one"}"#,
    "\n",
    r#"{"platform": "web", "source": "s", "id": 2, "timestamp": "2024-01-31T13:00:00Z", "text": "two"}"#,
    "\n"
);

#[test]
fn a_batch_that_keeps_failing_is_a_dead_letter_listed_by_jobs() {
    let dir = tempfile::tempdir().expect("tmp");
    let export = dir.path().join("feed.jsonl");
    std::fs::write(&export, FEED).expect("write");
    let scratch = ScratchStore::new().expect("PostgreSQL");
    let db = scratch.url();
    let nats = marsad_queue_url();
    // The reader may keep media (it names a media folder); the worker
    // names none, so every delivery of the batch fails.
    let media = dir.path().join("media");
    std::fs::create_dir(&media).expect("media dir");
    let o = marsad()
        .args(["--db", db, "--nats", &nats, "--json", "ingest", "jsonl"])
        .arg(&export)
        .args(["--queue", "--no-wait", "--retain-media"])
        .env("MARSAD_MEDIA_DIR", &media)
        .env("MARSAD_QUEUE_ACK_WAIT_MS", "1500")
        .output()
        .expect("run");
    assert!(o.status.success(), "{}", stderr(&o));
    let worker = Worker::start(db, &nats, dir.path().join("worker.log"));
    let started = Instant::now();
    let run = loop {
        let runs = json(db, &["jobs"]);
        let run = runs[0].clone();
        if run["status"] != "running" {
            break run;
        }
        assert!(started.elapsed() < Duration::from_secs(90), "never given up: {run}\n{}", worker.log());
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(run["status"], "failed", "{run}");
    assert_eq!((run["batches_total"].as_u64(), run["batches_dead"].as_u64()), (Some(1), Some(1)), "{run}");
    let dead = &run["dead"][0];
    assert_eq!(dead["attempts"], 5, "{dead}");
    assert!(dead["error"].as_str().is_some_and(|e| e.contains("MARSAD_MEDIA_DIR")), "{dead}");
    assert_eq!(run["summary"]["posts_added"], 0);
    // The text listing names it too.
    let o = marsad().args(["--db", db, "jobs"]).output().expect("jobs");
    assert!(
        stderr(&o).contains("dead letter: run") && stderr(&o).contains("after 5 attempts"),
        "{}",
        stderr(&o)
    );
    assert!(worker.log().contains("dead"), "{}", worker.log());
}

/// The machine's NATS (MARSAD_TEST_NATS overrides it).
fn marsad_queue_url() -> String {
    std::env::var("MARSAD_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned())
}

#[test]
fn a_postgresql_restart_mid_ingest_loses_nothing() {
    let demo = demo();
    let mut pg = Postgres::start(&demo.root.join("pg"));
    let db = pg.url();
    let nats = marsad_queue_url();
    let _workers = [0, 1].map(|i| Worker::start(&db, &nats, demo.root.join(format!("worker{i}.log"))));
    for export in &demo.exports {
        ingest_queued(&db, &nats, export, &["--no-wait", "--batch-size", "15"]);
    }
    std::thread::sleep(Duration::from_millis(500));
    assert!(unfinished(&db, demo.exports.len()), "PostgreSQL is restarted mid-ingest");
    pg.restart();
    let runs = settled_runs(&db, demo.exports.len());
    let summaries: Vec<Value> = runs.iter().map(|r| r["summary"].clone()).collect();
    for key in ["posts_added", "media_added", "fingerprints_added", "service_skipped"] {
        assert_eq!(sum(&summaries, key), sum(&demo.summaries, key), "{key}");
    }
    import_outlets(&db, &demo.outlets);
    assert_same_catalogue_as(&demo.sqlite, &db, &demo.root, true);
}

/// A PostgreSQL server of the test's own (initdb into a folder of the
/// test's, run as the `postgres` user, trust authentication for `root`,
/// a free port), so that restarting it touches no other test.
struct Postgres {
    dir: PathBuf,
    port: u16,
}

impl Postgres {
    const BIN: &str = "/usr/lib/postgresql/15/bin";

    fn bin(name: &str) -> PathBuf {
        // The machine's PostgreSQL, whichever major version it is.
        let root = Path::new("/usr/lib/postgresql");
        let mut versions: Vec<PathBuf> = std::fs::read_dir(root)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path().join("bin"))).collect())
            .unwrap_or_else(|_| vec![PathBuf::from(Self::BIN)]);
        versions.sort();
        versions.pop().unwrap_or_else(|| PathBuf::from(Self::BIN)).join(name)
    }

    fn as_postgres(program: &Path) -> Command {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    }

    fn start(dir: &Path) -> Postgres {
        std::fs::create_dir_all(dir).expect("pg dir");
        let chown = Command::new("chown").arg("postgres").arg(dir).status().expect("chown");
        assert!(chown.success(), "the folder is handed to the postgres user");
        let data = dir.join("data");
        let init = Self::as_postgres(&Self::bin("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", "root", "--no-sync", "-E", "UTF8"])
            .output()
            .expect("initdb (Debian's postgresql package) runs");
        assert!(init.status.success(), "initdb: {}", String::from_utf8_lossy(&init.stderr));
        let port =
            std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
        let pg = Postgres { dir: dir.to_owned(), port };
        pg.up();
        pg
    }

    fn up(&self) {
        let options =
            format!("-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off", self.port, self.dir.display());
        let o = Self::as_postgres(&Self::bin("pg_ctl"))
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-o", &options, "-l"])
            .arg(self.dir.join("log"))
            .args(["-w", "start"])
            .output()
            .expect("pg_ctl start");
        assert!(o.status.success(), "pg_ctl start: {}", String::from_utf8_lossy(&o.stderr));
    }

    fn down(&self, mode: &str) {
        let o = Self::as_postgres(&Self::bin("pg_ctl"))
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", mode, "-w", "stop"])
            .output()
            .expect("pg_ctl stop");
        assert!(o.status.success(), "pg_ctl stop: {}", String::from_utf8_lossy(&o.stderr));
    }

    fn url(&self) -> String {
        format!("postgres://root@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server at once (open transactions lost, as in a crash)
    /// and starts it again a second later.
    fn restart(&mut self) {
        self.down("immediate");
        std::thread::sleep(Duration::from_secs(1));
        self.up();
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = Self::as_postgres(&Self::bin("pg_ctl"))
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "stop"])
            .output();
    }
}

#[test]
fn workers_without_the_export_fingerprint_the_media_sent_to_them() {
    let demo = demo();
    let original =
        demo.exports.iter().find(|e| e.contains("morning-dew-press")).expect("an export of the demo").clone();
    let folder = Path::new(&original).parent().expect("its folder");
    // The reader's copy of the export, gone before any worker starts:
    // the workers have only what was sent through the queue.
    let copy = demo.root.join("elsewhere");
    let cp = Command::new("cp").arg("-r").arg(folder).arg(&copy).status().expect("cp");
    assert!(cp.success());
    let scratch = ScratchStore::new().expect("PostgreSQL");
    let pg = scratch.url();
    let nats = marsad_queue_url();
    let export = copy.join("result.json");
    ingest_queued(
        pg,
        &nats,
        export.to_str().expect("utf8"),
        &["--no-wait", "--send-media", "--batch-size", "10"],
    );
    std::fs::remove_dir_all(&copy).expect("remove the reader's copy");
    let _worker = Worker::start(pg, &nats, demo.root.join("worker.log"));
    let runs = settled_runs(pg, 1);
    let local = demo.root.join("local.db").display().to_string();
    let want = json(&local, &["ingest", "telegram", &original]);
    for key in ["posts_added", "media_added", "media_missing", "fingerprints_added", "fingerprint_errors"] {
        assert_eq!(runs[0]["summary"][key], want[key], "{key}: {}", runs[0]["summary"]);
    }
    assert!(want["media_added"].as_u64().is_some_and(|n| n > 0));
    assert_eq!(json(pg, &["stats"]), json(&local, &["stats"]));
}

#[test]
fn a_hostile_job_is_a_dead_letter_and_the_worker_goes_on() {
    use marsad_store::MetaStore;
    let dir = tempfile::tempdir().expect("tmp");
    let scratch = ScratchStore::new().expect("PostgreSQL");
    let db = scratch.url();
    let nats = marsad_queue_url();
    let identity = marsad_store_postgres::PgStore::open(db).expect("open").identity().expect("identity");
    let queue = marsad_queue::blocking::Queue::connect(
        &nats,
        marsad_queue::Names::for_store(&identity.to_string()),
        marsad_queue::QueueConfig::from_env(),
    )
    .expect("the queue");
    // Whoever can publish on the queue is not trusted with the store:
    // bytes that are not a job, a job of a newer version, a post naming a
    // source the job does not have, a time out of range.
    let hostile: [(&str, &[u8]); 4] = [
        ("90.0", b"\xff\xfe not json"),
        ("91.0", br#"{"v":99,"run":91,"seq":0,"file":"x","settings":{"kind":"jsonl","retain_media":false,"no_fingerprints":false,"seconds_per_hash":1.0,"match_banks":true},"sources":[],"posts":[]}"#),
        ("92.0", br#"{"v":1,"run":92,"seq":0,"file":"x","settings":{"kind":"jsonl","retain_media":false,"no_fingerprints":false,"seconds_per_hash":1.0,"match_banks":true},"sources":[],"posts":[{"source":7,"id":"1","posted_at":0,"edited_at":null,"text":"t","url":null,"forwarded_from":null,"reply_to":null,"line":null,"media":[]}]}"#),
        ("93.0", br#"{"v":1,"run":93,"seq":0,"file":"x","settings":{"kind":"jsonl","retain_media":false,"no_fingerprints":false,"seconds_per_hash":1.0,"match_banks":true},"sources":[{"platform":"web","platform_id":"s","name":"s","kind":"feed"}],"posts":[{"source":0,"id":"1","posted_at":9223372036854775807,"edited_at":null,"text":"t","url":null,"forwarded_from":null,"reply_to":null,"line":null,"media":[]}]}"#),
    ];
    for (id, body) in hostile {
        queue.publish_job(id, body.to_vec()).expect("publish");
    }
    let worker = Worker::start(db, &nats, dir.path().join("worker.log"));
    // A real ingest after them still goes through.
    let export = dir.path().join("feed.jsonl");
    std::fs::write(&export, FEED).expect("write");
    let o = marsad()
        .args(["--db", db, "--nats", &nats, "--json", "ingest", "jsonl"])
        .arg(&export)
        .arg("--queue")
        .env("MARSAD_QUEUE_ACK_WAIT_MS", "1500")
        .output()
        .expect("run");
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: Value = serde_json::from_str(crate::support::stdout(&o).trim()).expect("json");
    assert_eq!(summary["posts_added"], 2, "{summary}");
    let log = worker.log();
    for id in ["90.0", "91.0", "92.0", "93.0"] {
        assert!(log.contains(&format!("job {id} dead")), "{id} not given up: {log}");
    }
    assert!(log.contains("job version 99"), "{log}");
    assert!(log.contains("names source #7 of 0"), "{log}");
    assert_eq!(json(db, &["stats"])["posts"], 2, "nothing of the hostile jobs was written");
    assert_eq!(queue.pending().expect("pending"), 0, "no job left on the queue");
}
