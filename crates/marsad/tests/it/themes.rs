//! `marsad analyze themes` and `marsad themes`: the share table and the
//! agreement of codes made through the engine, as text and JSON; the
//! taxonomy shown and replaced; a bad taxonomy refused naming the file.

use marsad_engine::Engine;
use serde_json::Value;

use crate::support::{run, stderr, stdout};

/// A store of three releases, which two analysts coded.
fn coded() -> (tempfile::TempDir, std::path::PathBuf, Vec<i64>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("marsad.db");
    let lines: Vec<String> = (1..=3)
        .map(|i| {
            serde_json::json!({"platform": "telegram", "source": format!("{i}00"), "id": i,
                               "timestamp": format!("2024-0{i}-01T00:00:00Z"), "text": format!("statement number {i}")})
            .to_string()
        })
        .collect();
    let posts = dir.path().join("posts.jsonl");
    std::fs::write(&posts, lines.join("\n")).expect("write");
    let o = run(&db, &["ingest", "jsonl", posts.to_str().expect("path")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut e = Engine::open(db.to_str().expect("utf-8")).expect("open");
    let obs = e.observatory().expect("observatory");
    let ids: Vec<i64> = e
        .releases(&obs, &marsad_engine::analytics::Filter::default())
        .expect("releases")
        .iter()
        .take(3)
        .map(|r| r.id.0)
        .collect();
    for (coder, themes) in [("amal", ["war", "utopia", "war"]), ("omar", ["war", "utopia", "utopia"])] {
        for (id, theme) in ids.iter().zip(themes) {
            e.code_release(coder, *id, theme, &[]).expect("code");
        }
    }
    (dir, db, ids)
}

#[test]
fn analyze_themes_prints_the_share_table_and_the_agreement() {
    let (_d, db, _) = coded();
    let o = run(&db, &["--json", "analyze", "themes", "--bucket", "year"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(stdout(&o).trim()).expect("json");
    assert_eq!(v["taxonomy"], "winter-2015");
    let rows = v["rows"].as_array().expect("rows");
    let total: f64 = rows.iter().map(|r| r["releases"].as_f64().expect("releases")).sum();
    assert!((total - 3.0).abs() < 1e-9, "{v}");
    for r in rows {
        for key in ["bucket", "theme", "releases", "share", "coded"] {
            assert!(!r[key].is_null(), "{key}: {r}");
        }
    }
    assert!((v["agreement"]["pairs"][0]["kappa"].as_f64().expect("kappa") - 0.4).abs() < 1e-9, "{v}");
    let o = run(&db, &["analyze", "themes", "--by", "outlet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("Cohen's kappa amal and omar: 0.400 over 3 releases"), "{text}");
    assert!(text.contains("Krippendorff's alpha (nominal, all coders): 0.444"), "{text}");
    assert!(text.contains("outlet") && text.contains("utopia"), "{text}");
    let o = run(&db, &["analyze", "themes", "--by", "format"]);
    assert!(!o.status.success() && stderr(&o).contains("--by"), "{}", stderr(&o));
    let o = run(&db, &["analyze", "themes", "--bucket", "hour"]);
    assert!(!o.status.success() && stderr(&o).contains("--bucket"), "{}", stderr(&o));
}

#[test]
fn the_taxonomy_is_shown_and_replaced_and_a_bad_one_refused() {
    let (dir, db, _) = coded();
    let o = run(&db, &["--json", "themes", "show"]);
    let t: Value = serde_json::from_str(stdout(&o).trim()).expect("json");
    assert_eq!(t["theme"].as_array().map(Vec::len), Some(6), "{t}");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "name = \"x\"\n[[theme]]\nkey = \"Only One\"\nlabel = \"A\"\n").expect("write");
    let o = run(&db, &["themes", "import", bad.to_str().expect("path")]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("bad.toml"), "names the file: {}", stderr(&o));
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        "name = \"mine\"\n[[theme]]\nkey = \"a\"\nlabel = \"A\"\n[[theme]]\nkey = \"b\"\nlabel = \"B\"\n",
    )
    .expect("write");
    let o = run(&db, &["themes", "import", good.to_str().expect("path")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("mine"), "{}", stdout(&o));
    // The codes of the other taxonomy do not count under this one.
    let o = run(&db, &["--json", "analyze", "themes"]);
    let v: Value = serde_json::from_str(stdout(&o).trim()).expect("json");
    assert_eq!((v["taxonomy"].as_str(), v["rows"].as_array().map(Vec::len)), (Some("mine"), Some(0)), "{v}");
}
