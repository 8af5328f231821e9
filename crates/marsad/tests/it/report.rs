//! Reports and exports of the demo: `marsad demo` ends by writing a report;
//! the report opens in headless Chromium with no console message and its
//! screenshot shows the charts; it holds nothing that would be fetched;
//! CSV and Parquet exports read back to what `marsad releases` prints.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::*;

struct Demo {
    _dir: tempfile::TempDir,
    db: PathBuf,
    report: PathBuf,
    out: PathBuf,
}

fn demo() -> &'static Demo {
    static D: OnceLock<Demo> = OnceLock::new();
    D.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("demo");
        let o = marsad().args(["--json", "demo", "--out"]).arg(&out).output().unwrap();
        assert!(o.status.success(), "demo failed: {}", stderr(&o));
        let v: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
        let report = PathBuf::from(v["report"].as_str().expect("the demo names its report"));
        assert_eq!(report, std::path::absolute(out.join("report.html")).unwrap());
        assert!(v["releases"].as_u64().unwrap() > 100, "{v}");
        Demo { db: out.join("marsad.db"), report, out, _dir: dir }
    })
}

/// The Chromium binary: `$MARSAD_CHROMIUM`, or the first of the usual names
/// on the PATH. Missing, the test fails: scripts/test installs it.
fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("MARSAD_CHROMIUM") {
        return PathBuf::from(p);
    }
    for name in ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"] {
        if let Ok(out) = Command::new("sh").arg("-c").arg(format!("command -v {name}")).output() {
            let path = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            if out.status.success() && !path.is_empty() {
                return PathBuf::from(path);
            }
        }
    }
    panic!(
        "chromium is missing: the report test needs it (scripts/test installs it: apt-get install chromium)"
    );
}

/// Opens `page` in headless Chromium, screenshots it into `png`, and
/// returns the console messages Chromium logged.
fn open_in_chromium(page: &Path, png: &Path) -> Vec<String> {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            "--window-size=1100,2400",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let mut stderr_pipe = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stderr_pipe, &mut s).ok();
        s
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "chromium exited with {status}");
            break;
        }
        if Instant::now() > deadline {
            child.kill().ok();
            panic!("chromium did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = reader.join().unwrap();
    assert!(png.exists(), "chromium wrote no screenshot; its log:\n{log}");
    log.lines().filter(|l| l.contains(":CONSOLE")).map(str::to_owned).collect()
}

fn hex(c: &str) -> [u8; 3] {
    let v = u32::from_str_radix(c.trim_start_matches('#'), 16).unwrap();
    [(v >> 16) as u8, (v >> 8) as u8, v as u8]
}

/// Pixels of the screenshot within 3 of `colour` on every channel.
fn pixels_of(img: &image::RgbImage, colour: &str) -> usize {
    let c = hex(colour);
    img.pixels().filter(|p| (0..3).all(|i| p.0[i].abs_diff(c[i]) <= 3)).count()
}

#[test]
fn console_messages_are_detected() {
    // The check below is only worth something if a broken page fails it.
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("broken.html");
    std::fs::write(
        &page,
        r#"<!DOCTYPE html><html><head><meta charset="utf-8"></head><body><p>x</p><script>console.error("planted"); missing();</script></body></html>"#,
    )
    .unwrap();
    let console = open_in_chromium(&page, &dir.path().join("broken.png"));
    assert!(console.iter().any(|l| l.contains("planted")), "{console:?}");
    assert!(console.iter().any(|l| l.contains("missing is not defined")), "{console:?}");
}

#[test]
fn the_demo_report_opens_in_headless_chromium_without_console_messages_and_shows_its_charts() {
    let d = demo();
    let png = std::path::absolute(Path::new(env!("CARGO_TARGET_TMPDIR")).join("demo-report.png")).unwrap();
    std::fs::remove_file(&png).ok();
    let console = open_in_chromium(&d.report, &png);
    assert!(console.is_empty(), "the report logged to the console:\n{}", console.join("\n"));

    // The screenshot (kept at target/tmp/demo-report.png) shows each chart
    // in its own colours.
    let img = image::open(&png).unwrap().to_rgb8();
    assert_eq!((img.width(), img.height()), (1100, 2400));
    let white = img.pixels().filter(|p| p.0.iter().all(|&c| c >= 245)).count();
    let total = (img.width() * img.height()) as usize;
    assert!(white < total * 95 / 100, "the screenshot is almost blank: {white} of {total} pixels white");
    use marsad_report::svg::{FORMAT_BAR, HEAT_MAX, PALETTE, RECYCLING, SILENT_LINE};
    for (what, colour, at_least) in [
        ("stacked releases of the largest outlet", PALETTE[0], 5_000),
        ("stacked releases of the second outlet", PALETTE[1], 1_000),
        ("the heat map's busiest week", HEAT_MAX, 50),
        ("the silent-outlets line", SILENT_LINE, 200),
        ("recycling bars", RECYCLING, 500),
        ("format bars", FORMAT_BAR, 5_000),
    ] {
        let n = pixels_of(&img, colour);
        assert!(n >= at_least, "{what} ({colour}): {n} pixels, expected at least {at_least}");
    }
}

#[test]
fn the_report_is_self_contained() {
    let html = std::fs::read_to_string(&demo().report).unwrap();
    assert!(html.contains(r#"http-equiv="Content-Security-Policy" content="default-src 'none'"#));
    for forbidden in ["<script", "src=", "href=", "url(", "@import", "<link", "<iframe", "<object"] {
        assert!(!html.contains(forbidden), "the report holds {forbidden:?}");
    }
    // Five charts (releases, heat map, silent outlets, recycling, formats),
    // each a complete SVG.
    assert_eq!(html.matches("<svg ").count(), 5);
    assert_eq!(html.matches("</svg>").count(), 5);
    for section in [
        "id=\"releases\"",
        "id=\"heatmap\"",
        "id=\"silent\"",
        "id=\"recycling\"",
        "id=\"formats\"",
        "id=\"outlets\"",
        "id=\"silences\"",
        "id=\"trend\"",
    ] {
        assert!(html.contains(section), "no {section}");
    }
}

#[test]
fn a_report_over_a_window_counts_what_the_timeline_counts() {
    let d = demo();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("feb.html");
    let o = run(
        &d.db,
        &["--json", "report", "--out", out.to_str().unwrap(), "--from", "2024-02-01", "--to", "2024-03-01"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    let o = run(
        &d.db,
        &["--json", "analyze", "timeline", "--bucket", "month", "--from", "2024-02-01", "--to", "2024-03-01"],
    );
    let rows: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    let releases: u64 = rows.as_array().unwrap().iter().map(|r| r["releases"].as_u64().unwrap()).sum();
    let sightings: u64 = rows.as_array().unwrap().iter().map(|r| r["sightings"].as_u64().unwrap()).sum();
    assert!(releases > 0);
    assert_eq!(v["releases"].as_u64(), Some(releases), "{v}");
    assert_eq!(v["sightings"].as_u64(), Some(sightings), "{v}");
    assert_eq!(v["from"], "2024-02-01T00:00:00Z");
    assert_eq!(v["to"], "2024-03-01T00:00:00Z");
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains(&format!("<b>{releases}</b><span>releases</span>")));
}

#[test]
fn a_period_far_wider_than_the_data_draws_only_where_the_data_is() {
    let d = demo();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("wide.html");
    let o = run(
        &d.db,
        &["--json", "report", "--out", out.to_str().unwrap(), "--from", "0001-01-01", "--to", "9999-12-31"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["from"], "0001-01-01T00:00:00Z");
    let all: u64 = releases_json(&d.db).len() as u64;
    assert_eq!(v["releases"].as_u64(), Some(all), "{v}");
    // The same charts as the demo's own report over the data's span, give or
    // take a week of axis: not ten thousand years of empty weeks.
    let wide = std::fs::metadata(&out).unwrap().len();
    let own = std::fs::metadata(&d.report).unwrap().len();
    assert!(wide < own * 3 / 2, "{wide} bytes against the demo report's {own}");
}

#[test]
fn bad_report_arguments_are_refused() {
    let d = demo();
    let o = run(&d.db, &["report", "--out", "/tmp/x.html", "--from", "yesterday"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("invalid time \"yesterday\""), "{}", stderr(&o));
    let o = run(&d.db, &["report", "--out", "/tmp/x.html", "--dormancy-days=-3"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--dormancy-days"), "{}", stderr(&o));
    let o = run(&d.db, &["report", "--out", "/tmp/x.html", "--from", "2024-04-01", "--to", "2024-03-01"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--to") && stderr(&o).contains("not after --from"), "{}", stderr(&o));
}

fn releases_json(db: &Path) -> Vec<Value> {
    let o = run(db, &["--json", "releases"]);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_str::<Value>(stdout(&o).trim()).unwrap().as_array().unwrap().clone()
}

#[test]
fn csv_export_reads_back_to_the_releases() {
    let d = demo();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("csv");
    let o = run(&d.db, &["export", "--format", "csv", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let releases = releases_json(&d.db);
    let mut rd = csv::Reader::from_path(out.join("releases.csv")).unwrap();
    let header: Vec<String> = rd.headers().unwrap().iter().map(str::to_owned).collect();
    for col in ["id", "outlet", "first_seen", "last_seen", "sightings", "channels", "format", "language"] {
        assert!(header.contains(&col.to_owned()), "releases.csv lacks {col}: {header:?}");
    }
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), releases.len());
    let by_id: HashMap<i64, &csv::StringRecord> =
        rows.iter().map(|r| (r[col("id")].parse::<i64>().unwrap(), r)).collect();
    let mut total_sightings = 0;
    for r in &releases {
        let row = by_id[&r["id"].as_i64().unwrap()];
        assert_eq!(&row[col("outlet")], r["outlet"].as_str().unwrap_or(""));
        assert_eq!(&row[col("first_seen")], r["first_seen"].as_str().unwrap());
        assert_eq!(&row[col("last_seen")], r["last_seen"].as_str().unwrap());
        assert_eq!(row[col("sightings")].parse::<u64>().unwrap(), r["sightings"].as_u64().unwrap());
        assert_eq!(&row[col("format")], r["format"].as_str().unwrap());
        total_sightings += r["sightings"].as_u64().unwrap();
    }
    let sightings = csv::Reader::from_path(out.join("sightings.csv")).unwrap().records().count() as u64;
    assert_eq!(sightings, total_sightings);
    let outlets: Vec<csv::StringRecord> =
        csv::Reader::from_path(out.join("outlets.csv")).unwrap().records().map(Result::unwrap).collect();
    let toml = std::fs::read_to_string(d.out.join("outlets.toml")).unwrap();
    assert_eq!(outlets.len(), toml.matches("[[outlet]]").count());
    // A file where the folder should be is named as such.
    let file = dir.path().join("not-a-folder");
    std::fs::write(&file, "x").unwrap();
    let o = run(&d.db, &["export", "--out", file.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("not a folder"), "{}", stderr(&o));
}

#[test]
fn parquet_export_reads_back_to_the_releases() {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::Field;

    let d = demo();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pq");
    let o = run(&d.db, &["--json", "export", "--format", "parquet", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["files"].as_array().unwrap().len(), 4, "releases, sightings, outlets, theme codes");
    let releases = releases_json(&d.db);
    let expected: HashMap<i64, &Value> = releases.iter().map(|r| (r["id"].as_i64().unwrap(), r)).collect();

    let reader =
        SerializedFileReader::new(std::fs::File::open(out.join("releases.parquet")).unwrap()).unwrap();
    assert_eq!(reader.metadata().file_metadata().num_rows() as usize, releases.len());
    let mut seen = 0;
    for row in reader.get_row_iter(None).unwrap() {
        let row = row.unwrap();
        let fields: HashMap<String, Field> =
            row.get_column_iter().map(|(n, f)| (n.clone(), f.clone())).collect();
        let Field::Long(id) = fields["id"] else { panic!("id is {:?}", fields["id"]) };
        let r = expected[&id];
        let Field::TimestampMicros(first) = fields["first_seen"] else {
            panic!("first_seen is {:?}", fields["first_seen"])
        };
        assert_eq!(marsad_observe::rfc3339(first), r["first_seen"].as_str().unwrap());
        let Field::Long(n) = fields["sightings"] else { panic!() };
        assert_eq!(n as u64, r["sightings"].as_u64().unwrap());
        match (&fields["outlet"], r["outlet"].as_str()) {
            (Field::Str(a), Some(b)) => assert_eq!(a, b),
            (Field::Null, None) => {}
            (a, b) => panic!("release {id}: outlet {a:?} vs {b:?}"),
        }
        assert_eq!(fields["format"], Field::Str(r["format"].as_str().unwrap().to_owned()));
        seen += 1;
    }
    assert_eq!(seen, releases.len());
    let sightings =
        SerializedFileReader::new(std::fs::File::open(out.join("sightings.parquet")).unwrap()).unwrap();
    let total: u64 = releases.iter().map(|r| r["sightings"].as_u64().unwrap()).sum();
    assert_eq!(sightings.metadata().file_metadata().num_rows() as u64, total);
}
