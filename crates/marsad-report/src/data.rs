//! What a report shows, computed from an [`Observatory`]: the series behind
//! every chart and the rows of every table. Kept apart from drawing so that
//! tests can hold each figure against the analytics it must agree with.

use std::collections::HashMap;

use marsad_observe::analytics::{self, Filter, Observatory, Silence, TrendRow};
use marsad_observe::calendar::Bucket;
use marsad_observe::describe::Format;

const DAY: i64 = 86_400_000_000;

/// How a report is made.
#[derive(Clone, Debug)]
pub struct ReportOptions {
    /// The heading.
    pub title: String,
    /// Which releases count; its time bounds are the report's period.
    pub filter: Filter,
    /// Gaps between releases at least this long are silences (hours).
    pub silence_min_hours: f64,
    /// An outlet is silent at a time when it released nothing in this many
    /// days before it.
    pub dormancy_days: f64,
    /// A sighting is recycled when its release was first seen at least this
    /// many days before it.
    pub recycling_min_age_days: f64,
    /// Charts over more weeks than this use months.
    pub max_weekly_buckets: usize,
    /// When the report was made (microseconds UTC).
    pub generated_at: i64,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            title: "marsad report".to_owned(),
            filter: Filter::default(),
            silence_min_hours: 24.0,
            dormancy_days: 30.0,
            recycling_min_age_days: 30.0,
            max_weekly_buckets: 160,
            generated_at: 0,
        }
    }
}

/// What stacks in the releases chart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeriesKind {
    /// A registered outlet.
    Outlet,
    /// The registered outlets beyond the ones drawn on their own.
    OtherOutlets,
    /// Releases attributed to no outlet.
    Unattributed,
}

/// Releases per bucket of one stack layer.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Its name in the legend.
    pub name: String,
    /// What it is.
    pub kind: SeriesKind,
    /// Releases first seen per bucket.
    pub counts: Vec<u64>,
}

/// Sightings and recycled sightings in one bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecyclingPoint {
    /// Bucket start.
    pub start: i64,
    /// Sightings in the bucket.
    pub sightings: u64,
    /// Those whose release was old.
    pub recycled: u64,
}

/// An outlet's line in the outlets table.
#[derive(Clone, Debug, PartialEq)]
pub struct OutletRow {
    /// The outlet.
    pub name: String,
    /// Releases first seen in the period.
    pub releases: u64,
    /// Their sightings in the period.
    pub sightings: u64,
    /// Its first release in the period.
    pub first: Option<i64>,
    /// Its last release in the period.
    pub last: Option<i64>,
    /// Silent at the end of the period.
    pub silent_at_end: bool,
}

/// Everything a report shows.
#[derive(Clone, Debug)]
pub struct ReportData {
    /// Start of the period (inclusive).
    pub start: i64,
    /// End of the period (exclusive).
    pub end: i64,
    /// Releases counted.
    pub releases: u64,
    /// Their sightings in the period.
    pub sightings: u64,
    /// Sources those sightings were in.
    pub sources: u64,
    /// Releases attributed to a registered outlet.
    pub official: u64,
    /// The outlets registered (or filtered to).
    pub outlets_listed: Vec<String>,
    /// The bucket of the releases chart: week, or the finest of month,
    /// year, decade, century or millennium that keeps the chart within
    /// `max_weekly_buckets` marks.
    pub bucket: Bucket,
    /// Its bucket starts; the last bucket ends at `bucket.next(last)`.
    pub buckets: Vec<i64>,
    /// Stack layers, largest outlet first, then other outlets, then
    /// unattributed.
    pub series: Vec<Series>,
    /// Silences of at least the configured length.
    pub silences: Vec<(i64, i64)>,
    /// The heat map's bucket: week, or the finest coarser one within
    /// [`MAX_COLUMNS`] columns.
    pub heat_bucket: Bucket,
    /// Starts of the heat map's columns (weeks unless `heat_bucket` says
    /// otherwise).
    pub weeks: Vec<i64>,
    /// Releases per outlet per heat-map column (registered outlets in
    /// registry order, then unattributed).
    pub heat: Vec<(String, Vec<u64>)>,
    /// Share of the listed outlets silent at each time.
    pub silent_share: Vec<(i64, f64)>,
    /// Recycling per bucket of the releases chart.
    pub recycling: Vec<RecyclingPoint>,
    /// Releases per format.
    pub formats: Vec<(Format, u64)>,
    /// Per outlet.
    pub outlet_rows: Vec<OutletRow>,
    /// Silences as the analytics print them.
    pub silence_rows: Vec<Silence>,
    /// The trend table's bucket: month, or the finest coarser one within
    /// [`MAX_COLUMNS`] rows.
    pub trend_bucket: Bucket,
    /// Releases per trend bucket with change and decline.
    pub trend: Vec<TrendRow>,
    /// The most sighted releases.
    pub top_releases: Vec<analytics::Spread>,
}

/// How many outlets get their own colour in the stacked chart.
pub const STACKED_OUTLETS: usize = 9;

/// The buckets a report's charts may use, finest first: the first whose
/// count over the period is within the limit is used, so that a store
/// spanning centuries still draws a bounded number of marks.
pub const LADDER: [Bucket; 6] = [
    Bucket::Week,
    Bucket::Month,
    Bucket::Years(1),
    Bucket::Years(10),
    Bucket::Years(100),
    Bucket::Years(1000),
];

/// What one bucket of a report's charts is called: `week`, `month`,
/// `year`, `decade`, `century`, `millennium` (`N years` otherwise).
pub fn unit_name(bucket: Bucket) -> String {
    match bucket {
        Bucket::Hour => "hour".to_owned(),
        Bucket::Day => "day".to_owned(),
        Bucket::Week => "week".to_owned(),
        Bucket::Month => "month".to_owned(),
        Bucket::HijriMonth => "Hijri month".to_owned(),
        Bucket::Years(1) => "year".to_owned(),
        Bucket::Years(10) => "decade".to_owned(),
        Bucket::Years(100) => "century".to_owned(),
        Bucket::Years(1000) => "millennium".to_owned(),
        Bucket::Years(n) => format!("{n} years"),
    }
}

/// The plural of [`unit_name`].
pub fn unit_plural(bucket: Bucket) -> String {
    match bucket {
        Bucket::Years(100) => "centuries".to_owned(),
        Bucket::Years(1000) => "millennia".to_owned(),
        Bucket::Years(n) if n != 1 && n != 10 => format!("periods of {n} years"),
        b => format!("{}s", unit_name(b)),
    }
}

/// Most columns of the heat map and rows of the trend table.
pub const MAX_COLUMNS: usize = 530;

/// Bucket starts covering `[start, end)`, or `None` when there would be
/// more than `max` (found without making them all).
pub fn bucket_starts_within(bucket: Bucket, start: i64, end: i64, max: usize) -> Option<Vec<i64>> {
    let mut out = vec![bucket.start(start)];
    while let Some(&s) = out.last() {
        let n = bucket.next(s);
        if n >= end || n <= s {
            break;
        }
        if out.len() == max {
            return None;
        }
        out.push(n);
    }
    Some(out)
}

/// The finest bucket of [`LADDER`] giving at most `max` buckets over
/// `[start, end)` (the coarsest when none does), with its starts.
pub fn coarsest_needed(start: i64, end: i64, max: usize) -> (Bucket, Vec<i64>) {
    for b in LADDER {
        if let Some(starts) = bucket_starts_within(b, start, end, max.max(1)) {
            return (b, starts);
        }
    }
    let last = LADDER[LADDER.len() - 1];
    (last, bucket_starts(last, start, end))
}

/// Bucket starts covering `[start, end)`.
pub fn bucket_starts(bucket: Bucket, start: i64, end: i64) -> Vec<i64> {
    let mut out = vec![bucket.start(start)];
    while let Some(&s) = out.last() {
        let n = bucket.next(s);
        if n >= end || n <= s {
            break;
        }
        out.push(n);
    }
    out
}

/// Index of the bucket holding `t` among sorted `starts`.
fn index_of(starts: &[i64], t: i64) -> Option<usize> {
    if starts.is_empty() || t < starts[0] {
        return None;
    }
    Some(starts.partition_point(|&s| s <= t) - 1)
}

/// Computes a report's figures.
pub fn compute(obs: &Observatory, opts: &ReportOptions) -> ReportData {
    let filter = &opts.filter;
    let mask = filter.mask(obs);
    let timeless = Filter { from: None, to: None, ..filter.clone() };
    let timeless_mask = timeless.mask(obs);
    let in_period = |t: i64| filter.from.is_none_or(|f| t >= f) && filter.to.is_none_or(|e| t < e);

    // The period: as asked, or the span of what is counted.
    let mut lo = i64::MAX;
    let mut hi = i64::MIN;
    for (i, r) in obs.releases.iter().enumerate() {
        if mask[i] {
            lo = lo.min(r.first_seen);
            hi = hi.max(r.first_seen);
        }
    }
    for s in &obs.sightings {
        if timeless_mask[s.release as usize] && in_period(s.time) {
            lo = lo.min(s.time);
            hi = hi.max(s.time);
        }
    }
    let found = lo <= hi;
    if !found {
        lo = filter.from.unwrap_or(opts.generated_at);
        hi = lo;
    }
    // Whole UTC days when the period is not given.
    let start = filter.from.unwrap_or_else(|| lo.div_euclid(DAY) * DAY);
    let end = filter.to.unwrap_or_else(|| (hi.div_euclid(DAY) + 1) * DAY).max(start + 1);
    // The charts' time axis: the period, but no wider than the whole days
    // that hold what is counted (a period of centuries around a year of
    // data would otherwise draw centuries of empty weeks). Figures *at* the
    // end of the period (who is silent then) still use the period's end.
    let (axis_start, axis_end) = if found {
        (start.max(lo.div_euclid(DAY) * DAY), end.min((hi.div_euclid(DAY) + 1) * DAY))
    } else {
        (start, end)
    };

    // The chart's buckets: weeks, months, years, decades… whichever first
    // keeps the chart within `max_weekly_buckets` marks; the heat map's
    // columns (and the silent share's points): weeks, or the finest bucket
    // within `MAX_COLUMNS`.
    let (bucket, buckets) = coarsest_needed(axis_start, axis_end, opts.max_weekly_buckets);
    let (heat_bucket, weeks) = coarsest_needed(axis_start, axis_end, MAX_COLUMNS);

    // Releases per outlet per bucket and per week.
    let n_out = obs.outlets.len();
    let unattributed = n_out;
    let mut per_bucket = vec![vec![0u64; buckets.len()]; n_out + 1];
    let mut per_week = vec![vec![0u64; weeks.len()]; n_out + 1];
    let mut formats: HashMap<Format, u64> = HashMap::new();
    let mut releases = 0;
    let mut official = 0;
    let mut first = vec![None::<i64>; n_out];
    let mut last = vec![None::<i64>; n_out];
    let mut outlet_releases = vec![0u64; n_out];
    for (i, r) in obs.releases.iter().enumerate() {
        if !mask[i] {
            continue;
        }
        releases += 1;
        *formats.entry(r.format).or_default() += 1;
        let o = r.outlet.map_or(unattributed, |o| o as usize);
        if let Some(o) = r.outlet {
            let o = o as usize;
            official += 1;
            outlet_releases[o] += 1;
            first[o] = Some(first[o].map_or(r.first_seen, |f: i64| f.min(r.first_seen)));
            last[o] = Some(last[o].map_or(r.first_seen, |l: i64| l.max(r.first_seen)));
        }
        if let Some(b) = index_of(&buckets, r.first_seen) {
            per_bucket[o][b] += 1;
        }
        if let Some(w) = index_of(&weeks, r.first_seen) {
            per_week[o][w] += 1;
        }
    }

    // Sightings: counts, sources, recycling per bucket.
    let min_age = (opts.recycling_min_age_days * DAY as f64) as i64;
    let mut recycling: Vec<RecyclingPoint> =
        buckets.iter().map(|&s| RecyclingPoint { start: s, sightings: 0, recycled: 0 }).collect();
    let mut sources = vec![false; obs.sources.len()];
    let mut sightings = 0;
    let mut outlet_sightings = vec![0u64; n_out];
    for s in &obs.sightings {
        let ri = s.release as usize;
        if !timeless_mask[ri] || !in_period(s.time) {
            continue;
        }
        sightings += 1;
        sources[s.source as usize] = true;
        let r = &obs.releases[ri];
        if let Some(o) = r.outlet {
            outlet_sightings[o as usize] += 1;
        }
        if let Some(b) = index_of(&buckets, s.time) {
            recycling[b].sightings += 1;
            if r.first_seen <= s.time - min_age {
                recycling[b].recycled += 1;
            }
        }
    }

    // The outlets listed: registered ones, or those asked for.
    let listed: Vec<usize> = (0..n_out)
        .filter(|&o| filter.outlets.is_empty() || filter.outlets.contains(&obs.outlets[o]))
        .collect();

    // Stack layers: the largest outlets on their own, the rest together.
    let mut by_size: Vec<usize> = listed.iter().copied().filter(|&o| outlet_releases[o] > 0).collect();
    by_size.sort_by(|&a, &b| outlet_releases[b].cmp(&outlet_releases[a]).then(a.cmp(&b)));
    let mut series: Vec<Series> = by_size
        .iter()
        .take(STACKED_OUTLETS)
        .map(|&o| Series {
            name: obs.outlets[o].clone(),
            kind: SeriesKind::Outlet,
            counts: per_bucket[o].clone(),
        })
        .collect();
    if by_size.len() > STACKED_OUTLETS {
        let mut counts = vec![0u64; buckets.len()];
        for &o in &by_size[STACKED_OUTLETS..] {
            for (c, n) in counts.iter_mut().zip(&per_bucket[o]) {
                *c += n;
            }
        }
        series.push(Series {
            name: format!("{} other outlets", by_size.len() - STACKED_OUTLETS),
            kind: SeriesKind::OtherOutlets,
            counts,
        });
    }
    if per_bucket[unattributed].iter().any(|&n| n > 0) {
        series.push(Series {
            name: "unattributed".to_owned(),
            kind: SeriesKind::Unattributed,
            counts: per_bucket[unattributed].clone(),
        });
    }

    let mut heat: Vec<(String, Vec<u64>)> =
        listed.iter().map(|&o| (obs.outlets[o].clone(), per_week[o].clone())).collect();
    if filter.outlets.is_empty() && !filter.official_only && per_week[unattributed].iter().any(|&n| n > 0) {
        heat.push(("unattributed".to_owned(), per_week[unattributed].clone()));
    }

    // Silent share: at each week boundary (and the end), once the window
    // no longer reaches before the first release anywhere.
    let mut times_of: Vec<Vec<i64>> = vec![Vec::new(); n_out];
    let mut earliest = i64::MAX;
    for (i, r) in obs.releases.iter().enumerate() {
        if !timeless_mask[i] {
            continue;
        }
        earliest = earliest.min(r.first_seen);
        if let Some(o) = r.outlet {
            times_of[o as usize].push(r.first_seen);
        }
    }
    for t in &mut times_of {
        t.sort_unstable();
    }
    let window = (opts.dormancy_days * DAY as f64) as i64;
    let silent_at = |o: usize, at: i64| {
        let t = &times_of[o];
        let k = t.partition_point(|&x| x < at - window);
        !(k < t.len() && t[k] < at)
    };
    let mut silent_share = Vec::new();
    if !listed.is_empty() && earliest != i64::MAX {
        let mut points: Vec<i64> = weeks.iter().copied().filter(|&w| w > axis_start).collect();
        points.push(axis_end);
        for at in points {
            if at < earliest.saturating_add(window) || at > axis_end {
                continue;
            }
            let silent = listed.iter().filter(|&&o| silent_at(o, at)).count();
            silent_share.push((at, silent as f64 / listed.len() as f64));
        }
    }

    let outlet_rows = listed
        .iter()
        .map(|&o| OutletRow {
            name: obs.outlets[o].clone(),
            releases: outlet_releases[o],
            sightings: outlet_sightings[o],
            first: first[o],
            last: last[o],
            silent_at_end: silent_at(o, end),
        })
        .collect();

    // The trend table: months, or the finest bucket within `MAX_COLUMNS`
    // rows over the span of the releases counted.
    let trend_bucket = match bucket_starts_within(Bucket::Month, axis_start, axis_end, MAX_COLUMNS) {
        Some(_) => Bucket::Month,
        None => coarsest_needed(axis_start, axis_end, MAX_COLUMNS).0,
    };

    let silence_rows = analytics::silences(obs, filter, opts.silence_min_hours);
    let silences = silence_rows.iter().map(|s| (s.start.unix_micros(), s.end.unix_micros())).collect();

    let mut formats: Vec<(Format, u64)> =
        Format::ALL.iter().map(|f| (*f, formats.get(f).copied().unwrap_or(0))).collect();
    formats.retain(|f| f.1 > 0);

    let mut top_releases = analytics::amplification(obs, filter).releases;
    top_releases.sort_by(|a, b| {
        b.sightings.cmp(&a.sightings).then(a.first_seen.cmp(&b.first_seen)).then(a.id.cmp(&b.id))
    });
    top_releases.truncate(15);

    ReportData {
        start,
        end,
        releases,
        sightings,
        sources: sources.iter().filter(|&&s| s).count() as u64,
        official,
        outlets_listed: listed.iter().map(|&o| obs.outlets[o].clone()).collect(),
        bucket,
        buckets,
        heat_bucket,
        series,
        silences,
        weeks,
        heat,
        silent_share,
        recycling,
        formats,
        outlet_rows,
        silence_rows,
        trend_bucket,
        trend: analytics::trend(obs, filter, trend_bucket, false),
        top_releases,
    }
}
