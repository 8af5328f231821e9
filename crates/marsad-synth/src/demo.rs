//! The demo corpus. Three phases:
//! 1. planning, sequential, from one seeded RNG: the schedule of releases,
//!    their captions and media specs, the reposts, every message and its id,
//!    and the truth;
//! 2. media generation in parallel, each job from its own seed;
//! 3. writing the exports, the registry and the truth.

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::catalog::{
    MEMBER_ID_BASE, MEMBERS, OUTLET_ID_BASE, OUTLETS, POSTING_MEMBERS, SUPPORTER_ID_BASE, SUPPORTERS, Stop,
    outlets_toml,
};
use crate::clock::{DAY, HOUR, MINUTE, Stamp};
use crate::media::{self, AudioJob, AudioSpec, AudioVariant, BytesJob, ImageJob, ImageSpec, Variant};
use crate::telegram::{
    Account, AccountChats, Action, Body, Chat, ChatKind, Media, MediaPath, Message, Post, RichText,
    write_document,
};
use crate::text::{self, CaptionStyle, Lang};
use crate::truth::{
    Dormancy, QuietPeriod, ReleaseFormat, Sighting, SightingKind, Totals, Truth, TruthChannel, TruthOutlet,
    TruthRelease,
};
use crate::{DemoConfig, DemoCorpus};

/// Longest silence of all chats together allowed outside the planted one.
const MAX_GAP: i64 = 20 * HOUR;
/// The planted silence is tightened to at most this much on either side.
const QUIET_MARGIN: i64 = 6 * HOUR;
/// Reposts at least this late recycle old material.
const RECYCLE_AFTER: i64 = 60 * DAY;

pub(crate) fn generate(out_dir: &Path, cfg: &DemoConfig) -> io::Result<DemoCorpus> {
    validate(cfg)?;
    ensure_empty(out_dir)?;
    let plan = plan(cfg, out_dir);
    for dir in &plan.dirs {
        fs::create_dir_all(dir)?;
    }
    plan.jobs.images.par_iter().try_for_each(ImageJob::run)?;
    plan.jobs.audio.par_iter().try_for_each(AudioJob::run)?;
    plan.jobs.files.par_iter().try_for_each(BytesJob::run)?;

    let mut exports = Vec::new();
    for (path, chat) in &plan.outlet_chats {
        write_json(path, chat)?;
        exports.push(path.clone());
    }
    let account = Account {
        about: "Synthetic Telegram Desktop export made by marsad-synth: every chat, person and message is fictional.",
        chats: AccountChats {
            about: "This page lists all chats from this export.",
            list: &plan.account_chats,
        },
    };
    write_json(&plan.account_path, &account)?;
    exports.push(plan.account_path.clone());

    let outlets_toml_path = out_dir.join("outlets.toml");
    fs::write(&outlets_toml_path, outlets_toml())?;
    let truth_json = out_dir.join("truth.json");
    let mut w = BufWriter::new(fs::File::create(&truth_json)?);
    serde_json::to_writer_pretty(&mut w, &plan.truth)?;
    w.write_all(b"\n")?;
    w.flush()?;

    Ok(DemoCorpus { exports, outlets_toml: outlets_toml_path, truth_json, truth: plan.truth })
}

/// The truth [`generate`] would plant, without writing anything.
pub(crate) fn truth(cfg: &DemoConfig) -> io::Result<Truth> {
    validate(cfg)?;
    Ok(plan(cfg, Path::new("")).truth)
}

fn validate(cfg: &DemoConfig) -> io::Result<()> {
    let invalid = |msg: &str| Err(io::Error::new(io::ErrorKind::InvalidInput, msg.to_owned()));
    if !(7..=3_660).contains(&cfg.days) {
        return invalid("demo window must be 7 to 3660 days long");
    }
    if !(cfg.scale.is_finite() && cfg.scale > 0.0 && cfg.scale <= 20.0) {
        return invalid("demo scale must be above 0 and at most 20");
    }
    if cfg.utc_offset_secs.abs() > 14 * 3_600 {
        return invalid("utc offset must be within ±14 hours");
    }
    Ok(())
}

/// The corpus is written only into a missing or empty folder, so that no
/// stale file from an earlier corpus can mix into this one.
fn ensure_empty(dir: &Path) -> io::Result<()> {
    match fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("output folder {} is not empty", dir.display()),
                ));
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => fs::create_dir_all(dir),
        Err(e) => Err(e),
    }
}

fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> io::Result<()> {
    let mut w = BufWriter::new(fs::File::create(path)?);
    write_document(&mut w, value)?;
    w.flush()
}

/// Everything decided before any byte is written.
struct Plan {
    outlet_chats: Vec<(PathBuf, Chat)>,
    account_path: PathBuf,
    account_chats: Vec<Chat>,
    jobs: Jobs,
    dirs: BTreeSet<PathBuf>,
    truth: Truth,
}

/// Media to generate: each job makes one original and all its copies.
#[derive(Debug, Default)]
struct Jobs {
    images: Vec<ImageJob>,
    audio: Vec<AudioJob>,
    files: Vec<BytesJob>,
}

/// The time frame: window, planted silence, exporting machine's offset.
#[derive(Clone, Copy, Debug)]
struct Window {
    start: i64,
    end: i64,
    quiet_start: i64,
    quiet_end: i64,
    offset: i32,
}

impl Window {
    /// The window of `cfg`, with a silence of 32 to 40 hours planted
    /// somewhere in its middle.
    fn new<R: Rng>(rng: &mut R, cfg: &DemoConfig) -> Window {
        let start = cfg.start_unix;
        let span = i64::from(cfg.days) * DAY;
        let quiet_start = start + (span as f64 * rng.random_range(0.45..0.6)) as i64;
        let quiet_end = quiet_start + rng.random_range(32 * HOUR..40 * HOUR);
        Window { start, end: start + span, quiet_start, quiet_end, offset: cfg.utc_offset_secs }
    }

    /// When each outlet stops publishing for good, if it does.
    fn stops(&self) -> Vec<Option<i64>> {
        let span = self.end - self.start;
        OUTLETS
            .iter()
            .map(|o| match o.stop {
                Stop::Never => None,
                Stop::AtFraction(f) => Some(self.start + (span as f64 * f) as i64),
                Stop::DaysBeforeEnd(d) => Some((self.end - d * DAY).max(self.start + span / 2)),
            })
            .collect()
    }

    fn in_quiet(&self, t: i64) -> bool {
        (self.quiet_start..self.quiet_end).contains(&t)
    }

    /// Where a post at `t` may go: moved past the silence if it falls in
    /// it, dropped if it falls after the window.
    fn place<R: Rng>(&self, rng: &mut R, t: i64) -> Option<i64> {
        let t = if self.in_quiet(t) { self.quiet_end + rng.random_range(10 * MINUTE..8 * HOUR) } else { t };
        (t < self.end).then_some(t)
    }

    /// Whether a follow-up event (edit, pin) may happen at `t`.
    fn allows(&self, t: i64) -> bool {
        t < self.end && !self.in_quiet(t)
    }

    fn stamp(&self, t: i64) -> Stamp {
        Stamp::new(t, self.offset)
    }
}

/// A scheduled release before it gets content.
#[derive(Clone, Copy, Debug)]
struct Draft {
    outlet: usize,
    time: i64,
    format: ReleaseFormat,
}

#[derive(Debug)]
struct Release {
    /// 1-based release number, in order of first appearance.
    number: usize,
    outlet: usize,
    time: i64,
    format: ReleaseFormat,
    lang: Lang,
    caption: RichText,
    media: ReleaseMedia,
    sightings: Vec<SightingPlan>,
}

#[derive(Debug)]
enum ReleaseMedia {
    None,
    /// Indices into the image jobs.
    Images(Vec<usize>),
    Document {
        file_name: String,
        job: usize,
    },
    Audio {
        job: usize,
    },
}

impl ReleaseMedia {
    fn n_items(&self) -> usize {
        match self {
            ReleaseMedia::None => 0,
            ReleaseMedia::Images(jobs) => jobs.len(),
            ReleaseMedia::Document { .. } | ReleaseMedia::Audio { .. } => 1,
        }
    }
}

#[derive(Debug)]
struct SightingPlan {
    /// Outlet chats first, then supporter chats.
    chat: usize,
    time: i64,
    kind: SightingKind,
    caption: RichText,
    /// Images sent uncompressed, as PNG documents.
    png: bool,
    image_variants: Vec<Option<Variant>>,
    audio_variant: Option<AudioVariant>,
    /// Per media item: written as "(File not included…)".
    missing: Vec<bool>,
    edited: Option<i64>,
    reply: bool,
    /// Posting member, in the supergroup.
    member: usize,
}

#[derive(Clone, Copy, Debug)]
enum EntryKind {
    Sighting { release: usize, sighting: usize },
    Pin,
    Join { member: usize },
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    time: i64,
    kind: EntryKind,
}

fn plan(cfg: &DemoConfig, out_dir: &Path) -> Plan {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let window = Window::new(&mut rng, cfg);
    let stops = window.stops();
    let drafts = schedule(&mut rng, cfg, &window, &stops);
    let mut jobs = Jobs::default();
    let mut releases: Vec<Release> = {
        let mut distinct = Distinct::default();
        drafts
            .iter()
            .enumerate()
            .map(|(i, d)| content(&mut rng, d, i + 1, &window, &mut jobs, &mut distinct))
            .collect()
    };
    add_reposts(&mut rng, &mut releases, &window, &jobs.images);
    for r in &mut releases {
        r.sightings.sort_by_key(|s| (s.time, s.chat));
    }
    let mut entries = chat_entries(&mut rng, &releases, &window, &stops, cfg.days);

    let mut builder = Builder {
        rng: &mut rng,
        window,
        releases: &releases,
        jobs: &mut jobs,
        dirs: BTreeSet::new(),
        ids: releases.iter().map(|r| vec![Vec::new(); r.sightings.len()]).collect(),
        totals: Totals::default(),
    };
    let exports = out_dir.join("exports");
    let mut outlet_chats = Vec::new();
    for (o, def) in OUTLETS.iter().enumerate() {
        let root = exports.join(def.slug);
        let meta = ChatMeta {
            name: def.name,
            kind: ChatKind::PublicChannel,
            id: chat_id(o),
            root: root.clone(),
            prefix: String::new(),
        };
        let chat = builder.build(&meta, &mut entries[o]);
        outlet_chats.push((root.join("result.json"), chat));
    }
    let account_root = exports.join("account");
    let mut account_chats = Vec::new();
    for (i, def) in SUPPORTERS.iter().enumerate() {
        let meta = ChatMeta {
            name: def.name,
            kind: def.kind,
            id: chat_id(OUTLETS.len() + i),
            root: account_root.clone(),
            prefix: format!("chats/chat_{:03}/", i + 1),
        };
        account_chats.push(builder.build(&meta, &mut entries[OUTLETS.len() + i]));
    }
    let Builder { ids, totals, mut dirs, .. } = builder;
    dirs.insert(account_root.clone());

    let times: Vec<i64> = outlet_chats
        .iter()
        .map(|(_, c)| c)
        .chain(&account_chats)
        .flat_map(|c| c.messages.iter().map(|m| m.date.unix))
        .collect();
    let quiet_period = QuietPeriod {
        start_unix: times
            .iter()
            .copied()
            .filter(|&t| t < window.quiet_start)
            .max()
            .unwrap_or(window.quiet_start),
        end_unix: times.iter().copied().filter(|&t| t >= window.quiet_end).min().unwrap_or(window.quiet_end),
    };
    let truth = Truth {
        seed: cfg.seed,
        start_unix: window.start,
        end_unix: window.end,
        utc_offset_secs: cfg.utc_offset_secs,
        outlets: OUTLETS
            .iter()
            .enumerate()
            .map(|(o, def)| TruthOutlet {
                name: def.name.to_owned(),
                aliases: def.aliases.iter().map(|&a| a.to_owned()).collect(),
                region: def.region.to_owned(),
                channel_ids: vec![chat_id(o)],
                export: format!("exports/{}", def.slug),
            })
            .collect(),
        supporters: SUPPORTERS
            .iter()
            .enumerate()
            .map(|(i, s)| TruthChannel {
                name: s.name.to_owned(),
                id: chat_id(OUTLETS.len() + i),
                kind: s.kind.as_str().to_owned(),
            })
            .collect(),
        releases: releases.iter().zip(ids).map(|(r, ids)| truth_release(r, ids)).collect(),
        quiet_period,
        dormant: OUTLETS
            .iter()
            .enumerate()
            .filter(|(o, _)| stops[*o].is_some())
            .map(|(o, def)| Dormancy {
                outlet: def.name.to_owned(),
                last_release_unix: releases
                    .iter()
                    .filter(|r| r.outlet == o)
                    .map(|r| r.time)
                    .max()
                    .unwrap_or(window.start),
            })
            .collect(),
        totals,
    };
    Plan { outlet_chats, account_path: account_root.join("result.json"), account_chats, jobs, dirs, truth }
}

/// A release as the truth records it; `ids` are the message ids of each
/// sighting.
fn truth_release(r: &Release, ids: Vec<Vec<i64>>) -> TruthRelease {
    TruthRelease {
        id: r.number as u32,
        outlet: OUTLETS[r.outlet].name.to_owned(),
        format: r.format,
        first_seen: r.time,
        language: r.lang.code().to_owned(),
        sightings: r
            .sightings
            .iter()
            .zip(ids)
            .map(|(s, message_ids)| Sighting {
                channel_id: chat_id(s.chat),
                message_ids,
                posted_unix: s.time,
                kind: s.kind,
                missing_media: s.missing.iter().filter(|&&m| m).count() as u32,
            })
            .collect(),
    }
}

/// What each chat will contain, in no particular order: sightings, pins
/// shortly after some of them, members joining the supergroup.
fn chat_entries<R: Rng>(
    rng: &mut R,
    releases: &[Release],
    window: &Window,
    stops: &[Option<i64>],
    days: u32,
) -> Vec<Vec<Entry>> {
    let mut entries: Vec<Vec<Entry>> = vec![Vec::new(); OUTLETS.len() + SUPPORTERS.len()];
    for (ri, r) in releases.iter().enumerate() {
        for (si, s) in r.sightings.iter().enumerate() {
            let sighting = EntryKind::Sighting { release: ri, sighting: si };
            entries[s.chat].push(Entry { time: s.time, kind: sighting });
            let p_pin = if s.kind == SightingKind::Original { 0.03 } else { 0.015 };
            if rng.random_bool(p_pin) {
                let t = s.time + rng.random_range(MINUTE..30 * MINUTE);
                // A stopped outlet's channel stays entirely silent.
                let stopped = stops.get(s.chat).copied().flatten().is_some_and(|stop| t >= stop);
                if window.allows(t) && !stopped {
                    entries[s.chat].push(Entry { time: t, kind: EntryKind::Pin });
                }
            }
        }
    }
    for (i, s) in SUPPORTERS.iter().enumerate() {
        if s.kind != ChatKind::PublicSupergroup {
            continue;
        }
        for _ in 0..(days / 6).max(1) {
            let t = rng.random_range(window.start..window.end);
            if !window.in_quiet(t) {
                let member = rng.random_range(POSTING_MEMBERS..MEMBERS.len());
                entries[OUTLETS.len() + i].push(Entry { time: t, kind: EntryKind::Join { member } });
            }
        }
    }
    entries
}

fn chat_id(chat: usize) -> i64 {
    if chat < OUTLETS.len() {
        OUTLET_ID_BASE + chat as i64
    } else {
        SUPPORTER_ID_BASE + (chat - OUTLETS.len()) as i64
    }
}

/// Release times and formats: each outlet at its own bursty daily rate,
/// nothing in the planted silence or after the outlet's stop, then gaps in
/// the overall activity filled so that the planted silence is the only
/// long one.
fn schedule<R: Rng>(rng: &mut R, cfg: &DemoConfig, w: &Window, stops: &[Option<i64>]) -> Vec<Draft> {
    let mut drafts = Vec::new();
    for (o, def) in OUTLETS.iter().enumerate() {
        let limit = stops[o].unwrap_or(w.end);
        let before = drafts.len();
        for day in 0..i64::from(cfg.days) {
            let burst =
                if rng.random_bool(0.08) { rng.random_range(2.5..5.0) } else { rng.random_range(0.4..1.3) };
            let n = poisson(rng, def.rate * f64::from(cfg.scale) * burst).min(8);
            // Outlets post in local daytime.
            let local_midnight = w.start + day * DAY - i64::from(w.offset);
            for _ in 0..n {
                let t = local_midnight + rng.random_range(7 * HOUR..23 * HOUR + 30 * MINUTE);
                if t >= w.start && t < limit && !w.in_quiet(t) {
                    drafts.push(Draft { outlet: o, time: t, format: random_format(rng) });
                }
            }
        }
        if drafts.len() == before {
            let t = rng.random_range(w.start..limit.min(w.quiet_start));
            drafts.push(Draft { outlet: o, time: t, format: random_format(rng) });
        }
    }

    let add = |rng: &mut R, drafts: &mut Vec<Draft>, t: i64| {
        let active: Vec<usize> = (0..OUTLETS.len()).filter(|&o| stops[o].is_none_or(|s| t < s)).collect();
        let outlet = active.choose(rng).copied().unwrap_or(0);
        drafts.push(Draft { outlet, time: t, format: random_format(rng) });
    };
    let last_before = drafts.iter().map(|d| d.time).filter(|&t| t < w.quiet_start).max();
    if last_before.is_none_or(|t| w.quiet_start - t > QUIET_MARGIN) {
        let t = w.quiet_start - rng.random_range(HOUR..5 * HOUR);
        add(rng, &mut drafts, t);
    }
    let first_after = drafts.iter().map(|d| d.time).filter(|&t| t >= w.quiet_end).min();
    if first_after.is_none_or(|t| t - w.quiet_end > QUIET_MARGIN) {
        let t = w.quiet_end + rng.random_range(30 * MINUTE..5 * HOUR);
        add(rng, &mut drafts, t);
    }
    loop {
        let mut times: Vec<i64> = drafts.iter().map(|d| d.time).collect();
        times.sort_unstable();
        let gap =
            times.windows(2).find(|p| p[1] - p[0] > MAX_GAP && !(p[0] < w.quiet_end && p[1] > w.quiet_start));
        let Some(&[a, b]) = gap else { break };
        let t = a + ((b - a) as f64 * rng.random_range(0.35..0.65)) as i64;
        add(rng, &mut drafts, t);
    }
    drafts.sort_by_key(|d| (d.time, d.outlet));
    drafts
}

/// A Poisson-distributed count (Knuth's method; `mean` is small).
fn poisson<R: Rng>(rng: &mut R, mean: f64) -> u32 {
    let limit = (-mean).exp();
    let mut product: f64 = rng.random();
    let mut k = 0;
    while product > limit && k < 64 {
        product *= rng.random::<f64>();
        k += 1;
    }
    k
}

fn random_format<R: Rng>(rng: &mut R) -> ReleaseFormat {
    const WEIGHTS: [(ReleaseFormat, u32); 5] = [
        (ReleaseFormat::Photo, 30),
        (ReleaseFormat::PhotoReport, 10),
        (ReleaseFormat::Text, 36),
        (ReleaseFormat::Document, 14),
        (ReleaseFormat::Audio, 10),
    ];
    weighted(rng, &WEIGHTS).unwrap_or(ReleaseFormat::Text)
}

/// An image side between 320 and 800 pixels, mostly near the low end
/// (as channel photos are, and to keep the demo fast to encode).
fn side<R: Rng>(rng: &mut R) -> u32 {
    let u: f64 = rng.random();
    320 + (480.0 * u * u).round() as u32
}

fn weighted<R: Rng, T: Copy>(rng: &mut R, items: &[(T, u32)]) -> Option<T> {
    items.choose_weighted(rng, |(_, w)| *w).ok().map(|(t, _)| *t)
}

/// What the planted truth needs to stay unambiguous: two different releases
/// must not look alike by the observatory's own rules, or the truth could
/// not be recovered from the exports. Captions are kept well under the
/// near-duplicate threshold (Jaccard 0.8 of character 4-grams) from every
/// earlier caption, images well over PDQ's 31 bits from every earlier
/// image, so that re-encoded copies stay closer to their own original than
/// to anything else.
#[derive(Default)]
pub(crate) struct Distinct {
    captions: Vec<Vec<u64>>,
    images: Vec<marsad_hash::pdq::PdqHash>,
}

/// Largest Jaccard similarity allowed between two releases' captions.
const MAX_CAPTION_JACCARD: f64 = 0.5;
/// Least PDQ distance between two releases' images.
const MIN_IMAGE_DISTANCE: u32 = 72;
/// Draws tried before accepting what comes.
const DISTINCT_TRIES: usize = 40;

impl Distinct {
    fn caption_ok(&self, shingles: &[u64]) -> bool {
        self.captions.iter().all(|c| marsad_hash::text::jaccard(c, shingles) <= MAX_CAPTION_JACCARD)
    }

    fn image_ok(&self, h: &marsad_hash::pdq::PdqHash) -> bool {
        self.images.iter().all(|i| i.hamming(h) >= MIN_IMAGE_DISTANCE)
    }
}

/// Caption, media specs and the outlet's own sighting of release `number`.
fn content<R: Rng>(
    rng: &mut R,
    d: &Draft,
    number: usize,
    w: &Window,
    jobs: &mut Jobs,
    distinct: &mut Distinct,
) -> Release {
    let def = &OUTLETS[d.outlet];
    let lang = weighted(rng, def.langs).unwrap_or(Lang::Ar);
    let alias = if lang == Lang::Ar { def.aliases[0] } else { def.name };
    let style = CaptionStyle { lang, alias, slug: def.slug, number: number as u32 };
    let max_chars = match d.format {
        ReleaseFormat::Text => 400,
        ReleaseFormat::PhotoReport => 300,
        _ => 220,
    };
    let mut caption = text::caption(rng, &style, max_chars);
    for _ in 0..DISTINCT_TRIES {
        let sh = marsad_hash::text::shingles(&marsad_hash::text::normalize(&caption.to_plain_string()));
        if distinct.caption_ok(&sh) {
            break;
        }
        caption = text::caption(rng, &style, max_chars);
    }
    distinct
        .captions
        .push(marsad_hash::text::shingles(&marsad_hash::text::normalize(&caption.to_plain_string())));
    if lang == Lang::Ar && rng.random_bool(0.15) {
        // Some outlets write with harakat or stretched words.
        if rng.random_bool(0.5) {
            let rate = rng.random_range(0.1..0.4);
            caption.map_text(|s| text::add_diacritics(rng, s, rate));
        } else {
            caption.map_text(|s| text::add_tatweel(rng, s, 2));
        }
    }
    let media = match d.format {
        ReleaseFormat::Photo | ReleaseFormat::PhotoReport => {
            let n = if d.format == ReleaseFormat::Photo { 1 } else { rng.random_range(3..=5) };
            let indices = (0..n)
                .map(|_| {
                    let mut spec = ImageSpec {
                        seed: rng.random(),
                        width: side(rng),
                        height: side(rng),
                        brand: def.brand,
                        quality: rng.random_range(85..=95),
                    };
                    for _ in 0..DISTINCT_TRIES {
                        let img = media::render(&spec);
                        let h = marsad_hash::pdq::hash_rgb(
                            img.width() as usize,
                            img.height() as usize,
                            img.as_raw(),
                        )
                        .hash;
                        if distinct.image_ok(&h) {
                            distinct.images.push(h);
                            break;
                        }
                        spec.seed = rng.random();
                    }
                    jobs.images.push(ImageJob { spec, outputs: Vec::new() });
                    jobs.images.len() - 1
                })
                .collect();
            ReleaseMedia::Images(indices)
        }
        ReleaseFormat::Document => {
            let title = format!("{} - Bulletin No. {number}", def.name);
            let lines: Vec<String> = (0..rng.random_range(3..=7))
                .map(|_| {
                    let mut s = String::new();
                    text::sentence(rng, Lang::En, &mut s);
                    s
                })
                .collect();
            jobs.files.push(BytesJob { bytes: media::pdf(&title, &lines), paths: Vec::new() });
            ReleaseMedia::Document {
                file_name: format!("{}-{number:04}.pdf", def.slug),
                job: jobs.files.len() - 1,
            }
        }
        ReleaseFormat::Audio => {
            jobs.audio.push(AudioJob {
                spec: AudioSpec { seed: rng.random(), seconds: rng.random_range(12..=30) },
                outputs: Vec::new(),
            });
            ReleaseMedia::Audio { job: jobs.audio.len() - 1 }
        }
        ReleaseFormat::Text | ReleaseFormat::Video => ReleaseMedia::None,
    };
    let n_items = media.n_items();
    let p_missing = if matches!(media, ReleaseMedia::Images(_)) { 0.01 } else { 0.1 };
    let original = SightingPlan {
        chat: d.outlet,
        time: d.time,
        kind: SightingKind::Original,
        caption: caption.clone(),
        png: false,
        image_variants: vec![None; if let ReleaseMedia::Images(j) = &media { j.len() } else { 0 }],
        audio_variant: None,
        missing: (0..n_items).map(|_| rng.random_bool(p_missing)).collect(),
        edited: Some(d.time + rng.random_range(2 * MINUTE..40 * MINUTE))
            .filter(|&t| rng.random_bool(0.06) && w.allows(t)),
        reply: d.format == ReleaseFormat::Text && rng.random_bool(0.15),
        member: 0,
    };
    Release {
        number,
        outlet: d.outlet,
        time: d.time,
        format: d.format,
        lang,
        caption,
        media,
        sightings: vec![original],
    }
}

/// Supporters repost releases of the outlets they follow: most within
/// hours, some days or weeks later, a few old releases recycled two months
/// or more after they first appeared, and (in windows over a year) a few a
/// year or more later.
fn add_reposts<R: Rng>(rng: &mut R, releases: &mut [Release], w: &Window, images: &[ImageJob]) {
    let mut n_recycled = 0;
    for r in releases.iter_mut() {
        for (i, s) in SUPPORTERS.iter().enumerate() {
            if !s.follows.contains(&r.outlet) {
                continue;
            }
            let p = if r.format == ReleaseFormat::Text { s.repost * 0.6 } else { s.repost };
            if rng.random_bool(p) {
                let delay = match rng.random_range(0..100) {
                    0..55 => rng.random_range(5 * MINUTE..6 * HOUR),
                    55..85 => rng.random_range(6 * HOUR..10 * DAY),
                    _ => rng.random_range(10 * DAY..50 * DAY),
                };
                push_repost(rng, r, i, r.time + delay, w, images);
            }
            if r.time + RECYCLE_AFTER < w.end && rng.random_bool(0.03) {
                let t = rng.random_range(r.time + RECYCLE_AFTER..w.end);
                n_recycled += usize::from(push_repost(rng, r, i, t, w, images));
            }
        }
    }
    // Make sure recycling shows whenever the window is long enough for it.
    let old: Vec<usize> =
        (0..releases.len()).filter(|&i| releases[i].time + RECYCLE_AFTER + DAY < w.end).collect();
    let mut tries = 0;
    while n_recycled < 3 && !old.is_empty() && tries < 100 {
        tries += 1;
        let Some(&ri) = old.choose(rng) else { break };
        let r = &mut releases[ri];
        let t = rng.random_range(r.time + RECYCLE_AFTER..w.end);
        let supporter = rng.random_range(0..SUPPORTERS.len());
        n_recycled += usize::from(push_repost(rng, r, supporter, t, w, images));
    }
    // And when the window is longer than a year, old releases come back a
    // year or more later: the "golden age" material supporters recirculate.
    let year_old: Vec<usize> =
        (0..releases.len()).filter(|&i| releases[i].time + YEAR + 7 * DAY < w.end).collect();
    let (mut n_year, mut tries) = (0, 0);
    while n_year < 5 && !year_old.is_empty() && tries < 100 {
        tries += 1;
        let Some(&ri) = year_old.choose(rng) else { break };
        let r = &mut releases[ri];
        let t = rng.random_range(r.time + YEAR..w.end);
        let supporter = rng.random_range(0..SUPPORTERS.len());
        n_year += usize::from(push_repost(rng, r, supporter, t, w, images));
    }
}

/// A year.
const YEAR: i64 = 365 * DAY;

/// Adds one supporter sighting at about `t`; false if it fell outside the
/// window.
fn push_repost<R: Rng>(
    rng: &mut R,
    r: &mut Release,
    supporter: usize,
    t: i64,
    w: &Window,
    images: &[ImageJob],
) -> bool {
    let Some(time) = w.place(rng, t) else {
        return false;
    };
    let def = &SUPPORTERS[supporter];
    let forward = rng.random_bool(def.forward_share);
    let image_jobs: &[usize] = if let ReleaseMedia::Images(j) = &r.media { j } else { &[] };
    let png = !forward && !image_jobs.is_empty() && rng.random_bool(0.12);
    let image_variants = image_jobs
        .iter()
        .map(|&j| (!forward).then(|| Variant::reupload(rng, &images[j].spec, png)))
        .collect();
    let audio_variant =
        (!forward && matches!(r.media, ReleaseMedia::Audio { .. })).then(|| AudioVariant::reupload(rng));
    let caption = if forward { r.caption.clone() } else { text::repost_caption(rng, &r.caption, r.lang) };
    let edit = time + rng.random_range(MINUTE..30 * MINUTE);
    let sighting = SightingPlan {
        chat: OUTLETS.len() + supporter,
        time,
        kind: if forward { SightingKind::Forward } else { SightingKind::Reupload },
        caption,
        png,
        image_variants,
        audio_variant,
        missing: (0..r.media.n_items()).map(|_| rng.random_bool(0.04)).collect(),
        edited: (!forward && rng.random_bool(0.04) && w.allows(edit)).then_some(edit),
        reply: rng.random_bool(if def.kind == ChatKind::PublicSupergroup { 0.1 } else { 0.02 }),
        member: rng.random_range(0..POSTING_MEMBERS),
    };
    r.sightings.push(sighting);
    true
}

/// Where a chat's export lives.
struct ChatMeta {
    name: &'static str,
    kind: ChatKind,
    id: i64,
    /// Folder of the `result.json` the chat is written to.
    root: PathBuf,
    /// Prefix of media paths, relative to `root`.
    prefix: String,
}

/// Turns planned entries into messages, assigning ids and media paths.
struct Builder<'a, R> {
    rng: &'a mut R,
    window: Window,
    releases: &'a [Release],
    jobs: &'a mut Jobs,
    dirs: BTreeSet<PathBuf>,
    /// Message ids per release, per sighting.
    ids: Vec<Vec<Vec<i64>>>,
    totals: Totals,
}

/// Per-chat numbering state.
struct ChatState {
    next_id: i64,
    last_post: Option<i64>,
    n_photos: u32,
    n_files: u32,
    file_names: BTreeSet<String>,
}

impl<R: Rng> Builder<'_, R> {
    fn build(&mut self, meta: &ChatMeta, entries: &mut [Entry]) -> Chat {
        entries.sort_by_key(|e| e.time);
        self.dirs.insert(meta.root.clone());
        let mut st = ChatState {
            // Channels existed before the window: ids do not start at 1.
            next_id: self.rng.random_range(2..400),
            last_post: None,
            n_photos: 0,
            n_files: 0,
            file_names: BTreeSet::new(),
        };
        let mut messages = Vec::new();
        let channel_actor = (meta.name.to_owned(), format!("channel{}", meta.id));
        for entry in entries.iter() {
            if self.rng.random_bool(0.03) {
                // Deleted messages leave holes in the numbering.
                st.next_id += self.rng.random_range(1..4);
            }
            match entry.kind {
                EntryKind::Sighting { release, sighting } => {
                    let new = self.sighting(meta, &mut st, release, sighting);
                    st.last_post = new.first().map(|m| m.id);
                    messages.extend(new);
                }
                EntryKind::Pin => {
                    let Some(message_id) = st.last_post else {
                        continue;
                    };
                    let (actor, actor_id) = channel_actor.clone();
                    messages.push(self.service(
                        &mut st,
                        entry.time,
                        actor,
                        actor_id,
                        Action::PinMessage { message_id },
                    ));
                }
                EntryKind::Join { member } => {
                    let (actor, actor_id) = member_actor(member);
                    let action = Action::JoinGroupByLink { inviter: "Group".to_owned() };
                    messages.push(self.service(&mut st, entry.time, actor, actor_id, action));
                }
            }
        }
        Chat { name: meta.name.to_owned(), kind: meta.kind, id: meta.id, messages }
    }

    fn service(
        &mut self,
        st: &mut ChatState,
        t: i64,
        actor: String,
        actor_id: String,
        action: Action,
    ) -> Message {
        let id = st.next_id;
        st.next_id += 1;
        self.totals.messages += 1;
        self.totals.service_messages += 1;
        Message {
            id,
            date: self.window.stamp(t),
            edited: None,
            body: Body::Service { actor, actor_id, action },
        }
    }

    /// The messages of one sighting: one per image of an album, else one.
    fn sighting(&mut self, meta: &ChatMeta, st: &mut ChatState, ri: usize, si: usize) -> Vec<Message> {
        let releases = self.releases;
        let r = &releases[ri];
        let s = &r.sightings[si];
        let date = self.window.stamp(s.time);
        let (from, from_id) = if meta.kind == ChatKind::PublicSupergroup {
            member_actor(s.member)
        } else {
            (meta.name.to_owned(), format!("channel{}", meta.id))
        };
        let n_messages = r.media.n_items().max(1);
        let mut out = Vec::with_capacity(n_messages);
        for k in 0..n_messages {
            let media = self.media(meta, st, r, s, k, date);
            let first = k == 0;
            out.push(Message {
                id: st.next_id,
                date,
                edited: s.edited.filter(|_| first).map(|t| self.window.stamp(t)),
                body: Body::Post(Post {
                    from: from.clone(),
                    from_id: from_id.clone(),
                    forwarded_from: (s.kind == SightingKind::Forward)
                        .then(|| OUTLETS[r.outlet].name.to_owned()),
                    reply_to_message_id: st.last_post.filter(|_| first && s.reply),
                    media,
                    text: if first { s.caption.clone() } else { RichText::default() },
                }),
            });
            self.ids[ri][si].push(st.next_id);
            st.next_id += 1;
            self.totals.messages += 1;
        }
        out
    }

    /// Media item `k` of a sighting, registering the file to write.
    fn media(
        &mut self,
        meta: &ChatMeta,
        st: &mut ChatState,
        r: &Release,
        s: &SightingPlan,
        k: usize,
        date: Stamp,
    ) -> Option<Media> {
        let missing = *s.missing.get(k)?;
        let register =
            |rel: String, dirs: &mut BTreeSet<PathBuf>, totals: &mut Totals| -> (MediaPath, PathBuf) {
                let abs = meta.root.join(&rel);
                if missing {
                    totals.missing_media += 1;
                    (MediaPath::NotIncluded, abs)
                } else {
                    totals.media_files += 1;
                    if let Some(parent) = abs.parent() {
                        dirs.insert(parent.to_path_buf());
                    }
                    (MediaPath::Included(rel), abs)
                }
            };
        match &r.media {
            ReleaseMedia::None => None,
            ReleaseMedia::Images(jobs) => {
                let job = jobs[k];
                let variant = s.image_variants[k];
                let spec = &self.jobs.images[job].spec;
                let (width, height) = variant.map_or((spec.width, spec.height), |v| (v.width, v.height));
                let (media, abs) = if s.png {
                    st.n_files += 1;
                    let name = unique_name(&mut st.file_names, &format!("IMG_{:04}.png", st.n_files));
                    let (path, abs) =
                        register(format!("{}files/{name}", meta.prefix), &mut self.dirs, &mut self.totals);
                    let media = Media::File {
                        path,
                        file_name: name,
                        media_type: None,
                        mime_type: "image/png",
                        duration_seconds: None,
                    };
                    (media, abs)
                } else {
                    st.n_photos += 1;
                    let rel =
                        format!("{}photos/photo_{}@{}.jpg", meta.prefix, st.n_photos, date.file_suffix());
                    let (path, abs) = register(rel, &mut self.dirs, &mut self.totals);
                    (Media::Photo { path, width, height }, abs)
                };
                if !missing {
                    self.jobs.images[job].outputs.push((abs, variant));
                }
                Some(media)
            }
            ReleaseMedia::Document { file_name, job } => {
                let name = unique_name(&mut st.file_names, file_name);
                let (path, abs) =
                    register(format!("{}files/{name}", meta.prefix), &mut self.dirs, &mut self.totals);
                if !missing {
                    self.jobs.files[*job].paths.push(abs);
                }
                Some(Media::File {
                    path,
                    file_name: name,
                    media_type: None,
                    mime_type: "application/pdf",
                    duration_seconds: None,
                })
            }
            ReleaseMedia::Audio { job } => {
                let spec = self.jobs.audio[*job].spec;
                let seconds = s.audio_variant.map_or(spec.seconds, |v| v.seconds(&spec));
                let base = format!("{}-recording-{:04}.wav", OUTLETS[r.outlet].slug, r.number);
                let name = unique_name(&mut st.file_names, &base);
                let (path, abs) =
                    register(format!("{}files/{name}", meta.prefix), &mut self.dirs, &mut self.totals);
                if !missing {
                    self.jobs.audio[*job].outputs.push((abs, s.audio_variant));
                }
                Some(Media::File {
                    path,
                    file_name: name,
                    media_type: Some("audio_file"),
                    mime_type: "audio/x-wav",
                    duration_seconds: Some(seconds),
                })
            }
        }
    }
}

fn member_actor(member: usize) -> (String, String) {
    (MEMBERS[member].to_owned(), format!("user{}", MEMBER_ID_BASE + member as i64))
}

/// Telegram keeps file names and numbers duplicates: `name (1).ext`.
fn unique_name(used: &mut BTreeSet<String>, name: &str) -> String {
    let mut candidate = name.to_owned();
    let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
    let mut n = 1;
    while used.contains(&candidate) {
        candidate = format!("{stem} ({n}).{ext}");
        n += 1;
    }
    used.insert(candidate.clone());
    candidate
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests fail loudly.
mod tests {
    use super::*;

    #[test]
    fn duplicate_file_names_are_numbered() {
        let mut used = BTreeSet::new();
        assert_eq!(unique_name(&mut used, "a.pdf"), "a.pdf");
        assert_eq!(unique_name(&mut used, "a.pdf"), "a (1).pdf");
        assert_eq!(unique_name(&mut used, "a.pdf"), "a (2).pdf");
    }

    #[test]
    fn poisson_mean_is_close() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let n = 20_000;
        let sum: u32 = (0..n).map(|_| poisson(&mut rng, 2.5)).sum();
        let mean = f64::from(sum) / f64::from(n);
        assert!((mean - 2.5).abs() < 0.05, "{mean}");
    }
}
