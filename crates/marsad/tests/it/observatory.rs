//! The observatory against a planted truth: a generated corpus of outlet
//! channels and supporter reposts (re-encoded images, lightly altered
//! captions, a planted silence, dormant outlets, year-old material reposted)
//! is ingested through the real binary; releases, attribution and every
//! analytics output must equal what the generator planted. Expected values
//! are computed here from `truth.json` alone.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::OnceLock;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use marsad_store::prelude::*;
use marsad_synth::{DemoConfig, Truth};
use serde_json::Value;

use crate::support::*;

struct Fixture {
    _dir: tempfile::TempDir,
    db: PathBuf,
    truth: Truth,
    /// Truth release id of every post (channel id, message id).
    release_of_post: HashMap<(i64, i64), u32>,
}

const H: i64 = 3_600;
const DAY: i64 = 86_400;

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("corpus");
        // Over a year, so that old releases come back a year later.
        let cfg = DemoConfig { days: 400, scale: 0.12, seed: 77, ..DemoConfig::default() };
        let corpus = marsad_synth::generate_demo(&out, &cfg).unwrap();
        let db = dir.path().join("m.db");
        for export in &corpus.exports {
            let (ok, s) = ingest_json(&db, "telegram", export, &[]);
            assert!(ok, "{s}");
        }
        let o = run(&db, &["outlets", "import", corpus.outlets_toml.to_str().unwrap()]);
        assert!(o.status.success(), "{}", stderr(&o));
        // Group now, once, before the tests read in parallel.
        let o = run(&db, &["releases"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let mut release_of_post = HashMap::new();
        for r in &corpus.truth.releases {
            for s in &r.sightings {
                for &m in &s.message_ids {
                    release_of_post.insert((s.channel_id, m), r.id);
                }
            }
        }
        Fixture { _dir: dir, db, truth: corpus.truth, release_of_post }
    })
}

fn json(args: &[&str]) -> Value {
    let f = fixture();
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let o = run(&f.db, &all);
    assert!(o.status.success(), "marsad {args:?}: {}", stderr(&o));
    serde_json::from_str(stdout(&o).trim()).unwrap()
}

fn rfc(t: i64) -> String {
    DateTime::<Utc>::from_timestamp(t, 0).unwrap().to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// Our release id of every truth release.
fn our_release_ids() -> HashMap<u32, i64> {
    let f = fixture();
    let store = open(&f.db);
    let mut ours: HashMap<u32, BTreeSet<i64>> = HashMap::new();
    store
        .release_members(None, &mut |m| {
            let key =
                (m.source.platform_id.parse::<i64>().unwrap(), m.platform_post_id.parse::<i64>().unwrap());
            if let Some(&t) = f.release_of_post.get(&key) {
                ours.entry(t).or_default().insert(m.release_id.0);
            }
            Ok(())
        })
        .unwrap();
    ours.into_iter()
        .map(|(t, ids)| {
            assert_eq!(ids.len(), 1, "truth release {t} is split over our releases {ids:?}");
            (t, *ids.iter().next().unwrap())
        })
        .collect()
}

#[test]
fn the_corpus_plants_what_it_should() {
    let t = &fixture().truth;
    assert!(t.releases.len() > 100);
    assert!(t.quiet_period.end_unix - t.quiet_period.start_unix > 24 * H);
    assert!(!t.dormant.is_empty());
    let year_old = t
        .releases
        .iter()
        .flat_map(|r| r.sightings.iter().map(move |s| s.posted_unix - r.first_seen))
        .filter(|&age| age >= 365 * DAY)
        .count();
    assert!(year_old >= 3, "only {year_old} reposts a year or more later");
    let reuploads = t
        .releases
        .iter()
        .flat_map(|r| &r.sightings)
        .filter(|s| s.kind == marsad_synth::SightingKind::Reupload)
        .count();
    assert!(reuploads > 20);
}

#[test]
fn releases_are_the_planted_releases_with_their_attribution() {
    let f = fixture();
    let ids = our_release_ids();
    assert_eq!(ids.len(), f.truth.releases.len(), "every truth release found");
    // No two truth releases share one of ours.
    let distinct: BTreeSet<i64> = ids.values().copied().collect();
    assert_eq!(distinct.len(), ids.len(), "two planted releases were merged");
    let listed = json(&["releases"]);
    let rows: HashMap<i64, &Value> =
        listed.as_array().unwrap().iter().map(|r| (r["id"].as_i64().unwrap(), r)).collect();
    assert_eq!(rows.len(), f.truth.releases.len(), "no release beyond the planted ones");
    for t in &f.truth.releases {
        let r = rows[&ids[&t.id]];
        let channels: BTreeSet<i64> = t.sightings.iter().map(|s| s.channel_id).collect();
        let last = t.sightings.iter().map(|s| s.posted_unix).max().unwrap();
        let fmt = serde_json::to_value(t.format).unwrap();
        assert_eq!(r["first_seen"], rfc(t.first_seen), "release {}", t.id);
        assert_eq!(r["last_seen"], rfc(last), "release {}", t.id);
        assert_eq!(r["outlet"], t.outlet.as_str(), "release {}", t.id);
        assert_eq!(r["evidence"]["rule"], "channel", "release {}", t.id);
        assert_eq!(r["format"], fmt, "release {}", t.id);
        assert_eq!(r["language"], t.language.as_str(), "release {} ({})", t.id, t.format_name());
        assert_eq!(r["sightings"], t.sightings.len(), "release {}", t.id);
        assert_eq!(r["channels"], channels.len(), "release {}", t.id);
    }
}

trait FormatName {
    fn format_name(&self) -> String;
}

impl FormatName for marsad_synth::TruthRelease {
    fn format_name(&self) -> String {
        serde_json::to_value(self.format).unwrap().as_str().unwrap_or_default().to_owned()
    }
}

#[test]
fn silences_are_the_gaps_between_planted_releases() {
    let t = &fixture().truth;
    let mut times: Vec<i64> = t.releases.iter().map(|r| r.first_seen).collect();
    times.sort_unstable();
    for min_hours in [24.0, 30.0, 12.0] {
        let want: Vec<(String, String)> = times
            .windows(2)
            .filter(|w| (w[1] - w[0]) as f64 / 3600.0 >= min_hours)
            .map(|w| (rfc(w[0]), rfc(w[1])))
            .collect();
        let got = json(&["analyze", "silences", "--min-hours", &min_hours.to_string()]);
        let got: Vec<(String, String)> = got
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["start"].as_str().unwrap().to_owned(), s["end"].as_str().unwrap().to_owned()))
            .collect();
        assert_eq!(got, want, "silences of {min_hours} h");
    }
    // The planted global silence is one of them, as planted: the last
    // release before it and the first after it.
    let q = t.quiet_period;
    let before = *times.iter().filter(|&&x| x <= q.start_unix).max().unwrap();
    let after = *times.iter().filter(|&&x| x >= q.end_unix).min().unwrap();
    let got = json(&["analyze", "silences", "--min-hours", "24"]);
    assert!(got.as_array().unwrap().iter().any(|s| s["start"] == rfc(before) && s["end"] == rfc(after)));
    // Per outlet.
    let name = &t.outlets[0].name;
    let mut own: Vec<i64> = t.releases.iter().filter(|r| &r.outlet == name).map(|r| r.first_seen).collect();
    own.sort_unstable();
    let want = own.windows(2).filter(|w| w[1] - w[0] >= 72 * H).count();
    let got = json(&["analyze", "silences", "--min-hours", "72", "--outlet", name]);
    assert_eq!(got.as_array().unwrap().len(), want);
}

#[test]
fn dormancy_matches_the_planted_outlets() {
    let t = &fixture().truth;
    for (at, days) in [
        (t.end_unix, 30i64),
        (t.start_unix + (t.end_unix - t.start_unix) / 2, 14),
        (t.end_unix - 5 * DAY, 60),
    ] {
        let got = json(&["analyze", "dormancy", "--at", &rfc(at), "--days", &days.to_string()]);
        let mut want_silent = Vec::new();
        for o in &t.outlets {
            let active = t
                .releases
                .iter()
                .any(|r| r.outlet == o.name && r.first_seen >= at - days * DAY && r.first_seen < at);
            let last = t
                .releases
                .iter()
                .filter(|r| r.outlet == o.name && r.first_seen < at)
                .map(|r| r.first_seen)
                .max();
            let row =
                got["outlets"].as_array().unwrap().iter().find(|x| x["outlet"] == o.name.as_str()).unwrap();
            assert_eq!(row["silent"], !active, "{} at {}", o.name, rfc(at));
            assert_eq!(row["last_release"], last.map(rfc).map_or(Value::Null, Value::from));
            if !active {
                want_silent.push(o.name.clone());
            }
        }
        assert_eq!(got["outlets"].as_array().unwrap().len(), t.outlets.len());
        let silent: Vec<String> =
            got["silent"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
        assert_eq!(silent, want_silent);
        assert!(
            (got["silent_share"].as_f64().unwrap() - want_silent.len() as f64 / t.outlets.len() as f64).abs()
                < 1e-12
        );
    }
    // The planted dormant outlets are silent at the end.
    let end = json(&["analyze", "dormancy", "--at", &rfc(t.end_unix), "--days", "20"]);
    for d in &t.dormant {
        assert!(
            end["silent"].as_array().unwrap().iter().any(|s| s == d.outlet.as_str()),
            "{} should be silent",
            d.outlet
        );
    }
}

#[test]
fn recycling_counts_the_planted_old_sightings() {
    let t = &fixture().truth;
    for (from, to, min_age) in [
        (t.start_unix, t.end_unix, 60i64),
        (t.start_unix + 370 * DAY, t.end_unix, 365),
        (t.start_unix + 100 * DAY, t.start_unix + 200 * DAY, 30),
    ] {
        let mut sightings = 0u64;
        let mut recycled = 0u64;
        for r in &t.releases {
            for s in &r.sightings {
                if s.posted_unix >= from && s.posted_unix < to {
                    sightings += 1;
                    if r.first_seen <= s.posted_unix - min_age * DAY {
                        recycled += 1;
                    }
                }
            }
        }
        let got = json(&[
            "analyze",
            "recycling",
            "--from",
            &rfc(from),
            "--to",
            &rfc(to),
            "--min-age-days",
            &min_age.to_string(),
        ]);
        assert_eq!(
            (got["sightings"].as_u64(), got["recycled"].as_u64()),
            (Some(sightings), Some(recycled)),
            "{min_age} days"
        );
        if min_age == 365 {
            assert!(recycled >= 3, "year-old material reposted: {recycled}");
        }
    }
}

fn day_start(t: i64) -> i64 {
    t.div_euclid(DAY) * DAY
}

fn week_start(t: i64) -> i64 {
    let d = DateTime::<Utc>::from_timestamp(t, 0).unwrap().date_naive();
    let monday = d - chrono::Duration::days(i64::from(d.weekday().num_days_from_monday()));
    monday.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp()
}

fn month_start(t: i64) -> i64 {
    let d = DateTime::<Utc>::from_timestamp(t, 0).unwrap().date_naive();
    NaiveDate::from_ymd_opt(d.year(), d.month(), 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp()
}

/// The first day of the Umm al-Qura month of `t`, straight from ICU4X.
fn hijri_start(t: i64) -> i64 {
    use icu_calendar::Date;
    use icu_calendar::cal::Hijri;
    let d = DateTime::<Utc>::from_timestamp(t, 0).unwrap().date_naive();
    let iso = Date::try_new_iso(d.year(), d.month() as u8, d.day() as u8).unwrap();
    let h = iso.to_calendar(Hijri::new_umm_al_qura());
    let day = h.day_of_month().0 as i64;
    day_start(t) - (day - 1) * DAY
}

#[test]
fn timelines_count_planted_releases_and_sightings() {
    let t = &fixture().truth;
    type StartOf = fn(i64) -> i64;
    let buckets: [(&str, StartOf); 4] =
        [("day", day_start), ("week", week_start), ("month", month_start), ("hijri-month", hijri_start)];
    for (name, start) in buckets {
        let mut want: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
        for r in &t.releases {
            want.entry((rfc(start(r.first_seen)), r.outlet.clone())).or_default().0 += 1;
            for s in &r.sightings {
                want.entry((rfc(start(s.posted_unix)), r.outlet.clone())).or_default().1 += 1;
            }
        }
        let got = json(&["analyze", "timeline", "--bucket", name, "--by", "outlet"]);
        let got: BTreeMap<(String, String), (u64, u64)> = got
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    (r["bucket"].as_str().unwrap().to_owned(), r["key"].as_str().unwrap().to_owned()),
                    (r["releases"].as_u64().unwrap(), r["sightings"].as_u64().unwrap()),
                )
            })
            .collect();
        assert_eq!(got, want, "timeline by {name}");
    }
    // By format, only photo reports, over one month.
    let from = t.start_unix + 30 * DAY;
    let to = from + 30 * DAY;
    let want: u64 = t
        .releases
        .iter()
        .filter(|r| {
            r.first_seen >= from && r.first_seen < to && r.format == marsad_synth::ReleaseFormat::PhotoReport
        })
        .count() as u64;
    let got = json(&[
        "analyze",
        "timeline",
        "--bucket",
        "day",
        "--format",
        "photo_report",
        "--from",
        &rfc(from),
        "--to",
        &rfc(to),
    ]);
    assert_eq!(got.as_array().unwrap().iter().map(|r| r["releases"].as_u64().unwrap()).sum::<u64>(), want);
}

#[test]
fn trends_are_monthly_counts_with_their_figures() {
    let t = &fixture().truth;
    // Excluding text-only releases, as published counts of visual output do.
    let mut counts: BTreeMap<i64, u64> = BTreeMap::new();
    for r in t.releases.iter().filter(|r| r.format != marsad_synth::ReleaseFormat::Text) {
        *counts.entry(month_start(r.first_seen)).or_default() += 1;
    }
    let got = json(&["analyze", "trend", "--bucket", "month", "--format=-text"]);
    let rows = got.as_array().unwrap();
    let first = *counts.keys().next().unwrap();
    let last = *counts.keys().last().unwrap();
    let mut months = vec![first];
    while *months.last().unwrap() < last {
        months.push(month_start(months.last().unwrap() + 32 * DAY));
    }
    assert_eq!(rows.len(), months.len());
    let mut peak = 0u64;
    let series: Vec<u64> = months.iter().map(|m| counts.get(m).copied().unwrap_or(0)).collect();
    // A month is partial when the data (every release and sighting, text
    // included) starts after its start or ends before its last instant.
    let data_first = t.releases.iter().map(|r| r.first_seen).min().unwrap();
    let data_last = t.releases.iter().flat_map(|r| r.sightings.iter().map(|s| s.posted_unix)).max().unwrap();
    let partial: Vec<bool> =
        months.iter().map(|&m| data_first > m || data_last < month_start(m + 32 * DAY)).collect();
    assert!(!partial[1..months.len() - 1].iter().any(|&p| p), "only an end can be partial");
    for (i, (row, &n)) in rows.iter().zip(&series).enumerate() {
        assert_eq!(row["bucket"], rfc(months[i]));
        assert_eq!(row["releases"], n);
        assert_eq!(row["partial"], partial[i], "{}", months[i]);
        peak = peak.max(n);
        let decline = (peak - n) as f64 / peak as f64 * 100.0;
        assert!((row["decline_from_peak_pct"].as_f64().unwrap() - decline).abs() < 1e-9);
        let rolling: u64 = series[i.saturating_sub(2)..=i].iter().sum();
        assert_eq!(row["rolling_3"], rolling);
        if i > 0 && series[i - 1] > 0 && !partial[i - 1] && !partial[i] {
            let change = (n as f64 - series[i - 1] as f64) / series[i - 1] as f64 * 100.0;
            assert!((row["change_pct"].as_f64().unwrap() - change).abs() < 1e-9);
        } else {
            assert!(row["change_pct"].is_null());
        }
    }
    // Hijri months: the same releases, bucketed by Umm al-Qura month.
    let got = json(&["analyze", "trend", "--bucket", "hijri-month"]);
    let total: u64 = got.as_array().unwrap().iter().map(|r| r["releases"].as_u64().unwrap()).sum();
    assert_eq!(total, t.releases.len() as u64);
    assert!(got[0]["label"].as_str().unwrap().ends_with(" AH"));
}

/// Nearest-rank quantile.
fn rank(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    sorted[((q * n as f64).ceil() as usize).clamp(1, n) - 1]
}

#[test]
fn amplification_follows_each_release() {
    let t = &fixture().truth;
    let got = json(&["analyze", "amplification"]);
    let rows = got["releases"].as_array().unwrap();
    assert_eq!(rows.len(), t.releases.len());
    let by_first: HashMap<(String, String), &Value> = rows
        .iter()
        .map(|r| {
            ((r["first_seen"].as_str().unwrap().to_owned(), r["outlet"].as_str().unwrap().to_owned()), r)
        })
        .collect();
    let mut sightings = Vec::new();
    let mut to_2nd = Vec::new();
    for r in &t.releases {
        let mut times: Vec<i64> = r.sightings.iter().map(|s| s.posted_unix).collect();
        times.sort_unstable();
        let row = by_first[&(rfc(r.first_seen), r.outlet.clone())];
        assert_eq!(row["sightings"], times.len());
        let channels: BTreeSet<i64> = r.sightings.iter().map(|s| s.channel_id).collect();
        assert_eq!(row["channels"], channels.len());
        let hours = |k: usize| times.get(k - 1).map(|x| (x - r.first_seen) as f64 / 3600.0);
        let close = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => (a - b).abs() < 1e-9,
            (a, b) => a == b,
        };
        assert!(close(row["hours_to_2nd"].as_f64(), hours(2)), "{row}");
        assert!(close(row["hours_to_10th"].as_f64(), hours(10)), "{row}");
        sightings.push(times.len() as f64);
        to_2nd.extend(hours(2));
    }
    sightings.sort_by(f64::total_cmp);
    to_2nd.sort_by(f64::total_cmp);
    let s = &got["summary"];
    assert_eq!(s["sightings"]["p50"].as_f64(), Some(rank(&sightings, 0.5)));
    assert_eq!(s["sightings"]["p90"].as_f64(), Some(rank(&sightings, 0.9)));
    assert!((s["hours_to_2nd"]["p50"].as_f64().unwrap() - rank(&to_2nd, 0.5)).abs() < 1e-9);
    assert_eq!(s["hours_to_2nd"]["count"].as_u64(), Some(to_2nd.len() as u64));
}

#[test]
fn filters_select_releases_by_outlet_and_format() {
    let t = &fixture().truth;
    let name = &t.outlets[1].name;
    let got = json(&["releases", "--outlet", name, "--format=-text,-document"]);
    let want = t
        .releases
        .iter()
        .filter(|r| &r.outlet == name)
        .filter(|r| {
            !matches!(r.format, marsad_synth::ReleaseFormat::Text | marsad_synth::ReleaseFormat::Document)
        })
        .count();
    assert_eq!(got.as_array().unwrap().len(), want);
    let official = json(&["releases", "--official-only"]);
    assert_eq!(official.as_array().unwrap().len(), t.releases.len(), "every planted release has its outlet");
    let bad = run(&fixture().db, &["releases", "--format", "poster"]);
    assert!(!bad.status.success() && stderr(&bad).contains("unknown format"));
}

#[test]
fn grouping_is_independent_of_ingest_order_and_batching() {
    // The same corpus ingested in the opposite order, grouping after each
    // export (new posts join and merge earlier releases): the same releases.
    let f = fixture();
    let corpus = f.db.parent().unwrap().join("corpus");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reverse.db");
    let mut exports: Vec<PathBuf> =
        std::fs::read_dir(corpus.join("exports")).unwrap().map(|e| e.unwrap().path()).collect();
    exports.sort();
    exports.reverse();
    for e in &exports {
        let (ok, s) = ingest_json(&db, "telegram", e, &["--batch-size", "37"]);
        assert!(ok, "{s}");
        let o = run(&db, &["releases"]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let partition = |db: &std::path::Path| {
        let store = open(db);
        let mut groups: HashMap<i64, BTreeSet<(String, String)>> = HashMap::new();
        store
            .release_members(None, &mut |m| {
                groups.entry(m.release_id.0).or_default().insert((m.source.to_string(), m.platform_post_id));
                Ok(())
            })
            .unwrap();
        groups.into_values().collect::<BTreeSet<_>>()
    };
    assert_eq!(partition(&db), partition(&f.db));
}

#[test]
fn the_release_columns_hold_the_stores_sightings_and_survive_the_cache() {
    let f = fixture();
    let store = open(&f.db);
    let obs = marsad_observe::snapshot::build(&store).unwrap();
    // Every sighting the store groups with SQL, and no other.
    let mut expected = Vec::new();
    store
        .sightings(None, &mut |s| {
            expected.push((s.release_id.0, s.source.to_string(), s.posted_at.unix_micros()));
            Ok(())
        })
        .unwrap();
    let mut got: Vec<(i64, String, i64)> = obs
        .sightings
        .iter()
        .map(|s| (obs.releases[s.release as usize].id, obs.sources[s.source as usize].clone(), s.time))
        .collect();
    expected.sort();
    got.sort();
    assert!(!expected.is_empty());
    assert_eq!(got, expected);
    // The cache beside the store gives back the same columns.
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("m.db.observatory");
    let first = marsad_observe::snapshot::load(&store, Some(&cache)).unwrap();
    assert!(cache.exists());
    let second = marsad_observe::snapshot::load(&store, Some(&cache)).unwrap();
    assert_eq!(first, obs);
    assert_eq!(second, obs);
}

#[test]
fn an_unknown_outlet_is_warned_about_and_a_reversed_period_refused() {
    let f = fixture();
    let o = run(&f.db, &["analyze", "silences", "--min-hours", "24", "--outlet", "No Such Office"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("\"No Such Office\" names no outlet"), "{err}");
    assert!(err.contains(&format!("{:?}", f.truth.outlets[0].name)), "the known outlets are listed: {err}");
    let o = run(&f.db, &["analyze", "silences", "--min-hours", "24", "--outlet", &f.truth.outlets[0].name]);
    assert!(!stderr(&o).contains("names no outlet"), "{}", stderr(&o));
    // The readable output says whose releases the gaps are between.
    let own = format!("of 24 h or more between releases of {}", f.truth.outlets[0].name);
    assert!(stdout(&o).contains(&own), "{}", stdout(&o));
    let o = run(&f.db, &["analyze", "silences", "--min-hours", "24"]);
    assert!(stdout(&o).contains("between releases of any outlet"), "{}", stdout(&o));
    for args in [
        &["releases", "--from", "2024-03-01", "--to", "2024-02-01"][..],
        &["analyze", "timeline", "--bucket", "day", "--from", "2024-03-01", "--to", "2024-03-01"],
        &["analyze", "recycling", "--from", "2024-03-01", "--to", "2024-02-01", "--min-age-days", "1"],
    ] {
        let o = run(&f.db, args);
        assert!(!o.status.success(), "{args:?}");
        assert!(stderr(&o).contains("is not after --from"), "{args:?}: {}", stderr(&o));
    }
    let o = run(
        &f.db,
        &["analyze", "recycling", "--from", "2024-01-01", "--to", "2025-01-01", "--min-age-days", "nan"],
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--min-age-days"), "{}", stderr(&o));
}

/// Where the copies of the sighting rule used to disagree: posts just
/// before and after 1970 (SQL's `/` put -0.3 s and +0.2 s in one second)
/// and post ids "9" and "10" in one sighting (`min()` picked "10"). The
/// release's count, the export's sightings table and the observatory's
/// columns must all say the same.
#[test]
fn sightings_agree_before_1970_and_with_numeric_post_ids() {
    let dir = tempfile::tempdir().unwrap();
    let text = "the same statement posted several times over one second";
    let line = |id: &str, at: &str| {
        serde_json::json!({"platform": "x", "source": "acct", "id": id, "timestamp": at, "text": text})
            .to_string()
    };
    let body = [
        line("10", "1969-12-31T23:59:59.3Z"),
        line("9", "1969-12-31T23:59:59.3Z"),
        line("11", "1969-12-31T23:59:59.7Z"),
        line("12", "1970-01-01T00:00:00.2Z"),
    ]
    .join("\n");
    let file = dir.path().join("posts.jsonl");
    std::fs::write(&file, body + "\n").unwrap();
    let db = dir.path().join("m.db");
    let (ok, s) = ingest_json(&db, "jsonl", &file, &[]);
    assert!(ok, "{s}");
    // An outlet on the channel, so that the evidence names the first post.
    let toml = dir.path().join("outlets.toml");
    std::fs::write(&toml, "[[outlet]]\nname = \"Lantern\"\nchannels = [\"x:acct\"]\n").unwrap();
    let o = run(&db, &["outlets", "import", toml.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&db, &["--json", "releases"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let releases: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(releases.as_array().unwrap().len(), 1, "{releases}");
    assert_eq!(releases[0]["sightings"], 2, "{releases}");
    assert_eq!(releases[0]["evidence"]["post_id"], "9", "{releases}");

    let out = dir.path().join("export");
    let o = run(&db, &["export", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = std::fs::read_to_string(out.join("sightings.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    let release = releases[0]["id"].as_i64().unwrap();
    assert_eq!(
        rows,
        [
            format!("{release},x:acct,1969-12-31T23:59:59.300Z,9,3"),
            format!("{release},x:acct,1970-01-01T00:00:00.200Z,12,1"),
        ],
        "{csv}"
    );

    let obs = marsad_observe::snapshot::build(&open(&db)).unwrap();
    let times: Vec<i64> = obs.sightings.iter().map(|s| s.time).collect();
    assert_eq!(times, [-700_000, 200_000]);
}
