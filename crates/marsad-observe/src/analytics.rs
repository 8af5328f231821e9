//! The measurements: output over time, trends, silences, dormancy,
//! recycling, amplification — over an [`Observatory`], the releases and
//! sightings of a store in columns.
//!
//! All times are microseconds UTC; outputs carry RFC 3339. Every command
//! takes the same [`Filter`], because published counts differ exactly
//! there: official releases only, formats included or excluded, outlets.

use std::collections::HashMap;

use marsad_core::UtcTime;
use serde::Serialize;

use crate::calendar::Bucket;
use crate::describe::Format;

/// The time of an observatory column (microseconds from a stored time, so
/// in range): analytics rows carry times, formatted once, when printed.
fn time(micros: i64) -> UtcTime {
    UtcTime::saturating_from_unix_micros(micros)
}

/// A release, in columns-friendly form.
#[derive(Clone, Debug, PartialEq)]
pub struct Release {
    /// Its id in the store.
    pub id: i64,
    /// Its earliest sighting.
    pub first_seen: i64,
    /// Its latest sighting.
    pub last_seen: i64,
    /// Index of its outlet in [`Observatory::outlets`], if attributed.
    pub outlet: Option<u32>,
    /// Its format.
    pub format: Format,
    /// Index of its language in [`Observatory::languages`], if known.
    pub language: Option<u32>,
    /// Index in [`Observatory::sources`] of the source of its earliest
    /// sighting.
    pub source: u32,
}

/// A sighting: one post (or album) of a release in one source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sighting {
    /// Index of its release in [`Observatory::releases`].
    pub release: u32,
    /// Index of its source in [`Observatory::sources`].
    pub source: u32,
    /// When it was posted.
    pub time: i64,
}

/// Everything the analytics read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observatory {
    /// Releases.
    pub releases: Vec<Release>,
    /// Sightings.
    pub sightings: Vec<Sighting>,
    /// Source keys (`telegram:1000000001`).
    pub sources: Vec<String>,
    /// Registered outlets' names, in registry order.
    pub outlets: Vec<String>,
    /// Language codes.
    pub languages: Vec<String>,
}

/// Which releases count.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    /// Only releases attributed to a registered outlet.
    pub official_only: bool,
    /// Only these formats (all when `None`).
    pub formats: Option<Vec<Format>>,
    /// Not these formats.
    pub exclude_formats: Vec<Format>,
    /// Only these outlets (by name; all when empty).
    pub outlets: Vec<String>,
    /// Only releases first seen at or after this time…
    pub from: Option<i64>,
    /// …and before this one.
    pub to: Option<i64>,
}

impl Filter {
    /// A per-release mask of what the filter keeps (time bounds apply to
    /// first seen).
    pub fn mask(&self, obs: &Observatory) -> Vec<bool> {
        let wanted: Vec<u32> = self
            .outlets
            .iter()
            .filter_map(|n| obs.outlets.iter().position(|o| o == n).map(|i| i as u32))
            .collect();
        obs.releases
            .iter()
            .map(|r| {
                (!self.official_only || r.outlet.is_some())
                    && self.formats.as_ref().is_none_or(|f| f.contains(&r.format))
                    && !self.exclude_formats.contains(&r.format)
                    && (self.outlets.is_empty() || r.outlet.is_some_and(|o| wanted.contains(&o)))
                    && self.from.is_none_or(|t| r.first_seen >= t)
                    && self.to.is_none_or(|t| r.first_seen < t)
            })
            .collect()
    }

    /// Whether a sighting's own time is within the time bounds.
    fn in_time(&self, t: i64) -> bool {
        self.from.is_none_or(|f| t >= f) && self.to.is_none_or(|e| t < e)
    }

    /// The same filter without time bounds.
    fn timeless(&self) -> Filter {
        Filter { from: None, to: None, ..self.clone() }
    }
}

const DAY: i64 = 86_400_000_000;
const HOUR: f64 = 3_600_000_000.0;

/// Bucket starts by day, computed once per day (a Hijri month needs a
/// calendar conversion; ten million of them would be slow), and each
/// bucket's index among the buckets the times cover.
struct BucketMemo {
    bucket: Bucket,
    first_day: i64,
    /// Per day from `first_day`: the start of its bucket.
    starts: Vec<i64>,
    /// Per day: the index of its bucket in `bucket_starts`.
    index: Vec<u32>,
    /// The distinct bucket starts, in order (unused for hours).
    bucket_starts: Vec<i64>,
}

const HOUR_MICROS: i64 = 3_600_000_000;

impl BucketMemo {
    fn new(bucket: Bucket, times: impl Iterator<Item = i64>) -> Self {
        let (mut lo, mut hi) = (i64::MAX, i64::MIN);
        for t in times {
            lo = lo.min(t.div_euclid(DAY));
            hi = hi.max(t.div_euclid(DAY));
        }
        let mut memo = BucketMemo {
            bucket,
            first_day: 0,
            starts: Vec::new(),
            index: Vec::new(),
            bucket_starts: Vec::new(),
        };
        if lo > hi {
            return memo;
        }
        memo.first_day = lo;
        memo.starts = (lo..=hi).map(|d| bucket.start(d * DAY)).collect();
        for &s in &memo.starts {
            if memo.bucket_starts.last() != Some(&s) {
                memo.bucket_starts.push(s);
            }
            memo.index.push(memo.bucket_starts.len() as u32 - 1);
        }
        memo
    }

    /// The start of the bucket holding `t`.
    fn start(&self, t: i64) -> i64 {
        if self.bucket == Bucket::Hour {
            return t.div_euclid(HOUR_MICROS) * HOUR_MICROS;
        }
        let i = t.div_euclid(DAY) - self.first_day;
        self.starts.get(i as usize).copied().unwrap_or_else(|| self.bucket.start(t))
    }

    /// How many buckets the times cover.
    fn len(&self) -> usize {
        if self.bucket == Bucket::Hour { self.starts.len() * 24 } else { self.bucket_starts.len() }
    }

    /// The index of the bucket holding `t`, one of the times given.
    fn index(&self, t: i64) -> usize {
        let day = (t.div_euclid(DAY) - self.first_day).clamp(0, self.starts.len() as i64 - 1);
        if self.bucket == Bucket::Hour {
            return (day * 24 + t.rem_euclid(DAY) / HOUR_MICROS) as usize;
        }
        self.index[day as usize] as usize
    }

    /// The start of bucket `i`.
    fn start_of(&self, i: usize) -> i64 {
        if self.bucket == Bucket::Hour {
            return self.first_day * DAY + i as i64 * HOUR_MICROS;
        }
        self.bucket_starts[i]
    }
}

/// What `--by` groups by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum By {
    /// The release's outlet.
    Outlet,
    /// The release's format.
    Format,
    /// The release's language.
    Language,
    /// The source: of the earliest sighting for releases, of each sighting
    /// for sightings.
    Source,
}

impl By {
    /// Parses `outlet`, `format`, `language` or `source`.
    pub fn parse(s: &str) -> Option<By> {
        Some(match s {
            "outlet" => By::Outlet,
            "format" => By::Format,
            "language" => By::Language,
            "source" => By::Source,
            _ => return None,
        })
    }
}

fn key_of(obs: &Observatory, by: Option<By>, r: &Release, source: u32) -> Option<String> {
    match by? {
        By::Outlet => r.outlet.map(|o| obs.outlets[o as usize].clone()),
        By::Format => Some(r.format.as_str().to_owned()),
        By::Language => r.language.map(|l| obs.languages[l as usize].clone()),
        By::Source => Some(obs.sources[source as usize].clone()),
    }
}

/// No group (not grouped, or unknown).
const NO_KEY: u32 = u32::MAX;

/// A group key as an index into the observatory's names.
fn key_id(by: Option<By>, r: &Release, source: u32) -> u32 {
    match by {
        None => NO_KEY,
        Some(By::Outlet) => r.outlet.unwrap_or(NO_KEY),
        Some(By::Format) => Format::ALL.iter().position(|f| *f == r.format).map_or(NO_KEY, |i| i as u32),
        Some(By::Language) => r.language.unwrap_or(NO_KEY),
        Some(By::Source) => source,
    }
}

/// The name of a key from [`key_id`].
fn key_name(obs: &Observatory, by: Option<By>, id: u32) -> Option<String> {
    if id == NO_KEY {
        return None;
    }
    let i = id as usize;
    match by? {
        By::Outlet => obs.outlets.get(i).cloned(),
        By::Format => Format::ALL.get(i).map(|f| f.as_str().to_owned()),
        By::Language => obs.languages.get(i).cloned(),
        By::Source => obs.sources.get(i).cloned(),
    }
}

/// Releases and sightings.
type Counts = (u64, u64);

/// A row of [`timeline`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TimelineRow {
    /// Start of the bucket.
    pub bucket: UtcTime,
    /// The Hijri month (`1445-09 AH`), for Hijri buckets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The group (`--by`), `null` for unknown or when not grouped.
    pub key: Option<String>,
    /// Releases first seen in the bucket.
    pub releases: u64,
    /// Sightings in the bucket.
    pub sightings: u64,
}

/// Releases (by first seen) and sightings (by their own time) per bucket
/// and group. Buckets with neither are left out.
pub fn timeline(obs: &Observatory, filter: &Filter, bucket: Bucket, by: Option<By>) -> Vec<TimelineRow> {
    timeline_with(obs, filter, bucket, by, 1 << 22)
}

/// [`timeline`], counting densely up to `dense_cells` cells.
fn timeline_with(
    obs: &Observatory,
    filter: &Filter,
    bucket: Bucket,
    by: Option<By>,
    dense_cells: usize,
) -> Vec<TimelineRow> {
    let mask = filter.mask(obs);
    let sighting_mask = filter.timeless().mask(obs);
    let memo = BucketMemo::new(
        bucket,
        obs.releases.iter().map(|r| r.first_seen).chain(obs.sightings.iter().map(|s| s.time)),
    );
    // Counted in a dense grid of buckets × keys (or, when that would be
    // large, a map) under integer keys, named once per row at the end: ten
    // million sightings must not mean ten million strings or hashes.
    let n_keys = match by {
        None => 0,
        Some(By::Outlet) => obs.outlets.len(),
        Some(By::Format) => Format::ALL.len(),
        Some(By::Language) => obs.languages.len(),
        Some(By::Source) => obs.sources.len(),
    } + 1;
    let slot = |key: u32| if key == NO_KEY { n_keys - 1 } else { key as usize };
    let n_buckets = memo.len();
    let mut grid: Grid = if n_buckets.saturating_mul(n_keys) <= dense_cells {
        Grid::Dense(vec![(0, 0); n_buckets * n_keys])
    } else {
        Grid::Sparse(HashMap::default())
    };
    for (i, r) in obs.releases.iter().enumerate() {
        if mask[i] {
            grid.at(memo.index(r.first_seen) * n_keys + slot(key_id(by, r, r.source))).0 += 1;
        }
    }
    for s in &obs.sightings {
        let ri = s.release as usize;
        if !sighting_mask[ri] || !filter.in_time(s.time) {
            continue;
        }
        let key = key_id(by, &obs.releases[ri], s.source);
        grid.at(memo.index(s.time) * n_keys + slot(key)).1 += 1;
    }
    // Rows by bucket, then by the key's name (unknown first).
    let names: Vec<Option<String>> =
        (0..n_keys).map(|k| if k == n_keys - 1 { None } else { key_name(obs, by, k as u32) }).collect();
    let mut rank: Vec<usize> = (0..n_keys).collect();
    rank.sort_by(|&a, &b| names[a].cmp(&names[b]));
    let mut cells: Vec<(usize, Counts)> = grid.nonzero();
    let mut position = vec![0usize; n_keys];
    for (p, &k) in rank.iter().enumerate() {
        position[k] = p;
    }
    cells.sort_unstable_by_key(|(cell, _)| (cell / n_keys, position[cell % n_keys]));
    cells
        .into_iter()
        .map(|(cell, (releases, sightings))| {
            let start = memo.start_of(cell / n_keys);
            TimelineRow {
                bucket: time(start),
                label: bucket.label(start),
                key: names[cell % n_keys].clone(),
                releases,
                sightings,
            }
        })
        .collect()
}

/// Counts per (bucket, key) cell.
enum Grid {
    Dense(Vec<Counts>),
    Sparse(HashMap<usize, Counts, foldhash::fast::RandomState>),
}

impl Grid {
    fn at(&mut self, cell: usize) -> &mut Counts {
        match self {
            Grid::Dense(v) => &mut v[cell],
            Grid::Sparse(m) => m.entry(cell).or_default(),
        }
    }

    fn nonzero(self) -> Vec<(usize, Counts)> {
        match self {
            Grid::Dense(v) => v.into_iter().enumerate().filter(|(_, c)| *c != (0, 0)).collect(),
            Grid::Sparse(m) => m.into_iter().collect(),
        }
    }
}

/// A row of [`trend`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrendRow {
    /// Start of the bucket.
    pub bucket: UtcTime,
    /// The Hijri month, for Hijri buckets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The outlet (`--by outlet`), `null` for unknown or when not grouped.
    pub key: Option<String>,
    /// Releases first seen in the bucket.
    pub releases: u64,
    /// Change from the previous bucket, percent (`null` for the first,
    /// after an empty one, and into or out of a [`partial`] bucket: part
    /// of a bucket compared with a whole one is no change).
    ///
    /// [`partial`]: TrendRow::partial
    pub change_pct: Option<f64>,
    /// How far below the highest bucket so far, percent (0 at a peak).
    pub decline_from_peak_pct: f64,
    /// This bucket and the two before it.
    pub rolling_3: u64,
    /// Whether the data covers the bucket only in part: the earliest
    /// release or sighting (whatever the filter) is after the bucket's
    /// start or the latest before its end, or the filter's `from`/`to`
    /// cuts it. Only a first or last bucket can be partial.
    pub partial: bool,
}

/// Releases per month (or Hijri month), every bucket from the first to the
/// last release included, with the figures studies report.
pub fn trend(obs: &Observatory, filter: &Filter, bucket: Bucket, by_outlet: bool) -> Vec<TrendRow> {
    let mask = filter.mask(obs);
    let by = by_outlet.then_some(By::Outlet);
    let kept: Vec<&Release> =
        obs.releases.iter().enumerate().filter(|(i, _)| mask[*i]).map(|(_, r)| r).collect();
    let Some(first) = kept.iter().map(|r| r.first_seen).min() else { return Vec::new() };
    let last = kept.iter().map(|r| r.first_seen).max().unwrap_or(first);
    let memo = BucketMemo::new(bucket, kept.iter().map(|r| r.first_seen));
    let mut starts = vec![memo.start(first)];
    while let Some(&s) = starts.last() {
        let n = bucket.next(s);
        if n > last || n <= s {
            break;
        }
        starts.push(n);
    }
    let index: HashMap<i64, usize> = starts.iter().enumerate().map(|(i, s)| (*s, i)).collect();
    // What the data covers, [from, to): its earliest to its latest time
    // over every release and sighting (an outlet that starts late is a
    // finding, not a gap in collection), cut by the filter's bounds.
    let (data_first, data_last) = obs
        .releases
        .iter()
        .map(|r| r.first_seen)
        .chain(obs.sightings.iter().map(|s| s.time))
        .fold((first, last), |(a, b), t| (a.min(t), b.max(t)));
    let covered_from = filter.from.map_or(data_first, |f| f.max(data_first));
    let covered_to = filter.to.map_or(data_last.saturating_add(1), |t| t.min(data_last.saturating_add(1)));
    let partial: Vec<bool> =
        starts.iter().map(|&s| covered_from > s || covered_to < bucket.next(s)).collect();
    let mut series: std::collections::BTreeMap<Option<String>, Vec<u64>> = std::collections::BTreeMap::new();
    for r in &kept {
        let key = key_of(obs, by, r, r.source);
        let counts = series.entry(key).or_insert_with(|| vec![0; starts.len()]);
        if let Some(&i) = index.get(&memo.start(r.first_seen)) {
            counts[i] += 1;
        }
    }
    let mut out = Vec::new();
    for (key, counts) in series {
        let mut peak = 0u64;
        for (i, &n) in counts.iter().enumerate() {
            peak = peak.max(n);
            let change_pct = i
                .checked_sub(1)
                .filter(|&p| !partial[p] && !partial[i])
                .map(|p| counts[p])
                .filter(|&p| p > 0)
                .map(|p| (n as f64 - p as f64) / p as f64 * 100.0);
            let decline = if peak == 0 { 0.0 } else { (peak - n) as f64 / peak as f64 * 100.0 };
            out.push(TrendRow {
                bucket: time(starts[i]),
                label: bucket.label(starts[i]),
                key: key.clone(),
                releases: n,
                change_pct,
                decline_from_peak_pct: decline,
                rolling_3: counts[i.saturating_sub(2)..=i].iter().sum(),
                partial: partial[i],
            });
        }
    }
    out
}

/// A silence: no release first seen between two consecutive releases.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Silence {
    /// First seen of the release before it.
    pub start: UtcTime,
    /// First seen of the release after it.
    pub end: UtcTime,
    /// Its length.
    pub hours: f64,
}

/// Every gap of at least `min_hours` between consecutive releases' first
/// seen, overall or (with `filter.outlets`) for those outlets.
pub fn silences(obs: &Observatory, filter: &Filter, min_hours: f64) -> Vec<Silence> {
    let mask = filter.mask(obs);
    let mut times: Vec<i64> =
        obs.releases.iter().enumerate().filter(|(i, _)| mask[*i]).map(|(_, r)| r.first_seen).collect();
    times.sort_unstable();
    times
        .windows(2)
        .filter_map(|w| {
            let hours = (w[1] - w[0]) as f64 / HOUR;
            (hours >= min_hours).then(|| Silence { start: time(w[0]), end: time(w[1]), hours })
        })
        .collect()
}

/// An outlet's state in [`dormancy`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OutletState {
    /// The outlet.
    pub outlet: String,
    /// First seen of its latest release before the time, if any.
    pub last_release: Option<UtcTime>,
    /// Whether none of its releases was first seen in the window.
    pub silent: bool,
}

/// Which outlets are silent at a time.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Dormancy {
    /// The time looked at.
    pub at: UtcTime,
    /// The window, in days before it.
    pub days: f64,
    /// Every registered outlet (or those filtered).
    pub outlets: Vec<OutletState>,
    /// The silent ones.
    pub silent: Vec<String>,
    /// Their share of the outlets listed.
    pub silent_share: f64,
}

/// An outlet is silent at `at` when none of its releases was first seen in
/// `[at − days, at)`.
pub fn dormancy(obs: &Observatory, filter: &Filter, at: i64, days: f64) -> Dormancy {
    let mask = filter.timeless().mask(obs);
    let window_start = at - (days * DAY as f64) as i64;
    let mut last: Vec<Option<i64>> = vec![None; obs.outlets.len()];
    let mut active = vec![false; obs.outlets.len()];
    for (i, r) in obs.releases.iter().enumerate() {
        let Some(o) = r.outlet else { continue };
        if !mask[i] || r.first_seen >= at {
            continue;
        }
        let o = o as usize;
        last[o] = Some(last[o].map_or(r.first_seen, |l: i64| l.max(r.first_seen)));
        if r.first_seen >= window_start {
            active[o] = true;
        }
    }
    let listed: Vec<usize> = (0..obs.outlets.len())
        .filter(|&o| filter.outlets.is_empty() || filter.outlets.contains(&obs.outlets[o]))
        .collect();
    let outlets: Vec<OutletState> = listed
        .iter()
        .map(|&o| OutletState {
            outlet: obs.outlets[o].clone(),
            last_release: last[o].map(time),
            silent: !active[o],
        })
        .collect();
    let silent: Vec<String> = outlets.iter().filter(|s| s.silent).map(|s| s.outlet.clone()).collect();
    let silent_share = if outlets.is_empty() { 0.0 } else { silent.len() as f64 / outlets.len() as f64 };
    Dormancy { at: time(at), days, outlets, silent, silent_share }
}

/// How much of what was seen in a window was old material.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Recycling {
    /// Sightings in the window.
    pub sightings: u64,
    /// Those whose release was first seen at least the minimum age before.
    pub recycled: u64,
    /// `recycled / sightings` (0 when there are none).
    pub share: f64,
}

/// Sightings in `[from, to)` whose release was first seen at least
/// `min_age_days × 24 h` before the sighting.
pub fn recycling(obs: &Observatory, filter: &Filter, from: i64, to: i64, min_age_days: f64) -> Recycling {
    let mask = filter.timeless().mask(obs);
    let min_age = (min_age_days * DAY as f64) as i64;
    let (mut sightings, mut recycled) = (0u64, 0u64);
    for s in &obs.sightings {
        if s.time < from || s.time >= to || !mask[s.release as usize] {
            continue;
        }
        sightings += 1;
        if obs.releases[s.release as usize].first_seen <= s.time - min_age {
            recycled += 1;
        }
    }
    let share = if sightings == 0 { 0.0 } else { recycled as f64 / sightings as f64 };
    Recycling { sightings, recycled, share }
}

/// How one release spread.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Spread {
    /// The release.
    pub id: i64,
    /// Its outlet.
    pub outlet: Option<String>,
    /// Its first sighting.
    pub first_seen: UtcTime,
    /// Its sightings.
    pub sightings: u64,
    /// The distinct sources they were in.
    pub channels: u64,
    /// Hours from the first to the second sighting.
    pub hours_to_2nd: Option<f64>,
    /// Hours from the first to the tenth sighting.
    pub hours_to_10th: Option<f64>,
}

/// Quantiles by nearest rank: the smallest value with at least that share
/// of the values at or below it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Quantiles {
    /// Number of values.
    pub count: u64,
    /// Smallest.
    pub min: Option<f64>,
    /// Median.
    pub p50: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// Largest.
    pub max: Option<f64>,
    /// Mean.
    pub mean: Option<f64>,
}

impl Quantiles {
    /// Quantiles of `values` (sorted here).
    pub fn of(mut values: Vec<f64>) -> Quantiles {
        values.sort_by(f64::total_cmp);
        let n = values.len();
        let rank = |q: f64| (n > 0).then(|| values[((q * n as f64).ceil() as usize).clamp(1, n) - 1]);
        Quantiles {
            count: n as u64,
            min: values.first().copied(),
            p50: rank(0.5),
            p90: rank(0.9),
            p99: rank(0.99),
            max: values.last().copied(),
            mean: (n > 0).then(|| values.iter().sum::<f64>() / n as f64),
        }
    }
}

/// Summary of [`amplification`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AmplificationSummary {
    /// Releases counted.
    pub releases: u64,
    /// Sightings per release.
    pub sightings: Quantiles,
    /// Distinct sources per release.
    pub channels: Quantiles,
    /// Hours to the second sighting (releases seen twice or more).
    pub hours_to_2nd: Quantiles,
    /// Hours to the tenth sighting (releases seen ten times or more).
    pub hours_to_10th: Quantiles,
}

/// [`amplification`]'s result.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Amplification {
    /// Per release, by first seen.
    pub releases: Vec<Spread>,
    /// Quantiles over them.
    pub summary: AmplificationSummary,
}

/// Per release: sightings, channels, hours to the 2nd and 10th sightings;
/// and quantiles of each.
pub fn amplification(obs: &Observatory, filter: &Filter) -> Amplification {
    let mask = filter.mask(obs);
    // Sightings grouped by release (counting sort), then by time.
    let mut start = vec![0u32; obs.releases.len() + 1];
    for s in &obs.sightings {
        start[s.release as usize + 1] += 1;
    }
    for i in 1..start.len() {
        start[i] += start[i - 1];
    }
    let mut next = start.clone();
    let mut ordered = vec![(0i64, 0u32); obs.sightings.len()];
    for s in &obs.sightings {
        let slot = &mut next[s.release as usize];
        ordered[*slot as usize] = (s.time, s.source);
        *slot += 1;
    }
    let mut spreads = Vec::new();
    for (i, r) in obs.releases.iter().enumerate() {
        if !mask[i] {
            continue;
        }
        let group = &mut ordered[start[i] as usize..start[i + 1] as usize];
        group.sort_unstable();
        let mut sources: Vec<u32> = group.iter().map(|g| g.1).collect();
        sources.sort_unstable();
        sources.dedup();
        let hours_to = |k: usize| group.get(k - 1).map(|g| (g.0 - r.first_seen) as f64 / HOUR);
        spreads.push(Spread {
            id: r.id,
            outlet: r.outlet.map(|o| obs.outlets[o as usize].clone()),
            first_seen: time(r.first_seen),
            sightings: group.len() as u64,
            channels: sources.len() as u64,
            hours_to_2nd: hours_to(2),
            hours_to_10th: hours_to(10),
        });
    }
    spreads.sort_by(|a, b| a.first_seen.cmp(&b.first_seen).then(a.id.cmp(&b.id)));
    let summary = AmplificationSummary {
        releases: spreads.len() as u64,
        sightings: Quantiles::of(spreads.iter().map(|s| s.sightings as f64).collect()),
        channels: Quantiles::of(spreads.iter().map(|s| s.channels as f64).collect()),
        hours_to_2nd: Quantiles::of(spreads.iter().filter_map(|s| s.hours_to_2nd).collect()),
        hours_to_10th: Quantiles::of(spreads.iter().filter_map(|s| s.hours_to_10th).collect()),
    };
    Amplification { releases: spreads, summary }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000_000;

    fn obs() -> Observatory {
        // Outlet 0 publishes at hours 0, 10, 50; outlet 1 at hour 12; an
        // unknown release at hour 60. Sightings: each release once at its
        // first seen, release 0 again at hours 30 and 1000.
        let rel = |id, first, outlet, format| Release {
            id,
            first_seen: first * H,
            last_seen: first * H,
            outlet,
            format,
            language: None,
            source: 0,
        };
        let releases = vec![
            rel(1, 0, Some(0), Format::Video),
            rel(2, 10, Some(0), Format::Photo),
            rel(3, 12, Some(1), Format::Text),
            rel(4, 50, Some(0), Format::Photo),
            rel(5, 60, None, Format::Photo),
        ];
        let mut sightings: Vec<Sighting> = releases
            .iter()
            .enumerate()
            .map(|(i, r)| Sighting { release: i as u32, source: 0, time: r.first_seen })
            .collect();
        sightings.push(Sighting { release: 0, source: 1, time: 30 * H });
        sightings.push(Sighting { release: 0, source: 2, time: 1000 * H });
        Observatory {
            releases,
            sightings,
            sources: vec!["telegram:1".into(), "telegram:2".into(), "telegram:3".into()],
            outlets: vec!["A".into(), "B".into(), "C".into()],
            languages: vec![],
        }
    }

    #[test]
    fn silences_are_gaps_between_first_seen() {
        let s = silences(&obs(), &Filter::default(), 20.0);
        assert_eq!(s.iter().map(|s| s.hours).collect::<Vec<_>>(), [38.0]);
        let only_a = Filter { outlets: vec!["A".into()], ..Filter::default() };
        assert_eq!(silences(&obs(), &only_a, 20.0).iter().map(|s| s.hours).collect::<Vec<_>>(), [40.0]);
        let no_text = Filter { exclude_formats: vec![Format::Text], ..Filter::default() };
        assert_eq!(silences(&obs(), &no_text, 0.0).len(), 3);
    }

    #[test]
    fn dormancy_lists_every_outlet() {
        let d = dormancy(&obs(), &Filter::default(), 55 * H, 1.0);
        assert_eq!(d.silent, ["B", "C"]);
        assert_eq!(d.outlets[0].last_release, Some(time(50 * H)));
        assert!((d.silent_share - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(d.outlets[2].last_release, None);
    }

    #[test]
    fn recycling_counts_old_material() {
        let r = recycling(&obs(), &Filter::default(), 20 * H, 2000 * H, 1.0);
        assert_eq!((r.sightings, r.recycled), (4, 2));
        assert_eq!(r.share, 0.5);
    }

    #[test]
    fn amplification_and_quantiles() {
        let a = amplification(&obs(), &Filter::default());
        assert_eq!(a.releases[0].sightings, 3);
        assert_eq!(a.releases[0].channels, 3);
        assert_eq!(a.releases[0].hours_to_2nd, Some(30.0));
        assert_eq!(a.releases[0].hours_to_10th, None);
        assert_eq!(a.summary.sightings.p50, Some(1.0));
        assert_eq!(a.summary.sightings.max, Some(3.0));
        let q = Quantiles::of(vec![5.0, 1.0, 3.0, 2.0, 4.0]);
        assert_eq!((q.p50, q.p90, q.mean), (Some(3.0), Some(5.0), Some(3.0)));
    }

    #[test]
    fn trend_fills_every_month() {
        let mut o = obs();
        o.releases[4].first_seen = 24 * 70 * H; // ten weeks later
        let t = trend(&o, &Filter::default(), Bucket::Month, false);
        assert_eq!(t.iter().map(|r| r.releases).collect::<Vec<_>>(), [4, 0, 1]);
        assert_eq!(t[1].change_pct, Some(-100.0));
        assert_eq!(t[2].change_pct, None);
        assert_eq!(t[1].decline_from_peak_pct, 100.0);
        assert_eq!(t[2].rolling_3, 5);
        // The data starts on the first month's first instant and ends in
        // the third month.
        assert_eq!(t.iter().map(|r| r.partial).collect::<Vec<_>>(), [false, false, true]);
    }

    #[test]
    fn timeline_counts_releases_and_sightings() {
        let t = timeline(&obs(), &Filter::default(), Bucket::Day, Some(By::Outlet));
        let day0: Vec<_> = t.iter().filter(|r| r.bucket == time(0)).collect();
        assert_eq!(
            day0.iter().find(|r| r.key.as_deref() == Some("A")).map(|r| (r.releases, r.sightings)),
            Some((2, 2))
        );
        assert_eq!(
            day0.iter().find(|r| r.key.as_deref() == Some("B")).map(|r| (r.releases, r.sightings)),
            Some((1, 1))
        );
        let total: u64 = t.iter().map(|r| r.sightings).sum();
        assert_eq!(total, 7);
    }
}

#[cfg(test)]
mod timeline_tests {
    use super::*;
    use proptest::prelude::*;

    /// The timeline the obvious way: a map keyed by bucket start and name.
    fn naive_timeline(
        obs: &Observatory,
        filter: &Filter,
        bucket: Bucket,
        by: Option<By>,
    ) -> Vec<TimelineRow> {
        let mask = filter.mask(obs);
        let all = filter.timeless().mask(obs);
        let mut counts: std::collections::BTreeMap<(i64, Option<String>), Counts> = Default::default();
        for (i, r) in obs.releases.iter().enumerate() {
            if mask[i] {
                counts.entry((bucket.start(r.first_seen), key_of(obs, by, r, r.source))).or_default().0 += 1;
            }
        }
        for s in &obs.sightings {
            let r = &obs.releases[s.release as usize];
            if all[s.release as usize] && filter.in_time(s.time) {
                counts.entry((bucket.start(s.time), key_of(obs, by, r, s.source))).or_default().1 += 1;
            }
        }
        counts
            .into_iter()
            .map(|((start, key), (releases, sightings))| TimelineRow {
                bucket: time(start),
                label: bucket.label(start),
                key,
                releases,
                sightings,
            })
            .collect()
    }

    fn observatory() -> impl Strategy<Value = Observatory> {
        let release = (
            0i64..400 * 24,
            proptest::option::of(0u32..3),
            0usize..6,
            proptest::option::of(0u32..2),
            0u32..4,
        );
        (
            proptest::collection::vec(release, 0..40),
            proptest::collection::vec((0usize..40, 0i64..2000, 0u32..4), 0..80),
        )
            .prop_map(|(rels, extra)| {
                let t0 = 1_700_000_000_000_000i64;
                let mut obs = Observatory {
                    outlets: vec!["b".into(), "a".into(), "c".into()],
                    sources: vec!["s:3".into(), "s:1".into(), "s:2".into(), "s:0".into()],
                    languages: vec!["ar".into(), "en".into()],
                    ..Observatory::default()
                };
                for (i, (h, outlet, format, language, source)) in rels.iter().enumerate() {
                    let first = t0 + h * HOUR_MICROS + 17;
                    obs.releases.push(Release {
                        id: i as i64,
                        first_seen: first,
                        last_seen: first,
                        outlet: *outlet,
                        format: Format::ALL[*format],
                        language: *language,
                        source: *source,
                    });
                    obs.sightings.push(Sighting { release: i as u32, source: *source, time: first });
                }
                for (r, dh, source) in extra {
                    if let Some(rel) = obs.releases.get(r) {
                        let time = rel.first_seen + dh * HOUR_MICROS;
                        obs.sightings.push(Sighting { release: r as u32, source, time });
                    }
                }
                obs
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(150))]

        #[test]
        fn timeline_equals_the_obvious_count_dense_or_sparse(
            obs in observatory(),
            bucket in 0usize..5,
            by in 0usize..5,
            official_only in any::<bool>(),
        ) {
            let bucket = [Bucket::Hour, Bucket::Day, Bucket::Week, Bucket::Month, Bucket::HijriMonth][bucket];
            let by = [None, Some(By::Outlet), Some(By::Format), Some(By::Language), Some(By::Source)][by];
            let filter = Filter { official_only, ..Filter::default() };
            let expected = naive_timeline(&obs, &filter, bucket, by);
            prop_assert_eq!(&timeline_with(&obs, &filter, bucket, by, usize::MAX), &expected);
            prop_assert_eq!(&timeline_with(&obs, &filter, bucket, by, 0), &expected);
        }
    }
}
