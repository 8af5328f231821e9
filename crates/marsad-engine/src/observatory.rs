//! Releases, the outlet registry and every analytics query: bringing the
//! releases up to date, loading the observatory, filters and times as the
//! front ends give them.

use std::collections::HashSet;
use std::path::Path;

use marsad_core::{Evidence, ReleaseFormat, ReleaseId, UtcTime};
use marsad_observe::analytics::{self, By, Filter, Observatory};
use marsad_observe::calendar::Bucket;
use marsad_observe::describe::Format;
use marsad_observe::group::GroupConfig;
use marsad_observe::update::UpdateSummary;
use marsad_store::OutletRecord;
use serde::Serialize;

use crate::Engine;
use crate::error::{EngineError, Result, StepContext, invalid};

/// A time as a person gives it: RFC 3339, or a date (midnight UTC).
pub fn parse_time(text: &str) -> Result<UtcTime> {
    if let Ok(t) = UtcTime::parse_rfc3339(text) {
        return Ok(t);
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        && let Some(dt) = d.and_hms_opt(0, 0, 0)
        && let Some(t) = UtcTime::from_unix_micros(dt.and_utc().timestamp_micros())
    {
        return Ok(t);
    }
    Err(invalid!("invalid time {text:?}: use RFC 3339 (2024-01-31T12:00:00Z) or a date (2024-01-31, UTC)"))
}

/// A period `[from, to)` as given: the end must come after the start.
pub fn check_period(from: UtcTime, to: UtcTime, from_text: &str, to_text: &str) -> Result<()> {
    if to <= from {
        return Err(invalid!(
            "--to {to_text} is not after --from {from_text}: a period runs from --from up to, not including, --to"
        ));
    }
    Ok(())
}

/// The filter every analytics query takes, as a front end gives it (flags,
/// query parameters): parsed and checked by [`FilterSpec::parse`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FilterSpec {
    /// Only releases attributed to a registered outlet.
    pub official_only: bool,
    /// Formats, comma-separated; `-text` (or `!text`) excludes.
    pub formats: Option<String>,
    /// Only these outlets (exact names).
    pub outlets: Vec<String>,
    /// Period start (RFC 3339 or a date), included.
    pub from: Option<String>,
    /// Period end, excluded.
    pub to: Option<String>,
}

impl FilterSpec {
    /// The analytics filter, or what is wrong with the spec.
    pub fn parse(&self) -> Result<Filter> {
        let mut f =
            Filter { official_only: self.official_only, outlets: self.outlets.clone(), ..Filter::default() };
        if let Some(list) = &self.formats {
            let mut include = Vec::new();
            for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let (exclude, name) = match item.strip_prefix(['-', '!']) {
                    Some(n) => (true, n),
                    None => (false, item),
                };
                let fmt = Format::parse(name).ok_or_else(|| {
                    invalid!(
                        "unknown format {name:?}: use video, photo, photo_report, audio, text or document"
                    )
                })?;
                if exclude {
                    f.exclude_formats.push(fmt);
                } else {
                    include.push(fmt);
                }
            }
            if !include.is_empty() {
                f.formats = Some(include);
            }
        }
        let from = self.from.as_deref().map(parse_time).transpose()?;
        let to = self.to.as_deref().map(parse_time).transpose()?;
        if let (Some(a), Some(b), Some(at), Some(bt)) = (from, to, &self.from, &self.to) {
            check_period(a, b, at, bt)?;
        }
        f.from = from.map(UtcTime::unix_micros);
        f.to = to.map(UtcTime::unix_micros);
        Ok(f)
    }
}

/// An `--outlet` of a filter that names no registered outlet (it selects
/// nothing: front ends say so rather than show an empty table that reads as
/// silence).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownOutlet {
    /// The name given.
    pub name: String,
    /// The registered outlets' names.
    pub known: Vec<String>,
}

impl std::fmt::Display for UnknownOutlet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let known = if self.known.is_empty() {
            "no outlet is registered (marsad outlets import FILE)".to_owned()
        } else {
            format!(
                "the outlets are {}",
                self.known.iter().map(|o| format!("{o:?}")).collect::<Vec<_>>().join(", ")
            )
        };
        write!(f, "--outlet {:?} names no outlet (names match exactly, aliases do not); {known}", self.name)
    }
}

/// The outlets of `filter` that `obs` does not know.
pub fn unknown_outlets(obs: &Observatory, filter: &Filter) -> Vec<UnknownOutlet> {
    filter
        .outlets
        .iter()
        .filter(|name| !obs.outlets.contains(name))
        .map(|name| UnknownOutlet { name: name.clone(), known: obs.outlets.clone() })
        .collect()
}

/// `marsad releases --json`: one release.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ReleaseRow {
    /// Its id.
    #[schema(value_type = i64)]
    pub id: ReleaseId,
    /// The outlet it is attributed to.
    pub outlet: Option<String>,
    /// Its earliest sighting.
    pub first_seen: String,
    /// Its latest sighting.
    pub last_seen: String,
    /// Sightings.
    pub sightings: u64,
    /// Distinct channels.
    pub channels: u64,
    /// Its format (`video`, `photo`, `photo_report`, `audio`, `text`, `document`).
    #[schema(value_type = String)]
    pub format: ReleaseFormat,
    /// Its language (ISO 639-1).
    pub language: Option<String>,
    /// Why it is attributed as it is: `{"rule": "channel" | "bank_label" | "text" | "none", …}`.
    #[schema(value_type = Object)]
    pub evidence: Evidence,
}

/// The order of a page of releases (`sort` in the API and the web UI's
/// catalogue).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReleaseOrder {
    /// Oldest first, by first seen then id: the grouping's own order.
    #[default]
    FirstSeen,
    /// Newest first, by first seen.
    Newest,
    /// Most recently seen again first, by last sighting.
    LastSeen,
    /// Most sightings first (then by first seen).
    Sightings,
}

impl ReleaseOrder {
    /// Every order, as `sort` names it.
    pub const ALL: [ReleaseOrder; 4] =
        [ReleaseOrder::FirstSeen, ReleaseOrder::Newest, ReleaseOrder::LastSeen, ReleaseOrder::Sightings];

    /// Its name: `first-seen`, `newest`, `last-seen` or `sightings`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseOrder::FirstSeen => "first-seen",
            ReleaseOrder::Newest => "newest",
            ReleaseOrder::LastSeen => "last-seen",
            ReleaseOrder::Sightings => "sightings",
        }
    }

    /// The order named `name`.
    pub fn parse(name: &str) -> Option<ReleaseOrder> {
        ReleaseOrder::ALL.into_iter().find(|o| o.as_str() == name)
    }
}

/// `marsad outlets list --json`: one outlet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct OutletRow {
    /// Other names.
    pub aliases: Vec<String>,
    /// Channels (`platform:id`).
    pub channels: Vec<String>,
    /// Unique name.
    pub name: String,
    /// Parent organisation.
    pub parent: Option<String>,
    /// Region.
    pub region: Option<String>,
}

/// `marsad outlets import --json`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct OutletsImported {
    /// Outlets in the new registry.
    pub outlets: usize,
    /// Releases attributed again.
    pub releases_attributed: u64,
}

/// The buckets `marsad analyze timeline` accepts.
pub const TIMELINE_BUCKETS: &[&str] = &["hour", "day", "week", "month", "hijri-month", "year"];
/// The buckets `marsad analyze trend` accepts.
pub const TREND_BUCKETS: &[&str] = &["month", "hijri-month", "year"];

/// A bucket name, among those `allowed`.
pub fn parse_bucket(text: &str, allowed: &[&str]) -> Result<Bucket> {
    let err = || invalid!("--bucket must be one of {}", allowed.join(", "));
    if !allowed.contains(&text) {
        return Err(err());
    }
    Bucket::parse(text).ok_or_else(err)
}

/// A `--by` of `marsad analyze timeline`.
pub fn parse_by(text: &str) -> Result<By> {
    By::parse(text).ok_or_else(|| invalid!("--by must be outlet, format, language or source"))
}

/// A non-negative, finite number given for `name`.
pub fn check_non_negative(name: &str, v: f64) -> Result<f64> {
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(invalid!("{name} must be a number of at least 0, not {v}"))
    }
}

impl Engine {
    /// Brings releases up to date, then says which state of them (and of
    /// the registry) the store holds: two equal answers mean equal
    /// releases, attributions and analyses, for a caller's cache.
    pub fn releases_state(&mut self) -> Result<i64> {
        self.update_releases()?;
        Ok(self.store().releases_generation()?)
    }

    /// Groups the posts not yet in a release and describes the releases that
    /// changed (returns at once when nothing is new).
    pub fn update_releases(&mut self) -> Result<UpdateSummary> {
        let summary = marsad_observe::update::update(self.store_mut(), &GroupConfig::default(), false)
            .step("grouping releases")?;
        if summary.new_posts > 0 {
            tracing::info!(?summary, "releases updated");
        }
        Ok(summary)
    }

    /// Describes (attributes) every release again.
    pub(crate) fn describe_all(&mut self) -> Result<UpdateSummary> {
        marsad_observe::update::update(self.store_mut(), &GroupConfig::default(), true)
            .step("describing releases")
    }

    /// Brings the releases up to date, then loads them as columns: from
    /// the cache file beside a SQLite store when current; for a store of
    /// many processes (PostgreSQL), from this process's copy when the
    /// store's releases generation is still the one it was read at.
    pub fn observatory(&mut self) -> Result<Observatory> {
        self.update_releases()?;
        match self.observatory_cache() {
            Some(cache) => {
                marsad_observe::snapshot::load(self.store(), Some(&cache)).step("loading releases")
            }
            None => shared_observatory(self.store()).step("loading releases"),
        }
    }

    /// Replaces the registry with the outlets of the TOML text `toml` (read
    /// from `file`) and attributes every release again.
    pub fn import_outlets(&mut self, file: &Path) -> Result<OutletsImported> {
        let text = std::fs::read_to_string(file).map_err(|e| EngineError::io(file.display(), e))?;
        let outlets = marsad_observe::registry::parse(&text)
            .map_err(|e| EngineError::Invalid(format!("{}: {e}", file.display())))?;
        let records: Vec<OutletRecord> = outlets
            .iter()
            .map(|o| OutletRecord {
                name: o.name.clone(),
                aliases: o.aliases.clone(),
                channels: o.channels.clone(),
                region: o.region.clone(),
                parent: o.parent.clone(),
            })
            .collect();
        self.store_mut().replace_outlets(&records)?;
        // Attribution depends on the registry: every release again.
        let s = self.describe_all()?;
        Ok(OutletsImported { outlets: records.len(), releases_attributed: s.releases_described })
    }

    /// The outlet registry, in the order it was given.
    pub fn outlets(&self) -> Result<Vec<OutletRow>> {
        Ok(self
            .store()
            .outlets()?
            .into_iter()
            .map(|o| OutletRow {
                aliases: o.aliases,
                channels: o.channels.iter().map(ToString::to_string).collect(),
                name: o.name,
                parent: o.parent,
                region: o.region,
            })
            .collect())
    }

    /// A page of the releases `filter` selects, in `order`: the `limit`
    /// after the first `offset`, with how many it selects in all. Only the
    /// page's releases are read from the store (the selection and the
    /// order are made on the observatory's columns), so a page costs the
    /// same whatever the store's size.
    pub fn releases_page(
        &self,
        obs: &Observatory,
        filter: &Filter,
        order: ReleaseOrder,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<ReleaseRow>, usize)> {
        let mask = filter.mask(obs);
        let counts = if order == ReleaseOrder::Sightings {
            let mut n = vec![0i64; obs.releases.len()];
            for s in &obs.sightings {
                if let Some(c) = n.get_mut(s.release as usize) {
                    *c += 1;
                }
            }
            n
        } else {
            Vec::new()
        };
        let mut kept: Vec<(i64, i64, i64, i64)> = obs
            .releases
            .iter()
            .enumerate()
            .zip(&mask)
            .filter(|(_, k)| **k)
            .map(|((i, r), _)| {
                let (a, b) = match order {
                    ReleaseOrder::FirstSeen => (r.first_seen, r.id),
                    ReleaseOrder::Newest => (r.first_seen.saturating_neg(), r.id.saturating_neg()),
                    ReleaseOrder::LastSeen => (r.last_seen.saturating_neg(), r.first_seen),
                    ReleaseOrder::Sightings => (counts.get(i).map_or(0, |c| -c), r.first_seen),
                };
                (a, b, r.id, r.id)
            })
            .collect();
        let total = kept.len();
        let end = offset.saturating_add(limit).min(total);
        if offset >= end {
            return Ok((Vec::new(), total));
        }
        kept.select_nth_unstable(end - 1);
        let page = &mut kept[..end];
        page.sort_unstable();
        let ids: Vec<ReleaseId> = page[offset..].iter().map(|&(.., id)| ReleaseId(id)).collect();
        let mut rows = Vec::with_capacity(ids.len());
        self.store().releases(Some(&ids), &mut |r| {
            rows.push(ReleaseRow::from(r));
            Ok(())
        })?;
        let order: std::collections::HashMap<i64, usize> =
            ids.iter().enumerate().map(|(i, id)| (id.0, i)).collect();
        rows.sort_by_key(|r| order.get(&r.id.0).copied().unwrap_or(usize::MAX));
        Ok((rows, total))
    }

    /// The releases `filter` selects, by first seen then id.
    pub fn releases(&self, obs: &Observatory, filter: &Filter) -> Result<Vec<ReleaseRow>> {
        let mask = filter.mask(obs);
        let keep: HashSet<ReleaseId> =
            obs.releases.iter().zip(&mask).filter(|(_, k)| **k).map(|(r, _)| ReleaseId(r.id)).collect();
        let mut rows = Vec::new();
        self.store().releases(None, &mut |r| {
            if keep.contains(&r.id) {
                rows.push(ReleaseRow::from(r));
            }
            Ok(())
        })?;
        Ok(rows)
    }
}

/// An analytics query, checked.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Query {
    /// Releases and sightings per bucket, optionally by a key.
    Timeline {
        /// The bucket.
        bucket: Bucket,
        /// The key.
        by: Option<By>,
    },
    /// Releases per month with changes.
    Trend {
        /// The bucket (month or Hijri month).
        bucket: Bucket,
        /// One series per outlet.
        by_outlet: bool,
    },
    /// Gaps of at least `min_hours` between releases.
    Silences {
        /// Shortest gap reported.
        min_hours: f64,
    },
    /// Which outlets were silent in the `days` before `at`.
    Dormancy {
        /// The moment.
        at: UtcTime,
        /// The window.
        days: f64,
    },
    /// Sightings in `[from, to)` of releases first seen `min_age_days` before.
    Recycling {
        /// Window start.
        from: UtcTime,
        /// Window end.
        to: UtcTime,
        /// Least age of a recycled release.
        min_age_days: f64,
    },
    /// Spread of each release.
    Amplification,
}

impl Query {
    /// `timeline --bucket B [--by K]`.
    pub fn timeline(bucket: &str, by: Option<&str>) -> Result<Query> {
        Ok(Query::Timeline {
            bucket: parse_bucket(bucket, TIMELINE_BUCKETS)?,
            by: by.map(parse_by).transpose()?,
        })
    }

    /// `trend --bucket B [--by outlet]`.
    pub fn trend(bucket: &str, by: Option<&str>) -> Result<Query> {
        let by_outlet = match by {
            None => false,
            Some("outlet") => true,
            Some(other) => return Err(invalid!("trend groups by outlet only, not {other:?}")),
        };
        Ok(Query::Trend { bucket: parse_bucket(bucket, TREND_BUCKETS)?, by_outlet })
    }

    /// `silences --min-hours H`.
    pub fn silences(min_hours: f64) -> Result<Query> {
        if !(min_hours.is_finite() && min_hours >= 0.0) {
            return Err(invalid!("--min-hours must be a non-negative number"));
        }
        Ok(Query::Silences { min_hours })
    }

    /// `dormancy --at T --days K`.
    pub fn dormancy(at: &str, days: f64) -> Result<Query> {
        if !(days.is_finite() && days > 0.0) {
            return Err(invalid!("--days must be a positive number"));
        }
        Ok(Query::Dormancy { at: parse_time(at)?, days })
    }

    /// `recycling --from T1 --to T2 --min-age-days N`.
    pub fn recycling(from: &str, to: &str, min_age_days: f64) -> Result<Query> {
        let (f, t) = (parse_time(from)?, parse_time(to)?);
        check_period(f, t, from, to)?;
        if !(min_age_days.is_finite() && min_age_days >= 0.0) {
            return Err(invalid!("--min-age-days must be a number of at least 0, not {min_age_days}"));
        }
        Ok(Query::Recycling { from: f, to: t, min_age_days })
    }

    /// Whether the query takes a period (`--from`/`--to`) in its filter.
    pub fn takes_period(&self) -> bool {
        !matches!(self, Query::Dormancy { .. } | Query::Recycling { .. })
    }
}

/// The result of a [`Query`]: each variant prints as its command's JSON.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Analysis {
    /// Timeline rows.
    Timeline(Vec<analytics::TimelineRow>),
    /// Trend rows.
    Trend(Vec<analytics::TrendRow>),
    /// Silences.
    Silences(Vec<analytics::Silence>),
    /// Dormancy at a moment.
    Dormancy(analytics::Dormancy),
    /// Recycling in a window.
    Recycling(analytics::Recycling),
    /// Amplification per release and quantiles.
    Amplification(Box<analytics::Amplification>),
}

/// The observatory last read by this process: of which store, at which
/// releases generation.
static SHARED_OBSERVATORY: std::sync::Mutex<Option<(marsad_store::StoreIdentity, i64, Observatory)>> =
    std::sync::Mutex::new(None);

/// The observatory of `store` from this process's copy when it was read
/// at the store's current releases generation, else read (and kept), all
/// in one snapshot of the store.
fn shared_observatory(store: &dyn marsad_store::Store) -> marsad_store::Result<Observatory> {
    let mut out = None;
    store.read_snapshot(&mut || {
        let (identity, generation) = (store.identity()?, store.releases_generation()?);
        let kept = SHARED_OBSERVATORY.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((i, g, obs)) = kept.as_ref()
            && *i == identity
            && *g == generation
        {
            out = Some(obs.clone());
            return Ok(());
        }
        drop(kept);
        let obs = marsad_observe::snapshot::load(store, None)?;
        *SHARED_OBSERVATORY.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((identity, generation, obs.clone()));
        out = Some(obs);
        Ok(())
    })?;
    out.ok_or_else(|| marsad_store::StoreError::Backend("the snapshot read nothing".to_owned()))
}

/// Runs `query` over `obs` with `filter`.
pub fn analyze(obs: &Observatory, filter: &Filter, query: &Query) -> Result<Analysis> {
    Ok(match *query {
        Query::Timeline { bucket, by } => Analysis::Timeline(analytics::timeline(obs, filter, bucket, by)),
        Query::Trend { bucket, by_outlet } => {
            Analysis::Trend(analytics::trend(obs, filter, bucket, by_outlet))
        }
        Query::Silences { min_hours } => Analysis::Silences(analytics::silences(obs, filter, min_hours)),
        Query::Dormancy { at, days } => {
            if obs.outlets.is_empty() {
                return Err(invalid!(
                    "no outlets registered: import a registry first (marsad outlets import FILE.toml)"
                ));
            }
            Analysis::Dormancy(analytics::dormancy(obs, filter, at.unix_micros(), days))
        }
        Query::Recycling { from, to, min_age_days } => Analysis::Recycling(analytics::recycling(
            obs,
            filter,
            from.unix_micros(),
            to.unix_micros(),
            min_age_days,
        )),
        Query::Amplification => Analysis::Amplification(Box::new(analytics::amplification(obs, filter))),
    })
}

/// A sighting of a release: its posts in one source in one second.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SightingRow {
    /// The source, `platform:id`.
    pub source: String,
    /// When (RFC 3339, UTC).
    pub posted_at: String,
    /// The first post's id.
    pub post_id: String,
    /// Posts in the sighting (an album is several).
    pub posts: u64,
}

/// A fingerprint of a media item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FingerprintRow {
    /// The signal type (`pdq`, `vpdq`, `audio`, `md5`…).
    pub signal_type: String,
    /// The value.
    pub value: String,
    /// Quality, when the signal has one.
    pub quality: Option<u8>,
    /// `pytx` for python-threatexchange's variant; absent for marsad's own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// A media item of a release's posts, with its fingerprints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MediaFingerprints {
    /// Its SHA-256 (hex).
    pub sha256: String,
    /// Its MD5 (hex).
    pub md5: String,
    /// `image`, `video`, `audio` or `document`.
    pub kind: String,
    /// Its perceptual fingerprints (PDQ, vPDQ, audio; none for a document).
    pub fingerprints: Vec<FingerprintRow>,
    /// Whether the store kept its bytes (`--retain-media`): then reviewers
    /// see its blurred preview.
    pub retained: bool,
}

/// A post of a release.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ReleasePost {
    /// The source, `platform:id`.
    pub source: String,
    /// The post's id.
    pub post_id: String,
    /// When it was posted (RFC 3339, UTC).
    pub posted_at: String,
    /// Its text.
    pub text: String,
    /// Its media items (those read), with their fingerprints.
    pub media: Vec<MediaFingerprints>,
}

/// A bank entry a release's posts or media matched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ReleaseMatch {
    /// The bank.
    pub bank: String,
    /// The entry's id.
    pub entry: i64,
    /// Its signal type.
    pub signal_type: String,
    /// Its value.
    pub value: String,
    /// Its labels.
    pub labels: std::collections::BTreeMap<String, String>,
}

/// One release in full (`GET /api/v1/releases/{id}`): its row (with the
/// attribution evidence), sightings, posts with their media fingerprints,
/// and the bank entries it matched.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ReleaseDetail {
    /// The release, as listed.
    pub release: ReleaseRow,
    /// Its sightings, by time.
    pub sightings: Vec<SightingRow>,
    /// Its posts, by time.
    pub posts: Vec<ReleasePost>,
    /// The bank entries its posts and media matched.
    pub matches: Vec<ReleaseMatch>,
    /// The links that joined its posts, found again by the grouping's rules
    /// (a spanning forest in time order, over its first 400 posts).
    pub links: Vec<ReleaseLink>,
}

/// Two posts of a release and what links them.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ReleaseLink {
    /// The earlier post.
    pub from: LinkedPost,
    /// The later post, joined through the earlier one.
    pub to: LinkedPost,
    /// `album`, `same_media`, `pdq`, `vpdq`, `audio` or `text`.
    pub rule: String,
    /// What it saw, in words (a distance, a share, a similarity).
    pub detail: String,
}

/// A post named by a [`ReleaseLink`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LinkedPost {
    /// Its source, `platform:id`.
    pub source: String,
    /// Its id in the source.
    pub post_id: String,
}

/// A release's post as the link rules see it (marsad's own fingerprints,
/// not python-threatexchange's variants; one that does not parse is left
/// out: the store validated what it wrote).
fn link_post(p: &ReleasePost, second: i64) -> marsad_observe::explain::LinkPost {
    use marsad_observe::group::MediaFeature;
    let media = p
        .media
        .iter()
        .map(|m| {
            let mut f = MediaFeature {
                sha256: marsad_core::Sha256::from_hex(&m.sha256).ok(),
                ..MediaFeature::default()
            };
            for fp in m.fingerprints.iter().filter(|f| f.variant.is_none()) {
                match fp.signal_type.as_str() {
                    "pdq" => {
                        f.pdq = marsad_hash::pdq::PdqHash::from_hex(&fp.value)
                            .ok()
                            .map(|h| (h, fp.quality.unwrap_or(0)));
                    }
                    "vpdq" => f.vpdq = marsad_hash::vpdq::parse_signal(&fp.value).ok(),
                    "audio" => f.audio = marsad_hash::audio::parse_raw_text(&fp.value).ok(),
                    _ => {}
                }
            }
            f
        })
        .collect();
    marsad_observe::explain::LinkPost { source: p.source.clone(), second, text: p.text.clone(), media }
}

impl Engine {
    /// The release `id` in full, after bringing releases up to date;
    /// [`EngineError::NotFound`] when there is none.
    pub fn release(&mut self, id: ReleaseId) -> Result<ReleaseDetail> {
        self.update_releases()?;
        let store = self.store();
        let mut found = None;
        store.releases(Some(&[id]), &mut |r| {
            found = Some(r);
            Ok(())
        })?;
        let release =
            ReleaseRow::from(found.ok_or_else(|| EngineError::NotFound(format!("no release {id}")))?);
        let mut sightings = Vec::new();
        store.sightings(Some(&[id]), &mut |s| {
            sightings.push(SightingRow {
                source: s.source.to_string(),
                posted_at: s.posted_at.to_rfc3339(),
                post_id: s.post_id,
                posts: s.posts,
            });
            Ok(())
        })?;
        let mut members = Vec::new();
        store.release_members(Some(&[id]), &mut |m| {
            members.push(m);
            Ok(())
        })?;
        let mut posts = Vec::with_capacity(members.len());
        let mut seconds = Vec::with_capacity(members.len());
        for m in members {
            seconds.push(marsad_store::sighting::sighting_second(m.posted_at));
            let mut media = Vec::new();
            if let Some(p) = store.post(&m.source, &m.platform_post_id)? {
                for sha in p.media.iter().filter_map(|r| r.sha256) {
                    if let Some(item) = store.media(&sha)? {
                        media.push(MediaFingerprints {
                            retained: item.retained_path.is_some(),
                            sha256: sha.to_hex(),
                            md5: item.md5.to_hex(),
                            kind: item.kind.as_str().to_owned(),
                            fingerprints: item
                                .fingerprints
                                .iter()
                                .map(|f| FingerprintRow {
                                    signal_type: f.signal_type.as_str().to_owned(),
                                    value: f.value.clone(),
                                    quality: f.quality,
                                    variant: f.variant.map(|v| v.as_str().to_owned()),
                                })
                                .collect(),
                        });
                    }
                }
            }
            posts.push(ReleasePost {
                source: m.source.to_string(),
                post_id: m.platform_post_id,
                posted_at: m.posted_at.to_rfc3339(),
                text: m.text,
                media,
            });
        }
        let matches = store
            .release_matches(Some(&[id]))?
            .into_iter()
            .map(|(_, e)| ReleaseMatch {
                bank: e.bank,
                entry: e.id.0,
                signal_type: e.signal_type.as_str().to_owned(),
                value: e.value,
                labels: e.labels,
            })
            .collect();
        let linked: Vec<_> = posts.iter().zip(&seconds).map(|(p, &s)| link_post(p, s)).collect();
        let links = marsad_observe::explain::links(&GroupConfig::default(), &linked)
            .into_iter()
            .map(|l| ReleaseLink {
                from: LinkedPost {
                    source: posts[l.from].source.clone(),
                    post_id: posts[l.from].post_id.clone(),
                },
                to: LinkedPost { source: posts[l.to].source.clone(), post_id: posts[l.to].post_id.clone() },
                rule: l.rule.name().to_owned(),
                detail: l.rule.detail(),
            })
            .collect();
        Ok(ReleaseDetail { release, sightings, posts, matches, links })
    }
}

impl From<marsad_store::ReleaseRecord> for ReleaseRow {
    fn from(r: marsad_store::ReleaseRecord) -> Self {
        ReleaseRow {
            id: r.id,
            outlet: r.outlet,
            first_seen: r.first_seen.to_rfc3339(),
            last_seen: r.last_seen.to_rfc3339(),
            sightings: r.sightings,
            channels: r.channels,
            format: r.format,
            language: r.language,
            evidence: r.evidence,
        }
    }
}
