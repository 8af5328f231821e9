//! What marsad writes for people and their tools does not obey the data:
//! spreadsheet formulas in exported CSV cells are made inert, and control
//! and bidirectional characters reach the terminal as visible escapes.

use serde_json::json;

use crate::support::{run, stderr, stdout};

#[test]
fn csv_cells_are_inert_and_terminal_output_shows_controls() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let jsonl = dir.path().join("posts.jsonl");
    let evil_id = "=HYPERLINK(\"http://127.0.0.1:9/\")";
    let lines = [
        json!({"platform": "telegram", "source": "1000000021", "id": evil_id,
               "timestamp": "2024-01-31T12:00:00Z", "text": "نص تجريبي أول للاختبار هنا"}),
        json!({"platform": "telegram", "source": "1000000021", "id": "2",
               "timestamp": "2024-01-31T13:00:00Z", "text": "placeholder text number two for the test"}),
    ];
    std::fs::write(&jsonl, lines.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
    let o = run(&db, &["ingest", "jsonl", jsonl.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let toml = dir.path().join("outlets.toml");
    std::fs::write(
        &toml,
        "[[outlet]]\nname = \"Evil\\u202E Media\"\naliases = []\nchannels = [\"telegram:1000000021\"]\n",
    )
    .unwrap();
    let o = run(&db, &["outlets", "import", toml.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));

    let out = dir.path().join("exp");
    let o = run(&db, &["export", "--format", "csv", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut r = csv::Reader::from_path(out.join("sightings.csv")).unwrap();
    let headers = r.headers().unwrap().clone();
    let col = headers.iter().position(|h| h == "post_id").expect("a post_id column");
    let ids: Vec<String> = r.records().map(|rec| rec.unwrap()[col].to_owned()).collect();
    assert!(ids.contains(&format!("'{evil_id}")), "{ids:?}");
    assert!(!ids.iter().any(|i| i.starts_with('=')), "{ids:?}");

    for args in [&["outlets", "list"][..], &["releases"][..]] {
        let o = run(&db, args);
        assert!(o.status.success(), "{}", stderr(&o));
        let text = stdout(&o);
        assert!(!text.contains('\u{202E}'), "{args:?} printed a raw override: {text}");
        assert!(text.contains("Evil\\u{202e} Media"), "{args:?}: {text}");
    }
}
