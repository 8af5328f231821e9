//! Trend rows over planted data: a bucket the data covers only in part
//! (its data starts or ends inside it, or `--from`/`--to` cut it) says so
//! and has no change into or out of it; whole buckets keep their figures.

use marsad_observe::analytics::{Filter, Observatory, Release, Sighting, TrendRow, trend};
use marsad_observe::calendar::Bucket;
use marsad_observe::describe::Format;

const SEC: i64 = 1_000_000;
const DAY: i64 = 86_400 * SEC;
/// 2024-01-01T00:00:00Z, 2024-02-01, 2024-03-01, 2024-04-01, 2024-05-01
/// (2024 is a leap year), in microseconds.
const JAN: i64 = 1_704_067_200 * SEC;
const FEB: i64 = 1_706_745_600 * SEC;
const MAR: i64 = 1_709_251_200 * SEC;
const APR: i64 = 1_711_929_600 * SEC;
const MAY: i64 = 1_714_521_600 * SEC;

/// One release per time, each seen once when published, plus one more
/// sighting of the first release at each of `reposts`.
fn observatory(times: &[i64], reposts: &[i64]) -> Observatory {
    let releases: Vec<Release> = times
        .iter()
        .enumerate()
        .map(|(i, &t)| Release {
            id: i as i64 + 1,
            first_seen: t,
            last_seen: t,
            outlet: Some(0),
            format: Format::Photo,
            language: None,
            source: 0,
        })
        .collect();
    let mut sightings: Vec<Sighting> =
        times.iter().enumerate().map(|(i, &t)| Sighting { release: i as u32, source: 0, time: t }).collect();
    sightings.extend(reposts.iter().map(|&t| Sighting { release: 0, source: 1, time: t }));
    Observatory {
        releases,
        sightings,
        sources: vec!["telegram:1".into(), "telegram:2".into()],
        outlets: vec!["A".into()],
        languages: vec![],
    }
}

/// `n` releases at noon on days `from_day`, `from_day + 1`, … of the month
/// starting at `month`.
fn daily(month: i64, from_day: i64, n: i64) -> Vec<i64> {
    (0..n).map(|d| month + (from_day - 1 + d) * DAY + 12 * 3600 * SEC).collect()
}

/// January from the 16th (5 releases), February 10, March 20, April 15.
fn planted() -> Vec<i64> {
    [daily(JAN, 16, 5), daily(FEB, 11, 10), daily(MAR, 1, 20), daily(APR, 1, 15)].concat()
}

fn check(rows: &[TrendRow], want: &[(&str, u64, bool, Option<f64>)]) {
    let got: Vec<(String, u64, bool, Option<f64>)> =
        rows.iter().map(|r| (r.bucket.to_string(), r.releases, r.partial, r.change_pct)).collect();
    let want: Vec<(String, u64, bool, Option<f64>)> =
        want.iter().map(|&(b, n, p, c)| (b.to_owned(), n, p, c)).collect();
    assert_eq!(got, want);
}

#[test]
fn a_month_whose_data_starts_mid_month_is_partial_and_has_no_change() {
    // The data ends on April's last microsecond: April is whole.
    let obs = observatory(&planted(), &[MAY - 1]);
    let rows = trend(&obs, &Filter::default(), Bucket::Month, false);
    check(
        &rows,
        &[
            ("2024-01-01T00:00:00Z", 5, true, None),
            // Out of a partial month: +100 % would compare 16 days with 29.
            ("2024-02-01T00:00:00Z", 10, false, None),
            ("2024-03-01T00:00:00Z", 20, false, Some(100.0)),
            ("2024-04-01T00:00:00Z", 15, false, Some(-25.0)),
        ],
    );
    // The other figures are unchanged by partiality.
    assert_eq!(rows.iter().map(|r| r.rolling_3).collect::<Vec<_>>(), [5, 15, 35, 45]);
    assert_eq!(rows[3].decline_from_peak_pct, 25.0);
}

#[test]
fn data_from_a_month_s_first_instant_to_its_last_makes_it_whole() {
    let obs = observatory(&[vec![JAN], planted()].concat(), &[MAY - 1]);
    let rows = trend(&obs, &Filter::default(), Bucket::Month, false);
    check(
        &rows,
        &[
            ("2024-01-01T00:00:00Z", 6, false, None),
            ("2024-02-01T00:00:00Z", 10, false, Some((10.0 - 6.0) / 6.0 * 100.0)),
            ("2024-03-01T00:00:00Z", 20, false, Some(100.0)),
            ("2024-04-01T00:00:00Z", 15, false, Some(-25.0)),
        ],
    );
}

#[test]
fn a_month_whose_data_ends_before_its_end_is_partial() {
    // The last sighting (a repost) on April 20: April is partial even
    // though its releases stop on the 15th.
    let obs = observatory(&planted(), &[APR + 19 * DAY]);
    let rows = trend(&obs, &Filter::default(), Bucket::Month, false);
    assert_eq!(rows.iter().map(|r| r.partial).collect::<Vec<_>>(), [true, false, false, true]);
    assert_eq!(rows[2].change_pct, Some(100.0));
    assert_eq!(rows[3].change_pct, None);
}

#[test]
fn the_filter_s_bounds_cut_buckets_too() {
    let obs = observatory(&planted(), &[MAY - 1]);
    // From February 1st: February is whole, March's change counts.
    let from_feb = Filter { from: Some(FEB), ..Filter::default() };
    check(
        &trend(&obs, &from_feb, Bucket::Month, false),
        &[
            ("2024-02-01T00:00:00Z", 10, false, None),
            ("2024-03-01T00:00:00Z", 20, false, Some(100.0)),
            ("2024-04-01T00:00:00Z", 15, false, Some(-25.0)),
        ],
    );
    // From February 5th to April 10th: both ends are cut.
    let cut = Filter { from: Some(FEB + 4 * DAY), to: Some(APR + 9 * DAY), ..Filter::default() };
    check(
        &trend(&obs, &cut, Bucket::Month, false),
        &[
            ("2024-02-01T00:00:00Z", 10, true, None),
            ("2024-03-01T00:00:00Z", 20, false, None),
            ("2024-04-01T00:00:00Z", 9, true, None),
        ],
    );
    // `--to` on a month's end leaves it whole.
    let to_apr = Filter { to: Some(APR), ..Filter::default() };
    let rows = trend(&obs, &to_apr, Bucket::Month, false);
    assert_eq!(rows.iter().map(|r| r.partial).collect::<Vec<_>>(), [true, false, false]);
    assert_eq!(rows[2].change_pct, Some(100.0));
}

#[test]
fn a_hijri_month_whose_data_starts_mid_month_is_partial() {
    // Ramadan 1445 began on 11 March 2024 (Umm al-Qura), Shawwal on
    // 10 April: data from 20 March to 20 May covers Ramadan and Dhu
    // al-Qa'da in part and Shawwal in full.
    let times = [daily(MAR, 20, 10), daily(APR, 1, 30), daily(MAY, 1, 20)].concat();
    let obs = observatory(&times, &[]);
    let rows = trend(&obs, &Filter::default(), Bucket::HijriMonth, false);
    let got: Vec<(Option<&str>, bool, Option<f64>)> =
        rows.iter().map(|r| (r.label.as_deref(), r.partial, r.change_pct)).collect();
    assert_eq!(
        got,
        [
            (Some("1445-09 AH"), true, None),
            (Some("1445-10 AH"), false, None),
            (Some("1445-11 AH"), true, None)
        ]
    );
    assert_eq!(rows.iter().map(|r| r.releases).sum::<u64>(), 60);
}
